//! SEP-10 HTTP endpoints: `GET /auth` and `POST /auth`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::routing::get;
use serde::Deserialize;

use super::service::{ChallengeParams, ChallengeResponse, TokenResponse};
use crate::app::AppState;
use crate::error::ApiError;

/// The SEP-10 routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/auth", get(challenge).post(token))
}

/// SEP-10 §Challenge: `GET /auth?account=…[&memo=…][&home_domain=…][&client_domain=…]`.
async fn challenge(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<ChallengeResponse>, ApiError> {
    let params: ChallengeParams = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("query string could not be read: {e}")))?;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    Ok(Json(
        state.web_auth().challenge(params, authorization).await?,
    ))
}

#[derive(Deserialize)]
struct TokenRequest {
    transaction: String,
}

/// SEP-10 §Token: `POST /auth` with `{"transaction": "<signed XDR>"}` as JSON
/// or `transaction=<signed XDR>` as a form.
async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<TokenResponse>, ApiError> {
    let body = body?;
    let request: TokenRequest = match content_type(&headers) {
        Some("application/json") => serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(if e.is_data() {
                "request body must be a JSON object with a string field `transaction`"
            } else {
                "request body is not valid JSON"
            })
        })?,
        Some("application/x-www-form-urlencoded") => serde_urlencoded::from_bytes(&body)
            .map_err(|_| ApiError::bad_request("form body must have a `transaction` field"))?,
        _ => {
            return Err(ApiError::bad_request(
                "Content-Type must be application/json or application/x-www-form-urlencoded",
            ));
        }
    };
    Ok(Json(state.web_auth().token(&request.transaction).await?))
}

/// The media type of the request, lowercased, without parameters.
fn content_type(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let mime = value.split(';').next()?.trim();
    ["application/json", "application/x-www-form-urlencoded"]
        .into_iter()
        .find(|known| mime.eq_ignore_ascii_case(known))
}
