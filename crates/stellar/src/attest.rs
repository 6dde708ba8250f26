//! The bytes an account signs to lend its KYC to another (Mooring's
//! `POST /kyc-attest`, after GNU Taler's DD45 `TALER_ReserveKYCAttestationPS`,
//! domain-separated for Stellar). docs/kyc.md gives the layout and a test
//! vector:
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 4 | size = 123, big-endian |
//! | 4 | 4 | purpose `0x4B594341` ("KYCA"), big-endian |
//! | 8 | 32 | SHA-256 of the network passphrase (the network id) |
//! | 40 | 32 | the attester's ed25519 public key |
//! | 72 | 32 | the target's ed25519 public key |
//! | 104 | 11 | the birthday, ASCII `YYYY-MM-DD` and a NUL; 11 zero bytes when none |
//! | 115 | 8 | expiry, unix seconds, big-endian |

use crate::{Network, PublicKey};

/// The message's length.
pub const SIZE: usize = 123;
/// Mooring's purpose tag, "KYCA" (not a GANA number: none was assigned
/// for DD45).
pub const PURPOSE: u32 = 0x4B59_4341;

/// A birthday as DD45's `FuzzyDateString`: `YYYY-MM-DD`, `YYYY-MM-00` (day
/// unknown) or `YYYY-00-00` (month and day unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuzzyDate {
    year: u16,
    month: u8,
    day: u8,
}

impl FuzzyDate {
    /// Reads one; a day without a month, or a day its month does not have,
    /// is refused.
    pub fn parse(s: &str) -> Option<FuzzyDate> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u16> {
            let part = s.get(r)?;
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (month, day) = (u8::try_from(month).ok()?, u8::try_from(day).ok()?);
        if month > 12 || (month == 0 && day != 0) {
            return None;
        }
        if day > 0 && day > days_in(year, month) {
            return None;
        }
        Some(FuzzyDate { year, month, day })
    }

    /// The date it counts as: an unknown month or day is the first
    /// (DD45: "YYYY-MM-00" is evaluated as "YYYY-MM-01").
    pub fn earliest(&self) -> (u16, u8, u8) {
        (self.year, self.month.max(1), self.day.max(1))
    }

    /// As written.
    pub fn text(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in(year: u16, month: u8) -> u8 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The bytes the attester signs.
pub fn message(
    network: &Network,
    attester: &PublicKey,
    target: &PublicKey,
    birthday: Option<&FuzzyDate>,
    expires: u64,
) -> [u8; SIZE] {
    let mut m = [0u8; SIZE];
    m[0..4].copy_from_slice(&(SIZE as u32).to_be_bytes());
    m[4..8].copy_from_slice(&PURPOSE.to_be_bytes());
    m[8..40].copy_from_slice(&network.id());
    m[40..72].copy_from_slice(attester.as_bytes());
    m[72..104].copy_from_slice(target.as_bytes());
    if let Some(b) = birthday {
        m[104..114].copy_from_slice(b.text().as_bytes());
    }
    m[115..123].copy_from_slice(&expires.to_be_bytes());
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Keypair;

    #[test]
    fn fuzzy_dates() {
        for ok in ["1990-07-14", "1990-07-00", "1990-00-00", "2000-02-29"] {
            assert_eq!(FuzzyDate::parse(ok).map(|d| d.text()), Some(ok.into()));
        }
        for bad in [
            "1990-00-14",
            "1990-13-01",
            "1990-02-30",
            "1900-02-29",
            "90-07-14",
            "1990/07/14",
            "1990-7-14",
            "１９９０-07-14",
            "1990-07-14 ",
        ] {
            assert!(FuzzyDate::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(
            FuzzyDate::parse("1990-00-00").unwrap().earliest(),
            (1990, 1, 1)
        );
    }

    /// The vector of docs/kyc.md (checked there by PyNaCl too).
    #[test]
    fn the_documented_vector() {
        let attester = Keypair::from_seed_bytes([1; 32]);
        let target = Keypair::from_seed_bytes([2; 32]);
        let m = message(
            &Network::testnet(),
            &attester.public_key(),
            &target.public_key(),
            FuzzyDate::parse("2010-05-00").as_ref(),
            1_800_000_000,
        );
        assert_eq!(&m[0..8], &[0, 0, 0, 123, 0x4B, 0x59, 0x43, 0x41]);
        assert_eq!(&m[104..115], b"2010-05-00\0");
        println!("attester {}", attester.public_key());
        println!("target   {}", target.public_key());
        println!("message  {}", hex(&m));
        println!("sig      {}", hex(&attester.sign(&m)));
        let none = message(
            &Network::testnet(),
            &attester.public_key(),
            &target.public_key(),
            None,
            1_800_000_000,
        );
        assert_eq!(&none[104..115], &[0; 11]);
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
