//! A small OpenID Connect provider on loopback: discovery, an authorization
//! endpoint that signs in whoever the test says (and redirects back with a
//! code), a token endpoint that checks the client, the redirect URI and the
//! PKCE verifier and returns an ID token signed with its own Ed25519 key,
//! and the JWKS to check it with.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use serde_json::json;
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "mooring-test-client";
pub const CLIENT_SECRET: &str = "test-client-secret";

/// Mooring's configuration for an OpenID Connect provider at `issuer`
/// (the test client's id and secret); tests adjust the rest.
pub fn config(name: &str, issuer: &str) -> mooring_server::config::OidcConfig {
    mooring_server::config::OidcConfig {
        name: name.into(),
        label: None,
        kind: Default::default(),
        issuer: Some(issuer.parse().unwrap()),
        api_url: None,
        client_id: CLIENT_ID.into(),
        client_secret: Some(CLIENT_SECRET.to_owned().into()),
        client_secret_file: None,
        allowed_email_domains: vec![],
        scopes: vec!["openid".into(), "email".into()],
    }
}

/// Who signs in next, and how the provider should misbehave.
#[derive(Debug, Clone)]
pub struct Person {
    pub email: String,
    pub email_verified: bool,
    /// Send back a nonce other than the one asked for.
    pub wrong_nonce: bool,
}

impl Person {
    /// Someone with a verified address, the provider behaving.
    pub fn verified(email: &str) -> Person {
        Person {
            email: email.into(),
            email_verified: true,
            wrong_nonce: false,
        }
    }
}

struct Grant {
    nonce: String,
    challenge: String,
    redirect_uri: String,
    person: Person,
}

struct Inner {
    issuer: String,
    key: ed25519_dalek::SigningKey,
    person: Mutex<Person>,
    grants: Mutex<HashMap<String, Grant>>,
}

#[derive(Clone)]
pub struct OidcProvider {
    pub issuer: String,
    inner: Arc<Inner>,
}

impl OidcProvider {
    pub async fn start() -> OidcProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let inner = Arc::new(Inner {
            issuer: issuer.clone(),
            key: ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng),
            person: Mutex::new(Person::verified("someone@example.com")),
            grants: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        OidcProvider { issuer, inner }
    }

    /// The person the next sign-in is for.
    pub fn sign_in_as(&self, person: Person) {
        *self.inner.person.lock().unwrap() = person;
    }
}

async fn discovery(State(s): State<Arc<Inner>>) -> Json<serde_json::Value> {
    Json(json!({
        "issuer": s.issuer,
        "authorization_endpoint": format!("{}/authorize", s.issuer),
        "token_endpoint": format!("{}/token", s.issuer),
        "jwks_uri": format!("{}/jwks", s.issuer),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn authorize(
    State(s): State<Arc<Inner>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID
        || get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || !get("scope").split(' ').any(|s| s == "openid")
    {
        return (StatusCode::BAD_REQUEST, "bad authorization request").into_response();
    }
    let code = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
    s.grants.lock().unwrap().insert(
        code.clone(),
        Grant {
            nonce: get("nonce"),
            challenge: get("code_challenge"),
            redirect_uri: get("redirect_uri"),
            person: s.person.lock().unwrap().clone(),
        },
    );
    let mut back = url::Url::parse(&get("redirect_uri")).unwrap();
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &get("state"));
    (StatusCode::FOUND, [(header::LOCATION, back.to_string())]).into_response()
}

async fn token(State(s): State<Arc<Inner>>, Form(f): Form<HashMap<String, String>>) -> Response {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client" })),
        )
            .into_response();
    }
    // Codes are single-use.
    let Some(grant) = s.grants.lock().unwrap().remove(&get("code")) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "invalid_grant" })),
        )
            .into_response();
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes()));
    if get("grant_type") != "authorization_code"
        || get("redirect_uri") != grant.redirect_uri
        || challenge != grant.challenge
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "invalid_grant" })),
        )
            .into_response();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "iss": s.issuer,
        "sub": format!("user-{}", grant.person.email.len()),
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 300,
        "nonce": if grant.person.wrong_nonce { "another".to_owned() } else { grant.nonce },
        "email": grant.person.email,
        "email_verified": grant.person.email_verified,
    });
    let der = s.key.to_pkcs8_der().unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some("k1".into());
    let id_token = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes()),
    )
    .unwrap();
    Json(json!({ "access_token": "opaque", "token_type": "Bearer", "id_token": id_token }))
        .into_response()
}

async fn jwks(State(s): State<Arc<Inner>>) -> Json<serde_json::Value> {
    Json(json!({ "keys": [{
        "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "k1",
        "x": URL_SAFE_NO_PAD.encode(s.key.verifying_key().as_bytes()),
    }]}))
}

/// A stand-in for GitHub's OAuth2 and REST API on loopback: the web flow
/// (`/login/oauth/authorize`, `/login/oauth/access_token`, with PKCE) and
/// `GET /user/emails` for the token it issued.
#[derive(Clone)]
pub struct GitHub {
    pub url: String,
    inner: Arc<GitHubInner>,
}

struct GitHubInner {
    grants: Mutex<HashMap<String, (String, String)>>, // code → (challenge, redirect_uri)
    tokens: Mutex<Vec<String>>,
    emails: Mutex<serde_json::Value>,
}

impl GitHub {
    pub async fn start() -> GitHub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let inner = Arc::new(GitHubInner {
            grants: Mutex::new(HashMap::new()),
            tokens: Mutex::new(Vec::new()),
            emails: Mutex::new(json!([])),
        });
        let app = Router::new()
            .route("/login/oauth/authorize", get(gh_authorize))
            .route("/login/oauth/access_token", post(gh_token))
            .route("/user/emails", get(gh_emails))
            .with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        GitHub { url, inner }
    }

    /// The addresses `GET /user/emails` lists (GitHub's JSON shape).
    pub fn set_emails(&self, emails: serde_json::Value) {
        *self.inner.emails.lock().unwrap() = emails;
    }
}

async fn gh_authorize(
    State(s): State<Arc<GitHubInner>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID || get("scope") != "user:email" {
        return (StatusCode::BAD_REQUEST, "bad authorization request").into_response();
    }
    let code = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
    s.grants
        .lock()
        .unwrap()
        .insert(code.clone(), (get("code_challenge"), get("redirect_uri")));
    let mut back = url::Url::parse(&get("redirect_uri")).unwrap();
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &get("state"));
    (StatusCode::FOUND, [(header::LOCATION, back.to_string())]).into_response()
}

async fn gh_token(
    State(s): State<Arc<GitHubInner>>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let grant = s.grants.lock().unwrap().remove(&get("code"));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes()));
    match grant {
        Some((c, redirect))
            if c == challenge
                && redirect == get("redirect_uri")
                && get("client_id") == CLIENT_ID
                && get("client_secret") == CLIENT_SECRET =>
        {
            let token = format!("gho_{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()));
            s.tokens.lock().unwrap().push(token.clone());
            Json(json!({ "access_token": token, "token_type": "bearer", "scope": "user:email" }))
                .into_response()
        }
        // GitHub's way: 200 with an error.
        _ => Json(json!({ "error": "bad_verification_code" })).into_response(),
    }
}

async fn gh_emails(State(s): State<Arc<GitHubInner>>, headers: axum::http::HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    if !s.tokens.lock().unwrap().contains(&token) || !headers.contains_key(header::USER_AGENT) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "message": "Bad credentials" })),
        )
            .into_response();
    }
    Json(s.emails.lock().unwrap().clone()).into_response()
}
