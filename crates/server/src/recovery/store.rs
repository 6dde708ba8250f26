//! SQL for SEP-30. One text per statement for both engines (`$N`
//! placeholders); writes run in the caller's transaction.

use crate::db::{Conn, Db, DbError, Tx};
use crate::{with_conn, with_pool, with_tx};

/// A registered account. `data_key` is wrapped.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub data_key: Vec<u8>,
}

/// A signing key of an account, its seed sealed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignerRow {
    pub public_key: String,
    pub seed: Vec<u8>,
}

/// An identity to store: its role and the lookup hashes of its methods.
#[derive(Debug, Clone)]
pub struct NewIdentity {
    pub role: String,
    pub lookups: Vec<[u8; 32]>,
}

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn account(c: impl Into<Conn<'_>>, address: &str) -> Result<Option<AccountRow>, DbError> {
    Ok(
        with_conn!(c.into(), e => sqlx::query_as("SELECT data_key FROM recovery_accounts WHERE address = $1")
        .bind(address)
        .fetch_optional(e)
        .await?),
    )
}

/// Positions of the identities of `address` that one of `lookups` proves.
pub async fn matching_identities(
    c: impl Into<Conn<'_>>,
    address: &str,
    lookups: &[[u8; 32]],
) -> Result<Vec<i64>, DbError> {
    if lookups.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT DISTINCT identity FROM recovery_auth_methods WHERE address = $1 AND lookup IN ({}) ORDER BY identity",
        placeholders(2, lookups.len())
    );
    let rows: Vec<(i64,)> = with_conn!(c.into(), e => {
        let mut q = sqlx::query_as(&sql).bind(address);
        for l in lookups {
            q = q.bind(&l[..]);
        }
        q.fetch_all(e).await?
    });
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Roles in request order.
pub async fn roles(c: impl Into<Conn<'_>>, address: &str) -> Result<Vec<(i64, String)>, DbError> {
    Ok(with_conn!(c.into(), e => sqlx::query_as(
        "SELECT position, role FROM recovery_identities WHERE address = $1 ORDER BY position",
    )
    .bind(address)
    .fetch_all(e)
    .await?))
}

/// Signers, newest first (§Common Response Fields).
pub async fn signers(c: impl Into<Conn<'_>>, address: &str) -> Result<Vec<SignerRow>, DbError> {
    Ok(with_conn!(c.into(), e => sqlx::query_as(
        "SELECT public_key, seed FROM recovery_signers WHERE address = $1 ORDER BY added DESC",
    )
    .bind(address)
    .fetch_all(e)
    .await?))
}

/// A registered account as staff see it: no identity values (they are
/// stored only hashed anyway), only counts.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffRow {
    /// The account.
    pub address: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// How many ways of proving an identity it has.
    pub auth_methods: i64,
    /// How many signing keys the server holds for it.
    pub signers: i64,
}

/// Accounts by address after `after`, `limit` at most, for staff.
pub async fn staff_list(
    c: impl Into<Conn<'_>>,
    after: &str,
    limit: i64,
) -> Result<Vec<StaffRow>, DbError> {
    Ok(with_conn!(c.into(), e => sqlx::query_as(
        "SELECT a.address, a.created_at, a.updated_at, \
         (SELECT COUNT(*) FROM recovery_auth_methods m WHERE m.address = a.address) AS auth_methods, \
         (SELECT COUNT(*) FROM recovery_signers s WHERE s.address = a.address) AS signers \
         FROM recovery_accounts a WHERE a.address > $1 ORDER BY a.address LIMIT $2",
    )
    .bind(after)
    .bind(limit.clamp(1, 500))
    .fetch_all(e)
    .await?))
}

