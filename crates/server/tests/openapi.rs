//! The server against its own OpenAPI 3.1 descriptions (issue 12), on
//! SQLite and PostgreSQL: a server with every capability on (SEP-12 with
//! verification codes, SEP-30 and its sign-ins that need no outside server,
//! SEP-38, SEP-31 with an asset and a partner, KYC limits with rules,
//! attestation) is checked by tests/openapi/check.py, which
//!
//! - validates `/openapi.json` and `/admin/openapi.json` with the published
//!   openapi-spec-validator (OpenAPI 3.1);
//! - runs the published schemathesis against both: no 5xx, and every status
//!   code, content type, header and body as the description says; public
//!   requests carry a real SEP-10 session token of the partner's account,
//!   which is also the usual `{account}`/`{address}`/`{target}`; admin
//!   requests the admin token.
//!
//! Its reports (JUnit, NDJSON) go to `target/openapi-report/<engine>/`.
//!
//! By hand, through scripts/test's virtualenv (MOORING_TEST_PYTHON), with
//! more examples per operation than the default 20:
//!
//! ```sh
//! MOORING_SCHEMATHESIS_EXAMPLES=200 scripts/test -- --test openapi
//! ```
//!
//! or against any running server: `target/test-venv/bin/python
//! tests/openapi/check.py --url http://localhost:8000 --admin-url
//! http://127.0.0.1:8001 --admin-token <token>`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{ADMIN_TOKEN, Engine, TestServer};
use mooring_stellar::Keypair;
use serde_json::json;

/// The issuer of the USDC received (made up).
const ISSUER: &str = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";
/// USDC as SEP-38 names it.
const USDC: &str = "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";
/// Examples per operation unless `MOORING_SCHEMATHESIS_EXAMPLES` says.
const EXAMPLES: u32 = 20;

fn report_dir(engine: Engine) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target
        .join("openapi-report")
        .join(format!("{engine:?}").to_lowercase())
}

/// A server with every capability on, `partner` a SEP-31/SEP-38 partner,
/// and every rate limit far above what the fuzzer sends.
async fn everything_on(engine: Engine, partner: &Keypair) -> TestServer {
    let dist = Keypair::random().public_key().to_string();
    let sep31 = json!({
        "enabled": true,
        "sender_types": {"sep31-sender": "People sending money"},
        "receiver_types": {"sep31-receiver": "People receiving money"},
        "quotes_required": false,
        "observer": {"enabled": false},
        "assets": [{"code": "USDC", "issuer": ISSUER, "distribution_account": dist,
                    "min_amount": "1", "max_amount": "10000",
                    "fee_fixed": "0.5", "fee_percent": "1",
                    "funding_methods": ["SEPA", "SWIFT"]}],
    });
    let sep38 = json!({
        "enabled": true,
        "assets": [{"asset": USDC}, {"asset": "iso4217:BRL"}],
        "prices": [
            {"sell_asset": USDC, "buy_asset": "iso4217:BRL", "price": "0.18",
             "fee_fixed": "1", "fee_percent": "1.5"},
            {"sell_asset": "iso4217:BRL", "buy_asset": USDC, "price": "5"},
        ],
    });
    let partners = json!([{"name": "acme-remit", "accounts": [partner.public_key().to_string()]}]);
    let rules = json!([
        {"name": "unverified-send", "op": "send", "asset": USDC, "threshold": "100"},
        {"name": "unverified-month", "op": "send", "asset": USDC, "threshold": "300",
         "timeframe_secs": 2_592_000},
        {"op": "withdraw", "asset": USDC, "threshold": "0", "exposed": false},
    ]);
    TestServer::start_with(engine, move |c| {
        c.sep31 = serde_json::from_value(sep31).expect("[sep31] deserializes");
        c.sep38 = serde_json::from_value(sep38).expect("[sep38] deserializes");
        c.partners = serde_json::from_value(partners).expect("[[partners]] deserialize");
        c.limits.rules = serde_json::from_value(rules).expect("[[limits.rules]] deserialize");
        c.limits.maximum_attestations = 1_000;
        // A long poll of /kyc-check may not hold a fuzzed request for long.
        c.limits.long_poll_max_secs = 1;
        c.sep12.verification.fields = vec!["mobile_number".into(), "email_address".into()];
        // No fetches of fuzzed client domains' stellar.toml off this machine.
        c.sep10.client_domain.enabled = false;
        c.sep10.challenges_per_ip_per_minute = 1_000_000;
        // SEP-30 sign-in: email codes and passwords (the log sender) and
        // SMS codes (the collecting stand-in); no OpenID Connect provider.
        c.sep30.sms.enabled = true;
        c.sep30.requests_per_ip_per_hour = 1_000_000;
        c.sep30.codes_per_identity_per_hour = 1_000_000;
    })
    .await
}

async fn server_matches_its_openapi_descriptions(engine: Engine) {
    let Some(python) = common::interop::python() else {
        return;
    };
    // A fixed key, so that a run repeats the one before (with the seed).
    let partner = Keypair::from_seed_bytes([7; 32]);
    let srv = everything_on(engine, &partner).await;
    let examples = std::env::var("MOORING_SCHEMATHESIS_EXAMPLES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(EXAMPLES);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/openapi/check.py");
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .args(["--url", srv.url("").as_str()])
        .args(["--admin-url", srv.admin.as_str().trim_end_matches('/')])
        .args(["--admin-token", ADMIN_TOKEN])
        .args(["--secret", partner.secret_seed().as_str()])
        .args(["--max-examples", &examples.to_string()])
        .args(["--seed", "12"])
        .arg("--report-dir")
        .arg(report_dir(engine));
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("python runs");
    // Stopped first, so that a failure leaves no test database behind.
    srv.stop().await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the server does not match its description:\n{stdout}\n{stderr}"
    );
    println!("{stdout}");
}

on_both_engines!(server_matches_its_openapi_descriptions);
