//! Client accounts as SEP-10 knows them: a `G…` account or a muxed `M…`
//! account, and the id memo that can scope a `G…` account to one user.

use std::fmt;
use std::str::FromStr;

use crate::keys::PublicKey;

/// Why an account address or memo could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// Neither a `G…` nor an `M…` strkey.
    #[error("not a valid Stellar account: expected a G… or M… address")]
    InvalidAccount,
    /// Not a decimal 64-bit unsigned integer.
    #[error(
        "memo must be an id memo: a decimal integer from 0 to 18446744073709551615 without leading zeros"
    )]
    InvalidIdMemo,
}

/// The account a SEP-10 client authenticates as (SEP-10 §Abstract, "Client Account").
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientAccount {
    /// A Stellar account, `G…`.
    Account(PublicKey),
    /// A muxed account, `M…` (CAP-27 / SEP-23): an account plus a 64-bit id.
    Muxed {
        /// The underlying `G…` account that holds the funds and the signers.
        account: PublicKey,
        /// The id of the user or sub-account inside it.
        id: u64,
    },
}

impl ClientAccount {
    /// Reads a `G…` or `M…` address.
    pub fn parse(s: &str) -> Result<Self, AccountError> {
        match s.as_bytes().first() {
            Some(b'G') => PublicKey::parse(s)
                .map(ClientAccount::Account)
                .map_err(|_| AccountError::InvalidAccount),
            Some(b'M') => stellar_strkey::ed25519::MuxedAccount::from_string(s)
                .map(|m| ClientAccount::Muxed {
                    account: PublicKey::from_bytes(m.ed25519),
                    id: m.id,
                })
                .map_err(|_| AccountError::InvalidAccount),
            _ => Err(AccountError::InvalidAccount),
        }
    }

    /// The `G…` account that holds the signers (for a muxed account, the
    /// account it is built on).
    pub fn account(&self) -> PublicKey {
        match self {
            ClientAccount::Account(k) | ClientAccount::Muxed { account: k, .. } => *k,
        }
    }

    /// The muxed id, if this is an `M…` account.
    pub fn muxed_id(&self) -> Option<u64> {
        match self {
            ClientAccount::Account(_) => None,
            ClientAccount::Muxed { id, .. } => Some(*id),
        }
    }

    /// This account as an XDR muxed account (an operation source).
    pub fn to_xdr(&self) -> stellar_xdr::MuxedAccount {
        match self {
            ClientAccount::Account(k) => k.to_muxed_account(),
            ClientAccount::Muxed { account, id } => {
                stellar_xdr::MuxedAccount::MuxedEd25519(stellar_xdr::MuxedAccountMed25519 {
                    id: *id,
                    ed25519: stellar_xdr::Uint256(*account.as_bytes()),
                })
            }
        }
    }

    /// The client account named by an XDR muxed account.
    pub fn from_xdr(m: &stellar_xdr::MuxedAccount) -> Self {
        match m {
            stellar_xdr::MuxedAccount::Ed25519(k) => {
                ClientAccount::Account(PublicKey::from_bytes(k.0))
            }
            stellar_xdr::MuxedAccount::MuxedEd25519(m) => ClientAccount::Muxed {
                account: PublicKey::from_bytes(m.ed25519.0),
                id: m.id,
            },
        }
    }
}

impl fmt::Display for ClientAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAccount::Account(k) => k.fmt(f),
            ClientAccount::Muxed { account, id } => f.write_str(
                stellar_strkey::ed25519::MuxedAccount {
                    ed25519: *account.as_bytes(),
                    id: *id,
                }
                .to_string()
                .as_str(),
            ),
        }
    }
}

impl fmt::Debug for ClientAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientAccount({self})")
    }
}

impl FromStr for ClientAccount {
    type Err = AccountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClientAccount::parse(s)
    }
}

/// A memo of type id: the only memo SEP-10 allows (SEP-10 §Challenge, `memo`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdMemo(u64);

impl IdMemo {
    /// An id memo from its value.
    pub const fn new(id: u64) -> Self {
        IdMemo(id)
    }

    /// The value.
    pub const fn value(&self) -> u64 {
        self.0
    }

    /// Reads the canonical decimal form: digits only, no sign, no leading
    /// zeros, at most `u64::MAX`. A non-canonical form would let two spellings
    /// name one user, and the memo ends up in the JWT `sub` compared as text.
    pub fn parse(s: &str) -> Result<Self, AccountError> {
        let canonical = !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_digit())
            && (s == "0" || !s.starts_with('0'));
        if !canonical {
            return Err(AccountError::InvalidIdMemo);
        }
        s.parse()
            .map(IdMemo)
            .map_err(|_| AccountError::InvalidIdMemo)
    }
}

impl fmt::Display for IdMemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for IdMemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdMemo({})", self.0)
    }
}

impl FromStr for IdMemo {
    type Err = AccountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdMemo::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: &str = "GDRXE2BQUC3AZNPVFSCEZ76NJ3WWL25FYFK6RGZGIEKWE4SOOHSUJUJ6";
    // GA7QYNF7…VSGZ muxed with id 0, as the published Python stellar-sdk encodes it.
    const M: &str = "MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUAAAAAAAAAAAACJUQ";

    #[test]
    fn parses_g_and_m_addresses_and_round_trips() {
        let g = ClientAccount::parse(G).unwrap();
        assert_eq!(g.to_string(), G);
        assert_eq!(g.muxed_id(), None);
        let m = ClientAccount::parse(M).unwrap();
        assert_eq!(m.to_string(), M);
        assert_eq!(m.muxed_id(), Some(0));
        assert_eq!(
            m.account().to_string(),
            "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ"
        );
        assert_eq!(ClientAccount::from_xdr(&m.to_xdr()), m);
        assert_eq!(ClientAccount::from_xdr(&g.to_xdr()), g);
    }

    #[test]
    fn rejects_seeds_garbage_and_empty() {
        for bad in [
            "",
            "G",
            "SBGWSG6BTNCKCOB3DIFBGCVMUPQFYPA2G4O34RMTB343OYPXU5DJDVMN",
            "not-an-account",
            &G.to_lowercase(),
        ] {
            assert_eq!(
                ClientAccount::parse(bad),
                Err(AccountError::InvalidAccount),
                "{bad}"
            );
        }
    }

    #[test]
    fn id_memo_accepts_only_canonical_u64() {
        assert_eq!(IdMemo::parse("0").unwrap().value(), 0);
        assert_eq!(
            IdMemo::parse("18446744073709551615").unwrap().value(),
            u64::MAX
        );
        for bad in [
            "",
            "-1",
            "+1",
            "01",
            "1.5",
            "abc",
            "18446744073709551616",
            " 1",
        ] {
            assert_eq!(
                IdMemo::parse(bad),
                Err(AccountError::InvalidIdMemo),
                "{bad}"
            );
        }
    }
}
