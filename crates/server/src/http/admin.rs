//! The admin listener's gate: the admin token from the configuration and
//! nothing else (a SEP-10 session token never opens it), checked before
//! any admin route reads its request; and who is acting, for the audit log.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use super::{Bearer, bearer};
use crate::error::ApiError;
use crate::state::AppState;

/// The admin token, kept as a hash for constant-time comparison.
#[derive(Clone)]
pub struct AdminToken([u8; 32]);

impl AdminToken {
    /// From the configured secret.
    pub fn new(token: &SecretString) -> Self {
        AdminToken(Sha256::digest(token.expose_secret().as_bytes()).into())
    }

    pub(crate) fn matches(&self, presented: &str) -> bool {
        let h: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        h.ct_eq(&self.0).into()
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken([REDACTED])")
    }
}

/// A route layer of every admin route: 401 unless the request carries the
/// admin token.
pub async fn require_admin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match bearer(req.headers()) {
        Bearer::Token(t) if state.admin_token().matches(&t) => next.run(req).await,
        Bearer::Token(_) => ApiError::unauthorized("admin token is not valid").into_response(),
        Bearer::Missing | Bearer::Malformed => {
            ApiError::unauthorized("missing admin token: send Authorization: Bearer <admin token>")
                .into_response()
        }
    }
}

/// Who is acting (behind [`require_admin`]): `admin`, or `admin:<name>`
/// from the `X-Mooring-Actor` header (letters, digits, `@._-`, at most 64).
pub struct Actor(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let name = parts
            .headers
            .get("x-mooring-actor")
            .and_then(|v| v.to_str().ok());
        Ok(Actor(match name {
            Some(n)
                if !n.is_empty()
                    && n.len() <= 64
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"@._-".contains(&b)) =>
            {
                format!("admin:{n}")
            }
            Some(_) => {
                return Err(ApiError::bad_request(
                    "X-Mooring-Actor must be 1 to 64 letters, digits or @._-",
                ));
            }
            None => "admin".to_owned(),
        }))
    }
}
