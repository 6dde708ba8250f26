//! The SEP-31 payment observer over real HTTP, on SQLite and PostgreSQL,
//! against docs/payments.md §The payment observer and §Status machine: a
//! Mooring server watches its distribution account on the Horizon
//! stand-in (tests/common/horizon_payments.rs), payments are made there,
//! and what became of them is read back through `GET
//! /sep31/transactions/{id}` and the admin API.
//!
//! - `stub`: the stand-in itself speaks Horizon's payments (pages, cursor,
//!   server-sent events);
//! - `matching`: memo, asset and amount decide the outcome; payments that
//!   are not to the account are passed over;
//! - `accounts`: every distribution account is watched, and a memo names
//!   a transaction of the account paid only;
//! - `outages`: Horizon down, streams cut short or split anywhere;
//! - `polling`: streaming down, payments are still matched; what was paid
//!   before Mooring ever watched is not;
//! - `restart`: a restart mid-stream loses and repeats nothing; replicas
//!   hand the lease over, gracefully or after a kill, and never count a
//!   payment twice.
//!
//! Nothing is timed except the deadlines of the waits ([`DEADLINE`]).

#[path = "../common/mod.rs"]
mod common;

mod accounts;
mod matching;
mod outages;
mod polling;
mod restart;
mod stub;

use std::time::Duration;

use common::customer::put_json;
use common::{Engine, TestServer};
use mooring_server::config::Config;
use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::{Value, json};

/// The longest any wait for the observer lasts.
pub const DEADLINE: Duration = Duration::from_secs(15);
/// `[sep31.observer] lease_secs` of every test server.
pub const LEASE_SECS: u64 = 3;
/// The partner's name.
pub const PARTNER: &str = "acme-remit";

/// The USDC issuer.
pub fn issuer() -> String {
    Keypair::from_seed_bytes([3; 32]).public_key().to_string()
}

/// Someone else's USDC (same code, another issuer).
pub fn fake_issuer() -> String {
    Keypair::from_seed_bytes([4; 32]).public_key().to_string()
}

/// A fresh account's address.
pub fn account() -> String {
    Keypair::random().public_key().to_string()
}

/// The configuration of every test server: SEP-31 with USDC paid to
/// `dist`, the observer on (lease 3 s, polls every second), and one
/// partner, `partner`.
pub fn tweak(partner: &str, dist: &str) -> impl Fn(&mut Config) + Clone + use<> {
    let sep31 = json!({
        "enabled": true,
        "sender_types": {"sep31-sender": "People sending money"},
        "receiver_types": {"sep31-receiver": "People receiving money"},
        "observer": {"enabled": true, "lease_secs": LEASE_SECS, "poll_secs": 1},
        "assets": [{
            "code": "USDC", "issuer": issuer(), "distribution_account": dist,
            "funding_methods": ["SEPA"],
        }],
    });
    let partners = json!([{"name": PARTNER, "accounts": [partner]}]);
    move |c: &mut Config| {
        c.sep31 = serde_json::from_value(sep31.clone()).expect("[sep31] deserializes");
        c.partners = serde_json::from_value(partners.clone()).expect("[[partners]] deserialize");
    }
}

/// A receiving anchor and its partner, whose accepted sender and receiver
/// are registered.
pub struct Anchor {
    /// The server.
    pub srv: TestServer,
    /// The partner's account.
    pub partner: Keypair,
    /// The partner's token (no memo).
    pub token: String,
    /// Where partners pay.
    pub dist: String,
    /// The accepted `sep31-sender`.
    pub sender_id: String,
    /// The accepted `sep31-receiver`.
    pub receiver_id: String,
}

/// A transaction created with `POST /sep31/transactions`.
pub struct Created {
    /// Its `id`.
    pub id: String,
    /// Its `stellar_memo`.
    pub memo: String,
    /// Its `stellar_account_id`.
    pub account: String,
}

