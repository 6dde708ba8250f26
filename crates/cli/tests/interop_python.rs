//! Interop with a client nobody here wrote: the published Python
//! `stellar-sdk`, in a throwaway virtualenv that `scripts/test` prepares and
//! names in `MOORING_TEST_PYTHON`.
//!
//! 1. stellar-sdk logs in to a running `mooring serve` (SQLite and PostgreSQL).
//! 2. Challenges built by stellar-sdk's `build_challenge_transaction` are
//!    read and verified by Mooring's own Rust functions.

mod common;

use std::process::Command;

use common::{Running, empty_horizon, postgres_database, python, repo_file, server_env};
use mooring_stellar::sep10::{self, ReadOptions, ServerKey, Threshold};
use mooring_stellar::{ClientAccount, IdMemo, Keypair, Network};
use serde_json::Value;

fn sdk(python: &str, args: &[&str]) -> String {
    let out = Command::new(python)
        .arg(repo_file("tests/interop/python/sep10.py"))
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "stellar-sdk script failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn stellar_sdk_logs_in(database_url: Option<String>) {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let horizon = empty_horizon().await;
    let mut extra = vec![];
    if let Some(url) = &database_url {
        extra.push(("MOORING_DATABASE_URL", url.as_str()));
    }
    let srv = Running::start(dir.path(), &server_env(&horizon, &extra));
    let base = srv.base.clone();
    let py = python.clone();
    let out = tokio::task::spawn_blocking(move || sdk(&py, &["login", &base]))
        .await
        .unwrap();
    let results: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(results.len(), 4);
    for r in &results {
        let c = claims(r["token"].as_str().unwrap());
        let account = r["account"].as_str().unwrap();
        let expected_sub = match r["memo"].as_u64() {
            Some(memo) => format!("{account}:{memo}"),
            None => account.to_owned(),
        };
        assert_eq!(c["sub"], expected_sub, "case {}", r["case"]);
        assert_eq!(c["iss"], srv.url("/auth"));
    }
    assert!(
        results
            .iter()
            .any(|r| r["account"].as_str().unwrap().starts_with('M'))
    );
    let (status, _) = srv.stop();
    assert!(status.success());
}

#[tokio::test]
async fn python_stellar_sdk_logs_in_to_mooring_serve_on_sqlite() {
    stellar_sdk_logs_in(None).await;
}

#[tokio::test]
async fn python_stellar_sdk_logs_in_to_mooring_serve_on_postgres() {
    if python().is_none() {
        return;
    }
    stellar_sdk_logs_in(Some(postgres_database().await)).await;
}

#[test]
fn challenges_built_by_python_stellar_sdk_are_verified_by_mooring() {
    let Some(python) = python() else { return };
    let server = Keypair::random();
    let client = Keypair::random();
    let wallet = Keypair::random();
    let network = Network::testnet();
    let homes = vec!["anchor.example.com".to_string()];
    // Read at the current time, as the server does (no grace for clock skew).
    let opts = |web_auth_domain: &'static str| ReadOptions {
        server: ServerKey::Public(server.public_key()),
        network: &network,
        home_domains: &homes,
        web_auth_domain,
        require_web_auth_domain: true,
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
        min_time_grace: 0,
    };
    let read = |xdr: &str| sep10::read_challenge(xdr, &opts("auth.anchor.example.com"));
    let server_seed = server.secret_seed();
    let client_seed = client.secret_seed();
    let wallet_seed = wallet.secret_seed();
    let base = [
        "build",
        server_seed.as_str(),
        client_seed.as_str(),
        "anchor.example.com",
        "auth.anchor.example.com",
        network.passphrase(),
    ];
    let build = |extra: &[&str]| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        sdk(&python, &args).trim().to_owned()
    };

    // A plain account.
    let ch = read(&build(&[])).unwrap();
    assert_eq!(ch.account, ClientAccount::Account(client.public_key()));
    assert_eq!(ch.home_domain, "anchor.example.com");
    assert_eq!(
        ch.verify_signers(None, Threshold::Medium).unwrap(),
        vec![client.public_key()]
    );

    // With an id memo.
    let ch = read(&build(&["--memo", "987654321"])).unwrap();
    assert_eq!(ch.memo, Some(IdMemo::new(987654321)));
    ch.verify_signers(None, Threshold::Medium).unwrap();

    // A muxed account.
    let ch = read(&build(&["--muxed-id", "12"])).unwrap();
    assert_eq!(
        ch.account,
        ClientAccount::Muxed {
            account: client.public_key(),
            id: 12
        }
    );
    ch.verify_signers(None, Threshold::Medium).unwrap();

    // With a client domain, signed by its key.
    let ch = read(&build(&[
        "--client-domain",
        "wallet.example.org",
        "--client-domain-seed",
        wallet_seed.as_str(),
    ]))
    .unwrap();
    let cd = ch.client_domain.clone().unwrap();
    assert_eq!(
        (cd.domain.as_str(), cd.key),
        ("wallet.example.org", wallet.public_key())
    );
    ch.verify_signers(None, Threshold::Medium).unwrap();

    // And a stellar-sdk challenge is refused when it names another server.
    assert_eq!(
        sep10::read_challenge(&build(&[]), &opts("other.example.com")).unwrap_err(),
        sep10::ChallengeError::WrongWebAuthDomain
    );
}
