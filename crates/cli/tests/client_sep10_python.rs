//! Mooring's client library logs in (SEP-10) to a server nobody here wrote:
//! `tests/interop/python/sep10_server.py`, the standard library's
//! http.server around the published Python stellar-sdk's SEP-10 helpers
//! (`build_challenge_transaction`, `read_challenge_transaction`,
//! `verify_challenge_transaction_signed_by_client_master_key`,
//! `verify_challenge_transaction_threshold`), in the virtualenv that
//! `scripts/test` prepares and names in `MOORING_TEST_PYTHON`.
//!
//! 1. Logins the SDK verifies: a plain account, an id memo, a muxed account,
//!    a client domain (signed by its key as well), an account with several
//!    signers (the SDK's threshold check).
//! 2. Challenges the client must refuse before it signs anything: signed by
//!    another key than the stellar.toml's SIGNING_KEY, for another home
//!    domain or web_auth_domain, for another network, expired, or with
//!    another memo than asked. The server counts POSTs: none may arrive.

#[path = "common/mod.rs"]
mod cli;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mooring_client::ClientError;
use mooring_client::sep10::{LoginOptions, WebAuth};
use mooring_stellar::sep10::ChallengeError;
use mooring_stellar::{ClientAccount, IdMemo, Keypair};
use serde_json::{Value, json};
use url::Url;

/// The Python SEP-10 server, stopped (stdin closed, then killed if need be)
/// when dropped.
struct PyServer {
    child: Child,
    base: Url,
    http: reqwest::Client,
}

impl PyServer {
    fn start(python: &str, config: Value) -> PyServer {
        let mut child = Command::new(python)
            .arg(cli::repo_file("tests/interop/python/sep10_server.py"))
            .arg(config.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Ok(base) = Url::parse(line.trim()) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sep10_server.py did not print its URL (got {line:?}); see its stderr");
        };
        PyServer {
            child,
            base,
            http: reqwest::Client::new(),
        }
    }

    /// What Mooring's client takes for the home domain: host and port.
    fn home_domain(&self) -> String {
        format!(
            "{}:{}",
            self.base.host_str().unwrap(),
            self.base.port().unwrap()
        )
    }

    async fn web_auth(&self) -> WebAuth {
        WebAuth::discover(self.http.clone(), &self.base)
            .await
            .expect("stellar.toml of the Python server")
    }

    /// (POSTs of signed challenges, GETs of challenges) the server received.
    async fn counts(&self) -> (u64, u64) {
        let v: Value = self
            .http
            .get(self.base.join("/posts").unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            v["count"].as_u64().unwrap(),
            v["challenges"].as_u64().unwrap(),
        )
    }

