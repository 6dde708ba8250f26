//! Who signed, checked against the account on the ledger: the server's
//! signature, the client's signers and thresholds (a multisig account
//! authenticates when they suffice), the client domain's key, and Horizon's
//! answers.

use crate::common::sep10::{signed, start_with_wallet};
use crate::common::{Engine, HorizonStub, StubAccount, TestServer, assert_error};
use mooring_stellar::{Keypair, envelope};

async fn multisig_account_meeting_medium_threshold_authenticates(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (master, cosigner) = (Keypair::random(), Keypair::random());
    srv.horizon.set_account(
        &master.public_key(),
        StubAccount {
            signers: vec![(master.public_key(), 1), (cosigner.public_key(), 1)],
            thresholds: (1, 2, 2),
        },
    );
    let xdr = srv.challenge_for(&master.public_key().to_string()).await;
    let (status, body) = srv
        .post_token(&signed(&srv, &xdr, &[&master, &cosigner]))
        .await;
    assert_eq!(status, 200, "{body}");
    // A co-signer alone can authenticate the account if its weight suffices.
    srv.horizon.set_account(
        &master.public_key(),
        StubAccount {
            signers: vec![(master.public_key(), 0), (cosigner.public_key(), 5)],
            thresholds: (1, 5, 5),
        },
    );
    let xdr = srv.challenge_for(&master.public_key().to_string()).await;
    assert_eq!(
        srv.post_token(&signed(&srv, &xdr, &[&cosigner])).await.0,
        200
    );
    srv.stop().await;
}

async fn wrong_server_signature(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let xdr = srv.challenge_for(&kp.public_key().to_string()).await;
    let env = envelope::decode(&xdr).unwrap();
    let (tx, _) = envelope::transaction(&env).unwrap();
    let mut sigs = vec![];
    envelope::sign(&tx, &srv.network, &Keypair::random(), &mut sigs);
    envelope::sign(&tx, &srv.network, &kp, &mut sigs);
    let forged = envelope::encode(&envelope::envelope(tx, sigs));
    assert_error(
        srv.post_token(&forged).await,
        400,
        "transaction is not signed by this server's SIGNING_KEY",
    );
    srv.stop().await;
}

async fn no_client_signature(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let xdr = srv.challenge_for(&kp.public_key().to_string()).await;
    assert_error(
        srv.post_token(&xdr).await,
        400,
        "transaction is not signed by the client account's master key (the account does not exist on the network, so only its master key can sign)",
    );
    // An existing account whose signers did not sign.
    srv.horizon.set_master_key_only(&kp.public_key());
    let xdr = srv.challenge_for(&kp.public_key().to_string()).await;
    assert_error(
        srv.post_token(&xdr).await,
        400,
        "transaction is not signed by any signer of the client account",
    );
    srv.stop().await;
}

async fn extra_signature_on_nonexistent_account(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let xdr = srv.challenge_for(&kp.public_key().to_string()).await;
    assert_error(
        srv.post_token(&signed(&srv, &xdr, &[&kp, &Keypair::random()]))
            .await,
        400,
        "the client account does not exist on the network, so only its master key may sign: found 3 signatures where 2 are expected",
    );
    srv.stop().await;
}

async fn signatures_below_medium_threshold_on_multisig_account(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (master, cosigner) = (Keypair::random(), Keypair::random());
    srv.horizon.set_account(
        &master.public_key(),
        StubAccount {
            // The server being a signer must not lend its weight (§Verification).
            signers: vec![
                (master.public_key(), 1),
                (cosigner.public_key(), 1),
                (srv.signing.public_key(), 10),
            ],
            thresholds: (1, 2, 3),
        },
    );
    let xdr = srv.challenge_for(&master.public_key().to_string()).await;
    assert_error(
        srv.post_token(&signed(&srv, &xdr, &[&master])).await,
        400,
        "client signatures carry weight 1, below the account's medium threshold of 2",
    );
    srv.stop().await;
}

async fn missing_client_domain_signature(engine: Engine) {
    let (srv, _, domain) = start_with_wallet(engine, |_| {}).await;
    let kp = Keypair::random();
    let (status, body) = srv
        .get_challenge(&[
            ("account", &kp.public_key().to_string()),
            ("client_domain", &domain),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    let read = envelope::decode(body["transaction"].as_str().unwrap()).unwrap();
    let (tx, _) = envelope::transaction(&read).unwrap();
    assert_eq!(tx.operations.len(), 3, "client_domain operation added");
    let xdr = signed(&srv, body["transaction"].as_str().unwrap(), &[&kp]);
    assert_error(
        srv.post_token(&xdr).await,
        400,
        "transaction is not signed by the client domain's SIGNING_KEY",
    );
    srv.stop().await;
}

async fn unreachable_horizon(engine: Engine) {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let srv = TestServer::start_with(engine, move |c| {
        c.stellar.horizon_url = Some(url::Url::parse(&format!("http://{closed}")).unwrap());
    })
    .await;
    let kp = Keypair::random();
    let xdr = srv.signed_challenge(&kp).await;
    let msg =
        "the Stellar network could not be reached to check the account's signers; try again later";
    assert_error(srv.post_token(&xdr).await, 503, msg);
    srv.stop().await;

    // Horizon answering 500 is no better: still no token.
    let srv = TestServer::start(engine).await;
    srv.horizon.fail_with(Some(500));
    let xdr = srv.signed_challenge(&kp).await;
    assert_error(srv.post_token(&xdr).await, 503, msg);
    // So is a 404 that is not Horizon's "not found" (a proxy, a wrong path):
    // the account must not be taken for an unfunded one.
    srv.horizon.fail_with(Some(404));
    assert_error(srv.post_token(&xdr).await, 503, msg);
    // The failed attempts did not burn the challenge.
    srv.horizon.fail_with(None);
    assert_eq!(srv.post_token(&xdr).await.0, 200);
    srv.stop().await;
}

async fn unfunded_account_refused_when_configured(engine: Engine) {
    let srv = TestServer::start_with(engine, |c| c.sep10.allow_unfunded_accounts = false).await;
    let kp = Keypair::random();
    let xdr = srv.signed_challenge(&kp).await;
    assert_error(
        srv.post_token(&xdr).await,
        400,
        "the client account does not exist on the network; fund it before authenticating",
    );
    srv.stop().await;
}

async fn horizon_of_another_network_is_refused_at_start(engine: Engine) {
    let horizon = HorizonStub::start().await;
    horizon.serve_network("Public Global Stellar Network ; September 2015");
    let err = TestServer::try_build(engine, &horizon)
        .await
        .err()
        .expect("start refused");
    assert!(
        err.contains("stellar.horizon_url serves the network"),
        "{err}"
    );
}

crate::on_both_engines!(
    multisig_account_meeting_medium_threshold_authenticates,
    missing_client_domain_signature,
    horizon_of_another_network_is_refused_at_start,
    wrong_server_signature,
    no_client_signature,
    extra_signature_on_nonexistent_account,
    signatures_below_medium_threshold_on_multisig_account,
    unreachable_horizon,
    unfunded_account_refused_when_configured,
);
