//! SEP-30 HTTP endpoints (§Endpoints). The caller is authenticated (by the
//! [`Caller`] extractor) before the body is read or the path is looked at.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use mooring_stellar::PublicKey;
use serde_json::json;

use super::{Caller, Recovery, model};
use crate::error::ApiError;
use crate::http::{Query, body_limit};
use crate::state::With;

/// Largest SEP-30 request body (identities, or a transaction).
const MAX_BODY: usize = 64 * 1024;

/// The SEP-30 routes.
pub fn router() -> utoipa_axum::router::OpenApiRouter<With<Recovery>> {
    utoipa_axum::router::OpenApiRouter::from(
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
            .layer(body_limit(MAX_BODY)),
    )
}

/// A SEP-30 body: JSON (§Content Type), at most [`MAX_BODY`] bytes.
type JsonBody = crate::http::JsonBody<MAX_BODY>;

pub(super) fn address(raw: &str) -> Result<PublicKey, ApiError> {
    PublicKey::parse(raw)
        .map_err(|_| ApiError::bad_request("address must be a Stellar account address (G…)"))
}

/// §POST /accounts/<address>.
async fn register(
    State(recovery): State<With<Recovery>>,
    caller: Caller,
    Path(raw): Path<String>,
    crate::http::JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let account = address(&raw)?;
    // §POST …: Authentication [`SEP-10`], for this very account.
    if caller.account != Some(account) {
        return Err(ApiError::unauthorized(
            "registering an account needs a SEP-10 token for that account",
        ));
    }
    let identities = model::identities(&body).map_err(|e| ApiError::bad_request(e.0))?;
    Ok(Json(recovery.register(&caller, &account, &identities).await?).into_response())
}

/// §PUT /accounts/<address>.
async fn update(
    State(recovery): State<With<Recovery>>,
    caller: Caller,
    Path(raw): Path<String>,
    crate::http::JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let account = address(&raw)?.to_string();
    let identities = model::identities(&body).map_err(|e| ApiError::bad_request(e.0))?;
    Ok(Json(recovery.update(&caller, &account, &identities).await?).into_response())
}

/// §GET /accounts/<address>.
async fn show(
    State(recovery): State<With<Recovery>>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let account = address(&raw)?.to_string();
    Ok(Json(recovery.get(&caller, &account).await?).into_response())
}

/// §DELETE /accounts/<address>.
async fn remove(
    State(recovery): State<With<Recovery>>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let account = address(&raw)?.to_string();
    Ok(Json(recovery.delete(&caller, &account).await?).into_response())
}

/// §GET /accounts, paged by `after` (the last address of the page before).
async fn list(
    State(recovery): State<With<Recovery>>,
    caller: Caller,
    Query(q): Query,
) -> Result<Response, ApiError> {
    let mut after = String::new();
    for (k, v) in q.iter() {
        if k == "after" {
            after = address(v)?.to_string();
        }
    }
    let accounts = recovery.list(&caller, &after).await?;
    Ok(Json(json!({ "accounts": accounts })).into_response())
}

/// §POST /accounts/<address>/sign/<signing-address>.
async fn sign(
    State(recovery): State<With<Recovery>>,
    caller: Caller,
    Path((raw, signer)): Path<(String, String)>,
    crate::http::JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let account = address(&raw)?.to_string();
    Ok(Json(recovery.sign(&caller, &account, &signer, &body).await?).into_response())
}

/// Removes an old signing key after rotation (a Mooring extension of
/// §Signing Key Rotation): the account itself, by SEP-10, only.
async fn remove_signer(
    State(recovery): State<With<Recovery>>,
    caller: Caller,
    Path((raw, signer)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let account = address(&raw)?.to_string();
    Ok(Json(recovery.remove_signer(&caller, &account, &signer).await?).into_response())
}

/// `POST /sponsor/new` `{"account": "G…"}`: a sponsored creation of the
/// account, signed by the sponsor, for the wallet to co-sign and submit.
async fn sponsor_new(
    State(recovery): State<With<Recovery>>,
    caller: Caller,
    crate::http::JsonBody(body): JsonBody,
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
    Ok(Json(recovery.sponsor_new(&caller, &account).await?).into_response())
}
