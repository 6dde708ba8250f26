//! SEP-31's rules for partners (docs/payments.md): `GET /info`, creating
//! a transaction, reading it, and its callback URL.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::amounts;
use super::feed::Feed;
use super::request::{self, Create};
use super::status::Status;
use super::store::{self, TxRow};
use super::view;
use crate::clock::Clock;
use crate::config::{Op, Sep31Config};
use crate::db::{Db, DbError};
use crate::http::Principal;
use crate::kyc::{CustomerStanding, Gate, KycError, Records, Target, Verdict};
use crate::outbox::{self, Outbox};
use crate::partners::{self, FirmQuote, Partners, QuoteBook, ServesPartners};

/// The payments' outbox: one stream per transaction and receiver.
pub const PAYMENTS: Outbox = Outbox {
    table: "payment_outbox",
    stream: "stream",
    what: "SEP-31 webhook or callback",
};

/// Why a request is refused.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// 400, with what is wrong.
    #[error("{0}")]
    Invalid(String),
    /// 400 `customer_info_needed` with the SEP-12 type to complete
    /// (SEP-31 §Customer Info Needed).
    #[error("customer_info_needed")]
    CustomerInfoNeeded(String),
    /// 404: not the caller's, or no such transaction.
    #[error("transaction not found")]
    NotFound,
    /// 409: not allowed from the current status.
    #[error("{0}")]
    Conflict(String),
    /// 503: Horizon could not be read to start watching the account paid.
    #[error("the Stellar network cannot be reached right now; try again later")]
    Unavailable,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The KYC records failed.
    #[error(transparent)]
    Kyc(#[from] KycError),
}

impl From<sqlx::Error> for PaymentError {
    fn from(e: sqlx::Error) -> Self {
        PaymentError::Db(e.into())
    }
}

pub(super) fn invalid(m: impl Into<String>) -> PaymentError {
    PaymentError::Invalid(m.into())
}

/// What the payment service is built from.
pub struct PaymentsParts {
    /// The database.
    pub db: Db,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// `[sep31]`.
    pub cfg: Sep31Config,
    /// `[[partners]]`.
    pub partners: Arc<Partners>,
    /// The KYC limits on `send` and `receive`.
    pub gate: Arc<dyn Gate>,
    /// The SEP-12 customers.
    pub records: Arc<dyn Records>,
    /// The firm quotes, when SEP-38 is served.
    pub quotes: Option<Arc<dyn QuoteBook>>,
    /// SEP-38's pairs `(sell_asset, buy_asset)`, when SEP-38 is served.
    pub pairs: Vec<(String, String)>,
    /// Horizon's payments, where the observer starts from.
    pub feed: Feed,
}

/// SEP-31, the receiving anchor.
pub struct Payments {
    pub(super) db: Db,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) cfg: Sep31Config,
    pub(super) partners: Arc<Partners>,
    gate: Arc<dyn Gate>,
    pub(super) records: Arc<dyn Records>,
    quotes: Option<Arc<dyn QuoteBook>>,
    pairs: Vec<(String, String)>,
    pub(super) feed: Feed,
    /// Distribution accounts whose observer cursor is known to be pinned.
    pub(super) pinned: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl ServesPartners for Payments {
    fn partners(&self) -> &Partners {
        &self.partners
    }
}

/// A figure as a JSON number (SEP-31 §GET Info gives numbers).
fn number(d: Decimal) -> Value {
    serde_json::from_str(&d.normalize().to_string()).unwrap_or(Value::Null)
}

impl Payments {
    /// A payment service.
    pub fn new(parts: PaymentsParts) -> Payments {
        Payments {
            db: parts.db,
            clock: parts.clock,
            cfg: parts.cfg,
            partners: parts.partners,
            gate: parts.gate,
            records: parts.records,
            quotes: parts.quotes,
            pairs: parts.pairs,
            feed: parts.feed,
            pinned: std::sync::Mutex::default(),
        }
    }

    /// `[sep31]`.
    pub fn cfg(&self) -> &Sep31Config {
        &self.cfg
    }

