//! What staff, the business server and the background sweeps do to SEP-31
//! transactions (docs/payments.md §Status machine): every move checked
//! against the status machine, audited, and reported through the outbox in
//! the same database transaction.

use serde::Deserialize;
use serde_json::{Value, json};

use super::amounts;
use super::service::{PaymentError, Payments, invalid};
use super::status::{ALL, Status};
use super::store::{self, TxRow};
use super::view;
use crate::audit;
use crate::db::Tx;

/// `POST /admin/transactions/{id}/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Update {
    /// Where to.
    pub status: String,
    /// For the sending anchor (`status_message`, or with
    /// `pending_customer_info_update` its `required_info_message`).
    pub message: Option<String>,
    /// The payout's reference.
    pub external_transaction_id: Option<String>,
    /// What the receiver gets (needed to complete when not known yet).
    pub amount_out: Option<String>,
    /// With `pending_customer_info_update`: `sender` or `receiver`.
    pub customer: Option<String>,
    /// With `pending_customer_info_update`: the SEP-9 fields to give again.
    pub fields: Option<Vec<String>>,
}

/// `POST /admin/transactions/{id}/refund`: the payment sent back.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refund {
    /// The Stellar transaction hash of the refund.
    pub stellar_transaction_id: String,
    /// Sent back.
    pub amount: String,
    /// Kept for the refund.
    #[serde(default)]
    pub fee: Option<String>,
    /// For the sending anchor.
    pub message: Option<String>,
}

/// Longest `message`.
const MAX_MESSAGE: usize = 500;
/// Most fields asked for again at once.
const MAX_FIELDS: usize = 50;

fn short(m: Option<String>, what: &str) -> Result<Option<String>, PaymentError> {
    match m {
        Some(m) if m.chars().count() > MAX_MESSAGE => Err(invalid(format!(
            "{what} is longer than {MAX_MESSAGE} characters"
        ))),
        // Stored as text, which PostgreSQL refuses with a NUL in it.
        Some(m) if m.contains('\0') => {
            Err(invalid(format!("{what} must not contain NUL characters")))
        }
        m => Ok(m.filter(|m| !m.is_empty())),
    }
}

/// 404 for an id that is not a UUID: no transaction has one (they are
/// made with UUIDs), and one with a NUL would fail in PostgreSQL as a 500.
fn known(id: &str) -> Result<(), PaymentError> {
    match uuid::Uuid::parse_str(id) {
        Ok(_) => Ok(()),
        Err(_) => Err(PaymentError::NotFound),
    }
}

impl Payments {
    /// In `tx`: writes `after` if `before` is still current, audits the
    /// move under `actor` and reports it. 409 when another change came
    /// first.
    pub(super) async fn change(
        &self,
        tx: &mut Tx,
        before: &TxRow,
        mut after: TxRow,
        actor: &str,
        action: &str,
    ) -> Result<TxRow, PaymentError> {
        let now = self.now();
        after.updated_at = now;
        if !store::save(tx, &after, before.version).await? {
            return Err(PaymentError::Conflict(
                "the transaction changed meanwhile; read it again".into(),
            ));
        }
        let detail = format!("{} -> {}", before.status, after.status);
        audit::record(&mut *tx, actor, action, Some(&after.id), Some(&detail), now).await?;
        let moved = before.status != after.status;
        let event = if moved { "status_changed" } else { "updated" };
        self.notify(tx, &after, event, moved).await?;
        Ok(after)
    }

