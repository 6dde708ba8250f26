//! SEP-38 §Price Formulas: amounts, fee and total price from a price and a
//! fee, rounded to each asset's decimals (docs/quotes.md §Amounts, prices
//! and fees). Pure arithmetic, no I/O.

use rust_decimal::{Decimal, RoundingStrategy};

/// The largest amount accepted: Stellar's largest amount in whole units,
/// which keeps every product below `Decimal`'s range.
fn max_amount() -> Decimal {
    Decimal::from(922_337_203_685_i64)
}

/// Which side of the exchange an amount or a fee is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `sell_asset`.
    Sell,
    /// `buy_asset`.
    Buy,
}

/// The amount the client gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Given {
    /// `sell_amount`.
    Sell(Decimal),
    /// `buy_amount`.
    Buy(Decimal),
}

/// What a price source offers for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Offer {
    /// `[[sep38.prices]]`: a fee in `sell_asset` of a fixed part and a
    /// percentage of `sell_amount`.
    Table {
        /// Units of `sell_asset` for one of `buy_asset`.
        price: Decimal,
        /// Fixed fee.
        fee_fixed: Decimal,
        /// Percentage of `sell_amount`.
        fee_percent: Decimal,
    },
    /// The business server's: a fee of `fee` in one side's asset.
    Quoted {
        /// Units of `sell_asset` for one of `buy_asset`.
        price: Decimal,
        /// The whole fee.
        fee: Decimal,
        /// Its asset.
        fee_side: Side,
        /// `fee.details` as the business server gave them.
        details: Option<serde_json::Value>,
    },
}

/// A priced exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct Priced {
    /// What the client gives.
    pub sell_amount: Decimal,
    /// What the client receives.
    pub buy_amount: Decimal,
    /// The price without fees.
    pub price: Decimal,
    /// `sell_amount / buy_amount`.
    pub total_price: Decimal,
    /// The whole fee.
    pub fee: Decimal,
    /// Its asset.
    pub fee_side: Side,
    /// Its parts, if known.
    pub details: Option<serde_json::Value>,
}

/// The amount given does not buy anything once the fee is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NothingBought;

fn up(x: Decimal, dp: u32) -> Decimal {
    x.round_dp_with_strategy(dp, RoundingStrategy::ToPositiveInfinity)
}

fn down(x: Decimal, dp: u32) -> Decimal {
    x.round_dp_with_strategy(dp, RoundingStrategy::ToNegativeInfinity)
}

/// The smallest amount at `dp` decimals.
fn ulp(dp: u32) -> Decimal {
    Decimal::new(1, dp)
}

/// Prices `given` at `offer`; `sell_dp` and `buy_dp` are the assets'
/// decimals.
pub fn price(
    offer: &Offer,
    given: Given,
    sell_dp: u32,
    buy_dp: u32,
) -> Result<Priced, NothingBought> {
    let (sell, buy, fee, fee_side, price, details) = match offer {
        Offer::Table {
            price,
            fee_fixed,
            fee_percent,
        } => {
            let fee_of =
                |s: Decimal| up(fee_fixed + s * fee_percent / Decimal::ONE_HUNDRED, sell_dp);
            let (sell, buy) = match given {
                Given::Sell(s) => {
                    let net = s - fee_of(s);
                    (s, down(net.max(Decimal::ZERO) / price, buy_dp))
                }
                Given::Buy(b) => {
                    // The smallest sell amount whose net covers the price.
                    let owed = up(b * price, sell_dp);
                    let rate = Decimal::ONE - fee_percent / Decimal::ONE_HUNDRED;
                    let mut s = up((owed + fee_fixed) / rate, sell_dp);
                    while s - fee_of(s) < owed {
                        s += ulp(sell_dp);
                    }
                    while s > ulp(sell_dp) && s - ulp(sell_dp) - fee_of(s - ulp(sell_dp)) >= owed {
                        s -= ulp(sell_dp);
                    }
                    (s, b)
                }
            };
            (sell, buy, fee_of(sell), Side::Sell, *price, None)
        }
        Offer::Quoted {
            price,
            fee,
            fee_side,
            details,
        } => {
            let (sell, buy, fee) = match (fee_side, given) {
                (Side::Sell, Given::Sell(s)) => {
                    let fee = up(*fee, sell_dp);
                    (s, down((s - fee).max(Decimal::ZERO) / price, buy_dp), fee)
                }
                (Side::Sell, Given::Buy(b)) => {
                    let fee = up(*fee, sell_dp);
                    (up(b * price, sell_dp) + fee, b, fee)
                }
                (Side::Buy, Given::Sell(s)) => {
                    let fee = up(*fee, buy_dp);
                    (s, (down(s / price, buy_dp) - fee).max(Decimal::ZERO), fee)
                }
                (Side::Buy, Given::Buy(b)) => {
                    let fee = up(*fee, buy_dp);
                    (up(price * (b + fee), sell_dp), b, fee)
                }
            };
            (sell, buy, fee, *fee_side, *price, details.clone())
        }
    };
    if buy <= Decimal::ZERO || sell <= Decimal::ZERO {
        return Err(NothingBought);
    }
    Ok(Priced {
        sell_amount: sell,
        buy_amount: buy,
        price,
        total_price: sell / buy,
        fee,
        fee_side,
        details,
    })
}

