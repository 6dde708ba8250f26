//! Signing keys: rotated by the operator, removed by the account, never
//! shared, and kept through a master key rotation.

use crate::common::recovery::{call, get_account, register, sign, tx, xdr};
use crate::common::{Engine, TestServer, assert_error};
use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::json;

async fn signing_keys_rotate_and_are_never_shared(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let friend = Keypair::random();
    let owner = Keypair::random();
    let account = owner.public_key();
    let first = register(&srv, &owner, &friend.public_key()).await;
    let second_account = register(&srv, &Keypair::random(), &friend.public_key()).await;
    assert_ne!(first, second_account, "each account has a key of its own");

    // Rotation by the operator: a new key, listed first; the old one works.
    let (status, rotated) = TestServer::send(srv.admin(
        Method::POST,
        &format!("/admin/recovery/accounts/{account}/signers"),
    ))
    .await;
    assert_eq!(status, 200, "{rotated}");
    let newest = rotated["signers"][0]["key"].as_str().unwrap().to_owned();
    assert_eq!(rotated["signers"][1]["key"], first);
    assert_ne!(newest, first);
    let friend_token = srv.token_for(&friend, None).await;
    let owner_token = srv.token_for(&owner, None).await;
    let (_, got) = get_account(&srv, &account, &friend_token).await;
    assert_eq!(got["signers"], rotated["signers"]);
    let good = xdr(&tx(&account, &[None]));
    for key in [&newest, &first] {
        let (status, _) = sign(
            &srv,
            &format!("/accounts/{account}/sign/{key}"),
            &friend_token,
            &good,
        )
        .await;
        assert_eq!(status, 200);
    }
    // Only the account itself removes an old key, never the last one.
    let remove = format!("/accounts/{account}/signers/{first}");
    assert_error(
        call(&srv, Method::DELETE, &remove, &friend_token, None).await,
        401,
        "only the account itself (a SEP-10 token for it) may remove a signing key",
    );
    let (status, got) = call(&srv, Method::DELETE, &remove, &owner_token, None).await;
    assert_eq!(status, 200);
    assert_eq!(got["signers"], json!([{ "key": newest }]));
    assert_error(
        sign(
            &srv,
            &format!("/accounts/{account}/sign/{first}"),
            &friend_token,
            &good,
        )
        .await,
        404,
        "signing key not found for this account",
    );
    assert_error(
        call(
            &srv,
            Method::DELETE,
            &format!("/accounts/{account}/signers/{newest}"),
            &owner_token,
            None,
        )
        .await,
        400,
        "the last signing key of an account cannot be removed; delete the account instead",
    );
    // The rotation is in the audit log, without personal data.
    let (_, audit) = TestServer::send(srv.admin(Method::GET, "/admin/audit")).await;
    assert!(audit.to_string().contains("recovery.add_signer"), "{audit}");
    srv.stop().await;
}

/// `mooring keys rotate` rewraps the accounts' data keys and the server
/// keys: after it, a server with only the new master key still finds the
/// identities (keyed hashes) and signs (sealed signing keys).
async fn keys_survive_a_master_key_rotation(engine: Engine) {
    const OLD: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const NEW: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    let mut srv = TestServer::start(engine).await;
    let owner = Keypair::random();
    let friend = Keypair::random();
    let signer = register(&srv, &owner, &friend.public_key()).await;
    srv.shutdown().await;
    let mut cfg =
        crate::common::base_config(srv.dir.path(), &srv.db.url, &srv.horizon.url, &srv.signing);
    cfg.secrets.master_key = Some(NEW.to_owned().into());
    cfg.secrets.previous_master_keys = vec![OLD.to_owned().into()];
    let rotated = mooring_server::rotate::rotate(&cfg).await.unwrap();
    assert_eq!(rotated.recovery, 1, "the account's key");
    assert_eq!(
        rotated.server, 3,
        "the server keys: SEP-30 lookups, sign-in state, rate limits"
    );
    let after = srv
        .replica_with(|c| {
            c.secrets.master_key = Some(NEW.to_owned().into());
            c.secrets.previous_master_keys = vec![];
        })
        .await;
    let token = after.token_for(&friend, None).await;
    let account = owner.public_key();
    let (status, got) = get_account(&after, &account, &token).await;
    assert_eq!(status, 200, "{got}");
    let (status, got) = sign(
        &after,
        &format!("/accounts/{account}/sign/{signer}"),
        &token,
        &xdr(&tx(&account, &[None])),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    drop(srv);
    after.stop().await;
}

crate::on_both_engines!(
    keys_survive_a_master_key_rotation,
    signing_keys_rotate_and_are_never_shared,
);
