//! DD64 steps 2 and 3: which `/kyc-check` query the wallet makes, and what
//! each answer does to the run and to DD64's variables; the backoff.

use std::time::{Duration, Instant};

use mooring_client::kyc::{Action, BackoffReason, CheckQuery, Operation, Outcome};
use mooring_stellar::Keypair;

use super::{
    KYC_TYPE, WalletClock, anchor, decide, gated, kyc_check, kyc_url, long_poll,
    open_incomplete_record, open_record, own_wallet, same_key, wallet,
};
use crate::common::{Engine, StubAccount};
use crate::on_both_engines;

/// Step 2, first query: no long poll (`last_check_status` is null) — the
/// run answers at once even with a long poll of 20 s configured. Step 3,
/// 409 (known through the denial, no SEP-12 record to bind KYC to):
/// `Backoff` telling the user to open their record, and the next query
/// long-polls with `lpt=1`.
async fn the_first_check_does_not_wait_and_a_409_asks_for_a_record(engine: Engine) {
    let srv = gated(engine).await;
    let kp = Keypair::random();
    let clock = WalletClock::new();
    let mut w =
        own_wallet(Operation::Send, "500", &kp, &clock).with_long_poll(Duration::from_secs(20));
    assert_eq!(w.next_check_query(), CheckQuery::default());
    let started = Instant::now();
    assert_eq!(
        w.run(&anchor(&srv)).await,
        Outcome::Backoff {
            reason: BackoffReason::KycAuth
        }
    );
    assert!(started.elapsed() < Duration::from_secs(10), "did not poll");
    assert_eq!(w.last_check_status(), Some(409));
    assert_eq!(w.last_check_code(), Some(1937));
    assert_eq!(w.last_rule_gen(), None);
    assert_eq!(w.last_aml_review(), None);
    assert!(w.needs_kyc_auth());
    assert_eq!(
        w.action(),
        &Action::OpenRecord {
            kyc_url: Some(kyc_url(&srv).await),
            kyc_type: Some(KYC_TYPE.into()),
        }
    );
    assert_eq!(
        w.next_check_query(),
        CheckQuery {
            timeout_ms: Some(20_000),
            lpt: Some(1),
            min_rule: None
        }
    );
    srv.stop().await;
}

/// Step 3, `same_resp`: the long poll (1 s) times out on the answer of
/// before — same status, code and `rule_gen` — so `Backoff(Unchanged)`,
/// and the action of before stays.
async fn an_unchanged_answer_backs_off(engine: Engine) {
    let srv = gated(engine).await;
    let kp = Keypair::random();
    let clock = WalletClock::new();
    let anchor = anchor(&srv);
    let mut w = own_wallet(Operation::Send, "500", &kp, &clock);
    w.run(&anchor).await;
    let action = w.action().clone();
    assert!(matches!(action, Action::OpenRecord { .. }), "{action:?}");
    let started = Instant::now();
    assert_eq!(
        w.run(&anchor).await,
        Outcome::Backoff {
            reason: BackoffReason::Unchanged
        }
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "it long-polled"
    );
    assert_eq!(w.last_check_status(), Some(409));
    assert_eq!(w.action(), &action);
    assert_eq!(w.next_check_query(), long_poll(Some(1), None));
    srv.stop().await;
}

