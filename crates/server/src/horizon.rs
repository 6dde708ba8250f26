//! The Stellar ledger as Mooring needs it, behind a small trait: an
//! account's signers and thresholds (SEP-10) and its sequence number (to
//! build a sponsorship transaction, SEP-30). [`Horizon`] is the real
//! implementation, over Horizon's HTTP API.

use std::time::Duration;

use futures::future::BoxFuture;
use mooring_stellar::PublicKey;
use mooring_stellar::horizon::{AccountResource, Problem, Root};
use mooring_stellar::sep10::{AccountSigners, Signer};
use url::Url;

/// Why the ledger could not answer. SEP-10 fails closed on any of these.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// No answer (connection refused, timeout, DNS).
    #[error("Horizon could not be reached: {0}")]
    Unreachable(String),
    /// An answer that is neither the account nor "not found".
    #[error("Horizon answered {0}")]
    BadStatus(u16),
    /// An answer that is not Horizon's account JSON.
    #[error("Horizon's answer could not be read: {0}")]
    BadBody(String),
    /// A 404 that is not Horizon's "not found" problem: something else
    /// (a proxy, a wrong path) answered, and the account's existence is unknown.
    #[error("a 404 without Horizon's not_found problem document; is stellar.horizon_url right?")]
    NotHorizon,
}

/// Read access to the ledger.
pub trait Ledger: Send + Sync {
    /// The account's signers and thresholds, or `None` if it does not exist.
    fn account_signers<'a>(
        &'a self,
        account: &'a PublicKey,
    ) -> BoxFuture<'a, Result<Option<AccountSigners>, LedgerError>>;

    /// The account's current sequence number, or `None` if it does not
    /// exist (to build a transaction for it).
    fn account_sequence<'a>(
        &'a self,
        account: &'a PublicKey,
    ) -> BoxFuture<'a, Result<Option<i64>, LedgerError>>;
}

/// Horizon over HTTP.
#[derive(Clone, Debug)]
pub struct Horizon {
    base: Url,
    http: reqwest::Client,
}

impl Horizon {
    /// A client for the Horizon at `base`, giving up after `timeout`.
    pub fn new(base: Url, timeout: Duration) -> Result<Self, LedgerError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("mooring/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LedgerError::Unreachable(e.to_string()))?;
        Ok(Horizon { base, http })
    }

    /// The network passphrase this Horizon serves (its root resource).
    pub async fn network_passphrase(&self) -> Result<String, LedgerError> {
        let res = self
            .http
            .get(self.base.clone())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| LedgerError::Unreachable(e.without_url().to_string()))?;
        if !res.status().is_success() {
            return Err(LedgerError::BadStatus(res.status().as_u16()));
        }
        let root: Root = res
            .json()
            .await
            .map_err(|e| LedgerError::BadBody(e.without_url().to_string()))?;
        Ok(root.network_passphrase)
    }

    fn account_url(&self, account: &PublicKey) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("http(s) URLs have paths")
            .pop_if_empty()
            .extend(["accounts", &account.to_string()]);
        url
    }
}

impl Horizon {
    /// The account resource, or `None` for Horizon's own "not found".
    async fn account(&self, account: &PublicKey) -> Result<Option<AccountResource>, LedgerError> {
        let res = self
            .http
            .get(self.account_url(account))
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| LedgerError::Unreachable(e.without_url().to_string()))?;
        match res.status().as_u16() {
            // Only Horizon's own "not found" means the account does not
            // exist; anything else answering 404 must not turn every
            // account into an unfunded one that its master key alone
            // can authenticate (fail closed).
            404 => {
                let problem: Problem = res.json().await.map_err(|_| LedgerError::NotHorizon)?;
                return match problem.is_not_found() {
                    true => Ok(None),
                    false => Err(LedgerError::NotHorizon),
                };
            }
            200 => {}
            other => return Err(LedgerError::BadStatus(other)),
        }
        res.json()
            .await
            .map(Some)
            .map_err(|e| LedgerError::BadBody(e.without_url().to_string()))
    }
}

impl Ledger for Horizon {
    fn account_signers<'a>(
        &'a self,
        account: &'a PublicKey,
    ) -> BoxFuture<'a, Result<Option<AccountSigners>, LedgerError>> {
        Box::pin(async move {
            let Some(body) = self.account(account).await? else {
                return Ok(None);
            };
            Ok(Some(AccountSigners {
                // Only ed25519 keys can sign a challenge; pre-auth, hash-x and
                // signed-payload signers are left out.
                signers: body
                    .ed25519_signers()
                    .into_iter()
                    .map(|(key, weight)| Signer { key, weight })
                    .collect(),
                low: body.thresholds.low_threshold,
                medium: body.thresholds.med_threshold,
                high: body.thresholds.high_threshold,
            }))
        })
    }

    fn account_sequence<'a>(
        &'a self,
        account: &'a PublicKey,
    ) -> BoxFuture<'a, Result<Option<i64>, LedgerError>> {
        Box::pin(async move {
            match self.account(account).await? {
                None => Ok(None),
                Some(body) => body
                    .sequence()
                    .map(Some)
                    .ok_or_else(|| LedgerError::BadBody("sequence is not a number".into())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_url_keeps_a_base_path() {
        let k =
            PublicKey::parse("GDRXE2BQUC3AZNPVFSCEZ76NJ3WWL25FYFK6RGZGIEKWE4SOOHSUJUJ6").unwrap();
        let h = Horizon::new(
            Url::parse("http://h.example/horizon/").unwrap(),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(
            h.account_url(&k).as_str(),
            "http://h.example/horizon/accounts/GDRXE2BQUC3AZNPVFSCEZ76NJ3WWL25FYFK6RGZGIEKWE4SOOHSUJUJ6"
        );
        let h = Horizon::new(
            Url::parse("http://h.example").unwrap(),
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(
            h.account_url(&k)
                .as_str()
                .starts_with("http://h.example/accounts/G")
        );
    }
}
