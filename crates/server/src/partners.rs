//! The sending anchors with an agreement (`[[partners]]`; docs/quotes.md
//! §Partners) and what SEP-31 and SEP-38 share about them: which one an
//! authenticated caller is, the extractor that refuses everyone else
//! before a request is read, and the firm quotes a payment takes
//! ([`QuoteBook`]). Shared by `quotes/` and `payments/`; imports no
//! capability.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use futures::future::BoxFuture;

use crate::config::PartnerConfig;
use crate::db::{Conn, DbError, Tx};
use crate::error::ApiError;
use crate::http::{Authenticated, Bearer, Principal, bearer};
use crate::kyc::Target;
use crate::state::With;

/// The configured partners.
#[derive(Debug, Default)]
pub struct Partners(Vec<PartnerConfig>);

impl Partners {
    /// From `[[partners]]` (already checked: names, accounts and domains
    /// unique).
    pub fn new(partners: Vec<PartnerConfig>) -> Partners {
        Partners(partners)
    }

    /// The partner `caller` signs in as: by its token's account (the `G…`
    /// of a muxed `M…`), or by its verified client domain.
    pub fn of(&self, caller: &Principal) -> Option<&PartnerConfig> {
        let account = caller.account.account().to_string();
        self.0.iter().find(|p| {
            p.accounts.contains(&account)
                || caller
                    .client_domain
                    .as_ref()
                    .is_some_and(|d| p.client_domains.contains(d))
        })
    }

    /// The partner named `name`.
    pub fn named(&self, name: &str) -> Option<&PartnerConfig> {
        self.0.iter().find(|p| p.name == name)
    }
}

/// A service that serves partners only.
pub trait ServesPartners: Send + Sync + 'static {
    /// The partners it serves.
    fn partners(&self) -> &Partners;
}

/// The refusal of a caller with no agreement (SEP-31 §Authentication: the
/// account must belong "to a Sending Anchor for which a bi-lateral
/// agreement has been made"; "should return a 403").
pub const NOT_A_PARTNER: &str = "this account has no agreement with this anchor: its quotes and payments serve partner anchors only";

/// The owner a token speaks for: its account and memo (an `M…` token's mux
/// id is its memo, as for SEP-12 customers and KYC targets).
pub fn owner(caller: &Principal) -> Option<Target> {
    let memo = caller.memo.map(|m| m.value().to_string());
    Target::parse(&caller.account.to_string(), memo.as_deref())
}

/// A partner's authenticated caller, and its partner's name. Decided from
/// the `Authorization` header alone, before the query or body is read;
/// every refusal is 403 `{"error": …}` (SEP-31 §Authentication, SEP-38
/// §Errors).
pub struct Partner(pub Principal, pub String);

impl<S: ServesPartners> FromRequestParts<With<S>> for Partner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &With<S>) -> Result<Self, ApiError> {
        let refuse = |m: &'static str| ApiError::new(StatusCode::FORBIDDEN, m);
        match bearer(&parts.headers) {
            Bearer::Missing => Err(refuse(
                "missing authentication: send Authorization: Bearer <SEP-10 JWT>",
            )),
            Bearer::Malformed => Err(refuse(
                "the Authorization header must be Bearer <SEP-10 JWT>",
            )),
            Bearer::Token(_) => {
                let Authenticated(p) = Authenticated::<403>::from_request_parts(parts, s).await?;
                let name = s
                    .partners()
                    .of(&p)
                    .map(|p| p.name.clone())
                    .ok_or_else(|| refuse(NOT_A_PARTNER))?;
                Ok(Partner(p, name))
            }
        }
    }
}

/// A firm quote as a payment takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmQuote {
    /// Whose.
    pub owner: Target,
    /// `sep31` or `sep6`.
    pub context: String,
    /// What the partner gives (`stellar:CODE:ISSUER`).
    pub sell_asset: String,
    /// As quoted.
    pub sell_amount: String,
    /// What the receiver gets.
    pub buy_asset: String,
    /// As quoted.
    pub buy_amount: String,
    /// SEP-38's `fee` object (JSON).
    pub fee: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// The transaction that took it, if one did.
    pub used_by: Option<String>,
}

/// The firm quotes (SEP-38), as SEP-31 takes them: implemented by
/// `quotes::Quotes`, handed over by `app/build`.
pub trait QuoteBook: Send + Sync {
    /// The quote `id`, whoever's.
    fn read<'a>(
        &'a self,
        c: Conn<'a>,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<FirmQuote>, DbError>>;

    /// In `tx`: marks the quote used by `transaction` if it is unused and
    /// unexpired at `now`; answers whether it did. Of two transactions
    /// racing for one quote, exactly one gets `true`.
    fn take<'a>(
        &'a self,
        tx: &'a mut Tx,
        id: &'a str,
        transaction: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<bool, DbError>>;
}
