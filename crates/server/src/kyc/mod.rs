//! The KYC standing of an account, shared by the capabilities that gate on
//! it (`limits/`, `attest/`) and fed by the one that holds the records
//! (`customers/`, through [`Records`]): who a KYC target is, its state and
//! `rule_gen` ([`standing`]), and the wake-ups of long polls when it
//! changes ([`wake`]). docs/kyc.md is the contract.

pub mod standing;
pub mod wake;

use futures::future::BoxFuture;
use mooring_stellar::{ClientAccount, IdMemo, PublicKey};

use crate::config::KycState;
use crate::db::{DbError, Tx};
use crate::vault::VaultError;

pub use standing::{Evaluated, Standing};
pub use wake::{Changes, Wakeups};

/// A KYC target: a `G…` account, with an id memo for a customer of a
/// shared account (an `M…` address is its `G…` with the mux id as memo).
/// Keyed in storage exactly as SEP-12 customers are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The `G…` account.
    pub account: PublicKey,
    /// The id memo, if any.
    pub memo: Option<u64>,
}

impl Target {
    /// From an address (`G…` or `M…`) and an optional id memo (`M…` carries
    /// its own and takes none).
    pub fn parse(address: &str, memo: Option<&str>) -> Option<Target> {
        let account = ClientAccount::parse(address).ok()?;
        let memo = match (account.muxed_id(), memo) {
            (Some(_), Some(_)) => return None,
            (Some(id), None) => Some(id),
            (None, Some(m)) => Some(IdMemo::parse(m).ok()?.value()),
            (None, None) => None,
        };
        Some(Target {
            account: account.account(),
            memo,
        })
    }

    /// The `G…` address.
    pub fn address(&self) -> String {
        self.account.to_string()
    }

    /// The memo as stored (`''` when none).
    pub fn memo_value(&self) -> String {
        self.memo.map(|m| m.to_string()).unwrap_or_default()
    }

    /// The memo type as stored (`''` or `id`).
    pub fn memo_type(&self) -> &'static str {
        if self.memo.is_some() { "id" } else { "" }
    }

    /// One string naming it, for wake-ups: `G…` or `G…:<memo>`.
    pub fn key(&self) -> String {
        match self.memo {
            Some(m) => format!("{}:{m}", self.account),
            None => self.account.to_string(),
        }
    }

    /// From [`Target::key`].
    pub fn from_key(key: &str) -> Option<Target> {
        let (a, m) = match key.split_once(':') {
            Some((a, m)) => (a, Some(m)),
            None => (key, None),
        };
        let t = Target::parse(a, m)?;
        a.starts_with('G').then_some(t)
    }
}

/// A target's own KYC, as its SEP-12 record of the KYC type says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnState {
    /// `NEEDS_INFO`.
    NeedsInfo,
    /// `PROCESSING`.
    Processing,
    /// `ACCEPTED`.
    Accepted,
    /// `REJECTED`.
    Rejected,
}

impl OwnState {
    /// The KYC state it gives on its own.
    pub fn state(self) -> KycState {
        match self {
            OwnState::NeedsInfo => KycState::None,
            OwnState::Processing => KycState::Pending,
            OwnState::Accepted => KycState::Accepted,
            OwnState::Rejected => KycState::Rejected,
        }
    }
}

/// What the KYC records could not do.
#[derive(Debug, thiserror::Error)]
pub enum KycError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Sealed data could not be opened.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The records refused a change (400), saying why.
    #[error("{0}")]
    Refused(String),
    /// The records failed otherwise (500; the text is for the log).
    #[error("{0}")]
    Internal(String),
}

impl From<sqlx::Error> for KycError {
    fn from(e: sqlx::Error) -> Self {
        KycError::Db(e.into())
    }
}

/// An operation judged by its KYC limits, for the capabilities that move
/// value (`quotes/`, and SEP-31's `payments/`); implemented by
/// `limits::Limits`, handed over by `app/build`.
pub trait Gate: Send + Sync {
    /// Whether `target` may do `op` of `amount` in `asset` now; when it
    /// may and a rule concerns `op` in `asset`, the operation is counted in
    /// its rolling windows in the same transaction (so two cannot both fit
    /// the same room), audited under `actor`.
    fn pass<'a>(
        &'a self,
        actor: &'a str,
        target: &'a Target,
        op: crate::config::Op,
        amount: mooring_stellar::Amount,
        asset: &'a str,
    ) -> BoxFuture<'a, Result<Verdict, KycError>>;

    /// What [`Gate::pass`] would decide now, counting nothing: for asking
    /// before work that may still fail (a price from the business server).
    fn judge<'a>(
        &'a self,
        target: &'a Target,
        op: crate::config::Op,
        amount: mooring_stellar::Amount,
        asset: &'a str,
    ) -> BoxFuture<'a, Result<Verdict, KycError>>;
}

