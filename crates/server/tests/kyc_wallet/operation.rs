//! DD64's initialization and step 1: the operation is tried
//! (`POST /operations/check`) unless it was denied within the retry
//! interval; allowed halts, a 451 sets `last_deny` and
//! `last_bad_kyc_auth`, any other failure backs off.

use std::time::Duration;

use mooring_client::kyc::{
    Action, Amount, Anchor, Asset, BackoffReason, CheckQuery, KycWait, Operation, Outcome, Target,
};
use mooring_client::sep10::WebAuth;
use mooring_stellar::{ClientAccount, IdMemo, Keypair};

use super::{
    RETRY, WalletClock, anchor, closed_port, gated, kyc_check, kyc_url, long_poll, own_wallet,
    same_key, wallet,
};
use crate::common::{Engine, StubAccount};
use crate::on_both_engines;

/// Step 1, success: the operation is allowed, DD64 halts — no `/kyc-check`
/// is asked and nothing is left for the user to do.
async fn an_allowed_operation_halts(engine: Engine) {
    let srv = gated(engine).await;
    let kp = Keypair::random();
    let clock = WalletClock::new();
    let mut w = own_wallet(Operation::Send, "100", &kp, &clock);
    assert_eq!(w.run(&anchor(&srv)).await, Outcome::Allowed);
    assert_eq!(w.action(), &Action::None);
    assert_eq!(w.last_deny(), None);
    assert_eq!(w.last_check_status(), None, "no /kyc-check was made");
    assert!(!w.last_bad_kyc_auth());
    srv.stop().await;
}

/// Step 1, 451: `last_deny := now()`, `last_bad_kyc_auth :=
/// resp.bad_kyc_auth` (false: the account's own key authorises it), and
/// on to step 2 — here a 409, the denial having made the account known.
async fn a_451_sets_last_deny_and_goes_on_to_kyc_check(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    let clock = WalletClock::new();
    let mut w = own_wallet(Operation::Send, "500", &kp, &clock);
    assert_eq!(
        w.run(&anchor(&srv)).await,
        Outcome::Backoff {
            reason: BackoffReason::KycAuth
        }
    );
    assert_eq!(w.last_deny(), Some(clock.now()));
    assert!(!w.last_bad_kyc_auth());
    assert_eq!(w.last_check_status(), Some(409));
    assert_eq!(w.target().account.account(), kp.public_key());
    // The server agrees: the soft denial made KYC required for the account.
    assert_eq!(kyc_check(&srv, &token, &kp.public_key()).await.0, 409);
    srv.stop().await;
}

/// Step 1, 451 with `bad_kyc_auth`: the wallet holds a co-signer of the
/// account, not its own key, so the operation says `key` and the 451 says
/// `bad_kyc_auth: true`, which DD64 copies. `account_keypair` is the
/// co-signer, whose token `/kyc-check` refuses with 403 naming the account's
/// key — which the wallet does not hold: step 3's 403 without the key,
/// `Backoff` with [`Action::ProvideKey`], and the next check long-polls with
/// `lpt=1`.
///
/// DD64's "404 with `last_bad_kyc_auth`" cannot be reached against Mooring:
/// `bad_kyc_auth` is only ever true for a wallet without the account's key
/// (the client authorises with the account's own key whenever it holds it),
/// and such a wallet's `/kyc-check` token is never the account's, which
/// the server answers with 403 before it looks whether it knows the account.
async fn a_451_for_another_key_copies_bad_kyc_auth(engine: Engine) {
    let srv = gated(engine).await;
    let (owner, owner_token) = srv.login().await;
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
        vec![same_key(&cosigner)],
        &clock,
    );
    assert_eq!(w.account_keypair().public_key(), cosigner.public_key());
    let anchor = anchor(&srv);
    assert_eq!(
        w.run(&anchor).await,
        Outcome::Backoff {
            reason: BackoffReason::WrongKey
        }
    );
    assert!(w.last_bad_kyc_auth());
    assert_eq!(w.last_deny(), Some(clock.now()));
    assert_eq!(w.last_check_status(), Some(403));
    assert_eq!(w.last_check_code(), Some(1930));
    assert_eq!(w.last_rule_gen(), None);
    assert_eq!(
        w.action(),
        &Action::ProvideKey {
            account_pub: owner.public_key(),
            memo: None
        }
    );
    assert!(w.needs_kyc_auth());
    assert_eq!(w.next_check_query(), long_poll(Some(1), None));
    assert_eq!(
        w.account_keypair().public_key(),
        cosigner.public_key(),
        "the wallet has no other key to switch to"
    );
    // The denial was the owner's: KYC is now required of its account.
    assert_eq!(
        kyc_check(&srv, &owner_token, &owner.public_key()).await.0,
        409
    );

    // Still the same 403: nothing changed, back off longer.
    assert_eq!(
        w.run(&anchor).await,
        Outcome::Backoff {
            reason: BackoffReason::Unchanged
        }
    );
    assert_eq!(w.backoff_delay(), Duration::from_secs(2));
    assert_eq!(
        w.last_deny(),
        Some(clock.now()),
        "step 1 was not tried again"
    );
    srv.stop().await;
}

