//! The SEP-10 challenge transaction (SEP-10 v3.4.1): build it, read it,
//! verify who signed it. Used by the server (build, read, verify) and by
//! wallets (read, sign). Pure functions: the caller supplies the time, the
//! nonce and the account's signers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use stellar_xdr::{
    DataValue, DecoratedSignature, ManageDataOp, Memo, MuxedAccount, Operation, OperationBody,
    Preconditions, SequenceNumber, String64, TimeBounds, TimePoint, Transaction,
    TransactionEnvelope, TransactionExt, VecM,
};

use crate::account::{ClientAccount, IdMemo};
use crate::envelope::{self, EnvelopeError};
use crate::keys::{Keypair, PublicKey};
use crate::network::Network;

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
) -> Result<TransactionEnvelope, ChallengeError> {
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
    let mut signatures = Vec::with_capacity(1);
    envelope::sign(&tx, network, server, &mut signatures);
    Ok(envelope::envelope(tx, signatures))
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

/// How the reader knows the server's signature.
#[derive(Debug, Clone, Copy)]
pub enum ServerKey<'a> {
    /// A client, which knows the server's `SIGNING_KEY`: verify the signature.
    Public(PublicKey),
    /// The server itself: ed25519 is deterministic, so re-signing the hash and
    /// comparing proves the signature is the server's own at half the cost of
    /// a verification.
    Own(&'a Keypair),
}

impl ServerKey<'_> {
    fn public_key(&self) -> PublicKey {
        match self {
            ServerKey::Public(k) => *k,
            ServerKey::Own(kp) => kp.public_key(),
        }
    }

    fn signed(&self, hash: &[u8; 32], sig: &DecoratedSignature) -> bool {
        match self {
            ServerKey::Public(k) => envelope::signed_by(hash, sig, k),
            ServerKey::Own(kp) => {
                sig.hint.0 == kp.public_key().hint() && kp.made(hash, sig.signature.0.as_slice())
            }
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
    server_key: PublicKey,
    server_signature: usize,
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
            key.len() == d.len() + 5 && key.starts_with(d.as_bytes()) && key.ends_with(b" auth")
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

/// Which of an account's thresholds the client signatures must meet
/// (SEP-10 §Verification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Threshold {
    /// Low threshold.
    Low,
    /// Medium threshold: authority to move funds (§Verifying Authority to Move Funds).
    #[default]
    Medium,
    /// High threshold: complete authority (§Verifying Complete Authority).
    High,
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Threshold::Low => "low",
            Threshold::Medium => "medium",
            Threshold::High => "high",
        })
    }
}

/// One signer of an account, as the ledger reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signer {
    /// The signer's ed25519 key.
    pub key: PublicKey,
    /// Its weight (0 to 255).
    pub weight: u32,
}

/// The signers and thresholds of an account that exists on the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountSigners {
    /// The ed25519 signers, the master key among them (other signer kinds
    /// cannot sign a challenge and are left out).
    pub signers: Vec<Signer>,
    /// Low threshold.
    pub low: u32,
    /// Medium threshold.
    pub medium: u32,
    /// High threshold.
    pub high: u32,
}

impl AccountSigners {
    fn threshold(&self, t: Threshold) -> u32 {
        match t {
            Threshold::Low => self.low,
            Threshold::Medium => self.medium,
            Threshold::High => self.high,
        }
    }
}

impl Challenge {
    /// The server's signing key the challenge was read against.
    pub fn server_key(&self) -> PublicKey {
        self.server_key
    }

    /// Checks the client's signatures (SEP-10 §Token and §Verification).
    ///
    /// `account` is the client account's signers when it exists on the
    /// ledger, `None` when it does not. Every signature must be accounted
    /// for: the server's, the client domain's (when named) and the client's.
    /// Returns the client signers that signed.
    pub fn verify_signers(
        &self,
        account: Option<&AccountSigners>,
        threshold: Threshold,
    ) -> Result<Vec<PublicKey>, ChallengeError> {
        // Ed25519 is deterministic: a copy of a signature proves nothing the
        // original did not. Refuse copies outright, and let every key sign
        // for one role only, so no key counts twice — the server's key least
        // of all ("A Server should not assist in authentication").
        for (i, a) in self.signatures.iter().enumerate() {
            if self.signatures[..i]
                .iter()
                .any(|b| b.signature == a.signature)
            {
                return Err(ChallengeError::DuplicateSignature);
            }
        }
        let mut used = vec![false; self.signatures.len()];
        used[self.server_signature] = true;
        let mut used_keys = vec![self.server_key];
        let mut consume = |key: &PublicKey| -> bool {
            if used_keys.contains(key) {
                return false;
            }
            let found = self
                .signatures
                .iter()
                .enumerate()
                .find(|(i, s)| !used[*i] && envelope::signed_by(&self.hash, s, key));
            match found {
                Some((i, _)) => {
                    used[i] = true;
                    used_keys.push(*key);
                    true
                }
                None => false,
            }
        };
        // "verify that the transaction was signed by the source account of
        // the [client_domain] Manage Data operation"
        if let Some(cd) = &self.client_domain
            && !consume(&cd.key)
        {
            return Err(ChallengeError::NotSignedByClientDomain);
        }
        let mut signed = Vec::new();
        match account {
            Some(account) => {
                // §Verification: the Server Account's signature is explicitly
                // excluded from the weight, even if it is a signer.
                let mut weight = 0u32;
                // The client domain's key, having signed as such, adds none.
                for s in &account.signers {
                    if s.weight == 0 {
                        continue;
                    }
                    if consume(&s.key) {
                        weight += s.weight;
                        signed.push(s.key);
                    }
                }
                if signed.is_empty() {
                    return Err(ChallengeError::NotSignedByClient);
                }
                if used.iter().any(|u| !u) {
                    return Err(ChallengeError::UnrecognizedSignatures);
                }
                let required = account.threshold(threshold);
                if weight < required {
                    return Err(ChallengeError::BelowThreshold {
                        weight,
                        threshold,
                        required,
                    });
                }
            }
            None => {
                // §Verifying Accounts that Do Not Exist: only the master key,
                // and exactly two signatures (three with client_domain).
                let master = self.account.account();
                if !consume(&master) {
                    return Err(ChallengeError::NotSignedByMasterKey);
                }
                let expected = 2 + usize::from(self.client_domain.is_some());
                if self.signatures.len() != expected {
                    return Err(ChallengeError::ExtraSignatures {
                        found: self.signatures.len(),
                        expected,
                    });
                }
                signed.push(master);
            }
        }
        Ok(signed)
    }
}

/// Signs a challenge as the client: adds each keypair's signature and
/// returns the base64 envelope to POST back.
pub fn sign_challenge(
    b64: &str,
    network: &Network,
    signers: &[&Keypair],
) -> Result<String, ChallengeError> {
    let mut env = envelope::decode(b64)?;
    for kp in signers {
        envelope::sign_envelope(&mut env, network, kp)?;
    }
    Ok(envelope::encode(&env))
}

#[cfg(test)]
mod tests;
