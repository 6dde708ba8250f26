//! Unit tests of DD64's values, limits and steps, driven without an anchor.

use base64::Engine as _;
use serde_json::{Value, json};

use super::limits::from_unix;
use super::machine::Next;
use super::wire::{AccountKycStatus, CheckAnswer, ErrorBody, Login, jwt_expiry};
use super::*;

const USDC: &str = "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";

fn t(secs: u64) -> SystemTime {
    from_unix(secs)
}

fn amount(s: &str) -> Amount {
    Amount::parse(s).unwrap()
}

fn limit(v: Value) -> Limit {
    let mut base = json!({
        "operation_type": "send", "asset": USDC, "threshold": "1000",
        "timeframe_secs": null, "soft_limit": true, "used": "0", "resets_at": null,
    });
    for (k, x) in v.as_object().unwrap() {
        base[k] = x.clone();
    }
    serde_json::from_value(base).unwrap()
}

fn status(v: Value) -> AccountKycStatus {
    let mut base = json!({
        "state": "none", "aml_review": false, "rule_gen": 1,
        "kyc_url": "https://anchor.example/", "type": "sep31-sender", "limits": [],
    });
    for (k, x) in v.as_object().unwrap() {
        base[k] = x.clone();
    }
    serde_json::from_value(base).unwrap()
}

fn error(v: Value) -> ErrorBody {
    serde_json::from_value(v).unwrap()
}

/// A wait for 500 USDC whose clock reads 1000 s, denied at 1000 s.
fn denied_wait(keys: Vec<Keypair>) -> KycWait {
    let account = ClientAccount::Account(keys[0].public_key());
    let mut w = KycWait::new(
        Operation::Send,
        amount("500"),
        Asset::parse(USDC).unwrap(),
        account,
        None,
        keys,
    )
    .unwrap()
    .with_clock(|| from_unix(1000));
    w.last_deny = Some(t(1000));
    w
}

fn done(next: Next) -> Outcome {
    match next {
        Next::Done(o) => o,
        Next::Limits(_) => panic!("expected an outcome, got step 4"),
    }
}

#[test]
fn amounts_are_decimals_with_at_most_seven_places() {
    assert_eq!(amount("500").to_string(), "500");
    assert_eq!(amount("12.50").to_string(), "12.5");
    assert_eq!(amount("0.0000001").to_string(), "0.0000001");
    assert!(amount("0.5") < amount("1"));
    for bad in ["", "1.", ".5", "-1", "+1", "1e3", "1.00000001", "1,5", " 1"] {
        assert!(Amount::parse(bad).is_err(), "{bad:?}");
    }
    // Amounts travel as strings (docs/kyc.md, as in SEP-38).
    let from_text: Amount = serde_json::from_value(json!("1000.25")).unwrap();
    assert_eq!(from_text, amount("1000.25"));
    assert!(serde_json::from_value::<Amount>(json!(1000)).is_err());
    assert_eq!(serde_json::to_value(amount("7.5")).unwrap(), json!("7.5"));
}

#[test]
fn assets_follow_sep38_identifiers() {
    for ok in [USDC, "stellar:native", "iso4217:USD"] {
        assert_eq!(Asset::parse(ok).unwrap().as_str(), ok);
    }
    for bad in [
        "USDC",
        "stellar:USDC",
        "stellar:USDC:GBAD",
        "iso4217:usd",
        "stellar:TOOLONGCODE13:G",
    ] {
        assert_eq!(Asset::parse(bad), Err(KycError::InvalidAsset), "{bad:?}");
    }
    assert_eq!("withdraw".parse(), Ok(Operation::Withdraw));
    assert_eq!("Send".parse::<Operation>(), Err(KycError::InvalidOperation));
}

