//! DD64 as a wallet runs it (docs/kyc.md §The wallet's algorithm):
//! `mooring_client::kyc::KycWait` against a real Mooring server, on SQLite
//! and PostgreSQL, one test per branch of the state machine, asserting the
//! [`Outcome`](mooring_client::kyc::Outcome), the
//! [`Action`](mooring_client::kyc::Action) and DD64's variables after each
//! `run()`.
//!
//! - `operation`: step 1 (the operation check) and DD64's initialization;
//! - `check`: steps 2 and 3 (the `/kyc-check` query and its answers), and
//!   the backoff;
//! - `limits`: step 4 (the exposed limits);
//! - `scenario`: a wallet waiting for a compliance officer's decision.
//!
//! The wallet's clock is the test's ([`WalletClock`]): `last_deny`, the
//! retry interval and `AgainAt` are checked to the second without waiting.

#[path = "../common/mod.rs"]
mod common;

mod check;
mod limits;
mod operation;
mod scenario;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::TestServer;
use common::customer::put_json;
pub use common::kyc::{decide, decision_request, open_record};
use mooring_client::kyc::{Amount, Anchor, Asset, CheckQuery, KycWait, Operation};
use mooring_stellar::{ClientAccount, Keypair, PublicKey};
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

/// USDC of a made-up issuer, as SEP-38 names it.
pub const USDC: &str = "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";

/// The SEP-12 type whose acceptance lifts soft limits (`sep12.default_type`).
pub const KYC_TYPE: &str = "sep31-sender";

/// How often the tests' wallets try a denied operation again (DD64: 1 h).
pub const RETRY: Duration = Duration::from_secs(60);

/// How long the tests' wallets long-poll: short, so that an unchanged
/// answer comes back within a second.
pub const LONG_POLL: Duration = Duration::from_secs(1);

/// A server whose rules give every branch of DD64 something to meet:
///
/// - sends of USDC: at most 100 per operation and 300 in 30 days before
///   KYC (soft), never more than 10,000 at once (hard);
/// - receiving USDC needs KYC at all (an exposed zero soft limit: DD64's
///   `isZeroLimited`);
/// - withdrawals need KYC, by a rule not shown to clients (hidden, soft);
/// - deposits are refused by a hidden hard rule;
/// - firm quotes: at most 1,000 a minute, KYC or not (a hard rolling
///   window).
pub async fn gated(engine: common::Engine) -> TestServer {
    TestServer::start_with(engine, |c| {
        c.limits.rules = serde_json::from_value(json!([
            {"name": "unverified-send", "op": "send", "asset": USDC, "threshold": "100"},
            {"name": "unverified-month", "op": "send", "asset": USDC, "threshold": "300",
             "timeframe_secs": 2_592_000},
            {"name": "hard-cap", "op": "send", "asset": USDC, "threshold": "10000",
             "soft_limit": false},
            {"name": "unverified-receive", "op": "receive", "asset": USDC, "threshold": "0"},
            {"op": "withdraw", "asset": USDC, "threshold": "0", "exposed": false},
            {"op": "deposit", "asset": USDC, "threshold": "0", "exposed": false,
             "soft_limit": false},
            {"name": "quotes-per-minute", "op": "quote", "asset": USDC, "threshold": "1000",
             "timeframe_secs": 60, "soft_limit": false},
        ]))
        .unwrap();
    })
    .await
}

/// The wallet's clock: it stands still until the test moves it.
#[derive(Clone)]
pub struct WalletClock(Arc<Mutex<SystemTime>>);

impl Default for WalletClock {
    fn default() -> Self {
        Self::new()
    }
}

impl WalletClock {
    /// Now, to the second.
    pub fn new() -> WalletClock {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        WalletClock(Arc::new(Mutex::new(at(secs))))
    }

