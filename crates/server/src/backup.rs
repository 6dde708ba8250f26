//! `mooring backup` and `mooring restore`: an online, consistent copy of an
//! SQLite deployment — the database and the documents it refers to — and
//! its restore on a fresh data folder.
//!
//! The database is copied with SQLite's `VACUUM INTO`, which writes the
//! database as one read transaction sees it while writers go on
//! (<https://sqlite.org/lang_vacuum.html#vacuuminto>). The documents copied
//! are exactly those the copy refers to (`files.blob`), read after it from
//! the document store (a folder or S3), so a document uploaded later is not
//! taken and one erased in between is reported missing. Everything stays
//! ciphertext: a backup is readable only with the master key of its time,
//! which is never in it (the keys file is backed up apart). PostgreSQL
//! deployments use `pg_dump` (see [`BackupError::Postgres`]).

use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::blobs::Blobs;
use crate::clock::{Clock as _, SystemClock};
use crate::config::Config;
use crate::db::{DatabaseUrl, Db, DbError};
use crate::secrets::{self, SecretsError};

/// The database file in a backup folder.
const DATABASE: &str = "mooring.db";
/// The manifest in a backup folder.
const MANIFEST: &str = "backup.json";

/// What a backup folder says about itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// The Mooring version that wrote it.
    pub mooring: String,
    /// When the copy was taken, Unix seconds.
    pub taken_at: u64,
    /// Documents copied.
    pub documents: u64,
    /// Documents the copy refers to that the store no longer had (erased
    /// while the backup ran).
    pub missing: u64,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// Documents written to the document store.
    pub documents: u64,
    /// Data keys (customers, documents, SEP-30 accounts) that the current
    /// master keys cannot unwrap: the data of a retired key.
    pub unreadable: u64,
    /// Data keys the current master keys unwrap.
    pub readable: u64,
}

/// Why a backup or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// PostgreSQL is backed up with its own tools.
    #[error(
        "the database is PostgreSQL: back it up with `pg_dump --format=custom --file=mooring.dump <database_url>` \
         (consistent while servers run) and restore with `pg_restore --dbname=<new database_url> mooring.dump`; \
         back up the document store apart (S3 bucket versioning or replication, or a copy of the folder taken \
         after the dump) and the keys file apart from both"
    )]
    Postgres,
    /// The destination is not a fresh place.
    #[error("{0}")]
    NotFresh(String),
    /// A file could not be read or written.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The database failed.
    #[error("database: {0}")]
    Db(String),
    /// The document store failed.
    #[error("document store: {0}")]
    Blobs(String),
    /// The backup folder is not one (no manifest, or a bad one).
    #[error("{0} is not a Mooring backup: {1}")]
    NotABackup(String, String),
    /// Secrets could not be loaded.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
}

impl From<DbError> for BackupError {
    fn from(e: DbError) -> Self {
        BackupError::Db(e.to_string())
    }
}

impl From<sqlx::Error> for BackupError {
    fn from(e: sqlx::Error) -> Self {
        BackupError::Db(e.to_string())
    }
}

/// Copies the database and its documents into `dest`, which must not
/// exist or be empty. Servers may keep running and writing.
pub async fn backup(config: &Config, dest: &Path) -> Result<Manifest, BackupError> {
    sqlite_path(config)?;
    fresh_folder(dest)?;
    secrets::create_private_dir(dest).map_err(|e| io(dest, e))?;
    let copy = dest.join(DATABASE);
    let db = Db::connect(&config.database_url(), 1).await?;
    let target = copy
        .to_str()
        .ok_or_else(|| BackupError::NotFresh(format!("{} is not UTF-8", copy.display())))?;
    let taken_at = SystemClock.now();
    let vacuum = match &db {
        Db::Sqlite(s) => match s.write.get().await {
            Ok(mut w) => sqlx::query("VACUUM INTO ?1")
                .bind(target)
                .execute(&mut *w)
                .await
                .map(|_| ())
                .map_err(DbError::from),
            Err(e) => Err(e),
        },
        Db::Postgres(_) => unreachable!("checked above"),
    };
    db.close().await;
    vacuum?;
    let blobs = referenced_blobs(&copy).await?;
    let from = Blobs::from_config(config).map_err(BackupError::Blobs)?;
    let to = folder_store(dest)?;
    let (documents, missing) = copy_blobs(&from, &to, &blobs).await?;
    let manifest = Manifest {
        mooring: env!("CARGO_PKG_VERSION").into(),
        taken_at,
        documents,
        missing,
    };
    let json = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
    let path = dest.join(MANIFEST);
    std::fs::write(&path, json).map_err(|e| io(&path, e))?;
    Ok(manifest)
}

