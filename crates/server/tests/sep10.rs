//! SEP-10 over real HTTP, on SQLite and PostgreSQL: the happy paths, then
//! one named test per way a challenge can be wrong, each asserting the exact
//! status and error.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{Engine, StubAccount, TestServer, assert_error, claims, serve};
use mooring_client::sep10::LoginOptions;
use mooring_server::clock::Clock as _;
use mooring_stellar::sep10::{self, ChallengeRequest, NONCE_LEN};
use mooring_stellar::xdr::{
    DataValue, ManageDataOp, Memo, Operation, OperationBody, SequenceNumber, String64, Transaction,
    TransactionEnvelope, VecM,
};
use mooring_stellar::{ClientAccount, IdMemo, Keypair, Network, envelope};
use serde_json::json;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A challenge for `client` built and signed by the server's own key, as
/// the server would, but at a chosen time and network.
fn server_challenge(
    srv: &TestServer,
    client: &Keypair,
    at: u64,
    ttl: u64,
    network: &Network,
) -> String {
    let req = ChallengeRequest {
        account: ClientAccount::Account(client.public_key()),
        memo: None,
        home_domain: &srv.home_domain,
        web_auth_domain: "127.0.0.1",
        client_domain: None,
    };
    let env =
        sep10::build_challenge(&srv.signing, network, &req, at, ttl, &[9; NONCE_LEN]).unwrap();
    envelope::encode(&env)
}

/// A genuine challenge from the server, changed by `f` and signed again by
/// the server, so that the change is the only thing wrong with it.
async fn tampered(srv: &TestServer, client: &Keypair, f: impl FnOnce(&mut Transaction)) -> String {
    let xdr = srv.challenge_for(&client.public_key().to_string()).await;
    let env = envelope::decode(&xdr).unwrap();
    let (mut tx, _) = envelope::transaction(&env).unwrap();
    f(&mut tx);
    let mut sigs = vec![];
    envelope::sign(&tx, &srv.network, &srv.signing, &mut sigs);
    envelope::encode(&envelope::envelope(tx, sigs))
}

fn signed(srv: &TestServer, xdr: &str, by: &[&Keypair]) -> String {
    sep10::sign_challenge(xdr, &srv.network, by).unwrap()
}

/// Replaces operation `i` of `tx`, or appends when `i` is its length.
fn set_op(tx: &mut Transaction, i: usize, op: Operation) {
    let mut ops = tx.operations.to_vec();
    if i == ops.len() {
        ops.push(op);
    } else {
        ops[i] = op;
    }
    tx.operations = ops.try_into().unwrap();
}

/// Signs `xdr` as `client`, submits it, and expects a 400 with `message`.
async fn assert_refused(srv: &TestServer, xdr: &str, client: &Keypair, message: &str) {
    assert_error(
        srv.post_token(&signed(srv, xdr, &[client])).await,
        400,
        message,
    );
}

fn data_op(source: mooring_stellar::xdr::MuxedAccount, key: &str, value: &[u8]) -> Operation {
    Operation {
        source_account: Some(source),
        body: OperationBody::ManageData(ManageDataOp {
            data_name: String64::try_from(key.as_bytes().to_vec()).unwrap(),
            data_value: Some(DataValue::try_from(value.to_vec()).unwrap()),
        }),
    }
}

// ---------------------------------------------------------------- success

