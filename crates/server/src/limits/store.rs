//! The operations the business server recorded, for rolling windows.

use crate::db::{Conn, DbError, Tx};
use crate::kyc::Target;
use crate::{with_conn, with_tx};

/// The sum recorded for `t`'s `op` in `asset` since `since`, and the time
/// of the oldest operation counted.
pub async fn used_since(
    c: Conn<'_>,
    t: &Target,
    op: &str,
    asset: &str,
    since: i64,
) -> Result<(i64, Option<i64>), DbError> {
    let (sum, oldest): (Option<i64>, Option<i64>) = with_conn!(c, e => sqlx::query_as(
        "SELECT CAST(SUM(amount) AS BIGINT), MIN(at) FROM kyc_operations \
         WHERE account = $1 AND memo = $2 AND memo_type = $3 AND op = $4 AND asset = $5 AND at > $6",
    )
    .bind(t.address())
    .bind(t.memo_value())
    .bind(t.memo_type())
    .bind(op)
    .bind(asset)
    .bind(since)
    .fetch_one(e)
    .await?);
    Ok((sum.unwrap_or(0), oldest))
}

/// Records an operation of `t`.
pub async fn record(
    tx: &mut Tx,
    t: &Target,
    op: &str,
    asset: &str,
    amount: i64,
    at: i64,
) -> Result<(), DbError> {
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO kyc_operations (account, memo, memo_type, op, asset, amount, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(t.address())
    .bind(t.memo_value())
    .bind(t.memo_type())
    .bind(op)
    .bind(asset)
    .bind(amount)
    .bind(at)
    .execute(c)
    .await.map(|_| ())?);
    Ok(())
}
