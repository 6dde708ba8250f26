//! Firm quotes in the `quotes` table.

use crate::db::{Db, DbError};
use crate::{with_pool, with_reader};

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
