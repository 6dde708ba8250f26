//! SEP-1 discovery, the JWKS, operations endpoints, error shapes, CORS and
//! the auth extractor, over real HTTP on SQLite and PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use common::{Engine, TestServer, assert_error, header};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use mooring_server::http::{Authenticated, Principal};
use mooring_stellar::stellar_toml::StellarToml;
use serde_json::{Value, json};
use tower::ServiceExt as _;

async fn stellar_toml_is_generated_from_configuration(engine: Engine) {
    let srv = TestServer::start_with(engine, |c| {
        let doc: toml::Table = toml::from_str("ORG_NAME = \"Example Anchor\"").unwrap();
        c.stellar_toml.documentation = Some(doc);
        let cur: toml::Table = toml::from_str(
            "code = \"USDC\"\nissuer = \"GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN\"",
        )
        .unwrap();
        c.stellar_toml.currencies = vec![cur];
    })
    .await;
    let res = srv.get("/.well-known/stellar.toml").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert!(header(&res, "content-type").starts_with("text/plain"));
    let text = res.text().await.unwrap();
    let toml = StellarToml::parse(&text).unwrap();
    assert_eq!(toml.signing_key().unwrap(), srv.signing.public_key());
    assert_eq!(
        toml.network_passphrase.as_deref(),
        Some("Test SDF Network ; September 2015")
    );
    assert_eq!(
        toml.web_auth_endpoint.as_deref(),
        Some(srv.url("/auth").as_str())
    );
    assert_eq!(toml.version.as_deref(), Some("2.7.0"));
    let raw: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(
        raw["DOCUMENTATION"]["ORG_NAME"].as_str(),
        Some("Example Anchor")
    );
    assert_eq!(raw["CURRENCIES"][0]["code"].as_str(), Some("USDC"));
    assert!(text.len() < 100 * 1024, "SEP-1 size limit");
    srv.stop().await;
}

async fn jwks_verifies_issued_tokens(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (kp, token) = srv.login().await;
    let jwks = srv.get_json("/.well-known/jwks.json").await;
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), key["kid"].as_str());
    let decoding = DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_issuer(&[srv.url("/auth")]);
    v.validate_aud = false;
    let data = jsonwebtoken::decode::<Value>(&token, &decoding, &v).unwrap();
    assert_eq!(data.claims["sub"], kp.public_key().to_string());
    srv.stop().await;
}

async fn hs256_tokens_verify_with_the_shared_secret(engine: Engine) {
    let secret = "0123456789abcdef0123456789abcdef-shared";
    let srv = TestServer::start_with(engine, |c| {
        c.sep10.jwt_algorithm = mooring_server::config::JwtAlgorithm::HS256;
        c.secrets.jwt_secret = Some(secret.into());
    })
    .await;
    let (_, token) = srv.login().await;
    let mut v = Validation::new(Algorithm::HS256);
    v.validate_aud = false;
    assert!(
        jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_secret(secret.as_bytes()), &v)
            .is_ok()
    );
    let jwks = srv.get_json("/.well-known/jwks.json").await;
    assert_eq!(
        jwks,
        json!({"keys": []}),
        "a shared secret is never published"
    );
    // Whoever holds the secret could date a token ahead: one issued more
    // than the clock skew in the future is refused, like any invalid one.
    let key = DecodingKey::from_secret(secret.as_bytes());
    let issued = jsonwebtoken::decode::<Value>(&token, &key, &v)
        .unwrap()
        .claims;
    let ahead = |secs: u64| {
        let mut claims = issued.clone();
        let iat = claims["iat"].as_u64().unwrap() + secs;
        claims["iat"] = json!(iat);
        claims["exp"] = json!(iat + 3600);
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let future = ahead(11 * 86_400);
    let status = |t: String| {
        let req = srv.http.get(srv.url("/customer")).bearer_auth(t);
        async move { TestServer::send(req).await }
    };
    assert_error(
        status(future).await,
        401,
        "authentication token is not valid",
    );
    let (code, _) = status(ahead(0)).await;
    assert_eq!(code, 200, "a token dated now is accepted");
    srv.stop().await;
}

async fn health_answers_ok(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let res = srv.get("/health").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    srv.stop().await;
}

async fn unknown_routes_and_methods_answer_json(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let res = srv.get("/nope").await;
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let status = res.status().as_u16();
    assert_error((status, res.json().await.unwrap()), 404, "no such endpoint");
    let res = srv.http.delete(srv.url("/auth")).send().await.unwrap();
    let status = res.status().as_u16();
    assert_error(
        (status, res.json().await.unwrap()),
        405,
        "method not allowed on this endpoint",
    );
    srv.stop().await;
}

async fn cors_preflight_is_answered(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let res = srv
        .http
        .request(reqwest::Method::OPTIONS, srv.url("/auth"))
        .header("origin", "https://wallet.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let methods = header(&res, "access-control-allow-methods").to_owned();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let headers = header(&res, "access-control-allow-headers").to_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    srv.stop().await;
}

async fn responses_carry_a_request_id(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let res = srv.get("/health").await;
    let id = header(&res, "x-request-id");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let res = srv
        .http
        .get(srv.url("/health"))
        .header("x-request-id", "lb-123")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["x-request-id"],
        "lb-123",
        "an id from the load balancer is kept"
    );
    srv.stop().await;
}

