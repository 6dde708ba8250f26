//! The business server's webhooks and the SEP-31 callbacks
//! (docs/payments.md §Status machine; SEP-31 §PUT Transaction Callback,
//! §Callback POST, §COMPUTE signature): in order per transaction and
//! receiver, signed over `<t>.<host>.<body>` with the SIGNING_KEY; a
//! callback for each status change after creation, none for the initial
//! status, to the URL the partner PUT (the latest), else its
//! `callback_url`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, Uri};
use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

use super::{
    ACME, ISSUER, Parties, USDC, assert_sep31_fields, body, create_tx, id_of, move_tx, now,
    start_custom, transaction, wait_status,
};
use crate::common::{Engine, TestServer, serve};
use crate::on_both_engines;

/// A receiver on loopback: records every POST (path, headers, body);
/// while `down`, answers 503 and only counts the attempts.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(String, HeaderMap, String)>>>,
    down: Arc<Mutex<bool>>,
    refused: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start(&self) -> Url {
        let me = self.clone();
        let app =
            axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: String| {
                let me = me.clone();
                async move {
                    if *me.down.lock().unwrap_or_else(|e| e.into_inner()) {
                        *me.refused.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let entry = (uri.path().to_owned(), headers, body);
                    me.got.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
                    StatusCode::NO_CONTENT
                }
            });
        serve(app).await
    }

    /// What arrived at `path`: (headers, body as JSON, body as sent).
    fn at(&self, path: &str) -> Vec<(HeaderMap, Value, String)> {
        let got = self.got.lock().unwrap_or_else(|e| e.into_inner());
        got.iter()
            .filter(|(p, _, _)| p == path)
            .map(|(_, h, b)| {
                (
                    h.clone(),
                    serde_json::from_str(b).unwrap_or(Value::Null),
                    b.clone(),
                )
            })
            .collect()
    }

    /// Waits (at most ten seconds) until `n` POSTs reached `path`.
    async fn wait(&self, path: &str, n: usize) -> Vec<(HeaderMap, Value, String)> {
        for _ in 0..100 {
            let got = self.at(path);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let got: Vec<Value> = self.at(path).into_iter().map(|g| g.1).collect();
        panic!("expected {n} POSTs to {path}, got {got:?}");
    }
}

/// SEP-31 §VERIFY signature, as the sending anchor does it: `Signature:
/// t=<t>, s=<base64>` over `<t>.<host>.<body>` by the SIGNING_KEY, with a
/// timestamp of the server's time (within two minutes).
#[track_caller]
fn verify(srv: &TestServer, headers: &HeaderMap, body: &str) {
    let header = headers
        .get("signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("a Signature header: {headers:?}"));
    let (t, s) = header
        .split_once(", s=")
        .unwrap_or_else(|| panic!("t=…, s=…: {header}"));
    let t = t
        .strip_prefix("t=")
        .unwrap_or_else(|| panic!("t=…: {header}"));
    let sig = base64::engine::general_purpose::STANDARD
        .decode(s)
        .unwrap_or_else(|e| panic!("base64 signature {s}: {e}"));
    let payload = format!("{t}.127.0.0.1.{body}");
    assert!(
        srv.signing.public_key().verify(payload.as_bytes(), &sig),
        "the signature verifies with the SIGNING_KEY over <t>.<host>.<body>"
    );
    let t: u64 = t.parse().unwrap_or_else(|e| panic!("t={t}: {e}"));
    let server_now = now(srv);
    assert!(
        t + 120 >= server_now && t <= server_now + 120,
        "fresh: {t} vs {server_now}"
    );
}

/// A server whose webhooks and callbacks go to `receiver` (plain http to
/// loopback allowed for it); ZENITH's `callback_url` there too.
async fn start(engine: Engine, receiver: &Url) -> super::Anchor {
    let host = format!("127.0.0.1:{}", receiver.port().unwrap_or(80));
    let webhook = receiver.join("webhook").ok();
    let partner = receiver.join("zenith").ok();
    start_custom(engine, move |c| {
        c.sep31.webhook_url = webhook;
        c.sep31.callbacks.allow_http_hosts = vec![host];
        c.partners[1].callback_url = partner;
    })
    .await
}

async fn put_callback(srv: &TestServer, p: &Parties, id: &str, url: &Url) {
    let req = srv
        .with_token(
            Method::PUT,
            &format!("/sep31/transactions/{id}/callback"),
            &p.token,
        )
        .json(&json!({ "url": url.as_str() }));
    let (status, got) = TestServer::send(req).await;
    assert_eq!(status, 204, "PUT callback {url}: {got}");
}

/// The (event, status) of each webhook of transaction `id`.
fn events(got: &[(HeaderMap, Value, String)], id: &str) -> Vec<(String, String)> {
    got.iter()
        .filter(|g| g.1["transaction"]["id"] == id)
        .map(|g| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (s(&g.1["event"]), s(&g.1["transaction"]["status"]))
        })
        .collect()
}