#[test]
fn backoff_doubles_from_one_second_to_one_day() {
    let mut d = None;
    let mut seen = vec![];
    for _ in 0..20 {
        let next = next_backoff(d);
        seen.push(next.as_secs());
        d = Some(next);
    }
    assert_eq!(&seen[..5], &[1, 2, 4, 8, 16]);
    assert_eq!(seen[16], 65_536);
    assert_eq!(seen[17], 86_400);
    assert_eq!(seen[19], 86_400);
}

#[test]
fn the_first_check_does_not_long_poll_and_later_ones_follow_dd64_step_2() {
    let mut w = denied_wait(vec![Keypair::random()]).with_long_poll(Duration::from_secs(5));
    assert_eq!(w.next_check_query(), CheckQuery::default());
    let poll = |lpt, min_rule| CheckQuery {
        timeout_ms: Some(5000),
        lpt,
        min_rule,
    };

    w.last_check_status = Some(409);
    assert_eq!(w.next_check_query(), poll(Some(1), None));
    w.last_check_status = Some(403);
    assert_eq!(w.next_check_query(), poll(Some(1), None));

    w.last_check_status = Some(404);
    assert_eq!(w.next_check_query(), poll(None, None));
    w.last_bad_kyc_auth = true;
    assert_eq!(w.next_check_query(), poll(Some(1), None));

    w.last_bad_kyc_auth = false;
    w.last_check_status = Some(202);
    w.last_rule_gen = Some(4);
    w.last_aml_review = Some(true);
    assert_eq!(w.next_check_query(), poll(Some(2), Some(4)));
    w.last_aml_review = Some(false);
    assert_eq!(w.next_check_query(), poll(None, Some(4)));
}

#[test]
fn limits_judge_the_amount_per_operation_and_in_windows() {
    let usdc = Asset::parse(USDC).unwrap();
    let judge = |limits: &[&Limit], amt: &str, done| {
        let limits: Vec<Limit> = limits.iter().map(|&l| l.clone()).collect();
        evaluate(&limits, Operation::Send, &usdc, amount(amt), done)
    };
    let soft = limit(json!({"rule_name": "unverified-sends"}));
    let hard = limit(json!({"soft_limit": false, "threshold": "5000"}));
    let window = limit(json!({
        "soft_limit": false, "threshold": "2000", "timeframe_secs": 86400,
        "used": "1800", "resets_at": 5000,
    }));
    let other_asset = limit(json!({"asset": "iso4217:USD", "threshold": "0"}));
    let other_op = limit(json!({"operation_type": "receive", "threshold": "0"}));

    assert_eq!(judge(&[&soft], "1000", false), Verdict::Allowed);
    assert_eq!(
        judge(&[&soft], "1000.0000001", false),
        Verdict::NeedsKyc {
            rule_name: Some("unverified-sends".into())
        }
    );
    assert_eq!(
        judge(&[&soft], "1001", true),
        Verdict::Never {
            rule_name: Some("unverified-sends".into()),
            threshold: amount("1000")
        }
    );
    assert_eq!(
        judge(&[&soft, &hard], "6000", false),
        Verdict::Never {
            rule_name: None,
            threshold: amount("5000")
        },
        "KYC cannot help when a hard limit denies too"
    );
    assert_eq!(judge(&[&window], "200", false), Verdict::Allowed);
    assert_eq!(
        judge(&[&window], "500", false),
        Verdict::Window {
            until: Some(t(5000))
        }
    );
    assert_eq!(
        judge(&[&window], "2500", false),
        Verdict::Never {
            rule_name: None,
            threshold: amount("2000")
        }
    );
    assert_eq!(
        judge(&[&other_asset, &other_op], "1", false),
        Verdict::Allowed
    );

    let later = limit(json!({
        "soft_limit": false, "threshold": "100", "timeframe_secs": 60,
        "used": "100", "resets_at": 7000,
    }));
    assert_eq!(
        judge(&[&window, &later], "50", false),
        Verdict::Window {
            until: Some(t(7000))
        }
    );
    let unknown_reset = limit(json!({
        "soft_limit": false, "threshold": "100", "timeframe_secs": 60, "used": "100",
    }));
    assert_eq!(
        judge(&[&window, &unknown_reset], "50", false),
        Verdict::Window { until: None }
    );
}