/// The backoff: 1 s, doubling while the answer stays the same, and back
/// to 1 s as soon as it changes in any way (here the record is opened:
/// 409 becomes a 202 under review).
async fn the_backoff_doubles_and_resets_when_the_answer_changes(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    let clock = WalletClock::new();
    let anchor = anchor(&srv);
    let mut w = own_wallet(Operation::Send, "500", &kp, &clock);
    let unchanged = Outcome::Backoff {
        reason: BackoffReason::Unchanged,
    };
    w.run(&anchor).await;
    assert_eq!(w.backoff_delay(), Duration::from_secs(1));
    assert_eq!(w.run(&anchor).await, unchanged);
    assert_eq!(w.backoff_delay(), Duration::from_secs(2));
    assert_eq!(w.run(&anchor).await, unchanged);
    assert_eq!(w.backoff_delay(), Duration::from_secs(4));

    let _ = open_record(&srv, &token).await;
    assert_eq!(
        w.run(&anchor).await,
        Outcome::Backoff {
            reason: BackoffReason::KycRequired
        }
    );
    assert_eq!(w.last_check_status(), Some(202));
    assert_eq!(w.backoff_delay(), Duration::from_secs(1), "reset");
    assert_eq!(w.run(&anchor).await, unchanged);
    assert_eq!(w.backoff_delay(), Duration::from_secs(2));
    srv.stop().await;
}

/// Step 3, 204 (KYC disabled): `last_deny := null`, `Progress`; the next
/// run tries the operation at once and it passes. The operator turns
/// gating off: a replica over the same database with `limits.enabled =
/// false`, reached within the retry interval of a 451 from the gated one.
async fn kyc_disabled_clears_the_denial(engine: Engine) {
    let srv = gated(engine).await;
    let off = srv.replica_with(|c| c.limits.enabled = false).await;
    let kp = Keypair::random();
    let clock = WalletClock::new();
    let mut w = own_wallet(Operation::Send, "500", &kp, &clock);
    w.run(&anchor(&srv)).await;
    assert_eq!(w.last_deny(), Some(clock.now()));

    let off_anchor = anchor(&off);
    assert_eq!(w.run(&off_anchor).await, Outcome::Progress);
    assert_eq!(w.last_check_status(), Some(204));
    assert_eq!(w.last_check_code(), None);
    assert_eq!(w.last_deny(), None);
    assert_eq!(w.action(), &Action::None);
    assert_eq!(w.run(&off_anchor).await, Outcome::Allowed);
    off.stop().await;
    srv.stop().await;
}

/// Step 3, 200 (no KYC required now: here accepted while the wallet was
/// told to open its record): `last_deny := null`, `Progress`, and the
/// operation passes on the next run. After a 200 the query long-polls
/// with `min_rule` only.
async fn a_200_clears_the_denial(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    let clock = WalletClock::new();
    let anchor = anchor(&srv);
    let mut w = own_wallet(Operation::Send, "500", &kp, &clock);
    w.run(&anchor).await;
    assert_eq!(w.last_check_status(), Some(409));

    let id = open_record(&srv, &token).await;
    decide(&srv, &id, "accept").await;
    assert_eq!(w.run(&anchor).await, Outcome::Progress);
    let (_, status) = kyc_check(&srv, &token, &kp.public_key()).await;
    let generation = status["rule_gen"].as_u64().unwrap();
    assert_eq!(w.last_check_status(), Some(200));
    assert_eq!(w.last_rule_gen(), Some(generation));
    assert_eq!(w.last_aml_review(), Some(false));
    assert_eq!(w.last_deny(), None);
    assert_eq!(w.action(), &Action::None);
    assert_eq!(w.next_check_query(), long_poll(None, Some(generation)));
    assert_eq!(w.run(&anchor).await, Outcome::Allowed);
    srv.stop().await;
}

/// Step 3, 202 whose exposed limits deny the operation, under review:
/// `last_aml_review := true`, step 4 finds a soft limit KYC will lift —
/// `Backoff(KycRequired)` with [`Action::AwaitReview`] — and step 2 next
/// long-polls with `lpt=2` and `min_rule=last_rule_gen`.
async fn a_202_under_review_waits_for_the_review(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    let _ = open_record(&srv, &token).await;
    let clock = WalletClock::new();
    let mut w = own_wallet(Operation::Send, "500", &kp, &clock);
    assert_eq!(
        w.run(&anchor(&srv)).await,
        Outcome::Backoff {
            reason: BackoffReason::KycRequired
        }
    );
    let (status, body) = kyc_check(&srv, &token, &kp.public_key()).await;
    assert_eq!(status, 202, "{body}");
    let generation = body["rule_gen"].as_u64().unwrap();
    assert_eq!(w.last_check_status(), Some(202));
    assert_eq!(w.last_check_code(), None);
    assert_eq!(w.last_rule_gen(), Some(generation));
    assert_eq!(w.last_aml_review(), Some(true));
    assert_eq!(w.action(), &Action::AwaitReview);
    assert_eq!(w.next_check_query(), long_poll(Some(2), Some(generation)));
    srv.stop().await;
}

