//! SEP-31 payments, the receiving anchor, over real HTTP on SQLite and
//! PostgreSQL, against the contract of docs/payments.md (SEP-31 v3.1.0
//! the authority behind it):
//!
//! - `info`: `GET /sep31/info` with the caller's partner's figures, and
//!   `DIRECT_PAYMENT_SERVER` in stellar.toml;
//! - `create`: `POST /sep31/transactions`: the 201, amounts, fees worked
//!   out by hand, the bounds of the partner or the asset;
//! - `checks`: the body's checks, `customer_info_needed`, the check order;
//! - `limits`: the KYC limits of step 4 and their counting in step 7;
//! - `quotes`: firm SEP-38 quotes taken by transactions, once, even by two
//!   racing requests;
//! - `read`: `GET /sep31/transactions/{id}` (only its creator, only
//!   SEP-31's fields), `PATCH`, `PUT …/callback`;
//! - `auth`: every endpoint 403 for anyone but a partner, before the body;
//! - `machine`: the status machine through the admin API, expiry and the
//!   audit log;
//! - `updates`: refunds, and the customer-update round trip through SEP-12;
//! - `webhooks`: the business server's webhooks and the signed SEP-31
//!   callbacks, to the transaction's URL or its partner's.
//!
//! Transactions are paid on the Horizon stand-in; the payment observer of
//! the server under test moves them to `pending_receiver`.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod checks;
mod create;
mod info;
mod limits;
mod machine;
mod quotes;
mod read;
mod updates;
mod webhooks;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::customer::put_json;
use common::{Engine, TestServer};
use mooring_server::config::Config;
use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::{Value, json};

/// The issuer of the USDC received (made up).
pub const ISSUER: &str = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";
/// USDC as SEP-38 names it.
pub const USDC: &str = "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";
/// Brazilian reais, which SEP-38 delivers for USDC when quotes are on.
pub const BRL: &str = "iso4217:BRL";
/// The first partner: the asset's fees and bounds.
pub const ACME: &str = "acme-remit";
/// The second partner: fees and bounds of its own.
pub const ZENITH: &str = "zenith-pay";
/// The sender type.
pub const SENDER: &str = "sep31-sender";
/// The receiver type.
pub const RECEIVER: &str = "sep31-receiver";
/// Every 404 of a transaction.
pub const NOT_FOUND: &str = "transaction not found";

/// `[sep12.types]`: the sender and receiver types and what they need.
pub fn sep12_types() -> Value {
    json!({
        SENDER: {"required": ["first_name", "last_name", "email_address"]},
        RECEIVER: {"required": ["first_name", "last_name", "bank_account_number", "bank_number"]},
    })
}

/// `[sep31]`: USDC paid to `dist`, min 1, max 10000, fee 0.5 + 1 %, paid
/// out by SEPA or SWIFT; a quick observer.
pub fn sep31(dist: &str) -> Value {
    json!({
        "enabled": true,
        "sender_types": {SENDER: "People sending money"},
        "receiver_types": {RECEIVER: "People receiving money"},
        "unpaid_expiry_secs": 3600,
        "quotes_required": false,
        "observer": {"enabled": true, "lease_secs": 3, "poll_secs": 1},
        "callbacks": {"retry_secs": 1},
        "assets": [{
            "code": "USDC", "issuer": ISSUER, "distribution_account": dist,
            "min_amount": "1", "max_amount": "10000",
            "fee_fixed": "0.5", "fee_percent": "1",
            "funding_methods": ["SEPA", "SWIFT"],
        }],
    })
}

/// `[sep38]` with the table source: sell USDC for BRL at 0.18 USDC per
/// BRL, fee 1 USDC + 1.5 % (100 USDC buy 541.66 BRL for a fee of 2.5);
/// sell BRL for USDC at 5.
pub fn sep38() -> Value {
    json!({
        "enabled": true,
        "assets": [{"asset": USDC}, {"asset": BRL}],
        "prices": [
            {"sell_asset": USDC, "buy_asset": BRL, "price": "0.18",
             "fee_fixed": "1", "fee_percent": "1.5"},
            {"sell_asset": BRL, "buy_asset": USDC, "price": "5"},
        ],
    })
}

/// A receiving anchor and its partners' keys: `acme` and `acme2` are
/// ACME's accounts, `zenith` ZENITH's (fee 2 + 0.5 %, min 10, max 500).
pub struct Anchor {
    /// The server.
    pub srv: TestServer,
    /// ACME's first account.
    pub acme: Keypair,
    /// ACME's second account.
    pub acme2: Keypair,
    /// ZENITH's account.
    pub zenith: Keypair,
    /// USDC's distribution account.
    pub dist: String,
}

/// A server with SEP-31 and its partners, without quotes.
pub async fn start(engine: Engine) -> Anchor {
    start_custom(engine, |_| {}).await
}

