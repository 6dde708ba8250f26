//! Group commit for `PUT /customer`.
//!
//! A PUT of text fields is worked out from a read (on the reader
//! connections) and handed here as data: a [`PutJob`]. On SQLite, one task
//! applies the jobs that are waiting in a single transaction on the single
//! writer, so that a burst of PUTs costs one commit instead of one each:
//! the pages the PUTs share go to the write-ahead log once. Jobs of text
//! fields alone (the common PUT) are written on the task's own thread
//! ([`store::put_at_once`]), without a round trip to sqlx's connection
//! thread; a batch with verification codes or a callback goes through
//! sqlx. Each job applies only if the customer's version is still the one
//! it was read at; otherwise it is reported as a conflict and the caller
//! works it out again. On PostgreSQL, which runs writers side by side,
//! each job is its own transaction.

use tokio::sync::{mpsc, oneshot};

use super::callbacks::Callback;
use super::owner::CustomerKey;
use super::store::{self, AtOnce, FieldRow, Head};
use crate::db::{Db, DbError, Tx};

/// Jobs applied in one transaction at most.
const MAX_BATCH: usize = 64;

/// A new customer to insert.
#[derive(Debug)]
pub struct NewCustomer {
    /// Its key.
    pub key: CustomerKey,
    /// Its wrapped data key.
    pub data_key: Vec<u8>,
}

/// Everything a PUT of text fields writes.
#[derive(Debug)]
pub struct PutJob {
    /// The customer.
    pub customer_id: String,
    /// Set when the customer is new.
    pub new: Option<NewCustomer>,
    /// The version the job was worked out from.
    pub version: i64,
    /// The request's type.
    pub last_type: String,
    /// Fields to write.
    pub fields: Vec<FieldRow>,
    /// Verification codes to store: field, keyed hash, expiry.
    pub codes: Vec<(String, Vec<u8>, i64)>,
    /// A callback, if the status changed.
    pub callback: Option<Callback>,
    /// Unix seconds.
    pub now: i64,
}

impl PutJob {
    /// The job as a write of text fields alone ([`store::put_at_once`]),
    /// if it is one (no verification codes, no callback).
    fn at_once(&self) -> Option<AtOnce<'_>> {
        if !self.codes.is_empty() || self.callback.is_some() {
            return None;
        }
        Some(AtOnce {
            id: &self.customer_id,
            head: match &self.new {
                Some(n) => Head::New {
                    key: &n.key,
                    data_key: &n.data_key,
                },
                None => Head::Existing {
                    version: self.version,
                },
            },
            last_type: &self.last_type,
            fields: &self.fields,
            now: self.now,
        })
    }
}

/// What became of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Written.
    Yes,
    /// The customer changed since the read: nothing written.
    Conflict,
}

impl From<bool> for Applied {
    fn from(written: bool) -> Self {
        if written {
            Applied::Yes
        } else {
            Applied::Conflict
        }
    }
}

type Reply = oneshot::Sender<Result<Applied, DbError>>;

/// Applies [`PutJob`]s.
#[derive(Debug, Clone)]
pub struct Writer {
    db: Db,
    queue: Option<mpsc::Sender<(PutJob, Reply)>>,
}

impl Writer {
    /// A writer on `db` (SQLite: starts the group-commit task).
    pub fn new(db: Db) -> Self {
        let queue = matches!(db, Db::Sqlite(_)).then(|| {
            let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
            tokio::spawn(run(db.clone(), rx));
            tx
        });
        Writer { db, queue }
    }

    /// Applies a job.
    pub async fn submit(&self, job: PutJob) -> Result<Applied, DbError> {
        let Some(queue) = &self.queue else {
            return apply_alone(&self.db, &job).await;
        };
        let (reply, answer) = oneshot::channel();
        if queue.send((job, reply)).await.is_err() {
            return Err(DbError::Sqlx(sqlx::Error::PoolClosed));
        }
        answer
            .await
            .unwrap_or(Err(DbError::Sqlx(sqlx::Error::PoolClosed)))
    }
}

async fn run(db: Db, mut rx: mpsc::Receiver<(PutJob, Reply)>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        match apply_batch(&db, &batch).await {
            Ok(results) => {
                for ((_, reply), r) in batch.into_iter().zip(results) {
                    let _ = reply.send(Ok(r));
                }
            }
            // One job's failure must not fail the others: apply each alone.
            Err(_) => {
                for (job, reply) in batch {
                    let _ = reply.send(apply_alone(&db, &job).await);
                }
            }
        }
    }
}

async fn apply_batch(db: &Db, batch: &[(PutJob, Reply)]) -> Result<Vec<Applied>, DbError> {
    if let Db::Sqlite(s) = db
        && let Some(puts) = batch
            .iter()
            .map(|(job, _)| job.at_once())
            .collect::<Option<Vec<_>>>()
    {
        let written = store::put_at_once(s, &puts).await?;
        return Ok(written.into_iter().map(Applied::from).collect());
    }
    if let [(job, _)] = batch {
        return Ok(vec![apply_alone(db, job).await?]);
    }
    let mut tx = db.begin().await?;
    let mut out = Vec::with_capacity(batch.len());
    for (job, _) in batch {
        out.push(apply(&mut tx, job).await?);
    }
    tx.commit().await?;
    Ok(out)
}

async fn apply_alone(db: &Db, job: &PutJob) -> Result<Applied, DbError> {
    if let (Db::Sqlite(s), Some(put)) = (db, job.at_once()) {
        let written = store::put_at_once(s, &[put]).await?;
        return Ok(Applied::from(written.first().copied().unwrap_or(false)));
    }
    let mut tx = db.begin().await?;
    let r = apply(&mut tx, job).await?;
    tx.commit().await?;
    Ok(r)
}

async fn apply(tx: &mut Tx, job: &PutJob) -> Result<Applied, DbError> {
    let unchanged = match &job.new {
        Some(n) => {
            store::insert_customer_if_absent(
                tx,
                &job.customer_id,
                &n.key,
                &n.data_key,
                &job.last_type,
                job.now,
            )
            .await
        }
        None => {
            store::touch_if_unchanged(tx, &job.customer_id, job.version, &job.last_type, job.now)
                .await
        }
    };
    match unchanged {
        Err(DbError::Conflict) => return Ok(Applied::Conflict),
        other => other?,
    }
    store::put_fields(tx, &job.customer_id, &job.fields, job.now).await?;
    for (field, hash, expires) in &job.codes {
        super::verification::put_code(tx, &job.customer_id, field, hash, *expires).await?;
    }
    if let Some(cb) = &job.callback {
        super::callbacks::record(tx, &job.customer_id, cb, job.now).await?;
    }
    Ok(Applied::Yes)
}
