//! The parts of Horizon's resources that Mooring reads, in Horizon's
//! documented JSON (developers.stellar.org, Horizon API): shared by the
//! server's ledger lookups and the client's.

use serde::Deserialize;

use crate::keys::PublicKey;

/// Horizon's error document (RFC 7807 problem), with the result codes of
/// a failed transaction.
#[derive(Debug, Clone, Deserialize)]
pub struct Problem {
    /// The problem's type URL; `…/not_found`, `…/transaction_failed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its title, for people.
    #[serde(default)]
    pub title: String,
    /// For a failed transaction, `result_codes`.
    #[serde(default)]
    pub extras: Option<serde_json::Value>,
}

impl Problem {
    /// True for Horizon's own "resource missing".
    pub fn is_not_found(&self) -> bool {
        self.kind.ends_with("/not_found")
    }

    /// The result codes of a failed transaction as one line
    /// (`tx_failed: op_underfunded`), or the title.
    pub fn summary(&self) -> String {
        let codes = self.extras.as_ref().map(|e| &e["result_codes"]);
        let Some(codes) = codes.filter(|c| c.is_object()) else {
            return self.title.clone();
        };
        let tx = codes["transaction"].as_str().unwrap_or("?");
        let ops: Vec<&str> = codes["operations"]
            .as_array()
            .map(|a| a.iter().filter_map(|o| o.as_str()).collect())
            .unwrap_or_default();
        match ops.is_empty() {
            true => tx.to_owned(),
            false => format!("{tx}: {}", ops.join(", ")),
        }
    }
}

/// Horizon's root resource, the part that names its network.
#[derive(Debug, Clone, Deserialize)]
pub struct Root {
    /// The network's passphrase.
    pub network_passphrase: String,
}

/// Horizon's account resource ("Retrieve an Account"): its sequence,
/// thresholds and signers.
#[derive(Debug, Clone, Deserialize)]
pub struct AccountResource {
    /// The current sequence number, a decimal string.
    pub sequence: String,
    /// Its thresholds.
    pub thresholds: Thresholds,
    /// Its signers, the master key among them.
    pub signers: Vec<SignerResource>,
}

/// An account's thresholds.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Thresholds {
    /// Low.
    pub low_threshold: u32,
    /// Medium.
    pub med_threshold: u32,
    /// High.
    pub high_threshold: u32,
}

/// One signer of an account.
#[derive(Debug, Clone, Deserialize)]
pub struct SignerResource {
    /// The key, as a strkey.
    pub key: String,
    /// Its weight.
    pub weight: u32,
    /// `ed25519_public_key`, `preauth_tx`, `sha256_hash`, …
    #[serde(rename = "type")]
    pub kind: String,
}

impl AccountResource {
    /// The sequence number, if Horizon wrote a number.
    pub fn sequence(&self) -> Option<i64> {
        self.sequence.parse().ok()
    }

    /// The ed25519 signers and their weights; pre-auth, hash-x and
    /// signed-payload signers are left out (they cannot sign a request).
    pub fn ed25519_signers(&self) -> Vec<(PublicKey, u32)> {
        self.signers
            .iter()
            .filter(|s| s.kind == "ed25519_public_key")
            .filter_map(|s| Some((PublicKey::parse(&s.key).ok()?, s.weight)))
            .collect()
    }
}

/// Horizon's answer to a transaction it accepted.
#[derive(Debug, Clone, Deserialize)]
pub struct Submitted {
    /// The transaction's hash, hex.
    pub hash: String,
    /// The ledger it closed in.
    #[serde(default)]
    pub ledger: Option<u64>,
}