/// What a [`Gate`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed (and counted where a rule concerns it).
    Allowed,
    /// Refused by a limit.
    Denied {
        /// Passing KYC (SEP-12, of `kyc_type`) would lift it.
        soft: bool,
        /// The SEP-12 customer type whose acceptance lifts soft limits.
        kyc_type: String,
        /// Where the account's standing is told: `/kyc-check/{account}`.
        kyc_check: String,
    },
}

/// The KYC records (SEP-12 customers), as the gating capabilities need
/// them; implemented by `customers::Customers`, handed over by `app/build`.
pub trait Records: Send + Sync {
    /// The target's own state from its record of type `kind`; `None` when
    /// it has no record.
    fn own_state<'a>(
        &'a self,
        target: &'a Target,
        kind: &'a str,
    ) -> BoxFuture<'a, Result<Option<OwnState>, KycError>>;

    /// The target's `birth_date` (SEP-9), if it has a record and one.
    fn birth_date<'a>(
        &'a self,
        target: &'a Target,
    ) -> BoxFuture<'a, Result<Option<String>, KycError>>;

    /// In `tx`: copies the attester's text attributes to the target's
    /// record, sealed under the target's own data key, with `birth_date`
    /// replaced by `birthday` when one is given (DD45). Answers whether
    /// anything changed (the same copy from the same attester is not
    /// written again).
    fn inherit<'a>(
        &'a self,
        tx: &'a mut Tx,
        target: &'a Target,
        attester: &'a Target,
        birthday: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, KycError>>;

    /// In `tx`: deletes the attributes the target inherited.
    fn disinherit<'a>(
        &'a self,
        tx: &'a mut Tx,
        target: &'a Target,
    ) -> BoxFuture<'a, Result<(), KycError>>;

    /// The customer of SEP-12 id `id` (SEP-31's `sender_id` and
    /// `receiver_id`): whose it is, and the first of `kinds` it is
    /// ACCEPTED as. `None` when there is no such customer.
    fn customer<'a>(
        &'a self,
        id: &'a str,
        kinds: &'a [String],
    ) -> BoxFuture<'a, Result<Option<CustomerStanding>, KycError>>;

    /// Asks for `fields` of customer `id` again as `actor`, with `reason`
    /// (SEP-31 §Pending Customer Info Update): its SEP-12 status becomes
    /// NEEDS_INFO for `kind` until they are given again. Audited.
    fn request_info<'a>(
        &'a self,
        actor: &'a str,
        id: &'a str,
        kind: &'a str,
        fields: &'a [String],
        reason: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), KycError>>;
}

/// A SEP-12 customer as SEP-31 needs it ([`Records::customer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerStanding {
    /// The `G…` account that registered it.
    pub account: String,
    /// Its memo (`''` when none) and the memo's type.
    pub memo: String,
    /// `''`, `id`, `text` or `hash`.
    pub memo_type: String,
    /// The first of the kinds asked about it is ACCEPTED as.
    pub accepted: Option<String>,
}

impl CustomerStanding {
    /// The KYC target its limits are kept under: the customer's own with
    /// an id memo or none; a customer under a text or hash memo has none
    /// of its own and is judged as its account.
    pub fn target(&self) -> Option<Target> {
        let memo = (self.memo_type == "id").then_some(self.memo.as_str());
        Target::parse(&self.account, memo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_from_addresses() {
        let g = "GDRXE2BQUC3AZNPVFSCEZ76NJ3WWL25FYFK6RGZGIEKWE4SOOHSUJUJ6";
        let t = Target::parse(g, None).unwrap();
        assert_eq!((t.key(), t.memo_type()), (g.to_owned(), ""));
        let t = Target::parse(g, Some("42")).unwrap();
        assert_eq!(t.key(), format!("{g}:42"));
        assert_eq!(Target::from_key(&t.key()), Some(t));
        let mux = "MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUAAAAAAAAAAAACJUQ";
        let t = Target::parse(mux, None).unwrap();
        assert_eq!(t.memo, Some(0));
        assert!(Target::parse(mux, Some("1")).is_none());
        assert!(Target::parse(g, Some("x")).is_none());
        assert!(Target::from_key(mux).is_none());
    }
}