#[test]
fn only_a_zero_threshold_for_the_operation_and_asset_is_a_zero_limit() {
    let usdc = Asset::parse(USDC).unwrap();
    let defaults = |limits, enabled| DefaultLimits {
        enabled,
        kyc_type: None,
        kyc_url: None,
        limits,
    };
    let zero = limit(json!({"threshold": "0"}));
    assert!(is_zero_limited(
        &defaults(vec![zero.clone()], true),
        Operation::Send,
        &usdc,
        amount("1")
    ));
    assert!(!is_zero_limited(
        &defaults(vec![zero.clone()], false),
        Operation::Send,
        &usdc,
        amount("1")
    ));
    assert!(!is_zero_limited(
        &defaults(vec![zero], true),
        Operation::Receive,
        &usdc,
        amount("1")
    ));
    assert!(!is_zero_limited(
        &defaults(vec![limit(json!({}))], true),
        Operation::Send,
        &usdc,
        amount("1")
    ));
}

#[test]
fn a_soft_denial_asks_for_kyc_and_backs_off_until_the_answer_changes() {
    let mut w = denied_wait(vec![Keypair::random()]);
    let soft = json!({
        "operation_type": "send", "asset": USDC, "threshold": "1000",
        "timeframe_secs": null, "soft_limit": true, "used": "0", "resets_at": null,
    });
    let denying = || CheckAnswer::Required(status(json!({"limits": [soft.clone()]})));
    // 500 is within 1000: not denied, so DD64 goes on long-polling.
    assert_eq!(done(w.on_answer(denying())), Outcome::Progress);

    w.amount = amount("1500");
    w.last_rule_gen = Some(0);
    let Next::Limits(case) = w.on_answer(denying()) else {
        panic!("step 4 expected")
    };
    let reason = BackoffReason::KycRequired;
    assert_eq!(w.step4(case), Outcome::Backoff { reason });
    assert_eq!(w.backoff_delay(), Duration::from_secs(1));
    assert_eq!(
        w.action(),
        &Action::CompleteKyc {
            kyc_url: Some("https://anchor.example/".parse().unwrap()),
            kyc_type: Some("sep31-sender".into()),
        }
    );
    assert_eq!(
        done(w.on_answer(denying())),
        Outcome::Backoff {
            reason: BackoffReason::Unchanged
        }
    );
    assert_eq!(w.backoff_delay(), Duration::from_secs(2));
    assert_eq!(
        done(w.on_answer(denying())),
        Outcome::Backoff {
            reason: BackoffReason::Unchanged
        }
    );
    assert_eq!(w.backoff_delay(), Duration::from_secs(4));
    assert!(
        matches!(w.action(), Action::CompleteKyc { .. }),
        "the action stays"
    );

    // Under review now: a new answer, so the backoff starts again.
    let review = CheckAnswer::Required(status(json!({"aml_review": true, "rule_gen": 2})));
    assert_eq!(done(w.on_answer(review)), Outcome::Progress);
    assert_eq!(w.last_aml_review(), Some(true));
    assert_eq!(w.action(), &Action::AwaitReview);
    assert_eq!(w.next_check_query().lpt, Some(2));
    assert_eq!(w.next_check_query().min_rule, Some(2));
    let accepted = CheckAnswer::Ok(status(json!({"state": "accepted", "rule_gen": 3})));
    assert_eq!(done(w.on_answer(accepted)), Outcome::Progress);
    assert_eq!(w.last_deny(), None, "200 lets step 1 try at once");
    assert_eq!(w.action(), &Action::None);
}

