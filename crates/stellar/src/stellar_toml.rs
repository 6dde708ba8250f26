//! The fields of a SEP-1 `stellar.toml` that Mooring reads from other parties.

use serde::Deserialize;

use crate::keys::PublicKey;

/// Largest stellar.toml SEP-1 allows ("a maximum file size of 100KB").
pub const MAX_STELLAR_TOML_BYTES: usize = 100 * 1024;

/// Why a stellar.toml could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StellarTomlError {
    /// Not TOML, or a field has the wrong type.
    #[error("stellar.toml is not valid TOML")]
    Syntax,
    /// A required field is missing.
    #[error("stellar.toml has no {0}")]
    Missing(&'static str),
    /// `SIGNING_KEY` is not a `G…` key.
    #[error("stellar.toml SIGNING_KEY is not a valid G… public key")]
    InvalidSigningKey,
}

/// The SEP-1 general-information fields a wallet or a SEP-10 server needs.
/// Unknown fields and sections are ignored.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct StellarToml {
    #[serde(rename = "VERSION")]
    pub version: Option<String>,
    #[serde(rename = "NETWORK_PASSPHRASE")]
    pub network_passphrase: Option<String>,
    #[serde(rename = "SIGNING_KEY")]
    pub signing_key: Option<String>,
    #[serde(rename = "WEB_AUTH_ENDPOINT")]
    pub web_auth_endpoint: Option<String>,
    #[serde(rename = "KYC_SERVER")]
    pub kyc_server: Option<String>,
    #[serde(rename = "TRANSFER_SERVER")]
    pub transfer_server: Option<String>,
    #[serde(rename = "DIRECT_PAYMENT_SERVER")]
    pub direct_payment_server: Option<String>,
    #[serde(rename = "ANCHOR_QUOTE_SERVER")]
    pub anchor_quote_server: Option<String>,
    #[serde(rename = "HORIZON_URL")]
    pub horizon_url: Option<String>,
    #[serde(rename = "ACCOUNTS", default)]
    pub accounts: Vec<String>,
    #[serde(rename = "CURRENCIES", default)]
    pub currencies: Vec<Currency>,
}

/// A `[[CURRENCIES]]` entry: the parts a client reads to find an asset's
/// issuer.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Currency {
    pub code: Option<String>,
    pub issuer: Option<String>,
}

impl StellarToml {
    /// Parses the text of a stellar.toml.
    pub fn parse(text: &str) -> Result<Self, StellarTomlError> {
        toml::from_str(text).map_err(|_| StellarTomlError::Syntax)
    }

    /// `SIGNING_KEY` as a public key.
    pub fn signing_key(&self) -> Result<PublicKey, StellarTomlError> {
        let key = self
            .signing_key
            .as_deref()
            .ok_or(StellarTomlError::Missing("SIGNING_KEY"))?;
        PublicKey::parse(key).map_err(|_| StellarTomlError::InvalidSigningKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_signing_key_and_ignores_the_rest() {
        let t = StellarToml::parse(
            "VERSION=\"2.7.0\"\nSIGNING_KEY=\"GDRXE2BQUC3AZNPVFSCEZ76NJ3WWL25FYFK6RGZGIEKWE4SOOHSUJUJ6\"\n[DOCUMENTATION]\nORG_NAME=\"x\"\n[[CURRENCIES]]\ncode=\"USDC\"\n",
        )
        .unwrap();
        assert_eq!(
            t.signing_key().unwrap().to_string(),
            "GDRXE2BQUC3AZNPVFSCEZ76NJ3WWL25FYFK6RGZGIEKWE4SOOHSUJUJ6"
        );
        assert_eq!(
            StellarToml::parse("x = ").unwrap_err(),
            StellarTomlError::Syntax
        );
        assert_eq!(
            StellarToml::parse("").unwrap().signing_key().unwrap_err(),
            StellarTomlError::Missing("SIGNING_KEY")
        );
        assert_eq!(
            StellarToml::parse("SIGNING_KEY=\"nope\"")
                .unwrap()
                .signing_key()
                .unwrap_err(),
            StellarTomlError::InvalidSigningKey
        );
    }
}