fn pair(e: &str, s: &str) -> (String, String) {
    (e.to_owned(), s.to_owned())
}

/// Without a payment: the webhook of creation (the staff view), then the
/// move to `error`, with its callback — the only one: none for the
/// initial status. All signed.
async fn creation_and_a_move_are_reported_signed(engine: Engine) {
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let a = start(engine, &url).await;
    let p = a.acme_parties().await;
    let id = id_of(&create_tx(&a.srv, &p.token, &body(&p, "100")).await);
    let got = receiver.wait("/webhook", 1).await;
    let created = &got[0].1;
    assert_eq!(
        (
            &created["event"],
            &created["transaction"]["id"],
            &created["transaction"]["status"]
        ),
        (
            &json!("transaction_created"),
            &json!(id),
            &json!("pending_sender")
        ),
        "{created}"
    );
    assert_eq!(
        (
            &created["transaction"]["partner"],
            &created["transaction"]["sender_id"]
        ),
        (&json!(ACME), &json!(p.sender)),
        "the webhook carries the staff view: {created}"
    );
    verify(&a.srv, &got[0].0, &got[0].2);

    put_callback(&a.srv, &p, &id, &url.join("callback").expect("a URL")).await;
    let moved = move_tx(&a.srv, &id, json!({"status": "error", "message": "closed"})).await;
    assert_eq!(moved.0, 200, "{}", moved.1);
    let got = receiver.wait("/webhook", 2).await;
    assert_eq!(
        events(&got, &id),
        [
            pair("transaction_created", "pending_sender"),
            pair("status_changed", "error")
        ]
    );
    verify(&a.srv, &got[1].0, &got[1].2);
    let callbacks = receiver.wait("/callback", 1).await;
    assert_eq!(
        callbacks.len(),
        1,
        "one callback: the move, not the initial status"
    );
    let (headers, sent, raw) = &callbacks[0];
    verify(&a.srv, headers, raw);
    assert_eq!(
        super::object_keys(sent),
        ["transaction"],
        "{{\"transaction\": …}}: {sent}"
    );
    assert_sep31_fields(&sent["transaction"], "error");
    assert_eq!(
        sent["transaction"],
        transaction(&a.srv, &p.token, &id).await,
        "the callback carries the transaction object of GET"
    );
    assert!(receiver.at("/zenith").is_empty(), "nothing for ZENITH");
    a.srv.stop().await;
}

/// Paid in two parts, then moved twice: webhooks `transaction_created`,
/// `updated` (paid in part), `status_changed` ×3; callbacks for the three
/// status changes only, in order.
async fn a_paid_transaction_is_reported_in_order(engine: Engine) {
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let a = start(engine, &url).await;
    let p = a.acme_parties().await;
    let c = create_tx(&a.srv, &p.token, &body(&p, "100")).await;
    let id = id_of(&c);
    put_callback(&a.srv, &p, &id, &url.join("callback").expect("a URL")).await;
    let memo = c["stellar_memo"].as_str().unwrap_or_default().to_owned();
    let from = mooring_stellar::Keypair::random().public_key().to_string();
    a.srv.horizon.pay(
        &a.dist,
        &from,
        Some(("USDC", ISSUER)),
        "40",
        Some(("id", &memo)),
    );
    let got = receiver.wait("/webhook", 2).await;
    assert_eq!(
        events(&got, &id),
        [
            pair("transaction_created", "pending_sender"),
            pair("updated", "pending_sender")
        ]
    );
    let t = transaction(&a.srv, &p.token, &id).await;
    assert_eq!(
        t["status_message"],
        "received 40.0000000 of 100.0000000; pay the remaining 60.0000000 with the same memo",
        "{t}"
    );
    a.srv.horizon.pay(
        &a.dist,
        &from,
        Some(("USDC", ISSUER)),
        "60",
        Some(("id", &memo)),
    );
    wait_status(&a.srv, &p.token, &id, "pending_receiver").await;
    for to in ["pending_external", "completed"] {
        let moved = move_tx(&a.srv, &id, json!({ "status": to })).await;
        assert_eq!(moved.0, 200, "-> {to}: {}", moved.1);
    }
    let got = receiver.wait("/webhook", 5).await;
    assert_eq!(
        events(&got, &id),
        [
            pair("transaction_created", "pending_sender"),
            pair("updated", "pending_sender"),
            pair("status_changed", "pending_receiver"),
            pair("status_changed", "pending_external"),
            pair("status_changed", "completed"),
        ]
    );
    let callbacks = receiver.wait("/callback", 3).await;
    let statuses: Vec<&Value> = callbacks
        .iter()
        .map(|c| &c.1["transaction"]["status"])
        .collect();
    assert_eq!(
        statuses,
        ["pending_receiver", "pending_external", "completed"],
        "in order"
    );
    for (headers, sent, raw) in &callbacks {
        verify(&a.srv, headers, raw);
        assert_sep31_fields(
            &sent["transaction"],
            sent["transaction"]["status"].as_str().unwrap_or(""),
        );
        assert_eq!(sent["transaction"]["amount_in_asset"], USDC);
    }
    a.srv.stop().await;
}