/// A route that needs authentication, mounted on the real server's state,
/// driven with `oneshot` (the extractor has no endpoint of its own yet).
async fn whoami(srv: &TestServer, req: Request<Body>) -> (u16, Value) {
    let app = axum::Router::new()
        .route(
            "/whoami",
            get(|Authenticated(p): Authenticated| async move {
                axum::Json(json!({
                    "account": p.account.to_string(),
                    "memo": p.memo.map(|m| m.value()),
                    "client_domain": p.client_domain,
                }))
            }),
        )
        .route("/sep31", get(|_: Authenticated<403>| async { "ok" }))
        .with_state(srv.state.clone());
    let res = app.oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let body = axum::body::to_bytes(res.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn auth_extractor_reads_bearer_and_query_tokens(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (kp, token) = srv.login().await;
    let get = |uri: String, auth: Option<String>| {
        let mut b = Request::get(uri);
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        b.body(Body::empty()).unwrap()
    };
    let (status, body) = whoami(&srv, get("/whoami".into(), Some(format!("Bearer {token}")))).await;
    assert_eq!(status, 200);
    assert_eq!(body["account"], kp.public_key().to_string());
    let (status, body) = whoami(&srv, get(format!("/whoami?jwt={token}"), None)).await;
    assert_eq!(
        (status, body["account"].clone()),
        (200, json!(kp.public_key().to_string()))
    );

    let missing = "missing authentication: send Authorization: Bearer <SEP-10 JWT>";
    assert_error(
        whoami(&srv, get("/whoami".into(), None)).await,
        401,
        missing,
    );
    assert_error(
        whoami(&srv, get("/whoami".into(), Some("Basic abc".into()))).await,
        401,
        missing,
    );
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert_error(
        whoami(
            &srv,
            get("/whoami".into(), Some(format!("Bearer {forged}"))),
        )
        .await,
        401,
        "authentication token is not valid",
    );
    // SEP-31 and SEP-38 answer 403 instead of 401.
    assert_eq!(
        whoami(&srv, get("/sep31".into(), None)).await.0,
        StatusCode::FORBIDDEN.as_u16()
    );
    srv.stop().await;
}

async fn auth_extractor_refuses_expired_tokens(engine: Engine) {
    let srv = TestServer::start_with(engine, |c| c.sep10.jwt_expiry_secs = 60).await;
    let (_, token) = srv.login().await;
    srv.clock.advance(59);
    let req = Request::get("/whoami")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(whoami(&srv, req).await.0, 200);
    srv.clock.advance(1);
    let req = Request::get("/whoami")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_error(
        whoami(&srv, req).await,
        401,
        "authentication token has expired; authenticate again with SEP-10",
    );
    srv.stop().await;
}

#[test]
fn principal_of_a_memo_token_names_the_memo() {
    let (a, m) =
        Principal::parse_sub("GDRXE2BQUC3AZNPVFSCEZ76NJ3WWL25FYFK6RGZGIEKWE4SOOHSUJUJ6:9").unwrap();
    assert_eq!(
        a.to_string(),
        "GDRXE2BQUC3AZNPVFSCEZ76NJ3WWL25FYFK6RGZGIEKWE4SOOHSUJUJ6"
    );
    assert_eq!(m.unwrap().value(), 9);
}

/// Every route that takes a body answers a declared-too-large one with 413
/// at once, before a byte of it is sent (each on a connection of its own:
/// the server closes it with the body unread).
async fn every_body_is_refused_by_its_declared_length(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (kp, token) = srv.login().await;
    let account = kp.public_key().to_string();
    let routes = [
        ("POST", "/auth".to_owned(), "application/json"),
        (
            "POST",
            "/auth".to_owned(),
            "application/x-www-form-urlencoded",
        ),
        ("PUT", "/customer/callback".to_owned(), "application/json"),
        (
            "PUT",
            "/customer/verification".to_owned(),
            "application/json",
        ),
        ("DELETE", format!("/customer/{account}"), "application/json"),
        (
            "POST",
            "/authorize/code".to_owned(),
            "application/x-www-form-urlencoded",
        ),
        (
            "POST",
            "/authorize/password".to_owned(),
            "application/x-www-form-urlencoded",
        ),
        (
            "POST",
            "/authorize/signup".to_owned(),
            "application/x-www-form-urlencoded",
        ),
    ];
    for (method, path, content_type) in routes {
        let answer = srv
            .declared_body(method, &path, &token, content_type, 1 << 30)
            .await;
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "{method} {path}: {answer}"
        );
        if path.starts_with("/authorize") {
            // The sign-in's forms answer with a page for the person.
            assert!(
                answer.contains("request body is too large: the limit is 65536 bytes"),
                "{method} {path}: {answer}"
            );
        } else {
            assert!(
                answer.ends_with(
                    r#"{"error":"request body is too large: the limit is 65536 bytes"}"#
                ),
                "{method} {path}: {answer}"
            );
        }
    }
    assert_eq!(srv.get_json("/health").await, json!({"status": "ok"}));
    srv.stop().await;
}

on_both_engines!(
    every_body_is_refused_by_its_declared_length,
    stellar_toml_is_generated_from_configuration,
    jwks_verifies_issued_tokens,
    hs256_tokens_verify_with_the_shared_secret,
    health_answers_ok,
    unknown_routes_and_methods_answer_json,
    cors_preflight_is_answered,
    responses_carry_a_request_id,
    auth_extractor_reads_bearer_and_query_tokens,
    auth_extractor_refuses_expired_tokens,
);
