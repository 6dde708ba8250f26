//! Who may call: SEP-10 tokens of this server and of trusted ones, and
//! every refused token.

use crate::common::recovery::{alg_none, body, call};
use crate::common::{Engine, TestServer, assert_error};
use mooring_server::clock::Clock as _;
use mooring_server::config::TrustedSep10Config;
use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::{Value, json};

async fn who_may_call(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let owner = Keypair::random();
    let other = Keypair::random();
    let addr = owner.public_key().to_string();
    let path = format!("/accounts/{addr}");
    let ids = body(&[("owner", &[("email", "a@example.com")])]);
    let no_token = TestServer::send(srv.http.post(srv.url(&path)).json(&ids)).await;
    assert_error(
        no_token,
        401,
        "missing authentication: send Authorization: Bearer <SEP-10 or identity-provider JWT>",
    );
    // SEP-30 reads the header only, never ?jwt=.
    let token = srv.token_for(&owner, None).await;
    let query = TestServer::send(
        srv.http
            .get(srv.url(&format!("{path}?jwt={token}")))
            .json(&ids),
    )
    .await;
    assert_eq!(query.0, 401);
    assert_error(
        call(&srv, Method::GET, &path, "not.a.jwt", None).await,
        401,
        "authentication token is not valid",
    );
    // §POST: only a SEP-10 token for that very account.
    let other_token = srv.token_for(&other, None).await;
    assert_error(
        call(&srv, Method::POST, &path, &other_token, Some(&ids)).await,
        401,
        "registering an account needs a SEP-10 token for that account",
    );
    // A memo names a user of a shared account, not its controller.
    let memo_token = srv.token_for(&owner, Some(7)).await;
    assert_error(
        call(&srv, Method::POST, &path, &memo_token, Some(&ids)).await,
        401,
        "SEP-30 needs a SEP-10 token for a G… account, without a memo",
    );
    // An expired token.
    let now = srv.clock.now();
    srv.clock.set(now + 25 * 3600);
    assert_error(
        call(&srv, Method::POST, &path, &token, Some(&ids)).await,
        401,
        "authentication token has expired; authenticate again",
    );
    srv.clock.set(now);
    // A token of another server (same shape, another key and issuer).
    let elsewhere = TestServer::start(engine).await;
    let foreign = elsewhere.token_for(&owner, None).await;
    assert_error(
        call(&srv, Method::POST, &path, &foreign, Some(&ids)).await,
        401,
        "authentication token is from an issuer this server does not accept",
    );
    elsewhere.stop().await;
    // An `alg: none` token claiming this server's issuer.
    let claims = crate::common::claims(&token);
    let none = alg_none(&claims);
    assert_error(
        call(&srv, Method::POST, &path, &none, Some(&ids)).await,
        401,
        "authentication token is not valid",
    );
    srv.stop().await;
}

async fn tokens_of_trusted_sep10_servers(engine: Engine) {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let other = TestServer::start(engine).await;
    let jwks_url = other.url("/.well-known/jwks.json").parse().unwrap();
    let issuer = other.url("/auth");
    let shared = "a-secret-shared-with-hmac.example-0123456789";
    let srv = TestServer::start_with(engine, move |c| {
        c.sep30.trusted_sep10.push(TrustedSep10Config {
            issuer,
            jwks_url: Some(jwks_url),
            secret: None,
            secret_file: None,
        });
        c.sep30.trusted_sep10.push(TrustedSep10Config {
            issuer: "https://hmac.example/auth".into(),
            jwks_url: None,
            secret: Some(shared.to_owned().into()),
            secret_file: None,
        });
    })
    .await;
    let owner = Keypair::random();
    let addr = owner.public_key().to_string();
    let path = format!("/accounts/{addr}");
    let ids = body(&[("owner", &[("email", "t@example.com")])]);

    // The other server's EdDSA token, checked against its JWKS.
    let foreign = other.token_for(&owner, None).await;
    let (status, got) = call(&srv, Method::POST, &path, &foreign, Some(&ids)).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(call(&srv, Method::GET, &path, &foreign, None).await.0, 200);

    // HS256 tokens of the server sharing a secret.
    let now = srv.clock.now();
    let mint = |claims: Value, secret: &str| {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let iss = "https://hmac.example/auth";
    let good = mint(
        json!({ "iss": iss, "sub": addr, "iat": now, "exp": now + 300 }),
        shared,
    );
    assert_eq!(call(&srv, Method::GET, &path, &good, None).await.0, 200);
    let not_valid = "authentication token is not valid";
    for (claims, secret, error) in [
        (
            json!({ "iss": iss, "sub": addr, "iat": now }),
            shared,
            not_valid,
        ),
        (
            json!({ "iss": iss, "sub": addr, "exp": now + 300 }),
            shared,
            not_valid,
        ),
        (
            json!({ "iss": iss, "iat": now, "exp": now + 300 }),
            shared,
            not_valid,
        ),
        (
            json!({ "iss": iss, "sub": addr, "iat": now, "exp": now + 300 }),
            "another-secret-of-the-same-length-0123456",
            not_valid,
        ),
        (
            json!({ "iss": iss, "sub": addr, "iat": now - 600, "exp": now - 300 }),
            shared,
            "authentication token has expired; authenticate again",
        ),
        (
            json!({ "iss": iss, "sub": owner.secret_seed().as_str(), "iat": now, "exp": now + 300 }),
            shared,
            "SEP-30 needs a SEP-10 token for a G… account, without a memo",
        ),
        (
            json!({ "iss": iss, "sub": format!("{addr}:5"), "iat": now, "exp": now + 300 }),
            shared,
            "SEP-30 needs a SEP-10 token for a G… account, without a memo",
        ),
        (
            json!({ "iss": "https://untrusted.example/auth", "sub": addr, "iat": now, "exp": now + 300 }),
            shared,
            "authentication token is from an issuer this server does not accept",
        ),
    ] {
        let token = mint(claims.clone(), secret);
        assert_error(
            call(&srv, Method::GET, &path, &token, None).await,
            401,
            error,
        );
    }
    // `alg: none` in the name of a trusted issuer.
    let none = alg_none(&json!({ "iss": iss, "sub": addr, "iat": now, "exp": now + 300 }));
    assert_error(
        call(&srv, Method::GET, &path, &none, None).await,
        401,
        not_valid,
    );
    // A JWKS issuer's name on an HS256 token signed with its public key.
    let jwks = other.get_json("/.well-known/jwks.json").await;
    let x = jwks["keys"][0]["x"].as_str().unwrap().to_owned();
    let confused = mint(
        json!({ "iss": other.url("/auth"), "sub": addr, "iat": now, "exp": now + 300 }),
        &x,
    );
    assert_error(
        call(&srv, Method::GET, &path, &confused, None).await,
        401,
        not_valid,
    );
    srv.stop().await;
    other.stop().await;
}

crate::on_both_engines!(tokens_of_trusted_sep10_servers, who_may_call,);
