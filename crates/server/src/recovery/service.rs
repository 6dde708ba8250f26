//! The SEP-30 rules: registering identities, who may reach an account,
//! signing under the policy, key rotation and sponsorship.

use std::sync::Arc;

use mooring_stellar::{Keypair, Network, PublicKey};

use super::authorize::{Authorize, AuthorizeParts, Mailer, SmsSender};
use super::caller::Caller;
pub use super::view::{AccountView, IdentityView, Signature, SignerView};
use super::{model, policy, sponsor, store, trusted};
use crate::config::Sep30Config;
use crate::jwt::Jwt;

use crate::clock::Clock;
use crate::db::{Conn, Db, DbError};
use crate::rate_limit::RateLimits;
use crate::server_keys::{self, ServerKeyError};
use crate::vault::{DataKey, Place, Vault, VaultError};
use model::{AuthMethod, Identity};

/// Name of the key that hashes auth method values, in `server_keys`.
const LOOKUP_KEY: &str = "recovery-lookup";
/// Name of the key that seals and hashes sign-in state, in `server_keys`.
const AUTHORIZE_KEY: &str = "authorize";
/// Accounts per page of `GET /accounts`.
pub const PAGE: i64 = 20;

/// Why a recovery request failed. Texts are for the client.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// 400.
    #[error("{0}")]
    Invalid(String),
    /// 401.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 404: unknown, or not the caller's — never told apart (§Errors).
    #[error("{0}")]
    NotFound(&'static str),
    /// 409 (§POST /accounts/<address>).
    #[error("account is already registered")]
    Conflict,
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A stored key could not be opened.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl From<ServerKeyError> for RecoveryError {
    fn from(e: ServerKeyError) -> Self {
        match e {
            ServerKeyError::Db(e) => RecoveryError::Db(e),
            ServerKeyError::Vault(e) => RecoveryError::Vault(e),
        }
    }
}

impl From<sqlx::Error> for RecoveryError {
    fn from(e: sqlx::Error) -> Self {
        RecoveryError::Db(e.into())
    }
}

/// What the recovery service is built from.
pub struct RecoveryParts<'a> {
    /// The database.
    pub db: Db,
    /// Master keys.
    pub vault: Arc<Vault>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The network signatures are made for.
    pub network: Network,
    /// Settings.
    pub cfg: &'a Sep30Config,
    /// Session tokens (SEP-10 and access tokens are both signed by it).
    pub jwt: Arc<Jwt>,
    /// The public base URL, without a trailing slash.
    pub public_url: String,
    /// Where email codes go.
    pub mailer: Arc<dyn Mailer>,
    /// Where SMS codes go.
    pub sms: Arc<dyn SmsSender>,
    /// The ledger (sponsorship reads sequence numbers).
    pub ledger: Arc<dyn crate::horizon::Ledger>,
    /// The shared rate limits.
    pub limits: RateLimits,
}

/// The SEP-30 service.
pub struct Recovery {
    db: Db,
    vault: Arc<Vault>,
    lookup: DataKey,
    clock: Arc<dyn Clock>,
    network: Network,
    sponsors: Vec<PublicKey>,
    sep10_issuer: String,
    provider_issuer: String,
    authorize: Authorize,
    sponsor: Option<sponsor::Sponsor>,
    trusted: Vec<trusted::TrustedSep10>,
}

impl std::fmt::Debug for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recovery")
            .field("network", &self.network.passphrase())
            .field("sponsors", &self.sponsors.len())
            .finish_non_exhaustive()
    }
}

