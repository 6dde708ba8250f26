//! SQL for SEP-12. One text per statement for both engines (`$N`
//! placeholders); multi-statement writes run in the caller's transaction,
//! but for SQLite's group-committed PUTs ([`put_at_once`]), which open
//! their own.

use super::owner::CustomerKey;
use crate::db::{Conn, Db, DbError, Tx, prepare_numbered};
use crate::{with_conn, with_tx};

/// A customer row. `data_key` is wrapped; nothing here is personal data.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerRow {
    pub id: String,
    pub account: String,
    pub memo: String,
    pub memo_type: String,
    pub data_key: Vec<u8>,
    pub last_type: Option<String>,
    pub callback_url: Option<String>,
    pub updated_at: i64,
    pub version: i64,
}

/// A stored field: its sealed value (or file) and review status.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FieldRow {
    pub name: String,
    pub value: Option<Vec<u8>>,
    pub file_id: Option<String>,
    pub fingerprint: Vec<u8>,
    pub status: String,
    pub error: Option<String>,
}

/// The anchor's decision for one customer and type.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DecisionRow {
    pub rejected: i64,
    pub message: Option<String>,
}

const CUSTOMER_COLUMNS: &str =
    "id, account, memo, memo_type, data_key, last_type, callback_url, updated_at, version";

pub async fn customer_by_id(
    c: impl Into<Conn<'_>>,
    id: &str,
) -> Result<Option<CustomerRow>, DbError> {
    let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1");
    Ok(with_conn!(c.into(), e => sqlx::query_as(&sql).bind(id).fetch_optional(e).await?))
}

pub async fn customer_by_key(
    c: impl Into<Conn<'_>>,
    key: &CustomerKey,
) -> Result<Option<CustomerRow>, DbError> {
    let sql = format!(
        "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE account = $1 AND memo = $2 AND memo_type = $3"
    );
    Ok(with_conn!(c.into(), e => sqlx::query_as(&sql)
        .bind(key.account.to_string())
        .bind(key.memo_value())
        .bind(key.memo_kind())
        .fetch_optional(e)
        .await?))
}

pub async fn fields(c: impl Into<Conn<'_>>, customer_id: &str) -> Result<Vec<FieldRow>, DbError> {
    let sql = "SELECT name, value, file_id, fingerprint, status, error FROM customer_fields WHERE customer_id = $1 ORDER BY name";
    Ok(with_conn!(c.into(), e => sqlx::query_as(sql).bind(customer_id).fetch_all(e).await?))
}

pub async fn decision(
    c: impl Into<Conn<'_>>,
    customer_id: &str,
    kind: &str,
) -> Result<Option<DecisionRow>, DbError> {
    let sql =
        "SELECT rejected, message FROM customer_decisions WHERE customer_id = $1 AND type = $2";
    Ok(
        with_conn!(c.into(), e => sqlx::query_as(sql).bind(customer_id).bind(kind).fetch_optional(e).await?),
    )
}

/// How a customer is looked up.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    /// By id.
    Id(&'a str),
    /// By account, memo and memo type.
    Key(&'a CustomerKey),
}

/// A customer with its fields and its decision for one type, read at once.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub customer: CustomerRow,
    pub fields: Vec<FieldRow>,
    pub decision: Option<DecisionRow>,
}

/// How much of a customer [`snapshot`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Everything: what a write works from.
    Full,
    /// What the status answer needs (SEP-12 §Customer GET): no values, data
    /// key, fingerprints, files or callback URL. The snapshot's `data_key`
    /// and fingerprints are empty and its values `None`: not for writing.
    Statuses,
}

#[derive(sqlx::FromRow)]
struct SnapshotRow {
    id: String,
    account: String,
    memo: String,
    memo_type: String,
    data_key: Vec<u8>,
    last_type: Option<String>,
    callback_url: Option<String>,
    updated_at: i64,
    version: i64,
    name: Option<String>,
    value: Option<Vec<u8>>,
    file_id: Option<String>,
    fingerprint: Option<Vec<u8>>,
    status: Option<String>,
    error: Option<String>,
    rejected: Option<i64>,
    message: Option<String>,
}

