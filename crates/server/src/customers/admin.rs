//! SEP-12's admin routes for compliance staff, mounted by the admin
//! listener behind the admin token ([`crate::http::require_admin`]). Every
//! decision and every read of personal data is audited.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::review::{Detail, Summary};
use super::view::CustomerView;
use super::{Customers, Decision};
use crate::audit::AuditEntry;
use crate::error::ApiError;
use crate::http::{Actor, Path, Query, RawBody};
use crate::openapi::ErrorBody;
use crate::state::With;

/// The SEP-12 admin routes.
pub fn router() -> OpenApiRouter<With<Customers>> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(document))
        .routes(routes!(accept))
        .routes(routes!(reject))
        .routes(routes!(request_info))
        .routes(routes!(field))
        .routes(routes!(audit))
}

/// `GET /admin/customers`' body.
#[derive(Serialize, ToSchema)]
#[schema(as = admin::CustomerList)]
struct CustomerList {
    /// The page, by id.
    customers: Vec<Summary>,
    /// The `after` of the next page; absent at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    next: Option<String>,
}

/// `GET /admin/audit`'s body.
#[derive(Serialize, ToSchema)]
#[schema(as = admin::AuditLog)]
struct AuditLog {
    /// Newest first.
    entries: Vec<AuditEntry>,
}

fn limit(q: &Query) -> Result<i64, ApiError> {
    q.0.get("limit")
        .map_or(Ok(100), str::parse)
        .map_err(|_| ApiError::bad_request("limit must be a number"))
}

/// `GET /admin/customers?status=&type=&after=&limit=`: no personal data;
/// `next` is the `after` of the next page (absent at the end; a filtered
/// page may be short with a `next` to go on from).
#[utoipa::path(
    get, path = "/admin/customers", tag = "Customers", operation_id = "admin_customers_list",
    summary = "SEP-12 customers by id, without personal data (docs/kyc.md)",
    params(
        ("status" = Option<String>, Query, description = "Only with this status for their latest type: `ACCEPTED`, `PROCESSING`, `NEEDS_INFO` or `REJECTED` (another value matches none)."),
        ("type" = Option<String>, Query, description = "Only whose latest type is this."),
        ("after" = Option<String>, Query, description = "The page after this customer id: the `next` of the page before."),
        ("limit" = Option<i64>, Query, description = "At most this many, 1 to 500 (others are brought into that range); default 100."),
    ),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The page; a filtered page may be short with a `next` to go on from. Audited.", body = CustomerList),
        (status = 400, description = "`limit` is not a number, `after` holds a NUL, or the `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
    ),
)]
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
    Ok(Json(CustomerList {
        customers: list,
        next,
    })
    .into_response())
}

/// `GET /admin/customers/{id}`: decrypted; audited.
#[utoipa::path(
    get, path = "/admin/customers/{id}", tag = "Customers", operation_id = "admin_customer_get",
    summary = "A SEP-12 customer in full, decrypted; an audited read (docs/kyc.md)",
    params(("id" = String, Path, description = "The customer's SEP-12 `id`."),),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The customer: fields, statuses for each type, inherited attributes.", body = Detail),
        (status = 400, description = "The `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
        (status = 404, description = "No customer has this id.", body = ErrorBody),
    ),
)]
async fn show(
    State(s): State<With<Customers>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.detail(&actor, &id).await?).into_response())
}

