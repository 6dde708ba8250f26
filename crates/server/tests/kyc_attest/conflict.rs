//! 409: a birthday earlier than the attester's, a target accepted on its
//! own, a target that inherits from another attester.

use serde_json::json;

use crate::common::kyc::{accepted, attest_ok, customer, post, signed, soon, standing};
use crate::common::{Engine, TestServer, assert_error};

async fn a_birthday_earlier_than_the_attesters_is_refused(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", Some("1990-07-14")).await;
    // Earlier, however fuzzy ("YYYY-MM-00" counts as the first of the
    // month, "YYYY-00-00" as the first of January).
    for birthday in [
        "1990-07-13",
        "1989-12-31",
        "1990-07-00",
        "1990-00-00",
        "1900-01-01",
    ] {
        let target = customer(&srv, "Kid", None).await;
        let body = signed(
            &srv,
            &attester.kp,
            &target.key(),
            Some(birthday),
            soon(&srv),
        );
        let got = post(&srv, &target.address(), &body).await;
        assert_eq!(got.0, 409, "{birthday}: {}", got.1);
        assert_eq!(
            got.1,
            json!({"error": "the birthday is earlier than the attester's"}),
            "{birthday}"
        );
        assert_eq!(standing(&srv, &target).await.0, "pending", "{birthday}");
    }
    // The same day, or later, is fine.
    for birthday in ["1990-07-14", "1990-07-15", "1990-08-00", "1991-00-00"] {
        let target = customer(&srv, "Kid", None).await;
        let got = attest_ok(&srv, &attester, &target, Some(birthday)).await;
        assert_eq!(got["birthday"], birthday);
    }
    srv.stop().await;
}

async fn a_target_accepted_on_its_own_needs_no_attestation(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", None).await;
    let target = accepted(&srv, "Kid", None).await;
    let body = signed(&srv, &attester.kp, &target.key(), None, soon(&srv));
    assert_error(
        post(&srv, &target.address(), &body).await,
        409,
        "the target's own KYC is accepted already",
    );
    assert_eq!(standing(&srv, &target).await.0, "accepted");
    assert!(crate::common::kyc::inherited_rows(&srv).await.is_empty());
    srv.stop().await;
}

async fn a_target_inheriting_from_another_attester_is_refused(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let first = accepted(&srv, "Ann", None).await;
    let second = accepted(&srv, "Bea", None).await;
    let target = customer(&srv, "Kid", None).await;
    attest_ok(&srv, &first, &target, None).await;
    let rule_gen = standing(&srv, &target).await.1;
    let body = signed(&srv, &second.kp, &target.key(), None, soon(&srv));
    assert_error(
        post(&srv, &target.address(), &body).await,
        409,
        "the target inherits KYC from another account",
    );
    assert_eq!(
        standing(&srv, &target).await,
        ("inherited".to_owned(), rule_gen)
    );
    let rows = crate::common::kyc::inherited_rows(&srv).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, first.id, "still the first attester's copy");
    // Once the first inheritance is revoked, the second attester may.
    let (status, _) = TestServer::send(srv.admin(
        reqwest::Method::DELETE,
        &format!("/admin/attestations/{}", target.address()),
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(post(&srv, &target.address(), &body).await.0, 200);
    let rows = crate::common::kyc::inherited_rows(&srv).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, second.id);
    assert_eq!(standing(&srv, &target).await.0, "inherited");
    srv.stop().await;
}

/// Two attesters at once for one target: one inherits, the other is told
/// the target inherits from another account; the copy and the standing
/// name the same attester (a few rounds, as a race shows only now and then).
async fn concurrent_attesters_of_one_target_are_one_winner(engine: Engine) {
    let srv = TestServer::start(engine).await;
    for round in 0..5 {
        let first = accepted(&srv, "Ann", None).await;
        let second = accepted(&srv, "Bea", None).await;
        let target = customer(&srv, "Kid", None).await;
        let a = signed(&srv, &first.kp, &target.key(), None, soon(&srv));
        let b = signed(&srv, &second.kp, &target.key(), None, soon(&srv));
        let t = target.address();
        let (ra, rb) = tokio::join!(post(&srv, &t, &a), post(&srv, &t, &b));
        let mut statuses = [ra.0, rb.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "round {round}: {ra:?} {rb:?}");
        let loser = if ra.0 == 409 { &ra.1 } else { &rb.1 };
        assert_eq!(
            loser,
            &json!({"error": "the target inherits KYC from another account"})
        );
        let winner = if ra.0 == 200 { &first } else { &second };
        let rows = crate::common::kyc::inherited_rows(&srv).await;
        let copy = rows.iter().find(|r| r.0 == target.id).expect("a copy");
        assert_eq!(copy.1, winner.id);
        let (status, account) =
            TestServer::send(srv.admin(reqwest::Method::GET, &format!("/admin/limits/{t}"))).await;
        assert_eq!(status, 200, "{account}");
        assert_eq!(account["inherited_from"], winner.address());
    }
    srv.stop().await;
}

crate::on_both_engines!(
    a_birthday_earlier_than_the_attesters_is_refused,
    a_target_accepted_on_its_own_needs_no_attestation,
    a_target_inheriting_from_another_attester_is_refused,
    concurrent_attesters_of_one_target_are_one_winner,
);
