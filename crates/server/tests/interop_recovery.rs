//! Multi-server recovery end to end with a client nobody here wrote: two
//! Mooring servers with different identity providers (email codes over SMTP;
//! OpenID Connect), as in the sequence diagrams of ../seeds/003. The
//! published `@stellar/typescript-wallet-sdk` enrolls an account with both,
//! reads it back with the identity-provider tokens, and has both sign a
//! recovery transaction with `signWithRecoveryServers`; the signatures are
//! checked by `@stellar/stellar-sdk` there and by Mooring's own functions
//! here, against the hash each computes.

mod common;

use std::process::Command;

use common::interop::node_dir;
use common::oidc::Person;
use common::recovery::get_account;
use common::signin::TwoServers;
use common::{Engine, TestServer, signin};
use mooring_stellar::{Keypair, PublicKey, envelope};
use serde_json::{Value, json};

fn server_json(srv: &TestServer) -> Value {
    json!({
        "endpoint": srv.url(""),
        "authEndpoint": srv.url("/auth"),
        "homeDomain": srv.home_domain,
        "signingKey": srv.signing.public_key().to_string(),
    })
}

async fn wallet_sdk_recovers_with_two_servers(engine: Engine) {
    let Some(dir) = node_dir() else { return };
    let script = dir.join("sep30.mjs");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/interop/node/sep30.mjs"
        ),
        &script,
    )
    .unwrap();

    // The ledger: the account exists, its master key its only signer.
    let TwoServers {
        horizon,
        smtp,
        provider,
        email: email_server,
        oidc: oidc_server,
    } = TwoServers::start(engine).await;
    let account = Keypair::random();
    horizon.set_master_key_only(&account.public_key());

    // The person signs in with each server's provider.
    let email = "owner@example.com";
    let oidc_email = "owner.id@example.com";
    let first = signin::by_email(&email_server, &smtp, email).await;
    provider.sign_in_as(Person::verified(oidc_email));
    let second = signin::by_oidc(&oidc_server, "id").await;

    let input = json!({
        "horizon": horizon.url.as_str().trim_end_matches('/'),
        "servers": { "first": server_json(&email_server), "second": server_json(&oidc_server) },
        "accountSecret": account.secret_seed().as_str(),
        "deviceSecret": Keypair::random().secret_seed().as_str(),
        "newDeviceSecret": Keypair::random().secret_seed().as_str(),
        "identities": { "first": email, "second": oidc_email },
        "tokens": { "first": first, "second": second },
    });
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .arg(input.to_string())
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

    // Enrolled with both, a key of each's own.
    let signers: Vec<PublicKey> = seen["signers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| PublicKey::parse(k.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(signers.len(), 2);
    assert_ne!(signers[0], signers[1]);
    let address = account.public_key().to_string();
    for (srv, token, key) in [
        (&email_server, &first, signers[0]),
        (&oidc_server, &second, signers[1]),
    ] {
        let (status, got) = get_account(srv, &address, token).await;
        assert_eq!(status, 200, "{got}");
        assert_eq!(got["signers"], json!([{ "key": key.to_string() }]));
    }
    // Read back by the SDK with the identity tokens.
    for k in ["first", "second"] {
        assert_eq!(seen["info"][k]["address"], address);
        assert_eq!(
            seen["info"][k]["identities"],
            json!([{ "role": "owner", "authenticated": true }])
        );
    }
    // The registration transaction adds both servers' keys as signers.
    let registration = envelope::decode(seen["registration"].as_str().unwrap()).unwrap();
    let (tx, _) = envelope::transaction(&registration).unwrap();
    let added: Vec<String> = tx
        .operations
        .iter()
        .filter_map(|op| match &op.body {
            mooring_stellar::xdr::OperationBody::SetOptions(s) => s.signer.as_ref(),
            _ => None,
        })
        .map(|s| match &s.key {
            mooring_stellar::xdr::SignerKey::Ed25519(k) => PublicKey::from_bytes(k.0).to_string(),
            _ => String::new(),
        })
        .collect();
    for key in &signers {
        assert!(added.contains(&key.to_string()), "{added:?}");
    }

    // Recovered: both servers signed the new device key's transaction;
    // the signatures verify in the SDK and here, over the same hash.
    assert_eq!(seen["verified"], json!([true, true]));
    let recovered = envelope::decode(seen["recovery"].as_str().unwrap()).unwrap();
    let (tx, signatures) = envelope::transaction(&recovered).unwrap();
    let hash = envelope::hash(&tx, &email_server.network);
    assert_eq!(hex::encode(hash), seen["hash"].as_str().unwrap());
    for key in &signers {
        assert!(
            signatures
                .iter()
                .any(|s| envelope::signed_by(&hash, s, key)),
            "{key} signed"
        );
    }
    email_server.stop().await;
    oidc_server.stop().await;
}

on_both_engines!(wallet_sdk_recovers_with_two_servers);