    /// Closes its stdin and waits for it to exit by itself.
    fn stop(mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "sep10_server.py exited with {status}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "sep10_server.py did not stop when its stdin closed"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the Python server verified, from its token (base64url JSON).
fn verified(token: &str) -> Value {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .unwrap_or_else(|e| panic!("token {token:?} is not the Python server's: {e}"));
    serde_json::from_slice(&raw).unwrap()
}

#[tokio::test]
async fn logs_in_with_the_master_key() {
    let Some(python) = cli::python() else { return };
    let srv = PyServer::start(&python, json!({}));
    let web_auth = srv.web_auth().await;
    assert_eq!(web_auth.endpoint().as_str(), format!("{}auth", srv.base));
    let kp = Keypair::random();
    let account = ClientAccount::Account(kp.public_key());
    let token = web_auth
        .login(&account, &[&kp], &LoginOptions::default())
        .await
        .expect("stellar-sdk verifies Mooring's signature");
    let v = verified(&token);
    assert_eq!(v["account"], kp.public_key().to_string());
    assert_eq!(v["memo"], Value::Null);
    assert_eq!(v["client_domain"], Value::Null);
    assert_eq!(v["home_domain"], srv.home_domain());
    assert_eq!(v["verified_with"], "master_key");
    assert_eq!(v["signed_by"], json!([kp.public_key().to_string()]));
    // The server's and the client's: nothing else.
    assert_eq!(v["signatures"], 2);
    assert_eq!(srv.counts().await, (1, 1));
    srv.stop();
}

#[tokio::test]
async fn logs_in_with_an_id_memo() {
    let Some(python) = cli::python() else { return };
    let srv = PyServer::start(&python, json!({}));
    let web_auth = srv.web_auth().await;
    let kp = Keypair::random();
    let account = ClientAccount::Account(kp.public_key());
    let opts = LoginOptions {
        memo: Some(IdMemo::new(9_876_543_210)),
        ..LoginOptions::default()
    };
    let token = web_auth.login(&account, &[&kp], &opts).await.unwrap();
    let v = verified(&token);
    assert_eq!(v["account"], kp.public_key().to_string());
    assert_eq!(v["memo"], 9_876_543_210u64);
    assert_eq!(v["signed_by"], json!([kp.public_key().to_string()]));
    srv.stop();
}

#[tokio::test]
async fn logs_in_with_a_muxed_account() {
    let Some(python) = cli::python() else { return };
    let srv = PyServer::start(&python, json!({}));
    let web_auth = srv.web_auth().await;
    let kp = Keypair::random();
    let account = ClientAccount::Muxed {
        account: kp.public_key(),
        id: 77,
    };
    let token = web_auth
        .login(&account, &[&kp], &LoginOptions::default())
        .await
        .unwrap();
    let v = verified(&token);
    assert!(account.to_string().starts_with('M'));
    assert_eq!(v["account"], account.to_string());
    assert_eq!(v["memo"], Value::Null);
    assert_eq!(v["signed_by"], json!([kp.public_key().to_string()]));
    srv.stop();
}

#[tokio::test]
async fn logs_in_with_a_client_domain_signed_by_both_keys() {
    let Some(python) = cli::python() else { return };
    let wallet = Keypair::random();
    let srv = PyServer::start(
        &python,
        json!({"client_domain_key": wallet.public_key().to_string()}),
    );
    let web_auth = srv.web_auth().await;
    let kp = Keypair::random();
    let account = ClientAccount::Account(kp.public_key());
    let opts = LoginOptions {
        client_domain: Some(("wallet.example.org", &wallet)),
        ..LoginOptions::default()
    };
    let token = web_auth.login(&account, &[&kp], &opts).await.unwrap();
    let v = verified(&token);
    assert_eq!(v["account"], kp.public_key().to_string());
    // stellar-sdk's verify_challenge_transaction_signers requires the
    // client_domain operation's source to have signed.
    assert_eq!(
        v["client_domain"],
        json!({"domain": "wallet.example.org", "key": wallet.public_key().to_string()})
    );
    assert_eq!(v["signed_by"], json!([kp.public_key().to_string()]));
    // Server, client, client domain.
    assert_eq!(v["signatures"], 3);
    srv.stop();
}

#[tokio::test]
async fn logs_in_with_several_signers_meeting_a_threshold() {
    let Some(python) = cli::python() else { return };
    let kp = Keypair::random();
    let cosigner = Keypair::random();
    let (master, other) = (
        kp.public_key().to_string(),
        cosigner.public_key().to_string(),
    );
    let srv = PyServer::start(
        &python,
        json!({"accounts": {master.clone(): {
            "signers": [[master.clone(), 1], [other.clone(), 1]],
            "threshold": 2,
        }}}),
    );
    let web_auth = srv.web_auth().await;
    let account = ClientAccount::Account(kp.public_key());
    let token = web_auth
        .login(&account, &[&kp, &cosigner], &LoginOptions::default())
        .await
        .unwrap();
    let v = verified(&token);
    assert_eq!(v["verified_with"], "threshold");
    let mut both = vec![master, other];
    both.sort();
    assert_eq!(v["signed_by"], json!(both));
    assert_eq!(v["signatures"], 3);

    // One signature of weight 1 is below the threshold: the SDK refuses it,
    // and the client reports the server's refusal.
    let err = web_auth
        .login(&account, &[&kp], &LoginOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Status { status: 400, message, .. } if message.contains("threshold")),
        "{err:?}"
    );
    srv.stop();
}

/// Starts the server in `mode`, logs in (with `memo`, and as a wallet
/// with a client domain key if `client_domain`), and checks the client
/// refused the challenge with an error `expected` accepts, having fetched it
/// but POSTed nothing.
async fn refused(
    mode: &str,
    memo: Option<u64>,
    client_domain: bool,
    expected: impl Fn(&ClientError) -> bool,
) {
    let Some(python) = cli::python() else { return };
    let wallet = Keypair::random();
    let mut config = json!({"mode": mode});
    if client_domain {
        config["client_domain_key"] = json!(wallet.public_key().to_string());
    }
    let srv = PyServer::start(&python, config);
    let web_auth = srv.web_auth().await;
    let kp = Keypair::random();
    let account = ClientAccount::Account(kp.public_key());
    let opts = LoginOptions {
        memo: memo.map(IdMemo::new),
        client_domain: client_domain.then_some(("wallet.example.org", &wallet)),
    };
    let result = web_auth.login(&account, &[&kp], &opts).await;
    let (posts, challenges) = srv.counts().await;
    assert_eq!(challenges, 1, "{mode}: the client asked for one challenge");
    match result {
        Ok(token) => panic!(
            "{mode}: the client signed and submitted the challenge, and the server answered a token for {}",
            verified(&token)
        ),
        Err(err) => assert!(expected(&err), "{mode}: unexpected error {err:?}"),
    }
    assert_eq!(posts, 0, "{mode}: the client submitted the challenge");
    srv.stop();
}

#[tokio::test]
async fn refuses_a_challenge_signed_by_another_key() {
    // The impostor key is the transaction source as well as the signer.
    refused("wrong_signer", None, false, |e| {
        matches!(
            e,
            ClientError::Challenge(
                ChallengeError::SourceNotServer | ChallengeError::NotSignedByServer
            )
        )
    })
    .await;
}

#[tokio::test]
async fn refuses_a_challenge_for_another_home_domain() {
    refused("wrong_home_domain", None, false, |e| {
        matches!(e, ClientError::Challenge(ChallengeError::WrongHomeDomain))
    })
    .await;
}

#[tokio::test]
async fn refuses_a_challenge_for_another_web_auth_domain() {
    refused("wrong_web_auth_domain", None, false, |e| {
        matches!(
            e,
            ClientError::Challenge(ChallengeError::WrongWebAuthDomain)
        )
    })
    .await;
}

#[tokio::test]
async fn refuses_a_challenge_for_another_network() {
    // The answer names the other network: refused before the transaction is read.
    refused("other_network", None, false, |e| {
        matches!(e, ClientError::StellarToml(_))
    })
    .await;
}

#[tokio::test]
async fn refuses_a_challenge_signed_for_another_network_without_saying_so() {
    // The answer names the stellar.toml's network, but the server signed the
    // hash of another network's transaction: its signature does not verify.
    refused("other_network_quiet", None, false, |e| {
        matches!(e, ClientError::Challenge(ChallengeError::NotSignedByServer))
    })
    .await;
}

#[tokio::test]
async fn refuses_an_expired_challenge() {
    refused("expired", None, false, |e| {
        matches!(e, ClientError::Challenge(ChallengeError::Expired))
    })
    .await;
}

#[tokio::test]
async fn refuses_a_challenge_with_another_memo_than_asked() {
    // Asked for memo 4242, the server answers a challenge for memo 4243: the
    // session would be another user's of the shared account.
    refused("wrong_memo", Some(4242), false, |e| {
        matches!(e, ClientError::Challenge(_) | ClientError::Unexpected(_))
    })
    .await;
}

#[tokio::test]
async fn refuses_a_challenge_naming_another_client_domain_than_asked() {
    // Asked for wallet.example.org, the server answers a challenge whose
    // client_domain operation names other-wallet.example.org (with
    // wallet.example.org's key as its source): signing it would put the
    // wallet's key to another domain's name.
    refused("wrong_client_domain", None, true, |e| {
        matches!(e, ClientError::Challenge(_) | ClientError::Unexpected(_))
    })
    .await;
}
