//! `DELETE /admin/attestations/{target}`: staff end an inheritance; the
//! copy is deleted, the target's polls see a new rule_gen, the act is
//! audited.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::kyc::{
    accepted, attest_ok, audit_actions, customer, inherited_rows, post, signed, soon, standing,
};
use crate::common::{Engine, TestServer, assert_error};

async fn revoke(srv: &TestServer, target: &str) -> (u16, Value) {
    TestServer::send(
        srv.admin(Method::DELETE, &format!("/admin/attestations/{target}"))
            .header("x-mooring-actor", "jo@anchor"),
    )
    .await
}

async fn staff_revoke_an_attestation_and_it_is_audited(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", None).await;
    let target = customer(&srv, "Kid", None).await;
    let bystander = customer(&srv, "Sib", None).await;
    attest_ok(&srv, &attester, &target, Some("2010-05-14")).await;
    attest_ok(&srv, &attester, &bystander, None).await;
    let (state, rule_gen) = standing(&srv, &target).await;
    assert_eq!(state, "inherited");

    let (status, got) = revoke(&srv, &target.address()).await;
    assert_eq!((status, got), (200, json!({"revoked": true})));
    let (state, after) = standing(&srv, &target).await;
    assert_eq!(state, "pending");
    assert!(after > rule_gen, "{rule_gen} then {after}");
    // Only the target's copy is gone; the other attested account keeps its own.
    let rows = inherited_rows(&srv).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, bystander.id);
    assert_eq!(standing(&srv, &bystander).await.0, "inherited");
    assert_eq!(standing(&srv, &attester).await.0, "accepted");

    let audit = audit_actions(&srv).await;
    let entry = audit
        .iter()
        .find(|(action, _, _)| action == "kyc.inheritance_revoked")
        .unwrap_or_else(|| panic!("kyc.inheritance_revoked in {audit:?}"));
    assert_eq!(entry.1, "admin:jo@anchor");
    assert!(entry.2.contains(&target.address()), "{entry:?}");

    // Again: nothing to revoke, nothing audited.
    let (status, got) = revoke(&srv, &target.address()).await;
    assert_eq!((status, got), (200, json!({"revoked": false})));
    assert_eq!(standing(&srv, &target).await, ("pending".to_owned(), after));
    let count = |a: &[(String, String, String)]| {
        a.iter()
            .filter(|e| e.0 == "kyc.inheritance_revoked")
            .count()
    };
    assert_eq!(count(&audit_actions(&srv).await), 1);
    // An account that never inherited, or is unknown: nothing.
    let (status, got) = revoke(&srv, &attester.address()).await;
    assert_eq!((status, got), (200, json!({"revoked": false})));
    let nobody = mooring_stellar::Keypair::random().public_key().to_string();
    let (status, got) = revoke(&srv, &nobody).await;
    assert_eq!((status, got), (200, json!({"revoked": false})));
    // The revoked attester may not attest the target again (a replay of
    // its signed request must not undo staff's decision); another may.
    let body = signed(&srv, &attester.kp, &target.key(), None, soon(&srv));
    let (status, body) = post(&srv, &target.address(), &body).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(standing(&srv, &target).await.0, "pending");
    let other = accepted(&srv, "Bob", None).await;
    attest_ok(&srv, &other, &target, None).await;
    assert_eq!(standing(&srv, &target).await.0, "inherited");
    srv.stop().await;
}

async fn revocation_is_for_staff_only(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", None).await;
    let target = customer(&srv, "Kid", None).await;
    attest_ok(&srv, &attester, &target, None).await;
    let path = format!("/admin/attestations/{}", target.address());
    // Without the admin token, with a SEP-10 token, or on the public listener.
    let url = format!("{}{}", srv.admin.as_str().trim_end_matches('/'), path);
    assert_eq!(TestServer::send(srv.http.delete(&url)).await.0, 401);
    assert_eq!(
        TestServer::send(srv.http.delete(&url).bearer_auth(&attester.token))
            .await
            .0,
        401
    );
    assert_eq!(
        TestServer::send(
            srv.http
                .delete(srv.url(&path))
                .bearer_auth(crate::common::ADMIN_TOKEN)
        )
        .await
        .0,
        404
    );
    assert_eq!(standing(&srv, &target).await.0, "inherited");
    // A bad address.
    for bad in ["GABC", "x"] {
        assert_error(
            revoke(&srv, bad).await,
            400,
            "target must be a G… or M… address, memo an unsigned 64-bit id",
        );
    }
    srv.stop().await;
}

crate::on_both_engines!(
    staff_revoke_an_attestation_and_it_is_audited,
    revocation_is_for_staff_only,
);
