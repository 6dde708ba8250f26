//! SQL for SEP-12 documents: uploaded files, their attachment to a
//! customer's field, expiry, and the queue of documents to remove from
//! the store.

use crate::db::{Conn, DbError, PURGE_BATCH, Tx};
use crate::{with_conn, with_tx};

/// An uploaded file.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FileRow {
    pub id: String,
    pub owner_account: String,
    pub owner_memo: String,
    pub customer_id: Option<String>,
    pub field: Option<String>,
    pub content_type: String,
    pub size: i64,
    pub data_key: Vec<u8>,
    pub blob: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

const FILE_COLUMNS: &str = "id, owner_account, owner_memo, customer_id, field, content_type, size, data_key, blob, created_at, expires_at";

pub async fn insert_file(c: impl Into<Conn<'_>>, f: &FileRow) -> Result<(), DbError> {
    let sql = format!(
        "INSERT INTO files ({FILE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    );
    with_conn!(c.into(), e => sqlx::query(&sql)
        .bind(&f.id)
        .bind(&f.owner_account)
        .bind(&f.owner_memo)
        .bind(&f.customer_id)
        .bind(&f.field)
        .bind(&f.content_type)
        .bind(f.size)
        .bind(&f.data_key)
        .bind(&f.blob)
        .bind(f.created_at)
        .bind(f.expires_at)
        .execute(e)
        .await?
        .rows_affected());
    Ok(())
}

pub async fn file(c: impl Into<Conn<'_>>, id: &str) -> Result<Option<FileRow>, DbError> {
    let sql = format!("SELECT {FILE_COLUMNS} FROM files WHERE id = $1");
    Ok(with_conn!(c.into(), e => sqlx::query_as(&sql).bind(id).fetch_optional(e).await?))
}

pub async fn files_of_customer(
    c: impl Into<Conn<'_>>,
    customer_id: &str,
) -> Result<Vec<FileRow>, DbError> {
    let sql =
        format!("SELECT {FILE_COLUMNS} FROM files WHERE customer_id = $1 ORDER BY created_at, id");
    Ok(with_conn!(c.into(), e => sqlx::query_as(&sql).bind(customer_id).fetch_all(e).await?))
}

/// Makes a file the value of `field` of a customer (it no longer expires).
pub async fn attach_file(
    tx: &mut Tx,
    file_id: &str,
    customer_id: &str,
    field: &str,
) -> Result<(), DbError> {
    with_tx!(tx, e => sqlx::query("UPDATE files SET customer_id = $2, field = $3, expires_at = NULL WHERE id = $1")
        .bind(file_id)
        .bind(customer_id)
        .bind(field)
        .execute(e)
        .await?
        .rows_affected());
    Ok(())
}

/// Deletes a file's row and schedules its document for removal.
pub async fn delete_file(tx: &mut Tx, file_id: &str, now: i64) -> Result<(), DbError> {
    let blob: Option<(String,)> = with_tx!(tx, e => sqlx::query_as("DELETE FROM files WHERE id = $1 RETURNING blob")
        .bind(file_id)
        .fetch_optional(e)
        .await?);
    if let Some((blob,)) = blob {
        schedule_blob_deletion(tx, &blob, now).await?;
    }
    Ok(())
}

pub async fn schedule_blob_deletion(tx: &mut Tx, blob: &str, now: i64) -> Result<(), DbError> {
    with_tx!(tx, e => sqlx::query("INSERT INTO blob_deletions (blob, created_at) VALUES ($1, $2) ON CONFLICT (blob) DO NOTHING")
        .bind(blob)
        .bind(now)
        .execute(e)
        .await?
        .rows_affected());
    Ok(())
}

/// Deletes files an owner uploaded that no customer references.
pub async fn delete_unattached_files(
    tx: &mut Tx,
    account: &str,
    memo: &str,
    now: i64,
) -> Result<(), DbError> {
    let blobs: Vec<(String,)> = with_tx!(tx, e => sqlx::query_as(
        "DELETE FROM files WHERE owner_account = $1 AND owner_memo = $2 AND customer_id IS NULL RETURNING blob",
    )
    .bind(account)
    .bind(memo)
    .fetch_all(e)
    .await?);
    for (blob,) in &blobs {
        schedule_blob_deletion(tx, blob, now).await?;
    }
    Ok(())
}

/// Deletes up to [`PURGE_BATCH`] unattached files past their expiry;
/// returns how many. The condition is checked outside the subquery too,
/// so that a file attached meanwhile (PostgreSQL re-checks a changed row
/// against the outer condition only) stays.
pub async fn expire_files(tx: &mut Tx, now: i64) -> Result<u64, DbError> {
    let blobs: Vec<(String,)> = with_tx!(tx, e => sqlx::query_as(
        "DELETE FROM files WHERE customer_id IS NULL AND expires_at < $1 AND id IN \
         (SELECT id FROM files WHERE customer_id IS NULL AND expires_at < $1 LIMIT $2) RETURNING blob",
    )
    .bind(now)
    .bind(PURGE_BATCH)
    .fetch_all(e)
    .await?);
    for (blob,) in &blobs {
        schedule_blob_deletion(tx, blob, now).await?;
    }
    Ok(blobs.len() as u64)
}

pub async fn blob_deletions(c: impl Into<Conn<'_>>, limit: i64) -> Result<Vec<String>, DbError> {
    let rows: Vec<(String,)> = with_conn!(c.into(), e => sqlx::query_as("SELECT blob FROM blob_deletions ORDER BY created_at LIMIT $1")
        .bind(limit)
        .fetch_all(e)
        .await?);
    Ok(rows.into_iter().map(|(b,)| b).collect())
}

pub async fn blob_deleted(c: impl Into<Conn<'_>>, blob: &str) -> Result<(), DbError> {
    with_conn!(c.into(), e => sqlx::query("DELETE FROM blob_deletions WHERE blob = $1").bind(blob).execute(e).await?.rows_affected());
    Ok(())
}
