//! The transaction object of SEP-31 §GET Transaction, as partners see it
//! (GET, callbacks), and the fuller one staff and the business server see.

use serde_json::{Map, Value, json};

use super::store::TxRow;
use crate::clock::rfc3339;

/// SEP-31's `transaction` object: only the fields its schema defines.
pub fn public(t: &TxRow) -> Value {
    let mut o = Map::new();
    let mut put = |k: &str, v: Value| {
        o.insert(k.to_owned(), v);
    };
    put("id", json!(t.id));
    put("status", json!(t.status));
    if let Some(m) = &t.status_message {
        put("status_message", json!(m));
    }
    put("amount_in", json!(t.amount_in));
    put("amount_in_asset", json!(t.amount_in_asset));
    if let Some(a) = &t.amount_out {
        put("amount_out", json!(a));
    }
    if let Some(a) = &t.amount_out_asset {
        put("amount_out_asset", json!(a));
    }
    put("amount_fee", json!(t.amount_fee));
    put("amount_fee_asset", json!(t.amount_fee_asset));
    put(
        "fee_details",
        serde_json::from_str(&t.fee_details).unwrap_or(Value::Null),
    );
    if let Some(q) = &t.quote_id {
        put("quote_id", json!(q));
    }
    put("stellar_account_id", json!(t.stellar_account_id));
    put("stellar_memo_type", json!("id"));
    put("stellar_memo", json!(t.stellar_memo));
    put("started_at", json!(rfc3339(t.started_at)));
    put("updated_at", json!(rfc3339(t.updated_at)));
    if let Some(c) = t.completed_at {
        put("completed_at", json!(rfc3339(c)));
    }
    if let Some(s) = &t.stellar_transaction_id {
        put("stellar_transaction_id", json!(s));
    }
    if let Some(e) = &t.external_transaction_id {
        put("external_transaction_id", json!(e));
    }
    if let Some(r) = t
        .refunds
        .as_deref()
        .and_then(|r| serde_json::from_str::<Value>(r).ok())
    {
        // `refunded` is deprecated but still read by older clients: true
        // for a refund in full.
        let paid = t.amount_received.as_deref().unwrap_or(&t.amount_in);
        let full = r["amount_refunded"].as_str().is_some_and(|a| {
            super::amounts::sum(a, r["amount_fee"].as_str().unwrap_or("0"))
                .is_some_and(|s| Some(s) == super::amounts::parse(paid))
        });
        put("refunded", json!(full));
        put("refunds", r);
    }
    if let Some(m) = &t.required_info_message {
        put("required_info_message", json!(m));
    }
    Value::Object(o)
}

/// What staff and the business server see: the public object with whose
/// it is and what only the receiving anchor knows.
pub fn staff(t: &TxRow) -> Value {
    let mut v = public(t);
    v["partner"] = json!(t.partner);
    v["account"] = json!(t.account);
    if !t.memo.is_empty() {
        v["memo"] = json!(t.memo);
    }
    v["funding_method"] = json!(t.funding_method);
    v["sender_id"] = json!(t.sender_id);
    v["sender_type"] = json!(t.sender_type);
    v["receiver_id"] = json!(t.receiver_id);
    v["receiver_type"] = json!(t.receiver_type);
    if let Some(d) = &t.destination_asset {
        v["destination_asset"] = json!(d);
    }
    if let Some(a) = &t.amount_received {
        v["amount_received"] = json!(a);
    }
    if let (Some(m), Some(k)) = (&t.refund_memo, &t.refund_memo_type) {
        v["refund_memo"] = json!(m);
        v["refund_memo_type"] = json!(k);
    }
    v["expires_at"] = json!(rfc3339(t.expires_at));
    v
}
