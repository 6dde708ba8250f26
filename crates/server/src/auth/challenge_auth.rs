//! SEP-10 §Challenge §Request Header (v3.4.0): a server may require every
//! `GET /auth` to carry an `Authorization: Bearer <jwt>` signed (EdDSA) by
//! the client domain's SIGNING_KEY, or by the client account's key when no
//! client domain is named, whose claims repeat the request.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use mooring_stellar::PublicKey;
use serde::Deserialize;
use serde_json::Value;

use super::service::ChallengeParams;
use crate::http::Bearer;

/// Why a challenge request's authorization was refused. Statuses are the
/// spec's: missing 401, invalid 400, not allowed 403.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeAuthError {
    /// No `Authorization` header.
    #[error("Missing authorization header")]
    Missing,
    /// The header's JWT is not valid for this request.
    #[error("Provided authorization JWT is not valid: {0}")]
    Invalid(&'static str),
    /// The header's JWT has expired.
    #[error("Provided authorization JWT has been expired")]
    Expired,
    /// The application (client domain) may not authenticate here.
    #[error("Application {0} is not allowed to authenticate.")]
    NotAllowed(String),
}

#[derive(Deserialize)]
struct RequestClaims {
    exp: u64,
    #[allow(dead_code)]
    iat: u64,
    web_auth_endpoint: String,
    account: Option<Value>,
    memo: Option<Value>,
    home_domain: Option<Value>,
    client_domain: Option<Value>,
}

/// A claim as text: the spec's examples give the memo as a string, some
/// clients send a number.
fn text(v: &Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn param(p: &Option<String>) -> Option<String> {
    p.clone().filter(|s| !s.is_empty())
}

/// Verifies the request's JWT: signed by `key` with EdDSA, not expired,
/// `web_auth_endpoint` equal to ours, and every request parameter equal to
/// its claim ("Query parameters from claims must match request's parameters").
pub fn verify(
    token: &str,
    key: &PublicKey,
    endpoint: &str,
    params: &ChallengeParams,
    now: u64,
) -> Result<(), ChallengeAuthError> {
    let decoding = DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(key.as_bytes()))
        .map_err(|_| ChallengeAuthError::Invalid("the signing key is unusable"))?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<RequestClaims>(token, &decoding, &validation)
        .map_err(|_| {
            ChallengeAuthError::Invalid(
                "it must be an EdDSA JWT with iat, exp and web_auth_endpoint, signed by the client domain's SIGNING_KEY or else the account's key",
            )
        })?
        .claims;
    if now >= claims.exp {
        return Err(ChallengeAuthError::Expired);
    }
    if claims.web_auth_endpoint != endpoint {
        return Err(ChallengeAuthError::Invalid(
            "web_auth_endpoint does not match this endpoint",
        ));
    }
    let pairs = [
        (&params.account, &claims.account),
        (&params.memo, &claims.memo),
        (&params.home_domain, &claims.home_domain),
        (&params.client_domain, &claims.client_domain),
    ];
    if pairs.iter().any(|(p, c)| param(p) != text(c)) {
        return Err(ChallengeAuthError::Invalid(
            "its claims do not match the request's parameters",
        ));
    }
    Ok(())
}

/// The token of the request's `Authorization` header.
pub fn token(header: Bearer) -> Result<String, ChallengeAuthError> {
    match header {
        Bearer::Token(t) => Ok(t),
        Bearer::Missing => Err(ChallengeAuthError::Missing),
        Bearer::Malformed => Err(ChallengeAuthError::Invalid("expected `Bearer <jwt>`")),
    }
}
