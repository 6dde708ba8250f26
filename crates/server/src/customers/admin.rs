//! SEP-12's admin routes for compliance staff, mounted by the admin
//! listener behind the admin token ([`crate::http::require_admin`]). Every
//! decision and every read of personal data is audited.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::{Customers, Decision};
use crate::error::ApiError;
use crate::http::{Actor, Query, RawBody};
use crate::state::With;

/// The SEP-12 admin routes.
pub fn router() -> utoipa_axum::router::OpenApiRouter<With<Customers>> {
    utoipa_axum::router::OpenApiRouter::from(
        Router::new()
            .route("/admin/customers", get(list))
            .route("/admin/customers/{id}", get(show))
            .route("/admin/customers/{id}/files/{file_id}", get(document))
            .route("/admin/customers/{id}/accept", post(accept))
            .route("/admin/customers/{id}/reject", post(reject))
            .route("/admin/customers/{id}/request-info", post(request_info))
            .route("/admin/customers/{id}/fields/{name}", post(field))
            .route("/admin/audit", get(audit)),
    )
}

fn limit(q: &Query) -> Result<i64, ApiError> {
    q.0.get("limit")
        .map_or(Ok(100), str::parse)
        .map_err(|_| ApiError::bad_request("limit must be a number"))
}

/// `GET /admin/customers?status=&type=&after=&limit=`: no personal data;
/// `next` is the `after` of the next page (absent at the end; a filtered
/// page may be short with a `next` to go on from).
async fn list(
    State(customers): State<With<Customers>>,
    Actor(actor): Actor,
    q: Query,
) -> Result<Response, ApiError> {
    let (list, next) = customers
        .list(
            &actor,
            q.0.get("status"),
            q.0.get("type"),
            q.0.get("after"),
            limit(&q)?,
        )
        .await?;
    let mut body = serde_json::json!({ "customers": list });
    if let Some(n) = next {
        body["next"] = n.into();
    }
    Ok(Json(body).into_response())
}

/// `GET /admin/customers/{id}`: decrypted; audited.
async fn show(
    State(s): State<With<Customers>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.detail(&actor, &id).await?).into_response())
}

/// `GET /admin/customers/{id}/files/{file_id}`: the document; audited.
async fn document(
    State(s): State<With<Customers>>,
    Actor(actor): Actor,
    Path((id, file_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (content_type, bytes) = s.document(&actor, &id, &file_id).await?;
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

/// Body of the decision endpoints.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    reason: Option<String>,
    fields: Option<Vec<String>>,
    status: Option<String>,
}

fn body(raw: &[u8]) -> Result<DecisionBody, ApiError> {
    if raw.is_empty() {
        return Ok(DecisionBody::default());
    }
    serde_json::from_slice(raw).map_err(|_| {
        ApiError::bad_request("body must be JSON: {\"type\", \"reason\", \"fields\", \"status\"}")
    })
}

async fn decide(
    s: &Customers,
    actor: &str,
    id: &str,
    b: DecisionBody,
    d: Decision,
) -> Result<Response, ApiError> {
    let view = s
        .decide(actor, id, b.kind.as_deref(), d, b.reason.as_deref())
        .await?;
    Ok((StatusCode::OK, Json(view)).into_response())
}

/// `POST /admin/customers/{id}/accept` `{"type"?, "reason"?}`.
async fn accept(
    State(s): State<With<Customers>>,
    Actor(a): Actor,
    Path(id): Path<String>,
    RawBody(raw): RawBody,
) -> Result<Response, ApiError> {
    decide(&s, &a, &id, body(&raw)?, Decision::Accept).await
}

/// `POST /admin/customers/{id}/reject` `{"type"?, "reason"}`.
async fn reject(
    State(s): State<With<Customers>>,
    Actor(a): Actor,
    Path(id): Path<String>,
    RawBody(raw): RawBody,
) -> Result<Response, ApiError> {
    decide(&s, &a, &id, body(&raw)?, Decision::Reject).await
}

/// `POST /admin/customers/{id}/request-info` `{"fields": [...], "reason"?}`.
async fn request_info(
    State(s): State<With<Customers>>,
    Actor(a): Actor,
    Path(id): Path<String>,
    RawBody(raw): RawBody,
) -> Result<Response, ApiError> {
    let b = body(&raw)?;
    let fields = b.fields.clone().unwrap_or_default();
    decide(&s, &a, &id, b, Decision::RequestInfo(fields)).await
}

/// `POST /admin/customers/{id}/fields/{name}` `{"status", "reason"?}`.
async fn field(
    State(s): State<With<Customers>>,
    Actor(a): Actor,
    Path((id, name)): Path<(String, String)>,
    RawBody(raw): RawBody,
) -> Result<Response, ApiError> {
    let b = body(&raw)?;
    let status = b
        .status
        .clone()
        .ok_or_else(|| ApiError::bad_request("status is required"))?;
    decide(&s, &a, &id, b, Decision::Field(name, status)).await
}

/// `GET /admin/audit?customer_id=&limit=`.
async fn audit(
    State(customers): State<With<Customers>>,
    Actor(_): Actor,
    q: Query,
) -> Result<Response, ApiError> {
    let entries = customers
        .audit_log(q.0.get("customer_id"), limit(&q)?)
        .await?;
    Ok(Json(serde_json::json!({ "entries": entries })).into_response())
}
