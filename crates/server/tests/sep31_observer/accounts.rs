//! Every distribution account of `[[sep31.assets]]` is watched, once even
//! when two assets share it; a memo names a transaction of the account
//! paid, and of no other.

use serde_json::json;

use crate::common::Engine;
use crate::on_both_engines;
use crate::{Anchor, account, issuer};

on_both_engines!(each_distribution_account_is_watched);

async fn each_distribution_account_is_watched(engine: Engine) {
    // USDC and BRLT are paid to one account, EURC to another.
    let eurc_account = account();
    let a = Anchor::start_unprimed(engine, |c| {
        let one = c.sep31.assets[0].distribution_account.clone();
        let assets = json!([
            {"code": "USDC", "issuer": issuer(), "distribution_account": one, "funding_methods": ["SEPA"]},
            {"code": "EURC", "issuer": issuer(), "distribution_account": eurc_account, "funding_methods": ["SEPA"]},
            {"code": "BRLT", "issuer": issuer(), "distribution_account": one, "funding_methods": ["SEPA"]},
        ]);
        c.sep31.assets = serde_json::from_value(assets).expect("assets deserialize");
    })
    .await;
    a.prime().await;
    let usdc = a.create("100").await;
    let eurc = a.create_in("EURC", "50").await;
    let brlt = a.create_in("BRLT", "10").await;
    assert_eq!(
        (eurc.account.as_str(), brlt.account.as_str()),
        (eurc_account.as_str(), a.dist.as_str())
    );
    let h = &a.srv.horizon;
    let i = issuer();
    let pay = |to: &str, code: &str, amount: &str, memo: &str| {
        h.pay(to, &account(), Some((code, &i)), amount, Some(("id", memo)))
    };

    // Each paid where it said.
    pay(&eurc.account, "EURC", "50", &eurc.memo);
    a.wait_status(&eurc.id, "pending_receiver").await;
    pay(&a.dist, "BRLT", "10", &brlt.memo);
    a.wait_status(&brlt.id, "pending_receiver").await;

    // USDC's memo paid to EURC's account names nothing there.
    let astray = pay(&eurc.account, "USDC", "100", &usdc.memo);
    let seen = a.seen(&astray).await;
    assert_eq!(seen["outcome"], "unmatched", "{seen}");
    assert_eq!(seen["account"], eurc.account.as_str(), "{seen}");
    let got = a.transaction(&usdc.id).await;
    assert_eq!(got["status"], "pending_sender", "{got}");
    // A BRLT transaction's memo paid in USDC on their shared account: the
    // wrong asset.
    let fresh = a.create_in("BRLT", "10").await;
    let crossed = pay(&a.dist, "USDC", "10", &fresh.memo);
    assert_eq!(a.seen(&crossed).await["outcome"], "wrong_asset");
    assert_eq!(a.transaction(&fresh.id).await["status"], "pending_sender");

    let paid = pay(&a.dist, "USDC", "100", &usdc.memo);
    a.wait_status(&usdc.id, "pending_receiver").await;
    // Watched once: the shared account's payment is listed once.
    let all = crate::payments(&a.srv, "limit=500").await;
    assert_eq!(all.iter().filter(|p| p["id"] == paid.as_str()).count(), 1);
    a.srv.stop().await;
}