impl Anchor {
    /// A server with a fresh distribution account; its observer has seen
    /// one payment already (see [`Anchor::prime`]).
    pub async fn start(engine: Engine) -> Anchor {
        let a = Anchor::start_unprimed(engine, |_| {}).await;
        a.prime().await;
        a
    }

    /// A server whose observer has seen nothing yet; `more` adjusts the
    /// configuration after [`tweak`].
    pub async fn start_unprimed(engine: Engine, more: impl FnOnce(&mut Config)) -> Anchor {
        let partner = Keypair::random();
        let dist = account();
        let t = tweak(&partner.public_key().to_string(), &dist);
        let srv = TestServer::start_with(engine, |c| {
            t(c);
            more(c);
        })
        .await;
        Anchor::with_server(srv, partner, dist).await
    }

    /// Registers and accepts the partner's sender and receiver on `srv`.
    pub async fn with_server(srv: TestServer, partner: Keypair, dist: String) -> Anchor {
        let sender = srv.token_for(&partner, Some(1)).await;
        let sender_id = customer(
            &srv,
            &sender,
            json!({"type": "sep31-sender", "first_name": "Ann", "last_name": "Lee",
                   "email_address": "ann@example.com"}),
        )
        .await;
        let receiver = srv.token_for(&partner, Some(2)).await;
        let receiver_id = customer(
            &srv,
            &receiver,
            json!({"type": "sep31-receiver", "first_name": "Bo", "last_name": "Ng",
                   "bank_account_number": "12345678", "bank_number": "021000021"}),
        )
        .await;
        let token = srv.token_for(&partner, None).await;
        Anchor {
            srv,
            partner,
            token,
            dist,
            sender_id,
            receiver_id,
        }
    }

    /// Pays the account without a memo until the observer reports the
    /// payment: from then on the observer is known to run, hold the lease
    /// and have its cursor saved.
    pub async fn prime(&self) {
        let from = account();
        let until = tokio::time::Instant::now() + DEADLINE;
        while tokio::time::Instant::now() < until {
            let op = self
                .srv
                .horizon
                .pay(&self.dist, &from, Some(("USDC", &issuer())), "1", None);
            if self.try_seen(&op, Duration::from_secs(3)).await.is_some() {
                return;
            }
        }
        panic!("the observer never reported a payment to {}", self.dist);
    }

    /// `POST /sep31/transactions` for `amount` USDC, expecting 201.
    pub async fn create(&self, amount: &str) -> Created {
        let t = self.create_in("USDC", amount).await;
        assert_eq!(t.account, self.dist);
        t
    }

    /// `POST /sep31/transactions` for `amount` of asset `code`, expecting
    /// 201.
    pub async fn create_in(&self, code: &str, amount: &str) -> Created {
        let body = json!({
            "amount": amount, "asset_code": code, "funding_method": "SEPA",
            "sender_id": self.sender_id, "receiver_id": self.receiver_id,
        });
        let req = self
            .srv
            .with_token(Method::POST, "/sep31/transactions", &self.token)
            .json(&body);
        let (status, got) = TestServer::send(req).await;
        assert_eq!(status, 201, "{got}");
        assert_eq!(got["stellar_memo_type"], "id", "{got}");
        let text = |k: &str| {
            got[k]
                .as_str()
                .unwrap_or_else(|| panic!("{k} in {got}"))
                .to_owned()
        };
        Created {
            id: text("id"),
            memo: text("stellar_memo"),
            account: text("stellar_account_id"),
        }
    }

    /// Pays `amount` USDC to the account with `memo` as an `id` memo, from
    /// a fresh account; Horizon's operation id.
    pub fn pay_usdc(&self, amount: &str, memo: &str) -> String {
        self.srv.horizon.pay(
            &self.dist,
            &account(),
            Some(("USDC", &issuer())),
            amount,
            Some(("id", memo)),
        )
    }

    /// `GET /sep31/transactions/{id}` as the partner: the transaction.
    pub async fn transaction(&self, id: &str) -> Value {
        transaction(&self.srv, &self.token, id).await
    }

