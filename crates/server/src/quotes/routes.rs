//! SEP-38's endpoints under `/sep38`. Who calls is decided first, from the
//! `Authorization` header alone (SEP-38 §Authentication names no other
//! place), before the query or body is read ([`Partner`]); every refusal is
//! SEP-38's `{"error": …}` (§Errors), 403 for authentication and for
//! callers with no agreement.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::request::{PriceRequest, PricesQuery};
use super::schema::{Context, Info, Price, Prices, Quote};
use super::service::Quotes;
use crate::error::ApiError;
use crate::http::{Bearer, JsonBody, Path, QueryAs, bearer, body_limit};
use crate::openapi::ErrorBody;
use crate::partners::Partner;
use crate::state::With;

/// Largest `POST /quote` body.
const MAX_BODY: usize = 4096;

/// The public routes.
pub fn router() -> OpenApiRouter<With<Quotes>> {
    OpenApiRouter::new()
        .routes(routes!(info))
        .routes(routes!(prices))
        .routes(routes!(price))
        .routes(routes!(create))
        .routes(routes!(quote))
        .layer(body_limit(MAX_BODY))
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
#[utoipa::path(
    get, path = "/sep38/info", tag = "SEP-38", operation_id = "sep38_info",
    summary = "The assets quoted (SEP-38 §GET Info)",
    security((), ("sep10" = [])),
    responses(
        (status = 200, description = "The assets this anchor quotes.", body = Info),
        (status = 403, description = "SEP-38 §Errors: a token was sent that is not valid, or its account has no agreement with this anchor (docs/quotes.md §Partners).", body = ErrorBody),
    ),
)]
async fn info(State(q): State<With<Quotes>>, _: Anyone) -> Response {
    Json(q.info()).into_response()
}

/// `GET /prices`.
#[utoipa::path(
    get, path = "/sep38/prices", tag = "SEP-38", operation_id = "sep38_prices",
    summary = "Indicative prices against one asset (SEP-38 §GET Prices)",
    params(
        ("sell_asset" = Option<String>, Query, description = "The asset sold (SEP-38 asset); exactly one of `sell_asset` and `buy_asset`."),
        ("buy_asset" = Option<String>, Query, description = "The asset bought (SEP-38 asset); exactly one of `sell_asset` and `buy_asset`."),
        ("sell_amount" = Option<String>, Query, description = "With `sell_asset`, and only then: the amount sold, a positive decimal."),
        ("buy_amount" = Option<String>, Query, description = "With `buy_asset`, and only then: the amount bought, a positive decimal."),
        ("sell_delivery_method" = Option<String>, Query, description = "One of the sold asset's `sell_delivery_methods` (`GET /info`)."),
        ("buy_delivery_method" = Option<String>, Query, description = "One of the bought asset's `buy_delivery_methods` (`GET /info`)."),
        ("country_code" = Option<String>, Query, description = "ISO 3166-1 alpha-2 or ISO 3166-2 code of the user's country, e.g. `BR`."),
    ),
    security((), ("sep10" = [])),
    responses(
        (status = 200, description = "A price for each asset exchanged for the one given (pairs the amount cannot price left out).", body = Prices),
        (status = 400, description = "The query cannot be read, names an asset not quoted, gives both or neither asset, the wrong amount, or a delivery method or country not served.", body = ErrorBody),
        (status = 403, description = "SEP-38 §Errors: a token was sent that is not valid, or its account has no agreement with this anchor (docs/quotes.md §Partners).", body = ErrorBody),
        (status = 503, description = "The business server gave no price (it failed or timed out; docs/quotes.md §The business server's price); try again.", body = ErrorBody),
    ),
)]
async fn prices(
    State(q): State<With<Quotes>>,
    _: Anyone,
    QueryAs(query): QueryAs<PricesQuery>,
) -> Result<Response, ApiError> {
    Ok(Json(q.prices(query).await?).into_response())
}

