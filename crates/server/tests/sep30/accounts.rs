//! The accounts' lifecycle: registration, reads, updates, listing and
//! deletion, each caller seeing what it may reach.

use crate::common::recovery::{body, call, register};
use crate::common::{Engine, TestServer, assert_error, texts};
use mooring_stellar::{Keypair, PublicKey};
use reqwest::Method;
use serde_json::json;

async fn lifecycle(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let owner = Keypair::random();
    let friend = Keypair::random();
    let stranger = Keypair::random();
    let addr = owner.public_key().to_string();
    let owner_token = srv.token_for(&owner, None).await;
    let friend_token = srv.token_for(&friend, None).await;
    let stranger_token = srv.token_for(&stranger, None).await;
    let path = format!("/accounts/{addr}");
    let identities = body(&[
        (
            "sender",
            &[
                ("stellar_address", &owner.public_key().to_string()),
                ("email", "Owner@Example.com"),
            ],
        ),
        (
            "receiver",
            &[
                ("stellar_address", &friend.public_key().to_string()),
                ("phone_number", "+14155550100"),
            ],
        ),
    ]);

    // §POST: the account itself registers; the answer has roles, never methods.
    let (status, created) = call(&srv, Method::POST, &path, &owner_token, Some(&identities)).await;
    assert_eq!(status, 200, "{created}");
    let signer = created["signers"][0]["key"].as_str().unwrap().to_owned();
    assert!(PublicKey::parse(&signer).is_ok());
    assert_ne!(signer, addr);
    assert_eq!(
        created,
        json!({
            "address": addr,
            "identities": [{ "role": "sender", "authenticated": true }, { "role": "receiver" }],
            "signers": [{ "key": signer }],
        })
    );
    assert!(!created.to_string().contains("example.com"));

    // Once only.
    assert_error(
        call(&srv, Method::POST, &path, &owner_token, Some(&identities)).await,
        409,
        "account is already registered",
    );

    // §GET: the owner, and an identity (with its own role authenticated).
    let (status, got) = call(&srv, Method::GET, &path, &owner_token, None).await;
    assert_eq!((status, &got), (200, &created));
    let (status, got) = call(&srv, Method::GET, &path, &friend_token, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        got["identities"],
        json!([{ "role": "sender" }, { "role": "receiver", "authenticated": true }])
    );

    // Someone else gets exactly what an unknown account gets.
    let unknown = format!("/accounts/{}", Keypair::random().public_key());
    for p in [&path, &unknown] {
        assert_error(
            call(&srv, Method::GET, p, &stranger_token, None).await,
            404,
            "account not found",
        );
        assert_error(
            call(&srv, Method::PUT, p, &stranger_token, Some(&identities)).await,
            404,
            "account not found",
        );
        assert_error(
            call(&srv, Method::DELETE, p, &stranger_token, None).await,
            404,
            "account not found",
        );
    }

    // §GET /accounts: each caller sees what it may reach.
    let (status, list) = call(&srv, Method::GET, "/accounts", &friend_token, None).await;
    assert_eq!(status, 200);
    assert_eq!(list["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(list["accounts"][0]["address"], addr);
    let (_, list) = call(&srv, Method::GET, "/accounts", &stranger_token, None).await;
    assert_eq!(list, json!({ "accounts": [] }));

    // §PUT replaces identities: the friend is out, the stranger in.
    let replaced = body(&[(
        "owner",
        &[("stellar_address", &stranger.public_key().to_string())],
    )]);
    let (status, got) = call(&srv, Method::PUT, &path, &friend_token, Some(&replaced)).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        got["identities"],
        json!([{ "role": "owner" }]),
        "the friend is no longer an identity"
    );
    assert_error(
        call(&srv, Method::GET, &path, &friend_token, None).await,
        404,
        "account not found",
    );
    let (status, got) = call(&srv, Method::GET, &path, &stranger_token, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        got["identities"],
        json!([{ "role": "owner", "authenticated": true }])
    );
    // The account itself keeps access without being an identity.
    assert_eq!(
        call(&srv, Method::GET, &path, &owner_token, None).await.0,
        200
    );

    // §DELETE answers with what was deleted; then it is gone for everyone.
    let (status, got) = call(&srv, Method::DELETE, &path, &stranger_token, None).await;
    assert_eq!(status, 200);
    assert_eq!(got["address"], addr);
    assert_eq!(got["signers"], json!([{ "key": signer }]));
    for t in [&owner_token, &stranger_token] {
        assert_error(
            call(&srv, Method::GET, &path, t, None).await,
            404,
            "account not found",
        );
    }
    // And can be registered afresh, with a new key.
    let (status, again) = call(&srv, Method::POST, &path, &owner_token, Some(&identities)).await;
    assert_eq!(status, 200);
    assert_ne!(again["signers"][0]["key"], signer);
    srv.stop().await;
}

async fn listing_pages_by_address(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let friend = Keypair::random();
    let mut registered = vec![];
    for _ in 0..23 {
        let kp = Keypair::random();
        register(&srv, &kp, &friend.public_key()).await;
        registered.push(kp.public_key().to_string());
    }
    registered.sort();
    let token = srv.token_for(&friend, None).await;
    let (status, page1) = call(&srv, Method::GET, "/accounts", &token, None).await;
    assert_eq!(status, 200);
    let page1 = texts(&page1["accounts"], "address");
    assert_eq!(page1, registered[..20]);
    let (_, page2) = call(
        &srv,
        Method::GET,
        &format!("/accounts?after={}", page1[19]),
        &token,
        None,
    )
    .await;
    let page2 = texts(&page2["accounts"], "address");
    assert_eq!(page2, registered[20..]);
    srv.stop().await;
}

crate::on_both_engines!(lifecycle, listing_pages_by_address,);
