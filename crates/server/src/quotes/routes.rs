//! SEP-38's endpoints under `/sep38`. Who calls is decided first, from the
//! `Authorization` header alone (SEP-38 §Authentication names no other
//! place), before the query or body is read ([`Partner`]); every refusal is
//! SEP-38's `{"error": …}` (§Errors), 403 for authentication and for
//! callers with no agreement.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::request::{PriceRequest, PricesQuery};
use super::service::Quotes;
use crate::error::ApiError;
use crate::http::{Bearer, JsonBody, QueryAs, bearer, body_limit};
use crate::partners::Partner;
use crate::state::With;

/// Largest `POST /quote` body.
const MAX_BODY: usize = 4096;

/// The public routes.
pub fn router() -> utoipa_axum::router::OpenApiRouter<With<Quotes>> {
    utoipa_axum::router::OpenApiRouter::from(
        Router::new()
            .route("/sep38/info", get(info))
            .route("/sep38/prices", get(prices))
            .route("/sep38/price", get(price))
            .route("/sep38/quote", post(create))
            .route("/sep38/quote/{id}", get(quote))
            .layer(body_limit(MAX_BODY)),
    )
}

/// The caller where SEP-38 makes authentication optional: nobody, or a
/// partner (a token of anyone else is 403, as docs/quotes.md says).
struct Anyone;

impl FromRequestParts<With<Quotes>> for Anyone {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, q: &With<Quotes>) -> Result<Self, ApiError> {
        if bearer(&parts.headers) != Bearer::Missing {
            Partner::from_request_parts(parts, q).await?;
        }
        Ok(Anyone)
    }
}

/// `GET /info`.
async fn info(State(q): State<With<Quotes>>, _: Anyone) -> Response {
    Json(q.info()).into_response()
}

/// `GET /prices`.
async fn prices(
    State(q): State<With<Quotes>>,
    _: Anyone,
    QueryAs(query): QueryAs<PricesQuery>,
) -> Result<Response, ApiError> {
    Ok(Json(q.prices(query).await?).into_response())
}

/// `GET /price`.
async fn price(
    State(q): State<With<Quotes>>,
    _: Anyone,
    QueryAs(query): QueryAs<PriceRequest>,
) -> Result<Response, ApiError> {
    Ok(Json(q.price(query).await?).into_response())
}

/// `POST /quote`: 201 with the firm quote.
async fn create(
    State(q): State<With<Quotes>>,
    Partner(caller, partner): Partner,
    JsonBody(raw): JsonBody<MAX_BODY>,
) -> Result<Response, ApiError> {
    let body: PriceRequest = serde_json::from_slice(&raw).map_err(|e| {
        ApiError::bad_request(if e.is_data() {
            "body has a field SEP-38 does not define, or a field of the wrong type; see GET /info"
        } else {
            "body must be a JSON object"
        })
    })?;
    let quote = q.create(&caller, &partner, body).await?;
    Ok((StatusCode::CREATED, Json(quote)).into_response())
}

/// `GET /quote/{id}`: the caller's quote, or 404.
async fn quote(
    State(q): State<With<Quotes>>,
    Partner(caller, _): Partner,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(q.get(&caller, &id).await?).into_response())
}
