//! PostgreSQL transactions begun so that a caller that goes away cannot
//! leave one open on a pooled connection.

use sqlx::{PgPool, Postgres, Transaction};

/// Begins a transaction on `pool`, on a task of its own.
///
/// sqlx 0.8's `begin` is not cancel-safe on PostgreSQL
/// (transact-rs/sqlx#4393; fixed in 0.9.1, and this can go with the move
/// to 0.9): a future dropped while its `BEGIN` is on the wire leaves the
/// session inside a transaction that nothing rolls back, and the pool
/// lends that connection again. The next borrower's statements then run
/// inside it: they are answered as done, no other connection sees them,
/// and they are lost when the session ends. Futures are dropped in the
/// middle of a `begin` whenever a request or a background step is cut
/// short (a client that hangs up, the payment observer's lease window
/// ending); the faults test saw a quote answered 201 that the next
/// request could not find.
///
/// On a task of its own the `BEGIN` always completes. When nobody waits
/// for the transaction any more it is dropped on that task, and sqlx rolls
/// it back before the connection is lent again.
pub(super) async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let pool = pool.clone();
    match tokio::spawn(async move { pool.begin().await }).await {
        Ok(begun) => begun,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // The runtime is shutting down.
        Err(_) => Err(sqlx::Error::PoolClosed),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::Row as _;
    use sqlx::postgres::PgPoolOptions;

    /// A `begin` cut short at any point leaves the pool's one connection
    /// outside any transaction: each statement after it commits on its
    /// own (`now()`, when the transaction began, is when the statement
    /// arrived). Without the task of its own, one of the first thirty
    /// tries or so leaves it inside one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_begin_cut_short_leaves_no_transaction_open() {
        let url = std::env::var("MOORING_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect(&url)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL is not reachable at {url} ({e}); scripts/test starts one")
            });
        for i in 0..400u64 {
            let p = pool.clone();
            let begun = tokio::spawn(async move { super::begin(&p).await.map(drop) });
            // The other worker runs the `begin` meanwhile; it is cut short
            // somewhere between asking for the connection and the answer
            // to `BEGIN`.
            std::thread::sleep(Duration::from_micros(i % 200));
            begun.abort();
            let _ = begun.await;
            // A simple query: both times are when it arrived, unless a
            // transaction began before it.
            let alone: bool = sqlx::raw_sql("SELECT now() = statement_timestamp()")
                .fetch_one(&pool)
                .await
                .unwrap()
                .get(0);
            assert!(
                alone,
                "try {i}: a statement ran inside a forgotten transaction"
            );
        }
        pool.close().await;
    }
}
