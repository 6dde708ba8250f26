//! 403: a signature that is not the attester's, expired or too long-lived;
//! an attester whose own KYC is not accepted, is itself inherited, or has
//! attested as many accounts as allowed.

use base64::Engine as _;
use mooring_server::clock::Clock as _;
use mooring_stellar::attest::{self, FuzzyDate};
use mooring_stellar::{Keypair, Network};
use serde_json::json;

use crate::common::kyc::{accepted, attest_ok, customer, post, reject, signed, soon, standing};
use crate::common::{Engine, TestServer, assert_error};

const NOT_THE_ATTESTERS: &str = "attester_sig is not the attester's signature of this attestation";
const NOT_ACCEPTED: &str =
    "the attester's own KYC is not accepted (an inherited KYC cannot be passed on)";
const TOO_MANY: &str = "the attester has attested as many accounts as allowed";

async fn a_signature_that_is_not_the_attesters_is_refused(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", None).await;
    let target = customer(&srv, "Kid", None).await;
    let other = customer(&srv, "Other", None).await;
    let expires = soon(&srv);
    let good = signed(
        &srv,
        &attester.kp,
        &target.key(),
        Some("2010-05-14"),
        expires,
    );
    let t = target.address();
    let sig_of = |network: &Network, signer: &Keypair, target: &Keypair, birthday, expires| {
        let date = FuzzyDate::parse(birthday);
        let m = attest::message(
            network,
            &attester.key(),
            &target.public_key(),
            date.as_ref(),
            expires,
        );
        base64::engine::general_purpose::STANDARD.encode(signer.sign(&m))
    };
    let with = |field: &str, value: serde_json::Value| {
        let mut b = good.clone();
        b[field] = value;
        b
    };
    for (why, body) in [
        (
            "signed by another key",
            with(
                "attester_sig",
                json!(sig_of(
                    &srv.network,
                    &Keypair::random(),
                    &target.kp,
                    "2010-05-14",
                    expires
                )),
            ),
        ),
        (
            "signed for another target",
            with(
                "attester_sig",
                json!(sig_of(
                    &srv.network,
                    &attester.kp,
                    &other.kp,
                    "2010-05-14",
                    expires
                )),
            ),
        ),
        (
            "signed on another network",
            with(
                "attester_sig",
                json!(sig_of(
                    &Network::public(),
                    &attester.kp,
                    &target.kp,
                    "2010-05-14",
                    expires
                )),
            ),
        ),
        ("another birthday", with("birthday", json!("2010-05-15"))),
        (
            "another fuzzy birthday",
            with("birthday", json!("2010-05-00")),
        ),
        ("no birthday", {
            let mut b = good.clone();
            b.as_object_mut().unwrap().remove("birthday");
            b
        }),
        ("another expiry", with("expires", json!(expires - 1))),
        (
            "random bytes",
            with(
                "attester_sig",
                json!(base64::engine::general_purpose::STANDARD.encode([7u8; 64])),
            ),
        ),
        (
            "another attester named",
            with("attester_pub", json!(other.address())),
        ),
    ] {
        let got = post(&srv, &t, &body).await;
        assert_eq!(got.0, 403, "{why}: {}", got.1);
        assert_eq!(got.1, json!({ "error": NOT_THE_ATTESTERS }), "{why}");
    }
    // The same signature posted for the account it was not made for.
    assert_error(
        post(&srv, &other.address(), &good).await,
        403,
        NOT_THE_ATTESTERS,
    );
    // The signature is checked before the keys are looked up: an unknown
    // attester with a bad signature is 403, not 404.
    let stranger = Keypair::random();
    let mut body = signed(&srv, &stranger, &target.key(), None, expires);
    body["expires"] = json!(expires + 1);
    assert_error(post(&srv, &t, &body).await, 403, NOT_THE_ATTESTERS);
    // Nothing was inherited; the good one still works.
    assert_eq!(standing(&srv, &target).await.0, "pending");
    assert_eq!(post(&srv, &t, &good).await.0, 200);
    srv.stop().await;
}

