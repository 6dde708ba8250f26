//! 400: a malformed body, signature, birthday or address, and an account
//! attesting itself; each with its exact message.

use mooring_stellar::Keypair;
use serde_json::{Value, json};

use crate::common::kyc::{accepted, customer, post, signed, soon};
use crate::common::{Engine, TestServer, assert_error};

const BAD_BODY: &str =
    "body must be JSON: {\"attester_pub\", \"attester_sig\", \"expires\", \"birthday\"?}";
const BAD_BIRTHDAY: &str = "birthday must be YYYY-MM-DD, YYYY-MM-00 or YYYY-00-00";
const BAD_TARGET: &str = "the target must be a G… address";

/// `POST /kyc-attest/{target}` with a raw JSON text.
async fn post_text(srv: &TestServer, target: &str, text: &str) -> (u16, Value) {
    TestServer::send(
        srv.http
            .post(srv.url(&format!("/kyc-attest/{target}")))
            .header("content-type", "application/json")
            .body(text.to_owned()),
    )
    .await
}

async fn a_malformed_body_is_refused(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", None).await;
    let target = customer(&srv, "Kid", None).await;
    let good = signed(&srv, &attester.kp, &target.key(), None, soon(&srv));
    let t = target.address();

    for text in ["", "{", "[]", "null", "\"x\""] {
        assert_error(post_text(&srv, &t, text).await, 400, BAD_BODY);
    }
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = good.clone();
        f(&mut b);
        b
    };
    for body in [
        json!({}),
        with(&|b| {
            b.as_object_mut().unwrap().remove("attester_pub");
        }),
        with(&|b| {
            b.as_object_mut().unwrap().remove("attester_sig");
        }),
        with(&|b| {
            b.as_object_mut().unwrap().remove("expires");
        }),
        with(&|b| b["expires"] = json!("1800000000")),
        with(&|b| b["expires"] = json!(-1)),
        with(&|b| b["expires"] = json!(1.5)),
        with(&|b| b["birthday"] = json!(20100514)),
        with(&|b| b["attester_sig"] = json!(null)),
        with(&|b| b["memo"] = json!("1")),
    ] {
        assert_error(post(&srv, &t, &body).await, 400, BAD_BODY);
    }
    // The key and the signature.
    let seed = Keypair::random().secret_seed().to_string();
    for key in ["", "GABC", seed.as_str()] {
        assert_error(
            post(&srv, &t, &with(&|b| b["attester_pub"] = json!(key))).await,
            400,
            "attester_pub must be a G… address",
        );
    }
    for sig in [
        "",
        "%%%%",
        "AAAA",
        // 66 bytes.
        &"A".repeat(88),
        // Unpadded.
        good["attester_sig"].as_str().unwrap().trim_end_matches('='),
    ] {
        assert_error(
            post(&srv, &t, &with(&|b| b["attester_sig"] = json!(sig))).await,
            400,
            "attester_sig must be 64 bytes in base64",
        );
    }
    // Not JSON at all.
    let (status, _) = TestServer::send(
        srv.http
            .post(srv.url(&format!("/kyc-attest/{t}")))
            .form(&[("attester_pub", attester.address())]),
    )
    .await;
    assert_eq!(status, 415);
    // Nothing was inherited.
    assert_eq!(
        crate::common::kyc::standing(&srv, &target).await.0,
        "pending"
    );
    srv.stop().await;
}

async fn a_bad_birthday_is_refused(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", None).await;
    let target = customer(&srv, "Kid", None).await;
    let mut body = signed(&srv, &attester.kp, &target.key(), None, soon(&srv));
    for bad in [
        "1990-00-14",
        "1990-13-01",
        "1990-02-30",
        "2001-02-29",
        "1990-7-14",
        "90-07-14",
        "1990/07/14",
        "1990-07-14T00:00:00Z",
        "1990-07-14 ",
        "",
    ] {
        body["birthday"] = json!(bad);
        assert_error(
            post(&srv, &target.address(), &body).await,
            400,
            BAD_BIRTHDAY,
        );
    }
    srv.stop().await;
}

async fn a_bad_target_address_is_refused(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", None).await;
    let target = customer(&srv, "Kid", None).await;
    let body = signed(&srv, &attester.kp, &target.key(), None, soon(&srv));
    let g = target.address();
    let muxed = crate::common::muxed_account(target.key(), 7).to_string();
    let seed = target.kp.secret_seed().to_string();
    let mut lower = g.clone();
    lower.make_ascii_lowercase();
    let mut wrong_checksum = g.clone();
    wrong_checksum.replace_range(55.., if g.ends_with('A') { "B" } else { "A" });
    for bad in [
        "x",
        "GABC",
        lower.as_str(),
        wrong_checksum.as_str(),
        muxed.as_str(),
        seed.as_str(),
    ] {
        assert_error(post(&srv, bad, &body).await, 400, BAD_TARGET);
    }
    srv.stop().await;
}

async fn an_account_cannot_attest_itself(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let attester = accepted(&srv, "Ann", None).await;
    let body = signed(&srv, &attester.kp, &attester.key(), None, soon(&srv));
    assert_error(
        post(&srv, &attester.address(), &body).await,
        400,
        "an account cannot attest itself",
    );
    assert_eq!(
        crate::common::kyc::standing(&srv, &attester).await.0,
        "accepted"
    );
    srv.stop().await;
}

crate::on_both_engines!(
    a_malformed_body_is_refused,
    a_bad_birthday_is_refused,
    a_bad_target_address_is_refused,
    an_account_cannot_attest_itself,
);
