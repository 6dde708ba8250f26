//! SQLite statements run on the calling thread, for the hot paths: a
//! login's used-challenge record, a customer's read, a `PUT /customer`'s
//! write.
//!
//! sqlx runs each SQLite connection on a thread of its own; each statement
//! is a message to that thread and an answer back, two thread wake-ups. A
//! profile of `PUT /customer` under load (`perf`, 2026-12-08) put 45 % of
//! the server's CPU on those threads and 20 % in the kernel's context
//! switches alone, against about 10 % in SQLite itself. A statement on a
//! few rows found by key, on pages in SQLite's cache, takes microseconds:
//! less than the wake-ups. Here such statements run where the request is,
//! through `rusqlite` on the same SQLite library; everything else (long
//! transactions, purges, migrations, rare statements) stays on sqlx.
//!
//! Writes here take the single writer's turn, the same one the sqlx writer
//! connection is lent under ([`Connections::turn`]), so the two take turns
//! rather than racing for SQLite's write lock. A commit here does not checkpoint (a checkpoint
//! copies the log into the database and syncs: milliseconds, which would
//! hold up every request on this thread); a thread of its own does, after
//! [`COMMITS_PER_CHECKPOINT`] commits or [`ROWS_PER_CHECKPOINT`] rows
//! written, whichever comes first, during the writer's turn. It
//! has to be the writer's turn: a checkpoint that runs beside a busy writer
//! never catches up with the log's end, and the log, which SQLite starts
//! again from its beginning only after a checkpoint that did, grew to
//! 168 MB in 20 s of PUTs.
//!
//! The cost: a write here that meets SQLite's write lock still held waits
//! on this thread, in SQLite's busy handler (up to the busy timeout), and
//! the requests sharing the thread wait with it. That happens when another
//! process writes the same file (`mooring rotate` beside a running
//! server), or for the moment sqlx's thread takes to finish a statement
//! whose request went away and gave its turn back: milliseconds.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{CachedStatement, Connection, OpenFlags, ToSql, Transaction, TransactionBehavior};

use super::{Connections, DbError};

/// Commits, and rows written, between two checkpoints of the log. SQLite's
/// own default starts one when the log reaches 1,000 pages; a login's
/// commit appends one or two, a PUT of ten fields (eleven rows) about five,
/// fewer in a batch, whose PUTs share pages.
const COMMITS_PER_CHECKPOINT: u32 = 500;
const ROWS_PER_CHECKPOINT: u64 = 4_000;

/// Reader connections kept for reuse; more are opened when more threads
/// read at once, and closed after.
const READERS_KEPT: usize = 8;

/// The writer connection, and what it wrote since it last asked for a
/// checkpoint.
#[derive(Debug)]
struct Writer {
    conn: Connection,
    commits: u32,
    rows_at_checkpoint: u64,
}

/// SQLite connections for statements run on the calling thread.
#[derive(Debug)]
pub struct Inline {
    path: PathBuf,
    busy: Duration,
    readers: Mutex<Vec<Connection>>,
    /// Used only during the writer's turn, so never waited for. `None`
    /// once closed.
    writer: Mutex<Option<Writer>>,
    closed: AtomicBool,
    /// `None` once closed, which ends the checkpoint thread.
    checkpoint: Mutex<Option<SyncSender<()>>>,
}

impl Inline {
    /// Opens the connections on the database at `path` (created, in WAL
    /// mode, by the sqlx connections first), and starts the checkpoint
    /// thread. `turn` is the sqlx writer's, whose turn the writes here
    /// take.
    pub(super) fn open(path: &Path, busy: Duration, turn: &Connections) -> Result<Inline, DbError> {
        let writer = open(path, busy, false)?;
        // Commits here leave checkpoints to the thread below.
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        let checkpointer = open(path, busy, false)?;
        let (checkpoint, asked) = sync_channel(1);
        let turn = turn.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoints(&checkpointer, &turn, &asked))
            .map_err(|e| DbError::Sqlx(sqlx::Error::Io(e)))?;
        Ok(Inline {
            path: path.to_owned(),
            busy,
            readers: Mutex::new(vec![open(path, busy, true)?]),
            writer: Mutex::new(Some(Writer {
                conn: writer,
                commits: 0,
                rows_at_checkpoint: 0,
            })),
            closed: AtomicBool::new(false),
            checkpoint: Mutex::new(Some(checkpoint)),
        })
    }

    /// Runs `f` on a reader connection, on this thread.
    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(DbError::Sqlx(sqlx::Error::PoolClosed));
        }
        let kept = self
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match kept {
            Some(c) => c,
            None => open(&self.path, self.busy, true)?,
        };
        let out = f(&conn);
        // A reader whose statement failed is closed, not kept: whatever
        // broke stays with it.
        if out.is_ok() && !self.closed.load(Ordering::Relaxed) {
            let mut readers = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
            if readers.len() < READERS_KEPT {
                readers.push(conn);
            }
        }
        Ok(out?)
    }

    /// Closes the connections: those in use when they are given back; the
    /// checkpoint thread's as it ends. Reads and writes fail from then on.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        self.readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        self.checkpoint
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    /// Waits for the writer's turn (`turn`), then runs `f` on this thread
    /// in a transaction begun `IMMEDIATE`: committed if `f` answers `Ok`,
    /// rolled back otherwise.
    pub(super) async fn write<T>(
        &self,
        turn: &Connections,
        f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        let _turn = turn.turn().await?;
        let mut w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(w) = w.as_mut() else {
            return Err(DbError::Sqlx(sqlx::Error::PoolClosed));
        };
        let tx = w
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        let rows = w.conn.total_changes();
        w.commits += 1;
        if w.commits >= COMMITS_PER_CHECKPOINT
            || rows.saturating_sub(w.rows_at_checkpoint) >= ROWS_PER_CHECKPOINT
        {
            (w.commits, w.rows_at_checkpoint) = (0, rows);
            // Already asked and not yet done: once is enough.
            if let Some(ask) = &*self
                .checkpoint
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
            {
                let _ = ask.try_send(());
            }
        }
        Ok(out)
    }
}

