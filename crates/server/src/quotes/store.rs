//! Firm quotes in the `quotes` table.

use futures::FutureExt as _;
use futures::future::BoxFuture;

use crate::db::{Conn, Db, DbError, Tx};
use crate::kyc::Target;
use crate::partners::{FirmQuote, QuoteBook};
use crate::{with_conn, with_pool, with_reader, with_tx};

/// A firm quote as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QuoteRow {
    /// A UUID.
    pub id: String,
    /// The quoting `G…` account.
    pub account: String,
    /// Its id memo, `''` when none.
    pub memo: String,
    /// Its partner's name.
    pub partner: String,
    /// `sep31` or `sep6`.
    pub context: String,
    /// What the client gives.
    pub sell_asset: String,
    /// As answered.
    pub sell_amount: String,
    /// As asked.
    pub sell_delivery_method: Option<String>,
    /// What the client receives.
    pub buy_asset: String,
    /// As answered.
    pub buy_amount: String,
    /// As asked.
    pub buy_delivery_method: Option<String>,
    /// As asked.
    pub country_code: Option<String>,
    /// Without fees.
    pub price: String,
    /// With fees.
    pub total_price: String,
    /// The `fee` object (JSON).
    pub fee: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// Unix seconds.
    pub created_at: i64,
}

const COLUMNS: &str = "id, account, memo, partner, context, sell_asset, sell_amount, \
     sell_delivery_method, buy_asset, buy_amount, buy_delivery_method, country_code, price, \
     total_price, fee, expires_at, created_at";

/// Stores a new quote.
pub async fn insert(db: &Db, q: &QuoteRow) -> Result<(), DbError> {
    let sql = format!(
        "INSERT INTO quotes ({COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
    );
    with_pool!(db, pool => sqlx::query(&sql)
        .bind(&q.id)
        .bind(&q.account)
        .bind(&q.memo)
        .bind(&q.partner)
        .bind(&q.context)
        .bind(&q.sell_asset)
        .bind(&q.sell_amount)
        .bind(&q.sell_delivery_method)
        .bind(&q.buy_asset)
        .bind(&q.buy_amount)
        .bind(&q.buy_delivery_method)
        .bind(&q.country_code)
        .bind(&q.price)
        .bind(&q.total_price)
        .bind(&q.fee)
        .bind(q.expires_at)
        .bind(q.created_at)
        .execute(pool)
        .await
        .map(|_| ())?);
    Ok(())
}

/// The quote `id`, whoever's.
pub async fn get(db: &Db, id: &str) -> Result<Option<QuoteRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM quotes WHERE id = $1");
    Ok(with_reader!(db, pool => sqlx::query_as::<_, QuoteRow>(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await?))
}

#[derive(sqlx::FromRow)]
struct Firm {
    account: String,
    memo: String,
    context: String,
    sell_asset: String,
    sell_amount: String,
    buy_asset: String,
    buy_amount: String,
    fee: String,
    expires_at: i64,
    used_by: Option<String>,
}

/// The quote `id` as a payment takes it.
pub async fn read_firm(c: Conn<'_>, id: &str) -> Result<Option<FirmQuote>, DbError> {
    let row: Option<Firm> = with_conn!(c, c => sqlx::query_as(
        "SELECT account, memo, context, sell_asset, sell_amount, buy_asset, buy_amount, fee, expires_at, used_by \
         FROM quotes WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await?);
    Ok(row.and_then(|f| {
        let memo = (!f.memo.is_empty()).then_some(f.memo);
        Some(FirmQuote {
            owner: Target::parse(&f.account, memo.as_deref())?,
            context: f.context,
            sell_asset: f.sell_asset,
            sell_amount: f.sell_amount,
            buy_asset: f.buy_asset,
            buy_amount: f.buy_amount,
            fee: f.fee,
            expires_at: f.expires_at,
            used_by: f.used_by,
        })
    }))
}

/// In `tx`: marks the quote used by `transaction` when unused and
/// unexpired; one statement, so two racing takers cannot both succeed.
pub async fn take(tx: &mut Tx, id: &str, transaction: &str, now: i64) -> Result<bool, DbError> {
    let n = with_tx!(tx, c => sqlx::query(
        "UPDATE quotes SET used_by = $2, used_at = $3 WHERE id = $1 AND used_by IS NULL AND expires_at > $3",
    )
    .bind(id)
    .bind(transaction)
    .bind(now)
    .execute(c)
    .await?
    .rows_affected());
    Ok(n == 1)
}

impl QuoteBook for super::Quotes {
    fn read<'a>(
        &'a self,
        c: Conn<'a>,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<FirmQuote>, DbError>> {
        read_firm(c, id).boxed()
    }

    fn take<'a>(
        &'a self,
        tx: &'a mut Tx,
        id: &'a str,
        transaction: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<bool, DbError>> {
        take(tx, id, transaction, now).boxed()
    }
}
