//! 404: the attester or the target has no SEP-12 record; the body names
//! the unknown account.

use mooring_stellar::Keypair;
use serde_json::json;

use crate::common::kyc::{Party, accepted, customer, post, signed, soon, standing};
use crate::common::{Engine, TestServer};

const UNKNOWN: &str = "the account has no KYC record here";

async fn an_unknown_attester_is_named(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let target = customer(&srv, "Kid", None).await;
    // Never seen, and seen only through a login: neither has a record.
    let stranger = Keypair::random();
    let logged_in = Keypair::random();
    srv.token_for(&logged_in, None).await;
    for kp in [&stranger, &logged_in] {
        let body = signed(&srv, kp, &target.key(), None, soon(&srv));
        let (status, got) = post(&srv, &target.address(), &body).await;
        assert_eq!(status, 404, "{got}");
        assert_eq!(
            got,
            json!({"error": UNKNOWN, "account": kp.public_key().to_string()})
        );
    }
    // Unknown attester and unknown target: the attester is named.
    let nobody = Keypair::random().public_key();
    let body = signed(&srv, &stranger, &nobody, None, soon(&srv));
    let (status, got) = post(&srv, &nobody.to_string(), &body).await;
    assert_eq!(status, 404, "{got}");
    assert_eq!(got["account"], stranger.public_key().to_string());
    assert_eq!(standing(&srv, &target).await.0, "pending");
    srv.stop().await;
}

async fn an_unknown_target_is_named(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", None).await;
    let nobody = Keypair::random();
    let body = signed(&srv, &attester.kp, &nobody.public_key(), None, soon(&srv));
    let (status, got) = post(&srv, &nobody.public_key().to_string(), &body).await;
    assert_eq!(status, 404, "{got}");
    assert_eq!(
        got,
        json!({"error": UNKNOWN, "account": nobody.public_key().to_string()})
    );
    // A record erased is unknown again.
    let target = customer(&srv, "Kid", None).await;
    let path = format!("/customer/{}", target.address());
    let (status, _) =
        TestServer::send(srv.with_token(reqwest::Method::DELETE, &path, &target.token)).await;
    assert_eq!(status, 200);
    let body = signed(&srv, &attester.kp, &target.key(), None, soon(&srv));
    let (status, got) = post(&srv, &target.address(), &body).await;
    assert_eq!(status, 404, "{got}");
    assert_eq!(got["account"], target.address());
    // Nothing was made for the unknown target: /kyc-check still knows nothing.
    let token = srv.token_for(&nobody, None).await;
    let unknown = Party {
        kp: nobody,
        token,
        id: String::new(),
    };
    let (status, got) = crate::common::kyc::check(&srv, &unknown, "").await;
    assert_eq!(status, 404, "{got}");
    srv.stop().await;
}

crate::on_both_engines!(an_unknown_attester_is_named, an_unknown_target_is_named);
