//! `mooring wallet recovery` end to end, the real binary against two
//! Mooring servers with different ways of signing in (email codes through
//! SMTP; an OpenID Connect provider) and the Horizon stand-in, which checks
//! and applies what is submitted: `enroll` makes both servers the account's
//! recovery signers; `recover`, on a new device, has the person sign in on
//! each server (driven here as a person would, in a "browser") and both
//! servers sign a new key in. The recovery's signatures are checked by the
//! published Python stellar-sdk too. One server alone cannot recover the
//! account, and an account with a signer enrolling knows nothing of is not
//! enrolled.

#[path = "common/mod.rs"]
mod cli;
#[path = "../../server/tests/common/mod.rs"]
mod common;

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use common::oidc::{OidcProvider, Person};
use common::recovery::get_account;
use common::signin::TwoServers;
use common::smtp::SmtpServer;
use common::{Engine, HorizonStub, StubAccount, TestServer, signin};
use mooring_stellar::xdr::{OperationBody, SignerKey};
use mooring_stellar::{Keypair, PublicKey, envelope};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const EMAIL: &str = "owner@example.com";

/// The ledger, two recovery servers and the wallet's folder (its HOME).
struct World {
    horizon: HorizonStub,
    smtp: SmtpServer,
    provider: OidcProvider,
    /// Signs in with codes mailed through `smtp`.
    a: TestServer,
    /// Signs in only through the OpenID Connect provider `id`.
    b: TestServer,
    dir: tempfile::TempDir,
}

impl World {
    async fn start(engine: Engine) -> World {
        let TwoServers {
            horizon,
            smtp,
            provider,
            email: a,
            oidc: b,
        } = TwoServers::start(engine).await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("wallet.toml"),
            format!(
                "network = \"local\"\n[networks.local]\npassphrase = \"{}\"\nhorizon_url = \"{}\"\n",
                a.network.passphrase(),
                horizon.url
            ),
        )
        .unwrap();
        World {
            horizon,
            smtp,
            provider,
            a,
            b,
            dir,
        }
    }

    /// How the command line names server A and B.
    fn names(&self) -> (String, String) {
        (self.a.url(""), self.b.url(""))
    }

    /// `wallet recovery <sub> <rest> --wallet-config <wallet.toml>`.
    fn args(&self, sub: &str, rest: &[&str]) -> Vec<String> {
        let config = self.dir.path().join("wallet.toml");
        ["wallet", "recovery", sub]
            .iter()
            .chain(rest)
            .map(|s| (*s).to_owned())
            .chain(["--wallet-config".into(), config.display().to_string()])
            .collect()
    }

    /// Runs `mooring <args>` to its end, with `key`'s seed in
    /// MOORING_WALLET_SECRET if given.
    async fn mooring(&self, args: Vec<String>, key: Option<&Keypair>) -> Output {
        let dir = self.dir.path().to_owned();
        let mut env = vec![("HOME".to_owned(), dir.display().to_string())];
        if let Some(k) = key {
            let seed = k.secret_seed().as_str().to_owned();
            env.push(("MOORING_WALLET_SECRET".into(), seed));
        }
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (&**k, &**v)).collect();
            cli::run(&dir, &args, &env)
        })
        .await
        .unwrap()
    }

    /// `enroll` of `account` with both servers, and `extra` flags.
    async fn enroll_run(&self, account: &Keypair, extra: &[&str]) -> Output {
        let (a, b) = self.names();
        let servers = format!("{a},{b}");
        let identity = format!("email:{EMAIL}");
        let mut rest = vec!["--servers", &servers, "--identity", &identity];
        rest.extend_from_slice(extra);
        self.mooring(self.args("enroll", &rest), Some(account))
            .await
    }

    /// Enrolls `account` with both servers: the keys each printed, and
    /// the rest of stdout's last line (`submitted: transaction <hash>`, or
    /// the XDR with `--print-xdr`).
    async fn enroll(&self, account: &Keypair, extra: &[&str]) -> ([PublicKey; 2], String) {
        let (a, b) = self.names();
        let out = self.enroll_run(account, extra).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "enroll failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let key = |name: &str| {
            let printed = after(&stdout, &format!("{name}: registered; it signs with "));
            PublicKey::parse(printed).unwrap()
        };
        let mut lines = stdout.lines().rev();
        let last = lines.next().unwrap();
        assert!(lines.next().unwrap().starts_with("signers: "), "{stdout}");
        let last = last.strip_prefix("submitted: transaction ").unwrap_or(last);
        ([key(&a), key(&b)], last.to_owned())
    }

    /// Starts `recover` with `servers` and a new key generated into `file`.
    fn recover(&self, servers: &str, account: &PublicKey, file: &str) -> Child {
        let file = self.dir.path().join(file).display().to_string();
        let rest = [
            "--servers",
            servers,
            "--account",
            &account.to_string(),
            "--new-key",
            "generate",
            "--new-key-file",
            &file,
            "--poll-secs",
            "1",
        ];
        Child::spawn(self.dir.path().to_owned(), self.args("recover", &rest))
    }

    /// The person signs in on A as the page asks: an emailed code.
    async fn sign_in_by_email(&self, line: &str) {
        let (token, _) = shown_page(&self.a, line).await;
        let before = self.smtp.count();
        let (status, page) = signin::send_code(&self.a, &token, "email", EMAIL).await;
        assert_eq!(status, 200, "{page}");
        let mail = self.smtp.mail(before).await;
        assert_eq!(mail.to, [EMAIL]);
        let code = signin::code_in_mail(&mail);
        let (status, page) = signin::verify_code(&self.a, &token, &code).await;
        assert_eq!(status, 200, "{page}");
    }

    /// The person signs in on B with the OpenID Connect provider.
    async fn sign_in_by_oidc(&self, line: &str) {
        let (token, page) = shown_page(&self.b, line).await;
        assert!(page.contains("/authorize/oidc/id?token="), "{page}");
        self.provider.sign_in_as(Person::verified(EMAIL));
        let browser = signin::no_redirects();
        let url = signin::oidc_url(&self.b, "id", &token);
        let back = signin::to_callback(&browser, url).await;
        assert_eq!(signin::visit(&browser, &back).await.status(), 200);
    }

    async fn stop(self) {
        self.a.stop().await;
        self.b.stop().await;
    }
}