fn open(path: &Path, busy: Duration, read_only: bool) -> Result<Connection, DbError> {
    let access = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    };
    let conn = Connection::open_with_flags(path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(busy)?;
    // As the sqlx connections are opened (`Db::connect`).
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    Ok(conn)
}

/// The checkpoint thread: each time one is asked for, a checkpoint during
/// the writer's turn (readers go on meanwhile); ends with the database.
fn checkpoints(conn: &Connection, turn: &Connections, asked: &Receiver<()>) {
    while asked.recv().is_ok() {
        // A semaphore needs no runtime to be waited for.
        let Some(_turn) = futures::executor::block_on(turn.wait_turn()) else {
            return;
        };
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "SQLite checkpoint failed; the next one retries");
        }
    }
}

/// Prepares `sql` (through the connection's statement cache) and binds
/// `values` to it. `sql` is written with sqlx's placeholders, `$N`
/// standing for the N-th value (as sqlx binds them on SQLite), so that one
/// text serves both drivers; it is read with SQLite's `?N`, which means
/// the same and puts each value at its number without looking up names.
/// `sql` has no `$` but in placeholders.
pub fn prepare_numbered<'c>(
    conn: &'c Connection,
    sql: &str,
    values: &[&dyn ToSql],
) -> rusqlite::Result<CachedStatement<'c>> {
    debug_assert!(
        sql.match_indices('$')
            .all(|(i, _)| sql[i + 1..].starts_with(|c: char| c.is_ascii_digit())),
        "a `$` that is not a placeholder: {sql}"
    );
    let mut stmt = conn.prepare_cached(&sql.replace('$', "?"))?;
    // The highest number the statement uses; a value past it is unused.
    let wanted = stmt.parameter_count();
    if wanted > values.len() {
        return Err(rusqlite::Error::InvalidParameterCount(values.len(), wanted));
    }
    for (i, value) in values.iter().take(wanted).enumerate() {
        stmt.raw_bind_parameter(i + 1, value)?;
    }
    Ok(stmt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[tokio::test]
    async fn reads_and_writes_on_this_thread_share_the_writers_turn() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let db = Db::connect(&url, 2).await.unwrap();
        db.migrate().await.unwrap();
        let Db::Sqlite(s) = &db else { unreachable!() };
        let insert = "INSERT INTO sep10_used_challenges (expires_at, hash) VALUES ($2, $1)";

        // While the sqlx writer is lent out, a write here waits for it.
        let lent = s.write.get().await.unwrap();
        let waiting = s.write_here(|tx| {
            prepare_numbered(tx, insert, &[&b"h1".as_slice(), &7_i64])?.raw_execute()
        });
        tokio::pin!(waiting);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), &mut waiting)
                .await
                .is_err()
        );
        drop(lent);
        assert_eq!(waiting.await.unwrap(), 1);

        // `$N` is the N-th value, wherever it stands; a unique key taken
        // is a conflict, and the failed transaction leaves nothing.
        let again = s
            .write_here(|tx| {
                prepare_numbered(tx, insert, &[&b"h1".as_slice(), &7_i64])?.raw_execute()
            })
            .await;
        assert!(matches!(again, Err(DbError::Conflict)), "{again:?}");
        let read = s
            .read_here(|c| {
                c.query_row(
                    "SELECT expires_at, COUNT(*) FROM sep10_used_challenges",
                    [],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
                )
            })
            .unwrap();
        assert_eq!(read, (7, 1));

        // A placeholder with no value is an error, not a NULL.
        let missing =
            s.read_here(|c| prepare_numbered(c, "SELECT $1, $3", &[&1_i64, &2_i64]).map(drop));
        assert!(missing.is_err());
        db.close().await;
        assert!(
            s.read_here(|c| c.query_row("SELECT 1", [], |_| Ok(())))
                .is_err()
        );
        assert!(s.write_here(|_| Ok(())).await.is_err());
    }

    #[tokio::test]
    async fn the_log_is_checkpointed_and_begun_again_under_steady_writes() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let db = Db::connect(&url, 2).await.unwrap();
        db.migrate().await.unwrap();
        let Db::Sqlite(s) = &db else { unreachable!() };
        // A commit of one row appends a page or two: 2,500 of them, with no
        // checkpoint, would leave a log of 10 MB or more.
        for i in 0..2_500_i64 {
            s.write_here(|tx| {
                prepare_numbered(
                    tx,
                    "INSERT INTO sep10_used_challenges (expires_at, hash) VALUES ($1, $2)",
                    &[&i, &i.to_be_bytes().as_slice()],
                )?
                .raw_execute()
            })
            .await
            .unwrap();
        }
        let wal = std::fs::metadata(dir.path().join("t.db-wal"))
            .unwrap()
            .len();
        assert!(wal < 4 << 20, "the log holds {wal} bytes");
        db.close().await;
    }
}
