//! Refused token requests (`POST /auth`): one named test per way a
//! submitted challenge can be wrong, each asserting the exact status and error.

use crate::common::sep10::{assert_refused, data_op, server_challenge, set_op, signed, tampered};
use crate::common::{Engine, TestServer, assert_error};
use mooring_server::clock::Clock as _;
use mooring_stellar::xdr::{SequenceNumber, TransactionEnvelope, VecM};
use mooring_stellar::{Keypair, Network, envelope, sep10};
use serde_json::json;

async fn replica_refuses_a_challenge_used_on_another(engine: Engine) {
    let a = TestServer::start(engine).await;
    let b = a.replica().await;
    let kp = Keypair::random();
    let xdr = a.signed_challenge(&kp).await;
    assert_eq!(a.post_token(&xdr).await.0, 200);
    assert_error(
        b.post_token(&xdr).await,
        400,
        "challenge has already been used; request a new one",
    );
    b.stop().await;
    a.stop().await;
}

async fn expired_challenge(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let xdr = server_challenge(&srv, &kp, srv.clock.now() - 1000, 900, &srv.network);
    assert_refused(&srv, &xdr, &kp, "challenge has expired; request a new one").await;
    srv.stop().await;
}

async fn challenge_not_yet_valid(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let xdr = server_challenge(&srv, &kp, srv.clock.now() + 600, 900, &srv.network);
    assert_refused(
        &srv,
        &xdr,
        &kp,
        "challenge is not valid yet: its time bounds start in the future",
    )
    .await;
    srv.stop().await;
}

async fn wrong_home_domain(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let xdr = tampered(&srv, &kp, |tx| {
        set_op(
            tx,
            0,
            data_op(
                kp.public_key().to_muxed_account(),
                "evil.example auth",
                &[b'A'; 64],
            ),
        );
    })
    .await;
    assert_refused(
        &srv,
        &xdr,
        &kp,
        "first operation's key is not '<home domain> auth' for a home domain this server serves",
    )
    .await;
    srv.stop().await;
}

async fn wrong_web_auth_domain(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let server = srv.signing.public_key().to_muxed_account();
    let xdr = tampered(&srv, &kp, |tx| {
        set_op(
            tx,
            1,
            data_op(server, "web_auth_domain", b"auth.evil.example"),
        );
    })
    .await;
    assert_refused(
        &srv,
        &xdr,
        &kp,
        "web_auth_domain operation does not name this server's domain",
    )
    .await;
    srv.stop().await;
}

async fn non_zero_sequence(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let xdr = tampered(&srv, &kp, |tx| tx.seq_num = SequenceNumber(1)).await;
    assert_refused(&srv, &xdr, &kp, "transaction sequence number must be 0").await;
    srv.stop().await;
}

async fn extra_operation_with_foreign_source(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let stranger = Keypair::random().public_key().to_muxed_account();
    let xdr = tampered(&srv, &kp, |tx| {
        set_op(tx, 2, data_op(stranger, "extra", b"x"));
    })
    .await;
    assert_refused(
        &srv,
        &xdr,
        &kp,
        "operation 2 has a source account that is not this server's SIGNING_KEY",
    )
    .await;
    srv.stop().await;
}

async fn replayed_challenge(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let xdr = srv.signed_challenge(&kp).await;
    assert_eq!(srv.post_token(&xdr).await.0, 200);
    assert_error(
        srv.post_token(&xdr).await,
        400,
        "challenge has already been used; request a new one",
    );
    // Signing it again (a different envelope, the same challenge) does not help.
    let again = srv.signed_challenge(&kp).await;
    assert_eq!(srv.post_token(&again).await.0, 200);
    let resigned = sep10::sign_challenge(&again, &srv.network, &[]).unwrap();
    assert_error(
        srv.post_token(&resigned).await,
        400,
        "challenge has already been used; request a new one",
    );
    srv.stop().await;
}