/// `GET /admin/customers/{id}/files/{file_id}`: the document; audited.
#[utoipa::path(
    get, path = "/admin/customers/{id}/files/{file_id}", tag = "Customers", operation_id = "admin_customer_file",
    summary = "A customer's document, decrypted; an audited read (docs/kyc.md)",
    params(
        ("id" = String, Path, description = "The customer's SEP-12 `id`."),
        ("file_id" = String, Path, description = "The file's id, a field's `file_id`."),
    ),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The document's bytes, in the format it was uploaded in.", content(
            ("image/jpeg"),
            ("image/png"),
            ("application/pdf"),
            ("video/mp4"),
            ("video/webm"),
        )),
        (status = 400, description = "The `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
        (status = 404, description = "No customer has this id, or it has no file with this id.", body = ErrorBody),
    ),
)]
async fn document(
    State(s): State<With<Customers>>,
    Actor(actor): Actor,
    Path((id, file_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (content_type, bytes) = s.document(&actor, &id, &file_id).await?;
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

/// Body of the decision endpoints; each reads the fields it needs, an
/// empty body is `{}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = admin::Decision)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    /// The SEP-12 type decided on; default the customer's latest.
    #[serde(rename = "type")]
    kind: Option<String>,
    /// Why, for the customer (at most 1000 bytes); required to reject.
    reason: Option<String>,
    /// `request-info`: the SEP-9 fields to ask for again (provided ones).
    fields: Option<Vec<String>>,
    /// `fields/{name}`: the field's new status: `ACCEPTED`, `PROCESSING`,
    /// `REJECTED` or `VERIFICATION_REQUIRED`.
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
#[utoipa::path(
    post, path = "/admin/customers/{id}/accept", tag = "Customers", operation_id = "admin_customer_accept",
    summary = "Accept a customer for a type: every provided field ACCEPTED (SEP-12 §Customer Statuses)",
    params(("id" = String, Path, description = "The customer's SEP-12 `id`."),),
    request_body(content = Option<DecisionBody>, content_type = "application/json",
                 description = "Read as JSON whatever its `Content-Type`; may be empty."),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Decided and audited; the customer's status for the type now (its callback fires if it changed).", body = CustomerView),
        (status = 400, description = "The body is not the JSON shown, the type is not configured, the reason is over 1000 bytes or holds a NUL, or the `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
        (status = 404, description = "No customer has this id.", body = ErrorBody),
    ),
)]
async fn accept(
    State(s): State<With<Customers>>,
    Actor(a): Actor,
    Path(id): Path<String>,
    RawBody(raw): RawBody,
) -> Result<Response, ApiError> {
    decide(&s, &a, &id, body(&raw)?, Decision::Accept).await
}

/// `POST /admin/customers/{id}/reject` `{"type"?, "reason"}`.
#[utoipa::path(
    post, path = "/admin/customers/{id}/reject", tag = "Customers", operation_id = "admin_customer_reject",
    summary = "Reject a customer for a type, for good (SEP-12 §Customer Statuses, REJECTED)",
    params(("id" = String, Path, description = "The customer's SEP-12 `id`."),),
    request_body(content = Option<DecisionBody>, content_type = "application/json",
                 description = "Read as JSON whatever its `Content-Type`; may be empty."),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Decided and audited; the customer's status for the type now (its callback fires if it changed).", body = CustomerView),
        (status = 400, description = "The body is not the JSON shown, the type is not configured, the reason is over 1000 bytes or holds a NUL, or no reason is given (SEP-12: REJECTED needs a message), or the `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
        (status = 404, description = "No customer has this id.", body = ErrorBody),
    ),
)]
async fn reject(
    State(s): State<With<Customers>>,
    Actor(a): Actor,
    Path(id): Path<String>,
    RawBody(raw): RawBody,
) -> Result<Response, ApiError> {
    decide(&s, &a, &id, body(&raw)?, Decision::Reject).await
}

/// `POST /admin/customers/{id}/request-info` `{"fields": [...], "reason"?}`.
#[utoipa::path(
    post, path = "/admin/customers/{id}/request-info", tag = "Customers", operation_id = "admin_customer_request_info",
    summary = "Ask a customer for fields again: they become REJECTED with the reason (SEP-12 §Provided Field Statuses)",
    params(("id" = String, Path, description = "The customer's SEP-12 `id`."),),
    request_body(content = Option<DecisionBody>, content_type = "application/json",
                 description = "Read as JSON whatever its `Content-Type`; may be empty."),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Decided and audited; the customer's status for the type now (its callback fires if it changed).", body = CustomerView),
        (status = 400, description = "The body is not the JSON shown, the type is not configured, the reason is over 1000 bytes or holds a NUL, `fields` is empty, or names a field that is not SEP-9 or not provided, or the `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
        (status = 404, description = "No customer has this id.", body = ErrorBody),
    ),
)]
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
#[utoipa::path(
    post, path = "/admin/customers/{id}/fields/{name}", tag = "Customers", operation_id = "admin_customer_field_status",
    summary = "Set one provided field's status (SEP-12 §Provided Field Statuses)",
    params(
        ("id" = String, Path, description = "The customer's SEP-12 `id`."),
        ("name" = String, Path, description = "The SEP-9 field."),
    ),
    request_body(content = Option<DecisionBody>, content_type = "application/json",
                 description = "Read as JSON whatever its `Content-Type`; may be empty."),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Decided and audited; the customer's status for the type now (its callback fires if it changed).", body = CustomerView),
        (status = 400, description = "The body is not the JSON shown, the type is not configured, the reason is over 1000 bytes or holds a NUL, `status` is missing or not a field status, or the `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
        (status = 404, description = "No customer has this id, or it has not provided this field.", body = ErrorBody),
    ),
)]
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
#[utoipa::path(
    get, path = "/admin/audit", tag = "Customers", operation_id = "admin_audit",
    summary = "The audit log, newest first",
    params(
        ("customer_id" = Option<String>, Query, description = "Only entries about this customer (or account, or transaction)."),
        ("limit" = Option<i64>, Query, description = "At most this many, 1 to 1000 (others are brought into that range); default 100."),
    ),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The entries.", body = AuditLog),
        (status = 400, description = "`limit` is not a number, `customer_id` holds a NUL, or the `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
    ),
)]
async fn audit(
    State(customers): State<With<Customers>>,
    Actor(_): Actor,
    q: Query,
) -> Result<Response, ApiError> {
    let entries = customers
        .audit_log(q.0.get("customer_id"), limit(&q)?)
        .await?;
    Ok(Json(AuditLog { entries }).into_response())
}
