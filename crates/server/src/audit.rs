//! The append-only audit log every capability writes to: who did what,
//! when, to which customer or account. It never holds personal data.

use serde::Serialize;

use crate::db::{Conn, DbError};
use crate::with_conn;

/// One audit log entry.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = admin::AuditEntry)]
pub struct AuditEntry {
    /// Sequence number.
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Which customer (or account, or transaction), if any.
    #[schema(required = true)]
    pub customer_id: Option<String>,
    /// Details (never personal data), if any.
    #[schema(required = true)]
    pub detail: Option<String>,
}

/// Appends an entry, in the caller's transaction when it has one.
pub async fn record(
    c: impl Into<Conn<'_>>,
    actor: &str,
    action: &str,
    subject: Option<&str>,
    detail: Option<&str>,
    now: i64,
) -> Result<(), DbError> {
    with_conn!(c.into(), e => sqlx::query(
        "INSERT INTO audit_log (at, actor, action, customer_id, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(now)
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(detail)
    .execute(e)
    .await?
    .rows_affected());
    Ok(())
}

/// The newest `limit` entries (1 to 1000), for one subject or all.
pub async fn list(
    c: impl Into<Conn<'_>>,
    subject: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditEntry>, DbError> {
    Ok(with_conn!(c.into(), e => sqlx::query_as(
        "SELECT id, at, actor, action, customer_id, detail FROM audit_log WHERE ($1 = '' OR customer_id = $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(subject.unwrap_or(""))
    .bind(limit.clamp(1, 1000))
    .fetch_all(e)
    .await?))
}

/// Entries for staff, newest first, before entry `before` (0: from the
/// newest), `limit` at most (1 to 500): by `actor`, `subject` and `action`
/// (a prefix: `customer.` is every customer decision), each when given.
pub async fn search(
    c: impl Into<Conn<'_>>,
    actor: &str,
    subject: &str,
    action: &str,
    before: i64,
    limit: i64,
) -> Result<Vec<AuditEntry>, DbError> {
    let mut prefix = String::with_capacity(action.len() + 1);
    for c in action.chars() {
        if matches!(c, '%' | '_' | '!') {
            prefix.push('!');
        }
        prefix.push(c);
    }
    prefix.push('%');
    Ok(with_conn!(c.into(), e => sqlx::query_as(
        "SELECT id, at, actor, action, customer_id, detail FROM audit_log \
         WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR customer_id = $2) AND action LIKE $3 ESCAPE '!' \
         AND ($4 = 0 OR id < $4) ORDER BY id DESC LIMIT $5",
    )
    .bind(actor)
    .bind(subject)
    .bind(prefix)
    .bind(before)
    .bind(limit.clamp(1, 500))
    .fetch_all(e)
    .await?))
}
