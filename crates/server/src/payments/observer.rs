//! The payment observer (docs/payments.md §The payment observer): one
//! replica at a time, holding a lease row, reads each distribution
//! account's payments on Horizon from the cursor saved in the database —
//! pages to catch up, then the stream — and for each payment, in one
//! database transaction, records it (once: by Horizon's operation id),
//! matches it by memo (SEP-31 §Authentication: "Only the payment
//! transaction's memo should be used to match"), moves its transaction and
//! saves the cursor. Stopped at any point, it resumes where it stopped:
//! nothing skipped, nothing counted twice.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt as _;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::Instant;

use super::amounts;
use super::feed::{PAGE, Record};
use super::service::{PaymentError, Payments};
use super::status::Status;
use super::store;
use crate::db::{Db, DbError, Tx};
use crate::{with_conn, with_pool, with_tx};

/// The lease row's name.
const LEASE: &str = "payments";

/// A payment to a watched account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// Horizon's operation id.
    pub id: String,
    /// The account paid.
    pub to: String,
    /// The payer.
    pub from: String,
    /// `stellar:CODE:ISSUER`, or `native`.
    pub asset: String,
    /// Received.
    pub amount: String,
    /// The Stellar transaction.
    pub hash: String,
    /// Its memo and memo type, if any.
    pub memo: Option<(String, String)>,
}

impl Payment {
    /// From a Horizon record: a successful payment to `account`, or
    /// `None` (a payment out, a failed one, an account created or merged).
    pub fn of(account: &str, r: &Record) -> Option<Payment> {
        if r.transaction_successful == Some(false) || r.to.as_deref() != Some(account) {
            return None;
        }
        let memo = r
            .transaction
            .as_ref()
            .and_then(|t| Some((t.memo.clone()?, t.memo_type.clone())));
        Some(Payment {
            id: r.id.clone(),
            to: account.to_owned(),
            from: r.from.clone().unwrap_or_default(),
            asset: r.asset()?,
            amount: r.amount.clone()?,
            hash: r.transaction_hash.clone(),
            memo,
        })
    }
}

/// What became of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Paid its transaction in full.
    Matched,
    /// Paid it in part; it still waits.
    Underpaid,
    /// Paid it with more than asked; recorded.
    Overpaid,
    /// Its memo names a transaction no longer waiting for payment.
    Late,
    /// Its memo names a transaction of another asset.
    WrongAsset,
    /// No memo, or one naming no transaction.
    Unmatched,
    /// Seen before.
    Seen,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Matched => "matched",
            Outcome::Underpaid => "underpaid",
            Outcome::Overpaid => "overpaid",
            Outcome::Late => "late",
            Outcome::WrongAsset => "wrong_asset",
            Outcome::Unmatched => "unmatched",
            Outcome::Seen => "seen",
        }
    }
}

fn millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Takes or renews the lease for `holder` until `ms` from now; answers
/// whether `holder` holds it. Real time, not the service clock: a lease is
/// about processes being alive.
pub async fn hold_lease(db: &Db, holder: &str, ms: i64) -> Result<bool, DbError> {
    let now = millis();
    let n = with_pool!(db, pool => sqlx::query(
        "INSERT INTO observer_lease (name, holder, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE observer_lease.holder = excluded.holder OR observer_lease.expires_at < $4",
    )
    .bind(LEASE)
    .bind(holder)
    .bind(now + ms)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(n == 1)
}

/// Gives the lease up, if `holder` has it.
pub async fn release_lease(db: &Db, holder: &str) -> Result<(), DbError> {
    with_pool!(db, pool => sqlx::query("DELETE FROM observer_lease WHERE name = $1 AND holder = $2")
        .bind(LEASE)
        .bind(holder)
        .execute(pool)
        .await
        .map(|_| ())?);
    Ok(())
}

async fn save_cursor(tx: &mut Tx, account: &str, cursor: &str) -> Result<(), DbError> {
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO observer_cursors (account, cursor) VALUES ($1, $2) \
         ON CONFLICT (account) DO UPDATE SET cursor = excluded.cursor",
    )
    .bind(account)
    .bind(cursor)
    .execute(c)
    .await
    .map(|_| ())?);
    Ok(())
}

impl Payments {
    /// The saved cursor of `account`, if any.
    pub async fn cursor(&self, account: &str) -> Result<Option<String>, DbError> {
        Ok(with_conn!(self.db.reader(), c => sqlx::query_scalar(
            "SELECT cursor FROM observer_cursors WHERE account = $1",
        )
        .bind(account)
        .fetch_optional(c)
        .await?))
    }

