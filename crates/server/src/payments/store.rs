//! SEP-31 transactions in `sep31_transactions`, and the observed payments.

use crate::db::{Conn, Db, DbError, Tx};
use crate::{with_conn, with_tx};

/// A transaction as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TxRow {
    /// A UUID.
    pub id: String,
    /// The creating partner's `G…`.
    pub account: String,
    /// Its id memo, `''` when none.
    pub memo: String,
    /// Its partner's name.
    pub partner: String,
    /// SEP-31's status.
    pub status: String,
    /// For the sending anchor.
    pub status_message: Option<String>,
    /// The amount to receive.
    pub amount_in: String,
    /// `stellar:CODE:ISSUER`.
    pub amount_in_asset: String,
    /// What the receiver gets, once known.
    pub amount_out: Option<String>,
    /// Its asset, when a quote or `destination_asset` named one.
    pub amount_out_asset: Option<String>,
    /// The fee.
    pub amount_fee: String,
    /// Its asset.
    pub amount_fee_asset: String,
    /// The `fee_details` object (JSON).
    pub fee_details: String,
    /// Paid so far, when paid in part or more than asked.
    pub amount_received: Option<String>,
    /// The quote taken.
    pub quote_id: Option<String>,
    /// As asked.
    pub destination_asset: Option<String>,
    /// As asked.
    pub funding_method: String,
    /// SEP-12 id.
    pub sender_id: String,
    /// The type it is accepted as.
    pub sender_type: String,
    /// SEP-12 id.
    pub receiver_id: String,
    /// The type it is accepted as.
    pub receiver_type: String,
    /// Where to pay.
    pub stellar_account_id: String,
    /// The id memo to pay with.
    pub stellar_memo: String,
    /// As asked.
    pub refund_memo: Option<String>,
    /// As asked.
    pub refund_memo_type: Option<String>,
    /// The `refunds` object (JSON).
    pub refunds: Option<String>,
    /// The payment that paid it.
    pub stellar_transaction_id: Option<String>,
    /// The payout's reference.
    pub external_transaction_id: Option<String>,
    /// What the sender must fix.
    pub required_info_message: Option<String>,
    /// The sending anchor's callback URL.
    pub callback_url: Option<String>,
    /// Unpaid past this (unix seconds): expired.
    pub expires_at: i64,
    /// Unix seconds.
    pub started_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// Unix seconds.
    pub completed_at: Option<i64>,
    /// Bumped by every change (a read-then-write guard).
    pub version: i64,
}

const COLUMNS: &str = "id, account, memo, partner, status, status_message, amount_in, \
     amount_in_asset, amount_out, amount_out_asset, amount_fee, amount_fee_asset, fee_details, \
     amount_received, quote_id, destination_asset, funding_method, sender_id, sender_type, \
     receiver_id, receiver_type, stellar_account_id, stellar_memo, refund_memo, \
     refund_memo_type, refunds, stellar_transaction_id, external_transaction_id, \
     required_info_message, callback_url, expires_at, started_at, updated_at, completed_at, \
     version";

/// Stores a new transaction; `Conflict` when its memo is taken.
pub async fn insert(tx: &mut Tx, t: &TxRow) -> Result<(), DbError> {
    let sql = format!(
        "INSERT INTO sep31_transactions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, \
         $28, $29, $30, $31, $32, $33, $34, $35)"
    );
    with_tx!(tx, c => sqlx::query(&sql)
        .bind(&t.id)
        .bind(&t.account)
        .bind(&t.memo)
        .bind(&t.partner)
        .bind(&t.status)
        .bind(&t.status_message)
        .bind(&t.amount_in)
        .bind(&t.amount_in_asset)
        .bind(&t.amount_out)
        .bind(&t.amount_out_asset)
        .bind(&t.amount_fee)
        .bind(&t.amount_fee_asset)
        .bind(&t.fee_details)
        .bind(&t.amount_received)
        .bind(&t.quote_id)
        .bind(&t.destination_asset)
        .bind(&t.funding_method)
        .bind(&t.sender_id)
        .bind(&t.sender_type)
        .bind(&t.receiver_id)
        .bind(&t.receiver_type)
        .bind(&t.stellar_account_id)
        .bind(&t.stellar_memo)
        .bind(&t.refund_memo)
        .bind(&t.refund_memo_type)
        .bind(&t.refunds)
        .bind(&t.stellar_transaction_id)
        .bind(&t.external_transaction_id)
        .bind(&t.required_info_message)
        .bind(&t.callback_url)
        .bind(t.expires_at)
        .bind(t.started_at)
        .bind(t.updated_at)
        .bind(t.completed_at)
        .bind(t.version)
        .execute(c)
        .await
        .map(|_| ())?);
    Ok(())
}