    /// Waits until transaction `id` is `status`; the transaction.
    pub async fn wait_status(&self, id: &str, status: &str) -> Value {
        wait_status(&self.srv, &self.token, id, status).await
    }

    /// The admin view of transaction `id`.
    pub async fn staff(&self, id: &str) -> Value {
        staff(&self.srv, id).await
    }

    /// Waits until the observer reports payment `op`; its entry.
    pub async fn seen(&self, op: &str) -> Value {
        seen(&self.srv, op).await
    }

    async fn try_seen(&self, op: &str, wait: Duration) -> Option<Value> {
        try_seen(&self.srv, op, wait).await
    }
}

/// `PUT /customer` with `body`, then accepted through the admin API.
async fn customer(srv: &TestServer, token: &str, body: Value) -> String {
    let kind = body["type"].as_str().unwrap().to_owned();
    let (status, got) = put_json(srv, token, body).await;
    assert_eq!(status, 202, "{got}");
    let id = got["id"].as_str().expect("customer id").to_owned();
    let accept = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/accept"))
        .json(&json!({ "type": kind }));
    let (status, got) = TestServer::send(accept).await;
    assert_eq!(
        (status, got["status"].as_str()),
        (200, Some("ACCEPTED")),
        "{got}"
    );
    id
}

/// `GET /sep31/transactions/{id}` with `token`, expecting 200.
pub async fn transaction(srv: &TestServer, token: &str, id: &str) -> Value {
    let req = srv.with_token(Method::GET, &format!("/sep31/transactions/{id}"), token);
    let (status, got) = TestServer::send(req).await;
    assert_eq!(status, 200, "{got}");
    got["transaction"].clone()
}

/// Waits (at most [`DEADLINE`]) until transaction `id` is `status`.
pub async fn wait_status(srv: &TestServer, token: &str, id: &str, status: &str) -> Value {
    wait_status_within(srv, token, id, status, DEADLINE).await
}

/// Waits (at most `wait`) until transaction `id` is `status`.
pub async fn wait_status_within(
    srv: &TestServer,
    token: &str,
    id: &str,
    status: &str,
    wait: Duration,
) -> Value {
    let until = tokio::time::Instant::now() + wait;
    loop {
        let t = transaction(srv, token, id).await;
        if t["status"] == status {
            return t;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "transaction {id} is still not {status} after {wait:?}: {t}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `GET /admin/transactions/{id}`: the staff view.
pub async fn staff(srv: &TestServer, id: &str) -> Value {
    let (status, got) =
        TestServer::send(srv.admin(Method::GET, &format!("/admin/transactions/{id}"))).await;
    assert_eq!(status, 200, "{got}");
    got["transaction"].clone()
}

/// `GET /admin/payments` with `query` (`outcome=…&limit=…`): the list.
pub async fn payments(srv: &TestServer, query: &str) -> Vec<Value> {
    let path = format!("/admin/payments?{query}");
    let (status, got) = TestServer::send(srv.admin(Method::GET, &path)).await;
    assert_eq!(status, 200, "{got}");
    got["payments"].as_array().expect("payments").clone()
}

/// Waits (at most [`DEADLINE`]) until `GET /admin/payments` lists `op`.
pub async fn seen(srv: &TestServer, op: &str) -> Value {
    try_seen(srv, op, DEADLINE)
        .await
        .unwrap_or_else(|| panic!("the observer did not report payment {op} in {DEADLINE:?}"))
}

async fn try_seen(srv: &TestServer, op: &str, wait: Duration) -> Option<Value> {
    let until = tokio::time::Instant::now() + wait;
    loop {
        let all = payments(srv, "limit=500").await;
        if let Some(p) = all.into_iter().find(|p| p["id"] == op) {
            return Some(p);
        }
        if tokio::time::Instant::now() >= until {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The ids listed in `list`.
pub fn ids(list: &[Value]) -> Vec<String> {
    list.iter()
        .map(|p| p["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}
