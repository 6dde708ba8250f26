//! DD64 end to end, as a wallet's scheduler drives it: `Progress` runs
//! again at once, `Backoff` after a (capped) sleep, `AgainAt` when the
//! wallet's clock says so; the user and the compliance officer act while
//! the wallet long-polls.

use std::time::{Duration, Instant};

use mooring_client::kyc::{Action, Anchor, BackoffReason, Outcome};
use serde_json::{Value, json};

use super::{WalletClock, decision_request, gated};
use crate::common::{Engine, TestServer};
use crate::on_both_engines;

/// How long a wallet's long poll waits here: far longer than the test, so
/// that a poll that answers did so because it was woken.
const LONG: Duration = Duration::from_secs(20);

/// What the user and the officer wait before acting: long enough for the
/// wallet's poll to be waiting by then.
const DELAY: Duration = Duration::from_millis(1500);

/// One `run()`: what it answered, what it asked of the user, the
/// `/kyc-check` status it saw, how long it took.
struct Run {
    outcome: Outcome,
    action: Action,
    status: Option<u16>,
    took: Duration,
}

/// The whole DD64 story. The operation (a send of 500, over the 100 a
/// user without KYC may send) is refused with 451 and `/kyc-check`
/// answers 409: the wallet asks its user to open a SEP-12 record. The
/// user does, a moment later, while the wallet long-polls with `lpt=1`;
/// the poll wakes with a 202 under review, whose limits still deny the
/// send: the wallet waits for the review. The compliance officer accepts
/// the customer through the admin API a moment later, while the wallet
/// long-polls with `lpt=2` and `min_rule`; the poll wakes with a 200:
/// `Progress`, and the operation, tried again at once, is allowed.
async fn kyc_accepted_while_the_wallet_long_polls(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    let anchor = Anchor::discover(srv.http.clone(), &srv.base)
        .await
        .expect("the anchor is found from its stellar.toml");
    let clock = WalletClock::new();
    let mut w = super::own_wallet(mooring_client::kyc::Operation::Send, "500", &kp, &clock)
        .with_long_poll(LONG);

    let mut runs: Vec<Run> = Vec::new();
    let mut record: Option<tokio::task::JoinHandle<(u16, Value)>> = None;
    let mut decision: Option<tokio::task::JoinHandle<(u16, Value)>> = None;
    let started = Instant::now();
    loop {
        assert!(
            runs.len() < 12,
            "DD64 did not finish: {:?}",
            outcomes(&runs)
        );
        let t0 = Instant::now();
        let outcome = w.run(&anchor).await;
        runs.push(Run {
            outcome: outcome.clone(),
            action: w.action().clone(),
            status: w.last_check_status(),
            took: t0.elapsed(),
        });
        match outcome {
            Outcome::Allowed => break,
            Outcome::Progress => {}
            Outcome::Backoff { .. } => {
                match w.action() {
                    // The user opens the record, in a little while.
                    Action::OpenRecord { .. } if record.is_none() => {
                        record = Some(later(
                            srv.with_token(reqwest::Method::PUT, "/customer", &token)
                                .json(&json!({"first_name": "Ada", "last_name": "Lovelace",
                                               "email_address": "ada@example.org"})),
                        ));
                    }
                    // The officer accepts the customer, in a little while.
                    Action::AwaitReview if decision.is_none() => {
                        let (status, body) = record.take().unwrap().await.unwrap();
                        assert_eq!(status, 202, "{body}");
                        let id = body["id"].as_str().unwrap().to_owned();
                        decision = Some(later(decision_request(&srv, &id, "accept")));
                    }
                    _ => {}
                }
                tokio::time::sleep(w.backoff_delay().min(Duration::from_millis(100))).await;
            }
            Outcome::AgainAt(t) => clock.set(t),
        }
    }
    let (status, body) = decision.unwrap().await.unwrap();
    assert_eq!(status, 200, "{body}");

    assert_eq!(
        outcomes(&runs),
        [
            Outcome::Backoff {
                reason: BackoffReason::KycAuth
            },
            Outcome::Backoff {
                reason: BackoffReason::KycRequired
            },
            Outcome::Progress,
            Outcome::Allowed,
        ]
    );
    let statuses: Vec<Option<u16>> = runs.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(409), Some(202), Some(200), Some(200)]);
    assert!(matches!(runs[0].action, Action::OpenRecord { .. }));
    assert_eq!(runs[1].action, Action::AwaitReview);
    assert_eq!(runs[2].action, Action::None);
    assert_eq!(runs[3].action, Action::None);
    // The two polls waited for what the user and the officer did, and
    // were woken by it, not by their timeout.
    for r in &runs[1..3] {
        assert!(r.took >= DELAY / 3, "it waited: {:?}", r.took);
        assert!(r.took < LONG / 2, "it was woken: {:?}", r.took);
    }
    assert!(started.elapsed() < LONG);
    assert_eq!(w.last_deny(), None);
    assert_eq!(w.last_aml_review(), Some(false));
    srv.stop().await;
}

/// Sends `req` after [`DELAY`], in the background.
fn later(req: reqwest::RequestBuilder) -> tokio::task::JoinHandle<(u16, Value)> {
    tokio::spawn(async move {
        tokio::time::sleep(DELAY).await;
        TestServer::send(req).await
    })
}

fn outcomes(runs: &[Run]) -> Vec<Outcome> {
    runs.iter().map(|r| r.outcome.clone()).collect()
}

on_both_engines!(kyc_accepted_while_the_wallet_long_polls);
