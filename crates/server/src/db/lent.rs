//! SQLite's connections, lent out one at a time: the readers, and the
//! single writer (see [`super::SqliteDb`]), with the writer's transactions.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection as _, SqliteConnection};
use tokio::sync::Semaphore;

use super::DbError;

/// A fixed set of SQLite connections, lent out one at a time.
///
/// Not a sqlx pool: a pool tests every connection given back to it with a
/// ping, which on SQLite is a round trip to the connection's thread (two
/// thread wake-ups) and cost about as much as the short statements made
/// here. A connection lent here needs no such test: a statement dropped
/// half-way (a client that went away) is finished off by the connection's
/// thread before it takes the next one, and a transaction left open is
/// rolled back before the connection is lent again ([`SqliteTx`]).
#[derive(Clone, Debug)]
pub struct Connections(Arc<Set>);

/// The free connections, and a permit for each of them.
#[derive(Debug)]
struct Set {
    free: Mutex<Vec<SqliteConnection>>,
    available: Semaphore,
    /// How long a statement waits for a free connection.
    wait: Duration,
    /// To replace a connection that broke.
    opts: SqliteConnectOptions,
}

/// A lent connection, given back when dropped.
#[derive(Debug)]
pub struct Lent {
    conn: Option<SqliteConnection>,
    set: Arc<Set>,
    /// A transaction may be open on it: roll back before lending it again.
    in_transaction: bool,
}

impl Connections {
    /// `n` connections opened with `opts`; a statement waits up to `wait`
    /// for one.
    pub(super) async fn open(
        opts: &SqliteConnectOptions,
        n: u32,
        wait: Duration,
    ) -> Result<Self, sqlx::Error> {
        let mut free = Vec::with_capacity(n as usize);
        for _ in 0..n {
            free.push(SqliteConnection::connect_with(opts).await?);
        }
        Ok(Connections(Arc::new(Set {
            free: Mutex::new(free),
            available: Semaphore::new(n as usize),
            wait,
            opts: opts.clone(),
        })))
    }

    /// Waits for a free connection.
    pub async fn get(&self) -> Result<Lent, DbError> {
        // The permit now belongs to the connection: given back with it.
        self.turn().await?.forget();
        let conn = self
            .0
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .expect("a permit stands for a free connection");
        Ok(Lent {
            conn: Some(conn),
            set: self.0.clone(),
            in_transaction: false,
        })
    }

    /// Waits for a connection's turn without taking one: on the writer,
    /// the turn of writes run elsewhere ([`super::Inline::write`]).
    pub(super) async fn turn(&self) -> Result<tokio::sync::SemaphorePermit<'_>, DbError> {
        Ok(
            tokio::time::timeout(self.0.wait, self.0.available.acquire())
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)?
                .map_err(|_| sqlx::Error::PoolClosed)?,
        )
    }

    /// Waits for a connection's turn, however long it takes; `None` once
    /// the connections are closed.
    pub(super) async fn wait_turn(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.0.available.acquire().await.ok()
    }

    pub(super) async fn close(&self) {
        self.0.available.close();
        let free = std::mem::take(&mut *self.0.free.lock().unwrap_or_else(PoisonError::into_inner));
        for conn in free {
            let _ = conn.close().await;
        }
    }
}

impl Lent {
    /// Says whether a transaction may be open on the connection (one begun
    /// by a statement run on it): if so when it is given back, it is rolled
    /// back before being lent again.
    pub fn set_in_transaction(&mut self, open: bool) {
        self.in_transaction = open;
    }
}

impl std::ops::Deref for Lent {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.conn.as_ref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for Lent {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn.as_mut().expect("present until dropped")
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if self.set.available.is_closed() {
            // Shut down: the connection is closed by being dropped.
            return;
        }
        let set = self.set.clone();
        if !self.in_transaction {
            set.give_back(conn);
            return;
        }
        // Roll back first, keeping the permit meanwhile. Without a runtime
        // (shutting down) the connection is dropped, which rolls back too.
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        rt.spawn(async move {
            match sqlx::query("ROLLBACK").execute(&mut conn).await {
                Ok(_) => set.give_back(conn),
                Err(e) if e.to_string().contains("no transaction is active") => set.give_back(conn),
                Err(e) => {
                    tracing::error!(error = %e, "an SQLite connection could not roll back; replacing it");
                    drop(conn);
                    match SqliteConnection::connect_with(&set.opts).await {
                        Ok(fresh) => set.give_back(fresh),
                        Err(e) => tracing::error!(error = %e, "could not reopen an SQLite connection"),
                    }
                }
            }
        });
    }
}

impl Set {
    fn give_back(&self, conn: SqliteConnection) {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
        self.available.add_permits(1);
    }
}

/// A transaction on the writer, begun `IMMEDIATE`: it holds the write lock
/// from the start, so it never fails half-way on a lock another writer
/// took. Dropped without [`SqliteTx::commit`], it is rolled back before the
/// connection is lent again.
///
/// Not sqlx's `Transaction`: that one needs a pooled connection to outlive
/// a function, and checks a custom `BEGIN` with one more round trip.
#[derive(Debug)]
pub struct SqliteTx {
    conn: Lent,
}

impl SqliteTx {
    /// Begins on the writer.
    pub(super) async fn begin(write: &Connections) -> Result<SqliteTx, DbError> {
        let mut conn = write.get().await?;
        // Marked before BEGIN runs: if this future is dropped meanwhile,
        // the transaction BEGIN opens is still rolled back.
        conn.set_in_transaction(true);
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        Ok(SqliteTx { conn })
    }

    /// Commits.
    pub(super) async fn commit(mut self) -> Result<(), DbError> {
        sqlx::query("COMMIT").execute(&mut *self.conn).await?;
        self.conn.set_in_transaction(false);
        Ok(())
    }
}

impl std::ops::Deref for SqliteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for SqliteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}