async fn login_issues_a_jwt_with_the_spec_claims(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (kp, token) = srv.login().await;
    let c = claims(&token);
    assert_eq!(c["iss"], srv.url("/auth"));
    assert_eq!(c["sub"], kp.public_key().to_string());
    assert_eq!(c["home_domain"], srv.home_domain);
    assert_eq!(
        c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
        86_400
    );
    let jti = c["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 64);
    assert!(jti.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(c.get("client_domain").is_none());
    srv.stop().await;
}

async fn challenge_has_the_spec_shape_and_network_passphrase(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let res = srv
        .http
        .get(srv.url("/auth"))
        .query(&[("account", kp.public_key().to_string())])
        .header("origin", "https://wallet.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["network_passphrase"],
        "Test SDF Network ; September 2015"
    );
    let env = envelope::decode(body["transaction"].as_str().unwrap()).unwrap();
    let TransactionEnvelope::Tx(v1) = &env else {
        panic!("v1 envelope expected")
    };
    assert_eq!(v1.tx.seq_num.0, 0);
    assert_eq!(v1.tx.operations.len(), 2);
    assert_eq!(v1.signatures.len(), 1);
    let mooring_stellar::xdr::Preconditions::Time(tb) = &v1.tx.cond else {
        panic!("time bounds")
    };
    assert_eq!(tb.max_time.0 - tb.min_time.0, 900);
    assert!(tb.min_time.0.abs_diff(now()) <= 5);
    srv.stop().await;
}

async fn login_with_memo_puts_it_in_sub(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let opts = LoginOptions {
        memo: Some(IdMemo::new(1234567)),
        ..Default::default()
    };
    let token = srv
        .wallet()
        .login(&ClientAccount::Account(kp.public_key()), &[&kp], &opts)
        .await
        .unwrap();
    assert_eq!(
        claims(&token)["sub"],
        format!("{}:1234567", kp.public_key())
    );
    srv.stop().await;
}

async fn login_with_muxed_account_puts_it_in_sub(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let muxed = ClientAccount::Muxed {
        account: kp.public_key(),
        id: 77,
    };
    let token = srv
        .wallet()
        .login(&muxed, &[&kp], &LoginOptions::default())
        .await
        .unwrap();
    let sub = claims(&token)["sub"].as_str().unwrap().to_owned();
    assert!(sub.starts_with('M'), "{sub}");
    assert_eq!(sub, muxed.to_string());
    srv.stop().await;
}

async fn form_encoded_token_request_is_accepted(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let xdr = srv.signed_challenge(&kp).await;
    let res = srv
        .http
        .post(srv.url("/auth"))
        .form(&[("transaction", xdr.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["token"].as_str().unwrap().split('.').count() == 3);
    srv.stop().await;
}

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

async fn second_home_domain_can_be_chosen(engine: Engine) {
    let srv = TestServer::start_with(engine, |c| {
        c.sep10.home_domains = vec!["localhost:1".into(), "anchor.example.com".into()];
    })
    .await;
    let kp = Keypair::random();
    let (status, body) = srv
        .get_challenge(&[
            ("account", &kp.public_key().to_string()),
            ("home_domain", "anchor.example.com"),
        ])
        .await;
    assert_eq!(status, 200);
    let xdr = signed(&srv, body["transaction"].as_str().unwrap(), &[&kp]);
    let (status, body) = srv.post_token(&xdr).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["token"].as_str().unwrap())["home_domain"],
        "anchor.example.com"
    );
    assert_error(
        srv.get_challenge(&[
            ("account", &kp.public_key().to_string()),
            ("home_domain", "evil.example"),
        ])
        .await,
        400,
        "home_domain is not served here; use one of: localhost:1, anchor.example.com",
    );
    srv.stop().await;
}

/// A wallet's stellar.toml served on loopback (allowed for development).
async fn wallet_domain(signing_key: &str) -> String {
    let toml = format!("SIGNING_KEY = \"{signing_key}\"\n");
    let app = axum::Router::new().route(
        "/.well-known/stellar.toml",
        axum::routing::get(move || async move { toml }),
    );
    let url = serve(app).await;
    format!("127.0.0.1:{}", url.port().unwrap())
}

async fn client_domain_is_verified_and_claimed(engine: Engine) {
    let wallet = Keypair::random();
    let domain = wallet_domain(&wallet.public_key().to_string()).await;
    let d = domain.clone();
    let srv = TestServer::start_with(engine, move |c| {
        c.sep10.client_domain.allow_http_hosts = vec![d]
    })
    .await;
    let kp = Keypair::random();
    let opts = LoginOptions {
        client_domain: Some((&domain, &wallet)),
        ..Default::default()
    };
    let token = srv
        .wallet()
        .login(&ClientAccount::Account(kp.public_key()), &[&kp], &opts)
        .await
        .unwrap();
    assert_eq!(claims(&token)["client_domain"], domain);
    srv.stop().await;
}

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

// ---------------------------------------------------------------- refusals

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
    srv.horizon.set_account(
        &kp.public_key(),
        StubAccount {
            signers: vec![(kp.public_key(), 1)],
            thresholds: (0, 0, 0),
        },
    );
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

async fn invalid_account_parameter(engine: Engine) {
    let srv = TestServer::start(engine).await;
    for bad in [
        "GBAD",
        "SBGWSG6BTNCKCOB3DIFBGCVMUPQFYPA2G4O34RMTB343OYPXU5DJDVMN",
        "alice*example.com",
    ] {
        assert_error(
            srv.get_challenge(&[("account", bad)]).await,
            400,
            "account: not a valid Stellar account: expected a G… or M… address",
        );
    }
    assert_error(srv.get_challenge(&[]).await, 400, "account is required");
    srv.stop().await;
}

async fn muxed_account_with_memo(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let muxed = ClientAccount::Muxed {
        account: Keypair::random().public_key(),
        id: 5,
    };
    assert_error(
        srv.get_challenge(&[("account", &muxed.to_string()), ("memo", "5")])
            .await,
        400,
        "a memo cannot be combined with a muxed (M…) account; use one or the other",
    );
    srv.stop().await;
}

async fn non_id_memo(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    for bad in ["hello", "-1", "18446744073709551616", "0x10"] {
        assert_error(
            srv.get_challenge(&[("account", &kp.public_key().to_string()), ("memo", bad)])
                .await,
            400,
            "memo: memo must be an id memo: a decimal integer from 0 to 18446744073709551615 without leading zeros",
        );
    }
    // And in a submitted challenge.
    let xdr = tampered(&srv, &kp, |tx| {
        tx.memo = Memo::Text("hello".try_into().unwrap())
    })
    .await;
    assert_refused(&srv, &xdr, &kp, "only id memos are allowed").await;
    srv.stop().await;
}

async fn missing_client_domain_signature(engine: Engine) {
    let wallet = Keypair::random();
    let domain = wallet_domain(&wallet.public_key().to_string()).await;
    let d = domain.clone();
    let srv = TestServer::start_with(engine, move |c| {
        c.sep10.client_domain.allow_http_hosts = vec![d]
    })
    .await;
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

async fn client_domain_that_cannot_be_fetched(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let account = kp.public_key().to_string();
    // Not on the development list: only https to public addresses is tried,
    // so a loopback address is refused without a request.
    let local = wallet_domain(&Keypair::random().public_key().to_string()).await;
    assert_error(
        srv.get_challenge(&[("account", &account), ("client_domain", &local)])
            .await,
        400,
        &format!(
            "could not fetch the stellar.toml of client_domain '{local}': it is not a public address"
        ),
    );
    assert_error(
        srv.get_challenge(&[
            ("account", &account),
            ("client_domain", "https://wallet.example"),
        ])
        .await,
        400,
        "client_domain must be a domain name (host or host:port, at most 64 characters)",
    );
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
        json!({"error": "request body is too large"})
    );
    srv.stop().await;
}

/// An EdDSA JWT for `GET /auth`'s Authorization header (SEP-10 v3.4.0).
fn request_jwt(signer: &Keypair, claims: serde_json::Value) -> String {
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    let der = ed25519_dalek::SigningKey::from_bytes(&signer.seed_bytes())
        .to_pkcs8_der()
        .unwrap();
    let key = jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes());
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA),
        &claims,
        &key,
    )
    .unwrap()
}

