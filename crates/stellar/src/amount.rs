//! Amounts as Stellar writes them: decimal strings with at most seven
//! fractional digits, held as a count of the smallest unit (10⁻⁷, a
//! "stroop" for lumens) in an `i64`, exactly as the network's `Int64`
//! amounts are.

use std::fmt;
use std::str::FromStr;

/// Units in one whole amount.
const ONE: i64 = 10_000_000;

/// A non-negative amount with seven decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(i64);

/// Why a string is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not an amount: a non-negative decimal number with at most 7 decimal places and at most 922337203685 whole units"
)]
pub struct AmountError;

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);

    /// From the smallest units.
    pub fn from_units(units: i64) -> Option<Amount> {
        (units >= 0).then_some(Amount(units))
    }

    /// In the smallest units.
    pub fn units(self) -> i64 {
        self.0
    }

    /// Reads `500`, `12.5` or `0.0000001` (as [`FromStr`]).
    pub fn parse(s: &str) -> Result<Amount, AmountError> {
        s.parse()
    }

    /// Zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The sum, or the largest amount when it overflows.
    pub fn saturating_add(self, other: Amount) -> Amount {
        Amount(self.0.saturating_add(other.0))
    }

    /// The sum, unless it overflows.
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    /// The difference, or zero.
    pub fn saturating_sub(self, other: Amount) -> Amount {
        Amount((self.0 - other.0).max(0))
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(s: &str) -> Result<Amount, AmountError> {
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || whole.len() > 12 || !digits(whole) || !digits(frac) {
            return Err(AmountError);
        }
        if frac.len() > 7 || (s.contains('.') && frac.is_empty()) {
            return Err(AmountError);
        }
        let whole: i64 = whole.parse().map_err(|_| AmountError)?;
        let frac: i64 = format!("{frac:0<7}").parse().map_err(|_| AmountError)?;
        whole
            .checked_mul(ONE)
            .and_then(|w| w.checked_add(frac))
            .map(Amount)
            .ok_or(AmountError)
    }
}

impl fmt::Display for Amount {
    /// The shortest form: `100`, `0.5`, `12.0000001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / ONE, self.0 % ONE);
        if frac == 0 {
            return write!(f, "{whole}");
        }
        let frac = format!("{frac:07}");
        write!(f, "{whole}.{}", frac.trim_end_matches('0'))
    }
}

impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_seven_places() {
        for (text, units, shown) in [
            ("0", 0, "0"),
            ("100", 1_000_000_000, "100"),
            ("0.5", 5_000_000, "0.5"),
            ("12.0000001", 120_000_001, "12.0000001"),
            ("922337203685.4775807", i64::MAX, "922337203685.4775807"),
            ("007.10", 71_000_000, "7.1"),
        ] {
            let a: Amount = text.parse().unwrap();
            assert_eq!(
                (a.units(), a.to_string().as_str()),
                (units, shown),
                "{text}"
            );
        }
        for bad in [
            "",
            ".5",
            "5.",
            "-1",
            "1e3",
            "0.00000001",
            "922337203685.4775808",
            "1 000",
            "+1",
            "1.2.3",
            "９",
        ] {
            assert_eq!(bad.parse::<Amount>(), Err(AmountError), "{bad}");
        }
    }
}
