//! Who signed a challenge, weighed against the account's signers (SEP-10
//! §Verifying Accounts, §Verifying Accounts that Do Not Exist), and signing
//! one as the client.

use crate::envelope;
use crate::keys::{Keypair, PublicKey};
use crate::network::Network;

use super::*;

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