impl Recovery {
    /// Loads (or, on the first start, creates) its keys.
    pub async fn new(parts: RecoveryParts<'_>) -> Result<Self, RecoveryError> {
        let lookup = server_keys::load(&parts.db, &parts.vault, LOOKUP_KEY).await?;
        let sep10_issuer = format!("{}/auth", parts.public_url);
        let provider_issuer = format!("{}/authorize", parts.public_url);
        let authorize = Authorize::new(
            AuthorizeParts {
                db: parts.db.clone(),
                key: server_keys::load(&parts.db, &parts.vault, AUTHORIZE_KEY).await?,
                limits: parts.limits,
                clock: parts.clock.clone(),
                jwt: parts.jwt,
                issuer: provider_issuer.clone(),
                public_url: parts.public_url,
                mailer: parts.mailer,
                sms: parts.sms,
            },
            parts.cfg,
        )
        .map_err(RecoveryError::Invalid)?;
        let sp = &parts.cfg.sponsor;
        let sponsor = match (&sp.seed, sp.enabled) {
            (Some(seed), true) => Some(sponsor::Sponsor::new(
                Keypair::from_secret_seed(secrecy::ExposeSecret::expose_secret(seed)).map_err(
                    |_| RecoveryError::Invalid("sep30.sponsor.seed is not a secret seed".into()),
                )?,
                parts.db.clone(),
                parts.ledger,
                parts.clock.clone(),
                parts.network.clone(),
                sp.per_identity_per_day,
                sp.per_day,
            )),
            _ => None,
        };
        let trusted = parts
            .cfg
            .trusted_sep10
            .iter()
            .map(trusted::TrustedSep10::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(RecoveryError::Invalid)?;
        if let Some(t) = trusted
            .iter()
            .find(|t| t.issuer == sep10_issuer || t.issuer == provider_issuer)
        {
            return Err(RecoveryError::Invalid(format!(
                "sep30.trusted_sep10 lists this server's own issuer {}; its tokens are trusted already",
                t.issuer
            )));
        }
        Ok(Recovery {
            db: parts.db,
            vault: parts.vault,
            lookup,
            clock: parts.clock,
            network: parts.network,
            sponsors: parts
                .cfg
                .sponsor_accounts
                .iter()
                .filter_map(|a| PublicKey::parse(a).ok())
                .collect(),
            sep10_issuer,
            provider_issuer,
            authorize,
            sponsor,
            trusted,
        })
    }

    /// The sign-in service.
    pub fn authorize(&self) -> &Authorize {
        &self.authorize
    }

    /// `POST /sponsor/new`.
    pub async fn sponsor_new(
        &self,
        caller: &Caller,
        account: &PublicKey,
    ) -> Result<sponsor::Sponsored, sponsor::SponsorError> {
        self.sponsor
            .as_ref()
            .ok_or(sponsor::SponsorError::Disabled)?
            .new_account(&self.authorize, caller, account)
            .await
    }

    /// `iss` of this server's SEP-10 tokens.
    pub fn sep10_issuer(&self) -> &str {
        &self.sep10_issuer
    }

    /// `iss` of this server's identity-provider tokens.
    pub fn provider_issuer(&self) -> &str {
        &self.provider_issuer
    }

    /// The trusted SEP-10 server that issues tokens as `iss`.
    pub fn trusted(&self, iss: &str) -> Option<&trusted::TrustedSep10> {
        self.trusted.iter().find(|t| t.issuer == iss)
    }

    fn now(&self) -> i64 {
        i64::try_from(self.clock.now()).unwrap_or(i64::MAX)
    }

    /// The keyed hash an auth method is stored and looked up by.
    fn lookup(&self, m: &AuthMethod) -> [u8; 32] {
        self.lookup.fingerprint(
            Place {
                table: "recovery_auth_methods",
                column: m.kind.as_str(),
                row: "",
            },
            m.value.as_bytes(),
        )
    }

    fn lookups(&self, caller: &Caller) -> Vec<[u8; 32]> {
        caller.methods.iter().map(|m| self.lookup(m)).collect()
    }

    fn owner(address: &str) -> String {
        format!("recovery-account:{address}")
    }

    fn new_identities(&self, identities: &[Identity]) -> Vec<store::NewIdentity> {
        identities
            .iter()
            .map(|i| store::NewIdentity {
                role: i.role.clone(),
                lookups: i.methods.iter().map(|m| self.lookup(m)).collect(),
            })
            .collect()
    }

    /// Which identities of `address` the caller proves, or `None` if the
    /// caller may not reach the account at all (§GET /accounts: the account
    /// itself by SEP-10, or any of its identities).
    async fn access(
        &self,
        c: Conn<'_>,
        caller: &Caller,
        address: &str,
    ) -> Result<Option<Vec<i64>>, RecoveryError> {
        let proven = store::matching_identities(c, address, &self.lookups(caller)).await?;
        let is_account = caller.account.is_some_and(|a| a.to_string() == address);
        Ok((is_account || !proven.is_empty()).then_some(proven))
    }

    /// The identities the caller proves of a registered account it may
    /// reach; 404 otherwise, the same for "unknown" and "not yours".
    async fn reachable(
        &self,
        mut c: Conn<'_>,
        caller: &Caller,
        address: &str,
    ) -> Result<Vec<i64>, RecoveryError> {
        let proven = self
            .access(c.reborrow(), caller, address)
            .await?
            .ok_or(RecoveryError::NotFound(NOT_FOUND))?;
        if store::account(c, address).await?.is_none() {
            return Err(RecoveryError::NotFound(NOT_FOUND));
        }
        Ok(proven)
    }

    async fn view(
        &self,
        mut c: Conn<'_>,
        address: &str,
        proven: &[i64],
    ) -> Result<AccountView, RecoveryError> {
        let roles = store::roles(c.reborrow(), address).await?;
        let signers = store::signers(c, address).await?;
        Ok(AccountView {
            address: address.to_owned(),
            identities: roles
                .into_iter()
                .map(|(pos, role)| IdentityView {
                    role,
                    authenticated: proven.contains(&pos),
                })
                .collect(),
            signers: signers
                .into_iter()
                .map(|s| SignerView { key: s.public_key })
                .collect(),
        })
    }

    /// §POST /accounts/<address>: only with a SEP-10 token for `address`.
    pub async fn register(
        &self,
        caller: &Caller,
        address: &PublicKey,
        identities: &[Identity],
    ) -> Result<AccountView, RecoveryError> {
        let addr = address.to_string();
        let dek = self.vault.new_data_key();
        let signer = Keypair::random();
        let signer_key = signer.public_key().to_string();
        let sealed = dek.seal(seed_place(&signer_key), signer.seed_bytes().as_slice());
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let wrapped = self.vault.wrap(&dek, &Self::owner(&addr));
        match store::insert_account(&mut tx, &addr, &wrapped, now).await {
            Err(DbError::Conflict) => return Err(RecoveryError::Conflict),
            other => other?,
        }
        store::replace_identities(&mut tx, &addr, &self.new_identities(identities), now).await?;
        store::insert_signer(&mut tx, &addr, &signer_key, &sealed, now).await?;
        let proven = store::matching_identities(&mut tx, &addr, &self.lookups(caller)).await?;
        let view = self.view(Conn::Tx(&mut tx), &addr, &proven).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// §GET /accounts/<address>.
    pub async fn get(&self, caller: &Caller, address: &str) -> Result<AccountView, RecoveryError> {
        let proven = self.reachable(self.db.reader(), caller, address).await?;
        self.view(self.db.reader(), address, &proven).await
    }

    /// §PUT /accounts/<address>: identities replaced, not merged.
    pub async fn update(
        &self,
        caller: &Caller,
        address: &str,
        identities: &[Identity],
    ) -> Result<AccountView, RecoveryError> {
        let mut tx = self.db.begin().await?;
        store::lock_account(&mut tx, address).await?;
        self.reachable(Conn::Tx(&mut tx), caller, address).await?;
        store::replace_identities(
            &mut tx,
            address,
            &self.new_identities(identities),
            self.now(),
        )
        .await?;
        let proven = store::matching_identities(&mut tx, address, &self.lookups(caller)).await?;
        let view = self.view(Conn::Tx(&mut tx), address, &proven).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// §DELETE /accounts/<address>: irrecoverable. Answers with what was
    /// deleted.
    pub async fn delete(
        &self,
        caller: &Caller,
        address: &str,
    ) -> Result<AccountView, RecoveryError> {
        let mut tx = self.db.begin().await?;
        store::lock_account(&mut tx, address).await?;
        let proven = self.reachable(Conn::Tx(&mut tx), caller, address).await?;
        let view = self.view(Conn::Tx(&mut tx), address, &proven).await?;
        store::delete_account(&mut tx, address).await?;
        tx.commit().await?;
        self.db.flush_deleted().await;
        Ok(view)
    }

    /// §GET /accounts: what the caller may reach, by address, after `after`.
    pub async fn list(
        &self,
        caller: &Caller,
        after: &str,
    ) -> Result<Vec<AccountView>, RecoveryError> {
        let lookups = self.lookups(caller);
        let own = caller.account.map(|a| a.to_string());
        let addresses =
            store::accessible(self.db.reader(), own.as_deref(), &lookups, after, PAGE).await?;
        let mut out = Vec::with_capacity(addresses.len());
        for address in addresses {
            let proven = store::matching_identities(self.db.reader(), &address, &lookups).await?;
            out.push(self.view(self.db.reader(), &address, &proven).await?);
        }
        Ok(out)
    }

    /// §POST /accounts/<address>/sign/<signing-address>. The caller's access
    /// is checked first, then that the key is the account's, and only then
    /// is the transaction read: someone with no access learns nothing, and
    /// every refusal before parsing is the same 404.
    pub async fn sign(
        &self,
        caller: &Caller,
        address: &str,
        signer: &str,
        body: &[u8],
    ) -> Result<Signature, RecoveryError> {
        if self
            .access(self.db.reader(), caller, address)
            .await?
            .is_none()
        {
            return Err(RecoveryError::NotFound(NOT_FOUND));
        }
        let Some(account) = store::account(self.db.reader(), address).await? else {
            return Err(RecoveryError::NotFound(NOT_FOUND));
        };
        let Some(row) = store::signers(self.db.reader(), address)
            .await?
            .into_iter()
            .find(|s| s.public_key == signer)
        else {
            return Err(RecoveryError::NotFound(
                "signing key not found for this account",
            ));
        };
        let transaction = model::transaction(body).map_err(|e| RecoveryError::Invalid(e.0))?;
        let account_key =
            PublicKey::parse(address).map_err(|_| RecoveryError::NotFound(NOT_FOUND))?;
        let hash = policy::check(&transaction, &account_key, &self.sponsors, &self.network)
            .map_err(|e| RecoveryError::Invalid(e.to_string()))?;
        let dek = self
            .vault
            .unwrap(&account.data_key, &Self::owner(address))?;
        let seed = dek.open(seed_place(&row.public_key), &row.seed)?;
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| RecoveryError::Vault(VaultError::Unauthentic))?;
        let keypair = Keypair::from_seed_bytes(seed);
        use base64::Engine as _;
        Ok(Signature {
            signature: base64::engine::general_purpose::STANDARD.encode(keypair.sign(&hash)),
            network_passphrase: self.network.passphrase().to_owned(),
        })
    }

    /// Registered accounts for staff, by address after `after`: each
    /// with its identities' roles and its signing keys (newest first), no
    /// identity values.
    pub async fn staff_list(
        &self,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(store::StaffRow, Vec<String>, Vec<String>)>, RecoveryError> {
        let rows = store::staff_list(self.db.reader(), after, limit).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let roles = store::roles(self.db.reader(), &r.address).await?;
            let keys = store::signers(self.db.reader(), &r.address).await?;
            let roles = roles.into_iter().map(|(_, role)| role).collect();
            let keys = keys.into_iter().map(|k| k.public_key).collect();
            out.push((r, roles, keys));
        }
        Ok(out)
    }

    /// Signing key rotation (§Signing Key Rotation): a new key, listed
    /// first; the old ones stay until the owner removes them.
    pub async fn add_signer(
        &self,
        actor: &str,
        address: &str,
    ) -> Result<AccountView, RecoveryError> {
        let mut tx = self.db.begin().await?;
        store::lock_account(&mut tx, address).await?;
        let Some(account) = store::account(&mut tx, address).await? else {
            return Err(RecoveryError::NotFound(NOT_FOUND));
        };
        let dek = self
            .vault
            .unwrap(&account.data_key, &Self::owner(address))?;
        let signer = Keypair::random();
        let key = signer.public_key().to_string();
        let sealed = dek.seal(seed_place(&key), signer.seed_bytes().as_slice());
        store::insert_signer(&mut tx, address, &key, &sealed, self.now()).await?;
        crate::audit::record(
            &mut tx,
            actor,
            "recovery.add_signer",
            Some(address),
            Some(&key),
            self.now(),
        )
        .await?;
        let view = self.view(Conn::Tx(&mut tx), address, &[]).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Removes an old signing key; only the account itself (by SEP-10) may,
    /// and never the last one.
    pub async fn remove_signer(
        &self,
        caller: &Caller,
        address: &str,
        signer: &str,
    ) -> Result<AccountView, RecoveryError> {
        let mut tx = self.db.begin().await?;
        store::lock_account(&mut tx, address).await?;
        let proven = self.reachable(Conn::Tx(&mut tx), caller, address).await?;
        if caller.account.is_none_or(|a| a.to_string() != address) {
            return Err(RecoveryError::Unauthorized(
                "only the account itself (a SEP-10 token for it) may remove a signing key",
            ));
        }
        let signers = store::signers(&mut tx, address).await?;
        if !signers.iter().any(|s| s.public_key == signer) {
            return Err(RecoveryError::NotFound(
                "signing key not found for this account",
            ));
        }
        if signers.len() == 1 {
            return Err(RecoveryError::Invalid(
                "the last signing key of an account cannot be removed; delete the account instead"
                    .into(),
            ));
        }
        store::delete_signer(&mut tx, address, signer).await?;
        let view = self.view(Conn::Tx(&mut tx), address, &proven).await?;
        tx.commit().await?;
        self.db.flush_deleted().await;
        Ok(view)
    }
}

/// The one answer for an account that is unknown or not the caller's.
const NOT_FOUND: &str = "account not found";

fn seed_place(public_key: &str) -> Place<'_> {
    Place {
        table: "recovery_signers",
        column: "seed",
        row: public_key,
    }
}
