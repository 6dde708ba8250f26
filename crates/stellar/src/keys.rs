//! Ed25519 keys in Stellar's strkey forms: `G…` public keys and `S…` seeds.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use stellar_xdr::{DecoratedSignature, Signature, SignatureHint};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// Why a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not a `G…` strkey with a valid checksum.
    #[error("not a valid Stellar public key (expected a G… address)")]
    InvalidPublicKey,
    /// Not an `S…` strkey with a valid checksum.
    #[error("not a valid Stellar secret seed (expected an S… seed)")]
    InvalidSecretSeed,
}

/// An ed25519 public key: a Stellar account id, written `G…`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// A public key from its 32 raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        PublicKey(bytes)
    }

    /// The 32 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Reads a `G…` strkey.
    pub fn parse(s: &str) -> Result<Self, KeyError> {
        stellar_strkey::ed25519::PublicKey::from_string(s)
            .map(|k| PublicKey(k.0))
            .map_err(|_| KeyError::InvalidPublicKey)
    }

    /// The signature hint Stellar attaches to a signature by this key: its
    /// last four bytes.
    pub fn hint(&self) -> [u8; 4] {
        [self.0[28], self.0[29], self.0[30], self.0[31]]
    }

    /// True if `signature` is a valid ed25519 signature of `message` by this
    /// key. Strict verification (RFC 8032 with canonical encodings and no
    /// small-order keys), as stellar-core does through libsodium.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        VerifyingKey::from_bytes(&self.0)
            .map(|k| k.verify_strict(message, &sig).is_ok())
            .unwrap_or(false)
    }

    /// This key as an XDR account id.
    pub fn to_account_id(&self) -> stellar_xdr::AccountId {
        stellar_xdr::AccountId(stellar_xdr::PublicKey::PublicKeyTypeEd25519(
            stellar_xdr::Uint256(self.0),
        ))
    }

    /// This key as an unmuxed XDR muxed account.
    pub fn to_muxed_account(&self) -> stellar_xdr::MuxedAccount {
        stellar_xdr::MuxedAccount::Ed25519(stellar_xdr::Uint256(self.0))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            stellar_strkey::ed25519::PublicKey(self.0)
                .to_string()
                .as_str(),
        )
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PublicKey::parse(s)
    }
}

/// An ed25519 keypair. Deliberately neither `Clone` nor `Serialize`; its
/// `Debug` shows only the public key, and the secret is zeroed on drop.
pub struct Keypair {
    signing: SigningKey,
    public: PublicKey,
}

impl Keypair {
    /// A fresh keypair from the operating system's random source.
    pub fn random() -> Self {
        Keypair::from_seed_bytes(rand::random())
    }

    /// A keypair from its 32-byte seed.
    pub fn from_seed_bytes(seed: [u8; 32]) -> Self {
        let seed = Zeroizing::new(seed);
        let signing = SigningKey::from_bytes(&seed);
        let public = PublicKey(signing.verifying_key().to_bytes());
        Keypair { signing, public }
    }

    /// Reads an `S…` secret seed.
    pub fn from_secret_seed(s: &str) -> Result<Self, KeyError> {
        let key = stellar_strkey::ed25519::PrivateKey::from_string(s.trim())
            .map_err(|_| KeyError::InvalidSecretSeed)?;
        Ok(Keypair::from_seed_bytes(key.0))
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The `S…` secret seed, in memory that is zeroed when dropped.
    pub fn secret_seed(&self) -> Zeroizing<String> {
        let key = stellar_strkey::ed25519::PrivateKey(self.signing.to_bytes());
        Zeroizing::new(key.as_unredacted().to_string().as_str().to_owned())
    }

    /// The raw 32-byte seed, in memory that is zeroed when dropped.
    pub fn seed_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// An ed25519 signature of `message`. Ed25519 signing is deterministic
    /// (RFC 8032 §5.1.6): the same key and message always give the same bytes.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// A Stellar decorated signature (hint + signature) of a transaction hash.
    pub fn sign_decorated(&self, hash: &[u8; 32]) -> DecoratedSignature {
        DecoratedSignature {
            hint: SignatureHint(self.public.hint()),
            signature: Signature(
                self.sign(hash)
                    .to_vec()
                    .try_into()
                    .expect("64 bytes fit a Signature"),
            ),
        }
    }

    /// True if `signature` is the signature this keypair makes of `message`.
    ///
    /// Because ed25519 signing is deterministic, re-signing and comparing is
    /// exact for signatures this key made, and cheaper than verification.
    /// The comparison takes the same time wherever the bytes differ, so it
    /// reveals nothing about the expected signature.
    pub fn made(&self, message: &[u8], signature: &[u8]) -> bool {
        self.sign(message).as_slice().ct_eq(signature).into()
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({}, secret: [REDACTED])", self.public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Seed and account as the published Python stellar-sdk derives them.
    const SEED: &str = "SBGWSG6BTNCKCOB3DIFBGCVMUPQFYPA2G4O34RMTB343OYPXU5DJDVMN";
    const ACCOUNT: &str = "GDRXE2BQUC3AZNPVFSCEZ76NJ3WWL25FYFK6RGZGIEKWE4SOOHSUJUJ6";

    #[test]
    fn seed_round_trips_to_its_public_key() {
        let kp = Keypair::from_secret_seed(SEED).unwrap();
        assert_eq!(kp.public_key().to_string(), ACCOUNT);
        assert_eq!(kp.secret_seed().as_str(), SEED);
    }

    #[test]
    fn public_key_parse_rejects_bad_checksums_and_other_kinds() {
        assert!(PublicKey::parse(ACCOUNT).is_ok());
        let mut bad = ACCOUNT.to_string();
        bad.replace_range(55..56, "A");
        assert_eq!(PublicKey::parse(&bad), Err(KeyError::InvalidPublicKey));
        assert_eq!(PublicKey::parse(SEED), Err(KeyError::InvalidPublicKey));
        assert_eq!(PublicKey::parse(""), Err(KeyError::InvalidPublicKey));
        assert!(Keypair::from_secret_seed(ACCOUNT).is_err());
    }

    #[test]
    fn signatures_verify_and_made_matches_only_own_signatures() {
        let kp = Keypair::random();
        let other = Keypair::random();
        let sig = kp.sign(b"hello");
        assert!(kp.public_key().verify(b"hello", &sig));
        assert!(!kp.public_key().verify(b"hellO", &sig));
        assert!(!other.public_key().verify(b"hello", &sig));
        assert!(kp.made(b"hello", &sig));
        assert!(!other.made(b"hello", &sig));
        assert!(!kp.public_key().verify(b"hello", &sig[..63]));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let kp = Keypair::from_secret_seed(SEED).unwrap();
        let shown = format!("{kp:?}");
        assert!(!shown.contains(SEED));
        assert!(shown.contains("REDACTED"));
    }
}
