//! `POST /sponsor/new` (../seeds/003): a new account, created and sponsored
//! by the operator's sponsor account (CAP-33), so a wallet can register an
//! account that holds no lumens. The answer is a transaction — begin
//! sponsoring, create the account, end sponsoring — signed by the sponsor;
//! the wallet adds the new account's signature (its end-sponsoring
//! operation needs it) and submits it.

use std::sync::Arc;

use mooring_stellar::xdr::{
    BeginSponsoringFutureReservesOp, CreateAccountOp, Duration, Memo, Operation, OperationBody,
    Preconditions, PreconditionsV2, SequenceNumber, TimeBounds, TimePoint, Transaction,
    TransactionExt,
};
use mooring_stellar::{Keypair, Network, PublicKey, envelope};
use serde::Serialize;

use super::Caller;
use super::authorize::{Authorize, AuthorizeError};
use crate::clock::Clock;
use crate::db::Db;
use crate::horizon::{Ledger, LedgerError};

/// Seconds the transaction may be submitted in.
const VALID_FOR: u64 = 300;
/// Base fee per operation, stroops.
const BASE_FEE: u32 = 100;

/// Why no transaction was made.
#[derive(Debug, thiserror::Error)]
pub enum SponsorError {
    /// 404: not offered here.
    #[error("account sponsorship is not offered by this server")]
    Disabled,
    /// 400.
    #[error("{0}")]
    Invalid(&'static str),
    /// 401: a SEP-10 token (free to make for any fresh key) is not enough.
    #[error(
        "sponsorship needs a sign-in token (POST /authorize/token): an email address or phone number, not a SEP-10 token"
    )]
    NeedsSignIn,
    /// 503: the sponsor account is not on the network (a setup problem).
    #[error("sponsorship is unavailable right now; try again later")]
    NoSponsor,
    /// 409.
    #[error("the account already exists on the network")]
    Exists,
    /// 429 (per identity or in all).
    #[error("too many accounts sponsored; try again tomorrow")]
    Limited,
    /// 503.
    #[error("the Stellar network could not be reached; try again later")]
    Ledger(#[from] LedgerError),
    /// Counting failed.
    #[error(transparent)]
    Store(AuthorizeError),
}

/// The answer of `POST /sponsor/new`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = sep30::Sponsored)]
pub struct Sponsored {
    /// The transaction, a base64 XDR envelope signed by the sponsor:
    /// begin sponsoring, create the account with no lumens, end
    /// sponsoring (CAP-33). Valid for 5 minutes; the new account must sign
    /// it too before it is submitted.
    pub transaction: String,
    /// The network it is for.
    pub network_passphrase: String,
}

/// The sponsorship service.
pub struct Sponsor {
    key: Keypair,
    db: Db,
    ledger: Arc<dyn Ledger>,
    clock: Arc<dyn Clock>,
    network: Network,
    per_identity: i64,
    per_day: i64,
}

impl std::fmt::Debug for Sponsor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sponsor({})", self.key.public_key())
    }
}

impl Sponsor {
    /// The service for the sponsor `key`.
    pub fn new(
        key: Keypair,
        db: Db,
        ledger: Arc<dyn Ledger>,
        clock: Arc<dyn Clock>,
        network: Network,
        per_identity: u32,
        per_day: u32,
    ) -> Self {
        Sponsor {
            key,
            db,
            ledger,
            clock,
            network,
            per_identity: i64::from(per_identity),
            per_day: i64::from(per_day),
        }
    }

    /// A sponsored creation of `account` for `caller`.
    pub async fn new_account(
        &self,
        limits: &Authorize,
        caller: &Caller,
        account: &PublicKey,
    ) -> Result<Sponsored, SponsorError> {
        // Per-identity limits mean something only for identities that cost
        // something to make: an email address or phone number.
        if caller.account.is_some() || caller.methods.is_empty() {
            return Err(SponsorError::NeedsSignIn);
        }
        let sponsor = self.key.public_key();
        if *account == sponsor {
            return Err(SponsorError::Invalid("the sponsor cannot sponsor itself"));
        }
        if self.ledger.account_sequence(account).await?.is_some() {
            return Err(SponsorError::Exists);
        }
        let Some(sequence) = self.ledger.account_sequence(&sponsor).await? else {
            tracing::error!(sponsor = %sponsor, "sep30.sponsor: the sponsor account does not exist on the network");
            return Err(SponsorError::NoSponsor);
        };
        let who = caller
            .methods
            .first()
            .map(|m| format!("{}:{}", m.kind.as_str(), m.value))
            .unwrap_or_default();
        let limited = |e| match e {
            AuthorizeError::RateLimited => SponsorError::Limited,
            other => SponsorError::Store(other),
        };
        limits
            .limit_per("sponsor-identity", &who, self.per_identity, 86_400)
            .await
            .map_err(limited)?;
        limits
            .limit_per("sponsor-all", "", self.per_day, 86_400)
            .await
            .map_err(limited)?;
        // Every replica hands out the next number after the last one given,
        // or the account's next when the ledger has moved past it; with
        // minSeqNum = the ledger's (CAP-21), a transaction stays valid
        // whether or not those handed out before it are ever submitted.
        let seq_num = super::store::next_sponsor_sequence(
            &self.db,
            &sponsor.to_string(),
            sequence.saturating_add(1),
        )
        .await
        .map_err(|e| SponsorError::Store(e.into()))?;
        let now = self.clock.now();
        let ops = vec![
            Operation {
                source_account: None,
                body: OperationBody::BeginSponsoringFutureReserves(
                    BeginSponsoringFutureReservesOp {
                        sponsored_id: account.to_account_id(),
                    },
                ),
            },
            Operation {
                source_account: None,
                body: OperationBody::CreateAccount(CreateAccountOp {
                    destination: account.to_account_id(),
                    starting_balance: 0,
                }),
            },
            Operation {
                source_account: Some(account.to_muxed_account()),
                body: OperationBody::EndSponsoringFutureReserves,
            },
        ];
        let tx = Transaction {
            source_account: sponsor.to_muxed_account(),
            fee: BASE_FEE * 3,
            seq_num: SequenceNumber(seq_num),
            cond: Preconditions::V2(PreconditionsV2 {
                time_bounds: Some(TimeBounds {
                    min_time: TimePoint(now),
                    max_time: TimePoint(now + VALID_FOR),
                }),
                ledger_bounds: None,
                min_seq_num: Some(SequenceNumber(sequence)),
                min_seq_age: Duration(0),
                min_seq_ledger_gap: 0,
                extra_signers: Default::default(),
            }),
            memo: Memo::None,
            operations: ops.try_into().expect("three operations"),
            ext: TransactionExt::V0,
        };
        let mut signatures = vec![];
        envelope::sign(&tx, &self.network, &self.key, &mut signatures);
        Ok(Sponsored {
            transaction: envelope::encode(&envelope::envelope(tx, signatures)),
            network_passphrase: self.network.passphrase().to_owned(),
        })
    }
}
