//! `mooring keys rotate`: rewraps every data key under the current master
//! key, while servers keep running.
//!
//! Rotation without downtime: (1) make the new key `master_key` and list the
//! old one in `previous_master_keys` (`mooring keys new-master-key` does it
//! for the keys file) and restart the replicas one by one — each can then
//! read data keys wrapped by either; (2) run `mooring keys rotate`; (3) drop
//! the old key from `previous_master_keys`.

use crate::config::Config;
use crate::db::{Db, DbError, redact_url};
use crate::secrets::{self, SecretsError};
use crate::vault::VaultError;
use crate::with_pool;

/// What a rotation did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rotated {
    /// Customer data keys rewrapped.
    pub customers: u64,
    /// Document data keys rewrapped.
    pub files: u64,
    /// SEP-30 account keys rewrapped.
    pub recovery: u64,
    /// Server keys rewrapped (crate::server_keys).
    pub server: u64,
    /// Keys already under the current master key.
    pub unchanged: u64,
}

/// Why a rotation failed.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// Secrets could not be loaded.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// The database failed.
    #[error("{0} (database: {1})")]
    Db(DbError, String),
    /// A data key could not be unwrapped by any known master key.
    #[error(
        "the data key of {0} cannot be unwrapped: {1}; is the old master key in previous_master_keys?"
    )]
    Vault(String, VaultError),
}

/// Rewraps every data key not wrapped by the current master key. Each key
/// is replaced only if it is still the one read, so a concurrent writer is
/// never overwritten; running it again is harmless.
pub async fn rotate(config: &Config) -> Result<Rotated, RotateError> {
    let s = &config.secrets;
    if s.master_key.is_none()
        && s.master_key_file.is_none()
        && !secrets::keys_file_path(config).exists()
    {
        return Err(RotateError::Secrets(SecretsError::Invalid(
            "master_key",
            "no master key is configured and there is no keys file: nothing to rotate",
        )));
    }
    let (secrets, _) = secrets::load(config)?;
    let vault = secrets.vault();
    let shown = redact_url(&config.database_url());
    let db = Db::connect(&config.database_url(), 2)
        .await
        .map_err(|e| RotateError::Db(e, shown.clone()))?;
    let mut done = Rotated::default();
    for (table, id_column, owner) in [
        ("customers", "id", "customer"),
        ("files", "id", "file"),
        ("recovery_accounts", "address", "recovery-account"),
        ("server_keys", "id", "server-key"),
    ] {
        let select = format!("SELECT {id_column}, data_key FROM {table} ORDER BY {id_column}");
        let rows: Vec<(String, Vec<u8>)> = async {
            Ok::<_, DbError>(
                with_pool!(&db, pool => sqlx::query_as(&select).fetch_all(pool).await?),
            )
        }
        .await
        .map_err(|e| RotateError::Db(e, shown.clone()))?;
        for (id, wrapped) in rows {
            if !vault.needs_rewrap(&wrapped) {
                done.unchanged += 1;
                continue;
            }
            let name = format!("{owner}:{id}");
            let dek = vault
                .unwrap(&wrapped, &name)
                .map_err(|e| RotateError::Vault(name.clone(), e))?;
            let rewrapped = vault.wrap(&dek, &name);
            let update = format!(
                "UPDATE {table} SET data_key = $1 WHERE {id_column} = $2 AND data_key = $3"
            );
            let n = async {
                Ok::<_, DbError>(with_pool!(&db, pool => sqlx::query(&update)
                    .bind(&rewrapped)
                    .bind(&id)
                    .bind(&wrapped)
                    .execute(pool)
                    .await?
                    .rows_affected()))
            }
            .await
            .map_err(|e| RotateError::Db(e, shown.clone()))?;
            match table {
                "customers" => done.customers += n,
                "files" => done.files += n,
                "recovery_accounts" => done.recovery += n,
                _ => done.server += n,
            }
        }
    }
    db.close().await;
    Ok(done)
}
