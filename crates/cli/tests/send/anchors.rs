//! The receiving anchor under test, the sending anchor's key and files,
//! and what staff and the sending anchor do beside `mooring send`.

use std::process::Output;
use std::time::Duration;

use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::common::{ADMIN_TOKEN, Engine, TestServer};
use crate::sending::texts;
use crate::{DEADLINE, ISSUER, RECEIVER, RECEIVER_FILE, SENDER, SENDER_FILE, cli};

/// A receiving anchor, the sending anchor's key (its partner) and the
/// files `mooring send` is given.
pub struct Anchors {
    pub srv: TestServer,
    pub key: Keypair,
    pub dist: String,
    pub dir: tempfile::TempDir,
}

/// A receiving anchor whose receiver type requires `receiver_required`:
/// SEP-12 accepting fields at once, SEP-31 USDC paid by SEPA to a fresh
/// distribution account watched every second, and one partner, the
/// sending anchor, whose account is on the Horizon stand-in.
pub async fn anchors(engine: Engine, receiver_required: &[&str]) -> Anchors {
    let key = Keypair::random();
    let dist = Keypair::random().public_key().to_string();
    let types = json!({
        SENDER: {"required": ["first_name", "last_name", "email_address"]},
        RECEIVER: {"required": receiver_required},
    });
    let sep31 = json!({
        "enabled": true,
        "sender_types": {SENDER: "People sending money"},
        "receiver_types": {RECEIVER: "People receiving money"},
        "observer": {"enabled": true, "lease_secs": 3, "poll_secs": 1},
        "assets": [{"code": "USDC", "issuer": ISSUER, "distribution_account": dist,
                    "funding_methods": ["SEPA"]}],
    });
    let partners = json!([{"name": "acme-remit", "accounts": [key.public_key().to_string()]}]);
    let srv = TestServer::start_with(engine, |c| {
        c.sep12.auto_accept = true;
        c.sep12.types = serde_json::from_value(types).expect("[sep12.types]");
        c.sep31 = serde_json::from_value(sep31).expect("[sep31]");
        c.partners = serde_json::from_value(partners).expect("[[partners]]");
    })
    .await;
    srv.horizon.set_master_key_only(&key.public_key());
    let dir = tempfile::tempdir().unwrap();
    let wallet = format!(
        "network = \"local\"\n[networks.local]\npassphrase = \"{}\"\nhorizon_url = \"{}\"\n",
        srv.network.passphrase(),
        srv.horizon.url
    );
    std::fs::write(dir.path().join("wallet.toml"), wallet).unwrap();
    std::fs::write(dir.path().join("sender.toml"), SENDER_FILE).unwrap();
    std::fs::write(dir.path().join("receiver.toml"), RECEIVER_FILE).unwrap();
    Anchors {
        srv,
        key,
        dist,
        dir,
    }
}

impl Anchors {
    pub fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// `mooring send` of 25 USDC from the sender file to the receiver
    /// file, polling every second, with `extra` flags.
    pub fn send_args(&self, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "send",
            "--to",
            self.srv.base.as_str().trim_end_matches('/'),
            "--amount",
            "25",
            "--asset",
            &format!("USDC:{ISSUER}"),
            "--sender",
            &self.file("sender.toml"),
            "--receiver",
            &self.file("receiver.toml"),
            "--poll-secs",
            "1",
            "--wallet-config",
            &self.file("wallet.toml"),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    }

    pub fn secret(&self) -> String {
        self.key.secret_seed().as_str().to_owned()
    }

    /// Runs `mooring send` with `extra` flags to completion, off the
    /// runtime's threads (the server under test runs on them).
    pub async fn send_to_end(&self, extra: &[&str]) -> Output {
        let (dir, args, secret) = (
            self.dir.path().to_owned(),
            self.send_args(extra),
            self.secret(),
        );
        let run = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            cli::run(&dir, &args, &[("MOORING_WALLET_SECRET", &secret)])
        });
        tokio::time::timeout(DEADLINE, run)
            .await
            .expect("mooring send ends in time")
            .unwrap()
    }

    /// `mooring admin --actor ops transactions <args>`, which must succeed;
    /// its answer.
    pub async fn staff(&self, args: &[&str]) -> Value {
        let mut all: Vec<String> = ["admin", "--url", self.srv.admin.as_str(), "--actor", "ops"]
            .iter()
            .chain(&["transactions"])
            .chain(args)
            .map(|s| (*s).to_owned())
            .collect();
        all[2] = all[2].trim_end_matches('/').to_owned();
        let dir = self.dir.path().to_owned();
        let out = tokio::task::spawn_blocking(move || {
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            cli::run(&dir, &all, &[("MOORING_ADMIN_TOKEN", ADMIN_TOKEN)])
        })
        .await
        .unwrap();
        let (stdout, stderr) = texts(&out);
        assert!(
            out.status.success(),
            "mooring admin transactions {args:?}: {stderr}"
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    /// `GET <admin>{path}`, expecting 200.
    pub async fn admin_get(&self, path: &str) -> Value {
        let (status, got) = TestServer::send(self.srv.admin(Method::GET, path)).await;
        assert_eq!(status, 200, "GET {path}: {got}");
        got
    }

    /// Pays the distribution account without a memo until the observer
    /// reports a payment: from then on it runs and its cursor is pinned,
    /// so that creating a transaction needs no Horizon payments read. (A
    /// payment made before the observer first reads Horizon is behind its
    /// starting cursor and never reported, so one is made every 3 s.)
    pub async fn prime(&self) {
        let until = Instant::now() + DEADLINE;
        loop {
            let from = Keypair::random().public_key().to_string();
            let op = self
                .srv
                .horizon
                .pay(&self.dist, &from, Some(("USDC", ISSUER)), "1", None);
            let again = Instant::now() + Duration::from_secs(3);
            while Instant::now() < again {
                let seen = self.admin_get("/admin/payments?limit=500").await;
                let seen = seen["payments"].as_array().cloned().unwrap_or_default();
                if seen.iter().any(|p| p["id"] == op.as_str()) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert!(
                Instant::now() < until,
                "the observer never reported a payment"
            );
        }
    }

    /// The names of the fields the anchor holds of customer `id` (SEP-12
    /// `provided_fields`, read with the partner's token).
    pub async fn provided(&self, id: &str, kind: &str) -> Vec<String> {
        let token = self.srv.token_for(&self.key, None).await;
        let path = format!("/customer?id={id}&type={kind}");
        let req = self.srv.with_token(Method::GET, &path, &token);
        let (status, got) = TestServer::send(req).await;
        assert_eq!(status, 200, "GET {path}: {got}");
        let fields = got["provided_fields"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        fields.keys().cloned().collect()
    }
}
