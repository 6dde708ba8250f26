//! When the attester's KYC stops being accepted — rejected, its fields
//! sent back, or erased — every account it attested loses its inherited
//! status and the copied attributes, and their long polls wake.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::kyc::{
    Party, accepted, attest_ok, audit_actions, customer, inherited_rows, post, reject, signed,
    soon, standing,
};
use crate::common::{Engine, TestServer};

/// Starts `GET /kyc-check/{target}?timeout_ms=10000&min_rule=…` for the
/// party; resolves to (status, body, how long it waited).
fn long_poll(
    srv: &TestServer,
    p: &Party,
    min_rule: u64,
) -> tokio::task::JoinHandle<(u16, Value, Duration)> {
    let req = srv.with_token(
        Method::GET,
        &format!(
            "/kyc-check/{}?timeout_ms=10000&min_rule={min_rule}",
            p.address()
        ),
        &p.token,
    );
    tokio::spawn(async move {
        let started = Instant::now();
        let (status, body) = TestServer::send(req).await;
        (status, body, started.elapsed())
    })
}

/// Gives a poll just started the time to reach the server and wait (it
/// cannot be observed from outside).
async fn until_polled() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

async fn an_attesters_rejection_ends_the_inheritance_and_wakes_polls(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", Some("1980-03-04")).await;
    let target = customer(&srv, "Kid", None).await;
    let sibling = customer(&srv, "Sib", None).await;
    attest_ok(&srv, &attester, &target, Some("2010-05-14")).await;
    attest_ok(&srv, &attester, &sibling, None).await;
    let (state, rule_gen) = standing(&srv, &target).await;
    assert_eq!(state, "inherited");
    assert_eq!(inherited_rows(&srv).await.len(), 2);

    // A poll that waits for a newer rule_gen, started before the rejection.
    let poll = long_poll(&srv, &target, rule_gen);
    until_polled().await;
    assert!(!poll.is_finished(), "the poll waits");
    let rejected_at = Instant::now();
    reject(&srv, &attester.id).await;
    let (status, got, _) = tokio::time::timeout(Duration::from_secs(15), poll)
        .await
        .expect("the poll answers")
        .unwrap();
    let waited = rejected_at.elapsed();
    assert!(
        waited < Duration::from_secs(8),
        "woken by the rejection, not by its timeout: {waited:?}"
    );
    assert!(matches!(status, 200 | 202), "{status}: {got}");
    assert_ne!(got["state"], "inherited", "{got}");
    assert!(got["rule_gen"].as_u64().unwrap() > rule_gen, "{got}");

    // Both attested accounts are back on their own KYC (under review),
    // their copies deleted; the attester is rejected.
    for p in [&target, &sibling] {
        let (state, _) = standing(&srv, p).await;
        assert_eq!(state, "pending");
    }
    assert_eq!(standing(&srv, &attester).await.0, "rejected");
    assert!(inherited_rows(&srv).await.is_empty());
    let revoked = audit_actions(&srv)
        .await
        .into_iter()
        .filter(|(action, _, _)| action == "kyc.inheritance_revoked")
        .count();
    assert_eq!(revoked, 2, "one revocation per attested account");
    srv.stop().await;
}

async fn an_attester_asked_for_its_fields_again_ends_the_inheritance(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", None).await;
    let target = customer(&srv, "Kid", None).await;
    attest_ok(&srv, &attester, &target, None).await;
    let (_, rule_gen) = standing(&srv, &target).await;
    let poll = long_poll(&srv, &target, rule_gen);
    until_polled().await;
    let asked_at = Instant::now();
    let ask = srv
        .admin(
            Method::POST,
            &format!("/admin/customers/{}/request-info", attester.id),
        )
        .json(&json!({"fields": ["last_name"], "reason": "does not match the ID"}));
    assert_eq!(TestServer::send(ask).await.0, 200);
    let (status, got, _) = tokio::time::timeout(Duration::from_secs(15), poll)
        .await
        .expect("the poll answers")
        .unwrap();
    assert!(asked_at.elapsed() < Duration::from_secs(8));
    assert!(matches!(status, 200 | 202), "{status}: {got}");
    assert_ne!(got["state"], "inherited", "{got}");
    assert_eq!(standing(&srv, &attester).await.0, "none");
    assert!(inherited_rows(&srv).await.is_empty());
    srv.stop().await;
}

async fn an_attesters_erasure_ends_the_inheritance_and_its_copies(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", Some("1980-03-04")).await;
    let target = customer(&srv, "Kid", None).await;
    attest_ok(&srv, &attester, &target, Some("2010-05-14")).await;
    let (state, rule_gen) = standing(&srv, &target).await;
    assert_eq!(state, "inherited");
    assert_eq!(inherited_rows(&srv).await.len(), 1);

    let poll = long_poll(&srv, &target, rule_gen);
    until_polled().await;
    let erased_at = Instant::now();
    let path = format!("/customer/{}", attester.address());
    let (status, got) =
        TestServer::send(srv.with_token(Method::DELETE, &path, &attester.token)).await;
    assert_eq!(status, 200, "{got}");
    let (status, got, _) = tokio::time::timeout(Duration::from_secs(15), poll)
        .await
        .expect("the poll answers")
        .unwrap();
    assert!(
        erased_at.elapsed() < Duration::from_secs(8),
        "woken by the erasure"
    );
    assert!(matches!(status, 200 | 202), "{status}: {got}");
    assert_ne!(got["state"], "inherited", "{got}");
    assert!(got["rule_gen"].as_u64().unwrap() > rule_gen, "{got}");
    assert_eq!(standing(&srv, &target).await.0, "pending");
    assert!(
        inherited_rows(&srv).await.is_empty(),
        "the copied attributes are gone"
    );
    // The erased attester can no longer attest.
    let again = signed(&srv, &attester.kp, &target.key(), None, soon(&srv));
    let (status, got) = post(&srv, &target.address(), &again).await;
    assert_eq!((status, &got["account"]), (404, &json!(attester.address())));
    srv.stop().await;
}

crate::on_both_engines!(
    an_attesters_rejection_ends_the_inheritance_and_wakes_polls,
    an_attester_asked_for_its_fields_again_ends_the_inheritance,
    an_attesters_erasure_ends_the_inheritance_and_its_copies,
);
