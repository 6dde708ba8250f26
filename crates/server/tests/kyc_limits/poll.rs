//! Long polls of `/kyc-check`: a timeout answers the state as it is; a
//! decision made while a poll waits answers it at once (not at the
//! poll's periodic re-read, 15 s), on this replica and — on PostgreSQL,
//! through LISTEN/NOTIFY — on another.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{check, decide, gated, kyc_check, open_record, send};
use crate::common::{Engine, TestServer};
use crate::on_both_engines;

/// Far below the 15 s re-read: only a wake-up answers this fast.
const WOKEN: Duration = Duration::from_secs(5);

/// Starts a poll in the background; answers (status, body, when answered).
fn poll(
    srv: &TestServer,
    token: &str,
    account: &str,
    query: &str,
) -> tokio::task::JoinHandle<(u16, Value, Instant)> {
    let req = srv.with_token(
        reqwest::Method::GET,
        &format!("/kyc-check/{account}?{query}"),
        token,
    );
    tokio::spawn(async move {
        let (s, b) = TestServer::send(req).await;
        (s, b, Instant::now())
    })
}

/// Lets a started poll reach the server and wait there.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

async fn a_timeout_answers_the_current_state(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    let me = kp.public_key().to_string();
    let _ = open_record(&srv, &token).await;
    let (_, now) = kyc_check(&srv, &token, &me, "").await;
    let generation = now["rule_gen"].as_u64().unwrap();
    let started = Instant::now();
    let (status, body) = kyc_check(
        &srv,
        &token,
        &me,
        &format!("timeout_ms=1500&min_rule={generation}"),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["rule_gen"].as_u64(), Some(generation));
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "it waited"
    );
    // An older min_rule answers at once; so does a poll without a timeout.
    let started = Instant::now();
    let q = format!("timeout_ms=30000&min_rule={}", generation - 1);
    assert_eq!(kyc_check(&srv, &token, &me, &q).await.0, 202);
    assert_eq!(kyc_check(&srv, &token, &me, "min_rule=999").await.0, 202);
    assert!(started.elapsed() < WOKEN);
    // A timeout beyond the maximum is clamped, not refused.
    let srv2 = TestServer::start_with(engine, |c| c.limits.long_poll_max_secs = 1).await;
    let (kp2, token2) = srv2.login().await;
    let started = Instant::now();
    let (status, _) = kyc_check(
        &srv2,
        &token2,
        &kp2.public_key().to_string(),
        "timeout_ms=600000&lpt=1",
    )
    .await;
    assert_eq!(status, 404);
    assert!(started.elapsed() < Duration::from_secs(10));
}

async fn a_decision_answers_a_waiting_poll(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    let me = kp.public_key().to_string();
    let id = open_record(&srv, &token).await;
    let (_, now) = kyc_check(&srv, &token, &me, "").await;
    let generation = now["rule_gen"].as_u64().unwrap();
    // DD64 during review: lpt=2 with min_rule.
    let waiting = poll(
        &srv,
        &token,
        &me,
        &format!("timeout_ms=30000&lpt=2&min_rule={generation}"),
    );
    settle().await;
    assert!(!waiting.is_finished(), "the poll waits while under review");
    let decided = Instant::now();
    decide(&srv, &id, "accept").await;
    let (status, body, answered) = waiting.await.unwrap();
    assert_eq!(
        (status, &body["state"]),
        (200, &json!("accepted")),
        "{body}"
    );
    assert!(body["rule_gen"].as_u64().unwrap() > generation);
    assert!(answered.duration_since(decided) < WOKEN);
}

async fn lpt_1_waits_until_the_account_is_bound(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    let me = kp.public_key().to_string();
    // Known through a denial, not bound: 409; lpt=1 waits for the record.
    assert_eq!(check(&srv, &token, send(&kp, "500")).await.0, 451);
    let waiting = poll(&srv, &token, &me, "timeout_ms=30000&lpt=1");
    settle().await;
    assert!(!waiting.is_finished());
    let opened = Instant::now();
    let _ = open_record(&srv, &token).await;
    let (status, body, answered) = waiting.await.unwrap();
    assert_eq!((status, &body["state"]), (202, &json!("pending")), "{body}");
    assert!(answered.duration_since(opened) < WOKEN);
    // With neither lpt nor min_rule, any change answers: here a rule change.
    let waiting = poll(&srv, &token, &me, "timeout_ms=30000");
    settle().await;
    assert!(!waiting.is_finished());
    let (status, _) = TestServer::send(
        srv.admin(reqwest::Method::PUT, &format!("/admin/limits/{me}/rules"))
            .json(&json!({"rules": []})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = waiting.await.unwrap();
    assert_eq!(status, 202);
}

/// On PostgreSQL a decision made through one replica answers a poll that
/// another holds.
async fn a_decision_on_one_replica_answers_a_poll_on_another(engine: Engine) {
    let srv = gated(engine).await;
    let replica = srv.replica().await;
    let (kp, token) = srv.login().await;
    let me = kp.public_key().to_string();
    let id = open_record(&srv, &token).await;
    // Each replica of the tests has a session key of its own.
    let token = replica.token_for(&kp, None).await;
    let (_, now) = kyc_check(&replica, &token, &me, "").await;
    let generation = now["rule_gen"].as_u64().unwrap();
    let waiting = poll(
        &replica,
        &token,
        &me,
        &format!("timeout_ms=30000&min_rule={generation}"),
    );
    settle().await;
    assert!(!waiting.is_finished());
    let decided = Instant::now();
    decide(&srv, &id, "accept").await;
    let (status, body, answered) = waiting.await.unwrap();
    assert_eq!(
        (status, &body["state"]),
        (200, &json!("accepted")),
        "{body}"
    );
    assert!(answered.duration_since(decided) < WOKEN);
}

on_both_engines!(
    a_timeout_answers_the_current_state,
    a_decision_answers_a_waiting_poll,
    lpt_1_waits_until_the_account_is_bound,
);

mod a_decision_on_one_replica_answers_a_poll_on_another {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::a_decision_on_one_replica_answers_a_poll_on_another(crate::common::Engine::Postgres)
            .await
    }
}
