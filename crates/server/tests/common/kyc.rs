//! KYC as a test needs it: accounts with SEP-12 records in a given state,
//! attestations signed as a wallet signs them (`POST /kyc-attest`), and
//! `/kyc-check` read with the account's own token.

use base64::Engine as _;
use mooring_stellar::attest::{self, FuzzyDate};
use mooring_stellar::{Keypair, PublicKey};
use reqwest::Method;
use serde_json::{Value, json};

use super::TestServer;
use super::customer::put_json;

/// The SEP-12 type whose status is an account's own KYC by default.
pub const KYC_TYPE: &str = "sep31-sender";

/// An account with a SEP-12 record: its key, a SEP-10 token and the
/// customer id.
pub struct Party {
    pub kp: Keypair,
    pub token: String,
    pub id: String,
}

impl Party {
    /// The `G…` address.
    pub fn address(&self) -> String {
        self.kp.public_key().to_string()
    }

    /// The public key.
    pub fn key(&self) -> PublicKey {
        self.kp.public_key()
    }
}

/// A fresh account that opened a complete `sep31-sender` record (status
/// PROCESSING), with `birth_date` when given.
pub async fn customer(srv: &TestServer, first_name: &str, birth_date: Option<&str>) -> Party {
    customer_as(srv, Keypair::random(), first_name, birth_date).await
}

/// As [`customer`], for the account of `kp`.
pub async fn customer_as(
    srv: &TestServer,
    kp: Keypair,
    first_name: &str,
    birth_date: Option<&str>,
) -> Party {
    let token = srv.token_for(&kp, None).await;
    let mut body = json!({
        "type": KYC_TYPE,
        "first_name": first_name,
        "last_name": "Lee",
        "email_address": format!("{}@example.com", first_name.to_lowercase()),
    });
    if let Some(b) = birth_date {
        body["birth_date"] = json!(b);
    }
    let (status, got) = put_json(srv, &token, body).await;
    assert_eq!(status, 202, "{got}");
    let id = got["id"].as_str().expect("customer id").to_owned();
    Party { kp, token, id }
}

/// A fresh account whose own KYC is accepted.
pub async fn accepted(srv: &TestServer, first_name: &str, birth_date: Option<&str>) -> Party {
    let p = customer(srv, first_name, birth_date).await;
    accept(srv, &p.id).await;
    p
}

/// Accepts customer `id` for the KYC type through the admin API.
pub async fn accept(srv: &TestServer, id: &str) {
    let req = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/accept"))
        .json(&json!({"type": KYC_TYPE}));
    let (status, got) = TestServer::send(req).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["status"], "ACCEPTED", "{got}");
}

/// Rejects customer `id` for the KYC type through the admin API.
pub async fn reject(srv: &TestServer, id: &str) {
    let req = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/reject"))
        .json(&json!({"type": KYC_TYPE, "reason": "failed the review"}));
    let (status, got) = TestServer::send(req).await;
    assert_eq!(status, 200, "{got}");
}

/// An `expires` ten minutes after the server's clock.
pub fn soon(srv: &TestServer) -> u64 {
    use mooring_server::clock::Clock as _;
    srv.clock.now() + 600
}

/// The attestation body `attester` signs for `target`.
pub fn signed(
    srv: &TestServer,
    attester: &Keypair,
    target: &PublicKey,
    birthday: Option<&str>,
    expires: u64,
) -> Value {
    let date = birthday.map(|b| FuzzyDate::parse(b).expect("a valid birthday"));
    let message = attest::message(
        &srv.network,
        &attester.public_key(),
        target,
        date.as_ref(),
        expires,
    );
    let mut body = json!({
        "attester_pub": attester.public_key().to_string(),
        "attester_sig": base64::engine::general_purpose::STANDARD.encode(attester.sign(&message)),
        "expires": expires,
    });
    if let Some(b) = birthday {
        body["birthday"] = json!(b);
    }
    body
}

/// `POST /kyc-attest/{target}` with a JSON body: (status, JSON body).
pub async fn post(srv: &TestServer, target: &str, body: &Value) -> (u16, Value) {
    TestServer::send(
        srv.http
            .post(srv.url(&format!("/kyc-attest/{target}")))
            .json(body),
    )
    .await
}

/// `attester` attests `target` (expiring soon), expecting 200.
pub async fn attest_ok(
    srv: &TestServer,
    attester: &Party,
    target: &Party,
    birthday: Option<&str>,
) -> Value {
    let body = signed(srv, &attester.kp, &target.key(), birthday, soon(srv));
    let (status, got) = post(srv, &target.address(), &body).await;
    assert_eq!(status, 200, "{got}");
    got
}

/// `GET /kyc-check/{account}{query}` with the party's own token.
pub async fn check(srv: &TestServer, p: &Party, query: &str) -> (u16, Value) {
    let path = format!("/kyc-check/{}{query}", p.address());
    TestServer::send(srv.with_token(Method::GET, &path, &p.token)).await
}

/// The party's `/kyc-check` answer now, which must be 200 or 202:
/// (state, rule_gen).
pub async fn standing(srv: &TestServer, p: &Party) -> (String, u64) {
    let (status, got) = check(srv, p, "").await;
    assert!(matches!(status, 200 | 202), "{status}: {got}");
    (
        got["state"].as_str().expect("state").to_owned(),
        got["rule_gen"].as_u64().expect("rule_gen"),
    )
}

/// The rows of `customer_inherited`: (customer_id, attester_id, sealed
/// attributes).
pub async fn inherited_rows(srv: &TestServer) -> Vec<(String, String, Vec<u8>)> {
    let sql =
        "SELECT customer_id, attester_id, attributes FROM customer_inherited ORDER BY customer_id";
    match srv.state.db() {
        mooring_server::db::Db::Sqlite(s) => {
            sqlx::query_as(sql)
                .fetch_all(&mut *s.write.get().await.unwrap())
                .await
        }
        mooring_server::db::Db::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
    }
    .unwrap()
}

/// The actions of the admin audit log, newest first.
pub async fn audit_actions(srv: &TestServer) -> Vec<(String, String, String)> {
    let (status, got) = TestServer::send(srv.admin(Method::GET, "/admin/audit?limit=500")).await;
    assert_eq!(status, 200, "{got}");
    got["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["actor"].as_str().unwrap_or_default().to_owned(),
                e["detail"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Opens the account's SEP-12 record with every field the KYC type needs;
/// answers the customer id (status PROCESSING: under review).
pub async fn open_record(srv: &TestServer, token: &str) -> String {
    let (status, body) = put_json(
        srv,
        token,
        json!({"first_name": "Ada", "last_name": "Lovelace", "email_address": "ada@example.org"}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Staff decide on a customer: `accept`, `reject`, …
pub async fn decide(srv: &TestServer, id: &str, decision: &str) {
    let (status, body) = TestServer::send(decision_request(srv, id, decision)).await;
    assert_eq!(status, 200, "{body}");
}

/// The admin API's request for a decision on customer `id`.
pub fn decision_request(srv: &TestServer, id: &str, decision: &str) -> reqwest::RequestBuilder {
    srv.admin(Method::POST, &format!("/admin/customers/{id}/{decision}"))
        .json(&json!({"reason": "checked"}))
}
