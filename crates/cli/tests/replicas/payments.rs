//! SEP-38 and SEP-31 across replicas: a firm quote is taken once however
//! many replicas race for it, and exactly one replica observes payments
//! (the observer's lease, docs/payments.md §Observer), another taking over
//! when it is killed.

use std::time::{Duration, Instant};

use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Options, Receiver, Setup};

use mooring_cluster::anchor::{self, BRL, ISSUER, USDC};

/// A receiving anchor's replicas, a partner and its two accepted parties.
struct Anchor {
    s: Setup,
    business: Receiver,
    partner_token: String,
    sender: String,
    receiver: String,
}

/// The anchor of `mooring_cluster::anchor` with one partner, `partner`;
/// USDC paid to `dist`; the business server's webhooks to `webhook`; a
/// quick observer.
fn config(partner: &Keypair, dist: &str, webhook: &url::Url) -> Value {
    let host = format!("127.0.0.1:{}", webhook.port().unwrap());
    let mut config = anchor::config("acme", &[partner.public_key().to_string()], dist);
    config["sep31"]["webhook_url"] = json!(webhook.as_str());
    config["sep31"]["callbacks"] = json!({"allow_http_hosts": [host], "retry_secs": 1});
    config["sep31"]["observer"] = json!({"enabled": true, "lease_secs": 5, "poll_secs": 1});
    config
}

/// The SEP-12 customer `fields` (of type `kind`), accepted.
async fn party(s: &Setup, token: &str, kind: &str, fields: Value) -> String {
    let (status, got) = s
        .call(
            Method::PUT,
            &s.cluster.url("/customer"),
            Some(token),
            Some(&fields),
        )
        .await;
    assert_eq!(status, 202, "PUT /customer of a {kind}: {got}");
    let id = got["id"].as_str().unwrap().to_owned();
    let path = format!("/admin/customers/{id}/accept");
    let (status, got) = s
        .admin(0, Method::POST, &path, Some(&json!({"type": kind})))
        .await;
    assert_eq!(status, 200, "accepting a {kind}: {got}");
    id
}

impl Anchor {
    async fn start(horizon_doors: bool) -> Option<Anchor> {
        let partner = Keypair::random();
        let dist = Keypair::random().public_key().to_string();
        let business = Receiver::default();
        let webhook = business.start().await.join("webhook").unwrap();
        let options = Options {
            config: Some(config(&partner, &dist, &webhook)),
            horizon_doors,
        };
        let s = Setup::start(3, options).await?;
        let partner_token = s.login(&partner).await;
        let [(sender_kind, sender), (receiver_kind, receiver)] = anchor::parties();
        let sender = party(&s, &partner_token, sender_kind, sender).await;
        let receiver = party(&s, &partner_token, receiver_kind, receiver).await;
        Some(Anchor {
            s,
            business,
            partner_token,
            sender,
            receiver,
        })
    }

    /// A transaction body of `amount` USDC.
    fn body(&self, amount: &str) -> Value {
        json!({"amount": amount, "asset_code": "USDC", "asset_issuer": ISSUER,
               "funding_method": "SEPA", "sender_id": self.sender, "receiver_id": self.receiver})
    }

    /// `POST /sep31/transactions` at `base`.
    async fn post(&self, base: &str, body: &Value) -> (u16, Value) {
        let url = format!("{base}/sep31/transactions");
        self.s
            .call(Method::POST, &url, Some(&self.partner_token), Some(body))
            .await
    }

    /// A transaction through the proxy, paid in full on Horizon.
    async fn create_and_pay(&self, amount: &str) -> String {
        let (status, t) = self.post(&self.s.cluster.url(""), &self.body(amount)).await;
        assert_eq!(status, 201, "{t}");
        let from = Keypair::random().public_key().to_string();
        let memo = t["stellar_memo"].as_str().unwrap();
        let to = t["stellar_account_id"].as_str().unwrap();
        let id = t["id"].as_str().unwrap().to_owned();
        let url = self.s.cluster.url(&format!("/sep31/transactions/{id}"));
        let (_, got) = self
            .s
            .call(Method::GET, &url, Some(&self.partner_token), None)
            .await;
        let amount_in = got["transaction"]["amount_in"].as_str().unwrap().to_owned();
        self.s.horizon.pay(
            to,
            &from,
            Some(("USDC", ISSUER)),
            &amount_in,
            Some(("id", memo)),
        );
        id
    }