async fn an_expired_attestation_is_refused(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", None).await;
    let target = customer(&srv, "Kid", None).await;
    let t = target.address();
    let now = srv.clock.now();
    for expires in [now, now - 1, 0] {
        assert_error(
            post(
                &srv,
                &t,
                &signed(&srv, &attester.kp, &target.key(), None, expires),
            )
            .await,
            403,
            "the attestation has expired",
        );
    }
    // Valid when signed, expired when it arrives.
    let body = signed(&srv, &attester.kp, &target.key(), None, now + 600);
    srv.clock.advance(600);
    assert_error(
        post(&srv, &t, &body).await,
        403,
        "the attestation has expired",
    );
    assert_eq!(standing(&srv, &target).await.0, "pending");
    // A second before it expires it is good.
    srv.clock.set(now + 599);
    assert_eq!(post(&srv, &t, &body).await.0, 200);
    srv.stop().await;
}

async fn an_attestation_expiring_too_far_ahead_is_refused(engine: Engine) {
    const TOO_FAR: &str = "the attestation expires too far ahead; sign one that expires sooner";
    // The default lifetime: a day.
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", None).await;
    let target = customer(&srv, "Kid", None).await;
    let now = srv.clock.now();
    for expires in [now + 86_401, now + 10 * 86_400, u64::MAX] {
        let body = signed(&srv, &attester.kp, &target.key(), None, expires);
        assert_error(post(&srv, &target.address(), &body).await, 403, TOO_FAR);
    }
    assert_eq!(standing(&srv, &target).await.0, "pending");
    let body = signed(&srv, &attester.kp, &target.key(), None, now + 86_400);
    assert_eq!(post(&srv, &target.address(), &body).await.0, 200);
    srv.stop().await;

    // A configured one.
    let srv = TestServer::start_with(engine, |c| c.limits.attestation_max_lifetime_secs = 60).await;
    let attester = accepted(&srv, "Ann", None).await;
    let target = customer(&srv, "Kid", None).await;
    let now = srv.clock.now();
    let body = signed(&srv, &attester.kp, &target.key(), None, now + 61);
    assert_error(post(&srv, &target.address(), &body).await, 403, TOO_FAR);
    let body = signed(&srv, &attester.kp, &target.key(), None, now + 60);
    assert_eq!(post(&srv, &target.address(), &body).await.0, 200);
    srv.stop().await;
}

async fn an_attester_not_accepted_cannot_attest(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let target = customer(&srv, "Kid", None).await;
    // Under review.
    let pending = customer(&srv, "Pat", None).await;
    // Rejected.
    let rejected = customer(&srv, "Rex", None).await;
    reject(&srv, &rejected.id).await;
    // A record that still needs information.
    let kp = Keypair::random();
    let token = srv.token_for(&kp, None).await;
    let (status, _) =
        crate::common::customer::put_json(&srv, &token, json!({"first_name": "Ned"})).await;
    assert_eq!(status, 202);
    for (who, key) in [
        ("pending", &pending.kp),
        ("rejected", &rejected.kp),
        ("needs info", &kp),
    ] {
        let body = signed(&srv, key, &target.key(), None, soon(&srv));
        let got = post(&srv, &target.address(), &body).await;
        assert_eq!(got.0, 403, "{who}: {}", got.1);
        assert_eq!(got.1, json!({ "error": NOT_ACCEPTED }), "{who}");
    }
    assert_eq!(standing(&srv, &target).await.0, "pending");
    srv.stop().await;
}

async fn an_inherited_account_cannot_pass_its_kyc_on(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", None).await;
    let child = customer(&srv, "Kid", None).await;
    let grandchild = customer(&srv, "Grand", None).await;
    attest_ok(&srv, &attester, &child, None).await;
    assert_eq!(standing(&srv, &child).await.0, "inherited");
    let body = signed(&srv, &child.kp, &grandchild.key(), None, soon(&srv));
    assert_error(
        post(&srv, &grandchild.address(), &body).await,
        403,
        NOT_ACCEPTED,
    );
    assert_eq!(standing(&srv, &grandchild).await.0, "pending");
    srv.stop().await;
}

async fn an_attester_at_its_maximum_cannot_attest_more(engine: Engine) {
    let srv = TestServer::start_with(engine, |c| c.limits.maximum_attestations = 1).await;
    let attester = accepted(&srv, "Ann", None).await;
    let first = customer(&srv, "One", None).await;
    let second = customer(&srv, "Two", None).await;
    attest_ok(&srv, &attester, &first, None).await;
    let body = signed(&srv, &attester.kp, &second.key(), None, soon(&srv));
    assert_error(post(&srv, &second.address(), &body).await, 403, TOO_MANY);
    assert_eq!(standing(&srv, &second).await.0, "pending");
    // Attesting the first again is not one more.
    attest_ok(&srv, &attester, &first, Some("2001-01-01")).await;
    // Once staff revoke the first, there is room for the second.
    let (status, got) = TestServer::send(srv.admin(
        reqwest::Method::DELETE,
        &format!("/admin/attestations/{}", first.address()),
    ))
    .await;
    assert_eq!((status, &got), (200, &json!({"revoked": true})));
    assert_eq!(post(&srv, &second.address(), &body).await.0, 200);
    assert_eq!(standing(&srv, &second).await.0, "inherited");
    srv.stop().await;
}

