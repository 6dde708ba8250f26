//! SEP-30 HTTP endpoints (§Endpoints). The caller is authenticated (by the
//! [`Caller`] extractor) before the body is read or the path is looked at.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, RawQuery, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use mooring_stellar::PublicKey;
use serde_json::json;

use super::model;
use super::sponsor::SponsorError;
use super::{Caller, RecoveryError};
use crate::app::AppState;
use crate::error::ApiError;

/// Largest SEP-30 request body (identities, or a transaction).
const MAX_BODY: usize = 64 * 1024;

/// The SEP-30 routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts", get(list))
        .route(
            "/accounts/{address}",
            post(register).put(update).get(show).delete(remove),
        )
        .route("/accounts/{address}/sign/{signer}", post(sign))
        .route(
            "/accounts/{address}/signers/{signer}",
            delete(remove_signer),
        )
        .route("/sponsor/new", post(sponsor_new))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

impl From<RecoveryError> for ApiError {
    fn from(e: RecoveryError) -> Self {
        use axum::http::StatusCode;
        match e {
            RecoveryError::Invalid(m) => ApiError::bad_request(m),
            RecoveryError::Unauthorized(m) => ApiError::unauthorized(m),
            RecoveryError::NotFound(m) => ApiError::not_found(m),
            RecoveryError::Conflict => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            RecoveryError::Db(err) => ApiError::internal(err),
            RecoveryError::Vault(err) => ApiError::internal(err),
        }
    }
}

/// A request body said to be JSON (§Content Type: requests are
/// `application/json`), read within the route's size limit; parsing is the
/// handler's, after authorization.
pub struct JsonBody(Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as Content-Type: application/json",
            ));
        }
        // Declared too large: refused before a byte is read.
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > MAX_BODY) {
            return Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "request body is too large",
            ));
        }
        Ok(JsonBody(Bytes::from_request(req, state).await?))
    }
}

fn address(raw: &str) -> Result<PublicKey, ApiError> {
    PublicKey::parse(raw)
        .map_err(|_| ApiError::bad_request("address must be a Stellar account address (G…)"))
}

/// §POST /accounts/<address>.
async fn register(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let account = address(&raw)?;
    // §POST …: Authentication [`SEP-10`], for this very account.
    if caller.account != Some(account) {
        return Err(ApiError::unauthorized(
            "registering an account needs a SEP-10 token for that account",
        ));
    }
    let identities = model::identities(&body).map_err(|e| ApiError::bad_request(e.0))?;
    Ok(Json(
        state
            .recovery()
            .register(&caller, &account, &identities)
            .await?,
    )
    .into_response())
}

/// §PUT /accounts/<address>.
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let account = address(&raw)?.to_string();
    let identities = model::identities(&body).map_err(|e| ApiError::bad_request(e.0))?;
    Ok(Json(
        state
            .recovery()
            .update(&caller, &account, &identities)
            .await?,
    )
    .into_response())
}

/// §GET /accounts/<address>.
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let account = address(&raw)?.to_string();
    Ok(Json(state.recovery().get(&caller, &account).await?).into_response())
}

/// §DELETE /accounts/<address>.
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let account = address(&raw)?.to_string();
    Ok(Json(state.recovery().delete(&caller, &account).await?).into_response())
}

/// §GET /accounts, paged by `after` (the last address of the page before).
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let mut after = String::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if k == "after" {
            after = address(&v)?.to_string();
        }
    }
    let accounts = state.recovery().list(&caller, &after).await?;
    Ok(Json(json!({ "accounts": accounts })).into_response())
}

/// §POST /accounts/<address>/sign/<signing-address>.
async fn sign(
    State(state): State<AppState>,
    caller: Caller,
    Path((raw, signer)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let account = address(&raw)?.to_string();
    Ok(Json(
        state
            .recovery()
            .sign(&caller, &account, &signer, &body)
            .await?,
    )
    .into_response())
}

/// Removes an old signing key after rotation (a Mooring extension of
/// §Signing Key Rotation): the account itself, by SEP-10, only.
async fn remove_signer(
    State(state): State<AppState>,
    caller: Caller,
    Path((raw, signer)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let account = address(&raw)?.to_string();
    Ok(Json(
        state
            .recovery()
            .remove_signer(&caller, &account, &signer)
            .await?,
    )
    .into_response())
}

impl From<SponsorError> for ApiError {
    fn from(e: SponsorError) -> Self {
        use axum::http::StatusCode;
        match e {
            SponsorError::Disabled => ApiError::not_found(e.to_string()),
            SponsorError::Invalid(_) => ApiError::bad_request(e.to_string()),
            SponsorError::NeedsSignIn => ApiError::unauthorized(e.to_string()),
            SponsorError::NoSponsor => ApiError::unavailable(e.to_string()),
            SponsorError::Exists => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            SponsorError::Limited => ApiError::new(StatusCode::TOO_MANY_REQUESTS, e.to_string()),
            SponsorError::Ledger(ref err) => {
                tracing::warn!(error = %err, "sponsorship: the ledger could not be read");
                ApiError::unavailable(e.to_string())
            }
            SponsorError::Store(err) => err.into(),
        }
    }
}

/// `POST /sponsor/new` `{"account": "G…"}`: a sponsored creation of the
/// account, signed by the sponsor, for the wallet to co-sign and submit.
async fn sponsor_new(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
        ApiError::bad_request("request body must be a JSON object with an `account`")
    })?;
    let account = match value.get("account") {
        Some(serde_json::Value::String(a)) => address(a).map_err(|_| {
            ApiError::bad_request("`account` must be a Stellar account address (G…)")
        })?,
        _ => return Err(ApiError::bad_request("`account` is required")),
    };
    Ok(Json(state.recovery().sponsor_new(&caller, &account).await?).into_response())
}
