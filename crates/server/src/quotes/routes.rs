//! SEP-38's endpoints under `/sep38`. The token, where one is needed or
//! given, is checked before the query or body is read; every refusal is
//! SEP-38's `{"error": …}` (§Errors), 403 for authentication.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::request::{PriceRequest, PricesQuery};
use super::service::Quotes;
use crate::error::ApiError;
use crate::http::{Authenticated, JsonBody, QueryAs, body_limit};
use crate::state::With;

/// Largest `POST /quote` body.
const MAX_BODY: usize = 4096;

/// SEP-38 §Authentication: 403 for a missing or refused token.
type Caller = Authenticated<403>;

/// The public routes.
pub fn router() -> Router<With<Quotes>> {
    Router::new()
        .route("/sep38/info", get(info))
        .route("/sep38/prices", get(prices))
        .route("/sep38/price", get(price))
        .route("/sep38/quote", post(create))
        .route("/sep38/quote/{id}", get(quote))
        .layer(body_limit(MAX_BODY))
}

/// `GET /info`: authentication optional.
async fn info(State(q): State<With<Quotes>>, caller: Option<Caller>) -> Result<Response, ApiError> {
    Ok(Json(q.info(caller.as_ref().map(|c| &c.0))?).into_response())
}

/// `GET /prices`: authentication optional.
async fn prices(
    State(q): State<With<Quotes>>,
    caller: Option<Caller>,
    QueryAs(query): QueryAs<PricesQuery>,
) -> Result<Response, ApiError> {
    Ok(Json(q.prices(caller.as_ref().map(|c| &c.0), query).await?).into_response())
}

/// `GET /price`: authentication optional.
async fn price(
    State(q): State<With<Quotes>>,
    caller: Option<Caller>,
    QueryAs(query): QueryAs<PriceRequest>,
) -> Result<Response, ApiError> {
    Ok(Json(q.price(caller.as_ref().map(|c| &c.0), query).await?).into_response())
}

/// `POST /quote`: 201 with the firm quote.
async fn create(
    State(q): State<With<Quotes>>,
    Authenticated(caller): Caller,
    JsonBody(raw): JsonBody<MAX_BODY>,
) -> Result<Response, ApiError> {
    let body: PriceRequest = serde_json::from_slice(&raw).map_err(|e| {
        ApiError::bad_request(if e.is_data() {
            "body has a field SEP-38 does not define, or a field of the wrong type; see GET /info"
        } else {
            "body must be a JSON object"
        })
    })?;
    Ok((StatusCode::CREATED, Json(q.create(&caller, body).await?)).into_response())
}

/// `GET /quote/{id}`: the caller's quote, or 404.
async fn quote(
    State(q): State<With<Quotes>>,
    Authenticated(caller): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(q.get(&caller, &id).await?).into_response())
}
