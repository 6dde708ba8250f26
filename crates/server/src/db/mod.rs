//! The database: SQLite (embedded default) or PostgreSQL (scale-out), both
//! through sqlx, each with its own migrations folder; on SQLite the hot
//! paths' statements run on the calling thread through rusqlite instead
//! ([`Inline`]). Store modules match on [`Db`] and run the SQL for its
//! engine.

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use crate::config::ConfigError;

mod inline;
mod lent;
mod postgres;
mod purge;
pub use inline::{Inline, prepare_numbered};
pub use lent::{Connections, Lent, SqliteTx};
pub use purge::{PURGE_BATCH, Purge};

/// Runs `$body` with `$pool` bound to whichever engine's pool `$db` holds.
/// On SQLite that is the single writer, held for the whole body: a body
/// must not write through another path, such as
/// [`SqliteDb::write_here`] (it would wait for itself).
/// SQL written with `$1, $2, …` placeholders runs unchanged on both (sqlx
/// accepts `$N` for SQLite), so most store functions are written once.
#[macro_export]
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(s) => {
                let mut writer = s.write.get().await?;
                let $pool = &mut *writer;
                $body
            }
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Like [`with_pool!`], for statements that only read: on SQLite they run
/// on the reader connections, beside the single writer.
#[macro_export]
macro_rules! with_reader {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(s) => {
                let mut reader = s.read.get().await?;
                let $pool = &mut *reader;
                $body
            }
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the connection of whichever engine's
/// transaction `$tx` (a `&mut Tx`) holds.
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::db::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

/// Runs `$body` with `$exec` bound to an executor for `$conn` (a
/// [`Conn`]): the pool, or the connection of a transaction. Store functions
/// that read take a `Conn` so they serve both a plain read and a read inside
/// a write transaction.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, $exec:ident => $body:expr) => {
        match $conn {
            $crate::db::Conn::Db($crate::db::Db::Sqlite(s)) => {
                let mut writer = s.write.get().await?;
                let $exec = &mut *writer;
                $body
            }
            $crate::db::Conn::Read($crate::db::Db::Sqlite(s)) => {
                let mut reader = s.read.get().await?;
                let $exec = &mut *reader;
                $body
            }
            $crate::db::Conn::Db($crate::db::Db::Postgres($exec))
            | $crate::db::Conn::Read($crate::db::Db::Postgres($exec)) => $body,
            $crate::db::Conn::Tx($crate::db::Tx::Sqlite(t)) => {
                let $exec = &mut **t;
                $body
            }
            $crate::db::Conn::Tx($crate::db::Tx::Postgres(t)) => {
                let $exec = &mut **t;
                $body
            }
        }
    };
}

/// Where a query runs: the pool, or an open transaction.
#[derive(Debug)]
pub enum Conn<'a> {
    /// Any connection of the pool (on SQLite, the writer).
    Db(&'a Db),
    /// A connection for reading only (on SQLite, one of the readers).
    Read(&'a Db),
    /// The transaction's connection.
    Tx(&'a mut Tx),
}

impl Conn<'_> {
    /// The same place, borrowed again for one more query.
    pub fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Conn::Db(d) => Conn::Db(d),
            Conn::Read(d) => Conn::Read(d),
            Conn::Tx(t) => Conn::Tx(t),
        }
    }

    /// Whether the query runs on SQLite (for the few statements whose SQL
    /// differs between the engines).
    pub fn is_sqlite(&self) -> bool {
        matches!(
            self,
            Conn::Db(Db::Sqlite(_)) | Conn::Read(Db::Sqlite(_)) | Conn::Tx(Tx::Sqlite(_))
        )
    }
}

impl<'a> From<&'a Db> for Conn<'a> {
    fn from(db: &'a Db) -> Self {
        Conn::Db(db)
    }
}

impl<'a> From<&'a mut Tx> for Conn<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        Conn::Tx(tx)
    }
}

/// A transaction on one of the two engines.
#[derive(Debug)]
pub enum Tx {
    /// SQLite, on the writer.
    Sqlite(SqliteTx),
    /// PostgreSQL.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    /// Commits.
    pub async fn commit(self) -> Result<(), DbError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// A connection pool on one of the two engines.
#[derive(Clone, Debug)]
pub enum Db {
    /// SQLite in WAL mode.
    Sqlite(SqliteDb),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// SQLite allows one writer at a time. Writes take turns, the writer
/// connection's (sqlx) and the calling thread's ([`Inline`]) under one
/// permit, so they queue in the application instead of retrying on
/// SQLite's busy handler (which sleeps milliseconds at a time); reads use
/// connections of their own, which WAL lets run beside the writer.
#[derive(Clone, Debug)]
pub struct SqliteDb {
    /// The one writer connection.
    pub write: Connections,
    /// Reader connections.
    pub read: Connections,
    /// Connections for the hot paths' statements, run on the calling
    /// thread; their writes take the writer's turn.
    here: std::sync::Arc<Inline>,
}

impl SqliteDb {
    /// Runs `f` on a reader, on this thread ([`Inline`]): for a short
    /// statement on rows found by key.
    pub fn read_here<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        self.here.read(f)
    }