async fn tampered_nonce(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    // Changing the nonce breaks the server's signature.
    let xdr = srv.challenge_for(&kp.public_key().to_string()).await;
    let mut env = envelope::decode(&xdr).unwrap();
    let TransactionEnvelope::Tx(v1) = &mut env else {
        panic!()
    };
    set_op(
        &mut v1.tx,
        0,
        data_op(
            kp.public_key().to_muxed_account(),
            &format!("{} auth", srv.home_domain),
            &[b'B'; 64],
        ),
    );
    let changed = signed(&srv, &envelope::encode(&env), &[&kp]);
    assert_error(
        srv.post_token(&changed).await,
        400,
        "transaction is not signed by this server's SIGNING_KEY",
    );
    // A nonce of the wrong form is refused even when the server signed it.
    let malformed = tampered(&srv, &kp, |tx| {
        set_op(
            tx,
            0,
            data_op(
                kp.public_key().to_muxed_account(),
                &format!("{} auth", srv.home_domain),
                b"short",
            ),
        );
    })
    .await;
    assert_refused(
        &srv,
        &malformed,
        &kp,
        "first operation's value must be 48 random bytes encoded as 64 base64 characters",
    )
    .await;
    srv.stop().await;
}

async fn malformed_base64_or_xdr(engine: Engine) {
    let srv = TestServer::start(engine).await;
    assert_error(
        srv.post_token("this is not base64!").await,
        400,
        "transaction is not valid base64",
    );
    assert_error(
        srv.post_token("AAAAAgAAAAA=").await,
        400,
        "transaction is not a valid XDR TransactionEnvelope",
    );
    assert_error(
        srv.post_token("").await,
        400,
        "transaction is not a valid XDR TransactionEnvelope",
    );
    srv.stop().await;
}

async fn fee_bump_envelope(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let xdr = srv.signed_challenge(&kp).await;
    let TransactionEnvelope::Tx(inner) = envelope::decode(&xdr).unwrap() else {
        panic!()
    };
    let bump = TransactionEnvelope::TxFeeBump(mooring_stellar::xdr::FeeBumpTransactionEnvelope {
        tx: mooring_stellar::xdr::FeeBumpTransaction {
            fee_source: kp.public_key().to_muxed_account(),
            fee: 400,
            inner_tx: mooring_stellar::xdr::FeeBumpTransactionInnerTx::Tx(inner),
            ext: mooring_stellar::xdr::FeeBumpTransactionExt::V0,
        },
        signatures: VecM::default(),
    });
    assert_error(
        srv.post_token(&envelope::encode(&bump)).await,
        400,
        "transaction is a fee-bump envelope; a plain transaction envelope is required",
    );
    srv.stop().await;
}

async fn challenge_for_another_network(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let public = Network::public();
    let xdr = server_challenge(&srv, &kp, srv.clock.now(), 900, &public);
    let xdr = sep10::sign_challenge(&xdr, &public, &[&kp]).unwrap();
    assert_error(
        srv.post_token(&xdr).await,
        400,
        "transaction is signed for another network (Public Global Stellar Network ; September 2015); this server uses Test SDF Network ; September 2015",
    );
    srv.stop().await;
}

async fn token_request_body_errors_are_json(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let post = |ct: Option<&'static str>, body: &'static str| {
        let mut req = srv.http.post(srv.url("/auth")).body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            assert_eq!(res.headers()["content-type"], "application/json");
            (status, res.json::<serde_json::Value>().await.unwrap())
        }
    };
    let wrong_type = "Content-Type must be application/json or application/x-www-form-urlencoded";
    assert_error(
        post(Some("text/plain"), "transaction=x").await,
        400,
        wrong_type,
    );
    assert_error(post(None, "{}").await, 400, wrong_type);
    assert_error(
        post(Some("application/json"), "{not json").await,
        400,
        "request body is not valid JSON",
    );
    assert_error(
        post(Some("application/json"), r#"{"tx": "x"}"#).await,
        400,
        "request body must be a JSON object with a string field `transaction`",
    );
    assert_error(
        post(Some("application/json"), r#"{"transaction": 5}"#).await,
        400,
        "request body must be a JSON object with a string field `transaction`",
    );
    assert_error(
        post(Some("application/x-www-form-urlencoded"), "nothing=here").await,
        400,
        "form body must have a `transaction` field",
    );
    let big = "x".repeat(70 * 1024);
    let res = srv
        .http
        .post(srv.url("/auth"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap(),
        json!({"error": "request body is too large: the limit is 65536 bytes"})
    );
    srv.stop().await;
}

crate::on_both_engines!(
    replica_refuses_a_challenge_used_on_another,
    expired_challenge,
    challenge_not_yet_valid,
    wrong_home_domain,
    wrong_web_auth_domain,
    non_zero_sequence,
    extra_operation_with_foreign_source,
    replayed_challenge,
    tampered_nonce,
    malformed_base64_or_xdr,
    fee_bump_envelope,
    challenge_for_another_network,
    token_request_body_errors_are_json,
);
