//! The payments' admin routes, behind the admin token: the business
//! server and staff list, read, move and refund SEP-31 transactions, and
//! see the payments the observer could not match.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;

use super::service::{Payments, invalid};
use super::staff::{Refund, Update};
use crate::error::ApiError;
use crate::http::{Actor, Query, RawBody};
use crate::state::With;

/// The admin routes.
pub fn router() -> utoipa_axum::router::OpenApiRouter<With<Payments>> {
    utoipa_axum::router::OpenApiRouter::from(
        Router::new()
            .route("/admin/transactions", get(list))
            .route("/admin/transactions/{id}", get(show))
            .route("/admin/transactions/{id}/status", post(update))
            .route("/admin/transactions/{id}/refund", post(refund))
            .route("/admin/payments", get(payments)),
    )
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
async fn show(
    State(p): State<With<Payments>>,
    Actor(_): Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(p.show(&id).await?).into_response())
}

/// `POST /admin/transactions/{id}/status` `{"status", "message", …}`.
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
async fn payments(
    State(p): State<With<Payments>>,
    Actor(_): Actor,
    q: Query,
) -> Result<Response, ApiError> {
    Ok(Json(p.observed(q.0.get("outcome"), limit(&q)?).await?).into_response())
}
