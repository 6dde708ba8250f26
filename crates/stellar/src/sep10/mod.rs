//! The SEP-10 challenge transaction (SEP-10 v3.4.1): build it, read it,
//! verify who signed it. Used by the server (build, read, verify) and by
//! wallets (read, sign). Pure functions: the caller supplies the time, the
//! nonce and the account's signers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use stellar_xdr::{
    DataValue, ManageDataOp, Memo, MuxedAccount, Operation, OperationBody, Preconditions,
    SequenceNumber, String64, TimeBounds, TimePoint, Transaction, TransactionEnvelope,
    TransactionExt, VecM,
};

use crate::account::{ClientAccount, IdMemo};
use crate::envelope::{self, EnvelopeError};
use crate::keys::{Keypair, PublicKey};
use crate::network::Network;

mod read;
mod recent;
mod verify;

pub use read::{Challenge, ReadOptions, ServerKey, read_challenge, read_challenge_envelope};
pub use recent::RecentSignatures;
pub use verify::{AccountSigners, Signer, Threshold, sign_challenge};

/// Random bytes in a challenge nonce (SEP-10 §Challenge: "a 48 byte
/// cryptographic-quality random string").
pub const NONCE_LEN: usize = 48;
/// Key of the Manage Data operation naming the server's domain.
pub const WEB_AUTH_DOMAIN_KEY: &str = "web_auth_domain";
/// Key of the Manage Data operation naming the client's domain.
pub const CLIENT_DOMAIN_KEY: &str = "client_domain";
/// Longest Manage Data key or value (the XDR `string64` / `opaque<64>`).
const MAX_DATA_LEN: usize = 64;
/// Fee of the challenge: irrelevant (the transaction can never be applied,
/// its sequence number is 0) but it must look like a normal transaction.
const CHALLENGE_FEE: u32 = 100;

/// Everything that can be wrong with a challenge. The `Display` text is
/// written for the developer of the client and is safe to return in an error
/// body: it never contains a key, a signature or a nonce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// The envelope could not be decoded, or is a fee-bump.
    #[error("{0}")]
    Envelope(#[from] EnvelopeError),
    /// A muxed account and a memo were both given.
    #[error("a memo cannot be combined with a muxed (M…) account; use one or the other")]
    MemoWithMuxedAccount,
    /// A domain is too long for a Manage Data key or value.
    #[error("{0} is longer than the 64 bytes a Manage Data entry allows")]
    TooLong(&'static str),
    /// The transaction source is not the server account.
    #[error("transaction source account is not this server's SIGNING_KEY")]
    SourceNotServer,
    /// Sequence number other than 0.
    #[error("transaction sequence number must be 0")]
    SequenceNotZero,
    /// No time bounds.
    #[error("transaction has no time bounds")]
    NoTimeBounds,
    /// Time bounds without a maximum.
    #[error("transaction time bounds have no maximum time")]
    UnboundedTimeBounds,
    /// The current time is after the maximum time.
    #[error("challenge has expired; request a new one")]
    Expired,
    /// The current time is before the minimum time.
    #[error("challenge is not valid yet: its time bounds start in the future")]
    NotYetValid,
    /// No operations.
    #[error("transaction has no operations")]
    NoOperations,
    /// An operation is not Manage Data.
    #[error("operation {0} is not a Manage Data operation")]
    NotManageData(usize),
    /// An operation has no source account.
    #[error("operation {0} has no source account")]
    NoSourceAccount(usize),
    /// The first key is not `<home domain> auth` for a served home domain.
    #[error(
        "first operation's key is not '<home domain> auth' for a home domain this server serves"
    )]
    WrongHomeDomain,
    /// The nonce is not 64 base64 characters encoding 48 bytes.
    #[error("first operation's value must be 48 random bytes encoded as 64 base64 characters")]
    InvalidNonce,
    /// A memo of a type other than id.
    #[error("only id memos are allowed")]
    MemoNotId,
    /// A later operation's source is neither the server nor, for
    /// `client_domain`, the client domain account.
    #[error("operation {0} has a source account that is not this server's SIGNING_KEY")]
    ForeignOperationSource(usize),
    /// `web_auth_domain` is missing.
    #[error("transaction has no web_auth_domain operation")]
    MissingWebAuthDomain,
    /// `web_auth_domain` names another server.
    #[error("web_auth_domain operation does not name this server's domain")]
    WrongWebAuthDomain,
    /// The same special operation appears twice.
    #[error("transaction has more than one '{0}' operation")]
    DuplicateOperation(&'static str),
    /// The `client_domain` value is empty or not text.
    #[error("client_domain operation value is not a domain name")]
    InvalidClientDomain,
    /// No valid signature by the server account.
    #[error("transaction is not signed by this server's SIGNING_KEY")]
    NotSignedByServer,
    /// The challenge names a client domain whose key did not sign.
    #[error("transaction is not signed by the client domain's SIGNING_KEY")]
    NotSignedByClientDomain,
    /// The account exists, but none of its signers signed.
    #[error("transaction is not signed by any signer of the client account")]
    NotSignedByClient,
    /// The account does not exist and its master key did not sign.
    #[error(
        "transaction is not signed by the client account's master key (the account does not exist on the network, so only its master key can sign)"
    )]
    NotSignedByMasterKey,
    /// The same signature twice.
    #[error("transaction carries the same signature more than once")]
    DuplicateSignature,
    /// A signature from nobody the challenge allows.
    #[error(
        "transaction has signatures that are not from the server, the client domain or signers of the client account"
    )]
    UnrecognizedSignatures,
    /// The account does not exist and more signatures than the master key's
    /// (and the client domain's) are present.
    #[error(
        "the client account does not exist on the network, so only its master key may sign: found {found} signatures where {expected} are expected"
    )]
    ExtraSignatures {
        /// Signatures on the transaction.
        found: usize,
        /// Signatures allowed: server, master key, client domain if any.
        expected: usize,
    },
    /// The signers' weight is below the threshold.
    #[error(
        "client signatures carry weight {weight}, below the account's {threshold} threshold of {required}"
    )]
    BelowThreshold {
        /// Summed weight of the client signers that signed.
        weight: u32,
        /// Which threshold.
        threshold: Threshold,
        /// Its value.
        required: u32,
    },
}