/// The rest of the first line of `text` that starts with `prefix`.
fn after<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in:\n{text}"))
        .trim()
}

/// Opens the URL of `<name>: open <url> in a browser and sign in; it must
/// show the code <code>` on `srv` and checks the page shows that code: the
/// sign-in token in the URL and the page.
async fn shown_page(srv: &TestServer, line: &str) -> (String, String) {
    let (_, rest) = line.split_once(": open ").unwrap();
    let (url, rest) = rest.split_once(' ').unwrap();
    let code = rest.rsplit(' ').next().unwrap();
    assert!(
        rest.ends_with(&format!("it must show the code {code}")),
        "{line}"
    );
    let parsed = url::Url::parse(url).unwrap();
    assert_eq!(parsed.origin(), srv.base.origin(), "{line}");
    let token = parsed
        .query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no token in {url}"));
    let page = srv.page(url).await;
    assert!(page.contains(&format!("<strong>{code}</strong>")), "{page}");
    (token, page)
}

/// A `mooring` process whose output the test reads as it comes.
struct Child {
    process: std::process::Child,
    lines: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Child {
    fn spawn(dir: PathBuf, args: Vec<String>) -> Child {
        let mut process = Command::new(cli::BIN)
            .args(args)
            .current_dir(&dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mooring starts");
        let (tx, lines) = mpsc::unbounded_channel();
        let out = process.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut err = process.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Child {
            process,
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
        }
    }

    /// Waits for the next line that starts with `prefix`.
    async fn expect(&mut self, prefix: &str) -> String {
        loop {
            match tokio::time::timeout(Duration::from_secs(30), self.lines.recv()).await {
                Ok(Some(line)) => {
                    self.seen.push(line.clone());
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                _ => panic!(
                    "no line {prefix:?}; stdout so far:\n{}\nexited: {:?}",
                    self.seen.join("\n"),
                    self.process.try_wait()
                ),
            }
        }
    }

    /// Waits for the end: (exit status, all of stdout, stderr).
    async fn finish(mut self) -> (ExitStatus, String, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = self.process.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "mooring did not exit; stdout:\n{}",
                self.seen.join("\n")
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        while let Ok(Some(line)) =
            tokio::time::timeout(Duration::from_secs(5), self.lines.recv()).await
        {
            self.seen.push(line);
        }
        let stderr = self.stderr.take().unwrap().join().unwrap();
        (status, self.seen.join("\n"), stderr)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The account's signers as (G…, weight), sorted.
fn signers(horizon: &HorizonStub, account: &PublicKey) -> Vec<(String, u32)> {
    let mut s: Vec<_> = horizon
        .account(account)
        .unwrap()
        .signers
        .iter()
        .map(|(k, w)| (k.to_string(), *w))
        .collect();
    s.sort();
    s
}

fn sorted(mut s: Vec<(String, u32)>) -> Vec<(String, u32)> {
    s.sort();
    s
}

/// What the published Python stellar-sdk makes of `xdr`'s signatures by
/// `keys`: its output of tests/interop/python/verify_signatures.py.
async fn python_verifies(python: String, xdr: &str, passphrase: &str, keys: &[String]) -> Value {
    let input = json!({ "envelope": xdr, "network_passphrase": passphrase, "keys": keys });
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(cli::repo_file("tests/interop/python/verify_signatures.py"))
            .arg(input.to_string())
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "stellar-sdk script failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(out.stdout.trim_ascii()).unwrap()
}

async fn enrolls_and_recovers_with_two_servers(engine: Engine) {
    let w = World::start(engine).await;
    let (a, b) = w.names();
    let account = Keypair::random();
    let me = account.public_key();
    let address = me.to_string();
    w.horizon.set_master_key_only(&me);

    // Enrolled: each server's key weight 1, the device key 2, thresholds
    // 2, so that both servers together, and only together, recover it.
    let (keys, enrolled) = w.enroll(&account, &[]).await;
    assert_ne!(keys[0], keys[1]);
    assert_eq!(w.horizon.submitted().len(), 1);
    let expected = sorted(vec![
        (address.clone(), 2),
        (keys[0].to_string(), 1),
        (keys[1].to_string(), 1),
    ]);
    assert_eq!(signers(&w.horizon, &me), expected);
    assert_eq!(w.horizon.account(&me).unwrap().thresholds, (2, 2, 2));
    let registration = envelope::decode(&w.horizon.submitted()[0]).unwrap();
    let (tx, _) = envelope::transaction(&registration).unwrap();
    assert_eq!(hex::encode(envelope::hash(&tx, &w.a.network)), enrolled);
    // Enrolling again (each server answers 409 and takes the identities
    // anew) builds the same signers; `--print-xdr` submits nothing.
    let (again, xdr) = w.enroll(&account, &["--print-xdr"]).await;
    assert_eq!(again, keys);
    assert_eq!(w.horizon.submitted().len(), 1);
    let printed = envelope::decode(&xdr).unwrap();
    let (tx, signatures) = envelope::transaction(&printed).unwrap();
    assert_eq!(tx.operations.len(), 3);
    let hash = envelope::hash(&tx, &w.a.network);
    assert!(envelope::signed_by(&hash, &signatures[0], &me));
    // Each server answers the key it printed, to the account's own token.
    for (srv, key) in [(&w.a, keys[0]), (&w.b, keys[1])] {
        let token = srv.token_for(&account, None).await;
        let (status, got) = get_account(srv, &address, &token).await;
        assert_eq!(status, 200, "{got}");
        assert_eq!(got["address"], address);
        assert_eq!(got["signers"], json!([{ "key": key.to_string() }]));
    }

    // Recovered on a new device: the person signs in on A by email, then
    // on B with the OpenID Connect provider, as the command asks.
    let mut child = w.recover(&format!("{a},{b}"), &me, "new.key");
    let line = child.expect(&format!("{a}: open ")).await;
    w.sign_in_by_email(&line).await;
    child.expect(&format!("{a}: signed in")).await;
    let line = child.expect(&format!("{b}: open ")).await;
    w.sign_in_by_oidc(&line).await;
    let (status, stdout, stderr) = child.finish().await;
    assert!(status.success(), "recover failed:\n{stdout}\n{stderr}");

    let path = w.dir.path().join("new.key");
    let seed = std::fs::read_to_string(&path).unwrap();
    let new_key = Keypair::from_secret_seed(seed.trim()).unwrap().public_key();
    let printed = format!("new key {new_key}; its secret is in {}", path.display());
    assert!(stdout.lines().any(|l| l == printed), "{stdout}");
    for line in [
        format!("{b}: signed in"),
        format!("{a}: signed with {}", keys[0]),
        format!("{b}: signed with {}", keys[1]),
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line:?} in:\n{stdout}");
    }
    let recovered = after(&stdout, "submitted: transaction ").to_owned();

    // The ledger: the new key holds the high threshold; nothing else moved.
    let mut expected = expected.clone();
    expected.push((new_key.to_string(), 2));
    assert_eq!(signers(&w.horizon, &me), sorted(expected.clone()));
    assert_eq!(w.horizon.account(&me).unwrap().thresholds, (2, 2, 2));
    let submitted = w.horizon.submitted();
    assert_eq!(submitted.len(), 2);
    let xdr = submitted.last().unwrap().clone();
    let decoded = envelope::decode(&xdr).unwrap();
    let (tx, signatures) = envelope::transaction(&decoded).unwrap();
    let hash = envelope::hash(&tx, &w.a.network);
    assert_eq!(hex::encode(hash), recovered);
    assert_eq!(tx.operations.len(), 1);
    let OperationBody::SetOptions(op) = &tx.operations[0].body else {
        panic!("{:?}", tx.operations[0]);
    };
    let signer = op.signer.as_ref().unwrap();
    assert!(matches!(&signer.key, SignerKey::Ed25519(k) if PublicKey::from_bytes(k.0) == new_key));
    assert_eq!((signer.weight, op.master_weight), (2, None));
    assert_eq!(signatures.len(), 2);
    for key in &keys {
        assert!(
            signatures
                .iter()
                .any(|s| envelope::signed_by(&hash, s, key))
        );
    }

    // The same signatures, checked by the published stellar-sdk over the
    // hash it computes; the new key did not sign.
    if let Some(python) = cli::python() {
        let asked = [
            keys[0].to_string(),
            keys[1].to_string(),
            new_key.to_string(),
        ];
        let passphrase = w.a.network.passphrase().to_owned();
        let seen = python_verifies(python, &xdr, &passphrase, &asked).await;
        assert_eq!(seen["hash"], hex::encode(hash), "{seen}");
        assert_eq!(seen["signatures"], 2, "{seen}");
        let verified: Vec<(&str, bool)> = seen["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["key"].as_str().unwrap(), r["verified"].as_bool().unwrap()))
            .collect();
        let want = [(&*asked[0], true), (&*asked[1], true), (&*asked[2], false)];
        assert_eq!(verified, want, "{seen}");
    }

    // One server alone could take the account: refused before anyone
    // signs in, and no key is made.
    let child = w.recover(&a, &me, "lone.key");
    let (status, stdout, stderr) = child.finish().await;
    assert!(!status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("at least two different recovery servers"),
        "{stderr}"
    );
    assert!(!stdout.contains(": open "), "{stdout}");
    assert!(!w.dir.path().join("lone.key").exists());
    let same = format!("{a},{a}");
    let (status, _, stderr) = w.recover(&same, &me, "twice.key").finish().await;
    assert!(!status.success());
    assert!(
        stderr.contains("at least two different recovery servers"),
        "{stderr}"
    );
    assert_eq!(w.horizon.submitted().len(), 2);
    assert_eq!(signers(&w.horizon, &me), sorted(expected));
    w.stop().await;
}

async fn enroll_refuses_an_account_with_other_signers(engine: Engine) {
    let w = World::start(engine).await;
    let account = Keypair::random();
    let me = account.public_key();
    let other = Keypair::random().public_key();
    w.horizon.set_account(
        &me,
        StubAccount {
            signers: vec![(me, 1), (other, 1)],
            thresholds: (0, 0, 0),
        },
    );
    let out = w.enroll_run(&account, &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("the account has other signers ({other})")),
        "{stderr}"
    );
    assert!(stderr.contains("remove them first"), "{stderr}");
    assert!(!stdout.contains("submitted:"), "{stdout}");
    assert!(w.horizon.submitted().is_empty());
    let expected = sorted(vec![(me.to_string(), 1), (other.to_string(), 1)]);
    assert_eq!(signers(&w.horizon, &me), expected);
    assert_eq!(w.horizon.account(&me).unwrap().thresholds, (0, 0, 0));
    w.stop().await;
}

on_both_engines!(
    enrolls_and_recovers_with_two_servers,
    enroll_refuses_an_account_with_other_signers
);