/// A server with SEP-31, its partners and the quotes of [`sep38`].
pub async fn start_quoting(engine: Engine) -> Anchor {
    start_custom(engine, |c| {
        c.sep38 = serde_json::from_value(sep38()).expect("[sep38] of the test deserializes");
    })
    .await
}

/// A server with SEP-31 and its partners, `tweak` applied last.
pub async fn start_custom(engine: Engine, tweak: impl FnOnce(&mut Config)) -> Anchor {
    let (acme, acme2, zenith) = (Keypair::random(), Keypair::random(), Keypair::random());
    let dist = Keypair::random().public_key().to_string();
    let partners = json!([
        {"name": ACME, "accounts": [acme.public_key().to_string(), acme2.public_key().to_string()]},
        {"name": ZENITH, "accounts": [zenith.public_key().to_string()],
         "fee_fixed": "2", "fee_percent": "0.5", "min_amount": "10", "max_amount": "500"},
    ]);
    let sep31 = sep31(&dist);
    let srv = TestServer::start_with(engine, move |c| {
        c.sep12.types = serde_json::from_value(sep12_types()).expect("[sep12.types] deserialize");
        c.sep31 = serde_json::from_value(sep31).expect("[sep31] of the test deserializes");
        c.partners = serde_json::from_value(partners).expect("[[partners]] deserialize");
        tweak(c);
    })
    .await;
    Anchor {
        srv,
        acme,
        acme2,
        zenith,
        dist,
    }
}

/// A partner's token and two customers it registered under memos of its
/// own, both ACCEPTED: a sender and a receiver.
pub struct Parties {
    /// The partner's token (no memo: it speaks for all its memos).
    pub token: String,
    /// The sender's SEP-12 id.
    pub sender: String,
    /// The receiver's SEP-12 id.
    pub receiver: String,
}

impl Anchor {
    /// A sender and a receiver of ACME, registered and accepted.
    pub async fn acme_parties(&self) -> Parties {
        parties(&self.srv, &self.acme).await
    }

    /// A sender and a receiver of ZENITH, registered and accepted.
    pub async fn zenith_parties(&self) -> Parties {
        parties(&self.srv, &self.zenith).await
    }
}

/// A memo no other customer of this test binary has.
pub fn fresh_memo() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The SEP-9 fields `kind` requires.
pub fn fields_of(kind: &str) -> Value {
    if kind == SENDER {
        json!({"first_name": "Ann", "last_name": "Lee", "email_address": "ann@example.com"})
    } else {
        json!({"first_name": "Rui", "last_name": "Costa",
               "bank_account_number": "12345678", "bank_number": "001"})
    }
}

/// `PUT /customer` of a complete `kind` customer under id memo `memo`,
/// not decided yet (PROCESSING); its id.
pub async fn put_customer(srv: &TestServer, token: &str, memo: u64, kind: &str) -> String {
    let mut body = fields_of(kind);
    body["type"] = json!(kind);
    body["memo"] = json!(memo.to_string());
    body["memo_type"] = json!("id");
    let (status, got) = put_json(srv, token, body).await;
    assert_eq!(status, 202, "PUT /customer of a {kind}: {got}");
    got["id"]
        .as_str()
        .unwrap_or_else(|| panic!("PUT /customer answers an id: {got}"))
        .to_owned()
}

/// Staff accept customer `id` as `kind` (admin API).
pub async fn accept(srv: &TestServer, id: &str, kind: &str) {
    let req = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/accept"))
        .json(&json!({ "type": kind }));
    let (status, body) = TestServer::send(req).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("ACCEPTED")),
        "accepting {id} as {kind}: {body}"
    );
}

/// A `kind` customer registered with `token` under a fresh memo and
/// ACCEPTED; its id.
pub async fn customer(srv: &TestServer, token: &str, kind: &str) -> String {
    let id = put_customer(srv, token, fresh_memo(), kind).await;
    accept(srv, &id, kind).await;
    id
}

/// A token of `kp` with an accepted sender and receiver.
pub async fn parties(srv: &TestServer, kp: &Keypair) -> Parties {
    let token = srv.token_for(kp, None).await;
    let sender = customer(srv, &token, SENDER).await;
    let receiver = customer(srv, &token, RECEIVER).await;
    Parties {
        token,
        sender,
        receiver,
    }
}

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

/// A refusal with `status`: the body is `{"error": "<non-empty text>"}` and
/// nothing else. Returns the text.
#[track_caller]
pub fn assert_refusal(got: &(u16, Value), status: u16, what: &str) -> String {
    assert_eq!(
        got.0, status,
        "{what}: expected {status}, got {} {}",
        got.0, got.1
    );
    let error = got.1.get("error").and_then(Value::as_str);
    assert!(
        error.is_some_and(|e| !e.is_empty()) && object_keys(&got.1) == ["error"],
        "{what}: the body must be {{\"error\": \"…\"}} alone, got {}",
        got.1
    );
    error.unwrap_or_default().to_owned()
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

/// The keys of a JSON object, sorted.
pub fn object_keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
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
