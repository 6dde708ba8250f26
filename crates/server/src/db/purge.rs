//! Housekeeping deletes in small batches. One statement deleting every
//! expired row holds SQLite's only write lock (and PostgreSQL's row locks)
//! for as long as the rows take: 201,842 used challenges took 1.4 s, and
//! every write waited behind them. A batch of [`PURGE_BATCH`] rows takes a
//! few milliseconds (with `secure_delete`, about 7 µs a row on SQLite),
//! and the writes queued meanwhile go before the next batch.

use super::{Db, DbError};
use crate::with_pool;

/// Rows one statement deletes at most.
pub const PURGE_BATCH: i64 = 500;

/// What to delete: rows of `table` matching `filter`, whose one parameter
/// (`$1`) is bound to a number; `key` identifies a row (the primary key's
/// columns, comma-separated).
/// All three are written in the code, never taken from input.
#[derive(Debug, Clone, Copy)]
pub struct Purge {
    /// The table.
    pub table: &'static str,
    /// Its primary key's columns, comma-separated.
    pub key: &'static str,
    /// The condition, with `$1` for the bound number.
    pub filter: &'static str,
}

impl Purge {
    /// Deletes every matching row, [`PURGE_BATCH`] at a time, letting other
    /// work run between batches; answers how many rows went. The filter
    /// stands outside the subquery too: on PostgreSQL a row another
    /// transaction changed meanwhile is checked again against the outer
    /// condition only, and one that no longer matches (a rate-limit counter
    /// just reset) stays.
    pub async fn run(&self, db: &Db, bound: i64) -> Result<u64, DbError> {
        let sql = format!(
            "DELETE FROM {t} WHERE {f} AND ({k}) IN (SELECT {k} FROM {t} WHERE {f} LIMIT {PURGE_BATCH})",
            t = self.table,
            k = self.key,
            f = self.filter,
        );
        let mut purged = 0;
        loop {
            let n = with_pool!(db, p => sqlx::query(&sql).bind(bound).execute(p).await?.rows_affected());
            purged += n;
            if n < PURGE_BATCH.unsigned_abs() {
                return Ok(purged);
            }
            tokio::task::yield_now().await;
        }
    }
}
