//! Horizon as a wallet needs it: read an account (sequence, signers,
//! thresholds) and submit a signed transaction.
//!
//! ```no_run
//! # async fn example(xdr: String) -> Result<(), mooring_client::ClientError> {
//! use mooring_client::horizon::Horizon;
//! let horizon = Horizon::new(
//!     reqwest::Client::new(),
//!     url::Url::parse("https://horizon-testnet.stellar.org").unwrap(),
//! );
//! let done = horizon.submit(&xdr).await?;
//! println!("{} in ledger {:?}", done.hash, done.ledger);
//! # Ok(()) }
//! ```

use mooring_stellar::PublicKey;
use mooring_stellar::horizon::{AccountResource, Problem, Root, Submitted};
use serde::Deserialize as _;
use url::Url;

use crate::ClientError;

/// A Horizon server.
#[derive(Debug, Clone)]
pub struct Horizon {
    http: reqwest::Client,
    base: Url,
}

impl Horizon {
    /// The Horizon at `base`.
    pub fn new(http: reqwest::Client, base: Url) -> Horizon {
        Horizon { http, base }
    }

    /// The network passphrase Horizon serves.
    pub async fn network_passphrase(&self) -> Result<String, ClientError> {
        let res = self.http.get(self.base.clone()).send().await?;
        let root: Root = self.read(res, "Horizon GET /").await?;
        Ok(root.network_passphrase)
    }

    /// The account, or `None` when Horizon says it does not exist.
    pub async fn account(
        &self,
        account: &PublicKey,
    ) -> Result<Option<AccountResource>, ClientError> {
        let url = crate::discovery::join(&self.base, &["accounts", &account.to_string()]);
        let res = self.http.get(url).send().await?;
        match self.read(res, "Horizon GET /accounts").await {
            Ok(a) => Ok(Some(a)),
            // Only Horizon's own "not found" means the account does not
            // exist; a 404 from anything else is an error.
            Err(ClientError::Status {
                status: 404, body, ..
            }) if Problem::deserialize(&body).is_ok_and(|p| p.is_not_found()) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Submits a signed transaction envelope (base64 XDR) and waits for
    /// its ledger; a failed one is [`ClientError::Status`] with Horizon's
    /// result codes as the message (`tx_bad_auth`, `tx_failed:
    /// op_underfunded`).
    pub async fn submit(&self, envelope: &str) -> Result<Submitted, ClientError> {
        let url = crate::discovery::join(&self.base, &["transactions"]);
        let res = self.http.post(url).form(&[("tx", envelope)]).send().await?;
        self.read(res, "Horizon POST /transactions").await
    }

    /// The body of a success, or Horizon's problem as an error.
    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        res: reqwest::Response,
        step: &'static str,
    ) -> Result<T, ClientError> {
        if res.status().is_success() {
            return Ok(res.json().await?);
        }
        let status = res.status().as_u16();
        let anchor = crate::host_of(res.url());
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        let message = serde_json::from_value::<Problem>(body.clone())
            .map(|p| p.summary())
            .unwrap_or_else(|_| "not Horizon's problem document".into());
        Err(ClientError::Status {
            anchor,
            step,
            status,
            message,
            body,
        })
    }
}
