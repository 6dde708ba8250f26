//! SEP-31's endpoints under `/sep31`. Every one needs a partner's SEP-10
//! token, decided from the `Authorization` header before the path, query
//! or body is read ([`Partner`]; SEP-31 §Authentication: "Any API request
//! that fails to meet proper authentication should return a 403").

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::schema::{
    CallbackRequest, CreateError, CreateRequest, Created, Info, PatchRequest, TransactionResponse,
};
use super::service::Payments;
use crate::error::ApiError;
use crate::http::{JsonBody, Path, body_limit};
use crate::openapi::ErrorBody;
use crate::partners::Partner;
use crate::state::With;

/// Largest request body.
const MAX_BODY: usize = 4096;

/// The public routes.
pub fn router() -> OpenApiRouter<With<Payments>> {
    OpenApiRouter::new()
        .routes(routes!(info))
        .routes(routes!(create))
        .routes(routes!(transaction, patch))
        .routes(routes!(callback))
        .layer(body_limit(MAX_BODY))
}

/// `GET /info`.
#[utoipa::path(
    get, path = "/sep31/info", tag = "SEP-31", operation_id = "sep31_info",
    summary = "The assets received (SEP-31 §GET Info)",
    security(("sep10" = [])),
    responses(
        (status = 200, description = "The assets received, with the caller's partner's fees and limits.", body = Info),
        (status = 403, description = "SEP-31 §Authentication: no `Authorization: Bearer` token, a token that is not valid, or an account with no agreement with this anchor.", body = ErrorBody),
    ),
)]
async fn info(State(p): State<With<Payments>>, Partner(_, partner): Partner) -> Response {
    Json(p.info(&partner)).into_response()
}

/// `POST /transactions`: 201 with where and how to pay.
#[utoipa::path(
    post, path = "/sep31/transactions", tag = "SEP-31", operation_id = "sep31_create_transaction",
    summary = "A payment to receive (SEP-31 §POST Transactions)",
    request_body(content = CreateRequest, content_type = "application/json"),
    security(("sep10" = [])),
    responses(
        (status = 201, description = "Created, `pending_sender`: pay `amount` to `stellar_account_id` with the id memo `stellar_memo`.", body = Created),
        (status = 400, description = "SEP-31 §Customer Info Needed: `{\"error\": \"customer_info_needed\", \"type\": …}` when the sender or receiver is missing, not the caller's, not ACCEPTED, or must pass KYC for this amount; otherwise SEP-31 §Error: the body is not SEP-31's JSON, a field is missing or invalid, the amount is out of bounds or does not cover the fee, the quote cannot pay for it, or a limit forbids it.", body = CreateError),
        (status = 403, description = "SEP-31 §Authentication: no `Authorization: Bearer` token, a token that is not valid, or an account with no agreement with this anchor.", body = ErrorBody),
        (status = 413, description = "The body is over 4096 bytes.", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 503, description = "Horizon could not be read to start watching the account paid; try again.", body = ErrorBody),
    ),
)]
async fn create(
    State(p): State<With<Payments>>,
    Partner(caller, partner): Partner,
    JsonBody(raw): JsonBody<MAX_BODY>,
) -> Result<Response, ApiError> {
    let created = p.create(&caller, &partner, &raw).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `GET /transactions/{id}`: the caller's, or 404.
#[utoipa::path(
    get, path = "/sep31/transactions/{id}", tag = "SEP-31", operation_id = "sep31_get_transaction",
    summary = "A transaction (SEP-31 §GET Transaction)",
    params(("id" = String, Path, description = "The transaction's `id`.")),
    security(("sep10" = [])),
    responses(
        (status = 200, description = "The transaction.", body = TransactionResponse),
        (status = 403, description = "SEP-31 §Authentication: no `Authorization: Bearer` token, a token that is not valid, or an account with no agreement with this anchor.", body = ErrorBody),
        (status = 404, description = "No transaction of the caller's account (and memo) has this id.", body = ErrorBody),
    ),
)]
async fn transaction(
    State(p): State<With<Payments>>,
    Partner(caller, _): Partner,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(p.get(&caller, &id).await?).into_response())
}

/// `PUT /transactions/{id}/callback`: 204.
#[utoipa::path(
    put, path = "/sep31/transactions/{id}/callback", tag = "SEP-31", operation_id = "sep31_put_callback",
    summary = "Where status changes are sent (SEP-31 §PUT Transaction Callback)",
    params(("id" = String, Path, description = "The transaction's `id`.")),
    request_body(content = CallbackRequest, content_type = "application/json"),
    security(("sep10" = [])),
    responses(
        (status = 204, description = "Set, replacing any URL before: the transaction's later status changes are POSTed there."),
        (status = 400, description = "The body is not `{\"url\": …}`, or the URL is not `https`, resolves to a private address, or is on the anchor's own webhook host.", body = ErrorBody),
        (status = 403, description = "SEP-31 §Authentication: no `Authorization: Bearer` token, a token that is not valid, or an account with no agreement with this anchor.", body = ErrorBody),
        (status = 404, description = "No transaction of the caller's account (and memo) has this id.", body = ErrorBody),
        (status = 413, description = "The body is over 4096 bytes.", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
    ),
)]
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
#[utoipa::path(
    patch, path = "/sep31/transactions/{id}", tag = "SEP-31", operation_id = "sep31_patch_transaction",
    summary = "Update a transaction's fields (SEP-31 §PATCH Transaction, deprecated): never taken",
    params(("id" = String, Path, description = "The transaction's `id`.")),
    request_body(content = Option<PatchRequest>, content_type = "application/json",
                 description = "SEP-31's `{\"fields\": …}`; not read."),
    security(("sep10" = [])),
    responses(
        (status = 400, description = "SEP-31 §PATCH Transaction, Error 400: no transaction information is requested this way; update customers through SEP-12 `PUT /customer`.", body = ErrorBody),
        (status = 403, description = "SEP-31 §Authentication: no `Authorization: Bearer` token, a token that is not valid, or an account with no agreement with this anchor.", body = ErrorBody),
        (status = 404, description = "No transaction of the caller's account (and memo) has this id.", body = ErrorBody),
    ),
)]
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
