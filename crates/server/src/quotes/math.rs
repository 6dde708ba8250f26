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

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Sell => Side::Buy,
            Side::Buy => Side::Sell,
        }
    }

    /// The request's field naming this side's asset.
    pub fn asset_field(self) -> &'static str {
        match self {
            Side::Sell => "sell_asset",
            Side::Buy => "buy_asset",
        }
    }
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

/// Why an exchange has no price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unpriced {
    /// The amount given does not buy anything once the fee is paid.
    NothingBought,
    /// A figure would leave the range amounts keep to.
    OutOfRange,
}

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

/// The steps the buy-side search may take past its first estimate (it
/// needs at most one; a bound keeps a pathological fee from looping).
const SEARCH_STEPS: usize = 8;

/// Prices `given` at `offer`; `sell_dp` and `buy_dp` are the assets'
/// decimals. Every operation is checked: a figure out of range is an
/// error, never a panic.
pub fn price(offer: &Offer, given: Given, sell_dp: u32, buy_dp: u32) -> Result<Priced, Unpriced> {
    let (sell, buy, fee, fee_side, price, details) =
        figures(offer, given, sell_dp, buy_dp).ok_or(Unpriced::OutOfRange)?;
    if buy <= Decimal::ZERO || sell <= Decimal::ZERO {
        return Err(Unpriced::NothingBought);
    }
    if sell > max_amount() || buy > max_amount() {
        return Err(Unpriced::OutOfRange);
    }
    Ok(Priced {
        sell_amount: sell,
        buy_amount: buy,
        price,
        total_price: sell.checked_div(buy).ok_or(Unpriced::OutOfRange)?,
        fee,
        fee_side,
        details,
    })
}

type Figures = (
    Decimal,
    Decimal,
    Decimal,
    Side,
    Decimal,
    Option<serde_json::Value>,
);

fn figures(offer: &Offer, given: Given, sell_dp: u32, buy_dp: u32) -> Option<Figures> {
    let zero = Decimal::ZERO;
    match offer {
        Offer::Table {
            price,
            fee_fixed,
            fee_percent,
        } => {
            let fee_of = |s: Decimal| -> Option<Decimal> {
                let part = s
                    .checked_mul(*fee_percent)?
                    .checked_div(Decimal::ONE_HUNDRED)?;
                Some(up(fee_fixed.checked_add(part)?, sell_dp))
            };
            let (sell, buy) = match given {
                Given::Sell(s) => {
                    let net = s.checked_sub(fee_of(s)?)?.max(zero);
                    (s, down(net.checked_div(*price)?, buy_dp))
                }
                Given::Buy(b) => {
                    // The smallest sell amount whose net covers the price.
                    let owed = up(b.checked_mul(*price)?, sell_dp);
                    let rate = Decimal::ONE - fee_percent / Decimal::ONE_HUNDRED;
                    let mut s = up(owed.checked_add(*fee_fixed)?.checked_div(rate)?, sell_dp);
                    let step = ulp(sell_dp);
                    for _ in 0..SEARCH_STEPS {
                        if s - fee_of(s)? >= owed {
                            break;
                        }
                        s = s.checked_add(step)?;
                    }
                    if s - fee_of(s)? < owed {
                        return None;
                    }
                    for _ in 0..SEARCH_STEPS {
                        if s <= step || s - step - fee_of(s - step)? < owed {
                            break;
                        }
                        s -= step;
                    }
                    (s, b)
                }
            };
            Some((sell, buy, fee_of(sell)?, Side::Sell, *price, None))
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
                    let net = s.checked_sub(fee)?.max(zero);
                    (s, down(net.checked_div(*price)?, buy_dp), fee)
                }
                (Side::Sell, Given::Buy(b)) => {
                    let fee = up(*fee, sell_dp);
                    (
                        up(b.checked_mul(*price)?, sell_dp).checked_add(fee)?,
                        b,
                        fee,
                    )
                }
                (Side::Buy, Given::Sell(s)) => {
                    let fee = up(*fee, buy_dp);
                    let gross = down(s.checked_div(*price)?, buy_dp);
                    (s, gross.checked_sub(fee)?.max(zero), fee)
                }
                (Side::Buy, Given::Buy(b)) => {
                    let fee = up(*fee, buy_dp);
                    (up(price.checked_mul(b.checked_add(fee)?)?, sell_dp), b, fee)
                }
            };
            Some((sell, buy, fee, *fee_side, *price, details.clone()))
        }
    }
}

/// Reads a client's amount: a positive plain decimal with at most `dp`
/// decimal places, no larger than Stellar's largest amount.
pub fn parse_amount(s: &str, dp: u32) -> Option<Decimal> {
    let d = crate::config::parse_decimal(s).ok()?.normalize();
    (d > Decimal::ZERO && d.scale() <= dp && d <= max_amount()).then_some(d)
}

/// A price from a source or the configuration: from 10⁻¹⁰ (the finest a
/// price is shown) to Stellar's largest amount, which with amounts and
/// fees in that range keeps every figure inside `Decimal`'s.
pub fn sane_price(p: Decimal) -> bool {
    let p = p.normalize();
    p >= Decimal::new(1, 10) && p <= max_amount() && p.scale() <= 18
}

/// A fee from a source or the configuration: from zero to Stellar's
/// largest amount.
pub fn sane_fee(f: Decimal) -> bool {
    let f = f.normalize();
    f >= Decimal::ZERO && f <= max_amount() && f.scale() <= 18
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
            Err(Unpriced::NothingBought)
        );
        assert_eq!(
            price(&table("5", "0", "0"), Given::Sell(d("0.01")), 2, 2),
            Err(Unpriced::NothingBought)
        );
    }

    #[test]
    fn figures_out_of_range_are_errors_not_panics() {
        let huge = Offer::Quoted {
            price: Decimal::MAX,
            fee: Decimal::MAX,
            fee_side: Side::Buy,
            details: None,
        };
        assert_eq!(
            price(&huge, Given::Buy(d("922337203685")), 2, 7),
            Err(Unpriced::OutOfRange)
        );
        let tiny = table("0.0000000000000000000000001", "0", "0");
        assert_eq!(
            price(&tiny, Given::Sell(d("922337203685")), 7, 7),
            Err(Unpriced::OutOfRange)
        );
        assert!(!sane_price(d("0.00000000001")) && sane_price(d("0.0000000001")));
        assert!(sane_price(d("5.000000000000000000000000000")));
        assert!(!sane_fee(d("922337203686")) && sane_fee(d("0")));
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