    pub(super) fn now(&self) -> i64 {
        i64::try_from(self.clock.now()).unwrap_or(i64::MAX)
    }

    /// Whether SEP-38 sells `asset` for something.
    fn quotable(&self, asset: &str) -> bool {
        self.quotes.is_some() && self.pairs.iter().any(|(s, _)| s == asset)
    }

    /// `GET /info` (SEP-31 §GET Info), with `partner`'s own fees and
    /// limits where it has them.
    pub fn info(&self, partner: &str) -> Value {
        let p = self.partners.named(partner);
        let types = |t: &std::collections::BTreeMap<String, String>| {
            let m: serde_json::Map<String, Value> = t
                .iter()
                .map(|(k, d)| (k.clone(), json!({ "description": d })))
                .collect();
            json!({ "types": m })
        };
        let mut receive = serde_json::Map::new();
        for a in &self.cfg.assets {
            let mut o = json!({
                "quotes_supported": self.quotable(&a.sep38_name()),
                "quotes_required": self.cfg.quotes_required,
                "funding_methods": a.funding_methods,
                "sep12": {
                    "sender": types(&self.cfg.sender_types),
                    "receiver": types(&self.cfg.receiver_types),
                },
            });
            let figures = [
                ("fee_fixed", p.and_then(|p| p.fee_fixed).or(a.fee_fixed)),
                (
                    "fee_percent",
                    p.and_then(|p| p.fee_percent).or(a.fee_percent),
                ),
                ("min_amount", p.and_then(|p| p.min_amount).or(a.min_amount)),
                ("max_amount", p.and_then(|p| p.max_amount).or(a.max_amount)),
            ];
            for (k, v) in figures {
                if let Some(v) = v {
                    o[k] = number(v);
                }
            }
            receive.insert(a.code.clone(), o);
        }
        json!({ "receive": receive })
    }

    /// The sender or receiver `id`: the caller's, ACCEPTED as one of
    /// `types`; otherwise SEP-31's `customer_info_needed` with the first
    /// type (docs/payments.md step 3).
    async fn customer(
        &self,
        caller: &Principal,
        id: Option<&str>,
        types: &[String],
    ) -> Result<(String, String, CustomerStanding), PaymentError> {
        let needed = || PaymentError::CustomerInfoNeeded(types[0].clone());
        let id = id.ok_or_else(needed)?;
        let standing = self
            .records
            .customer(id, types)
            .await?
            .filter(|s| caller.may_reach(&s.account, &s.memo, &s.memo_type))
            .ok_or_else(needed)?;
        let kind = standing.accepted.clone().ok_or_else(needed)?;
        Ok((id.to_owned(), kind, standing))
    }

    /// The KYC limits of `op` for `who` (docs/payments.md step 4): counted
    /// when `count`, else only judged.
    async fn limit(
        &self,
        partner: &str,
        who: (&str, &CustomerStanding),
        op: Op,
        c: &Create<'_>,
        count: bool,
    ) -> Result<(), PaymentError> {
        let Some(target) = who.1.target() else {
            return Ok(());
        };
        let amount = mooring_stellar::Amount::parse(&amounts::text(c.amount))
            .map_err(|_| invalid("amount is too large"))?;
        let asset = c.asset.sep38_name();
        let verdict = if count {
            let actor = format!("partner:{partner}");
            self.gate.pass(&actor, &target, op, amount, &asset).await?
        } else {
            self.gate.judge(&target, op, amount, &asset).await?
        };
        match verdict {
            Verdict::Allowed => Ok(()),
            Verdict::Denied {
                soft: true,
                kyc_type,
                ..
            } => Err(PaymentError::CustomerInfoNeeded(kyc_type)),
            Verdict::Denied { soft: false, .. } => Err(invalid(format!(
                "this payment exceeds a limit of the {}; it cannot be made",
                who.0
            ))),
        }
    }