    /// Waits (up to `within`) until transaction `id` is `pending_receiver`.
    async fn wait_paid(&self, id: &str, within: Duration) -> Value {
        let url = self.s.cluster.url(&format!("/sep31/transactions/{id}"));
        let deadline = Instant::now() + within;
        loop {
            let (_, got) = self
                .s
                .call(Method::GET, &url, Some(&self.partner_token), None)
                .await;
            if got["transaction"]["status"] == "pending_receiver" {
                return got["transaction"].clone();
            }
            assert!(
                Instant::now() < deadline,
                "{id} not matched within {within:?}: {got}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Two replicas race to take one firm quote with a transaction each:
/// exactly one 201, the other 400 "quote already used"; five rounds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_firm_quote_is_taken_once_when_two_replicas_race() {
    let Some(a) = Anchor::start(false).await else {
        return;
    };
    for round in 0..5 {
        let body = json!({"sell_asset": USDC, "buy_asset": BRL, "sell_amount": "100",
                          "context": "sep31"});
        let url = a.s.at(0).url("/sep38/quote");
        let (status, q) =
            a.s.call(Method::POST, &url, Some(&a.partner_token), Some(&body))
                .await;
        assert_eq!(status, 201, "a firm quote from replica 0: {q}");
        let mut b = a.body("100");
        b["quote_id"] = q["id"].clone();
        let (one, two) = (a.s.at(1).url(""), a.s.at(2).url(""));
        let (r1, r2) = tokio::join!(a.post(&one, &b), a.post(&two, &b));
        let (won, lost) = if r1.0 == 201 { (r1, r2) } else { (r2, r1) };
        assert_eq!(won.0, 201, "round {round}: one must win: {won:?} {lost:?}");
        assert_eq!(
            (lost.0, lost.1["error"].as_str()),
            (400, Some("quote already used")),
            "round {round}: the loser: {lost:?}"
        );
    }
    let (_, list) = a.s.admin(0, Method::GET, "/admin/transactions", None).await;
    assert_eq!(
        list["transactions"].as_array().map(Vec::len),
        Some(5),
        "one transaction per quote: {list}"
    );
    a.s.finish().await;
}

/// The doors (replicas) that asked Horizon for payments, by count.
fn requests_by_door(s: &Setup) -> Vec<usize> {
    let mut counts = vec![0; s.cluster.replicas.len()];
    for r in s.horizon.payments_requests() {
        counts[r.door] += 1;
    }
    counts
}

/// Waits until some payments request arrives after `before`; the doors
/// that made requests since.
async fn new_requests(s: &Setup, before: &[usize], within: Duration) -> Vec<usize> {
    let deadline = Instant::now() + within;
    loop {
        let now = requests_by_door(s);
        let grown: Vec<usize> = (0..now.len()).filter(|&d| now[d] > before[d]).collect();
        if !grown.is_empty() || Instant::now() > deadline {
            return grown;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One replica reads Horizon's payments and matches them; when it is
/// killed (SIGKILL: its lease is not given up), another takes over once
/// the 5 s lease runs out, and payments made meanwhile are matched once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_observes_and_another_takes_over_when_it_is_killed() {
    let Some(mut a) = Anchor::start(true).await else {
        return;
    };
    let first = a.create_and_pay("40").await;
    a.wait_paid(&first, Duration::from_secs(15)).await;
    let doors = requests_by_door(&a.s);
    let observers: Vec<usize> = (0..doors.len()).filter(|&d| doors[d] > 0).collect();
    assert_eq!(
        observers.len(),
        1,
        "exactly one replica read payments: {doors:?}"
    );
    let holder = observers[0];
    // Its two webhooks delivered, and recorded as such, before the kill
    // (a delivery the kill cuts short is sent again: at least once).
    a.business.wait_for("/webhook", 2).await;
    let db = sqlx::PgPool::connect(&a.s.db.url).await.unwrap();
    for _ in 0..100 {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM payment_outbox")
            .fetch_one(&db)
            .await
            .unwrap();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    db.close().await;

    a.s.cluster.replicas[holder].kill();
    let killed = Instant::now();
    // What the killed replica sent before it died has arrived by now.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = requests_by_door(&a.s);
    // Paid while nobody observes; matched by the heir.
    let second = a.create_and_pay("60").await;
    let t = a.wait_paid(&second, Duration::from_secs(20)).await;
    eprintln!("taken over {:?} after the kill", killed.elapsed());
    assert!(t["amount_in"].is_string(), "{t}");
    let heirs = new_requests(&a.s, &before, Duration::from_secs(1)).await;
    assert_eq!(heirs.len(), 1, "one heir reads payments: {heirs:?}");
    assert_ne!(heirs[0], holder, "the killed replica reads nothing");

    // The first payment was not matched again by the heir.
    let url = a.s.cluster.url(&format!("/sep31/transactions/{first}"));
    let (_, got) =
        a.s.call(Method::GET, &url, Some(&a.partner_token), None)
            .await;
    assert_eq!(got["transaction"]["status"], "pending_receiver", "{got}");
    let (status, all) =
        a.s.admin(heirs[0], Method::GET, "/admin/payments", None)
            .await;
    assert_eq!(status, 200, "{all}");
    let outcomes: Vec<&str> = all["payments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["outcome"].as_str())
        .collect();
    assert_eq!(
        outcomes,
        ["matched", "matched"],
        "each payment seen once: {all}"
    );

    // The webhooks: creation (enqueued by the replica that created it) and
    // payment (by the observer), each once, in order.
    a.business.wait_for("/webhook", 4).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for id in [&first, &second] {
        let events: Vec<(String, String)> = a
            .business
            .got("/webhook")
            .iter()
            .filter(|(_, b)| b["transaction"]["id"] == id.as_str())
            .map(|(_, b)| {
                let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
                (s(&b["event"]), s(&b["transaction"]["status"]))
            })
            .collect();
        let expected = [
            ("transaction_created", "pending_sender"),
            ("status_changed", "pending_receiver"),
        ]
        .map(|(e, s)| (e.to_owned(), s.to_owned()));
        assert_eq!(
            events, expected,
            "the webhooks of {id}, once each, in order"
        );
    }
    a.s.finish().await;
}
