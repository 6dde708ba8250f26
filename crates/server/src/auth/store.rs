//! SQL for SEP-10: the used-challenge ledger that makes every challenge
//! single-use across all replicas sharing the database.

use crate::db::{Db, DbError, Purge, prepare_numbered};

/// Records a challenge as used. [`DbError::Conflict`] if it already was —
/// by this process or any other replica — in which case no token may be
/// issued. Keyed by expiry, then hash (migration 0012): as unique as the
/// hash, since the hash fixes the time bounds, and written in time order.
pub async fn consume_challenge(db: &Db, hash: &[u8; 32], expires_at: u64) -> Result<(), DbError> {
    const SQL: &str = "INSERT INTO sep10_used_challenges (expires_at, hash) VALUES ($1, $2) \
                       ON CONFLICT (expires_at, hash) DO NOTHING";
    let expires_at = i64::try_from(expires_at).unwrap_or(i64::MAX);
    let inserted = match db {
        // One short write on every login: run here, not on sqlx's thread.
        Db::Sqlite(s) => {
            s.write_here(|tx| {
                prepare_numbered(tx, SQL, &[&expires_at, &hash.as_slice()])?.raw_execute()
            })
            .await? as u64
        }
        Db::Postgres(pool) => sqlx::query(SQL)
            .bind(expires_at)
            .bind(hash.as_slice())
            .execute(pool)
            .await?
            .rows_affected(),
    };
    DbError::one_row(inserted, DbError::Conflict)
}

/// Seconds a record outlives its challenge, so that a replica whose clock
/// runs behind the purging one's still finds it.
const CLOCK_SKEW_MARGIN: u64 = 300;

/// Deletes records of challenges that expired well before `now`: such a
/// challenge fails the time-bounds check before replay is even considered.
pub async fn purge_used_challenges(db: &Db, now: u64) -> Result<u64, DbError> {
    let before = i64::try_from(now.saturating_sub(CLOCK_SKEW_MARGIN)).unwrap_or(i64::MAX);
    Purge {
        table: "sep10_used_challenges",
        key: "expires_at, hash",
        filter: "expires_at < $1",
    }
    .run(db, before)
    .await
}
