//! `mooring wallet kyc-wait` as a wallet user runs it, against a real
//! `mooring serve`: the operation is refused (451), the command says what
//! to do, the user opens their SEP-12 record, staff accept it through
//! `mooring admin`, and the command ends with the operation allowed.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{BIN, Running, admin_url, empty_horizon, run, server_env};
use mooring_client::sep10::{LoginOptions, WebAuth};
use mooring_stellar::{ClientAccount, Keypair};

const USDC: &str = "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";

/// Waits for a line of the command's output containing `text`.
fn expect_line(lines: &mpsc::Receiver<String>, text: &str) -> String {
    loop {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.contains(text) => return line,
            Ok(_) => {}
            Err(e) => panic!("no line with {text:?}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kyc_wait_runs_until_staff_accept_the_customer() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mooring.toml"),
        format!(
            "[[limits.rules]]\nname = \"unverified-send\"\nop = \"send\"\nasset = \"{USDC}\"\nthreshold = \"100\"\n"
        ),
    )
    .unwrap();
    let horizon = empty_horizon().await;
    let srv = Running::start(dir.path(), &server_env(&horizon, &[]));
    let kp = Keypair::random();

    let mut wallet = Command::new(BIN)
        .args([
            "wallet",
            "kyc-wait",
            "--anchor",
            &srv.base,
            "--op",
            "send",
            "--amount",
            "500",
            "--asset",
            USDC,
            "--long-poll",
            "20",
            "--max-wait",
            "120",
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MOORING_WALLET_SECRET", kp.secret_seed().as_str())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let stdout = wallet.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });

    // Refused, and unknown to the anchor's KYC: open a record.
    let action = expect_line(&lines, "ACTION:");
    assert!(action.contains("no KYC record"), "{action}");
    assert!(action.contains("type sep31-sender"), "{action}");
    let http = reqwest::Client::new();
    let web_auth = WebAuth::discover(http.clone(), &url::Url::parse(&srv.base).unwrap())
        .await
        .unwrap();
    let token = web_auth
        .login(
            &ClientAccount::Account(kp.public_key()),
            &[&kp],
            &LoginOptions::default(),
        )
        .await
        .unwrap();
    let res = http
        .put(srv.url("/customer"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "first_name": "Wanda", "last_name": "Wallet", "email_address": "wanda@example.org"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let id = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    expect_line(&lines, "under review");

    // Staff accept; the waiting command hears it and the operation passes.
    let admin = admin_url(&srv);
    let accepted = run(
        dir.path(),
        &["admin", "--url", &admin, "customers", "accept", &id],
        &[],
    );
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    let allowed = expect_line(&lines, "allowed:");
    assert!(allowed.contains("send 500"), "{allowed}");
    let status = tokio::task::spawn_blocking(move || wallet.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());
    srv.stop();
}