#[test]
fn a_network_failure_backs_off_and_keeps_rule_gen() {
    let mut w = denied_wait(vec![Keypair::random()]);
    w.last_check_status = Some(202);
    w.last_rule_gen = Some(7);
    let failed = || CheckAnswer::Failed("timed out".into());
    assert_eq!(
        done(w.on_answer(failed())),
        Outcome::Backoff {
            reason: BackoffReason::Unreachable("timed out".into())
        }
    );
    assert_eq!(w.last_check_status(), Some(0));
    assert_eq!(w.last_rule_gen(), Some(7));
    assert_eq!(w.backoff_delay(), Duration::from_secs(1));
    done(w.on_answer(failed()));
    assert_eq!(
        w.backoff_delay(),
        Duration::from_secs(2),
        "the same failure grows the backoff"
    );
}

#[test]
fn a_403_switches_to_the_expected_key_when_the_wallet_holds_it() {
    let signer = Keypair::random();
    let owner = Keypair::random();
    let owner_pub = owner.public_key();
    let mut w = denied_wait(vec![signer, owner]);
    w.account_key = 0;
    let forbidden = |pk: PublicKey| {
        CheckAnswer::Forbidden(error(
            json!({"error": "x", "code": 1930, "expected_account_pub": pk.to_string()}),
        ))
    };
    assert_eq!(done(w.on_answer(forbidden(owner_pub))), Outcome::Progress);
    assert_eq!(w.account_keypair().public_key(), owner_pub);
    assert_eq!(w.last_check_code(), Some(1930));
    assert_eq!(w.next_check_query().lpt, Some(1));

    let stranger = Keypair::random().public_key();
    w.last_check_status = None;
    assert_eq!(
        done(w.on_answer(forbidden(stranger))),
        Outcome::Backoff {
            reason: BackoffReason::WrongKey
        }
    );
    assert_eq!(
        w.action(),
        &Action::ProvideKey {
            account_pub: stranger,
            memo: None
        }
    );
    assert!(w.needs_kyc_auth());
}

#[test]
fn an_unbound_account_is_asked_to_open_its_sep12_record() {
    let mut w = denied_wait(vec![Keypair::random()]);
    let body =
        json!({"error": "x", "code": 1931, "kyc_url": "https://kyc.example/", "type": "basic"});
    assert_eq!(
        done(w.on_answer(CheckAnswer::Unbound(error(body)))),
        Outcome::Backoff {
            reason: BackoffReason::KycAuth
        }
    );
    assert_eq!(
        w.action(),
        &Action::OpenRecord {
            kyc_url: Some("https://kyc.example/".parse().unwrap()),
            kyc_type: Some("basic".into()),
        }
    );
    assert_eq!(w.next_check_query().lpt, Some(1));

    let mut w = denied_wait(vec![Keypair::random()]);
    w.last_bad_kyc_auth = true;
    let unknown = CheckAnswer::Unknown(error(json!({"error": "x", "code": 1, "limits": []})));
    assert_eq!(
        done(w.on_answer(unknown)),
        Outcome::Backoff {
            reason: BackoffReason::KycAuth
        }
    );
    assert!(w.needs_kyc_auth());
}