    /// The quote `id` if it can pay for `c` (docs/payments.md step 5).
    async fn quote(
        &self,
        owner: &Target,
        id: &str,
        c: &Create<'_>,
    ) -> Result<FirmQuote, PaymentError> {
        let book = self
            .quotes
            .as_ref()
            .ok_or_else(|| invalid("this anchor gives no quotes: leave out quote_id"))?;
        let q = book
            .read(self.db.reader(), id)
            .await?
            .filter(|q| q.owner == *owner)
            .ok_or_else(|| invalid("quote_id names no quote of this account"))?;
        if q.context != "sep31" {
            return Err(invalid(format!(
                "the quote was made for context {}, not sep31",
                q.context
            )));
        }
        if q.used_by.is_some() {
            return Err(invalid("quote already used"));
        }
        if q.expires_at <= self.now() {
            return Err(invalid("quote expired"));
        }
        let asset = c.asset.sep38_name();
        if q.sell_asset != asset {
            return Err(invalid(format!(
                "the quote sells {}, not {asset}",
                q.sell_asset
            )));
        }
        if amounts::parse(&q.sell_amount) != Some(c.amount) {
            return Err(invalid(format!(
                "amount must be the quote's sell_amount, {}",
                q.sell_amount
            )));
        }
        if c.destination_asset
            .as_ref()
            .is_some_and(|d| *d != q.buy_asset)
        {
            return Err(invalid(format!(
                "destination_asset must be the quote's buy_asset, {}",
                q.buy_asset
            )));
        }
        Ok(q)
    }

