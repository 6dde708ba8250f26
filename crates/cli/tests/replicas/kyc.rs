//! `/kyc-check` long polls across replicas: a decision made through one
//! replica's admin API wakes a poll another holds (PostgreSQL
//! `LISTEN/NOTIFY`, docs/kyc.md §Wake-ups).

use std::time::{Duration, Instant};

use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::json;

use super::{Options, Setup};

const USDC: &str = "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_held_by_one_replica_is_woken_by_a_decision_through_another() {
    let config = json!({"limits": {
        "long_poll_max_secs": 60,
        "rules": [{"name": "unverified-send", "op": "send", "asset": USDC, "threshold": "100"}],
    }});
    let options = Options {
        config: Some(config),
        ..Options::default()
    };
    let Some(s) = Setup::start(3, options).await else {
        return;
    };
    let kp = Keypair::random();
    let token = s.login(&kp).await;
    let body = json!({"first_name": "Ada", "last_name": "Lee", "email_address": "ada@example.org"});
    let (status, got) = s
        .call(
            Method::PUT,
            &s.at(2).url("/customer"),
            Some(&token),
            Some(&body),
        )
        .await;
    assert_eq!(status, 202, "{got}");
    let id = got["id"].as_str().unwrap().to_owned();
    let check = s.at(0).url(&format!("/kyc-check/{}", kp.public_key()));
    let (status, now) = s.call(Method::GET, &check, Some(&token), None).await;
    assert_eq!(status, 202, "KYC needed while under review: {now}");
    let generation = now["rule_gen"].as_u64().unwrap();

    // Held by replica 0 for up to 60 s, unless something changes.
    let url = format!("{check}?timeout_ms=60000&lpt=2&min_rule={generation}");
    let poll = s.http.get(url).bearer_auth(&token).send();
    let waiting = tokio::spawn(async move {
        let res = poll.await.unwrap();
        let status = res.status().as_u16();
        (
            status,
            res.json::<serde_json::Value>().await.unwrap(),
            Instant::now(),
        )
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "the poll waits");

    let decided = Instant::now();
    let (status, got) = s
        .admin(
            1,
            Method::POST,
            &format!("/admin/customers/{id}/accept"),
            Some(&json!({"type": "sep31-sender"})),
        )
        .await;
    assert_eq!(status, 200, "accepted through replica 1: {got}");
    let (status, body, answered) = waiting.await.unwrap();
    assert_eq!(
        (status, &body["state"]),
        (200, &json!("accepted")),
        "{body}"
    );
    // Answered by the wake-up, long before the poll's own 60 s (the
    // safety-net re-read is every 15 s).
    let after = answered.duration_since(decided);
    assert!(
        after < Duration::from_secs(10),
        "woken {after:?} after the decision"
    );
    s.finish().await;
}