#[test]
fn an_unknown_account_is_judged_by_the_default_limits() {
    let mut w = denied_wait(vec![Keypair::random()]).with_retry_interval(Duration::from_secs(60));
    let unknown = |limits: Value| {
        CheckAnswer::Unknown(error(json!({"error": "x", "code": 1, "limits": limits})))
    };

    // Nothing exposed denies 500: a hidden rule; try again after the interval.
    let Next::Limits(case) = w.on_answer(unknown(json!([]))) else {
        panic!("step 4 expected")
    };
    assert_eq!(w.step4(case), Outcome::AgainAt(t(1060)));
    assert!(!w.may_attempt(t(1059)));
    assert!(w.may_attempt(t(1060)));

    // The same 404 again is no news: DD64 backs off before reading it.
    assert_eq!(
        done(w.on_answer(unknown(json!([])))),
        Outcome::Backoff {
            reason: BackoffReason::Unchanged
        }
    );

    // A full window: again when it frees up, and step 1 may try then.
    w.last_check_status = None;
    let window = json!([{
        "operation_type": "send", "asset": USDC, "threshold": "600", "timeframe_secs": 3600,
        "soft_limit": false, "used": "200", "resets_at": 1030,
    }]);
    let Next::Limits(case) = w.on_answer(unknown(window)) else {
        panic!("step 4 expected")
    };
    assert_eq!(w.step4(case), Outcome::AgainAt(t(1030)));
    assert_eq!(w.action(), &Action::WaitUntil(t(1030)));
    assert!(w.may_attempt(t(1030)));

    // A hard limit below the amount: never.
    w.last_check_status = None;
    let hard = json!([{
        "operation_type": "send", "asset": USDC, "threshold": "100", "timeframe_secs": null,
        "soft_limit": false, "used": "0", "resets_at": null, "rule_name": "cap",
    }]);
    let Next::Limits(case) = w.on_answer(unknown(hard)) else {
        panic!("step 4 expected")
    };
    assert_eq!(
        w.step4(case),
        Outcome::Backoff {
            reason: BackoffReason::HardLimit
        }
    );
    assert_eq!(
        w.action(),
        &Action::Impossible {
            rule_name: Some("cap".into()),
            threshold: amount("100")
        }
    );
}

#[test]
fn kyc_disabled_clears_the_denial() {
    let mut w = denied_wait(vec![Keypair::random()]);
    assert_eq!(done(w.on_answer(CheckAnswer::Disabled)), Outcome::Progress);
    assert_eq!(w.last_deny(), None);
    assert!(w.may_attempt(t(1000)));
}

#[test]
fn a_memo_on_a_muxed_account_or_no_key_is_refused() {
    let key = Keypair::random();
    let muxed = ClientAccount::Muxed {
        account: key.public_key(),
        id: 5,
    };
    let new = |account, memo, keys| {
        KycWait::new(
            Operation::Send,
            amount("1"),
            Asset::parse(USDC).unwrap(),
            account,
            memo,
            keys,
        )
        .map(|_| ())
    };
    assert_eq!(
        new(muxed, Some(IdMemo::new(5)), vec![key]),
        Err(KycError::MemoOnMuxed)
    );
    assert_eq!(new(muxed, None, vec![]), Err(KycError::NoKeypair));
}

#[test]
fn the_check_login_is_account_keypairs_account_for_the_targets_user() {
    let owner = Keypair::random();
    let signer = Keypair::random();
    let owner_pub = owner.public_key();
    let account = ClientAccount::Muxed {
        account: owner_pub,
        id: 9,
    };
    let w = KycWait::new(
        Operation::Send,
        amount("1"),
        Asset::parse(USDC).unwrap(),
        account,
        None,
        vec![signer, owner],
    )
    .unwrap();
    assert_eq!(
        w.account_keypair().public_key(),
        owner_pub,
        "the account's own key first"
    );
    assert_eq!(w.login_for(Login::Check).0, account);
    assert_eq!(w.operation_signer(), owner_pub);

    let w = KycWait::new(
        Operation::Send,
        amount("1"),
        Asset::parse(USDC).unwrap(),
        ClientAccount::Account(owner_pub),
        Some(IdMemo::new(3)),
        vec![Keypair::random()],
    )
    .unwrap();
    assert_ne!(w.operation_signer(), owner_pub);
    let (who, memo, _) = w.login_for(Login::Check);
    assert_eq!(
        who,
        ClientAccount::Account(w.account_keypair().public_key())
    );
    assert_eq!(memo, Some(IdMemo::new(3)));
}

#[test]
fn a_jwt_expiry_is_read_from_its_payload() {
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let token = format!(
        "{}.{}.sig",
        b64(json!({"alg": "EdDSA"})),
        b64(json!({"exp": 1234, "sub": "G"}))
    );
    assert_eq!(jwt_expiry(&token), Some(t(1234)));
    assert_eq!(jwt_expiry("not a jwt"), None);
}