/// The client domain a challenge names, with its `SIGNING_KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientDomain {
    /// The domain, e.g. `wallet.example.com`.
    pub domain: String,
    /// Its stellar.toml `SIGNING_KEY` (the "Client Domain Account").
    pub key: PublicKey,
}

/// What the client asked to be challenged for (SEP-10 §Challenge, request).
#[derive(Debug, Clone)]
pub struct ChallengeRequest<'a> {
    /// The client account, `G…` or `M…`.
    pub account: ClientAccount,
    /// An id memo for a shared `G…` account.
    pub memo: Option<IdMemo>,
    /// The home domain, first operation key `<home_domain> auth`.
    pub home_domain: &'a str,
    /// The server's own domain, value of the `web_auth_domain` operation.
    pub web_auth_domain: &'a str,
    /// The client domain and its signing key, when verified.
    pub client_domain: Option<&'a ClientDomain>,
}

/// Builds and signs a challenge exactly as SEP-10 §Challenge §Response lays
/// it out: server source, sequence 0, time bounds `[now, now + timeout]`, the
/// `<home_domain> auth` operation from the client account with the base64
/// nonce, `web_auth_domain` from the server, and `client_domain` from the
/// client domain account when asked.
pub fn build_challenge(
    server: &Keypair,
    network: &Network,
    request: &ChallengeRequest<'_>,
    now: u64,
    timeout_secs: u64,
    nonce: &[u8; NONCE_LEN],
) -> Result<BuiltChallenge, ChallengeError> {
    if request.memo.is_some() && request.account.muxed_id().is_some() {
        return Err(ChallengeError::MemoWithMuxedAccount);
    }
    let server_source = server.public_key().to_muxed_account();
    let nonce_b64 = STANDARD.encode(nonce);
    let mut operations = vec![
        manage_data(
            request.account.to_xdr(),
            &format!("{} auth", request.home_domain),
            "home_domain",
            nonce_b64.as_bytes(),
        )?,
        manage_data(
            server_source.clone(),
            WEB_AUTH_DOMAIN_KEY,
            "web_auth_domain",
            request.web_auth_domain.as_bytes(),
        )?,
    ];
    if let Some(cd) = request.client_domain {
        operations.push(manage_data(
            cd.key.to_muxed_account(),
            CLIENT_DOMAIN_KEY,
            "client_domain",
            cd.domain.as_bytes(),
        )?);
    }
    let tx = Transaction {
        source_account: server_source,
        fee: CHALLENGE_FEE * operations.len() as u32,
        seq_num: SequenceNumber(0),
        cond: Preconditions::Time(TimeBounds {
            min_time: TimePoint(now),
            max_time: TimePoint(now.saturating_add(timeout_secs)),
        }),
        memo: request.memo.map_or(Memo::None, |m| Memo::Id(m.value())),
        operations: VecM::try_from(operations).expect("at most three operations"),
        ext: TransactionExt::V0,
    };
    let hash = envelope::hash(&tx, network);
    let decorated = server.sign_decorated(&hash);
    let signature = decorated
        .signature
        .0
        .as_slice()
        .try_into()
        .expect("an ed25519 signature is 64 bytes");
    Ok(BuiltChallenge {
        envelope: envelope::envelope(tx, vec![decorated]),
        hash,
        signature,
    })
}

/// A challenge [`build_challenge`] made.
#[derive(Debug, Clone)]
pub struct BuiltChallenge {
    /// The transaction envelope, signed by the server.
    pub envelope: TransactionEnvelope,
    /// The hash the server signed, which [`RecentSignatures::record`] takes.
    pub hash: [u8; 32],
    /// The server's signature.
    pub signature: [u8; 64],
}

fn manage_data(
    source: MuxedAccount,
    key: &str,
    what: &'static str,
    value: &[u8],
) -> Result<Operation, ChallengeError> {
    if key.len() > MAX_DATA_LEN || value.len() > MAX_DATA_LEN {
        return Err(ChallengeError::TooLong(what));
    }
    Ok(Operation {
        source_account: Some(source),
        body: OperationBody::ManageData(ManageDataOp {
            data_name: String64::try_from(key.as_bytes().to_vec())
                .map_err(|_| ChallengeError::TooLong(what))?,
            data_value: Some(
                DataValue::try_from(value.to_vec()).map_err(|_| ChallengeError::TooLong(what))?,
            ),
        }),
    })
}

#[cfg(test)]
mod tests;