/// Step 1, any other failure: a 400 (here an amount of 0, which the client
/// lets through and the server refuses) ends the run with `Backoff`,
/// before any `/kyc-check`; so does a login the anchor refuses, and an
/// anchor that cannot be reached. Nothing of DD64's state moves but the
/// backoff, which grows.
async fn another_failure_of_the_operation_backs_off(engine: Engine) {
    let srv = gated(engine).await;
    let kp = Keypair::random();
    let clock = WalletClock::new();
    let anchor = anchor(&srv);

    let mut w = own_wallet(Operation::Send, "0", &kp, &clock);
    let refused = Outcome::Backoff {
        reason: BackoffReason::Refused {
            status: 400,
            message: "amount must be positive".into(),
        },
    };
    assert_eq!(w.run(&anchor).await, refused);
    assert_eq!(w.last_deny(), None);
    assert_eq!(w.last_check_status(), None, "no /kyc-check was made");
    assert_eq!(w.action(), &Action::None);
    assert_eq!(w.backoff_delay(), Duration::from_secs(1));
    assert_eq!(w.run(&anchor).await, refused);
    assert_eq!(w.backoff_delay(), Duration::from_secs(2));

    // Horizon failing, the anchor cannot check the account's signers: the
    // SEP-10 login is refused.
    srv.horizon.fail_with(Some(500));
    let mut w = own_wallet(Operation::Send, "500", &kp, &clock);
    let outcome = w.run(&anchor).await;
    assert!(
        matches!(
            outcome,
            Outcome::Backoff {
                reason: BackoffReason::Login(_)
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(w.last_deny(), None);
    assert_eq!(w.last_check_status(), None);
    srv.horizon.fail_with(None);

    // Nobody there.
    let nowhere = closed_port();
    let web_auth = WebAuth::new(
        srv.http.clone(),
        nowhere.join("/auth").unwrap(),
        srv.signing.public_key(),
        srv.network.clone(),
        srv.home_domain.clone(),
    )
    .unwrap();
    let gone = Anchor::new(srv.http.clone(), nowhere, web_auth);
    let mut w = own_wallet(Operation::Send, "500", &kp, &clock);
    let outcome = w.run(&gone).await;
    assert!(
        matches!(
            outcome,
            Outcome::Backoff {
                reason: BackoffReason::Unreachable(_)
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(
        w.last_check_status(),
        None,
        "step 1 failed: no /kyc-check, so no status 0"
    );
    srv.stop().await;
}

/// Step 1 is skipped while `last_deny` is within the retry interval (DD64:
/// an hour; [`RETRY`] here): the run goes straight to `/kyc-check`, and
/// `last_deny` stays. At the interval's end the operation is tried again,
/// and its new 451 moves `last_deny` to then.
async fn step_1_waits_out_the_retry_interval(engine: Engine) {
    let srv = gated(engine).await;
    let kp = Keypair::random();
    let clock = WalletClock::new();
    let anchor = anchor(&srv);
    let mut w = own_wallet(Operation::Send, "500", &kp, &clock);
    let first = clock.now();
    assert_eq!(
        w.run(&anchor).await,
        Outcome::Backoff {
            reason: BackoffReason::KycAuth
        }
    );
    assert_eq!(w.last_deny(), Some(first));

    clock.advance(RETRY - Duration::from_secs(1));
    assert_eq!(
        w.run(&anchor).await,
        Outcome::Backoff {
            reason: BackoffReason::Unchanged
        }
    );
    assert_eq!(w.last_deny(), Some(first), "step 1 skipped");

    clock.advance(Duration::from_secs(1));
    assert_eq!(
        w.run(&anchor).await,
        Outcome::Backoff {
            reason: BackoffReason::Unchanged
        }
    );
    assert_eq!(w.last_deny(), Some(first + RETRY), "step 1 tried again");
    srv.stop().await;
}

/// Initialization: `last_deny := now()` when `isZeroLimited(op, amt)` — an
/// exposed threshold of 0 for receiving USDC — so the first run does not
/// try the operation (the account stays unknown: 404, where a 451 would
/// have made it known) and judges it by the default limits: KYC needed.
/// Once the account's KYC is accepted, the first check answers 200, which
/// clears `last_deny`, and the operation passes.
async fn a_zero_limit_skips_the_first_attempt(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    let clock = WalletClock::new();
    let anchor = anchor(&srv);
    let mut w = own_wallet(Operation::Receive, "1", &kp, &clock);
    assert_eq!(w.next_check_query(), CheckQuery::default());
    assert_eq!(
        w.run(&anchor).await,
        Outcome::Backoff {
            reason: BackoffReason::KycRequired
        }
    );
    assert_eq!(w.last_deny(), Some(clock.now()), "preset by isZeroLimited");
    assert_eq!(w.last_check_status(), Some(404), "never tried, never seen");
    assert_eq!(
        w.action(),
        &Action::CompleteKyc {
            kyc_url: Some(kyc_url(&srv).await),
            kyc_type: Some(super::KYC_TYPE.into()),
        }
    );
    assert_eq!(kyc_check(&srv, &token, &kp.public_key()).await.0, 404);

    // A wallet whose account has passed KYC.
    let (done, _) = super::accepted(&srv).await;
    let mut w = own_wallet(Operation::Receive, "1", &done, &clock);
    assert_eq!(w.run(&anchor).await, Outcome::Progress);
    assert_eq!(w.last_check_status(), Some(200));
    assert_eq!(w.last_deny(), None, "a 200 clears it");
    assert_eq!(w.run(&anchor).await, Outcome::Allowed);
    srv.stop().await;
}

/// Step 1's 451 names the target step 2 checks: for a user of a shared
/// account, given as an `M…` address, the account and its id memo. The
/// wallet checks that user's KYC with a login for the account and memo,
/// the user's record lifts the limit, and the account's other users stay
/// apart.
async fn a_451_names_the_shared_accounts_user(engine: Engine) {
    let srv = gated(engine).await;
    let kp = Keypair::random();
    let clock = WalletClock::new();
    let anchor = anchor(&srv);
    let user = ClientAccount::Muxed {
        account: kp.public_key(),
        id: 7,
    };
    let mut w = KycWait::new(
        Operation::Send,
        Amount::parse("500").unwrap(),
        Asset::parse(super::USDC).unwrap(),
        user,
        None,
        vec![same_key(&kp)],
    )
    .unwrap()
    .with_clock({
        let clock = clock.clone();
        move || clock.now()
    })
    .with_long_poll(super::LONG_POLL);
    assert_eq!(
        w.run(&anchor).await,
        Outcome::Backoff {
            reason: BackoffReason::KycAuth
        }
    );
    assert_eq!(
        w.target(),
        Target {
            account: ClientAccount::Account(kp.public_key()),
            memo: Some(IdMemo::new(7)),
        }
    );
    assert_eq!(w.last_check_status(), Some(409));

    let token = srv.token_for(&kp, Some(7)).await;
    let id = super::open_record(&srv, &token).await;
    super::decide(&srv, &id, "accept").await;
    assert_eq!(w.run(&anchor).await, Outcome::Progress);
    assert_eq!(w.last_check_status(), Some(200));
    assert_eq!(w.run(&anchor).await, Outcome::Allowed);

    // Another user of the same account has done no KYC.
    let other = srv.token_for(&kp, Some(8)).await;
    let path = format!("/kyc-check/{}?memo=8", kp.public_key());
    let (status, _) =
        crate::common::TestServer::send(srv.with_token(reqwest::Method::GET, &path, &other)).await;
    assert_eq!(status, 404);
    srv.stop().await;
}

on_both_engines!(
    a_451_names_the_shared_accounts_user,
    an_allowed_operation_halts,
    a_451_sets_last_deny_and_goes_on_to_kyc_check,
    a_451_for_another_key_copies_bad_kyc_auth,
    another_failure_of_the_operation_backs_off,
    step_1_waits_out_the_retry_interval,
    a_zero_limit_skips_the_first_attempt,
);