/// Reads a client's amount: a positive plain decimal with at most `dp`
/// decimal places, no larger than Stellar's largest amount.
pub fn parse_amount(s: &str, dp: u32) -> Option<Decimal> {
    let d = crate::config::parse_decimal(s).ok()?;
    (d > Decimal::ZERO && d.scale() <= dp && d <= max_amount()).then_some(d)
}

/// A price from a source: positive and within the range amounts keep to.
pub fn sane_price(p: Decimal) -> bool {
    p > Decimal::ZERO && p <= max_amount() && p.scale() <= 18
}

/// An amount as SEP-38 answers it: exactly `dp` decimal places.
pub fn amount(d: Decimal, dp: u32) -> String {
    let d = d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    format!("{d:.prec$}", prec = dp as usize)
}

/// A price as answered: at most 10 decimal places, no trailing zeros.
pub fn price_text(d: Decimal) -> String {
    d.round_dp_with_strategy(10, RoundingStrategy::MidpointAwayFromZero)
        .normalize()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn table(price: &str, fixed: &str, pct: &str) -> Offer {
        Offer::Table {
            price: d(price),
            fee_fixed: d(fixed),
            fee_percent: d(pct),
        }
    }

    #[test]
    fn sell_side_fee_holds_the_formula() {
        // SEP-38's first /price example: 542 BRL, fee 42, price 5 → 100.
        let p = price(&table("5", "42", "0"), Given::Sell(d("542")), 2, 7).unwrap();
        assert_eq!((p.buy_amount, p.fee), (d("100"), d("42")));
        assert_eq!(price_text(p.total_price), "5.42");
        assert_eq!(p.sell_amount - p.fee, p.price * p.buy_amount);
        // Percentages round the fee up to the sell asset's cents.
        let p = price(&table("5", "2", "1"), Given::Sell(d("542")), 2, 7).unwrap();
        assert_eq!(p.fee, d("7.42"));
        assert_eq!(p.buy_amount, d("106.9160000"));
    }

    #[test]
    fn buy_side_finds_the_smallest_sell_amount() {
        let p = price(&table("5", "2", "1"), Given::Buy(d("100")), 2, 7).unwrap();
        // 500 owed; 507.08 − fee 7.08 = 500.00; 507.07 − 7.08 < 500.
        assert_eq!((p.sell_amount, p.fee), (d("507.08"), d("7.08")));
        assert!(p.sell_amount - p.fee >= d("500"));
    }

    #[test]
    fn quoted_fees_on_either_side() {
        let buy_fee = Offer::Quoted {
            price: d("5"),
            fee: d("8.40"),
            fee_side: Side::Buy,
            details: None,
        };
        // SEP-38's second example: sell = price × (buy + fee).
        let p = price(&buy_fee, Given::Buy(d("100")), 2, 7).unwrap();
        assert_eq!(p.sell_amount, d("542"));
        let p = price(&buy_fee, Given::Sell(d("542")), 2, 7).unwrap();
        assert_eq!(p.buy_amount, d("100"));
        let sell_fee = Offer::Quoted {
            price: d("5"),
            fee: d("42"),
            fee_side: Side::Sell,
            details: None,
        };
        assert_eq!(
            price(&sell_fee, Given::Buy(d("100")), 2, 7)
                .unwrap()
                .sell_amount,
            d("542")
        );
    }

    #[test]
    fn fees_that_eat_everything_buy_nothing() {
        assert_eq!(
            price(&table("5", "10", "0"), Given::Sell(d("10")), 2, 7),
            Err(NothingBought)
        );
        assert_eq!(
            price(&table("5", "0", "0"), Given::Sell(d("0.01")), 2, 2),
            Err(NothingBought)
        );
    }

    #[test]
    fn amounts_and_prices_as_text() {
        assert_eq!(amount(d("542"), 2), "542.00");
        assert_eq!(amount(d("100"), 7), "100.0000000");
        assert_eq!(price_text(d("5.4200")), "5.42");
        assert_eq!(price_text(d("542") / d("2933")), "0.1847937266");
        assert_eq!(parse_amount("1.005", 2), None);
        assert_eq!(parse_amount("0", 2), None);
        assert_eq!(parse_amount("1e3", 2), None);
        assert_eq!(parse_amount("922337203686", 2), None);
        assert_eq!(parse_amount("12.50", 2), Some(d("12.5")));
    }
}
