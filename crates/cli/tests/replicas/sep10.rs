//! SEP-10 across replicas: the used-challenge record and the rate-limit
//! counters live in the database (DESIGN.md §Storage), so no replica can
//! be used to replay what another accepted, nor to exceed a limit.

use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::json;

use super::{Options, Setup, upstream};

/// The proxy sends consecutive requests of one client, on one kept-alive
/// connection, to each replica in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consecutive_requests_land_on_different_replicas() {
    let Some(s) = Setup::start(3, Options::default()).await else {
        return;
    };
    let mut seen = Vec::new();
    for _ in 0..6 {
        let res = s
            .http
            .get(s.cluster.url("/.well-known/stellar.toml"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        seen.push(upstream(&res));
    }
    // The readiness checks went straight to the replicas, so the proxy's
    // turn starts at replica 0.
    assert_eq!(seen, [0, 1, 2, 0, 1, 2], "round robin, request by request");
    assert_eq!(s.cluster.proxy.answered(), [2, 2, 2]);
    s.finish().await;
}

/// A challenge from replica 0 is exchanged on replica 1; the same signed
/// challenge is refused on replica 2 (SEP-10 §Token: a challenge is used
/// once), and again on replica 1. The token replica 1 issued is honoured
/// by the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_from_one_is_exchanged_on_another_and_not_replayed_on_a_third() {
    let Some(s) = Setup::start(3, Options::default()).await else {
        return;
    };
    let kp = Keypair::random();
    let challenge = s.challenge(&s.at(0).url(""), &kp).await;
    let (status, got) = s.exchange(&s.at(1).url(""), &kp, &challenge).await;
    assert_eq!(status, 200, "exchanged on another replica: {got}");
    let token = got["token"].as_str().unwrap().to_owned();
    for i in [2, 1] {
        let (status, got) = s.exchange(&s.at(i).url(""), &kp, &challenge).await;
        assert_eq!(
            (status, got["error"].as_str()),
            (
                400,
                Some("challenge has already been used; request a new one")
            ),
            "replayed on replica {i}: {got}"
        );
    }
    for i in [0, 2] {
        let (status, got) = s
            .call(Method::GET, &s.at(i).url("/customer"), Some(&token), None)
            .await;
        assert_eq!(status, 200, "replica {i} honours the token: {got}");
    }
    s.finish().await;
}

/// `sep10.challenges_per_ip_per_minute` counts a client's challenges on
/// every replica together. Each replica counts in memory and adds its
/// counts to the database once a second, learning the total back
/// (`rate_limit.rs`), so the limit may be passed by what the replicas let
/// through before their next flush, and no more: six challenges fetched
/// through the proxy (two from each replica) use the allowance; of 30 more
/// over three seconds, at most a second's worth get through, and the last
/// second's are refused by every replica, with 429 and `Retry-After`.
/// Another client (by `X-Forwarded-For`, which the replicas believe from
/// the proxy) keeps its own allowance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_count_across_replicas() {
    let config = json!({"sep10": {"challenges_per_ip_per_minute": 6}});
    let options = Options {
        config: Some(config),
        ..Options::default()
    };
    let Some(s) = Setup::start(3, options).await else {
        return;
    };
    let get = |client: &'static str| {
        let url = s
            .cluster
            .url(&format!("/auth?account={}", Keypair::random().public_key()));
        s.http.get(url).header("x-forwarded-for", client).send()
    };
    // The limit's window is the clock's minute: stay clear of its end.
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if second > 45 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - second)).await;
    }
    let mut replicas = Vec::new();
    for n in 0..6 {
        let res = get("203.0.113.7").await.unwrap();
        assert_eq!(res.status(), 200, "challenge {n} is within the limit");
        replicas.push(upstream(&res));
    }
    replicas.sort_unstable();
    assert_eq!(replicas, [0, 0, 1, 1, 2, 2], "spread over every replica");
    let (mut allowed, mut last_second) = (0, Vec::new());
    for n in 0..30 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let res = get("203.0.113.7").await.unwrap();
        let (status, at) = (res.status().as_u16(), upstream(&res));
        let retry_after = res.headers().contains_key("retry-after");
        let body: serde_json::Value = res.json().await.unwrap();
        match status {
            200 => allowed += 1,
            429 => {
                assert!(retry_after, "429 says when");
                assert!(body["error"].is_string(), "SEP-10's error shape: {body}");
            }
            _ => panic!("{status} {body}"),
        }
        if n >= 21 {
            last_second.push((at, status));
        }
    }
    assert!(
        allowed <= 12,
        "{allowed} past the limit: more than a second's worth"
    );
    assert!(
        last_second.iter().all(|&(_, status)| status == 429),
        "every replica refuses once they have flushed: {last_second:?}"
    );
    let mut refused_by: Vec<usize> = last_second.iter().map(|&(at, _)| at).collect();
    refused_by.sort_unstable();
    refused_by.dedup();
    assert_eq!(refused_by, [0, 1, 2]);
    let res = get("203.0.113.8").await.unwrap();
    assert_eq!(res.status(), 200, "another client keeps its own allowance");
    s.finish().await;
}
