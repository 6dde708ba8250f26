//! The admin API for compliance staff, served on its own listener
//! (`admin.bind`, loopback by default). It takes the admin token from the
//! configuration and nothing else: a SEP-10 session token never opens it.
//! Every decision and every read of personal data is audited.

use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use crate::app::AppState;
use crate::customers::Decision;
use crate::error::{self, ApiError};

/// The admin token, kept as a hash for constant-time comparison.
#[derive(Clone)]
pub struct AdminToken([u8; 32]);

impl AdminToken {
    /// From the configured secret.
    pub fn new(token: &SecretString) -> Self {
        AdminToken(Sha256::digest(token.expose_secret().as_bytes()).into())
    }

    fn matches(&self, presented: &str) -> bool {
        let h: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        h.ct_eq(&self.0).into()
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken([REDACTED])")
    }
}

/// Who is acting: `admin`, or `admin:<name>` from the `X-Mooring-Actor`
/// header (letters, digits, `@._-`, at most 64).
pub struct Actor(pub String);

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "missing admin token: send Authorization: Bearer <admin token>",
                )
            })?;
        if !state.admin_token().matches(presented.trim()) {
            return Err(ApiError::unauthorized("admin token is not valid"));
        }
        let name = parts
            .headers
            .get("x-mooring-actor")
            .and_then(|v| v.to_str().ok());
        Ok(Actor(match name {
            Some(n)
                if !n.is_empty()
                    && n.len() <= 64
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"@._-".contains(&b)) =>
            {
                format!("admin:{n}")
            }
            Some(_) => {
                return Err(ApiError::bad_request(
                    "X-Mooring-Actor must be 1 to 64 letters, digits or @._-",
                ));
            }
            None => "admin".to_owned(),
        }))
    }
}

/// The admin routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/admin/customers", get(list))
        .route("/admin/customers/{id}", get(show))
        .route("/admin/customers/{id}/files/{file_id}", get(document))
        .route("/admin/customers/{id}/accept", post(accept))
        .route("/admin/customers/{id}/reject", post(reject))
        .route("/admin/customers/{id}/request-info", post(request_info))
        .route("/admin/customers/{id}/fields/{name}", post(field))
        .route("/admin/audit", get(audit))
        .route(
            "/admin/recovery/accounts/{address}/signers",
            post(add_recovery_signer),
        )
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// `GET /admin/customers?status=&after=&limit=`: no personal data.
async fn list(
    State(s): State<AppState>,
    Actor(actor): Actor,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(q.as_deref());
    let limit = param(&pairs, "limit")
        .map_or(Ok(100), str::parse)
        .map_err(|_| ApiError::bad_request("limit must be a number"))?;
    let list = s
        .customers()
        .list(
            &actor,
            param(&pairs, "status"),
            param(&pairs, "after"),
            limit,
        )
        .await?;
    Ok(Json(serde_json::json!({ "customers": list })).into_response())
}

/// `GET /admin/customers/{id}`: decrypted; audited.
async fn show(
    State(s): State<AppState>,
    Actor(actor): Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.customers().detail(&actor, &id).await?).into_response())
}

/// `GET /admin/customers/{id}/files/{file_id}`: the document; audited.
async fn document(
    State(s): State<AppState>,
    Actor(actor): Actor,
    Path((id, file_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (content_type, bytes) = s.customers().document(&actor, &id, &file_id).await?;
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

fn body(raw: &axum::body::Bytes) -> Result<DecisionBody, ApiError> {
    if raw.is_empty() {
        return Ok(DecisionBody::default());
    }
    serde_json::from_slice(raw).map_err(|_| {
        ApiError::bad_request("body must be JSON: {\"type\", \"reason\", \"fields\", \"status\"}")
    })
}

async fn decide(
    s: &AppState,
    actor: &str,
    id: &str,
    b: DecisionBody,
    d: Decision,
) -> Result<Response, ApiError> {
    if b.reason.as_ref().is_some_and(|r| r.len() > 1000) {
        return Err(ApiError::bad_request(
            "reason is longer than 1000 characters",
        ));
    }
    let view = s
        .customers()
        .decide(actor, id, b.kind.as_deref(), d, b.reason.as_deref())
        .await?;
    Ok((StatusCode::OK, Json(view)).into_response())
}

/// `POST /admin/customers/{id}/accept` `{"type"?, "reason"?}`.
async fn accept(
    State(s): State<AppState>,
    Actor(a): Actor,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, ApiError> {
    decide(&s, &a, &id, body(&raw)?, Decision::Accept).await
}

/// `POST /admin/customers/{id}/reject` `{"type"?, "reason"}`.
async fn reject(
    State(s): State<AppState>,
    Actor(a): Actor,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, ApiError> {
    decide(&s, &a, &id, body(&raw)?, Decision::Reject).await
}

/// `POST /admin/customers/{id}/request-info` `{"fields": [...], "reason"?}`.
async fn request_info(
    State(s): State<AppState>,
    Actor(a): Actor,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b = body(&raw)?;
    let fields = b.fields.clone().unwrap_or_default();
    decide(&s, &a, &id, b, Decision::RequestInfo(fields)).await
}

/// `POST /admin/customers/{id}/fields/{name}` `{"status", "reason"?}`.
async fn field(
    State(s): State<AppState>,
    Actor(a): Actor,
    Path((id, name)): Path<(String, String)>,
    raw: axum::body::Bytes,
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
    State(s): State<AppState>,
    Actor(_): Actor,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(q.as_deref());
    let limit = param(&pairs, "limit")
        .map_or(Ok(100), str::parse)
        .map_err(|_| ApiError::bad_request("limit must be a number"))?;
    let entries = s
        .customers()
        .audit_log(param(&pairs, "customer_id"), limit)
        .await?;
    Ok(Json(serde_json::json!({ "entries": entries })).into_response())
}

/// `POST /admin/recovery/accounts/{address}/signers`: a new signing key for
/// a SEP-30 account (§Signing Key Rotation), listed first; the old ones keep
/// working until the account's owner removes them.
async fn add_recovery_signer(
    State(s): State<AppState>,
    Actor(actor): Actor,
    Path(address): Path<String>,
) -> Result<Response, ApiError> {
    let address = mooring_stellar::PublicKey::parse(&address)
        .map_err(|_| ApiError::bad_request("address must be a Stellar account address (G…)"))?
        .to_string();
    Ok(Json(s.recovery().add_signer(&actor, &address).await?).into_response())
}
