//! SEP-31 transactions received: a list filtered by status, one
//! transaction with its history, and only the moves the status machine
//! allows from where it stands (docs/payments.md §Status machine), each a
//! form — as `POST /admin/transactions/{id}/status` and `/refund`.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::Value;

use super::Console;
use super::page::{self, badge, csrf, time};
use super::session::{Posted, Session};
use crate::error::ApiError;
use crate::http::Query;
use crate::payments::{Refund, STATUSES, Status, Update};
use crate::state::With;

/// Transactions a page lists.
const PAGE: i64 = 50;

pub(super) fn router() -> Router<With<Console>> {
    Router::new()
        .route("/admin/console/transactions", get(list))
        .route("/admin/console/transactions/{id}", get(show))
        .route("/admin/console/transactions/{id}/status", post(update))
        .route("/admin/console/transactions/{id}/refund", post(refund))
}

fn text<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

/// The page saying SEP-31 is off.
fn off(session: &Session) -> Response {
    page::page(
        session,
        "Transactions",
        html! { p.note { "SEP-31 is not enabled on this server ([sep31] enabled = true)." } },
    )
}

/// `GET /admin/console/transactions?status=&after=`.
async fn list(State(console): State<With<Console>>, session: Session, q: Query) -> Response {
    let Some(payments) = console.payments.as_deref() else {
        return off(&session);
    };
    let status = q.0.get("status").filter(|s| !s.is_empty());
    let after = q.0.get("after").filter(|s| !s.is_empty());
    let got = match payments.list(status, None, after, PAGE).await {
        Ok(v) => v,
        Err(e) => return page::failed(&session, e.into()),
    };
    let rows = got["transactions"].as_array().cloned().unwrap_or_default();
    let next = (rows.len() as i64 == PAGE).then(|| rows.last().map(|t| text(t, "id").to_owned()));
    let body = html! {
        form.filters method="get" action="/admin/console/transactions" {
            label { "Status"
                select name="status" {
                    option value="" { "any" }
                    @for s in STATUSES.map(Status::as_str) {
                        option value=(s) selected[status == Some(s)] { (s) }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
        @if rows.is_empty() {
            p.note { "No transactions." }
        } @else {
            table {
                thead { tr { th { "Transaction" } th { "Status" } th { "Amount in" } th { "Partner" } th { "Started" } } }
                tbody {
                    @for t in &rows {
                        tr {
                            td.mono { a href={ "/admin/console/transactions/" (text(t, "id")) } { (text(t, "id")) } }
                            td { (badge(text(t, "status"))) }
                            td { (text(t, "amount_in")) " " span.note { (text(t, "amount_in_asset")) } }
                            td { (text(t, "partner")) }
                            td { (text(t, "started_at")) }
                        }
                    }
                }
            }
        }
        @if let Some(Some(last)) = next {
            p.pager { a href=(page::link("/admin/console/transactions", &[("status", status.unwrap_or("")), ("after", &last)])) { "Next page →" } }
        }
    };
    page::page(&session, "Transactions", body)
}

/// The form for one allowed move.
fn move_form(session: &Session, id: &str, to: Status) -> Markup {
    let action = format!("/admin/console/transactions/{id}/status");
    html! {
        form.card method="post" action=(action) {
            (csrf(session))
            input type="hidden" name="status" value=(to.as_str());
            @if to == Status::Completed {
                label { "Amount out (when not known yet)" input type="text" name="amount_out" placeholder="e.g. 95.50"; }
                " "
                label { "Payout reference" input type="text" name="external_transaction_id"; }
            }
            @if to == Status::PendingCustomerInfoUpdate {
                label { "Customer" select name="customer" { option value="sender" { "sender" } option value="receiver" { "receiver" } } }
                " "
                label { "Fields to give again (comma-separated)" input type="text" name="fields" placeholder="bank_account_number"; }
            }
            " "
            label { "Message for the sending anchor" input type="text" name="message"; }
            " "
            button class=(if to == Status::Error { "bad" } else { "good" }) type="submit" { "Move to " (to.as_str()) }
        }
    }
}

/// `GET /admin/console/transactions/{id}`.
async fn show(
    State(console): State<With<Console>>,
    session: Session,
    Path(id): Path<String>,
    q: Query,
) -> Response {
    let Some(payments) = console.payments.as_deref() else {
        return off(&session);
    };
    let got = match payments.show(&id).await {
        Ok(v) => v,
        Err(e) => return page::failed(&session, e.into()),
    };
    let t = &got["transaction"];
    let status = Status::parse(text(t, "status"));
    // Paid in part and still pending_sender: settled only by a refund
    // (docs/payments.md §Status machine), never moved.
    let part_paid = status == Some(Status::PendingSender) && !t["amount_received"].is_null();
    let moves = match part_paid {
        true => &[][..],
        false => status.map_or(&[][..], Status::staff_may_move_to),
    };
    let refundable = part_paid || status.is_some_and(Status::refundable);
    let history = t["history"].as_array().cloned().unwrap_or_default();
    let shown = [
        "status",
        "status_message",
        "amount_in",
        "amount_in_asset",
        "amount_out",
        "amount_out_asset",
        "amount_fee",
        "amount_received",
        "partner",
        "funding_method",
        "destination_asset",
        "quote_id",
        "stellar_account_id",
        "stellar_memo",
        "stellar_transaction_id",
        "external_transaction_id",
        "started_at",
        "updated_at",
        "completed_at",
        "expires_at",
    ];
    let body = html! {
        @if let Some(d) = q.0.get("done") { p.card role="status" { (d) } }
        table { tbody {
            @for k in shown {
                @let v = &t[k];
                @if !v.is_null() {
                    tr { th { (k) } td.mono { @if let Some(s) = v.as_str() { (s) } @else { (v.to_string()) } } }
                }
            }
            tr { th { "sender" } td { a href={ "/admin/console/customers/" (text(t, "sender_id")) } { (text(t, "sender_id")) } " (" (text(t, "sender_type")) ")" } }
            tr { th { "receiver" } td { a href={ "/admin/console/customers/" (text(t, "receiver_id")) } { (text(t, "receiver_id")) } " (" (text(t, "receiver_type")) ")" } }
        } }
        h2 { "Next steps" }
        @if moves.is_empty() && !refundable {
            p.note { "None: " (text(t, "status")) " is final, or only the payment observer moves it from here." }
        }
        @for to in moves { (move_form(&session, &id, *to)) }
        @if refundable {
            form.card method="post" action={ "/admin/console/transactions/" (id) "/refund" } {
                (csrf(&session))
                label { "Refund's Stellar transaction hash" input type="text" name="stellar_transaction_id" required; }
                " "
                label { "Amount sent back" input type="text" name="amount" required; }
                " "
                label { "Fee kept" input type="text" name="fee"; }
                " "
                button.bad type="submit" { "Record the refund" }
            }
        }
        h2 { "History" }
        table {
            thead { tr { th { "When" } th { "Who" } th { "What" } th { "Detail" } } }
            tbody { @for h in &history {
                tr { td { (time(h["at"].as_i64().unwrap_or(0))) } td { (text(h, "actor")) } td { (text(h, "action")) } td { (text(h, "detail")) } }
            } }
        }
    };
    page::page(&session, &format!("Transaction {id}"), body)
}

fn back(id: &str, done: &str) -> Response {
    page::done(&format!("/admin/console/transactions/{id}"), done)
}

fn optional(form: &crate::http::Pairs, k: &str) -> Option<String> {
    form.get(k)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// `POST …/status`: a move, as `POST /admin/transactions/{id}/status`.
async fn update(
    State(console): State<With<Console>>,
    Path(id): Path<String>,
    Posted { session, form }: Posted,
) -> Response {
    let Some(payments) = console.payments.as_deref() else {
        return off(&session);
    };
    let u = Update {
        status: form.text("status").to_owned(),
        message: optional(&form, "message"),
        external_transaction_id: optional(&form, "external_transaction_id"),
        amount_out: optional(&form, "amount_out"),
        customer: optional(&form, "customer")
            .filter(|_| form.text("status") == Status::PendingCustomerInfoUpdate.as_str()),
        fields: optional(&form, "fields").map(|f| {
            f.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        }),
    };
    let to = u.status.clone();
    match payments.update(&session.actor, &id, u).await {
        Ok(_) => back(&id, &format!("Moved to {to}.")),
        Err(e) => page::failed(&session, ApiError::from(e)),
    }
}

/// `POST …/refund`.
async fn refund(
    State(console): State<With<Console>>,
    Path(id): Path<String>,
    Posted { session, form }: Posted,
) -> Response {
    let Some(payments) = console.payments.as_deref() else {
        return off(&session);
    };
    let r = Refund {
        stellar_transaction_id: form.text("stellar_transaction_id").trim().to_owned(),
        amount: form.text("amount").trim().to_owned(),
        fee: optional(&form, "fee"),
        message: optional(&form, "message"),
    };
    match payments.refund(&session.actor, &id, r).await {
        Ok(_) => back(&id, "Refund recorded."),
        Err(e) => page::failed(&session, ApiError::from(e)),
    }
}
