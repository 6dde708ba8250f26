//! Mooring's own client library (`mooring_client::sep38`, `::sep31`) as a
//! sending anchor uses it against this receiving anchor: discovery from
//! stellar.toml, `customer_info_needed` read from a typed error that names
//! the anchor and the step, a firm quote, the transaction and its callback
//! URL. (The published Python stellar-sdk drives the same endpoints in
//! `interop`.)

use mooring_client::sep31::{NewTransaction, PaymentServer};
use mooring_client::sep38::{PriceRequest, QuoteServer};
use url::Url;

use super::{BRL, SENDER, USDC, fresh_memo, put_customer, start_quoting};
use crate::common::Engine;
use crate::on_both_engines;

async fn the_client_library_sends_at_a_firm_quote(engine: Engine) {
    let a = start_quoting(engine).await;
    let p = a.acme_parties().await;
    let home = Url::parse(&a.srv.url("")).unwrap();
    let http = reqwest::Client::new();
    let payments = PaymentServer::discover(http.clone(), &home, p.token.clone())
        .await
        .expect("DIRECT_PAYMENT_SERVER is discovered");
    let info = payments.info().await.expect("GET /info");
    assert_eq!(info["receive"]["USDC"]["quotes_supported"], true);

    // A sender not accepted yet: the typed error names the SEP-12 type,
    // the anchor and the step.
    let pending = put_customer(&a.srv, &p.token, fresh_memo(), SENDER).await;
    let mut t = NewTransaction {
        amount: "100".into(),
        asset_code: "USDC".into(),
        funding_method: Some("SEPA".into()),
        sender_id: Some(pending),
        receiver_id: Some(p.receiver.clone()),
        ..NewTransaction::default()
    };
    let refused = payments.create(&t).await.expect_err("not accepted yet");
    assert_eq!(refused.customer_info_needed(), Some(SENDER));
    let text = refused.to_string();
    assert!(
        text.contains(home.host_str().unwrap()) && text.contains("SEP-31 POST /transactions"),
        "the error names the anchor and the step: {text}"
    );

    let quotes = QuoteServer::discover(http, &home, Some(p.token.clone()))
        .await
        .expect("ANCHOR_QUOTE_SERVER is discovered");
    let quote = quotes
        .quote(&PriceRequest {
            sell_asset: USDC.into(),
            buy_asset: BRL.into(),
            sell_amount: Some("100".into()),
            context: Some("sep31".into()),
            ..PriceRequest::default()
        })
        .await
        .expect("a firm quote");
    assert_eq!(quotes.get_quote(&quote.id).await.expect("read back"), quote);

    t.sender_id = Some(p.sender.clone());
    t.quote_id = Some(quote.id.clone());
    t.destination_asset = Some(BRL.into());
    let created = payments.create(&t).await.expect("201");
    let pay_to = created.pay_to().expect("Mooring names the account at once");
    assert_eq!(pay_to.account, a.dist);
    assert_eq!(pay_to.memo.as_ref().map(|m| m.0.as_str()), Some("id"));
    let got = payments.transaction(&created.id).await.expect("GET");
    assert_eq!(got.status, "pending_sender");
    assert!(!got.is_final());
    assert_eq!(got.raw["amount_out"], quote.buy_amount.as_str());
    assert_eq!(got.raw["quote_id"], quote.id.as_str());
    let callback = Url::parse("https://sender.example.com/sep31/callback").unwrap();
    payments
        .set_callback(&created.id, &callback)
        .await
        .expect("PUT callback");
    let again = payments.create(&t).await.expect_err("the quote is used");
    assert!(again.to_string().ends_with("quote already used"), "{again}");
    a.srv.stop().await;
}

on_both_engines!(the_client_library_sends_at_a_firm_quote);