impl SnapshotRow {
    /// The row as [`snapshot`]'s full query selects it.
    fn from_inline(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(SnapshotRow {
            id: r.get(0)?,
            account: r.get(1)?,
            memo: r.get(2)?,
            memo_type: r.get(3)?,
            data_key: r.get(4)?,
            last_type: r.get(5)?,
            callback_url: r.get(6)?,
            updated_at: r.get(7)?,
            version: r.get(8)?,
            name: r.get(9)?,
            value: r.get(10)?,
            file_id: r.get(11)?,
            fingerprint: r.get(12)?,
            status: r.get(13)?,
            error: r.get(14)?,
            rejected: r.get(15)?,
            message: r.get(16)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct StatusRow {
    id: String,
    account: String,
    memo: String,
    memo_type: String,
    last_type: Option<String>,
    updated_at: i64,
    version: i64,
    rejected: Option<i64>,
    message: Option<String>,
    /// `[[name, status, error], …]`.
    fields: String,
}

impl StatusRow {
    /// The row as [`snapshot`]'s statuses query selects it.
    fn from_inline(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(StatusRow {
            id: r.get(0)?,
            account: r.get(1)?,
            memo: r.get(2)?,
            memo_type: r.get(3)?,
            last_type: r.get(4)?,
            updated_at: r.get(5)?,
            version: r.get(6)?,
            rejected: r.get(7)?,
            message: r.get(8)?,
            fields: r.get(9)?,
        })
    }
}

/// Reads a customer, its fields and its decision for `kind` in one query
/// (one statement instead of three: the hot path of GET and PUT; on
/// SQLite's readers it runs on the calling thread).
pub async fn snapshot(
    c: impl Into<Conn<'_>>,
    by: Lookup<'_>,
    kind: &str,
    detail: Detail,
) -> Result<Option<Snapshot>, DbError> {
    let c = c.into();
    let filter = match by {
        Lookup::Id(_) => "c.id = $2",
        Lookup::Key(_) => "c.account = $2 AND c.memo = $3 AND c.memo_type = $4",
    };
    // On SQLite's readers the query runs on this thread ([`crate::db::Inline`]).
    let (who, memo, memo_type) = match by {
        Lookup::Id(id) => (id.to_owned(), "", ""),
        Lookup::Key(key) => (key.account.to_string(), key.memo_value(), key.memo_kind()),
    };
    let here = match &c {
        Conn::Read(Db::Sqlite(s)) => Some(s),
        _ => None,
    };
    macro_rules! fetch {
        ($row:ty, $sql:expr) => {
            if let Some(s) = here {
                s.read_here(|conn| {
                    // Built here: `&dyn ToSql` is not `Send`.
                    let values: &[&dyn rusqlite::ToSql] = match by {
                        Lookup::Id(_) => &[&kind, &who],
                        Lookup::Key(_) => &[&kind, &who, &memo, &memo_type],
                    };
                    let mut stmt = prepare_numbered(conn, $sql, values)?;
                    let mut rows = stmt.raw_query();
                    let mut out = Vec::new();
                    while let Some(r) = rows.next()? {
                        out.push(<$row>::from_inline(r)?);
                    }
                    Ok(out)
                })?
            } else { with_conn!(c, e => {
                let q = sqlx::query_as::<_, $row>($sql).bind(kind);
                match by {
                    Lookup::Id(id) => q.bind(id),
                    Lookup::Key(key) => q
                        .bind(key.account.to_string())
                        .bind(key.memo_value())
                        .bind(key.memo_kind()),
                }
                .fetch_all(e)
                .await?
            }) }
        };
    }
    if detail == Detail::Statuses {
        // One row, the fields folded into JSON: a row per field would copy
        // the customer's columns once per field, and each value read costs
        // an allocation, more than the query itself.
        let folded = if c.is_sqlite() {
            "SELECT json_group_array(json_array(f.name, f.status, f.error) ORDER BY f.name) \
             FROM customer_fields f WHERE f.customer_id = c.id"
        } else {
            "SELECT COALESCE(json_agg(json_build_array(f.name, f.status, f.error) ORDER BY f.name), '[]')::text \
             FROM customer_fields f WHERE f.customer_id = c.id"
        };
        let sql = format!(
            "SELECT c.id, c.account, c.memo, c.memo_type, c.last_type, c.updated_at, c.version, \
             d.rejected, d.message, ({folded}) AS fields \
             FROM customers c \
             LEFT JOIN customer_decisions d ON d.customer_id = c.id AND d.type = $1 \
             WHERE {filter}"
        );
        let rows: Vec<StatusRow> = fetch!(StatusRow, &sql);
        let Some(r) = rows.into_iter().next() else {
            return Ok(None);
        };
        let fields: Vec<(String, String, Option<String>)> = serde_json::from_str(&r.fields)
            .map_err(|e| DbError::Sqlx(sqlx::Error::Decode(e.into())))?;
        return Ok(Some(Snapshot {
            customer: CustomerRow {
                id: r.id,
                account: r.account,
                memo: r.memo,
                memo_type: r.memo_type,
                data_key: Vec::new(),
                last_type: r.last_type,
                callback_url: None,
                updated_at: r.updated_at,
                version: r.version,
            },
            fields: fields
                .into_iter()
                .map(|(name, status, error)| FieldRow {
                    name,
                    value: None,
                    file_id: None,
                    fingerprint: Vec::new(),
                    status,
                    error,
                })
                .collect(),
            decision: r.rejected.map(|rejected| DecisionRow {
                rejected,
                message: r.message,
            }),
        }));
    }
    let sql = format!(
        "SELECT c.id, c.account, c.memo, c.memo_type, c.data_key, c.last_type, c.callback_url, \
         c.updated_at, c.version, f.name, f.value, f.file_id, f.fingerprint, f.status, f.error, \
         d.rejected, d.message \
         FROM customers c \
         LEFT JOIN customer_fields f ON f.customer_id = c.id \
         LEFT JOIN customer_decisions d ON d.customer_id = c.id AND d.type = $1 \
         WHERE {filter} ORDER BY f.name"
    );
    let rows: Vec<SnapshotRow> = fetch!(SnapshotRow, &sql);
    let mut rows = rows.into_iter().peekable();
    let Some(first) = rows.peek() else {
        return Ok(None);
    };
    let customer = CustomerRow {
        id: first.id.clone(),
        account: first.account.clone(),
        memo: first.memo.clone(),
        memo_type: first.memo_type.clone(),
        data_key: first.data_key.clone(),
        last_type: first.last_type.clone(),
        callback_url: first.callback_url.clone(),
        updated_at: first.updated_at,
        version: first.version,
    };
    let decision = first.rejected.map(|rejected| DecisionRow {
        rejected,
        message: first.message.clone(),
    });
    let fields = rows
        .filter_map(|r| {
            Some(FieldRow {
                name: r.name?,
                value: r.value,
                file_id: r.file_id,
                fingerprint: r.fingerprint.unwrap_or_default(),
                status: r.status.unwrap_or_default(),
                error: r.error,
            })
        })
        .collect();
    Ok(Some(Snapshot {
        customer,
        fields,
        decision,
    }))
}

pub async fn insert_customer(
    tx: &mut Tx,
    id: &str,
    key: &CustomerKey,
    data_key: &[u8],
    now: i64,
) -> Result<(), DbError> {
    with_tx!(tx, e => sqlx::query(
        "INSERT INTO customers (id, account, memo, memo_type, data_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(id)
    .bind(key.account.to_string())
    .bind(key.memo_value())
    .bind(key.memo_kind())
    .bind(data_key)
    .bind(now)
    .execute(e)
    .await?
    .rows_affected());
    Ok(())
}

pub async fn touch_customer(
    tx: &mut Tx,
    id: &str,
    last_type: &str,
    now: i64,
) -> Result<(), DbError> {
    with_tx!(tx, e => sqlx::query("UPDATE customers SET last_type = $2, updated_at = $3, version = version + 1 WHERE id = $1")
        .bind(id)
        .bind(last_type)
        .bind(now)
        .execute(e)
        .await?
        .rows_affected());
    Ok(())
}

/// Marks a customer as changed (its version moves on), so that a PUT
/// worked out from an earlier read does not apply over the change.
pub async fn bump_version(tx: &mut Tx, id: &str) -> Result<(), DbError> {
    with_tx!(tx, e => sqlx::query("UPDATE customers SET version = version + 1 WHERE id = $1")
        .bind(id)
        .execute(e)
        .await?
        .rows_affected());
    Ok(())
}

/// Applies a PUT worked out from a read at `version`: bumps the version and
/// sets the type, only if it is still `version` ([`DbError::Conflict`]
/// otherwise).
pub async fn touch_if_unchanged(
    tx: &mut Tx,
    id: &str,
    version: i64,
    last_type: &str,
    now: i64,
) -> Result<(), DbError> {
    let n = with_tx!(tx, e => sqlx::query(
        "UPDATE customers SET last_type = $3, updated_at = $4, version = version + 1 WHERE id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(last_type)
    .bind(now)
    .execute(e)
    .await?
    .rows_affected());
    DbError::one_row(n, DbError::Conflict)
}

/// Inserts a new customer unless one with the same key appeared meanwhile
/// ([`DbError::Conflict`]).
pub async fn insert_customer_if_absent(
    tx: &mut Tx,
    id: &str,
    key: &CustomerKey,
    data_key: &[u8],
    last_type: &str,
    now: i64,
) -> Result<(), DbError> {
    let n = with_tx!(tx, e => sqlx::query(
        "INSERT INTO customers (id, account, memo, memo_type, data_key, last_type, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (account, memo, memo_type) DO NOTHING",
    )
    .bind(id)
    .bind(key.account.to_string())
    .bind(key.memo_value())
    .bind(key.memo_kind())
    .bind(data_key)
    .bind(last_type)
    .bind(now)
    .execute(e)
    .await?
    .rows_affected());
    DbError::one_row(n, DbError::Conflict)
}

pub async fn set_callback(tx: &mut Tx, id: &str, url: Option<&str>) -> Result<(), DbError> {
    with_tx!(tx, e => sqlx::query("UPDATE customers SET callback_url = $2, version = version + 1 WHERE id = $1")
        .bind(id)
        .bind(url)
        .execute(e)
        .await?
        .rows_affected());
    Ok(())
}

/// The columns a field row is written with.
const FIELD_COLUMNS: &str =
    "(customer_id, name, value, file_id, fingerprint, status, error, updated_at)";

/// What writing a field row sets on a field already there.
const FIELD_UPSERT: &str = " ON CONFLICT (customer_id, name) DO UPDATE SET value = excluded.value, \
     file_id = excluded.file_id, fingerprint = excluded.fingerprint, status = excluded.status, \
     error = excluded.error, updated_at = excluded.updated_at";

/// The `VALUES` rows of `n` fields, in [`FIELD_COLUMNS`]' order: `$1` is
/// the customer, `$now` the time, and each field has six parameters, from
/// `$first` on (bound in [`FieldRow`]'s order: name, value, file, fingerprint,
/// status, error).
fn field_values(n: usize, first: usize, now: usize) -> String {
    (0..n)
        .map(|i| {
            let b = first + i * 6;
            format!(
                "($1, ${b}, ${}, ${}, ${}, ${}, ${}, ${now})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Inserts or replaces several fields in one statement.
pub async fn put_fields(
    tx: &mut Tx,
    customer_id: &str,
    fields: &[FieldRow],
    now: i64,
) -> Result<(), DbError> {
    if fields.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO customer_fields {FIELD_COLUMNS} VALUES {}{FIELD_UPSERT}",
        field_values(fields.len(), 3, 2)
    );
    with_tx!(tx, e => {
        let mut q = sqlx::query(&sql).bind(customer_id).bind(now);
        for f in fields {
            q = q.bind(&f.name).bind(&f.value).bind(&f.file_id).bind(&f.fingerprint).bind(&f.status).bind(&f.error);
        }
        q.execute(e).await?.rows_affected()
    });
    Ok(())
}

/// Sets a field's review status; returns whether the field exists.
pub async fn set_field_status(
    tx: &mut Tx,
    customer_id: &str,
    name: &str,
    status: &str,
    error: Option<&str>,
    now: i64,
) -> Result<(), DbError> {
    let n = with_tx!(tx, e => sqlx::query(
        "UPDATE customer_fields SET status = $3, error = $4, updated_at = $5 WHERE customer_id = $1 AND name = $2",
    )
    .bind(customer_id)
    .bind(name)
    .bind(status)
    .bind(error)
    .bind(now)
    .execute(e)
    .await?
    .rows_affected());
    DbError::one_row(n, DbError::NotFound)
}

pub async fn set_decision(
    tx: &mut Tx,
    customer_id: &str,
    kind: &str,
    rejected: bool,
    message: Option<&str>,
    now: i64,
) -> Result<(), DbError> {
    with_tx!(tx, e => sqlx::query(
        "INSERT INTO customer_decisions (customer_id, type, rejected, message, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (customer_id, type) DO UPDATE SET rejected = $3, message = $4, updated_at = $5",
    )
    .bind(customer_id)
    .bind(kind)
    .bind(i64::from(rejected))
    .bind(message)
    .bind(now)
    .execute(e)
    .await?
    .rows_affected());
    Ok(())
}

/// Deletes a customer: its row, fields, decisions, codes, pending callbacks
/// and files (by cascade) and — since the wrapped data key lives in the row —
/// the key, all in the caller's transaction. Documents are scheduled for
/// removal. Returns how many files went.
pub async fn delete_customer(tx: &mut Tx, id: &str, now: i64) -> Result<u64, DbError> {
    let blobs: Vec<(String,)> = with_tx!(tx, e => sqlx::query_as("SELECT blob FROM files WHERE customer_id = $1")
        .bind(id)
        .fetch_all(e)
        .await?);
    for (blob,) in &blobs {
        schedule_blob_deletion(tx, blob, now).await?;
    }
    with_tx!(tx, e => sqlx::query("DELETE FROM customers WHERE id = $1").bind(id).execute(e).await?.rows_affected());
    Ok(blobs.len() as u64)
}

mod at_once;
mod files;
pub use at_once::{AtOnce, Head, put_at_once};
pub use files::*;