async fn attestation_can_be_turned_off(engine: Engine) {
    let srv = TestServer::start_with(engine, |c| c.limits.maximum_attestations = 0).await;
    let attester = accepted(&srv, "Ann", None).await;
    let target = customer(&srv, "Kid", None).await;
    let body = signed(&srv, &attester.kp, &target.key(), None, soon(&srv));
    assert_error(
        post(&srv, &target.address(), &body).await,
        403,
        "attestation is turned off at this anchor",
    );
    srv.stop().await;
}

/// docs/kyc.md: the 403s about the attester (its maximum included) come
/// before the 409s about the target.
async fn the_attestation_maximum_is_checked_before_the_conflicts(engine: Engine) {
    let srv = TestServer::start_with(engine, |c| c.limits.maximum_attestations = 1).await;
    let attester = accepted(&srv, "Ann", Some("1990-07-14")).await;
    let first = customer(&srv, "One", None).await;
    attest_ok(&srv, &attester, &first, None).await;
    // A target accepted on its own.
    let own = accepted(&srv, "Own", None).await;
    // A target inheriting from someone else.
    let other = accepted(&srv, "Other", None).await;
    let taken = customer(&srv, "Taken", None).await;
    attest_ok(&srv, &other, &taken, None).await;
    // A target whose birthday is earlier than the attester's.
    let older = customer(&srv, "Older", None).await;
    let mut wrong = Vec::new();
    for (why, target, birthday) in [
        ("birthday earlier", &older, Some("1980-01-01")),
        ("target accepted", &own, None),
        ("target inherits", &taken, None),
    ] {
        let body = signed(&srv, &attester.kp, &target.key(), birthday, soon(&srv));
        let got = post(&srv, &target.address(), &body).await;
        if got != (403, json!({ "error": TOO_MANY })) {
            wrong.push(format!("{why}: {} {}", got.0, got.1));
        }
    }
    assert!(wrong.is_empty(), "403 ({TOO_MANY}) expected: {wrong:#?}");
    srv.stop().await;
}

/// Attestations arriving together cannot get past the maximum (a few
/// rounds, as a race shows only now and then).
async fn concurrent_attestations_respect_the_maximum(engine: Engine) {
    let srv = TestServer::start_with(engine, |c| c.limits.maximum_attestations = 1).await;
    for round in 0..5 {
        let attester = accepted(&srv, "Ann", None).await;
        let mut requests = Vec::new();
        for i in 0..6 {
            let target = customer(&srv, &format!("Kid{i}"), None).await;
            let body = signed(&srv, &attester.kp, &target.key(), None, soon(&srv));
            requests.push((target.address(), body));
        }
        let answers =
            futures::future::join_all(requests.iter().map(|(t, body)| post(&srv, t, body))).await;
        let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "round {round}: one attestation with maximum_attestations = 1: {statuses:?}"
        );
        for (status, body) in answers.iter().filter(|a| a.0 != 200) {
            assert_eq!((*status, body), (403, &json!({ "error": TOO_MANY })));
        }
        let (status, account) = TestServer::send(srv.admin(
            reqwest::Method::GET,
            &format!("/admin/limits/{}", attester.address()),
        ))
        .await;
        assert_eq!(status, 200, "{account}");
        assert_eq!(
            account["attested"].as_array().unwrap().len(),
            1,
            "{account}"
        );
    }
    srv.stop().await;
}

crate::on_both_engines!(
    a_signature_that_is_not_the_attesters_is_refused,
    an_expired_attestation_is_refused,
    an_attestation_expiring_too_far_ahead_is_refused,
    an_attester_not_accepted_cannot_attest,
    an_inherited_account_cannot_pass_its_kyc_on,
    an_attester_at_its_maximum_cannot_attest_more,
    attestation_can_be_turned_off,
    the_attestation_maximum_is_checked_before_the_conflicts,
    concurrent_attestations_respect_the_maximum,
);
