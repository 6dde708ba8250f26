//! A client nobody here wrote: tests/interop/python/sep31.py runs seed
//! 002's sending-anchor flow with the published stellar-sdk's SEP-10
//! helpers and plain HTTP — SEP-1 discovery, SEP-31 `/info`, SEP-12 for
//! both parties, `customer_info_needed` until they are accepted (done here,
//! through the admin API, when the script says who they are), a firm SEP-38
//! quote, the transaction (201), read back, a callback URL, the quote
//! refused the second time. The transaction it made is then read here
//! through the admin API.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Engine, TestServer, interop};
use crate::on_both_engines;

const ISSUER: &str = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";

async fn python_stellar_sdk_sends_a_payment_as_a_partner(engine: Engine) {
    let Some(python) = interop::python() else {
        return;
    };
    let partner = mooring_stellar::Keypair::random();
    let dist = mooring_stellar::Keypair::random().public_key().to_string();
    let usdc = format!("stellar:USDC:{ISSUER}");
    let partners =
        json!([{"name": "sender-anchor", "accounts": [partner.public_key().to_string()]}]);
    let sep38 = json!({
        "enabled": true,
        "assets": [{"asset": usdc}, {"asset": "iso4217:BRL"}],
        "prices": [{"sell_asset": usdc, "buy_asset": "iso4217:BRL", "price": "0.18",
                    "fee_fixed": "1", "fee_percent": "1.5"}],
    });
    let sep31 = json!({
        "enabled": true,
        "sender_types": {"sep31-sender": "People sending money"},
        "receiver_types": {"sep31-receiver": "People receiving money"},
        "observer": {"enabled": false},
        "assets": [{"code": "USDC", "issuer": ISSUER, "distribution_account": dist,
                    "funding_methods": ["PIX"]}],
    });
    let srv = TestServer::start_with(engine, move |c| {
        c.sep38 = serde_json::from_value(sep38).expect("[sep38]");
        c.sep31 = serde_json::from_value(sep31).expect("[sep31]");
        c.partners = serde_json::from_value(partners).expect("[[partners]]");
    })
    .await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/python/sep31.py");
    let mut child = Command::new(python)
        .arg(script)
        .arg(srv.url(""))
        .arg(partner.secret_seed().as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    // The script names the customers it registered and waits.
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        stdout.read_line(&mut line).map(|_| (line, stdout))
    })
    .await
    .expect("the reader's thread")
    .expect("the script's first line");
    let (line, mut stdout) = line;
    let ids: Value = match serde_json::from_str(line.trim()) {
        Ok(ids) => ids,
        Err(_) => {
            let out = child.wait_with_output().expect("the script ends");
            panic!(
                "sep31.py stopped before naming its customers: {line}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        }
    };
    for (id, kind) in [
        (&ids["sender_id"], "sep31-sender"),
        (&ids["receiver_id"], "sep31-receiver"),
    ] {
        let id = id.as_str().expect("an id");
        let accept = srv
            .admin(Method::POST, &format!("/admin/customers/{id}/accept"))
            .json(&json!({"type": kind}));
        assert_eq!(TestServer::send(accept).await.0, 200, "accept {kind}");
    }
    writeln!(stdin, "accepted").expect("the script reads on");
    drop(stdin);
    let out = tokio::task::spawn_blocking(move || {
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).map(|_| rest)
    })
    .await
    .expect("the reader's thread")
    .expect("the script's output");
    let status = child.wait_with_output().expect("the script ends");
    assert!(
        status.status.success(),
        "sep31.py failed:\n{out}\n{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let seen: Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("sep31.py printed no JSON ({e}): {out}"));
    // What Python created is what the anchor holds.
    let id = seen["created"]["id"].as_str().expect("an id");
    let (status, staff) =
        TestServer::send(srv.admin(Method::GET, &format!("/admin/transactions/{id}"))).await;
    assert_eq!(status, 200, "{staff}");
    let t = &staff["transaction"];
    assert_eq!(t["partner"], "sender-anchor");
    assert_eq!(t["sender_id"], ids["sender_id"]);
    assert_eq!(t["receiver_id"], ids["receiver_id"]);
    assert_eq!(t["stellar_memo"], seen["created"]["stellar_memo"]);
    assert_eq!(t["stellar_account_id"], dist.as_str());
    assert_eq!(t["quote_id"], seen["quote"]["id"]);
    assert_eq!(t["amount_out"], seen["quote"]["buy_amount"]);
    assert_eq!(t["status"], "pending_sender");
}

on_both_engines!(python_stellar_sdk_sends_a_payment_as_a_partner);