    /// What it shows.
    pub fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }

    /// Sets it.
    pub fn set(&self, t: SystemTime) {
        *self.0.lock().unwrap() = t;
    }

    /// Moves it forward.
    pub fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

/// Unix seconds as a time.
pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// The same key again (a `Keypair` is deliberately not `Clone`): one for
/// the wallet, one for the test acting as its user.
pub fn same_key(kp: &Keypair) -> Keypair {
    Keypair::from_seed_bytes(*kp.seed_bytes())
}

/// The anchor as a wallet configures it: KYC_SERVER is the server's public
/// URL, and SEP-10 is the server's own (as [`TestServer::wallet`] builds it).
pub fn anchor(srv: &TestServer) -> Anchor {
    Anchor::new(srv.http.clone(), srv.base.clone(), srv.wallet())
}

/// DD64's state for `amount` USDC of `op` by `account`, holding `keys`, on
/// `clock`, retrying every [`RETRY`] and long-polling [`LONG_POLL`].
pub fn wallet(
    op: Operation,
    amount: &str,
    account: PublicKey,
    keys: Vec<Keypair>,
    clock: &WalletClock,
) -> KycWait {
    let clock = clock.clone();
    KycWait::new(
        op,
        Amount::parse(amount).unwrap(),
        Asset::parse(USDC).unwrap(),
        ClientAccount::Account(account),
        None,
        keys,
    )
    .unwrap()
    .with_clock(move || clock.now())
    .with_retry_interval(RETRY)
    .with_long_poll(LONG_POLL)
}

/// A wallet holding only the account's own key.
pub fn own_wallet(op: Operation, amount: &str, kp: &Keypair, clock: &WalletClock) -> KycWait {
    wallet(op, amount, kp.public_key(), vec![same_key(kp)], clock)
}

/// DD64 step 2's query for a long poll of [`LONG_POLL`].
pub fn long_poll(lpt: Option<u8>, min_rule: Option<u64>) -> CheckQuery {
    CheckQuery {
        timeout_ms: Some(u64::try_from(LONG_POLL.as_millis()).unwrap()),
        lpt,
        min_rule,
    }
}

/// The `kyc_url` the server gives (`GET /limits`), as the client reads it.
pub async fn kyc_url(srv: &TestServer) -> Url {
    let limits = srv.get_json("/limits").await;
    Url::parse(limits["kyc_url"].as_str().unwrap()).unwrap()
}

/// Opens the account's SEP-12 record without its email: NEEDS_INFO, so the
/// account is bound but its KYC state is `none`.
pub async fn open_incomplete_record(srv: &TestServer, token: &str) -> String {
    let (status, body) = put_json(
        srv,
        token,
        json!({"first_name": "Ada", "last_name": "Lovelace"}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// An account whose KYC is accepted: its key and a token for it.
pub async fn accepted(srv: &TestServer) -> (Keypair, String) {
    let (kp, token) = srv.login().await;
    let id = open_record(srv, &token).await;
    decide(srv, &id, "accept").await;
    (kp, token)
}

/// The business server records `amount` USDC of `op` by `kp`'s account
/// (`POST /operations/check` with `"record": true` on the admin listener).
pub async fn record(srv: &TestServer, kp: &Keypair, op: &str, amount: &str) {
    let (status, body) = TestServer::send(srv.admin(Method::POST, "/operations/check").json(
        &json!({"account": kp.public_key().to_string(), "op": op, "amount": amount,
                "asset": USDC, "record": true}),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
}

/// `GET /kyc-check/{account}` with `token`, not waiting: what the server
/// says of the account, to compare with what the wallet saw.
pub async fn kyc_check(srv: &TestServer, token: &str, account: &PublicKey) -> (u16, Value) {
    TestServer::send(srv.with_token(Method::GET, &format!("/kyc-check/{account}"), token)).await
}

/// A loopback URL nothing listens on.
pub fn closed_port() -> Url {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    Url::parse(&format!("http://{addr}")).unwrap()
}