    /// `POST /transactions` (SEP-31 §POST Transactions), checked in the
    /// order docs/payments.md gives; 201's body.
    pub async fn create(
        &self,
        caller: &Principal,
        partner: &str,
        raw: &[u8],
    ) -> Result<Value, PaymentError> {
        let owner = partners::owner(caller).ok_or_else(|| invalid("unusable token"))?;
        let c = request::check(&self.cfg, request::parse(raw)?)?;
        // 2. The amount within the partner's, else the asset's, bounds.
        let p = self.partners.named(partner);
        let min = p.and_then(|p| p.min_amount).or(c.asset.min_amount);
        let max = p.and_then(|p| p.max_amount).or(c.asset.max_amount);
        if let Some(min) = min.filter(|m| c.amount < *m) {
            return Err(invalid(format!(
                "amount is below the minimum of {}",
                min.normalize()
            )));
        }
        if let Some(max) = max.filter(|m| c.amount > *m) {
            return Err(invalid(format!(
                "amount is above the maximum of {}",
                max.normalize()
            )));
        }
        // 3. Sender, then receiver.
        let sender_types: Vec<String> = self.cfg.sender_types.keys().cloned().collect();
        let receiver_types: Vec<String> = self.cfg.receiver_types.keys().cloned().collect();
        let sender = self
            .customer(caller, c.sender_id.as_deref(), &sender_types)
            .await?;
        let receiver = self
            .customer(caller, c.receiver_id.as_deref(), &receiver_types)
            .await?;
        // 4. The limits, judged now and counted once all else is known good.
        let parties = [
            (("sender", &sender.2), Op::Send),
            (("receiver", &receiver.2), Op::Receive),
        ];
        for (who, op) in parties {
            self.limit(partner, who, op, &c, false).await?;
        }
        // 5. The quote.
        let quote = match c.quote_id.as_deref() {
            Some(id) => Some(self.quote(&owner, id, &c).await?),
            None if self.cfg.quotes_required => {
                return Err(invalid(
                    "quote_id is required: this anchor pays out only at a firm SEP-38 quote",
                ));
            }
            None => None,
        };
        if quote.is_none()
            && let Some(d) = &c.destination_asset
            && !self
                .pairs
                .iter()
                .any(|(s, b)| *s == c.asset.sep38_name() && b == d)
        {
            return Err(invalid(format!(
                "destination_asset {d} is not delivered for {}; see SEP-38 GET /prices",
                c.asset.code
            )));
        }
        let now = self.now();
        let mut row = TxRow {
            id: uuid::Uuid::new_v4().to_string(),
            account: owner.address(),
            memo: owner.memo_value(),
            partner: partner.to_owned(),
            status: Status::PendingSender.as_str().to_owned(),
            status_message: None,
            amount_in: amounts::text(c.amount),
            amount_in_asset: c.asset.sep38_name(),
            amount_out: None,
            amount_out_asset: c.destination_asset.clone(),
            amount_fee: String::new(),
            amount_fee_asset: c.asset.sep38_name(),
            fee_details: String::new(),
            amount_received: None,
            quote_id: c.quote_id.clone(),
            destination_asset: c.destination_asset.clone(),
            funding_method: c.funding_method.clone(),
            sender_id: sender.0,
            sender_type: sender.1,
            receiver_id: receiver.0,
            receiver_type: receiver.1,
            stellar_account_id: c.asset.distribution_account.clone(),
            stellar_memo: String::new(),
            refund_memo: c.refund_memo.as_ref().map(|m| m.0.clone()),
            refund_memo_type: c.refund_memo.as_ref().map(|m| m.1.clone()),
            refunds: None,
            stellar_transaction_id: None,
            external_transaction_id: None,
            required_info_message: None,
            callback_url: None,
            expires_at: now
                .saturating_add(i64::try_from(self.cfg.unpaid_expiry_secs).unwrap_or(i64::MAX)),
            started_at: now,
            updated_at: now,
            completed_at: None,
            version: 0,
        };
        match &quote {
            // SEP-31 §Amount Formulas: with a quote, amount_out is its
            // buy_amount and the fee its fee.
            Some(q) => {
                let fee: Value = serde_json::from_str(&q.fee).unwrap_or(Value::Null);
                row.amount_out = Some(q.buy_amount.clone());
                row.amount_out_asset = Some(q.buy_asset.clone());
                row.amount_fee = fee["total"].as_str().unwrap_or("0").to_owned();
                row.amount_fee_asset = fee["asset"].as_str().unwrap_or_default().to_owned();
                row.fee_details = q.fee.clone();
                row.expires_at = q.expires_at;
            }
            None => {
                let fixed = p.and_then(|p| p.fee_fixed).or(c.asset.fee_fixed);
                let percent = p.and_then(|p| p.fee_percent).or(c.asset.fee_percent);
                let fee = amounts::fee(
                    c.amount,
                    fixed.unwrap_or_default(),
                    percent.unwrap_or_default(),
                );
                if fee >= c.amount {
                    return Err(invalid(format!(
                        "the amount does not cover the fee of {}",
                        amounts::text(fee)
                    )));
                }
                row.amount_fee = amounts::text(fee);
                row.fee_details =
                    json!({"total": row.amount_fee, "asset": row.amount_fee_asset}).to_string();
                if c.destination_asset.is_none() {
                    // 1-for-1 after fees (SEP-31 §GET Info).
                    row.amount_out = Some(amounts::text(c.amount - fee));
                }
            }
        }
        // The observer must watch from before the first payment for it.
        let pinned = self
            .pinned
            .lock()
            .is_ok_and(|p| p.contains(&row.stellar_account_id));
        if !pinned {
            self.pin_cursor(&row.stellar_account_id).await?;
            if let Ok(mut p) = self.pinned.lock() {
                p.insert(row.stellar_account_id.clone());
            }
        }
        for (who, op) in parties {
            self.limit(partner, who, op, &c, true).await?;
        }
        // 6. Created with its quote taken, in one database transaction; a
        // memo taken already (2^-63) is drawn again.
        for _ in 0..3 {
            row.stellar_memo = (rand::random::<u64>() >> 1).max(1).to_string();
            match self.insert(&row, partner).await {
                Err(PaymentError::Db(DbError::Conflict)) => continue,
                other => other?,
            }
            return Ok(json!({
                "id": row.id,
                "stellar_account_id": row.stellar_account_id,
                "stellar_memo_type": "id",
                "stellar_memo": row.stellar_memo,
            }));
        }
        Err(PaymentError::Db(DbError::Conflict))
    }

