//! Building and tampering with SEP-10 challenges as a test needs them, and a
//! wallet's stellar.toml on loopback for client domains.

use mooring_stellar::sep10::{self, ChallengeRequest, NONCE_LEN};
use mooring_stellar::xdr::{
    DataValue, ManageDataOp, Operation, OperationBody, String64, Transaction,
};
use mooring_stellar::{ClientAccount, Keypair, Network, envelope};

use mooring_server::config::Config;

use super::{Engine, TestServer, assert_error, serve};

/// A challenge for `client` built and signed by the server's own key, as
/// the server would, but at a chosen time and network.
pub fn server_challenge(
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
    let env = sep10::build_challenge(&srv.signing, network, &req, at, ttl, &[9; NONCE_LEN])
        .unwrap()
        .envelope;
    envelope::encode(&env)
}

/// A genuine challenge from the server, changed by `f` and signed again by
/// the server, so that the change is the only thing wrong with it.
pub async fn tampered(
    srv: &TestServer,
    client: &Keypair,
    f: impl FnOnce(&mut Transaction),
) -> String {
    let xdr = srv.challenge_for(&client.public_key().to_string()).await;
    let env = envelope::decode(&xdr).unwrap();
    let (mut tx, _) = envelope::transaction(&env).unwrap();
    f(&mut tx);
    let mut sigs = vec![];
    envelope::sign(&tx, &srv.network, &srv.signing, &mut sigs);
    envelope::encode(&envelope::envelope(tx, sigs))
}

pub fn signed(srv: &TestServer, xdr: &str, by: &[&Keypair]) -> String {
    sep10::sign_challenge(xdr, &srv.network, by).unwrap()
}

/// Replaces operation `i` of `tx`, or appends when `i` is its length.
pub fn set_op(tx: &mut Transaction, i: usize, op: Operation) {
    let mut ops = tx.operations.to_vec();
    if i == ops.len() {
        ops.push(op);
    } else {
        ops[i] = op;
    }
    tx.operations = ops.try_into().unwrap();
}

/// Signs `xdr` as `client`, submits it, and expects a 400 with `message`.
pub async fn assert_refused(srv: &TestServer, xdr: &str, client: &Keypair, message: &str) {
    assert_error(
        srv.post_token(&signed(srv, xdr, &[client])).await,
        400,
        message,
    );
}

pub fn data_op(source: mooring_stellar::xdr::MuxedAccount, key: &str, value: &[u8]) -> Operation {
    Operation {
        source_account: Some(source),
        body: OperationBody::ManageData(ManageDataOp {
            data_name: String64::try_from(key.as_bytes().to_vec()).unwrap(),
            data_value: Some(DataValue::try_from(value.to_vec()).unwrap()),
        }),
    }
}

/// A wallet's stellar.toml served on loopback (allowed for development).
pub async fn wallet_domain(signing_key: &str) -> String {
    let toml = format!("SIGNING_KEY = \"{signing_key}\"\n");
    let app = axum::Router::new().route(
        "/.well-known/stellar.toml",
        axum::routing::get(move || async move { toml }),
    );
    let url = serve(app).await;
    format!("127.0.0.1:{}", url.port().unwrap())
}

/// A wallet's stellar.toml on loopback and a server that may fetch it over
/// http, `tweak` adjusting its configuration further: (server, the wallet's
/// signing key, its domain).
pub async fn start_with_wallet(
    engine: Engine,
    tweak: impl FnOnce(&mut Config),
) -> (TestServer, Keypair, String) {
    let wallet = Keypair::random();
    let domain = wallet_domain(&wallet.public_key().to_string()).await;
    let d = domain.clone();
    let srv = TestServer::start_with(engine, move |c| {
        c.sep10.client_domain.allow_http_hosts = vec![d];
        tweak(c);
    })
    .await;
    (srv, wallet, domain)
}
