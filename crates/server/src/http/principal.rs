//! The authenticated caller: an axum extractor that reads a SEP-10 session
//! JWT from `Authorization: Bearer <jwt>` or, as SEP-12 v1.1.0 clients send
//! it, a `?jwt=` query parameter.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use mooring_stellar::{ClientAccount, IdMemo, PublicKey};

use super::{Query, bearer};
use crate::error::ApiError;
use crate::jwt::JwtError;
use crate::state::AppState;

/// Who a valid session token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account: `G…`, or `M…` for a muxed account.
    pub account: ClientAccount,
    /// The id memo a shared `G…` account was authenticated with.
    pub memo: Option<IdMemo>,
    /// The verified client domain, if any.
    pub client_domain: Option<String>,
    /// The home domain authenticated for.
    pub home_domain: Option<String>,
    /// The token id (`jti`), for audit trails.
    pub token_id: String,
}

impl Principal {
    /// The memo the token is bound to: its `sub` memo or its muxed id.
    pub fn bound_memo(&self) -> Option<u64> {
        self.memo.map(|m| m.value()).or(self.account.muxed_id())
    }

    /// Whether the token reaches what was stored under `account`, `memo`
    /// and `memo_type` (a SEP-12 customer, a SEP-31 transaction): the same
    /// `G…` account, and the token's memo if it has one — a token without
    /// one reaches everything of its account, as a sending anchor's
    /// omnibus account does (SEP-12 §Shared, Omnibus, or Pooled Accounts).
    /// Callers answer "not found" otherwise.
    pub fn may_reach(&self, account: &str, memo: &str, memo_type: &str) -> bool {
        account == self.account.account().to_string()
            && self
                .bound_memo()
                .is_none_or(|m| memo_type == "id" && memo == m.to_string())
    }

    /// Reads a SEP-10 `sub`: `G…`, `G…:<memo>` or `M…`.
    pub fn parse_sub(sub: &str) -> Option<(ClientAccount, Option<IdMemo>)> {
        match sub.split_once(':') {
            Some((g, memo)) => Some((
                ClientAccount::Account(PublicKey::parse(g).ok()?),
                Some(IdMemo::parse(memo).ok()?),
            )),
            None => Some((ClientAccount::parse(sub).ok()?, None)),
        }
    }
}

/// Extracts the [`Principal`] of a valid session token, or rejects the
/// request with `STATUS` (401 for SEP-12 and SEP-30; 403 for SEP-31 and
/// SEP-38, whose texts say so) and a JSON error.
#[derive(Debug, Clone)]
pub struct Authenticated<const STATUS: u16 = 401>(pub Principal);

impl<S, const STATUS: u16> FromRequestParts<S> for Authenticated<STATUS>
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = AppState::from_ref(state);
        let status = StatusCode::from_u16(STATUS).unwrap_or(StatusCode::UNAUTHORIZED);
        let refuse = |msg: &'static str| ApiError::new(status, msg);
        let token = bearer(&parts.headers)
            .token()
            .or_else(|| Query::of(parts.uri.query()).0.get("jwt").map(str::to_owned))
            .ok_or_else(|| {
                refuse("missing authentication: send Authorization: Bearer <SEP-10 JWT>")
            })?;
        let claims = state
            .jwt()
            .verify(&token, state.clock().now())
            .map_err(|e| match e {
                JwtError::Expired => {
                    refuse("authentication token has expired; authenticate again with SEP-10")
                }
                _ => refuse("authentication token is not valid"),
            })?;
        let (account, memo) = Principal::parse_sub(&claims.sub)
            .ok_or_else(|| refuse("authentication token is not valid"))?;
        Ok(Authenticated(Principal {
            account,
            memo,
            client_domain: claims.client_domain,
            home_domain: claims.home_domain,
            token_id: claims.jti,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_forms_of_sep10() {
        let g = "GDRXE2BQUC3AZNPVFSCEZ76NJ3WWL25FYFK6RGZGIEKWE4SOOHSUJUJ6";
        let (a, m) = Principal::parse_sub(g).unwrap();
        assert_eq!((a.to_string(), m), (g.to_string(), None));
        let (a, m) = Principal::parse_sub(&format!("{g}:42")).unwrap();
        assert_eq!((a.to_string(), m), (g.to_string(), Some(IdMemo::new(42))));
        let mux = "MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUAAAAAAAAAAAACJUQ";
        assert_eq!(Principal::parse_sub(mux).unwrap().0.muxed_id(), Some(0));
        assert!(Principal::parse_sub(&format!("{g}:x")).is_none());
        assert!(Principal::parse_sub(&format!("{mux}:1")).is_none());
        assert!(
            Principal::parse_sub("SBGWSG6BTNCKCOB3DIFBGCVMUPQFYPA2G4O34RMTB343OYPXU5DJDVMN")
                .is_none()
        );
    }
}
