//! The receiving anchor the cross-replica tests, the fault test and
//! `mooring bench replicas` run: SEP-31 receiving USDC, SEP-38 quoting
//! USDC for BRL, partner anchors, and the two SEP-12 parties a partner
//! registers before it sends.

use serde_json::{Value, json};

/// The issuer of the USDC received (made up).
pub const ISSUER: &str = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";
/// USDC as SEP-38 names it.
pub const USDC: &str = "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";
/// Brazilian reais.
pub const BRL: &str = "iso4217:BRL";

/// `[sep31]` (USDC paid to `dist`, 1 to 1,000,000, by SEPA), `[sep38]`
/// (USDC sold for BRL at 0.18) and one partner named `partner` with
/// `accounts`; callers add to it (`["sep31"]["observer"]`, `["limits"]`…).
pub fn config(partner: &str, accounts: &[String], dist: &str) -> Value {
    json!({
        "sep31": {
            "enabled": true,
            "sender_types": {"sep31-sender": "People sending money"},
            "receiver_types": {"sep31-receiver": "People receiving money"},
            "assets": [{"code": "USDC", "issuer": ISSUER, "distribution_account": dist,
                        "min_amount": "1", "max_amount": "1000000", "funding_methods": ["SEPA"]}],
        },
        "sep38": {
            "enabled": true,
            "assets": [{"asset": USDC}, {"asset": BRL}],
            "prices": [{"sell_asset": USDC, "buy_asset": BRL, "price": "0.18"}],
        },
        "partners": [{"name": partner, "accounts": accounts}],
    })
}

/// The `PUT /customer` bodies of a partner's sender (memo 1) and receiver
/// (memo 2), with the SEP-12 type each is accepted as.
pub fn parties() -> [(&'static str, Value); 2] {
    [
        (
            "sep31-sender",
            json!({"type": "sep31-sender", "memo": "1", "memo_type": "id",
                   "first_name": "Ann", "last_name": "Lee", "email_address": "a@example.com"}),
        ),
        (
            "sep31-receiver",
            json!({"type": "sep31-receiver", "memo": "2", "memo_type": "id",
                   "first_name": "Rui", "last_name": "Costa",
                   "bank_account_number": "12345678", "bank_number": "001"}),
        ),
    ]
}
