//! SQLite's reader connections, lent out one at a time beside the single
//! writer (see [`super::SqliteDb`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection as _, SqliteConnection};
use tokio::sync::Semaphore;

use super::DbError;

/// A fixed set of read-only SQLite connections, lent out one at a time.
///
/// Not a sqlx pool: a pool tests every connection given back to it with a
/// ping, which on SQLite is a round trip to the connection's thread and cost
/// about as much as the short reads made here. A reader needs no such test:
/// it never holds a transaction, and a read dropped half-way (a client that
/// went away) is finished off by the connection's thread before it takes
/// the next statement.
#[derive(Clone, Debug)]
pub struct Readers(Arc<ReaderSet>);

/// The free readers, and a permit for each of them.
#[derive(Debug)]
struct ReaderSet {
    free: Mutex<Vec<SqliteConnection>>,
    available: Semaphore,
}

/// A reader connection, given back when dropped.
#[derive(Debug)]
pub struct Reader {
    conn: Option<SqliteConnection>,
    set: Arc<ReaderSet>,
}

impl Readers {
    pub(super) async fn open(opts: &SqliteConnectOptions, n: u32) -> Result<Self, sqlx::Error> {
        let mut free = Vec::with_capacity(n as usize);
        for _ in 0..n {
            free.push(SqliteConnection::connect_with(opts).await?);
        }
        Ok(Readers(Arc::new(ReaderSet {
            free: Mutex::new(free),
            available: Semaphore::new(n as usize),
        })))
    }

    /// Waits for a free reader.
    pub async fn get(&self) -> Result<Reader, DbError> {
        let permit = tokio::time::timeout(READER_WAIT, self.0.available.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        // The permit now belongs to the connection: given back with it.
        permit.forget();
        let conn = self
            .0
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
            .expect("a permit stands for a free reader");
        Ok(Reader {
            conn: Some(conn),
            set: self.0.clone(),
        })
    }

    pub(super) async fn close(&self) {
        self.0.available.close();
        let free = std::mem::take(
            &mut *self
                .0
                .free
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for conn in free {
            let _ = conn.close().await;
        }
    }
}

/// How long a read waits for a free reader before failing.
const READER_WAIT: Duration = Duration::from_secs(10);

impl std::ops::Deref for Reader {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.conn.as_ref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for Reader {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn.as_mut().expect("present until dropped")
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if self.set.available.is_closed() {
                // Shut down: the connection is closed by being dropped.
                return;
            }
            self.set
                .free
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(conn);
            self.set.available.add_permits(1);
        }
    }
}
