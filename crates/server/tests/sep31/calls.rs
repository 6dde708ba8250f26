//! The calls and assertions the tests share: creating, reading and moving
//! transactions, paying them on the Horizon stand-in, and what an answer
//! must look like.

use std::time::Duration;

use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Anchor, ISSUER, Parties};
use crate::common::TestServer;
pub use crate::common::{assert_refusal, object_keys};

/// A valid body: `amount` USDC from the parties' sender to their receiver,
/// paid out by SEPA.
pub fn body(p: &Parties, amount: &str) -> Value {
    json!({"amount": amount, "asset_code": "USDC", "asset_issuer": ISSUER,
           "funding_method": "SEPA", "sender_id": p.sender, "receiver_id": p.receiver})
}

/// `POST /sep31/transactions` with a JSON body, and a token when given.
pub async fn post_tx(srv: &TestServer, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = srv.http.post(srv.url("/sep31/transactions")).json(body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    TestServer::send(req).await
}

/// A transaction that must be created (201); its body.
#[track_caller]
pub fn created(got: (u16, Value), what: &str) -> Value {
    assert_eq!(got.0, 201, "{what}: expected 201, got {}", got.1);
    got.1
}

/// Creates the transaction of `body`, asserting 201; its body.
pub async fn create_tx(srv: &TestServer, token: &str, body: &Value) -> Value {
    created(
        post_tx(srv, Some(token), body).await,
        &format!("POST {body}"),
    )
}

/// The id of a 201's body.
pub fn id_of(created: &Value) -> String {
    created["id"]
        .as_str()
        .unwrap_or_else(|| panic!("201 without an id: {created}"))
        .to_owned()
}

/// `GET /sep31/transactions/{id}` with `token`.
pub async fn get_tx(srv: &TestServer, token: &str, id: &str) -> (u16, Value) {
    TestServer::send(srv.with_token(Method::GET, &format!("/sep31/transactions/{id}"), token)).await
}

/// The transaction object its creator reads.
pub async fn transaction(srv: &TestServer, token: &str, id: &str) -> Value {
    let (status, body) = get_tx(srv, token, id).await;
    assert_eq!(status, 200, "GET /sep31/transactions/{id}: {body}");
    assert_eq!(
        object_keys(&body),
        ["transaction"],
        "GET answers {{\"transaction\": …}}"
    );
    body["transaction"].clone()
}

/// The staff view (admin API), with its history.
pub async fn staff_view(srv: &TestServer, id: &str) -> Value {
    let (status, body) =
        TestServer::send(srv.admin(Method::GET, &format!("/admin/transactions/{id}"))).await;
    assert_eq!(status, 200, "GET /admin/transactions/{id}: {body}");
    body["transaction"].clone()
}

/// `POST /admin/transactions/{id}/status` with `body`.
pub async fn move_tx(srv: &TestServer, id: &str, body: Value) -> (u16, Value) {
    let path = format!("/admin/transactions/{id}/status");
    TestServer::send(srv.admin(Method::POST, &path).json(&body)).await
}

/// `POST /admin/transactions/{id}/refund` with `body`.
pub async fn refund_tx(srv: &TestServer, id: &str, body: Value) -> (u16, Value) {
    let path = format!("/admin/transactions/{id}/refund");
    TestServer::send(srv.admin(Method::POST, &path).json(&body)).await
}

/// A refusal with `status` and exactly `message`.
#[track_caller]
pub fn assert_error_is(got: &(u16, Value), status: u16, message: &str, what: &str) {
    let text = assert_refusal(got, status, what);
    assert_eq!(text, message, "{what}: the error text");
}

/// SEP-31 §Customer Info Needed: 400 `{"error": "customer_info_needed",
/// "type": kind}`.
#[track_caller]
pub fn assert_info_needed(got: &(u16, Value), kind: &str, what: &str) {
    assert_eq!(
        got,
        &(400, json!({"error": "customer_info_needed", "type": kind})),
        "{what}: SEP-31's customer_info_needed with the type to complete"
    );
}

/// The fields of SEP-31 §GET Transaction's `transaction` object.
pub const SEP31_FIELDS: [&str; 24] = [
    "id",
    "status",
    "status_eta",
    "status_message",
    "amount_in",
    "amount_in_asset",
    "amount_out",
    "amount_out_asset",
    "amount_fee",
    "amount_fee_asset",
    "fee_details",
    "quote_id",
    "stellar_account_id",
    "stellar_memo_type",
    "stellar_memo",
    "started_at",
    "updated_at",
    "completed_at",
    "stellar_transaction_id",
    "external_transaction_id",
    "refunded",
    "refunds",
    "required_info_message",
    "required_info_updates",
];

/// Asserts a transaction object as docs/payments.md §The transaction
/// object gives it: in `status`, only SEP-31's fields, amounts of the
/// Stellar asset as strings with 7 places, times RFC 3339 UTC.
#[track_caller]
pub fn assert_sep31_fields(t: &Value, status: &str) {
    assert_eq!(t["status"], status, "status of {t}");
    for k in object_keys(t) {
        assert!(
            SEP31_FIELDS.contains(&k.as_str()),
            "{k} is not a field of SEP-31's transaction object: {t}"
        );
    }
    for k in ["amount_in", "amount_fee"] {
        let text = t[k].as_str().unwrap_or_default();
        let seven = text
            .split_once('.')
            .is_some_and(|(w, f)| !w.is_empty() && f.len() == 7);
        assert!(seven, "{k} must be a string with 7 decimal places: {t}");
    }
    for k in ["started_at", "updated_at", "completed_at"] {
        if let Some(v) = t.get(k) {
            let text = v.as_str().unwrap_or_default();
            let ok = text.ends_with('Z')
                && time::OffsetDateTime::parse(
                    text,
                    &time::format_description::well_known::Rfc3339,
                )
                .is_ok();
            assert!(ok, "{k} must be RFC 3339 UTC: {t}");
        }
    }
}

/// Unix seconds as RFC 3339 UTC with whole seconds.
pub fn rfc3339(unix: u64) -> String {
    let secs = i64::try_from(unix).expect("a time of this century");
    time::OffsetDateTime::from_unix_timestamp(secs)
        .expect("a time of this century")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339 formats any UTC time")
}

/// The server's clock now.
pub fn now(srv: &TestServer) -> u64 {
    use mooring_server::clock::Clock as _;
    srv.clock.now()
}

/// Polls `GET /sep31/transactions/{id}` until its status is `status`
/// (at most ten seconds); the transaction.
pub async fn wait_status(srv: &TestServer, token: &str, id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let t = transaction(srv, token, id).await;
        if t["status"] == status {
            return t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "transaction {id} did not reach {status} within 10 s: {t}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Pays `amount` USDC to the transaction `created` asks for (its account
/// and id memo) on the Horizon stand-in, from a sending anchor's account.
pub fn pay(a: &Anchor, created: &Value, amount: &str) {
    let to = created["stellar_account_id"].as_str().unwrap_or_default();
    let memo = created["stellar_memo"].as_str().unwrap_or_default();
    assert_eq!(
        created["stellar_memo_type"], "id",
        "SEP-31 transactions are paid with an id memo"
    );
    let from = Keypair::random().public_key().to_string();
    a.srv.horizon.pay(
        to,
        &from,
        Some(("USDC", ISSUER)),
        amount,
        Some(("id", memo)),
    );
}

/// Creates a transaction of `amount` for `p`, pays it in full and waits for
/// the observer to move it to `pending_receiver`; its id.
pub async fn paid_tx(a: &Anchor, p: &Parties, body: &Value) -> String {
    let c = create_tx(&a.srv, &p.token, body).await;
    let id = id_of(&c);
    let amount_in = transaction(&a.srv, &p.token, &id).await["amount_in"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    pay(a, &c, &amount_in);
    wait_status(&a.srv, &p.token, &id, "pending_receiver").await;
    id
}
