//! The body of `POST /sep31/transactions` (SEP-31 §POST Transactions,
//! Request Parameters), read and checked before anything is looked up.

use base64::Engine as _;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use super::amounts;
use super::service::{PaymentError, invalid};
use crate::config::{Sep31Asset, Sep31Config};

/// The body as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    amount: Option<Value>,
    asset_code: Option<String>,
    asset_issuer: Option<String>,
    funding_method: Option<String>,
    destination_asset: Option<String>,
    quote_id: Option<String>,
    sender_id: Option<String>,
    receiver_id: Option<String>,
    #[allow(dead_code)]
    lang: Option<String>,
    refund_memo: Option<String>,
    refund_memo_type: Option<String>,
    fields: Option<Value>,
}

/// A body that passed its own checks.
#[derive(Debug)]
pub struct Create<'a> {
    /// The amount to receive.
    pub amount: Decimal,
    /// The asset.
    pub asset: &'a Sep31Asset,
    /// Among the asset's.
    pub funding_method: String,
    /// SEP-38 name, if given.
    pub destination_asset: Option<String>,
    /// If given.
    pub quote_id: Option<String>,
    /// SEP-12 ids, if given.
    pub sender_id: Option<String>,
    /// SEP-12 ids, if given.
    pub receiver_id: Option<String>,
    /// Memo and type, both or neither.
    pub refund_memo: Option<(String, String)>,
}

/// Reads the body's JSON.
pub fn parse(raw: &[u8]) -> Result<CreateBody, PaymentError> {
    serde_json::from_slice(raw).map_err(|e| {
        invalid(if e.is_data() {
            "body has a field SEP-31 does not define, or a field of the wrong type"
        } else {
            "body must be a JSON object"
        })
    })
}

fn text(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

/// Checks the body against `[sep31]` (docs/payments.md, step 1).
pub fn check(cfg: &Sep31Config, b: CreateBody) -> Result<Create<'_>, PaymentError> {
    // Looked up or stored as text, which PostgreSQL refuses with a NUL in
    // it: SEP-31 §Error, a 400, not a fault.
    for (name, v) in [
        ("quote_id", &b.quote_id),
        ("sender_id", &b.sender_id),
        ("receiver_id", &b.receiver_id),
        ("refund_memo", &b.refund_memo),
    ] {
        if v.as_deref().is_some_and(|v| v.contains('\0')) {
            return Err(invalid(format!("{name} must not contain NUL characters")));
        }
    }
    let amount = match &b.amount {
        Some(Value::String(s)) => amounts::parse(s),
        Some(Value::Number(n)) => amounts::parse(&n.to_string()),
        None => return Err(invalid("amount is required")),
        Some(_) => None,
    }
    .ok_or_else(|| invalid("amount must be a positive decimal with at most 7 decimal places"))?;
    let code = text(b.asset_code).ok_or_else(|| invalid("asset_code is required"))?;
    let issuer = text(b.asset_issuer);
    let asset = cfg.asset(&code, issuer.as_deref()).ok_or_else(|| {
        invalid(format!(
            "this anchor does not receive {code}{}; see GET /info",
            issuer
                .map(|i| format!(" issued by {i}"))
                .unwrap_or_default()
        ))
    })?;
    let methods = asset.funding_methods.join(", ");
    let funding_method = text(b.funding_method)
        .ok_or_else(|| invalid(format!("funding_method is required: one of {methods}")))?;
    if !asset.funding_methods.contains(&funding_method) {
        return Err(invalid(format!("funding_method must be one of {methods}")));
    }
    if b.fields
        .as_ref()
        .is_some_and(|f| f.as_object().is_none_or(|o| !o.is_empty()))
    {
        return Err(invalid(
            "fields is deprecated and not taken: send SEP-9 fields through SEP-12 PUT /customer",
        ));
    }
    let refund_memo = match (text(b.refund_memo), text(b.refund_memo_type)) {
        (None, None) => None,
        (Some(m), Some(t)) => {
            let ok = match t.as_str() {
                "id" => mooring_stellar::IdMemo::parse(&m).is_ok(),
                "text" => m.len() <= 28,
                "hash" => {
                    base64::engine::general_purpose::STANDARD
                        .decode(&m)
                        .is_ok_and(|h| h.len() == 32)
                        || hex::decode(&m).is_ok_and(|h| h.len() == 32)
                }
                _ => return Err(invalid("refund_memo_type must be id, text or hash")),
            };
            if !ok {
                return Err(invalid(format!("refund_memo is not a valid {t} memo")));
            }
            Some((m, t))
        }
        _ => {
            return Err(invalid(
                "refund_memo and refund_memo_type go together: give both or neither",
            ));
        }
    };
    Ok(Create {
        amount,
        asset,
        funding_method,
        destination_asset: text(b.destination_asset),
        quote_id: text(b.quote_id),
        sender_id: text(b.sender_id),
        receiver_id: text(b.receiver_id),
        refund_memo,
    })
}
