//! Reading a challenge (SEP-10 §Verification steps 1–9): every check a
//! server makes on the transaction it gets back, and a wallet on the one it
//! is asked to sign.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use stellar_xdr::{
    DecoratedSignature, Memo, MuxedAccount, OperationBody, Preconditions, Transaction,
    TransactionEnvelope,
};

use crate::account::{ClientAccount, IdMemo};
use crate::envelope;
use crate::keys::{Keypair, PublicKey};
use crate::network::Network;

use super::*;

/// How the reader knows the server's signature.
#[derive(Debug, Clone, Copy)]
pub enum ServerKey<'a> {
    /// A client, which knows the server's `SIGNING_KEY`: verify the signature.
    Public(PublicKey),
    /// The server itself: ed25519 is deterministic, so re-signing the hash and
    /// comparing proves the signature is the server's own at half the cost of
    /// a verification.
    Own(&'a Keypair),
    /// The server, with the signatures it recorded on the challenges it
    /// issued last: a recorded one is compared, any other is re-signed.
    Recent(&'a Keypair, &'a RecentSignatures),
}

impl ServerKey<'_> {
    fn public_key(&self) -> PublicKey {
        match self {
            ServerKey::Public(k) => *k,
            ServerKey::Own(kp) | ServerKey::Recent(kp, _) => kp.public_key(),
        }
    }

    fn signed(&self, hash: &[u8; 32], sig: &DecoratedSignature) -> bool {
        let signature = sig.signature.0.as_slice();
        match self {
            ServerKey::Public(k) => envelope::signed_by(hash, sig, k),
            ServerKey::Own(kp) | ServerKey::Recent(kp, _)
                if sig.hint.0 != kp.public_key().hint() =>
            {
                false
            }
            ServerKey::Own(kp) => kp.made(hash, signature),
            ServerKey::Recent(kp, recent) => recent
                .matches(hash, signature)
                .unwrap_or_else(|| kp.made(hash, signature)),
        }
    }
}

/// What a challenge is checked against when read.
#[derive(Debug, Clone)]
pub struct ReadOptions<'a> {
    /// The server's signing key.
    pub server: ServerKey<'a>,
    /// The network the signatures are made for.
    pub network: &'a Network,
    /// The home domains the server serves; the first operation must name one.
    pub home_domains: &'a [String],
    /// The server's domain, which the `web_auth_domain` operation must name.
    pub web_auth_domain: &'a str,
    /// Whether a challenge without `web_auth_domain` is refused. Servers set
    /// this (they always add one); a wallet talking to a pre-v3 server may not.
    pub require_web_auth_domain: bool,
    /// The current time, in seconds since the Unix epoch.
    pub now: u64,
    /// Seconds of clock skew tolerated before the minimum time. A server
    /// checks its own clock (0); a wallet may allow for drift.
    pub min_time_grace: u64,
}

/// A challenge that passed every check of SEP-10 §Token that does not need
/// the ledger. Verify its signers with [`Challenge::verify_signers`].
#[derive(Debug, Clone)]
pub struct Challenge {
    /// The transaction (a v0 envelope's transaction in its v1 form).
    pub tx: Transaction,
    /// Its signatures.
    pub signatures: Vec<DecoratedSignature>,
    /// The transaction hash on the network: what every signature signs.
    pub hash: [u8; 32],
    /// The client account of the first operation.
    pub account: ClientAccount,
    /// The id memo, if any.
    pub memo: Option<IdMemo>,
    /// The home domain the first operation names.
    pub home_domain: String,
    /// The client domain, if the challenge has a `client_domain` operation.
    pub client_domain: Option<ClientDomain>,
    /// Start of the time bounds.
    pub min_time: u64,
    /// End of the time bounds.
    pub max_time: u64,
    pub(super) server_key: PublicKey,
    pub(super) server_signature: usize,
}

/// Decodes and reads a challenge, applying SEP-10 §Token's checks in order.
pub fn read_challenge(b64: &str, opts: &ReadOptions<'_>) -> Result<Challenge, ChallengeError> {
    let env = envelope::decode(b64)?;
    read_challenge_envelope(&env, opts)
}

