//! SQL for the `/authorize` sign-in and the shared rate limits.

use crate::db::{Db, DbError, Purge};
use crate::with_pool;

/// A waiting sign-in request.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestRow {
    pub id: String,
    pub method: Option<Vec<u8>>,
    pub oidc_provider: Option<String>,
    pub oidc_nonce: Option<String>,
    pub oidc_verifier: Option<Vec<u8>>,
}

const COLUMNS: &str = "id, method, oidc_provider, oidc_nonce, oidc_verifier";

pub async fn insert(
    db: &Db,
    id: &str,
    token: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), DbError> {
    with_pool!(db, p => sqlx::query(
        "INSERT INTO authorize_requests (id, token, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(token)
    .bind(now)
    .bind(expires_at)
    .execute(p)
    .await?
    .rows_affected());
    Ok(())
}

/// The live request a browser token belongs to.
pub async fn by_token(db: &Db, token: &str, now: i64) -> Result<Option<RequestRow>, DbError> {
    let sql =
        format!("SELECT {COLUMNS} FROM authorize_requests WHERE token = $1 AND expires_at > $2");
    Ok(with_pool!(db, p => sqlx::query_as(&sql).bind(token).bind(now).fetch_optional(p).await?))
}

/// Whether a live request has this polling id.
pub async fn exists(db: &Db, id: &str, now: i64) -> Result<bool, DbError> {
    let row: Option<(String,)> = with_pool!(db, p => sqlx::query_as(
        "SELECT id FROM authorize_requests WHERE id = $1 AND expires_at > $2",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(p)
    .await?);
    Ok(row.is_some())
}

/// Takes the signed-in method of a request, deleting it: a request yields
/// one access token, once.
pub async fn take(db: &Db, id: &str, now: i64) -> Result<Option<Vec<u8>>, DbError> {
    let row: Option<(Vec<u8>,)> = with_pool!(db, p => sqlx::query_as(
        "DELETE FROM authorize_requests WHERE id = $1 AND method IS NOT NULL AND expires_at > $2 RETURNING method",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(p)
    .await?);
    Ok(row.map(|r| r.0))
}

/// Records a code sent for `pending`, replacing any earlier one.
pub async fn set_code(
    db: &Db,
    id: &str,
    pending: &[u8],
    code: &[u8],
    code_expires_at: i64,
) -> Result<(), DbError> {
    with_pool!(db, p => sqlx::query(
        "UPDATE authorize_requests SET pending = $2, code = $3, code_expires_at = $4, attempts = 0 WHERE id = $1",
    )
    .bind(id)
    .bind(pending)
    .bind(code)
    .bind(code_expires_at)
    .execute(p)
    .await?
    .rows_affected());
    Ok(())
}

/// Reserves one attempt at the request's waiting code — an emailed or
/// texted one (`second_factor` false), or an authenticator app's (true) —
/// before the code is compared, so that guesses sent at once cannot all
/// pass the limit. The sealed pending method and the code's hash, or
/// `None` when there is no live code or no attempt left.
#[allow(clippy::type_complexity)]
pub async fn reserve_attempt(
    db: &Db,
    id: &str,
    max_attempts: i64,
    now: i64,
    second_factor: bool,
) -> Result<Option<(Vec<u8>, Option<Vec<u8>>)>, DbError> {
    Ok(with_pool!(db, p => sqlx::query_as(
        "UPDATE authorize_requests SET attempts = attempts + 1 \
         WHERE id = $1 AND attempts < $2 AND code_expires_at > $3 AND pending IS NOT NULL \
           AND (code IS NULL) = $4 \
         RETURNING pending, code",
    )
    .bind(id)
    .bind(max_attempts)
    .bind(now)
    .bind(second_factor)
    .fetch_optional(p)
    .await?))
}

/// Voids the code of a request.
pub async fn void_code(db: &Db, id: &str) -> Result<(), DbError> {
    with_pool!(db, p => sqlx::query(
        "UPDATE authorize_requests SET pending = NULL, code = NULL, code_expires_at = NULL WHERE id = $1",
    )
    .bind(id)
    .execute(p)
    .await?
    .rows_affected());
    Ok(())
}

/// Marks a request signed in as `method` (sealed), if the code (when one
/// is given) is still the one checked ([`DbError::Conflict`] otherwise);
/// everything used up is cleared.
pub async fn sign_in(db: &Db, id: &str, method: &[u8], code: Option<&[u8]>) -> Result<(), DbError> {
    let n = with_pool!(db, p => sqlx::query(
        "UPDATE authorize_requests SET method = $2, pending = NULL, code = NULL, code_expires_at = NULL, \
         oidc_state = NULL, oidc_provider = NULL, oidc_nonce = NULL, oidc_verifier = NULL \
         WHERE id = $1 AND ($3 IS NULL OR code = $3)",
    )
    .bind(id)
    .bind(method)
    .bind(code)
    .execute(p)
    .await?
    .rows_affected());
    DbError::one_row(n, DbError::Conflict)
}

/// Records an OpenID Connect sign-in under way.
pub async fn set_oidc(
    db: &Db,
    id: &str,
    state: &str,
    provider: &str,
    nonce: &str,
    verifier: &[u8],
) -> Result<(), DbError> {
    with_pool!(db, p => sqlx::query(
        "UPDATE authorize_requests SET oidc_state = $2, oidc_provider = $3, oidc_nonce = $4, oidc_verifier = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(state)
    .bind(provider)
    .bind(nonce)
    .bind(verifier)
    .execute(p)
    .await?
    .rows_affected());
    Ok(())
}

/// Takes the live request an OIDC `state` belongs to; the state is used up.
pub async fn take_state(db: &Db, state: &str, now: i64) -> Result<Option<RequestRow>, DbError> {
    let sql = format!(
        "UPDATE authorize_requests SET oidc_state = NULL WHERE oidc_state = $1 AND expires_at > $2 RETURNING {COLUMNS}"
    );
    Ok(with_pool!(db, p => sqlx::query_as(&sql).bind(state).bind(now).fetch_optional(p).await?))
}

/// Deletes expired requests and sign-in links, in small batches.
pub async fn purge(db: &Db, now: i64) -> Result<u64, DbError> {
    let n = Purge {
        table: "authorize_requests",
        key: "id",
        filter: "expires_at <= $1",
    }
    .run(db, now)
    .await?;
    Purge {
        table: "email_links",
        key: "id",
        filter: "expires_at <= $1",
    }
    .run(db, now)
    .await?;
    Ok(n)
}

/// A password login: its Argon2id hash and whether its address is confirmed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoginRow {
    pub password: String,
    pub confirmed_at: Option<i64>,
    pub totp: Option<Vec<u8>>,
    pub totp_pending: Option<Vec<u8>>,
}

pub async fn login(db: &Db, lookup: &[u8]) -> Result<Option<LoginRow>, DbError> {
    Ok(with_pool!(db, p => sqlx::query_as(
        "SELECT password, confirmed_at, totp, totp_pending FROM password_logins WHERE lookup = $1",
    )
    .bind(lookup)
    .fetch_optional(p)
    .await?))
}

/// Creates a login, or replaces the password of one not yet confirmed
/// (someone who cannot read the mail must not hold an address hostage).
/// A confirmed login is left alone ([`DbError::Conflict`]).
pub async fn sign_up(db: &Db, lookup: &[u8], password: &str, now: i64) -> Result<(), DbError> {
    let row: Option<(Option<i64>,)> = with_pool!(db, p => sqlx::query_as(
        "INSERT INTO password_logins (lookup, password, created_at, updated_at) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (lookup) DO UPDATE SET password = excluded.password, updated_at = excluded.updated_at \
         WHERE password_logins.confirmed_at IS NULL \
         RETURNING confirmed_at",
    )
    .bind(lookup)
    .bind(password)
    .bind(now)
    .fetch_optional(p)
    .await?);
    // No row back: the conflict was with a confirmed login.
    row.map(|_| ()).ok_or(DbError::Conflict)
}

/// Sets the password (and, when the address was just proven, confirms it).
pub async fn set_password(db: &Db, lookup: &[u8], password: &str, now: i64) -> Result<(), DbError> {
    with_pool!(db, p => sqlx::query(
        "UPDATE password_logins SET password = $2, confirmed_at = COALESCE(confirmed_at, $3), updated_at = $3 WHERE lookup = $1",
    )
    .bind(lookup)
    .bind(password)
    .bind(now)
    .execute(p)
    .await?
    .rows_affected());
    Ok(())
}

/// Confirms a login if its password is still the one the link was mailed
/// for: whoever replaced an unconfirmed password cannot ride on the
/// owner's click ([`DbError::Conflict`] when it changed since).
pub async fn confirm(db: &Db, lookup: &[u8], password: &str, now: i64) -> Result<(), DbError> {
    let n = with_pool!(db, p => sqlx::query(
        "UPDATE password_logins SET confirmed_at = COALESCE(confirmed_at, $3), updated_at = $3 WHERE lookup = $1 AND password = $2",
    )
    .bind(lookup)
    .bind(password)
    .bind(now)
    .execute(p)
    .await?
    .rows_affected());
    DbError::one_row(n, DbError::Conflict)
}

pub async fn insert_link(
    db: &Db,
    id: &str,
    kind: &str,
    lookup: &[u8],
    password: Option<&str>,
    expires_at: i64,
) -> Result<(), DbError> {
    with_pool!(db, p => sqlx::query(
        "INSERT INTO email_links (id, kind, lookup, password, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(kind)
    .bind(lookup)
    .bind(password)
    .bind(expires_at)
    .execute(p)
    .await?
    .rows_affected());
    Ok(())
}

/// Uses up a link: the login it is for, and the password hash it
/// confirms (confirmation links).
pub async fn take_link(
    db: &Db,
    id: &str,
    kind: &str,
    now: i64,
) -> Result<Option<(Vec<u8>, Option<String>)>, DbError> {
    Ok(with_pool!(db, p => sqlx::query_as(
        "DELETE FROM email_links WHERE id = $1 AND kind = $2 AND expires_at > $3 RETURNING lookup, password",
    )
    .bind(id)
    .bind(kind)
    .bind(now)
    .fetch_optional(p)
    .await?))
}

/// Voids every link of a login (after its password changed).
pub async fn delete_links(db: &Db, lookup: &[u8]) -> Result<(), DbError> {
    with_pool!(db, p => sqlx::query("DELETE FROM email_links WHERE lookup = $1")
        .bind(lookup)
        .execute(p)
        .await?
        .rows_affected());
    Ok(())
}

/// Records a TOTP secret being set up.
pub async fn set_totp_pending(db: &Db, lookup: &[u8], sealed: &[u8]) -> Result<(), DbError> {
    with_pool!(db, p => sqlx::query("UPDATE password_logins SET totp_pending = $2 WHERE lookup = $1")
        .bind(lookup)
        .bind(sealed)
        .execute(p)
        .await?
        .rows_affected());
    Ok(())
}

/// Makes the secret being set up the login's, `step` used.
pub async fn enable_totp(db: &Db, lookup: &[u8], sealed: &[u8], step: i64) -> Result<(), DbError> {
    with_pool!(db, p => sqlx::query(
        "UPDATE password_logins SET totp = $2, totp_pending = NULL, totp_step = $3 WHERE lookup = $1",
    )
    .bind(lookup)
    .bind(sealed)
    .bind(step)
    .execute(p)
    .await?
    .rows_affected());
    Ok(())
}

/// Uses a TOTP time step ([`DbError::Conflict`] if it, or a later one, was
/// used already).
pub async fn use_totp_step(db: &Db, lookup: &[u8], step: i64) -> Result<(), DbError> {
    let n = with_pool!(db, p => sqlx::query(
        "UPDATE password_logins SET totp_step = $2 WHERE lookup = $1 AND (totp_step IS NULL OR totp_step < $2)",
    )
    .bind(lookup)
    .bind(step)
    .execute(p)
    .await?
    .rows_affected());
    DbError::one_row(n, DbError::Conflict)
}

/// Waits for the second factor: `pending` (sealed) is who proved the
/// password; no code is sent.
pub async fn await_totp(db: &Db, id: &str, pending: &[u8], expires_at: i64) -> Result<(), DbError> {
    with_pool!(db, p => sqlx::query(
        "UPDATE authorize_requests SET pending = $2, code = NULL, code_expires_at = $3, attempts = 0 WHERE id = $1",
    )
    .bind(id)
    .bind(pending)
    .bind(expires_at)
    .execute(p)
    .await?
    .rows_affected());
    Ok(())
}

/// The login a live link of `kind` is for (and, for confirmation links,
/// the password hash it confirms), leaving the link in place.
pub async fn peek_link(
    db: &Db,
    id: &str,
    kind: &str,
    now: i64,
) -> Result<Option<(Vec<u8>, Option<String>)>, DbError> {
    Ok(with_pool!(db, p => sqlx::query_as(
        "SELECT lookup, password FROM email_links WHERE id = $1 AND kind = $2 AND expires_at > $3",
    )
    .bind(id)
    .bind(kind)
    .bind(now)
    .fetch_optional(p)
    .await?))
}
