//! `mooring admin transactions list|show|update|refund` against a running
//! `mooring serve` with SEP-31 on: a partner creates a transaction over
//! HTTP, staff move it from the command line, and the status machine's
//! refusals come back as the command's error.

mod common;

use common::{Running, admin_url, empty_horizon, run, server_env};
use mooring_client::sep10::{LoginOptions, WebAuth};
use mooring_stellar::{ClientAccount, Keypair};
use serde_json::{Value, json};

const ISSUER: &str = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";

fn config(partner: &str, dist: &str) -> String {
    format!(
        r#"
[sep12]
auto_accept = true
[sep31]
enabled = true
sender_types = {{ "sep31-sender" = "Senders" }}
receiver_types = {{ "sep31-receiver" = "Receivers" }}
[sep31.observer]
enabled = false
[[sep31.assets]]
code = "USDC"
issuer = "{ISSUER}"
distribution_account = "{dist}"
funding_methods = ["SEPA"]
[[partners]]
name = "acme-remit"
accounts = ["{partner}"]
"#
    )
}

#[tokio::test]
async fn staff_list_show_move_and_refuse_transactions_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let partner = Keypair::random();
    let dist = Keypair::random().public_key().to_string();
    let path = dir.path().join("mooring.toml");
    std::fs::write(&path, config(&partner.public_key().to_string(), &dist)).unwrap();
    let horizon = empty_horizon().await;
    let path_text = path.display().to_string();
    let env = server_env(&horizon, &[("MOORING_CONFIG", path_text.as_str())]);
    let srv = Running::start(dir.path(), &env);

    // A partner registers two customers (accepted once complete) and
    // creates a transaction.
    let http = reqwest::Client::new();
    let base = url::Url::parse(&srv.base).unwrap();
    let token = WebAuth::discover(http.clone(), &base)
        .await
        .unwrap()
        .login(
            &ClientAccount::Account(partner.public_key()),
            &[&partner],
            &LoginOptions::default(),
        )
        .await
        .unwrap();
    let mut ids = Vec::new();
    for body in [
        json!({"memo": "1", "memo_type": "id", "type": "sep31-sender", "first_name": "Ana",
               "last_name": "Silva", "email_address": "ana@example.com"}),
        json!({"memo": "2", "memo_type": "id", "type": "sep31-receiver", "first_name": "Bea",
               "last_name": "Souza", "bank_account_number": "123456", "bank_number": "001"}),
    ] {
        let res = http
            .put(format!("{}/customer", srv.base))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        ids.push(res.json::<Value>().await.unwrap()["id"].clone());
    }
    let res = http
        .post(format!("{}/sep31/transactions", srv.base))
        .bearer_auth(&token)
        .json(
            &json!({"amount": "25", "asset_code": "USDC", "funding_method": "SEPA",
                      "sender_id": ids[0], "receiver_id": ids[1]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let url = admin_url(&srv);
    let admin = |args: &[&str]| {
        let mut all = vec!["admin", "--url", url.as_str(), "--actor", "ops"];
        all.extend_from_slice(args);
        let out = run(dir.path(), &all, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.success(), stdout, stderr)
    };
    let (ok, out, err) = admin(&[
        "transactions",
        "list",
        "--status",
        "pending_sender",
        "--partner",
        "acme-remit",
    ]);
    assert!(ok, "{err}");
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["transactions"][0]["id"], id.as_str(), "{out}");
    assert_eq!(list["transactions"][0]["amount_in"], "25.0000000");

    // Completing an unpaid transaction is refused, naming where it is.
    let (ok, _, err) = admin(&["transactions", "update", &id, "--status", "completed"]);
    assert!(!ok);
    assert!(
        err.contains("409") && err.contains("pending_sender"),
        "the refusal names the current status: {err}"
    );
    let (ok, out, err) = admin(&[
        "transactions",
        "update",
        &id,
        "--status",
        "error",
        "--message",
        "compliance hold",
    ]);
    assert!(ok, "{err}");
    let moved: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(moved["transaction"]["status"], "error");
    assert_eq!(moved["transaction"]["status_message"], "compliance hold");

    // A final transaction cannot be refunded.
    let hash = "ab".repeat(32);
    let (ok, _, err) = admin(&[
        "transactions",
        "refund",
        &id,
        "--stellar-transaction-id",
        &hash,
        "--amount",
        "25",
    ]);
    assert!(!ok);
    assert!(err.contains("409") && err.contains("final"), "{err}");

    // Its history names who did what.
    let (ok, out, err) = admin(&["transactions", "show", &id]);
    assert!(ok, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    let history: Vec<(String, String)> = shown["transaction"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            ("partner:acme-remit".to_owned(), "sep31.create".to_owned()),
            ("admin:ops".to_owned(), "sep31.status".to_owned()),
        ]
    );
    srv.stop();
}
