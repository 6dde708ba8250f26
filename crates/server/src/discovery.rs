//! SEP-1: the `stellar.toml` this server publishes, generated once at start
//! from the configuration.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use mooring_stellar::PublicKey;
use toml::{Table, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::state::{AppState, With};

/// The SEP-1 version the generated file follows.
pub const SEP1_VERSION: &str = "2.7.0";

/// `/.well-known/stellar.toml`, the JWKS and `/health`; the state holds
/// the rendered stellar.toml.
pub fn router() -> OpenApiRouter<With<String>> {
    OpenApiRouter::new()
        .routes(routes!(stellar_toml_file))
        .routes(routes!(jwks))
        .routes(routes!(health))
}

/// SEP-1: `GET /.well-known/stellar.toml`.
#[utoipa::path(
    get, path = "/.well-known/stellar.toml", tag = "SEP-1", operation_id = "sep1_stellar_toml",
    summary = "The anchor's stellar.toml (SEP-1)",
    responses((status = 200, description = "The file, TOML.", content_type = "text/plain", body = String)),
)]
async fn stellar_toml_file(State(toml): State<With<String>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        toml.service.as_str().to_owned(),
    )
        .into_response()
}

/// The public key(s) session JWTs are signed with, as a JWKS.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "SEP-1", operation_id = "jwks",
    summary = "The keys session tokens are signed with (RFC 7517 JWK Set)",
    responses((status = 200, description = "A JWK Set.", content_type = "application/json", body = Jwks)),
)]
async fn jwks(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        state.jwt().jwks().to_owned(),
    )
        .into_response()
}

/// Liveness and readiness: 200 when the database answers.
#[utoipa::path(
    get, path = "/health", tag = "SEP-1", operation_id = "health",
    summary = "Liveness and readiness",
    responses(
        (status = 200, description = "The server and its database answer.", body = Health),
        (status = 503, description = "The database does not answer.", body = ErrorBody),
    ),
)]
async fn health(State(state): State<AppState>) -> Result<Response, ApiError> {
    state
        .db()
        .ping()
        .await
        .map_err(|_| ApiError::unavailable("database unavailable"))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        r#"{"status":"ok"}"#,
    )
        .into_response())
}

/// `GET /health`'s body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // described, written as a literal
struct Health {
    /// Always `ok`.
    #[schema(pattern = "^ok$")]
    status: String,
}

/// A JWK Set (RFC 7517 §5).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // described, rendered by [`crate::jwt`]
struct Jwks {
    keys: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// Renders stellar.toml: the fields Mooring serves (SEP-1 §General
/// Information), then the operator's ACCOUNTS, DOCUMENTATION, PRINCIPALS and
/// CURRENCIES as configured.
pub fn render(config: &Config, signing_key: &PublicKey) -> String {
    let mut t = Table::new();
    let mut put = |k: &str, v: String| {
        t.insert(k.to_owned(), Value::String(v));
    };
    put("VERSION", SEP1_VERSION.into());
    put(
        "NETWORK_PASSPHRASE",
        config.stellar.network_passphrase.clone(),
    );
    put("SIGNING_KEY", signing_key.to_string());
    put("WEB_AUTH_ENDPOINT", config.endpoint("/auth"));
    if config.sep12.enabled {
        put("KYC_SERVER", config.endpoint(""));
    }
    if config.sep38.enabled {
        put("ANCHOR_QUOTE_SERVER", config.endpoint("/sep38"));
    }
    if config.sep31.enabled {
        put("DIRECT_PAYMENT_SERVER", config.endpoint("/sep31"));
    }
    let op = &config.stellar_toml;
    if !op.accounts.is_empty() {
        t.insert(
            "ACCOUNTS".into(),
            Value::Array(op.accounts.iter().cloned().map(Value::String).collect()),
        );
    }
    // Always present, even empty: published wallets (the TypeScript wallet
    // SDK among them) fail on a stellar.toml without a DOCUMENTATION table.
    t.insert(
        "DOCUMENTATION".into(),
        Value::Table(op.documentation.clone().unwrap_or_default()),
    );
    let tables = |v: &[Table]| Value::Array(v.iter().cloned().map(Value::Table).collect());
    if !op.principals.is_empty() {
        t.insert("PRINCIPALS".into(), tables(&op.principals));
    }
    if !op.currencies.is_empty() {
        t.insert("CURRENCIES".into(), tables(&op.currencies));
    }
    let body = toml::to_string(&t).expect("a TOML table always renders");
    format!(
        "# Generated by Mooring {} from its configuration.\n{body}",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use mooring_stellar::Keypair;
    use mooring_stellar::stellar_toml::StellarToml;

    #[test]
    fn generated_file_parses_and_carries_operator_sections() {
        let cfg = Config::from_toml(
            "[stellar_toml.documentation]\nORG_NAME = \"Example Anchor\"\n\
             [[stellar_toml.currencies]]\ncode = \"USDC\"\nissuer = \"GDRXE2BQUC3AZNPVFSCEZ76NJ3WWL25FYFK6RGZGIEKWE4SOOHSUJUJ6\"\n",
        )
        .unwrap()
        .config;
        let kp = Keypair::random();
        let text = render(&cfg, &kp.public_key());
        let parsed = StellarToml::parse(&text).unwrap();
        assert_eq!(parsed.signing_key().unwrap(), kp.public_key());
        assert_eq!(
            parsed.web_auth_endpoint.as_deref(),
            Some("http://localhost:8000/auth")
        );
        let raw: Table = toml::from_str(&text).unwrap();
        assert_eq!(
            raw["DOCUMENTATION"]["ORG_NAME"].as_str(),
            Some("Example Anchor")
        );
        assert_eq!(raw["CURRENCIES"][0]["code"].as_str(), Some("USDC"));
    }
}