    /// Where `account` is read from: the saved cursor; the first time,
    /// its latest payment's on Horizon (or the start, for an account with
    /// none), saved. Pinned before the first transaction to the account is
    /// created, so that no payment for one can fall before it.
    pub async fn pin_cursor(&self, account: &str) -> Result<String, PaymentError> {
        if let Some(c) = self.cursor(account).await? {
            return Ok(c);
        }
        let latest = self.feed.latest(account).await.map_err(|e| {
            tracing::warn!(error = %e, "cannot read the distribution account's payments on Horizon");
            PaymentError::Unavailable
        })?;
        let start = latest.unwrap_or_else(|| "0".into());
        crate::with_pool!(&self.db, pool => sqlx::query(
            "INSERT INTO observer_cursors (account, cursor) VALUES ($1, $2) ON CONFLICT (account) DO NOTHING",
        )
        .bind(account)
        .bind(&start)
        .execute(pool)
        .await
        .map(|_| ())?);
        tracing::info!(cursor = %start, "payment observer: a distribution account is watched from now on");
        // Another replica may have pinned it first: its cursor holds.
        Ok(self.cursor(account).await?.unwrap_or(start))
    }

    /// Handles Horizon's record `r` of `account`, in one database
    /// transaction with its cursor.
    pub async fn observe(&self, account: &str, r: &Record) -> Result<Outcome, PaymentError> {
        let mut tx = self.db.begin().await?;
        let outcome = match Payment::of(account, r) {
            Some(p) => self.apply(&mut tx, &p).await?,
            None => Outcome::Seen,
        };
        save_cursor(&mut tx, account, &r.paging_token).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// In `tx`: records `p` unless seen, and moves the transaction it pays.
    async fn apply(&self, tx: &mut Tx, p: &Payment) -> Result<Outcome, PaymentError> {
        let now = self.now();
        let seen = with_tx!(tx, c => sqlx::query(
            "INSERT INTO observed_payments (id, account, from_account, asset, amount, memo, memo_type, \
             stellar_transaction_id, outcome, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'unmatched', $9) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&p.id)
        .bind(&p.to)
        .bind(&p.from)
        .bind(&p.asset)
        .bind(&p.amount)
        .bind(p.memo.as_ref().map(|m| &m.0))
        .bind(p.memo.as_ref().map(|m| &m.1))
        .bind(&p.hash)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected())
            == 0;
        if seen {
            return Ok(Outcome::Seen);
        }
        let found = match &p.memo {
            Some((memo, kind)) if kind == "id" => store::by_memo(&mut *tx, &p.to, memo).await?,
            _ => None,
        };
        let (outcome, matched) = match found {
            None => (Outcome::Unmatched, None),
            Some(t) if t.amount_in_asset != p.asset => (Outcome::WrongAsset, Some(t.id)),
            Some(t) if t.status != Status::PendingSender.as_str() => (Outcome::Late, Some(t.id)),
            // Past its time and nothing paid before: its quote's price no
            // longer holds (the expiry sweep has not got to it yet).
            Some(t) if t.amount_received.is_none() && t.expires_at < now => {
                (Outcome::Late, Some(t.id))
            }
            Some(t) => {
                let paid = amounts::sum(t.amount_received.as_deref().unwrap_or("0"), &p.amount)
                    .unwrap_or_default();
                let due = amounts::parse(&t.amount_in).unwrap_or_default();
                let mut after = t.clone();
                after.amount_received = Some(amounts::text(paid));
                after.stellar_transaction_id = Some(p.hash.clone());
                let outcome = if paid < due {
                    // SEP-31 names no field for a part payment: the
                    // transaction keeps waiting, and says how much is missing.
                    after.status_message = Some(format!(
                        "received {} of {}; pay the remaining {} with the same memo",
                        amounts::text(paid),
                        t.amount_in,
                        amounts::text(due - paid)
                    ));
                    Outcome::Underpaid
                } else {
                    after.status = Status::PendingReceiver.as_str().to_owned();
                    if paid > due {
                        after.status_message = Some(format!(
                            "received {}, {} more than {}",
                            amounts::text(paid),
                            amounts::text(paid - due),
                            t.amount_in
                        ));
                        Outcome::Overpaid
                    } else {
                        after.status_message = None;
                        after.amount_received = None;
                        Outcome::Matched
                    }
                };
                self.change(tx, &t, after, "observer", "sep31.payment")
                    .await?;
                (outcome, Some(t.id))
            }
        };
        with_tx!(tx, c => sqlx::query(
            "UPDATE observed_payments SET outcome = $2, transaction_id = $3 WHERE id = $1",
        )
        .bind(&p.id)
        .bind(outcome.as_str())
        .bind(matched)
        .execute(c)
        .await
        .map(|_| ())?);
        Ok(outcome)
    }

    /// Payments seen, newest first: all, or of one `outcome`.
    pub async fn observed(&self, outcome: Option<&str>, limit: i64) -> Result<Value, PaymentError> {
        const OUTCOMES: [&str; 6] = [
            "matched",
            "underpaid",
            "overpaid",
            "late",
            "wrong_asset",
            "unmatched",
        ];
        if let Some(o) = outcome
            && !OUTCOMES.contains(&o)
        {
            return Err(PaymentError::Invalid(format!(
                "outcome must be one of {}",
                OUTCOMES.join(", ")
            )));
        }
        #[derive(sqlx::FromRow, serde::Serialize)]
        struct Row {
            id: String,
            account: String,
            from_account: String,
            asset: String,
            amount: String,
            memo: Option<String>,
            memo_type: Option<String>,
            stellar_transaction_id: String,
            transaction_id: Option<String>,
            outcome: String,
            created_at: i64,
        }
        let rows: Vec<Row> = with_conn!(self.db.reader(), c => sqlx::query_as(
            "SELECT id, account, from_account, asset, amount, memo, memo_type, stellar_transaction_id, \
             transaction_id, outcome, created_at FROM observed_payments WHERE ($1 = '' OR outcome = $1) \
             ORDER BY created_at DESC, LENGTH(id) DESC, id DESC LIMIT $2",
        )
        .bind(outcome.unwrap_or(""))
        .bind(limit)
        .fetch_all(c)
        .await?);
        Ok(json!({ "payments": rows }))
    }
}

/// The observer of one server.
pub struct Observer {
    payments: Arc<Payments>,
    holder: String,
    accounts: Vec<String>,
    lease: Duration,
    poll: Duration,
}

impl Observer {
    /// An observer of `payments`' distribution accounts.
    pub fn new(payments: Arc<Payments>) -> Observer {
        let cfg = payments.cfg();
        let mut accounts: Vec<String> = cfg
            .assets
            .iter()
            .map(|a| a.distribution_account.clone())
            .collect();
        accounts.sort();
        accounts.dedup();
        Observer {
            lease: Duration::from_secs(cfg.observer.lease_secs),
            poll: Duration::from_secs(cfg.observer.poll_secs),
            holder: uuid::Uuid::new_v4().to_string(),
            accounts,
            payments,
        }
    }

    /// Observes while this server holds the lease, until `stop`; then
    /// gives the lease up so another replica takes over at once.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let window = self.lease / 3;
        let ms = i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX);
        loop {
            let held = match hold_lease(&self.payments.db, &self.holder, ms).await {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!(error = %e, "could not renew the payment observer's lease");
                    false
                }
            };
            let deadline = Instant::now() + window;
            let work = async {
                if held {
                    let each = self.accounts.iter().map(|a| self.watch(a, deadline));
                    futures::future::join_all(each).await;
                }
                tokio::time::sleep_until(deadline).await;
            };
            tokio::select! {
                _ = stop.changed() => break,
                () = work => {}
            }
        }
        if let Err(e) = release_lease(&self.payments.db, &self.holder).await {
            tracing::warn!(error = %e, "could not give up the payment observer's lease");
        }
    }

    /// Reads `account`'s payments until `deadline`: pages until caught up,
    /// then the stream; when streaming fails, pages again after `poll`.
    async fn watch(&self, account: &str, deadline: Instant) {
        while Instant::now() < deadline {
            match self.catch_up(account, deadline).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read payments from Horizon; retrying");
                    tokio::time::sleep_until(deadline.min(Instant::now() + self.poll)).await;
                    continue;
                }
            }
            match tokio::time::timeout_at(deadline, self.stream(account)).await {
                // Until the lease is renewed.
                Err(_) => return,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "Horizon's payment stream failed; polling");
                }
                // Horizon ended it: reopened after a pause, so that a
                // Horizon that ends every stream at once is not hammered.
                Ok(Ok(())) => {}
            }
            tokio::time::sleep_until(deadline.min(Instant::now() + self.poll)).await;
        }
    }

    /// The saved cursor of `account` (pinned the first time).
    async fn cursor(&self, account: &str) -> Result<String, String> {
        self.payments
            .pin_cursor(account)
            .await
            .map_err(|e| e.to_string())
    }

    /// Pages through what is new; answers whether it caught up before
    /// `deadline`.
    async fn catch_up(&self, account: &str, deadline: Instant) -> Result<bool, String> {
        loop {
            let cursor = self.cursor(account).await?;
            // Bounded by the lease's renewal, so the holder never reads on
            // past a lease it may have lost.
            let Ok(page) =
                tokio::time::timeout_at(deadline, self.payments.feed.page(account, &cursor)).await
            else {
                return Ok(false);
            };
            let page = page.map_err(|e| e.to_string())?;
            for r in &page {
                self.payments
                    .observe(account, r)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            if page.len() < PAGE {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
        }
    }

    /// Follows the stream from the saved cursor until it ends or fails.
    async fn stream(&self, account: &str) -> Result<(), String> {
        let cursor = self.cursor(account).await?;
        let stream = self
            .payments
            .feed
            .stream(account, &cursor)
            .await
            .map_err(|e| e.to_string())?;
        let mut stream = std::pin::pin!(stream);
        while let Some(r) = stream.next().await {
            let r = r.map_err(|e| e.to_string())?;
            self.payments
                .observe(account, &r)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}