/// `GET /price`.
#[utoipa::path(
    get, path = "/sep38/price", tag = "SEP-38", operation_id = "sep38_price",
    summary = "An indicative price for one pair (SEP-38 §GET Price)",
    params(
        ("sell_asset" = String, Query, description = "The asset sold (SEP-38 asset, from `GET /info`)."),
        ("buy_asset" = String, Query, description = "The asset bought (SEP-38 asset, from `GET /info`)."),
        ("sell_amount" = Option<String>, Query, description = "The amount sold, a positive decimal; exactly one of `sell_amount` and `buy_amount`."),
        ("buy_amount" = Option<String>, Query, description = "The amount bought, a positive decimal; exactly one of `sell_amount` and `buy_amount`."),
        ("sell_delivery_method" = Option<String>, Query, description = "One of the sold asset's `sell_delivery_methods` (`GET /info`)."),
        ("buy_delivery_method" = Option<String>, Query, description = "One of the bought asset's `buy_delivery_methods` (`GET /info`)."),
        ("country_code" = Option<String>, Query, description = "ISO 3166-1 alpha-2 or ISO 3166-2 code of the user's country, e.g. `BR`."),
        ("context" = inline(Context), Query, description = "What the price is for."),
    ),
    security((), ("sep10" = [])),
    responses(
        (status = 200, description = "The price, amounts and fee.", body = Price),
        (status = 400, description = "The query cannot be read (an unknown or repeated parameter), a parameter is missing or invalid, the pair is not offered, or the amount does not cover the fee.", body = ErrorBody),
        (status = 403, description = "SEP-38 §Errors: a token was sent that is not valid, or its account has no agreement with this anchor (docs/quotes.md §Partners).", body = ErrorBody),
        (status = 503, description = "The business server gave no price (it failed or timed out; docs/quotes.md §The business server's price); try again.", body = ErrorBody),
    ),
)]
async fn price(
    State(q): State<With<Quotes>>,
    _: Anyone,
    QueryAs(query): QueryAs<PriceRequest>,
) -> Result<Response, ApiError> {
    Ok(Json(q.price(query).await?).into_response())
}

/// `POST /quote`: 201 with the firm quote.
#[utoipa::path(
    post, path = "/sep38/quote", tag = "SEP-38", operation_id = "sep38_create_quote",
    summary = "A firm quote (SEP-38 §POST Quote)",
    request_body(content = PriceRequest, content_type = "application/json"),
    security(("sep10" = [])),
    responses(
        (status = 201, description = "The firm quote, held until `expires_at`.", body = Quote),
        (status = 400, description = "The body is not a JSON object of SEP-38's fields, a field is missing or invalid, the pair is not offered, a delivery method is needed, the amount does not cover the fee, or `expire_after` is further ahead than quotes last.", body = ErrorBody),
        (status = 403, description = "SEP-38 §Errors: no `Authorization: Bearer` token, a token that is not valid, or an account with no agreement with this anchor (docs/quotes.md §Partners); or the account's KYC limits do not allow the quote (docs/kyc.md).", body = ErrorBody),
        (status = 413, description = "The body is over 4096 bytes.", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 503, description = "The business server gave no price (it failed or timed out; docs/quotes.md §The business server's price); try again.", body = ErrorBody),
    ),
)]
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
#[utoipa::path(
    get, path = "/sep38/quote/{id}", tag = "SEP-38", operation_id = "sep38_get_quote",
    summary = "A firm quote given before (SEP-38 §GET Quote)",
    params(("id" = String, Path, description = "The quote's `id`.")),
    security(("sep10" = [])),
    responses(
        (status = 200, description = "The quote, also after it expired.", body = Quote),
        (status = 403, description = "SEP-38 §Errors: no `Authorization: Bearer` token, a token that is not valid, or an account with no agreement with this anchor (docs/quotes.md §Partners).", body = ErrorBody),
        (status = 404, description = "No quote of the caller's account (and memo) has this id.", body = ErrorBody),
    ),
)]
async fn quote(
    State(q): State<With<Quotes>>,
    Partner(caller, _): Partner,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(q.get(&caller, &id).await?).into_response())
}
