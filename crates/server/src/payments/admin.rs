//! The payments' admin routes, behind the admin token: the business
//! server and staff list, read, move and refund SEP-31 transactions, and
//! see the payments the observer could not match.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::schema::{
    Observed, Outcome, RefundRequest, StaffDetail, StaffList, StaffResponse, Status, UpdateRequest,
};
use super::service::{Payments, invalid};
use super::staff::{Refund, Update};
use crate::error::ApiError;
use crate::http::{Actor, Path, Query, RawBody};
use crate::openapi::ErrorBody;
use crate::state::With;

/// The admin routes.
pub fn router() -> OpenApiRouter<With<Payments>> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(update))
        .routes(routes!(refund))
        .routes(routes!(payments))
}

fn body<T: DeserializeOwned>(raw: &[u8], shape: &str) -> Result<T, ApiError> {
    serde_json::from_slice(raw)
        .map_err(|_| ApiError::from(invalid(format!("body must be JSON {shape}"))))
}

fn limit(q: &Query) -> Result<i64, ApiError> {
    q.0.get("limit")
        .map(|l| {
            l.parse::<i64>()
                .ok()
                .filter(|l| (1..=500).contains(l))
                .ok_or_else(|| ApiError::bad_request("limit must be from 1 to 500"))
        })
        .transpose()
        .map(|l| l.unwrap_or(100))
}

/// `GET /admin/transactions?status=&partner=&after=&limit=`.
#[utoipa::path(
    get, path = "/admin/transactions", tag = "Transactions", operation_id = "admin_transactions_list",
    summary = "SEP-31 transactions, oldest first (docs/payments.md)",
    params(
        ("status" = Option<Status>, Query, description = "Only in this status."),
        ("partner" = Option<String>, Query, description = "Only of this partner (`[[partners]]` name)."),
        ("after" = Option<String>, Query, description = "The page after this transaction id (the last of the page before)."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500, description = "At most this many; default 100."),
    ),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The page.", body = StaffList),
        (status = 400, description = "`status` is not a SEP-31 status, `after` names no transaction, `partner` holds a NUL, `limit` is not 1 to 500, or the `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
    ),
)]
async fn list(
    State(p): State<With<Payments>>,
    Actor(_): Actor,
    q: Query,
) -> Result<Response, ApiError> {
    let v = p
        .list(
            q.0.get("status"),
            q.0.get("partner"),
            q.0.get("after"),
            limit(&q)?,
        )
        .await?;
    Ok(Json(v).into_response())
}

/// `GET /admin/transactions/{id}`: with its history.
#[utoipa::path(
    get, path = "/admin/transactions/{id}", tag = "Transactions", operation_id = "admin_transaction_get",
    summary = "A SEP-31 transaction with its history (docs/payments.md)",
    params(("id" = String, Path, description = "The transaction's `id`."),),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The transaction, and its audit log entries.", body = StaffDetail),
        (status = 400, description = "The `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
        (status = 404, description = "No transaction has this id.", body = ErrorBody),
    ),
)]
async fn show(
    State(p): State<With<Payments>>,
    Actor(_): Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(p.show(&id).await?).into_response())
}

/// `POST /admin/transactions/{id}/status` `{"status", "message", …}`.
#[utoipa::path(
    post, path = "/admin/transactions/{id}/status", tag = "Transactions", operation_id = "admin_transaction_status",
    summary = "Move a SEP-31 transaction (docs/payments.md §Status machine)",
    params(("id" = String, Path, description = "The transaction's `id`."),),
    request_body(content = UpdateRequest, content_type = "application/json",
                 description = "Read as JSON whatever its `Content-Type`."),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Moved, audited, and reported to the business server and the sending anchor.", body = StaffResponse),
        (status = 400, description = "The body is not the JSON shown, a field is invalid (`amount_out` to complete, `customer` and `fields` with `pending_customer_info_update`, messages of at most 500 characters, without NUL), the customer would stay ACCEPTED, or the `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
        (status = 404, description = "No transaction has this id.", body = ErrorBody),
        (status = 409, description = "The status machine does not allow it from the current status (the message names where the transaction can go), or the transaction changed meanwhile.", body = ErrorBody),
    ),
)]
async fn update(
    State(p): State<With<Payments>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    RawBody(raw): RawBody,
) -> Result<Response, ApiError> {
    let u: Update = body(
        &raw,
        "{\"status\", \"message\", \"external_transaction_id\", \"amount_out\", \"customer\", \"fields\"}",
    )?;
    Ok(Json(p.update(&actor, &id, u).await?).into_response())
}

/// `POST /admin/transactions/{id}/refund` `{"stellar_transaction_id", "amount", "fee"}`.
#[utoipa::path(
    post, path = "/admin/transactions/{id}/refund", tag = "Transactions", operation_id = "admin_transaction_refund",
    summary = "Record the refund of a paid SEP-31 transaction (SEP-31 §Refunds Object Schema)",
    params(("id" = String, Path, description = "The transaction's `id`."),),
    request_body(content = RefundRequest, content_type = "application/json",
                 description = "Read as JSON whatever its `Content-Type`."),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Recorded: the transaction is `refunded`.", body = StaffResponse),
        (status = 400, description = "The body is not the JSON shown, the hash is not 64 hex digits, an amount is invalid or more than was paid, the message is over 500 characters or holds a NUL, or the `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
        (status = 404, description = "No transaction has this id.", body = ErrorBody),
        (status = 409, description = "The transaction is not paid, or already final, or changed meanwhile.", body = ErrorBody),
    ),
)]
async fn refund(
    State(p): State<With<Payments>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    RawBody(raw): RawBody,
) -> Result<Response, ApiError> {
    let r: Refund = body(
        &raw,
        "{\"stellar_transaction_id\", \"amount\", \"fee\", \"message\"}",
    )?;
    Ok(Json(p.refund(&actor, &id, r).await?).into_response())
}

/// `GET /admin/payments?outcome=&limit=`: payments seen by the observer,
/// newest first; `outcome=unmatched` lists those staff must look at.
#[utoipa::path(
    get, path = "/admin/payments", tag = "Transactions", operation_id = "admin_payments_list",
    summary = "Payments the observer saw on Horizon, newest first (docs/payments.md)",
    params(
        ("outcome" = Option<Outcome>, Query, description = "Only with this outcome; `unmatched` lists those staff must look at."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500, description = "At most this many; default 100."),
    ),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The payments.", body = Observed),
        (status = 400, description = "`outcome` is not one of the outcomes, `limit` is not 1 to 500, or the `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
    ),
)]
async fn payments(
    State(p): State<With<Payments>>,
    Actor(_): Actor,
    q: Query,
) -> Result<Response, ApiError> {
    Ok(Json(p.observed(q.0.get("outcome"), limit(&q)?).await?).into_response())
}
