//! Amounts of Stellar assets: at most 7 decimal places, written with
//! exactly 7 (the asset's precision) as SEP-31 answers them.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::config::parse_decimal;

/// Decimal places of a Stellar amount.
pub const PLACES: u32 = 7;

/// Stellar's largest amount: 2^63 - 1 stroops.
const MAX_STROOPS: i64 = i64::MAX;

/// A positive amount of at most 7 places within Stellar's range.
pub fn parse(s: &str) -> Option<Decimal> {
    let d = parse_decimal(s).ok()?;
    let max = Decimal::new(MAX_STROOPS, PLACES);
    (d > Decimal::ZERO && d.scale() <= PLACES && d <= max).then_some(d)
}

/// `d` with exactly 7 places (rounded half away from zero).
pub fn text(d: Decimal) -> String {
    let d = d.round_dp_with_strategy(PLACES, RoundingStrategy::MidpointAwayFromZero);
    format!("{d:.prec$}", prec = PLACES as usize)
}

/// `a + b`, of two amounts (either may be zero).
pub fn sum(a: &str, b: &str) -> Option<Decimal> {
    Some(parse_decimal(a).ok()? + parse_decimal(b).ok()?)
}

/// The fee on `amount`: `fixed` plus `percent` of it, rounded up to the
/// asset's precision (the anchor never undercharges by rounding).
pub fn fee(amount: Decimal, fixed: Decimal, percent: Decimal) -> Decimal {
    (fixed + amount * percent / Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(PLACES, RoundingStrategy::AwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_positive_with_at_most_seven_places() {
        assert_eq!(parse("100").map(text).as_deref(), Some("100.0000000"));
        assert_eq!(parse("0.0000001").map(text).as_deref(), Some("0.0000001"));
        assert!(parse("922337203685.4775807").is_some());
        for bad in [
            "0",
            "-1",
            "0.00000001",
            "1e3",
            "",
            "922337203685.4775808",
            "abc",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        let f = fee(Decimal::from(100), Decimal::new(5, 1), Decimal::ONE);
        assert_eq!(text(f), "1.5000000");
        assert_eq!(
            text(fee(Decimal::new(1, 7), Decimal::ZERO, Decimal::ONE)),
            "0.0000001"
        );
    }
}