    /// Waits for the writer's turn, then runs `f` on this thread in a
    /// transaction of its own ([`Inline`]): for short writes by key.
    pub async fn write_here<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        self.here.write(&self.write, f).await
    }
}

/// What went wrong talking to the database. The text may name the engine's
/// error and is for logs only, never for a response body.
///
/// Store functions say what happened: a lookup answers `Option` (absence
/// is an answer, not an error); a write whose row is not there fails with
/// [`DbError::NotFound`], one that collides with a unique key or with a
/// change made since the read with [`DbError::Conflict`]. Services turn
/// those two into their own named errors.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The row a write needed is not there.
    #[error("no such row")]
    NotFound,
    /// A unique key is already taken, or the row changed since it was read.
    #[error("conflicting row")]
    Conflict,
    /// Connecting or running a statement failed.
    #[error("database error: {0}")]
    Sqlx(sqlx::Error),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A statement run on the calling thread ([`Inline`]) failed.
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                DbError::Conflict
            }
            _ => DbError::Sqlite(e),
        }
    }
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => DbError::Conflict,
            _ => DbError::Sqlx(e),
        }
    }
}

impl DbError {
    /// The database could not be reached or ended the session (a restart,
    /// a failover, no connection free in time): nothing the request did.
    pub fn is_unavailable(&self) -> bool {
        if let DbError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) = self {
            // Another process held the database past the busy timeout.
            return matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            );
        }
        let DbError::Sqlx(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // PostgreSQL's SQLSTATE (Appendix A): the connection failed or
            // was lost (08000, 08001, 08003, 08006); admin or crash shutdown
            // and "cannot connect now" while starting (57P01-57P03); too
            // many connections (53300); a read-only standby after a
            // failover (25006). Not 08P01 (a protocol violation) nor
            // 57P04 (the database was dropped): those are faults.
            sqlx::Error::Database(d) => d.code().is_some_and(|code| {
                matches!(
                    code.as_ref(),
                    "08000"
                        | "08001"
                        | "08003"
                        | "08006"
                        | "57P01"
                        | "57P02"
                        | "57P03"
                        | "53300"
                        | "25006"
                )
            }),
            _ => false,
        }
    }

    /// `Ok` when a write touched a row, else `otherwise` (NotFound or
    /// Conflict, as the write means it).
    pub fn one_row(rows_affected: u64, otherwise: DbError) -> Result<(), DbError> {
        if rows_affected == 0 {
            Err(otherwise)
        } else {
            Ok(())
        }
    }
}

/// A database URL Mooring recognises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://path` or `sqlite:path`.
    Sqlite(String),
    /// `postgres://…` or `postgresql://…`.
    Postgres(String),
}

impl DatabaseUrl {
    /// Recognises the engine from the scheme. Anything else is an error —
    /// never a silently created SQLite file.
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let invalid = |message: &str| ConfigError::Invalid {
            key: "database_url",
            message: message.to_owned(),
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            PgConnectOptions::from_str(url).map_err(|_| invalid("not a valid postgres:// URL"))?;
            Ok(DatabaseUrl::Postgres(url.to_owned()))
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            if rest.contains(":memory:") || rest.contains("mode=memory") {
                return Err(invalid(
                    "an in-memory SQLite database loses everything on restart; give a file, e.g. sqlite://data/mooring.db",
                ));
            }
            if rest.trim_start_matches('/').is_empty() {
                return Err(invalid(
                    "sqlite URL has no file path, e.g. sqlite://data/mooring.db",
                ));
            }
            Ok(DatabaseUrl::Sqlite(url.to_owned()))
        } else {
            Err(invalid(
                "unrecognised database URL; use sqlite://<path> or postgres://user@host/db",
            ))
        }
    }
}

