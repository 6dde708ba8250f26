//! SEP-31 transactions in the console: the list, one transaction with only
//! the moves the status machine allows from where it stands, a move and a
//! refund through the forms, and the admin API agreeing.

use std::time::Duration;

use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::customer::put_json;
use crate::common::{Engine, TestServer};
use crate::on_both_engines;
use crate::{assert_same_origin, assert_secure, audited, location, sign_in};

/// The issuer of the USDC received (made up).
pub const ISSUER: &str = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";

/// A server receiving SEP-31 USDC from one partner, whose key it answers
/// with.
pub async fn start_sep31(engine: Engine) -> (TestServer, Keypair) {
    let partner = Keypair::random();
    let dist = Keypair::random().public_key().to_string();
    let sep31 = json!({
        "enabled": true,
        "sender_types": {"sep31-sender": "People sending money"},
        "receiver_types": {"sep31-receiver": "People receiving money"},
        "unpaid_expiry_secs": 3600,
        "quotes_required": false,
        "observer": {"enabled": true, "lease_secs": 3, "poll_secs": 1},
        "callbacks": {"retry_secs": 1},
        "assets": [{
            "code": "USDC", "issuer": ISSUER, "distribution_account": dist,
            "min_amount": "1", "max_amount": "10000",
            "fee_fixed": "0.5", "fee_percent": "1",
            "funding_methods": ["SEPA"],
        }],
    });
    let partners = json!([{"name": "acme", "accounts": [partner.public_key().to_string()]}]);
    let srv = TestServer::start_with(engine, move |c| {
        c.sep31 = serde_json::from_value(sep31).expect("[sep31] deserializes");
        c.partners = serde_json::from_value(partners).expect("[[partners]] deserialize");
    })
    .await;
    (srv, partner)
}

/// A `kind` customer of the partner under id memo `memo`, accepted (admin
/// API); its id.
async fn accepted(srv: &TestServer, token: &str, memo: u64, kind: &str, fields: Value) -> String {
    let mut body = fields;
    body["type"] = json!(kind);
    body["memo"] = json!(memo.to_string());
    body["memo_type"] = json!("id");
    let (status, got) = put_json(srv, token, body).await;
    assert_eq!(status, 202, "{got}");
    let id = got["id"].as_str().unwrap().to_owned();
    let req = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/accept"))
        .json(&json!({ "type": kind }));
    let (status, got) = TestServer::send(req).await;
    assert_eq!(status, 200, "{got}");
    id
}

