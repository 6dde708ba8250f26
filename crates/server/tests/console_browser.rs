//! The compliance console in real headless Chromium (Debian's, with its
//! chromedriver, driven by the published selenium: tests/browser/console.py)
//! on both databases: sign in; find a customer who uploaded fields and a
//! document through SEP-12; view the document; reject one field with a
//! reason and see the customer's SEP-12 status change; accept the
//! customer; move a SEP-31 transaction to `completed`; see each action in
//! the audit log under the right actor. Also refused: a form without the
//! session cookie and one with a wrong CSRF token; the pages carry the CSP;
//! nothing loads from another origin. Screenshots of each page are written
//! to `target/console-screenshots/<engine>/`.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use common::customer::put_json;
use common::{ADMIN_TOKEN, Engine, TestServer};
use mooring_server::config::Config;
use mooring_stellar::Keypair;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

const ISSUER: &str = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";

/// A 40×24 PNG, a checkerboard: a real image, so that the browser shows it.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAACgAAAAYCAIAAAAH5iiXAAAAOElEQVR42mPgjlmLFT178xUropZ6hlGLRy0etZhqFtPaAlzqRy0etXjUYupZPFpkjlo8avGQtxgAHRsEqpSIcR4AAAAASUVORK5CYII=";

fn chromedriver() -> Option<String> {
    match std::env::var("MOORING_TEST_CHROMEDRIVER") {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var("MOORING_REQUIRE_INTEROP").as_deref() != Ok("1"),
                "MOORING_TEST_CHROMEDRIVER is not set but browser tests are required"
            );
            eprintln!("skipped: MOORING_TEST_CHROMEDRIVER not set (scripts/test sets it)");
            None
        }
    }
}

fn shots(engine: Engine) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target
        .join("console-screenshots")
        .join(format!("{engine:?}").to_lowercase())
}

fn sep31(partner: &str, dist: &str) -> impl FnOnce(&mut Config) + use<> {
    let sep31 = json!({
        "enabled": true,
        "sender_types": {"sep31-sender": "People sending money"},
        "receiver_types": {"sep31-receiver": "People receiving money"},
        "observer": {"enabled": true, "lease_secs": 3, "poll_secs": 1},
        "assets": [{"code": "USDC", "issuer": ISSUER, "distribution_account": dist,
                    "funding_methods": ["SEPA"]}],
    });
    let partners = json!([{"name": "acme-remit", "accounts": [partner]}]);
    move |c: &mut Config| {
        c.sep31 = serde_json::from_value(sep31).unwrap();
        c.partners = serde_json::from_value(partners).unwrap();
    }
}

async fn accept(srv: &TestServer, id: &str) {
    let res = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/accept"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

async fn admin_json(srv: &TestServer, path: &str) -> Value {
    srv.admin(Method::GET, path)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn staff_walk_through_the_console(engine: Engine) {
    let (Some(python), Some(driver)) = (common::interop::python(), chromedriver()) else {
        return;
    };
    let partner = Keypair::random();
    let dist = Keypair::random().public_key().to_string();
    let srv = TestServer::start_with(engine, sep31(&partner.public_key().to_string(), &dist)).await;

    // A sender who uploaded fields and a document, and an accepted receiver.
    let sender_token = srv.token_for(&partner, Some(1)).await;
    let png = base64::engine::general_purpose::STANDARD
        .decode(PNG)
        .unwrap();
    let form = Form::new()
        .text("type", "sep31-sender")
        .text("memo", "1")
        .text("memo_type", "id")
        .text("first_name", "Ana")
        .text("last_name", "Quintela")
        .text("email_address", "ana@example.com")
        .part(
            "photo_id_front",
            Part::bytes(png)
                .file_name("id.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let (status, got) = common::customer::put_form(&srv, &sender_token, form).await;
    assert_eq!(status, 202, "{got}");
    let sender = got["id"].as_str().unwrap().to_owned();
    accept(&srv, &sender).await;
    let receiver_token = srv.token_for(&partner, Some(2)).await;
    let (status, got) = put_json(
        &srv,
        &receiver_token,
        json!({"type": "sep31-receiver", "first_name": "Bo", "last_name": "Ng",
               "bank_account_number": "12345678", "bank_number": "021000021"}),
    )
    .await;
    assert_eq!(status, 202, "{got}");
    let receiver = got["id"].as_str().unwrap().to_owned();
    accept(&srv, &receiver).await;

    // A transaction, paid: pending_receiver.
    let token = srv.token_for(&partner, None).await;
    let req = srv
        .with_token(Method::POST, "/sep31/transactions", &token)
        .json(
            &json!({"amount": "25", "asset_code": "USDC", "funding_method": "SEPA",
                      "sender_id": sender, "receiver_id": receiver}),
        );
    let (status, created) = TestServer::send(req).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let memo = created["stellar_memo"].as_str().unwrap().to_owned();
    let payer = Keypair::random().public_key().to_string();
    srv.horizon.pay(
        &dist,
        &payer,
        Some(("USDC", ISSUER)),
        "25",
        Some(("id", &memo)),
    );
    let mut paid = false;
    for _ in 0..150 {
        let t = admin_json(&srv, &format!("/admin/transactions/{id}")).await;
        if t["transaction"]["status"] == "pending_receiver" {
            paid = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(paid, "the observer saw the payment");

    let cfg = json!({
        "admin": srv.admin.as_str(),
        "public": srv.url(""),
        "token": ADMIN_TOKEN,
        "name": "ana.compliance",
        "customer": sender,
        "kind": "sep31-sender",
        "field": "last_name",
        "value": "Quintela",
        "customer_token": sender_token,
        "transaction": id,
        "shots": shots(engine),
        "chromedriver": driver,
    });
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser/console.py");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(cfg.to_string())
            .output()
    })
    .await
    .unwrap()
    .expect("python runs");
    assert!(
        out.status.success(),
        "the browser walk failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(out.stdout.trim_ascii()).unwrap();
    assert_eq!(seen["ok"], true, "{seen}");

    // What the browser did, as the server has it.
    let c = admin_json(&srv, &format!("/admin/customers/{sender}")).await;
    assert_eq!(c["statuses"]["sep31-sender"]["status"], "ACCEPTED", "{c}");
    let t = admin_json(&srv, &format!("/admin/transactions/{id}")).await;
    assert_eq!(t["transaction"]["status"], "completed", "{t}");
    let audit = admin_json(&srv, "/admin/audit?limit=200").await;
    let by_ana: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "admin:ana.compliance")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "console.sign_in",
        "customer.field_status",
        "customer.accept",
        "sep31.status",
        "console.sign_out",
    ] {
        assert!(
            by_ana.contains(&action),
            "{action} under admin:ana.compliance: {by_ana:?}"
        );
    }
    for step in [
        "sign-in",
        "customers",
        "customer",
        "document",
        "transaction",
        "audit",
    ] {
        assert!(
            seen["steps"].as_array().unwrap().iter().any(|s| s == step),
            "{step}: {seen}"
        );
    }
    srv.stop().await;
}

on_both_engines!(staff_walk_through_the_console);
