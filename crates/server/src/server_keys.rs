//! Server keys: data keys that belong to the server rather than to a
//! customer or an account (hashing lookups, sealing sign-in state, keying
//! rate-limit counters), kept in `server_keys` wrapped by the master key,
//! so that every replica uses the same ones and `mooring rotate-keys`
//! rewraps them with the rest.

use crate::db::{Db, DbError};
use crate::vault::{DataKey, Vault, VaultError};
use crate::with_pool;

/// Why a server key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ServerKeyError {
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The stored key could not be opened with the master key.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// Loads the server key `id`, creating it on the first start (if several
/// replicas start at once, the first one stored wins).
pub async fn load(db: &Db, vault: &Vault, id: &str) -> Result<DataKey, ServerKeyError> {
    let owner = format!("server-key:{id}");
    let wrapped = match stored(db, id).await? {
        Some(w) => w,
        None => {
            let fresh = vault.new_data_key();
            insert(db, id, &vault.wrap(&fresh, &owner)).await?;
            stored(db, id).await?.ok_or(DbError::NotFound)?
        }
    };
    Ok(vault.unwrap(&wrapped, &owner)?)
}

async fn stored(db: &Db, id: &str) -> Result<Option<Vec<u8>>, DbError> {
    let row: Option<(Vec<u8>,)> = with_pool!(db, p => sqlx::query_as("SELECT data_key FROM server_keys WHERE id = $1")
        .bind(id)
        .fetch_optional(p)
        .await?);
    Ok(row.map(|r| r.0))
}

/// Stores a server key unless another replica stored one first.
async fn insert(db: &Db, id: &str, wrapped: &[u8]) -> Result<(), DbError> {
    with_pool!(db, p => sqlx::query("INSERT INTO server_keys (id, data_key) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
        .bind(id)
        .bind(wrapped)
        .execute(p)
        .await?
        .rows_affected());
    Ok(())
}