/// Accounts after `after` (by address) that `own` is, or that one of
/// `lookups` proves an identity of.
pub async fn accessible(
    c: impl Into<Conn<'_>>,
    own: Option<&str>,
    lookups: &[[u8; 32]],
    after: &str,
    limit: i64,
) -> Result<Vec<String>, DbError> {
    let by_lookup = if lookups.is_empty() {
        String::new()
    } else {
        format!(
            " OR address IN (SELECT address FROM recovery_auth_methods WHERE lookup IN ({}))",
            placeholders(4, lookups.len())
        )
    };
    let sql = format!(
        "SELECT address FROM recovery_accounts WHERE address > $1 AND (address = $2{by_lookup}) ORDER BY address LIMIT $3"
    );
    let rows: Vec<(String,)> = with_conn!(c.into(), e => {
        let mut q = sqlx::query_as(&sql).bind(after).bind(own.unwrap_or("")).bind(limit);
        for l in lookups {
            q = q.bind(&l[..]);
        }
        q.fetch_all(e).await?
    });
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Registers an account ([`DbError::Conflict`] if it already was).
pub async fn insert_account(
    tx: &mut Tx,
    address: &str,
    data_key: &[u8],
    now: i64,
) -> Result<(), DbError> {
    let n = with_tx!(tx, e => sqlx::query(
        "INSERT INTO recovery_accounts (address, data_key, created_at, updated_at) VALUES ($1, $2, $3, $3) ON CONFLICT (address) DO NOTHING",
    )
    .bind(address)
    .bind(data_key)
    .bind(now)
    .execute(e)
    .await?
    .rows_affected());
    DbError::one_row(n, DbError::Conflict)
}

/// Replaces the identities of `address` (§PUT: replaced, never merged).
pub async fn replace_identities(
    tx: &mut Tx,
    address: &str,
    identities: &[NewIdentity],
    now: i64,
) -> Result<(), DbError> {
    with_tx!(tx, e => sqlx::query("DELETE FROM recovery_auth_methods WHERE address = $1").bind(address).execute(&mut *e).await?.rows_affected());
    with_tx!(tx, e => sqlx::query("DELETE FROM recovery_identities WHERE address = $1").bind(address).execute(&mut *e).await?.rows_affected());
    for (i, identity) in (0_i64..).zip(identities) {
        with_tx!(tx, e => sqlx::query("INSERT INTO recovery_identities (address, position, role) VALUES ($1, $2, $3)")
            .bind(address)
            .bind(i)
            .bind(&identity.role)
            .execute(e)
            .await?.rows_affected());
        for (j, lookup) in (0_i64..).zip(&identity.lookups) {
            with_tx!(tx, e => sqlx::query("INSERT INTO recovery_auth_methods (address, identity, position, lookup) VALUES ($1, $2, $3, $4)")
                .bind(address)
                .bind(i)
                .bind(j)
                .bind(&lookup[..])
                .execute(e)
                .await?.rows_affected());
        }
    }
    with_tx!(tx, e => sqlx::query("UPDATE recovery_accounts SET updated_at = $2 WHERE address = $1")
        .bind(address)
        .bind(now)
        .execute(e)
        .await?.rows_affected());
    Ok(())
}

/// Adds a signer, listed first from now on.
pub async fn insert_signer(
    tx: &mut Tx,
    address: &str,
    public_key: &str,
    seed: &[u8],
    now: i64,
) -> Result<(), DbError> {
    with_tx!(tx, e => sqlx::query(
        "INSERT INTO recovery_signers (public_key, address, seed, added, created_at) \
         VALUES ($1, $2, $3, (SELECT COALESCE(MAX(added), 0) + 1 FROM recovery_signers WHERE address = $2), $4)",
    )
    .bind(public_key)
    .bind(address)
    .bind(seed)
    .bind(now)
    .execute(e)
    .await?.rows_affected());
    Ok(())
}

/// Removes one signer of `address`; the number removed.
pub async fn delete_signer(tx: &mut Tx, address: &str, public_key: &str) -> Result<u64, DbError> {
    Ok(
        with_tx!(tx, e => sqlx::query("DELETE FROM recovery_signers WHERE address = $1 AND public_key = $2")
        .bind(address)
        .bind(public_key)
        .execute(e)
        .await?
        .rows_affected()),
    )
}

/// Erases an account: its rows and, with them, its data key — the sealed
/// signing keys in any old copy of the database can no longer be opened.
pub async fn delete_account(tx: &mut Tx, address: &str) -> Result<u64, DbError> {
    for sql in [
        "DELETE FROM recovery_signers WHERE address = $1",
        "DELETE FROM recovery_auth_methods WHERE address = $1",
        "DELETE FROM recovery_identities WHERE address = $1",
    ] {
        with_tx!(tx, e => sqlx::query(sql).bind(address).execute(e).await?.rows_affected());
    }
    Ok(
        with_tx!(tx, e => sqlx::query("DELETE FROM recovery_accounts WHERE address = $1")
        .bind(address)
        .execute(e)
        .await?
        .rows_affected()),
    )
}

/// Holds the account's row until the transaction ends, so that writes to
/// one account follow each other (PostgreSQL, READ COMMITTED). SQLite
/// transactions here begin IMMEDIATE and hold the whole database already.
pub async fn lock_account(tx: &mut Tx, address: &str) -> Result<(), DbError> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT address FROM recovery_accounts WHERE address = $1 FOR UPDATE")
            .bind(address)
            .fetch_optional(&mut **t)
            .await?;
    }
    Ok(())
}

/// The next sequence number for `sponsor`: one after the last handed out,
/// or `ledger_next` when the account has moved past it.
pub async fn next_sponsor_sequence(
    db: &Db,
    sponsor: &str,
    ledger_next: i64,
) -> Result<i64, DbError> {
    let (last,): (i64,) = with_pool!(db, p => sqlx::query_as(
        "INSERT INTO sponsor_sequences (sponsor, last) VALUES ($1, $2) \
         ON CONFLICT (sponsor) DO UPDATE SET last = CASE \
           WHEN sponsor_sequences.last >= excluded.last THEN sponsor_sequences.last + 1 \
           ELSE excluded.last END \
         RETURNING last",
    )
    .bind(sponsor)
    .bind(ledger_next)
    .fetch_one(p)
    .await?);
    Ok(last)
}
