//! 200: the target inherits the attester's KYC, `/kyc-check` says so, and
//! the same attestation again changes nothing.

use serde_json::json;

use crate::common::kyc::{
    self, accepted, attest_ok, audit_actions, check, customer, inherited_rows, post, signed, soon,
    standing,
};
use crate::common::{Engine, TestServer};

async fn an_accepted_account_lends_its_kyc(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", Some("1980-03-04")).await;
    let target = customer(&srv, "Kid", None).await;
    // Before: the target's own record is under review.
    let (status, before) = check(&srv, &target, "").await;
    assert_eq!(status, 202, "{before}");
    assert_eq!(before["state"], "pending");

    let got = attest_ok(&srv, &attester, &target, Some("2010-05-00")).await;
    assert_eq!(
        got,
        json!({
            "target": target.address(),
            "attester": attester.address(),
            "state": "inherited",
            "birthday": "2010-05-00",
        })
    );
    let (status, after) = check(&srv, &target, "").await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["state"], "inherited");
    assert_eq!(after["aml_review"], false);
    assert_eq!(after["type"], kyc::KYC_TYPE);
    assert!(
        after["rule_gen"].as_u64().unwrap() > before["rule_gen"].as_u64().unwrap(),
        "{before} then {after}"
    );
    // The attester keeps its own standing.
    assert_eq!(standing(&srv, &attester).await.0, "accepted");

    // The copy is the target's, sealed: no attribute in the clear.
    let rows = inherited_rows(&srv).await;
    assert_eq!(rows.len(), 1);
    assert_eq!((&rows[0].0, &rows[0].1), (&target.id, &attester.id));
    let sealed = String::from_utf8_lossy(&rows[0].2);
    for plain in ["Ann", "ann@example.com", "1980-03-04", "2010-05-00"] {
        assert!(!sealed.contains(plain), "{plain} in the clear");
    }
    // Staff see it, decrypted, on the target's record (an audited read).
    let (status, detail) = TestServer::send(srv.admin(
        reqwest::Method::GET,
        &format!("/admin/customers/{}", target.id),
    ))
    .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["inherited"]["attester_id"], attester.id.as_str());
    assert_eq!(detail["inherited"]["fields"]["first_name"], "Ann");
    assert_eq!(detail["inherited"]["fields"]["birth_date"], "2010-05-00");
    assert_eq!(detail["fields"]["first_name"]["value"], "Kid");

    // Audited as the attester's act, without personal data.
    let audit = audit_actions(&srv).await;
    let entry = audit
        .iter()
        .find(|(action, _, _)| action == "kyc.attest")
        .unwrap_or_else(|| panic!("kyc.attest in {audit:?}"));
    assert_eq!(entry.1, format!("account:{}", attester.address()));
    assert!(entry.2.contains(&target.address()), "{entry:?}");
    srv.stop().await;
}

async fn a_target_with_an_incomplete_record_inherits_without_a_birthday(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", None).await;
    // A record that still needs information (state none).
    let kp = mooring_stellar::Keypair::random();
    let token = srv.token_for(&kp, None).await;
    let (status, got) =
        crate::common::customer::put_json(&srv, &token, json!({"first_name": "Bo"})).await;
    assert_eq!(status, 202, "{got}");
    let target = kyc::Party {
        kp,
        token,
        id: got["id"].as_str().unwrap().to_owned(),
    };
    assert_eq!(standing(&srv, &target).await.0, "none");

    let got = attest_ok(&srv, &attester, &target, None).await;
    assert_eq!(
        got,
        json!({"target": target.address(), "attester": attester.address(), "state": "inherited"})
    );
    let (status, after) = check(&srv, &target, "").await;
    assert_eq!((status, after["state"].as_str()), (200, Some("inherited")));
    srv.stop().await;
}

async fn the_same_attestation_again_changes_nothing(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", Some("1980-03-04")).await;
    let target = customer(&srv, "Kid", None).await;
    let body = signed(
        &srv,
        &attester.kp,
        &target.key(),
        Some("2010-05-14"),
        soon(&srv),
    );
    let (status, first) = post(&srv, &target.address(), &body).await;
    assert_eq!(status, 200, "{first}");
    let (state, rule_gen) = standing(&srv, &target).await;
    assert_eq!(state, "inherited");
    let sealed = inherited_rows(&srv).await;
    let attests = |a: &[(String, String, String)]| a.iter().filter(|e| e.0 == "kyc.attest").count();
    let audited = attests(&audit_actions(&srv).await);

    // The very same request.
    let (status, again) = post(&srv, &target.address(), &body).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again, first);
    assert_eq!(
        standing(&srv, &target).await,
        ("inherited".to_owned(), rule_gen)
    );
    // The same attestation signed again with another expiry.
    srv.clock.advance(5);
    let resigned = signed(
        &srv,
        &attester.kp,
        &target.key(),
        Some("2010-05-14"),
        soon(&srv),
    );
    let (status, again) = post(&srv, &target.address(), &resigned).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again, first);
    assert_eq!(
        standing(&srv, &target).await,
        ("inherited".to_owned(), rule_gen),
        "rule_gen unchanged"
    );
    assert_eq!(inherited_rows(&srv).await, sealed, "nothing rewritten");
    assert_eq!(
        attests(&audit_actions(&srv).await),
        audited,
        "nothing audited"
    );

    // Another birthday from the same attester updates it.
    let other = signed(
        &srv,
        &attester.kp,
        &target.key(),
        Some("2011-00-00"),
        soon(&srv),
    );
    let (status, updated) = post(&srv, &target.address(), &other).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["birthday"], "2011-00-00");
    let (state, _) = standing(&srv, &target).await;
    assert_eq!(state, "inherited");
    let rows = inherited_rows(&srv).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, attester.id);
    assert_ne!(rows[0].2, sealed[0].2, "the copy was rewritten");
    srv.stop().await;
}

crate::on_both_engines!(
    an_accepted_account_lends_its_kyc,
    a_target_with_an_incomplete_record_inherits_without_a_birthday,
    the_same_attestation_again_changes_nothing,
);
