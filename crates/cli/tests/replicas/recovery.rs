//! SEP-30 across replicas: an account registered through one replica is
//! signed for by each of them, with the same key and the same signature
//! (its signing key is stored encrypted in the database, under the shared
//! master key).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use mooring_stellar::{Keypair, PublicKey, envelope};
use reqwest::Method;
use serde_json::json;

use super::common::recovery::{tx, xdr};
use super::{Options, Setup};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_registered_on_one_replica_is_signed_for_on_every_one() {
    let Some(s) = Setup::start(3, Options::default()).await else {
        return;
    };
    let (owner, friend) = (Keypair::random(), Keypair::random());
    let account = owner.public_key();
    let owner_token = s.login(&owner).await;
    let body = json!({"identities": [{"role": "owner", "auth_methods": [
        {"type": "stellar_address", "value": friend.public_key().to_string()}]}]});
    let url = s.at(0).url(&format!("/accounts/{account}"));
    let (status, got) = s
        .call(Method::POST, &url, Some(&owner_token), Some(&body))
        .await;
    assert_eq!(status, 200, "registered on replica 0: {got}");
    let signer = got["signers"][0]["key"].as_str().unwrap().to_owned();
    let signer_key = PublicKey::parse(&signer).unwrap();

    let friend_token = s.login(&friend).await;
    let recovery = tx(&account, &[None, Some(account)]);
    let hash = envelope::hash(&recovery, &s.network());
    let body = json!({"transaction": xdr(&recovery)});
    let mut signatures = Vec::new();
    for i in 0..3 {
        let url = s.at(i).url(&format!("/accounts/{account}/sign/{signer}"));
        let (status, got) = s
            .call(Method::POST, &url, Some(&friend_token), Some(&body))
            .await;
        assert_eq!(status, 200, "signed on replica {i}: {got}");
        let sig = BASE64.decode(got["signature"].as_str().unwrap()).unwrap();
        assert!(
            signer_key.verify(&hash, &sig),
            "replica {i} signs with the account's key"
        );
        signatures.push(sig);
    }
    assert!(
        signatures.windows(2).all(|w| w[0] == w[1]),
        "ed25519 is deterministic: one key, one signature"
    );
    s.finish().await;
}