/// ZENITH's `callback_url` takes the callbacks of its transactions that
/// name no URL; a URL PUT for a transaction replaces it, the latest PUT
/// winning.
async fn a_partners_callback_url_serves_transactions_without_one(engine: Engine) {
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let a = start(engine, &url).await;
    let z = a.zenith_parties().await;
    let plain = id_of(&create_tx(&a.srv, &z.token, &body(&z, "100")).await);
    let named = id_of(&create_tx(&a.srv, &z.token, &body(&z, "100")).await);
    put_callback(&a.srv, &z, &named, &url.join("first").expect("a URL")).await;
    put_callback(&a.srv, &z, &named, &url.join("callback").expect("a URL")).await;
    for id in [&plain, &named] {
        assert_eq!(move_tx(&a.srv, id, json!({"status": "error"})).await.0, 200);
    }
    let to_partner = receiver.wait("/zenith", 1).await;
    let to_named = receiver.wait("/callback", 1).await;
    let ids = |got: &[(HeaderMap, Value, String)]| -> Vec<Value> {
        got.iter()
            .map(|g| g.1["transaction"]["id"].clone())
            .collect()
    };
    assert_eq!(ids(&to_partner), [json!(plain)], "ZENITH's callback_url");
    assert_eq!(ids(&to_named), [json!(named)], "the URL PUT last");
    for (headers, _, raw) in to_partner.iter().chain(&to_named) {
        verify(&a.srv, headers, raw);
    }
    assert!(
        receiver.at("/first").is_empty(),
        "a replaced URL gets nothing"
    );
    a.srv.stop().await;
}

/// A receiver that is down gets the callbacks once it is up again,
/// retried, still in order and signed. (The server's clock stands still
/// unless moved: it is moved on while waiting, so retries fall due.)
async fn callbacks_are_retried_until_delivered_in_order(engine: Engine) {
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let a = start(engine, &url).await;
    let p = a.acme_parties().await;
    let c = create_tx(&a.srv, &p.token, &body(&p, "100")).await;
    let id = id_of(&c);
    put_callback(&a.srv, &p, &id, &url.join("callback").expect("a URL")).await;
    receiver.wait("/webhook", 1).await;
    *receiver.down.lock().unwrap_or_else(|e| e.into_inner()) = true;
    super::pay(&a, &c, "100");
    wait_status(&a.srv, &p.token, &id, "pending_receiver").await;
    let moved = move_tx(&a.srv, &id, json!({"status": "completed"})).await;
    assert_eq!(moved.0, 200, "-> completed: {}", moved.1);
    for _ in 0..100 {
        if *receiver.refused.lock().unwrap_or_else(|e| e.into_inner()) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        *receiver.refused.lock().unwrap_or_else(|e| e.into_inner()) > 0,
        "a delivery was attempted while the receiver was down"
    );
    *receiver.down.lock().unwrap_or_else(|e| e.into_inner()) = false;
    let mut delivered = Vec::new();
    for _ in 0..150 {
        delivered = receiver.at("/callback");
        if delivered.len() >= 2 {
            break;
        }
        a.srv.clock.advance(5);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let statuses: Vec<&Value> = delivered
        .iter()
        .map(|c| &c.1["transaction"]["status"])
        .collect();
    assert_eq!(
        statuses,
        ["pending_receiver", "completed"],
        "both, in order, after the outage"
    );
    for (headers, _, raw) in &delivered {
        verify(&a.srv, headers, raw);
    }
    a.srv.stop().await;
}

on_both_engines!(
    callbacks_are_retried_until_delivered_in_order,
    creation_and_a_move_are_reported_signed,
    a_paid_transaction_is_reported_in_order,
    a_partners_callback_url_serves_transactions_without_one,
);
