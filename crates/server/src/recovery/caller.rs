//! Who calls a SEP-30 endpoint (§Authentication): a SEP-10 token proves a
//! Stellar account; an identity-provider token (issued by this server's
//! `/authorize` flow) proves an email address or phone number. Only the
//! `Authorization` header is read — SEP-30 has no `?jwt=`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mooring_stellar::{ClientAccount, PublicKey};
use serde::{Deserialize, Serialize};

use super::Recovery;
use super::model::{AuthMethod, MethodType};
use crate::error::ApiError;
use crate::http::{Principal, bearer};
use crate::jwt::JwtError;
use crate::state::With;

/// The claims of an identity-provider token (the seed's access token: a
/// JWT naming `auth_method_type` and `auth_method_value`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderClaims {
    /// This server's `/authorize` URL.
    pub iss: String,
    /// The proven value, as in `auth_method_value`.
    pub sub: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expires at, Unix seconds.
    pub exp: u64,
    /// A random token id.
    pub jti: String,
    /// `email` or `phone_number`.
    pub auth_method_type: String,
    /// The normalised value.
    pub auth_method_value: String,
}

/// An authenticated SEP-30 caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The account a SEP-10 token proves control of.
    pub account: Option<PublicKey>,
    /// What the caller proved, as auth methods (a SEP-10 caller proves its
    /// `stellar_address`).
    pub methods: Vec<AuthMethod>,
}

/// Tokens may be issued this far in the future (clock skew between replicas).
const SKEW: u64 = crate::jwt::CLOCK_SKEW;

fn refuse(msg: &'static str) -> ApiError {
    ApiError::unauthorized(msg)
}

/// The `iss` a token claims, read before any check only to pick the key
/// that verifies it.
fn claimed_issuer(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Iss>(&bytes).ok().map(|i| i.iss)
}

impl FromRequestParts<With<Recovery>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &With<Recovery>,
    ) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers).token().ok_or_else(|| {
            refuse("missing authentication: send Authorization: Bearer <SEP-10 or identity-provider JWT>")
        })?;
        let recovery = &state.service;
        let state = &state.app;
        let now = state.clock().now();
        let expired = |e: JwtError| match e {
            JwtError::Expired => refuse("authentication token has expired; authenticate again"),
            _ => refuse("authentication token is not valid"),
        };
        let iss =
            claimed_issuer(&token).ok_or_else(|| refuse("authentication token is not valid"))?;
        if iss == recovery.sep10_issuer() {
            let claims = state.jwt().verify(&token, now).map_err(expired)?;
            return sep10_caller(&claims.sub);
        }
        if let Some(server) = recovery.trusted(&iss) {
            let claims = server.verify(&token).await.map_err(|e| {
                tracing::debug!(issuer = %server.issuer, error = %e, "token of a trusted SEP-10 server refused");
                refuse("authentication token is not valid")
            })?;
            if now >= claims.exp {
                return Err(expired(JwtError::Expired));
            }
            if claims.iat > now + SKEW {
                return Err(refuse("authentication token is not valid"));
            }
            return sep10_caller(&claims.sub);
        }
        if iss == recovery.provider_issuer() {
            let claims: ProviderClaims = state
                .jwt()
                .verify_claims(&token, recovery.provider_issuer())
                .map_err(expired)?;
            if now >= claims.exp {
                return Err(expired(JwtError::Expired));
            }
            if claims.iat > now + SKEW {
                return Err(refuse("authentication token is not valid"));
            }
            let method = MethodType::parse(&claims.auth_method_type)
                .filter(|k| *k != MethodType::StellarAddress)
                .and_then(|k| AuthMethod::new(k, &claims.auth_method_value))
                .ok_or_else(|| refuse("authentication token is not valid"))?;
            return Ok(Caller {
                account: None,
                methods: vec![method],
            });
        }
        Err(refuse(
            "authentication token is from an issuer this server does not accept",
        ))
    }
}

/// The caller a SEP-10 `sub` names. A memo or muxed `sub` names a user of a
/// shared account, not someone in control of it (SEP-10 §Memos, §Muxed
/// Accounts), and a secret seed is no account at all.
fn sep10_caller(sub: &str) -> Result<Caller, ApiError> {
    match Principal::parse_sub(sub) {
        Some((ClientAccount::Account(key), None)) => Ok(Caller {
            account: Some(key),
            methods: vec![AuthMethod {
                kind: MethodType::StellarAddress,
                value: key.to_string(),
            }],
        }),
        _ => Err(refuse(
            "SEP-30 needs a SEP-10 token for a G… account, without a memo",
        )),
    }
}
