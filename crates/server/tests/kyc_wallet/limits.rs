//! DD64 step 4: what the exposed limits say of a denied operation — KYC
//! will lift it, a rolling window will free up, it can never pass, or
//! nothing exposed denies it (a hidden rule).

use std::time::Duration;

use mooring_client::kyc::{Action, Amount, BackoffReason, Operation, Outcome};
use mooring_stellar::Keypair;

use super::{
    RETRY, WalletClock, accepted, anchor, at, gated, kyc_check, long_poll, own_wallet, record,
};
use crate::common::Engine;
use crate::on_both_engines;

/// Step 3's 404 without `bad_kyc_auth` goes to step 4 with the default
/// limits: a send of 20,000 is over the exposed hard cap, whose 451
/// (`soft_limit: false`) does not make the account known. The hard
/// per-operation limit denies the amount itself: `Backoff(HardLimit)` with
/// [`Action::Impossible`] naming it.
async fn an_unknown_account_over_a_hard_limit_is_impossible(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    let clock = WalletClock::new();
    let mut w = own_wallet(Operation::Send, "20000", &kp, &clock);
    assert_eq!(
        w.run(&anchor(&srv)).await,
        Outcome::Backoff {
            reason: BackoffReason::HardLimit
        }
    );
    assert_eq!(w.last_deny(), Some(clock.now()));
    assert_eq!(w.last_check_status(), Some(404));
    assert_eq!(w.last_check_code(), Some(1935));
    assert_eq!(w.last_rule_gen(), None);
    assert_eq!(
        w.action(),
        &Action::Impossible {
            rule_name: Some("hard-cap".into()),
            threshold: Amount::parse("10000").unwrap(),
        }
    );
    // After a 404: a long poll for any change, neither lpt nor min_rule.
    assert_eq!(w.next_check_query(), long_poll(None, None));
    assert_eq!(kyc_check(&srv, &token, &kp.public_key()).await.0, 404);
    srv.stop().await;
}

/// A hard limit after KYC: the account is accepted, so the 451 for 20,000
/// is `soft_limit: false` and `/kyc-check` answers 200 — which, after a
/// hard denial (Mooring's addition to DD64), goes to step 4 with the
/// 200's limits instead of `Progress`: [`Action::Impossible`], not an
/// hourly retry for ever.
async fn a_hard_limit_after_kyc_is_impossible(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, _) = accepted(&srv).await;
    let clock = WalletClock::new();
    let mut w = own_wallet(Operation::Send, "20000", &kp, &clock);
    assert_eq!(
        w.run(&anchor(&srv)).await,
        Outcome::Backoff {
            reason: BackoffReason::HardLimit
        }
    );
    assert_eq!(w.last_check_status(), Some(200));
    assert_eq!(w.last_deny(), Some(clock.now()), "a 200 here keeps it");
    assert_eq!(
        w.action(),
        &Action::Impossible {
            rule_name: Some("hard-cap".into()),
            threshold: Amount::parse("10000").unwrap(),
        }
    );
    srv.stop().await;
}

/// Step 4, a soft limit denies and KYC is not done: `Backoff(KycRequired)`.
/// Here through the default limits of a 404 (the operation was never
/// tried: a zero limit), where [`Action::CompleteKyc`] names the SEP-12
/// server and type of `GET /limits`; the 202 branches of `check` reach it
/// with the account's own limits, and with [`Action::AwaitReview`] under
/// review.
async fn a_soft_limit_asks_for_kyc(engine: Engine) {
    let srv = gated(engine).await;
    let kp = Keypair::random();
    let clock = WalletClock::new();
    let mut w = own_wallet(Operation::Receive, "25", &kp, &clock);
    assert_eq!(
        w.run(&anchor(&srv)).await,
        Outcome::Backoff {
            reason: BackoffReason::KycRequired
        }
    );
    assert_eq!(w.last_check_status(), Some(404));
    assert_eq!(
        w.action(),
        &Action::CompleteKyc {
            kyc_url: Some(super::kyc_url(&srv).await),
            kyc_type: Some(super::KYC_TYPE.into()),
        }
    );
    srv.stop().await;
}

/// Step 4, only a rolling window denies: `AgainAt(resets_at)`, when the
/// oldest operation counted leaves the window (firm quotes: at most 1,000
/// a minute, 900 recorded by the business server). Step 1 may then try
/// the operation before the retry interval is over, and it passes.
async fn a_full_rolling_window_waits_until_it_resets(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, _) = accepted(&srv).await;
    record(&srv, &kp, "quote", "900").await;
    let recorded = mooring_server::clock::Clock::now(srv.clock.as_ref());
    let resets = at(recorded + 60);
    let clock = WalletClock::new();
    let anchor = anchor(&srv);
    // DD64's hour: only the window lets step 1 try again within the test.
    let mut w = own_wallet(Operation::Quote, "200", &kp, &clock)
        .with_retry_interval(Duration::from_secs(3600));
    assert_eq!(w.run(&anchor).await, Outcome::AgainAt(resets));
    assert_eq!(w.last_check_status(), Some(200));
    assert_eq!(w.action(), &Action::WaitUntil(resets));
    assert!(resets < w.last_deny().unwrap() + Duration::from_secs(3600));

    // The minute is over for the server; the wallet runs at `resets`.
    srv.clock.advance(60);
    clock.set(resets);
    assert_eq!(w.run(&anchor).await, Outcome::Allowed);
    srv.stop().await;
}

/// Step 4, nothing exposed denies the operation: a hidden rule is in the
/// way, and DD64 tries again after the retry interval —
/// `AgainAt(last_deny + interval)`. Deposits are refused by a hidden hard
/// rule: an unknown account gets there through a 404 and the default
/// limits, an accepted one through a 200 after the hard denial. At that
/// time step 1 tries the operation again (a new `last_deny`).
async fn a_hidden_rule_is_tried_again_after_the_interval(engine: Engine) {
    let srv = gated(engine).await;
    let anchor = anchor(&srv);
    let clock = WalletClock::new();

    let kp = Keypair::random();
    let mut w = own_wallet(Operation::Deposit, "10", &kp, &clock);
    let first = clock.now();
    assert_eq!(w.run(&anchor).await, Outcome::AgainAt(first + RETRY));
    assert_eq!(w.last_check_status(), Some(404));
    assert_eq!(w.action(), &Action::WaitUntil(first + RETRY));

    clock.set(first + RETRY);
    // Denied again, and the 404 is the one of before: back off.
    assert_eq!(
        w.run(&anchor).await,
        Outcome::Backoff {
            reason: BackoffReason::Unchanged
        }
    );
    assert_eq!(w.last_deny(), Some(first + RETRY), "step 1 tried again");

    let (done, _) = accepted(&srv).await;
    let mut w = own_wallet(Operation::Deposit, "10", &done, &clock);
    let now = clock.now();
    assert_eq!(w.run(&anchor).await, Outcome::AgainAt(now + RETRY));
    assert_eq!(w.last_check_status(), Some(200));
    assert_eq!(w.action(), &Action::WaitUntil(now + RETRY));
    // Within the interval, a second later: a long poll, unchanged.
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        w.run(&anchor).await,
        Outcome::Backoff {
            reason: BackoffReason::Unchanged
        }
    );
    assert_eq!(w.last_deny(), Some(now));
    srv.stop().await;
}

on_both_engines!(
    an_unknown_account_over_a_hard_limit_is_impossible,
    a_hard_limit_after_kyc_is_impossible,
    a_soft_limit_asks_for_kyc,
    a_full_rolling_window_waits_until_it_resets,
    a_hidden_rule_is_tried_again_after_the_interval,
);