/// Step 3, 202 whose exposed limits deny the operation, not under review
/// (the record lacks a field: KYC state `none`, KYC required by the
/// denial): step 4 asks the user to complete KYC ([`Action::CompleteKyc`]
/// with the SEP-12 URL and type), and step 2 next long-polls with
/// `min_rule` and no `lpt`. Completing the record puts it under review: a
/// new answer, `AwaitReview`, and `lpt=2`.
async fn a_202_needing_information_asks_for_kyc(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    let id = open_incomplete_record(&srv, &token).await;
    let clock = WalletClock::new();
    let anchor = anchor(&srv);
    let mut w = own_wallet(Operation::Send, "500", &kp, &clock);
    assert_eq!(
        w.run(&anchor).await,
        Outcome::Backoff {
            reason: BackoffReason::KycRequired
        }
    );
    let (status, body) = kyc_check(&srv, &token, &kp.public_key()).await;
    assert_eq!((status, &body["state"]), (202, &"none".into()), "{body}");
    let generation = body["rule_gen"].as_u64().unwrap();
    assert_eq!(w.last_check_status(), Some(202));
    assert_eq!(w.last_aml_review(), Some(false));
    assert_eq!(w.last_rule_gen(), Some(generation));
    assert_eq!(
        w.action(),
        &Action::CompleteKyc {
            kyc_url: Some(kyc_url(&srv).await),
            kyc_type: Some(KYC_TYPE.into()),
        }
    );
    assert_eq!(w.next_check_query(), long_poll(None, Some(generation)));

    let (status, body) = crate::common::customer::put_json(
        &srv,
        &token,
        serde_json::json!({"id": id, "email_address": "ada@example.org"}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        w.run(&anchor).await,
        Outcome::Backoff {
            reason: BackoffReason::KycRequired
        }
    );
    assert_eq!(w.last_aml_review(), Some(true));
    assert!(w.last_rule_gen() > Some(generation));
    assert_eq!(w.action(), &Action::AwaitReview);
    assert_eq!(w.next_check_query().lpt, Some(2));
    srv.stop().await;
}

/// Step 3, 202 whose exposed limits allow the operation: a hidden rule
/// (withdrawals need KYC, not shown) denied it, so the exposed limits say
/// nothing against it — `Progress`, and while under review the action is
/// to wait for it. Within the retry interval the next run does not try
/// the operation but long-polls with `lpt=2`.
async fn a_202_whose_limits_allow_the_operation_progresses(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    let _ = open_record(&srv, &token).await;
    let clock = WalletClock::new();
    let anchor = anchor(&srv);
    let mut w = own_wallet(Operation::Withdraw, "50", &kp, &clock);
    assert_eq!(w.run(&anchor).await, Outcome::Progress);
    assert_eq!(w.last_deny(), Some(clock.now()));
    assert_eq!(w.last_check_status(), Some(202));
    assert_eq!(w.last_aml_review(), Some(true));
    assert_eq!(w.action(), &Action::AwaitReview);
    let generation = w.last_rule_gen().unwrap();
    assert_eq!(w.next_check_query(), long_poll(Some(2), Some(generation)));
    assert_eq!(
        w.run(&anchor).await,
        Outcome::Backoff {
            reason: BackoffReason::Unchanged
        }
    );
    assert_eq!(w.last_deny(), Some(clock.now()), "step 1 skipped");
    srv.stop().await;
}

/// Step 3, 403 with the expected key held: DD64 switches `account_keypair`
/// to it. Mooring binds KYC to the account's own key, and the client
/// starts with that key as `account_keypair` whenever it holds it, so a
/// wallet holding a co-signer first and the account's key second logs in
/// to `/kyc-check` as the account from the first check on and never meets
/// the 403: the switch is unreachable against a Mooring server (the
/// client's unit test `a_403_switches_to_the_expected_key_when_the_wallet_holds_it`
/// covers it). What is checked here: `account_keypair` is the account's
/// key, the operation is authorised with it (`bad_kyc_auth` false) even
/// though the co-signer could sign, and the check is a 409, not a 403.
async fn a_wallet_holding_the_accounts_key_checks_with_it(engine: Engine) {
    let srv = gated(engine).await;
    let owner = Keypair::random();
    let cosigner = Keypair::random();
    srv.horizon.set_account(
        &owner.public_key(),
        StubAccount {
            signers: vec![(owner.public_key(), 1), (cosigner.public_key(), 1)],
            thresholds: (1, 1, 1),
        },
    );
    let clock = WalletClock::new();
    let mut w = wallet(
        Operation::Send,
        "500",
        owner.public_key(),
        vec![same_key(&cosigner), same_key(&owner)],
        &clock,
    );
    assert_eq!(w.account_keypair().public_key(), owner.public_key());
    assert_eq!(
        w.run(&anchor(&srv)).await,
        Outcome::Backoff {
            reason: BackoffReason::KycAuth
        }
    );
    assert!(!w.last_bad_kyc_auth());
    assert_eq!(w.last_check_status(), Some(409));
    assert_eq!(w.account_keypair().public_key(), owner.public_key());
    srv.stop().await;
}

/// Step 3, status 0: the anchor stopped answering — `last_check_status :=
/// 0`, `last_check_code := null`, `Backoff(Unreachable)`; `last_rule_gen`
/// is kept for the next `min_rule`. The same failure again grows the
/// backoff.
async fn an_unreachable_anchor_is_status_0(engine: Engine) {
    let mut srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    let _ = open_record(&srv, &token).await;
    let clock = WalletClock::new();
    let anchor = anchor(&srv);
    let mut w = own_wallet(Operation::Send, "500", &kp, &clock);
    w.run(&anchor).await;
    assert_eq!(w.last_check_status(), Some(202));
    let generation = w.last_rule_gen();
    assert!(generation.is_some());

    srv.shutdown().await;
    let outcome = w.run(&anchor).await;
    assert!(
        matches!(
            outcome,
            Outcome::Backoff {
                reason: BackoffReason::Unreachable(_)
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(w.last_check_status(), Some(0));
    assert_eq!(w.last_check_code(), None);
    assert_eq!(w.last_rule_gen(), generation);
    assert_eq!(w.backoff_delay(), Duration::from_secs(1), "a new answer");
    let outcome = w.run(&anchor).await;
    assert!(
        matches!(
            outcome,
            Outcome::Backoff {
                reason: BackoffReason::Unreachable(_)
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(w.backoff_delay(), Duration::from_secs(2));
    srv.stop().await;
}

on_both_engines!(
    the_first_check_does_not_wait_and_a_409_asks_for_a_record,
    an_unchanged_answer_backs_off,
    the_backoff_doubles_and_resets_when_the_answer_changes,
    kyc_disabled_clears_the_denial,
    a_200_clears_the_denial,
    a_202_under_review_waits_for_the_review,
    a_202_needing_information_asks_for_kyc,
    a_202_whose_limits_allow_the_operation_progresses,
    a_wallet_holding_the_accounts_key_checks_with_it,
    an_unreachable_anchor_is_status_0,
);