/// The partner's token, and a transaction of 100 USDC it created between
/// a sender and a receiver it registered: (token, created body).
pub async fn new_transaction(srv: &TestServer, partner: &Keypair, memo: u64) -> (String, Value) {
    let token = srv.token_for(partner, None).await;
    let sender = accepted(
        srv,
        &token,
        memo,
        "sep31-sender",
        json!({"first_name": "Ann", "last_name": "Lee", "email_address": "ann@example.com"}),
    )
    .await;
    let receiver = accepted(
        srv,
        &token,
        memo + 1,
        "sep31-receiver",
        json!({"first_name": "Rui", "last_name": "Costa",
               "bank_account_number": "12345678", "bank_number": "001"}),
    )
    .await;
    let body = json!({"amount": "100", "asset_code": "USDC", "asset_issuer": ISSUER,
                      "funding_method": "SEPA", "sender_id": sender, "receiver_id": receiver});
    let (status, created) = TestServer::send(
        srv.http
            .post(srv.url("/sep31/transactions"))
            .bearer_auth(&token)
            .json(&body),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    (token, created)
}

/// The staff view of transaction `id` (admin API).
pub async fn staff_view(srv: &TestServer, id: &str) -> Value {
    let (status, body) =
        TestServer::send(srv.admin(Method::GET, &format!("/admin/transactions/{id}"))).await;
    assert_eq!(status, 200, "{body}");
    body["transaction"].clone()
}

/// Pays the transaction `created` asks for in full on the Horizon stand-in
/// and waits for the observer to move it to `pending_receiver`.
async fn pay(srv: &TestServer, created: &Value) {
    let id = created["id"].as_str().unwrap();
    let amount = staff_view(srv, id).await["amount_in"]
        .as_str()
        .unwrap()
        .to_owned();
    pay_part(srv, created, &amount, |t| t["status"] == "pending_receiver").await;
}

/// Pays `amount` to the transaction `created` asks for and waits until
/// the staff view satisfies `seen`.
async fn pay_part(srv: &TestServer, created: &Value, amount: &str, seen: impl Fn(&Value) -> bool) {
    let id = created["id"].as_str().unwrap();
    let from = Keypair::random().public_key().to_string();
    srv.horizon.pay(
        created["stellar_account_id"].as_str().unwrap(),
        &from,
        Some(("USDC", ISSUER)),
        amount,
        Some(("id", created["stellar_memo"].as_str().unwrap())),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let t = staff_view(srv, id).await;
        if seen(&t) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not paid within 10 s: {t}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The moves a transaction's page offers: the `status` of each form.
fn moves_in(html: &str) -> Vec<String> {
    let key = "name=\"status\" value=\"";
    html.match_indices(key)
        .map(|(i, _)| {
            let rest = &html[i + key.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

async fn a_transaction_offers_only_the_moves_allowed(engine: Engine) {
    let (srv, partner) = start_sep31(engine).await;
    let (_, created) = new_transaction(&srv, &partner, 500).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let ana = sign_in(&srv, "ana").await;
    let page = format!("/admin/console/transactions/{id}");

    // Listed, with its status; filtered by status.
    let html = ana.html("/admin/console/transactions").await;
    assert!(
        html.contains(&format!("href=\"{page}\"")) && html.contains("pending_sender"),
        "{html}"
    );
    assert_same_origin(&html, "the transactions");
    let html = ana
        .html("/admin/console/transactions?status=completed")
        .await;
    assert!(!html.contains(&id), "filtered out: {html}");
    assert!(html.contains("No transactions."), "{html}");

    // Unpaid: staff may only move it to error; no refund.
    let html = ana.html(&page).await;
    assert_same_origin(&html, "a transaction");
    assert_eq!(moves_in(&html), ["error"], "pending_sender's moves");
    assert!(
        !html.contains("/refund\""),
        "no refund before payment: {html}"
    );
    assert!(html.contains("sep31.create"), "the history: {html}");

    // Paid: pending_receiver's moves and the refund form.
    pay(&srv, &created).await;
    let html = ana.html(&page).await;
    assert_eq!(
        moves_in(&html),
        [
            "pending_external",
            "completed",
            "pending_customer_info_update",
            "error"
        ],
        "pending_receiver's moves"
    );
    assert!(
        html.contains(&format!("action=\"{page}/refund\"")),
        "a refund form: {html}"
    );

    // A move the machine refuses changes nothing.
    let res = ana
        .submit(&format!("{page}/status"), &[("status", "pending_sender")])
        .await;
    assert_eq!(res.status(), 409, "a move back to pending_sender");
    assert_secure(res.headers(), "a refused move");
    assert_eq!(staff_view(&srv, &id).await["status"], "pending_receiver");
    // Nor does one with the wrong CSRF token.
    let res = ana
        .post(
            &format!("{page}/status"),
            &[("csrf", "forged"), ("status", "completed")],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(staff_view(&srv, &id).await["status"], "pending_receiver");

    // Completed through the form.
    let res = ana
        .submit(
            &format!("{page}/status"),
            &[
                ("status", "completed"),
                ("amount_out", ""),
                ("external_transaction_id", "payout-77"),
                ("message", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_secure(res.headers(), "a move");
    let to = location(&res);
    assert!(to.starts_with(&format!("{page}?done=")), "{to}");
    let t = staff_view(&srv, &id).await;
    assert_eq!(t["status"], "completed", "{t}");
    assert_eq!(t["external_transaction_id"], "payout-77", "{t}");
    let history = t["history"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        (&last["actor"], &last["action"]),
        (&json!("admin:ana"), &json!("sep31.status")),
        "the move is the signed-in person's: {history:?}"
    );
    assert!(
        last["detail"].as_str().unwrap().contains("completed"),
        "{last}"
    );
    let html = ana.html(&to).await;
    assert!(html.contains("Moved to completed."), "{html}");
    assert!(moves_in(&html).is_empty(), "completed is final: {html}");
    assert!(!html.contains("/refund\""), "{html}");
    assert!(html.contains("payout-77"), "{html}");
    assert_eq!(
        audited(&srv, "admin:ana", "sep31.status", Some(&id)).await,
        1,
        "the one move is audited under admin:ana"
    );
    srv.stop().await;
}

async fn a_paid_transaction_is_refunded_through_the_form(engine: Engine) {
    let (srv, partner) = start_sep31(engine).await;
    let (_, created) = new_transaction(&srv, &partner, 600).await;
    let id = created["id"].as_str().unwrap().to_owned();
    pay(&srv, &created).await;
    let ana = sign_in(&srv, "ana").await;
    let page = format!("/admin/console/transactions/{id}");
    // First the receiver is asked again for a field, through the form.
    let res = ana
        .submit(
            &format!("{page}/status"),
            &[
                ("status", "pending_customer_info_update"),
                ("customer", "receiver"),
                ("fields", "bank_account_number, bank_number"),
                ("message", "the account number bounced"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let t = staff_view(&srv, &id).await;
    assert_eq!(t["status"], "pending_customer_info_update", "{t}");
    let receiver = t["receiver_id"].as_str().unwrap();
    let (_, r) = crate::common::customer::admin_customer(&srv, receiver).await;
    assert_eq!(
        r["fields"]["bank_account_number"]["status"], "REJECTED",
        "{r}"
    );
    assert_eq!(
        r["statuses"]["sep31-receiver"]["status"], "NEEDS_INFO",
        "{r}"
    );
    let html = ana.html(&page).await;
    assert_eq!(moves_in(&html), ["pending_receiver", "error"], "{html}");
    assert!(
        html.contains(&format!("action=\"{page}/refund\"")),
        "{html}"
    );
    // Then refunded from there.
    let path = format!("{page}/refund");
    // A refund the service refuses: a page with its status, nothing done.
    let res = ana
        .submit(
            &path,
            &[("stellar_transaction_id", "not-a-hash"), ("amount", "99")],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert_secure(res.headers(), "a refused refund");
    assert_eq!(
        staff_view(&srv, &id).await["status"],
        "pending_customer_info_update"
    );
    let hash = "a".repeat(64);
    let res = ana
        .submit(
            &path,
            &[
                ("stellar_transaction_id", &hash),
                ("amount", "99"),
                ("fee", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let to = location(&res);
    let html = ana.html(&to).await;
    assert!(html.contains("Refund recorded."), "{html}");
    let t = staff_view(&srv, &id).await;
    assert_eq!(t["status"], "refunded", "{t}");
    assert!(moves_in(&html).is_empty(), "refunded is final: {html}");
    assert!(!html.contains("/refund\""), "{html}");
    assert_eq!(
        audited(&srv, "admin:ana", "sep31.refund", Some(&id)).await,
        1
    );
    srv.stop().await;
}

async fn a_transaction_paid_in_part_offers_the_refund(engine: Engine) {
    let (srv, partner) = start_sep31(engine).await;
    let (_, created) = new_transaction(&srv, &partner, 800).await;
    let id = created["id"].as_str().unwrap().to_owned();
    pay_part(&srv, &created, "40", |t| !t["amount_received"].is_null()).await;
    let t = staff_view(&srv, &id).await;
    assert_eq!(t["status"], "pending_sender", "paid in part: {t}");
    // docs/payments.md §Status machine: `pending_sender → error` (not once
    // paid in part: that is refunded); a refund from `pending_sender` once
    // paid in part. The admin API refuses the move to error.
    let (status, body) = TestServer::send(
        srv.admin(Method::POST, &format!("/admin/transactions/{id}/status"))
            .json(&json!({"status": "error"})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let ana = sign_in(&srv, "ana").await;
    let page = format!("/admin/console/transactions/{id}");
    let html = ana.html(&page).await;
    assert_eq!(
        (
            moves_in(&html),
            html.contains(&format!("action=\"{page}/refund\""))
        ),
        (Vec::<String>::new(), true),
        "paid in part, the console offers the refund, not the move to error: {html}"
    );
    srv.stop().await;
}

on_both_engines!(
    a_transaction_offers_only_the_moves_allowed,
    a_paid_transaction_is_refunded_through_the_form,
    a_transaction_paid_in_part_offers_the_refund,
);
