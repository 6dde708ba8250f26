//! SEP-12 §Customer DELETE and retention: a customer erased whole (rows,
//! documents, data key), documents removed from the store once nothing
//! refers to them, uploads never attached discarded when they expire.

use super::owner::{self, OwnerError};
use super::request::Params;
use super::service::{CustomerError, Customers, owner_of_uploads};
use super::store;
use crate::db::PURGE_BATCH;
use crate::http::Principal;

impl Customers {
    /// SEP-12 §Customer DELETE: erases the customer the token names under
    /// `account` — rows, documents and data key, in one transaction.
    pub async fn delete(
        &self,
        p: &Principal,
        account: &str,
        params: &Params,
    ) -> Result<(), CustomerError> {
        let not_found = || CustomerError::NotFound("customer not found".into());
        // Another account's customers are "not found", not "forbidden".
        let named = mooring_stellar::ClientAccount::parse(account).map_err(|_| not_found())?;
        if named.account() != p.account.account() {
            return Err(not_found());
        }
        let key = owner::resolve(
            p,
            Some(account),
            params.memo.as_deref(),
            params.memo_type.as_deref(),
        )
        .map_err(|e| match e {
            OwnerError::Forbidden(_) => not_found(),
            other => other.into(),
        })?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let row = store::customer_by_key(&mut tx, &key)
            .await?
            .ok_or_else(not_found)?;
        let files = store::delete_customer(&mut tx, &row.id, now).await?;
        let (acct, memo) = owner_of_uploads(p);
        if key.memo.is_none() || memo == key.memo_value() {
            store::delete_unattached_files(&mut tx, &acct, &memo, now).await?;
        }
        crate::audit::record(
            &mut tx,
            "customer",
            "customer.erase",
            Some(&row.id),
            Some(&format!("{files} files")),
            now,
        )
        .await?;
        tx.commit().await?;
        self.kyc_changed(&key);
        self.remove_deleted_blobs().await;
        self.db().flush_deleted().await;
        Ok(())
    }

    /// Removes documents scheduled for deletion from the store.
    pub async fn remove_deleted_blobs(&self) {
        loop {
            let batch = match store::blob_deletions(self.db().reader(), 100).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "could not list documents to delete");
                    return;
                }
            };
            if batch.is_empty() {
                return;
            }
            for blob in &batch {
                if let Err(e) = self.blobs().delete(blob).await {
                    tracing::warn!(error = %e, "could not delete a document; will retry");
                    return;
                }
                if let Err(e) = store::blob_deleted(self.db(), blob).await {
                    tracing::warn!(error = %e, "could not record a document deletion");
                    return;
                }
            }
        }
    }

    /// Deletes uploads no customer referenced before their expiry.
    pub async fn expire_files(&self) -> Result<u64, CustomerError> {
        let mut total = 0;
        loop {
            // A batch a transaction, so that writes go between them.
            let mut tx = self.db().begin().await?;
            let n = store::expire_files(&mut tx, self.now()).await?;
            tx.commit().await?;
            total += n;
            if n < PURGE_BATCH.unsigned_abs() {
                break;
            }
            tokio::task::yield_now().await;
        }
        if total > 0 {
            self.remove_deleted_blobs().await;
        }
        Ok(total)
    }
}
