//! Stellar networks: a passphrase and the id derived from it.

use sha2::{Digest, Sha256};

/// The passphrase of the public Stellar network.
pub const PUBLIC_PASSPHRASE: &str = "Public Global Stellar Network ; September 2015";
/// The passphrase of the Stellar test network.
pub const TESTNET_PASSPHRASE: &str = "Test SDF Network ; September 2015";
/// The passphrase of the Futurenet network.
pub const FUTURENET_PASSPHRASE: &str = "Test SDF Future Network ; October 2022";

/// A Stellar network, identified by its passphrase. Signatures are made over
/// `sha256(passphrase)`, so the same transaction signed for two networks
/// yields two different signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    passphrase: String,
    id: [u8; 32],
}

impl Network {
    /// A network from its passphrase.
    pub fn new(passphrase: impl Into<String>) -> Self {
        let passphrase = passphrase.into();
        let id = Sha256::digest(passphrase.as_bytes()).into();
        Network { passphrase, id }
    }

    /// The Stellar test network.
    pub fn testnet() -> Self {
        Network::new(TESTNET_PASSPHRASE)
    }

    /// The public Stellar network.
    pub fn public() -> Self {
        Network::new(PUBLIC_PASSPHRASE)
    }

    /// The passphrase this network was made from.
    pub fn passphrase(&self) -> &str {
        &self.passphrase
    }

    /// `sha256(passphrase)`, the network id that goes into every transaction hash.
    pub fn id(&self) -> [u8; 32] {
        self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_id_is_sha256_of_passphrase() {
        // Known value: the testnet network id.
        assert_eq!(
            hex(&Network::testnet().id()),
            "cee0302d59844d32bdca915c8203dd44b33fbb7edc19051ea37abedf28ecd472"
        );
        assert_ne!(Network::testnet().id(), Network::public().id());
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