/// [`read_challenge`] for an envelope already decoded.
pub fn read_challenge_envelope(
    env: &TransactionEnvelope,
    opts: &ReadOptions<'_>,
) -> Result<Challenge, ChallengeError> {
    let (tx, signatures) = envelope::transaction(env)?;
    let server_key = opts.server.public_key();

    // "verify that transaction source account is equal to the Server Account"
    if tx.source_account != server_key.to_muxed_account() {
        return Err(ChallengeError::SourceNotServer);
    }
    // "verify that transaction sequenceNumber is equal to zero"
    if tx.seq_num.0 != 0 {
        return Err(ChallengeError::SequenceNotZero);
    }
    // "verify that transaction has time bounds set, and that current time is
    // between the minimum and maximum bounds"
    let bounds = match &tx.cond {
        Preconditions::Time(tb) => tb.clone(),
        Preconditions::V2(p) => p.time_bounds.clone().ok_or(ChallengeError::NoTimeBounds)?,
        Preconditions::None => return Err(ChallengeError::NoTimeBounds),
    };
    let (min_time, max_time) = (bounds.min_time.0, bounds.max_time.0);
    if max_time == 0 {
        return Err(ChallengeError::UnboundedTimeBounds);
    }
    if opts.now > max_time {
        return Err(ChallengeError::Expired);
    }
    if opts.now.saturating_add(opts.min_time_grace) < min_time {
        return Err(ChallengeError::NotYetValid);
    }
    // "verify that transaction contains at least one operation"
    let ops = tx.operations.as_slice();
    let first = ops.first().ok_or(ChallengeError::NoOperations)?;
    // "verify that transaction's first operation is a Manage Data operation
    // [and] has a non-null source account"
    let OperationBody::ManageData(first_data) = &first.body else {
        return Err(ChallengeError::NotManageData(0));
    };
    let account = ClientAccount::from_xdr(
        first
            .source_account
            .as_ref()
            .ok_or(ChallengeError::NoSourceAccount(0))?,
    );
    let key = first_data.data_name.0.as_vec();
    let home_domain = opts
        .home_domains
        .iter()
        .find(|d| {
            // Domain names compare case-insensitively (RFC 4343 §2).
            key.len() == d.len() + 5
                && key[..d.len()].eq_ignore_ascii_case(d.as_bytes())
                && key.ends_with(b" auth")
        })
        .ok_or(ChallengeError::WrongHomeDomain)?
        .clone();
    // SEP-10 §Challenge: the value is 48 random bytes, base64-encoded to 64.
    let nonce = first_data
        .data_value
        .as_ref()
        .ok_or(ChallengeError::InvalidNonce)?;
    if nonce.0.len() != 64
        || STANDARD
            .decode(nonce.0.as_slice())
            .map_or(true, |n| n.len() != NONCE_LEN)
    {
        return Err(ChallengeError::InvalidNonce);
    }
    // SEP-10 §Memos / §Muxed Accounts: id memos only, never with an M… account.
    let memo = match &tx.memo {
        Memo::None => None,
        Memo::Id(id) if account.muxed_id().is_none() => Some(IdMemo::new(*id)),
        Memo::Id(_) => return Err(ChallengeError::MemoWithMuxedAccount),
        _ => return Err(ChallengeError::MemoNotId),
    };
    // "verify that transaction containing additional Manage Data operations
    // have their source account set to the Server Account" — except
    // `client_domain`, whose source is the Client Domain Account.
    let server_source = server_key.to_muxed_account();
    let mut web_auth_domain_seen = false;
    let mut client_domain = None;
    for (i, op) in ops.iter().enumerate().skip(1) {
        let OperationBody::ManageData(data) = &op.body else {
            return Err(ChallengeError::NotManageData(i));
        };
        let source = op
            .source_account
            .as_ref()
            .ok_or(ChallengeError::NoSourceAccount(i))?;
        let key = data.data_name.0.as_vec().as_slice();
        let value = data.data_value.as_ref().map(|v| v.0.as_slice());
        if key == CLIENT_DOMAIN_KEY.as_bytes() {
            if client_domain.is_some() {
                return Err(ChallengeError::DuplicateOperation(CLIENT_DOMAIN_KEY));
            }
            let MuxedAccount::Ed25519(k) = source else {
                return Err(ChallengeError::ForeignOperationSource(i));
            };
            let domain = value
                .and_then(|v| std::str::from_utf8(v).ok())
                .filter(|d| !d.is_empty())
                .ok_or(ChallengeError::InvalidClientDomain)?;
            client_domain = Some(ClientDomain {
                domain: domain.to_owned(),
                key: PublicKey::from_bytes(k.0),
            });
            continue;
        }
        if *source != server_source {
            return Err(ChallengeError::ForeignOperationSource(i));
        }
        if key == WEB_AUTH_DOMAIN_KEY.as_bytes() {
            if web_auth_domain_seen {
                return Err(ChallengeError::DuplicateOperation(WEB_AUTH_DOMAIN_KEY));
            }
            web_auth_domain_seen = true;
            if value != Some(opts.web_auth_domain.as_bytes()) {
                return Err(ChallengeError::WrongWebAuthDomain);
            }
        }
    }
    if opts.require_web_auth_domain && !web_auth_domain_seen {
        return Err(ChallengeError::MissingWebAuthDomain);
    }
    // "verify that transaction envelope has a correct signature by the Server Account"
    let hash = envelope::hash(&tx, opts.network);
    let server_signature = signatures
        .iter()
        .position(|s| opts.server.signed(&hash, s))
        .ok_or(ChallengeError::NotSignedByServer)?;

    Ok(Challenge {
        signatures: signatures.to_vec(),
        tx,
        hash,
        account,
        memo,
        home_domain,
        client_domain,
        min_time,
        max_time,
        server_key,
        server_signature,
    })
}