/// A URL safe to log: the password, in the authority or as a `password` /
/// `sslpassword` query parameter, replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        return "<unparseable database URL>".to_owned();
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let secret =
                    k.eq_ignore_ascii_case("password") || k.eq_ignore_ascii_case("sslpassword");
                (
                    k.into_owned(),
                    if secret {
                        "***".to_owned()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

impl Db {
    /// Connects. SQLite files are created if missing (in directories that
    /// must exist) and opened in WAL mode.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbError> {
        let parsed = DatabaseUrl::parse(url)
            .map_err(|e| DbError::Sqlx(sqlx::Error::Configuration(e.to_string().into())))?;
        match parsed {
            DatabaseUrl::Sqlite(url) => {
                let opts = SqliteConnectOptions::from_str(&url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
                    // Deleted rows are overwritten, not left in free pages:
                    // erasure leaves no ciphertext behind in the database file.
                    .pragma("secure_delete", "on");
                // No ping before each use: for SQLite it is a round trip to
                // the connection's thread, for PostgreSQL one over the network;
                // a broken connection fails its queries instead.
                let write = Connections::open(&opts, 1, Duration::from_secs(30)).await?;
                // More readers than a few per core only add threads fighting
                // over the same CPUs.
                let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
                let readers = max_connections
                    .min(u32::try_from(cores * 2).unwrap_or(4))
                    .max(1);
                let here = Inline::open(opts.get_filename(), Duration::from_secs(5), &write)?;
                let read =
                    Connections::open(&opts.read_only(true), readers, Duration::from_secs(10))
                        .await?;
                Ok(Db::Sqlite(SqliteDb {
                    write,
                    read,
                    here: std::sync::Arc::new(here),
                }))
            }
            DatabaseUrl::Postgres(url) => {
                let opts = PgConnectOptions::from_str(&url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    /// Applies this engine's migrations (`migrations/sqlite` or `migrations/postgres`).
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(s) => {
                sqlx::migrate!("../../migrations/sqlite")
                    .run(&mut *s.write.get().await?)
                    .await?
            }
            Db::Postgres(pool) => {
                sqlx::migrate!("../../migrations/postgres")
                    .run(pool)
                    .await?
            }
        }
        Ok(())
    }

    /// Begins a transaction that will write.
    pub async fn begin(&self) -> Result<Tx, DbError> {
        Ok(match self {
            Db::Sqlite(s) => Tx::Sqlite(SqliteTx::begin(&s.write).await?),
            Db::Postgres(p) => Tx::Postgres(postgres::begin(p).await?),
        })
    }

    /// Where read-only queries go.
    pub fn reader(&self) -> Conn<'_> {
        Conn::Read(self)
    }

    /// `sqlite` or `postgres`.
    pub fn engine(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// A trivial query: the database answers.
    pub async fn ping(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(s) => sqlx::query("SELECT 1")
                .execute(&mut *s.read.get().await?)
                .await
                .map(|_| ())?,
            Db::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.map(|_| ())?,
        }
        Ok(())
    }

    /// After an erasure: on SQLite, moves the write-ahead log into the
    /// database (where `secure_delete` has zeroed the deleted rows) and
    /// truncates it, so old page images do not linger in `-wal`. Best
    /// effort: a long reader can keep the log busy; the next checkpoint
    /// then does it. PostgreSQL reuses its WAL on its own schedule.
    pub async fn flush_deleted(&self) {
        if let Db::Sqlite(s) = self
            && let Err(e) = match s.write.get().await {
                Ok(mut w) => sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&mut *w)
                    .await
                    .map(|_| ())
                    .map_err(DbError::from),
                Err(e) => Err(e),
            }
        {
            tracing::warn!(error = %e, "could not checkpoint the SQLite WAL after an erasure");
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Db::Sqlite(s) => {
                s.read.close().await;
                s.write.close().await;
                s.here.close();
            }
            Db::Postgres(p) => p.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_engines_and_refuses_the_rest() {
        assert!(matches!(
            DatabaseUrl::parse("sqlite://data/m.db"),
            Ok(DatabaseUrl::Sqlite(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("sqlite:m.db"),
            Ok(DatabaseUrl::Sqlite(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@localhost/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u@localhost/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        for bad in [
            "mysql://x/y",
            "data/m.db",
            "",
            "sqlite::memory:",
            "sqlite://",
            "postgress://x",
        ] {
            assert!(DatabaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sqlite_errors_on_the_calling_thread_say_what_they_are() {
        let failure = |code| {
            DbError::from(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(code),
                None,
            ))
        };
        assert!(matches!(
            failure(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE),
            DbError::Conflict
        ));
        assert!(matches!(
            failure(rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY),
            DbError::Conflict
        ));
        assert!(failure(rusqlite::ffi::SQLITE_BUSY).is_unavailable());
        let broken = failure(rusqlite::ffi::SQLITE_CORRUPT);
        assert!(!broken.is_unavailable() && !matches!(broken, DbError::Conflict));
    }

    #[test]
    fn redacted_url_hides_the_password() {
        let shown = redact_url("postgres://mooring:hunter2@db.internal:5432/mooring");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("***") && shown.contains("db.internal"),
            "{shown}"
        );
        assert_eq!(redact_url("sqlite://data/m.db"), "sqlite://data/m.db");
        let shown = redact_url("postgres://u@db/m?sslmode=require&password=hunter2&sslpassword=x2");
        assert!(
            !shown.contains("hunter2") && !shown.contains("x2"),
            "{shown}"
        );
        assert!(shown.contains("sslmode=require"), "{shown}");
    }
}
