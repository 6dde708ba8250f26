//! Verification codes (SEP-12 §Verification): stored only as keyed hashes,
//! single-use, expiring, with a bounded number of attempts.

use futures::future::BoxFuture;

use crate::db::{DbError, Tx};
use crate::with_tx;

/// Sends verification codes (SEP-12 §Verification) to a phone or mailbox.
pub trait CodeSender: Send + Sync {
    /// Sends `code` for `field` of customer `customer_id` to `destination`.
    fn send<'a>(
        &'a self,
        customer_id: &'a str,
        field: &'a str,
        destination: &'a str,
        code: &'a str,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// Development sender: the code goes to the log (the destination does not).
#[derive(Debug, Default)]
pub struct LogSender;

impl CodeSender for LogSender {
    fn send<'a>(
        &'a self,
        customer_id: &'a str,
        field: &'a str,
        _destination: &'a str,
        code: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            tracing::info!(
                customer = customer_id,
                field,
                code,
                "verification code (log sender: development only)"
            );
            Ok(())
        })
    }
}

/// Stores (or replaces) the code for a field.
pub async fn put_code(
    tx: &mut Tx,
    customer_id: &str,
    field: &str,
    hash: &[u8],
    expires_at: i64,
) -> Result<(), DbError> {
    with_tx!(tx, e => sqlx::query(
        "INSERT INTO verification_codes (customer_id, field, code_hash, expires_at, attempts) VALUES ($1, $2, $3, $4, 0) \
         ON CONFLICT (customer_id, field) DO UPDATE SET code_hash = $3, expires_at = $4, attempts = 0",
    )
    .bind(customer_id)
    .bind(field)
    .bind(hash)
    .bind(expires_at)
    .execute(e)
    .await?
    .rows_affected());
    Ok(())
}

/// Checks a code. A match consumes it; a miss counts an attempt, and the
/// code is void once `max_attempts` misses are reached or it has expired.
pub async fn check_code(
    tx: &mut Tx,
    customer_id: &str,
    field: &str,
    hash: &[u8],
    now: i64,
    max_attempts: u32,
) -> Result<bool, DbError> {
    let row: Option<(Vec<u8>, i64, i64)> = with_tx!(tx, e => sqlx::query_as(
        "SELECT code_hash, expires_at, attempts FROM verification_codes WHERE customer_id = $1 AND field = $2",
    )
    .bind(customer_id)
    .bind(field)
    .fetch_optional(e)
    .await?);
    let Some((stored, expires_at, attempts)) = row else {
        return Ok(false);
    };
    let live = now < expires_at && attempts < i64::from(max_attempts);
    let matches = subtle::ConstantTimeEq::ct_eq(stored.as_slice(), hash).into();
    if live && matches {
        with_tx!(tx, e => sqlx::query("DELETE FROM verification_codes WHERE customer_id = $1 AND field = $2")
            .bind(customer_id)
            .bind(field)
            .execute(e)
            .await?
            .rows_affected());
        return Ok(true);
    }
    with_tx!(tx, e => sqlx::query("UPDATE verification_codes SET attempts = attempts + 1 WHERE customer_id = $1 AND field = $2")
        .bind(customer_id)
        .bind(field)
        .execute(e)
        .await?
        .rows_affected());
    Ok(false)
}