/// Restores the backup in `src` into the configured data folder (or
/// database path) and document store: the database must not exist yet.
/// Migrations then bring a backup of an older version up to date.
pub async fn restore(config: &Config, src: &Path) -> Result<Restored, BackupError> {
    let target = sqlite_path(config)?;
    let manifest = read_manifest(src)?;
    if target.exists() {
        return Err(BackupError::NotFresh(format!(
            "{} exists: restore into a fresh data folder (or move it away first)",
            target.display()
        )));
    }
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        secrets::create_private_dir(parent).map_err(|e| io(parent, e))?;
    }
    let copy = src.join(DATABASE);
    std::fs::copy(&copy, &target).map_err(|e| io(&copy, e))?;
    let blobs = referenced_blobs(&target).await?;
    let from = folder_store(src)?;
    let to = Blobs::from_config(config).map_err(BackupError::Blobs)?;
    let (documents, _) = copy_blobs(&from, &to, &blobs).await?;
    let db = Db::connect(&config.database_url(), 1).await?;
    db.migrate().await?;
    db.close().await;
    let (readable, unreadable) = readable_keys(config, &target).await?;
    Ok(Restored {
        manifest,
        documents,
        unreadable,
        readable,
    })
}

/// The SQLite file the configuration names, or why there is none.
fn sqlite_path(config: &Config) -> Result<PathBuf, BackupError> {
    match DatabaseUrl::parse(&config.database_url()) {
        Ok(DatabaseUrl::Sqlite(url)) => SqliteConnectOptions::from_str(&url)
            .map(|o| o.get_filename().to_owned())
            .map_err(|e| BackupError::Db(e.to_string())),
        Ok(DatabaseUrl::Postgres(_)) => Err(BackupError::Postgres),
        Err(e) => Err(BackupError::Db(e.to_string())),
    }
}

fn fresh_folder(dest: &Path) -> Result<(), BackupError> {
    match std::fs::read_dir(dest) {
        Ok(mut entries) => match entries.next() {
            Some(_) => Err(BackupError::NotFresh(format!(
                "{} is not empty: back up into a new folder",
                dest.display()
            ))),
            None => Ok(()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(dest, e)),
    }
}

/// The documents of a backup folder.
fn folder_store(folder: &Path) -> Result<Blobs, BackupError> {
    Blobs::folder(&folder.join("blobs")).map_err(BackupError::Blobs)
}

async fn open_read_only(path: &Path) -> Result<SqliteConnection, BackupError> {
    let options = SqliteConnectOptions::new().filename(path).read_only(true);
    Ok(SqliteConnection::connect_with(&options).await?)
}

/// The documents a database copy refers to.
async fn referenced_blobs(db: &Path) -> Result<Vec<String>, BackupError> {
    let mut conn = open_read_only(db).await?;
    let blobs: Vec<(String,)> = sqlx::query_as("SELECT blob FROM files ORDER BY blob")
        .fetch_all(&mut conn)
        .await?;
    conn.close().await?;
    Ok(blobs.into_iter().map(|(b,)| b).collect())
}

/// Copies each of `blobs` as it is streamed; (copied, missing).
async fn copy_blobs(from: &Blobs, to: &Blobs, blobs: &[String]) -> Result<(u64, u64), BackupError> {
    let (mut copied, mut missing) = (0, 0);
    for blob in blobs {
        let mut stream = match from.read(blob).await {
            Ok((_, stream)) => stream,
            Err(e) if e.is_not_found() => {
                missing += 1;
                continue;
            }
            Err(e) => return Err(BackupError::Blobs(e.to_string())),
        };
        let mut writer = to
            .writer(blob)
            .await
            .map_err(|e| BackupError::Blobs(e.to_string()))?;
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    writer.abort().await;
                    return Err(BackupError::Blobs(e.to_string()));
                }
            };
            writer
                .write(&chunk)
                .await
                .map_err(|e| BackupError::Blobs(e.to_string()))?;
        }
        writer
            .finish()
            .await
            .map_err(|e| BackupError::Blobs(e.to_string()))?;
        copied += 1;
    }
    Ok((copied, missing))
}

/// How many of the restored data keys the current master keys unwrap.
async fn readable_keys(config: &Config, db: &Path) -> Result<(u64, u64), BackupError> {
    let (secrets, _) = secrets::load(config)?;
    let vault = secrets.vault();
    let mut conn = open_read_only(db).await?;
    let (mut readable, mut unreadable) = (0, 0);
    for (table, id, owner) in [
        ("customers", "id", "customer"),
        ("files", "id", "file"),
        ("recovery_accounts", "address", "recovery-account"),
    ] {
        let rows: Vec<(String, Vec<u8>)> =
            sqlx::query_as(&format!("SELECT {id}, data_key FROM {table}"))
                .fetch_all(&mut conn)
                .await?;
        for (id, wrapped) in rows {
            match vault.unwrap(&wrapped, &format!("{owner}:{id}")) {
                Ok(_) => readable += 1,
                Err(_) => unreadable += 1,
            }
        }
    }
    conn.close().await?;
    Ok((readable, unreadable))
}

fn read_manifest(src: &Path) -> Result<Manifest, BackupError> {
    let shown = src.display().to_string();
    let text = std::fs::read(src.join(MANIFEST))
        .map_err(|e| BackupError::NotABackup(shown.clone(), format!("{MANIFEST}: {e}")))?;
    serde_json::from_slice(&text)
        .map_err(|e| BackupError::NotABackup(shown, format!("{MANIFEST}: {e}")))
}

fn io(path: &Path, e: std::io::Error) -> BackupError {
    BackupError::Io(path.display().to_string(), e)
}