/// Writes back what a change may change, if the transaction is still as
/// read (`version`); answers whether it was. (The callback URL is the
/// partner's alone: [`set_callback`].)
pub async fn save(tx: &mut Tx, t: &TxRow, version: i64) -> Result<bool, DbError> {
    let n = with_tx!(tx, c => sqlx::query(
        "UPDATE sep31_transactions SET status = $3, status_message = $4, amount_out = $5, \
         amount_received = $6, refunds = $7, stellar_transaction_id = $8, \
         external_transaction_id = $9, required_info_message = $10, \
         updated_at = $11, completed_at = $12, version = version + 1 WHERE id = $1 AND version = $2",
    )
    .bind(&t.id)
    .bind(version)
    .bind(&t.status)
    .bind(&t.status_message)
    .bind(&t.amount_out)
    .bind(&t.amount_received)
    .bind(&t.refunds)
    .bind(&t.stellar_transaction_id)
    .bind(&t.external_transaction_id)
    .bind(&t.required_info_message)
    .bind(t.updated_at)
    .bind(t.completed_at)
    .execute(c)
    .await?
    .rows_affected());
    Ok(n == 1)
}

/// The transaction `id`, whoever's.
pub async fn get(c: impl Into<Conn<'_>>, id: &str) -> Result<Option<TxRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM sep31_transactions WHERE id = $1");
    Ok(with_conn!(c.into(), e => sqlx::query_as::<_, TxRow>(&sql)
        .bind(id)
        .fetch_optional(e)
        .await?))
}

/// The transaction paid to `account` with `memo`.
pub async fn by_memo(
    c: impl Into<Conn<'_>>,
    account: &str,
    memo: &str,
) -> Result<Option<TxRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sep31_transactions WHERE stellar_account_id = $1 AND stellar_memo = $2"
    );
    Ok(with_conn!(c.into(), e => sqlx::query_as::<_, TxRow>(&sql)
        .bind(account)
        .bind(memo)
        .fetch_optional(e)
        .await?))
}

/// Transactions for staff, oldest first from `after` (an id), in `status`
/// and of `partner` when given.
pub async fn list(
    c: impl Into<Conn<'_>>,
    status: Option<&str>,
    partner: Option<&str>,
    after: Option<(i64, &str)>,
    limit: i64,
) -> Result<Vec<TxRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sep31_transactions WHERE ($1 = '' OR status = $1) \
         AND ($2 = '' OR partner = $2) AND (started_at > $3 OR (started_at = $3 AND id > $4)) \
         ORDER BY started_at, id LIMIT $5"
    );
    let (at, id) = after.unwrap_or((i64::MIN, ""));
    Ok(with_conn!(c.into(), e => sqlx::query_as::<_, TxRow>(&sql)
        .bind(status.unwrap_or(""))
        .bind(partner.unwrap_or(""))
        .bind(at)
        .bind(id)
        .bind(limit.clamp(1, 500))
        .fetch_all(e)
        .await?))
}

/// Ids of `pending_sender` transactions nothing was paid for whose
/// `expires_at` is before `now` (at most `limit`).
pub async fn unpaid_due(
    c: impl Into<Conn<'_>>,
    now: i64,
    limit: i64,
) -> Result<Vec<String>, DbError> {
    Ok(with_conn!(c.into(), e => sqlx::query_scalar(
        "SELECT id FROM sep31_transactions WHERE status = 'pending_sender' AND expires_at < $1 \
         AND amount_received IS NULL ORDER BY expires_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(e)
    .await?))
}

/// Ids of transactions in `status` after id `after`, in id order (at most
/// `limit`).
pub async fn in_status(
    c: impl Into<Conn<'_>>,
    status: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<String>, DbError> {
    Ok(with_conn!(c.into(), e => sqlx::query_scalar(
        "SELECT id FROM sep31_transactions WHERE status = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(status)
    .bind(after)
    .bind(limit)
    .fetch_all(e)
    .await?))
}

/// Sets the transaction's callback URL; callbacks still queued go to it
/// too (SEP-31 §PUT Transaction Callback: "only … the most recently
/// provided URL").
pub async fn set_callback(db: &Db, id: &str, url: &str) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, c => sqlx::query("UPDATE sep31_transactions SET callback_url = $2 WHERE id = $1")
        .bind(id)
        .bind(url)
        .execute(c)
        .await
        .map(|_| ())?);
    with_tx!(&mut tx, c => sqlx::query("UPDATE payment_outbox SET url = $2 WHERE stream = $1")
        .bind(format!("{id}:callback"))
        .bind(url)
        .execute(c)
        .await
        .map(|_| ())?);
    tx.commit().await?;
    Ok(())
}