async fn get_with_auth(
    srv: &TestServer,
    query: &[(&str, &str)],
    auth: Option<String>,
) -> (u16, serde_json::Value) {
    let mut req = srv.http.get(srv.url("/auth")).query(query);
    if let Some(a) = auth {
        req = req.header("authorization", format!("Bearer {a}"));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

async fn challenge_request_authorization_when_required(engine: Engine) {
    let wallet = Keypair::random();
    let domain = wallet_domain(&wallet.public_key().to_string()).await;
    let d = domain.clone();
    let srv = TestServer::start_with(engine, move |c| {
        c.sep10.client_domain.allow_http_hosts = vec![d];
        c.sep10.challenge_auth.required = true;
    })
    .await;
    let kp = Keypair::random();
    let account = kp.public_key().to_string();
    let endpoint = srv.url("/auth");
    let t = srv.clock.now();
    let q = [("account", account.as_str()), ("memo", "7")];

    assert_error(
        get_with_auth(&srv, &q, None).await,
        401,
        "Missing authorization header",
    );
    // Signed by the account's key, claims repeating the request.
    let good = json!({"iat": t, "exp": t + 300, "web_auth_endpoint": endpoint, "account": account, "memo": "7"});
    assert_eq!(
        get_with_auth(&srv, &q, Some(request_jwt(&kp, good.clone())))
            .await
            .0,
        200
    );
    assert_error(
        get_with_auth(&srv, &q, Some(request_jwt(&kp, json!({"iat": t - 600, "exp": t - 300, "web_auth_endpoint": endpoint, "account": account, "memo": "7"})))).await,
        400,
        "Provided authorization JWT has been expired",
    );
    assert_error(
        get_with_auth(
            &srv,
            &q,
            Some(request_jwt(&Keypair::random(), good.clone())),
        )
        .await,
        400,
        "Provided authorization JWT is not valid: it must be an EdDSA JWT with iat, exp and web_auth_endpoint, signed by the client domain's SIGNING_KEY or else the account's key",
    );
    assert_error(
        get_with_auth(&srv, &q, Some(request_jwt(&kp, json!({"iat": t, "exp": t + 300, "web_auth_endpoint": endpoint, "account": account, "memo": "8"})))).await,
        400,
        "Provided authorization JWT is not valid: its claims do not match the request's parameters",
    );
    assert_error(
        get_with_auth(&srv, &q, Some(request_jwt(&kp, json!({"iat": t, "exp": t + 300, "web_auth_endpoint": "https://evil/auth", "account": account, "memo": "7"})))).await,
        400,
        "Provided authorization JWT is not valid: web_auth_endpoint does not match this endpoint",
    );
    // With a client domain, the domain's key signs.
    let q = [
        ("account", account.as_str()),
        ("client_domain", domain.as_str()),
    ];
    let claims = json!({"iat": t, "exp": t + 300, "web_auth_endpoint": endpoint, "account": account, "client_domain": domain});
    assert_eq!(
        get_with_auth(&srv, &q, Some(request_jwt(&wallet, claims.clone())))
            .await
            .0,
        200
    );
    assert_eq!(
        get_with_auth(&srv, &q, Some(request_jwt(&kp, claims)))
            .await
            .0,
        400
    );
    srv.stop().await;
}

async fn challenge_request_from_an_application_not_allowed(engine: Engine) {
    let wallet = Keypair::random();
    let domain = wallet_domain(&wallet.public_key().to_string()).await;
    let d = domain.clone();
    let srv = TestServer::start_with(engine, move |c| {
        c.sep10.client_domain.allow_http_hosts = vec![d];
        c.sep10.challenge_auth.required = true;
        c.sep10.challenge_auth.allowed_client_domains = vec!["approved-wallet.example".into()];
    })
    .await;
    let kp = Keypair::random();
    let account = kp.public_key().to_string();
    let t = srv.clock.now();
    let q = [
        ("account", account.as_str()),
        ("client_domain", domain.as_str()),
    ];
    let claims = json!({"iat": t, "exp": t + 300, "web_auth_endpoint": srv.url("/auth"), "account": account, "client_domain": domain});
    assert_error(
        get_with_auth(&srv, &q, Some(request_jwt(&wallet, claims))).await,
        403,
        &format!("Application {domain} is not allowed to authenticate."),
    );
    srv.stop().await;
}

async fn horizon_of_another_network_is_refused_at_start(engine: Engine) {
    let horizon = common::HorizonStub::start().await;
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

async fn the_servers_own_key_cannot_authenticate(engine: Engine) {
    let srv = TestServer::start(engine).await;
    assert_error(
        srv.get_challenge(&[("account", &srv.signing.public_key().to_string())])
            .await,
        400,
        "account: this server's own signing key cannot authenticate",
    );
    // Even with a challenge the server built for itself, a copy of its own
    // signature does not stand in for the master key's.
    let xdr = server_challenge(&srv, &srv.signing, srv.clock.now(), 900, &srv.network);
    let env = envelope::decode(&xdr).unwrap();
    let (tx, sigs) = envelope::transaction(&env).unwrap();
    let copied = envelope::encode(&envelope::envelope(
        tx,
        vec![sigs[0].clone(), sigs[0].clone()],
    ));
    assert_error(
        srv.post_token(&copied).await,
        400,
        "transaction carries the same signature more than once",
    );
    srv.stop().await;
}

on_both_engines!(
    horizon_of_another_network_is_refused_at_start,
    the_servers_own_key_cannot_authenticate,
    challenge_request_authorization_when_required,
    challenge_request_from_an_application_not_allowed,
    login_issues_a_jwt_with_the_spec_claims,
    challenge_has_the_spec_shape_and_network_passphrase,
    login_with_memo_puts_it_in_sub,
    login_with_muxed_account_puts_it_in_sub,
    form_encoded_token_request_is_accepted,
    multisig_account_meeting_medium_threshold_authenticates,
    second_home_domain_can_be_chosen,
    client_domain_is_verified_and_claimed,
    replica_refuses_a_challenge_used_on_another,
    expired_challenge,
    challenge_not_yet_valid,
    wrong_server_signature,
    no_client_signature,
    extra_signature_on_nonexistent_account,
    signatures_below_medium_threshold_on_multisig_account,
    wrong_home_domain,
    wrong_web_auth_domain,
    non_zero_sequence,
    extra_operation_with_foreign_source,
    replayed_challenge,
    tampered_nonce,
    malformed_base64_or_xdr,
    fee_bump_envelope,
    challenge_for_another_network,
    invalid_account_parameter,
    muxed_account_with_memo,
    non_id_memo,
    missing_client_domain_signature,
    unreachable_horizon,
    client_domain_that_cannot_be_fetched,
    unfunded_account_refused_when_configured,
    token_request_body_errors_are_json,
);
