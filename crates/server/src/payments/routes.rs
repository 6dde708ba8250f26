//! SEP-31's endpoints under `/sep31`. Every one needs a partner's SEP-10
//! token, decided from the `Authorization` header before the path, query
//! or body is read ([`Partner`]; SEP-31 §Authentication: "Any API request
//! that fails to meet proper authentication should return a 403").

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};

use super::service::Payments;
use crate::error::ApiError;
use crate::http::{JsonBody, body_limit};
use crate::partners::Partner;
use crate::state::With;

/// Largest request body.
const MAX_BODY: usize = 4096;

/// The public routes.
pub fn router() -> utoipa_axum::router::OpenApiRouter<With<Payments>> {
    utoipa_axum::router::OpenApiRouter::from(
        Router::new()
            .route("/sep31/info", get(info))
            .route("/sep31/transactions", post(create))
            .route("/sep31/transactions/{id}", get(transaction).patch(patch))
            .route("/sep31/transactions/{id}/callback", put(callback))
            .layer(body_limit(MAX_BODY)),
    )
}

/// `GET /info`.
async fn info(State(p): State<With<Payments>>, Partner(_, partner): Partner) -> Response {
    Json(p.info(&partner)).into_response()
}

/// `POST /transactions`: 201 with where and how to pay.
async fn create(
    State(p): State<With<Payments>>,
    Partner(caller, partner): Partner,
    JsonBody(raw): JsonBody<MAX_BODY>,
) -> Result<Response, ApiError> {
    let created = p.create(&caller, &partner, &raw).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `GET /transactions/{id}`: the caller's, or 404.
async fn transaction(
    State(p): State<With<Payments>>,
    Partner(caller, _): Partner,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(p.get(&caller, &id).await?).into_response())
}

/// `PUT /transactions/{id}/callback`: 204.
async fn callback(
    State(p): State<With<Payments>>,
    Partner(caller, _): Partner,
    Path(id): Path<String>,
    JsonBody(raw): JsonBody<MAX_BODY>,
) -> Result<Response, ApiError> {
    p.set_callback(&caller, &id, &raw).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PATCH /transactions/{id}` (SEP-31 §PATCH Transaction, deprecated):
/// per-transaction fields are not taken, so no information is ever
/// requested this way: 404 for a transaction that is not the caller's,
/// else 400 ("the Receiving Anchor should fail with an error response").
async fn patch(
    State(p): State<With<Payments>>,
    Partner(caller, _): Partner,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    p.get(&caller, &id).await?;
    Err(ApiError::bad_request(
        "no transaction information is requested: update the sender or receiver through SEP-12 PUT /customer",
    ))
}
