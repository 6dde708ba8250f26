//! Signed SEP-12 callbacks: in order, after an outage and a restart, only
//! to safe URLs, and a redirecting receiver recorded as such.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use common::customer::put_json;
use common::{Engine, TestServer, assert_error, serve};
use mooring_server::clock::ManualClock;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common;
use crate::on_both_engines;

/// A wallet's callback receiver on loopback: records what arrives, checks
/// nothing itself; answers 503 while `down`.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    down: Arc<Mutex<bool>>,
}

impl Receiver {
    async fn start(&self) -> url::Url {
        let me = self.clone();
        let app = axum::Router::new().route(
            "/kyc-callback",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let me = me.clone();
                async move {
                    if *me.down.lock().unwrap() {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    me.got.lock().unwrap().push((headers, body));
                    StatusCode::OK
                }
            }),
        );
        serve(app).await
    }

    fn statuses(&self) -> Vec<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| {
                serde_json::from_str::<Value>(b).unwrap()["status"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }
}

/// SEP-12 §VERIFY signature, as a wallet does it; the timestamp must be
/// from `since` (server time, less two minutes) to the server's now (plus
/// two minutes).
fn verify_signature(srv: &TestServer, since: u64, headers: &HeaderMap, body: &str) {
    let header = headers["signature"].to_str().unwrap();
    let (t, s) = header.split_once(", s=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let sig = base64::engine::general_purpose::STANDARD.decode(s).unwrap();
    let payload = format!("{t}.127.0.0.1.{body}");
    assert!(
        srv.signing.public_key().verify(payload.as_bytes(), &sig),
        "callback signature verifies"
    );
    let t = t.parse::<u64>().unwrap();
    let now = mooring_server::clock::Clock::now(srv.clock.as_ref());
    assert!(
        t + 120 >= since && t <= now + 120,
        "fresh timestamp: {t} not in {since}..={now}"
    );
}

async fn wait_for(receiver: &Receiver, n: usize) {
    wait_moving(receiver, n, None).await
}

/// Waits for `n` callbacks; with `clock`, moves it an hour on every tenth
/// of a second, so that a retry scheduled while the clock was being moved
/// (the manual clock stands still otherwise) still falls due.
async fn wait_moving(receiver: &Receiver, n: usize, clock: Option<&ManualClock>) {
    for _ in 0..100 {
        if receiver.got.lock().unwrap().len() >= n {
            return;
        }
        if let Some(clock) = clock {
            clock.advance(3600);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("expected {n} callbacks, got {:?}", receiver.statuses());
}

async fn callbacks_arrive_signed_in_order_after_an_outage_and_a_restart(engine: Engine) {
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let host = format!("127.0.0.1:{}", url.port().unwrap());
    let tweak = move |c: &mut mooring_server::config::Config| {
        c.sep12.callbacks.allow_http_hosts = vec![host.clone()];
        c.sep12.callbacks.retry_secs = 1;
    };
    let mut srv = TestServer::start_with(engine, tweak.clone()).await;
    let start = mooring_server::clock::Clock::now(srv.clock.as_ref());
    let (_, token) = srv.login().await;
    let id = put_json(
        &srv,
        &token,
        json!({"type": "sep31-sender", "first_name": "Ann"}),
    )
    .await
    .1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let callback = srv
        .with_token(Method::PUT, "/customer/callback", &token)
        .json(&json!({"url": format!("{url}kyc-callback")}));
    assert_eq!(TestServer::send(callback).await.0, 200);

    // NEEDS_INFO -> PROCESSING: delivered and signed.
    put_json(
        &srv,
        &token,
        json!({"last_name": "Lee", "email_address": "ann@example.com"}),
    )
    .await;
    wait_for(&receiver, 1).await;
    let (headers, body) = receiver.got.lock().unwrap()[0].clone();
    verify_signature(&srv, start, &headers, &body);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["id"], id);

    // The receiver goes down; two changes happen.
    *receiver.down.lock().unwrap() = true;
    let ask = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/request-info"))
        .json(&json!({"fields": ["last_name"]}));
    TestServer::send(ask).await;
    put_json(&srv, &token, json!({"last_name": "Leigh"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        receiver.statuses(),
        ["PROCESSING"],
        "nothing got through while down"
    );

    // The server restarts while the receiver is still down. (Retries that
    // fall due at once are signed at real time, later ones hours on.)
    srv.shutdown().await;
    let srv2 = srv.replica_with(tweak).await;
    *receiver.down.lock().unwrap() = false;
    wait_moving(&receiver, 3, Some(&srv2.clock)).await;
    assert_eq!(
        receiver.statuses(),
        ["PROCESSING", "NEEDS_INFO", "PROCESSING"],
        "all of them, in order"
    );
    for (h, b) in receiver.got.lock().unwrap().iter().skip(1) {
        verify_signature(&srv2, start, h, b);
    }
    // ACCEPTED is the last callback: the URL is then forgotten.
    let accept = srv2.admin(Method::POST, &format!("/admin/customers/{id}/accept"));
    TestServer::send(accept).await;
    wait_for(&receiver, 4).await;
    assert_eq!(receiver.statuses().last().unwrap(), "ACCEPTED");
    srv2.stop().await;
    drop(srv);
}

async fn callback_urls_must_be_safe(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (_, token) = srv.login().await;
    let set = |url: &str| {
        srv.with_token(Method::PUT, "/customer/callback", &token)
            .json(&json!({"url": url}))
    };
    assert_error(
        TestServer::send(set("https://wallet.example.com/cb")).await,
        404,
        "customer not found",
    );
    put_json(&srv, &token, json!({"first_name": "Ann"})).await;
    assert_eq!(
        TestServer::send(set("https://wallet.example.com/cb"))
            .await
            .0,
        200
    );
    for bad in [
        "http://wallet.example.com/cb",
        "https://169.254.169.254/latest",
        "https://localhost/cb",
        "ftp://x/y",
    ] {
        assert_error(
            TestServer::send(set(bad)).await,
            400,
            "url must be https:// to a public host on the default port",
        );
    }
    assert_error(
        TestServer::send(
            srv.with_token(Method::PUT, "/customer/callback", &token)
                .json(&json!({})),
        )
        .await,
        400,
        "url is required",
    );
    // A name is looked up at registration too: this machine's own name
    // resolves to one of its own (non-public) addresses.
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let hostname = hostname.trim();
    let own = tokio::net::lookup_host((hostname, 443))
        .await
        .map(|mut a| a.any(|a| !mooring_server::net::is_public(a.ip())))
        .unwrap_or(false);
    if own && !hostname.eq_ignore_ascii_case("localhost") {
        assert_error(
            TestServer::send(set(&format!("https://{hostname}/cb"))).await,
            400,
            "url's host resolves to an address that is not public",
        );
    }
    srv.stop().await;
}

/// The last error recorded for the customer's pending callback.
async fn last_callback_error(srv: &TestServer) -> Option<String> {
    let db = mooring_server::db::Db::connect(&srv.db.url, 1)
        .await
        .unwrap();
    let sql = "SELECT last_error FROM callback_outbox ORDER BY id LIMIT 1";
    let row: Option<(Option<String>,)> = match &db {
        mooring_server::db::Db::Sqlite(s) => {
            sqlx::query_as(sql)
                .fetch_optional(&mut *s.write.get().await.unwrap())
                .await
        }
        mooring_server::db::Db::Postgres(p) => sqlx::query_as(sql).fetch_optional(p).await,
    }
    .unwrap();
    db.close().await;
    row.and_then(|r| r.0)
}

async fn a_redirecting_callback_receiver_is_recorded_as_such(engine: Engine) {
    let app = axum::Router::new().fallback(|| async {
        (
            StatusCode::TEMPORARY_REDIRECT,
            [(axum::http::header::LOCATION, "http://127.0.0.1:9/elsewhere")],
        )
    });
    let url = serve(app).await;
    let host = format!("127.0.0.1:{}", url.port().unwrap());
    let srv = TestServer::start_with(engine, move |c| {
        c.sep12.callbacks.allow_http_hosts = vec![host.clone()];
        c.sep12.callbacks.retry_secs = 1;
    })
    .await;
    let (_, token) = srv.login().await;
    put_json(
        &srv,
        &token,
        json!({"type": "sep31-sender", "first_name": "Ann"}),
    )
    .await;
    let callback = srv
        .with_token(Method::PUT, "/customer/callback", &token)
        .json(&json!({"url": format!("{url}cb")}));
    assert_eq!(TestServer::send(callback).await.0, 200);
    put_json(
        &srv,
        &token,
        json!({"last_name": "Lee", "email_address": "ann@example.com"}),
    )
    .await;
    let mut error = None;
    for _ in 0..50 {
        error = last_callback_error(&srv).await;
        if error.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        error.as_deref(),
        Some("redirected (callbacks do not follow redirects)")
    );
    srv.stop().await;
}

on_both_engines!(
    callbacks_arrive_signed_in_order_after_an_outage_and_a_restart,
    callback_urls_must_be_safe,
    a_redirecting_callback_receiver_is_recorded_as_such,
);
