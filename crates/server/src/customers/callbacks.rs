//! Status-change callbacks (SEP-12 §Customer callback PUT), through the
//! shared outbox ([`crate::outbox`]): written in the transaction that
//! changed the status, delivered in order per customer, signed, retried.

use super::view::CustomerView;
use crate::db::{DbError, Tx};
use crate::outbox::Outbox;

/// The customers' outbox: one stream per customer.
pub const CUSTOMERS: Outbox = Outbox {
    table: "callback_outbox",
    stream: "customer_id",
    what: "customer callback",
};

/// A callback to enqueue with a change.
#[derive(Debug)]
pub struct Callback {
    /// Where.
    pub url: String,
    /// The new status, as GET answers it.
    pub body: String,
    /// The status is final: forget the URL after this one.
    pub last: bool,
}

/// The callback a change calls for (SEP-12 §Customer callback PUT): one
/// when the status changed and a URL is registered; "Anchors will submit
/// POST requests until the user's status changes to ACCEPTED or REJECTED",
/// so a final status is the last one.
pub fn for_change(
    url: Option<&str>,
    before: &CustomerView,
    after: &CustomerView,
) -> Option<Callback> {
    let url = url.filter(|_| before.status != after.status)?;
    Some(Callback {
        url: url.to_owned(),
        body: serde_json::to_string(after).expect("a view always serialises"),
        last: matches!(after.status, "ACCEPTED" | "REJECTED"),
    })
}

/// Records `cb` in the transaction of the change it reports, so that a
/// change is never recorded without its callback.
pub async fn record(
    tx: &mut Tx,
    customer_id: &str,
    cb: &Callback,
    now: i64,
) -> Result<(), DbError> {
    CUSTOMERS
        .enqueue(tx, customer_id, &cb.url, &cb.body, now)
        .await?;
    if cb.last {
        super::store::set_callback(tx, customer_id, None).await?;
    }
    Ok(())
}