    async fn insert(&self, row: &TxRow, partner: &str) -> Result<(), PaymentError> {
        let mut tx = self.db.begin().await?;
        if let Some(q) = &row.quote_id {
            let book = self
                .quotes
                .as_ref()
                .ok_or_else(|| invalid("this anchor gives no quotes: leave out quote_id"))?;
            if !book.take(&mut tx, q, &row.id, row.started_at).await? {
                // Taken (or expired) since it was read.
                return Err(invalid("quote already used"));
            }
        }
        store::insert(&mut tx, row).await?;
        let actor = format!("partner:{partner}");
        let detail = format!("{} {}", row.amount_in, row.amount_in_asset);
        crate::audit::record(
            &mut tx,
            &actor,
            "sep31.create",
            Some(&row.id),
            Some(&detail),
            row.started_at,
        )
        .await?;
        self.notify(&mut tx, row, "transaction_created", false)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The caller's transaction `id`, or 404 (unknown, malformed and
    /// another's alike).
    async fn own(&self, caller: &Principal, id: &str) -> Result<TxRow, PaymentError> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(PaymentError::NotFound);
        }
        store::get(self.db.reader(), id)
            .await?
            .filter(|t| {
                let kind = if t.memo.is_empty() { "" } else { "id" };
                caller.may_reach(&t.account, &t.memo, kind)
            })
            .ok_or(PaymentError::NotFound)
    }

    /// `GET /transactions/{id}` (SEP-31 §GET Transaction).
    pub async fn get(&self, caller: &Principal, id: &str) -> Result<Value, PaymentError> {
        let t = self.own(caller, id).await?;
        Ok(json!({ "transaction": view::public(&t) }))
    }

    /// `PUT /transactions/{id}/callback` (SEP-31 §PUT Transaction
    /// Callback): the URL later status changes are POSTed to, replacing
    /// any before.
    pub async fn set_callback(
        &self,
        caller: &Principal,
        id: &str,
        raw: &[u8],
    ) -> Result<(), PaymentError> {
        let t = self.own(caller, id).await?;
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            url: String,
        }
        let body: Body = serde_json::from_slice(raw)
            .map_err(|_| invalid("body must be JSON {\"url\": \"https://…\"}"))?;
        let url = outbox::check_callback_url(&body.url, &self.cfg.callbacks.allow_http_hosts)
            .await
            .map_err(PaymentError::Invalid)?;
        let dev = &self.cfg.callbacks.allow_http_hosts;
        let webhook = self.cfg.webhook_url.as_ref().and_then(|w| w.host_str());
        let own = webhook.is_some_and(|w| url.host_str() == Some(w));
        if own && !crate::net::host_port(&url).is_some_and(|hp| dev.contains(&hp)) {
            // Its bodies would be signed as the business server's webhooks are.
            return Err(invalid("url must not be on the anchor's own webhook host"));
        }
        store::set_callback(&self.db, &t.id, url.as_str()).await?;
        Ok(())
    }

    /// In `tx`: the webhook to the business server for `event`, and when
    /// the status changed, the SEP-31 callback to the sending anchor (its
    /// URL for this transaction, else its partner's).
    pub(super) async fn notify(
        &self,
        tx: &mut crate::db::Tx,
        t: &TxRow,
        event: &str,
        status_changed: bool,
    ) -> Result<(), DbError> {
        let now = self.now();
        if let Some(url) = &self.cfg.webhook_url {
            let body = json!({ "event": event, "transaction": view::staff(t) }).to_string();
            let stream = format!("{}:webhook", t.id);
            PAYMENTS
                .enqueue(tx, &stream, url.as_str(), &body, now)
                .await?;
        }
        let partner_url = self
            .partners
            .named(&t.partner)
            .and_then(|p| p.callback_url.as_ref())
            .map(|u| u.to_string());
        if status_changed && let Some(url) = t.callback_url.clone().or(partner_url) {
            let body = json!({ "transaction": view::public(t) }).to_string();
            let stream = format!("{}:callback", t.id);
            PAYMENTS.enqueue(tx, &stream, &url, &body, now).await?;
        }
        Ok(())
    }
}
