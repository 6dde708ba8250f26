//! Verification codes (SEP-12 §Verification): stored only as keyed hashes,
//! single-use, expiring, with a bounded number of attempts.

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::db::{DbError, Tx};
use crate::notify::{Mailer, SmsSender};
use crate::with_tx;

/// Sends verification codes (SEP-12 §Verification) to a phone or mailbox.
pub trait CodeSender: Send + Sync {
    /// Sends `code` for `field` of customer `customer_id` to `destination`.
    fn send<'a>(
        &'a self,
        customer_id: &'a str,
        field: &'a str,
        destination: &'a str,
        code: &'a str,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// Development sender: the code goes to the log (the destination does not).
#[derive(Debug, Default)]
pub struct LogSender;

impl CodeSender for LogSender {
    fn send<'a>(
        &'a self,
        customer_id: &'a str,
        field: &'a str,
        _destination: &'a str,
        code: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            tracing::info!(
                customer = customer_id,
                field,
                code,
                "verification code (log sender: development only)"
            );
            Ok(())
        })
    }
}

/// Sends codes to people (SEP-12 §Provided Field Statuses,
/// `VERIFICATION_REQUIRED`: "until a confirmation code is sent to the
/// customer and passed back"): `email_address` codes by mail, `mobile_number`
/// codes by text, through the server's shared senders (`[mail]`, `[sms]`).
/// The message says who sends it, what the code is for and when it expires;
/// nothing of it is logged here, and the senders' errors name neither the
/// destination nor the code.
pub struct NotifySender {
    mailer: Arc<dyn Mailer>,
    sms: Arc<dyn SmsSender>,
    /// Who is asking, as the person knows it: the server's host.
    anchor: String,
    /// How long a code is valid, in minutes (rounded up).
    minutes: u64,
}

impl std::fmt::Debug for NotifySender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NotifySender({})", self.anchor)
    }
}

impl NotifySender {
    /// Codes of `sep12.verification.code_ttl_secs` on behalf of `anchor`
    /// (the public host name), through `mailer` and `sms`.
    pub fn new(
        mailer: Arc<dyn Mailer>,
        sms: Arc<dyn SmsSender>,
        anchor: impl Into<String>,
        code_ttl_secs: u64,
    ) -> Self {
        NotifySender {
            mailer,
            sms,
            anchor: anchor.into(),
            minutes: code_ttl_secs.div_ceil(60).max(1),
        }
    }
}

impl CodeSender for NotifySender {
    fn send<'a>(
        &'a self,
        _customer_id: &'a str,
        field: &'a str,
        destination: &'a str,
        code: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        let (anchor, minutes) = (&self.anchor, self.minutes);
        match field {
            "email_address" => {
                let body = format!(
                    "Your code to confirm this email address with {anchor} is {code}\n\n\
                     It expires in {minutes} minutes. If you did not give this address to {anchor}, ignore this mail.\n"
                );
                Box::pin(async move {
                    self.mailer
                        .send(destination, "Confirm your email address", &body)
                        .await
                })
            }
            "mobile_number" => {
                // One SMS segment (160 GSM-7 characters) for usual host names.
                let text = format!(
                    "{code} is your code to confirm this phone number with {anchor}. It expires in {minutes} minutes."
                );
                Box::pin(async move { self.sms.send(destination, &text).await })
            }
            // config/validate.rs allows only the two fields above.
            other => {
                let e = format!("no way to send a code for {other}");
                Box::pin(async move { Err(e) })
            }
        }
    }
}

/// Stores (or replaces) the code for a field.
pub async fn put_code(
    tx: &mut Tx,
    customer_id: &str,
    field: &str,
    hash: &[u8],
    expires_at: i64,
) -> Result<(), DbError> {
    with_tx!(tx, e => sqlx::query(
        "INSERT INTO verification_codes (customer_id, field, code_hash, expires_at, attempts) VALUES ($1, $2, $3, $4, 0) \
         ON CONFLICT (customer_id, field) DO UPDATE SET code_hash = $3, expires_at = $4, attempts = 0",
    )
    .bind(customer_id)
    .bind(field)
    .bind(hash)
    .bind(expires_at)
    .execute(e)
    .await?
    .rows_affected());
    Ok(())
}

/// Checks a code. A match consumes it; a miss counts an attempt, and the
/// code is void once `max_attempts` misses are reached or it has expired.
pub async fn check_code(
    tx: &mut Tx,
    customer_id: &str,
    field: &str,
    hash: &[u8],
    now: i64,
    max_attempts: u32,
) -> Result<bool, DbError> {
    let row: Option<(Vec<u8>, i64, i64)> = with_tx!(tx, e => sqlx::query_as(
        "SELECT code_hash, expires_at, attempts FROM verification_codes WHERE customer_id = $1 AND field = $2",
    )
    .bind(customer_id)
    .bind(field)
    .fetch_optional(e)
    .await?);
    let Some((stored, expires_at, attempts)) = row else {
        return Ok(false);
    };
    let live = now < expires_at && attempts < i64::from(max_attempts);
    let matches = subtle::ConstantTimeEq::ct_eq(stored.as_slice(), hash).into();
    if live && matches {
        with_tx!(tx, e => sqlx::query("DELETE FROM verification_codes WHERE customer_id = $1 AND field = $2")
            .bind(customer_id)
            .bind(field)
            .execute(e)
            .await?
            .rows_affected());
        return Ok(true);
    }
    with_tx!(tx, e => sqlx::query("UPDATE verification_codes SET attempts = attempts + 1 WHERE customer_id = $1 AND field = $2")
        .bind(customer_id)
        .bind(field)
        .execute(e)
        .await?
        .rows_affected());
    Ok(false)
}