    /// A sweep's move: made and committed, or skipped (`false`) when the
    /// transaction changed since it was read.
    async fn sweep(
        &self,
        mut tx: Tx,
        before: &TxRow,
        after: TxRow,
        actor: &str,
        action: &str,
    ) -> Result<bool, PaymentError> {
        match self.change(&mut tx, before, after, actor, action).await {
            Ok(_) => {
                tx.commit().await?;
                Ok(true)
            }
            Err(PaymentError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn current(&self, tx: &mut Tx, id: &str) -> Result<(TxRow, Status), PaymentError> {
        known(id)?;
        let row = store::get(&mut *tx, id)
            .await?
            .ok_or(PaymentError::NotFound)?;
        let status = Status::parse(&row.status).unwrap_or(Status::Error);
        Ok((row, status))
    }

    /// Staff's list, oldest first (no personal data: customers by id).
    pub async fn list(
        &self,
        status: Option<&str>,
        partner: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Value, PaymentError> {
        if let Some(s) = status
            && Status::parse(s).is_none()
        {
            return Err(invalid(format!(
                "status must be one of {}",
                ALL.map(Status::as_str).join(", ")
            )));
        }
        if partner.is_some_and(|p| p.contains('\0')) {
            return Err(invalid("partner must not contain NUL characters"));
        }
        let cursor = match after {
            Some(id) => {
                known(id).map_err(|_| invalid("after names no transaction"))?;
                let t = store::get(self.db.reader(), id)
                    .await?
                    .ok_or_else(|| invalid("after names no transaction"))?;
                Some((t.started_at, t.id))
            }
            None => None,
        };
        let rows = store::list(
            self.db.reader(),
            status,
            partner,
            cursor.as_ref().map(|(a, i)| (*a, i.as_str())),
            limit,
        )
        .await?;
        let list: Vec<Value> = rows.iter().map(view::staff).collect();
        Ok(json!({ "transactions": list }))
    }

    /// One transaction for staff, with its history from the audit log.
    pub async fn show(&self, id: &str) -> Result<Value, PaymentError> {
        known(id)?;
        let t = store::get(self.db.reader(), id)
            .await?
            .ok_or(PaymentError::NotFound)?;
        let history = audit::list(self.db.reader(), Some(id), 1000).await?;
        let mut v = view::staff(&t);
        v["history"] = json!(history.into_iter().rev().collect::<Vec<_>>());
        Ok(json!({ "transaction": v }))
    }

    /// Moves a transaction as staff or the business server asks; 409
    /// naming the current status for a move the machine does not allow.
    pub async fn update(&self, actor: &str, id: &str, u: Update) -> Result<Value, PaymentError> {
        let to = Status::parse(&u.status).ok_or_else(|| {
            invalid(format!(
                "status must be one of {}",
                ALL.map(Status::as_str).join(", ")
            ))
        })?;
        let message = short(u.message, "message")?;
        let external = short(u.external_transaction_id, "external_transaction_id")?;
        let amount_out = u
            .amount_out
            .map(|a| amounts::parse(&a).map(amounts::text))
            .map(|a| a.ok_or_else(|| invalid("amount_out must be a positive amount")))
            .transpose()?;
        known(id)?;
        let row = store::get(self.db.reader(), id)
            .await?
            .ok_or(PaymentError::NotFound)?;
        let from = Status::parse(&row.status).unwrap_or(Status::Error);
        if !from.staff_may_move_to().contains(&to) {
            return Err(PaymentError::Conflict(from.refusal(to.as_str())));
        }
        if from == Status::PendingSender && row.amount_received.is_some() {
            return Err(PaymentError::Conflict(
                "the transaction is pending_sender and paid in part: refund what was received instead"
                    .into(),
            ));
        }
        let mut after = row.clone();
        after.status = to.as_str().to_owned();
        after.status_message = message.clone();
        if let Some(e) = external {
            after.external_transaction_id = Some(e);
        }
        if let Some(a) = amount_out {
            after.amount_out = Some(a);
        }
        match to {
            Status::PendingCustomerInfoUpdate => {
                // SEP-31 §Pending Customer Info Update: the customer's SEP-12
                // status becomes NEEDS_INFO for these fields.
                let mut fields = u.fields.filter(|f| !f.is_empty()).ok_or_else(|| {
                    invalid("fields is required: the SEP-9 fields the sender must give again")
                })?;
                fields.sort();
                fields.dedup();
                if fields.len() > MAX_FIELDS || fields.iter().any(|f| f.is_empty() || f.len() > 64)
                {
                    return Err(invalid(format!(
                        "fields must be at most {MAX_FIELDS} SEP-9 field names"
                    )));
                }
                let (customer, kind) = match u.customer.as_deref() {
                    Some("sender") => (&row.sender_id, &row.sender_type),
                    Some("receiver") => (&row.receiver_id, &row.receiver_type),
                    _ => return Err(invalid("customer must be sender or receiver")),
                };
                self.records
                    .request_info(actor, customer, kind, &fields, message.as_deref())
                    .await?;
                // Asking again for fields the type does not require leaves
                // the customer ACCEPTED, and the transaction would resume
                // at once: say so instead.
                let kinds = [kind.clone()];
                let still = self.records.customer(customer, &kinds).await?;
                if still.is_some_and(|s| s.accepted.is_some()) {
                    return Err(invalid(format!(
                        "the {} stays ACCEPTED as {kind}: ask for fields that type requires",
                        u.customer.as_deref().unwrap_or_default()
                    )));
                }
                after.required_info_message = Some(message.clone().unwrap_or_else(|| {
                    format!(
                        "update the {}'s {} through SEP-12 PUT /customer",
                        u.customer.as_deref().unwrap_or_default(),
                        fields.join(", ")
                    )
                }));
            }
            Status::Completed => {
                if after.amount_out.is_none() {
                    return Err(invalid(
                        "amount_out is required to complete: the amount delivered",
                    ));
                }
                after.completed_at = Some(self.now());
            }
            _ => {}
        }
        if to != Status::PendingCustomerInfoUpdate {
            // Only while customer updates are awaited (SEP-31 §GET Transaction).
            after.required_info_message = None;
        }
        let mut tx = self.db.begin().await?;
        let after = self
            .change(&mut tx, &row, after, actor, "sep31.status")
            .await?;
        tx.commit().await?;
        Ok(json!({ "transaction": view::staff(&after) }))
    }

    /// Records the refund of a paid transaction, which ends it `refunded`
    /// (SEP-31 §Refunds Object Schema).
    pub async fn refund(&self, actor: &str, id: &str, r: Refund) -> Result<Value, PaymentError> {
        let hash = r.stellar_transaction_id.to_ascii_lowercase();
        if hash.len() != 64 || hex::decode(&hash).is_err() {
            return Err(invalid(
                "stellar_transaction_id must be a Stellar transaction hash (64 hex digits)",
            ));
        }
        let amount =
            amounts::parse(&r.amount).ok_or_else(|| invalid("amount must be a positive amount"))?;
        let fee = match r.fee.as_deref() {
            None | Some("0") => rust_decimal::Decimal::ZERO,
            Some(f) => amounts::parse(f).ok_or_else(|| invalid("fee must be an amount"))?,
        };
        let message = short(r.message, "message")?;
        let mut tx = self.db.begin().await?;
        let (row, from) = self.current(&mut tx, id).await?;
        // Paid, or paid in part and still waiting for the rest.
        let part_paid = from == Status::PendingSender && row.amount_received.is_some();
        if !from.refundable() && !part_paid {
            return Err(PaymentError::Conflict(from.refusal("refunded")));
        }
        let paid = row
            .amount_received
            .as_deref()
            .and_then(amounts::parse)
            .or_else(|| amounts::parse(&row.amount_in))
            .unwrap_or_default();
        if amount + fee > paid {
            return Err(invalid(format!(
                "amount and fee exceed what was paid, {}",
                amounts::text(paid)
            )));
        }
        let (amount, fee) = (amounts::text(amount), amounts::text(fee));
        let mut after = row.clone();
        after.status = Status::Refunded.as_str().to_owned();
        after.status_message = message;
        after.required_info_message = None;
        after.refunds = Some(
            json!({
                "amount_refunded": amount,
                "amount_fee": fee,
                "payments": [{"id": hash, "amount": amount, "fee": fee}],
            })
            .to_string(),
        );
        let after = self
            .change(&mut tx, &row, after, actor, "sep31.refund")
            .await?;
        tx.commit().await?;
        Ok(json!({ "transaction": view::staff(&after) }))
    }

    /// Expires unpaid transactions past their time (SEP-31 §GET
    /// Transaction, `expired`: "If a SEP-38 quote was specified … the
    /// transaction should expire when the quote expires"). Answers how
    /// many.
    pub async fn expire_due(&self) -> Result<usize, PaymentError> {
        let now = self.now();
        let mut n = 0;
        for id in store::unpaid_due(self.db.reader(), now, 100).await? {
            let mut tx = self.db.begin().await?;
            let (row, status) = self.current(&mut tx, &id).await?;
            // Paid in part: money was received, so it is not abandoned
            // (SEP-31: expired means "funds were never received"); it
            // waits for the rest or a refund.
            if status != Status::PendingSender
                || row.expires_at >= now
                || row.amount_received.is_some()
            {
                continue;
            }
            let mut after = row.clone();
            after.status = Status::Expired.as_str().to_owned();
            after.status_message = Some("not paid in time".into());
            // Paid, or expired by another replica, meanwhile: skipped.
            n += usize::from(
                self.sweep(tx, &row, after, "expiry", "sep31.expire")
                    .await?,
            );
        }
        Ok(n)
    }

    /// Moves back to `pending_receiver` the transactions waiting for
    /// customer updates whose sender and receiver are ACCEPTED again
    /// (SEP-31 §Pending Customer Info Update, step 5). Answers how many.
    pub async fn resume_updated(&self) -> Result<usize, PaymentError> {
        let waiting = Status::PendingCustomerInfoUpdate.as_str();
        let mut n = 0;
        let mut ids: Vec<String> = Vec::new();
        loop {
            let after = ids.last().cloned().unwrap_or_default();
            let page = store::in_status(self.db.reader(), waiting, &after, 500).await?;
            let full = page.len() == 500;
            ids.extend(page);
            if !full {
                break;
            }
        }
        for id in ids {
            let Some(row) = store::get(self.db.reader(), &id).await? else {
                continue;
            };
            let mut accepted = true;
            for (cid, kind) in [
                (&row.sender_id, &row.sender_type),
                (&row.receiver_id, &row.receiver_type),
            ] {
                let kinds = [kind.clone()];
                let s = self.records.customer(cid, &kinds).await?;
                accepted &= s.is_some_and(|s| s.accepted.is_some());
            }
            if !accepted {
                continue;
            }
            let mut after = row.clone();
            after.status = Status::PendingReceiver.as_str().to_owned();
            after.status_message = None;
            after.required_info_message = None;
            let tx = self.db.begin().await?;
            // Moved meanwhile (by staff, or another replica): skipped.
            n += usize::from(self.sweep(tx, &row, after, "sep12", "sep31.status").await?);
        }
        Ok(n)
    }
}
