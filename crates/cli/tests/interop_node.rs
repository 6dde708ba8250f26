//! Interop with a client nobody here wrote: the published
//! `@stellar/typescript-wallet-sdk` (npm), installed by `scripts/test` into
//! a throwaway folder named in `MOORING_TEST_NODE_DIR`. Its SEP-10 client
//! logs in and its SEP-12 client puts (with a document), gets, updates and
//! deletes a customer on a running `mooring serve`, on SQLite and PostgreSQL.

mod common;

use std::process::Command;

use common::{Running, empty_horizon, node_dir, postgres_database, repo_file, server_env};
use serde_json::Value;

async fn wallet_sdk_manages_a_customer(database_url: Option<String>) {
    let Some(dir) = node_dir() else { return };
    // ES modules resolve packages from their own folder: run the script there.
    let script = dir.join("sep12.mjs");
    std::fs::copy(repo_file("tests/interop/node/sep12.mjs"), &script).unwrap();
    let data = tempfile::tempdir().unwrap();
    let horizon = empty_horizon().await;
    let mut extra = vec![];
    if let Some(url) = &database_url {
        extra.push(("MOORING_DATABASE_URL", url.as_str()));
    }
    let srv = Running::start(data.path(), &server_env(&horizon, &extra));
    let home_domain = srv.base.trim_start_matches("http://").to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .arg(home_domain)
            .current_dir(dir)
            .output()
    })
    .await
    .unwrap()
    .expect("node runs");
    assert!(
        out.status.success(),
        "the wallet SDK failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(out.stdout.trim_ascii()).unwrap();
    assert_eq!(seen["firstStatus"], "NEEDS_INFO");
    assert!(
        seen["firstMissing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "email_address")
    );
    assert_eq!(seen["secondStatus"], "PROCESSING");
    assert_eq!(
        seen["provided"],
        serde_json::json!(["email_address", "first_name", "last_name"])
    );
    assert_eq!(
        seen["afterDelete"], "CustomerNotFoundError",
        "deleted for good"
    );
    assert_eq!(seen["id"].as_str().unwrap().len(), 36);
    let (status, _) = srv.stop();
    assert!(status.success());
}

#[tokio::test]
async fn typescript_wallet_sdk_manages_a_customer_on_sqlite() {
    wallet_sdk_manages_a_customer(None).await;
}

#[tokio::test]
async fn typescript_wallet_sdk_manages_a_customer_on_postgres() {
    if node_dir().is_none() {
        return;
    }
    wallet_sdk_manages_a_customer(Some(postgres_database().await)).await;
}
