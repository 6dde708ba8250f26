//! SEP-10 HTTP endpoints: `GET /auth` and `POST /auth`.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::WebAuth;
use super::service::{ChallengeParams, ChallengeResponse, TokenResponse};
use crate::error::ApiError;
use crate::http::{ClientIp, JsonOrForm, QueryAs, bearer};
use crate::openapi::ErrorBody;
use crate::state::With;

/// The SEP-10 routes.
pub fn router() -> OpenApiRouter<With<WebAuth>> {
    OpenApiRouter::new().routes(routes!(challenge, token))
}

/// SEP-10 §Challenge: `GET /auth?account=…[&memo=…][&home_domain=…][&client_domain=…]`.
/// Every request counts against the per-address limit, well-formed or not.
#[utoipa::path(
    get, path = "/auth", tag = "SEP-10", operation_id = "sep10_challenge",
    summary = "A challenge transaction to sign (SEP-10 §Challenge)",
    params(
        ("account" = String, Query, description = "The client account, `G…` or `M…` (SEP-23).",
         pattern = "^(G[A-Z2-7]{55}|M[A-Z2-7]{68})$"),
        ("memo" = Option<String>, Query, description = "An id memo (a 64-bit unsigned integer): a customer of a shared `G…` account.",
         pattern = "^[0-9]{1,20}$"),
        ("home_domain" = Option<String>, Query, description = "One of the server's home domains; default the first."),
        ("client_domain" = Option<String>, Query, description = "The wallet's domain, whose stellar.toml SIGNING_KEY must also sign."),
    ),
    // SEP-10 §Challenge §Request Header: the client application's JWT,
    // when the server requires one.
    security((), ("client_app" = [])),
    responses(
        (status = 200, description = "The challenge, signed by the server.", body = ChallengeResponse),
        (status = 400, description = "A parameter is missing or invalid, or the client domain's stellar.toml could not be used.", body = ErrorBody),
        (status = 401, description = "SEP-10 §Challenge: the server requires the client application's token and none was sent.", body = ErrorBody),
        (status = 403, description = "SEP-10 §Challenge: the client application is not allowed.", body = ErrorBody),
        (status = 429, description = "Too many challenges from this address; `Retry-After` says when to try again.", body = ErrorBody,
         headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
async fn challenge(
    State(web_auth): State<With<WebAuth>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    params: Result<QueryAs<ChallengeParams>, ApiError>,
) -> Result<Json<ChallengeResponse>, ApiError> {
    web_auth.admit(ip)?;
    let QueryAs(params) = params?;
    Ok(Json(web_auth.challenge(params, bearer(&headers)).await?))
}

/// SEP-10 §Token request.
#[derive(Deserialize, ToSchema)]
#[schema(as = sep10::TokenRequest)]
struct TokenRequest {
    /// The challenge transaction, base64 XDR, signed by the client.
    transaction: String,
}

/// SEP-10 §Token: `POST /auth` with `{"transaction": "<signed XDR>"}` as JSON
/// or `transaction=<signed XDR>` as a form.
#[utoipa::path(
    post, path = "/auth", tag = "SEP-10", operation_id = "sep10_token",
    summary = "A session token for a signed challenge (SEP-10 §Token)",
    request_body(content(
        (TokenRequest = "application/json"),
        (TokenRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The session token.", body = TokenResponse),
        (status = 400, description = "The body is malformed, or the challenge fails a check of SEP-10 §Token (signatures, time bounds, replay, network, account).", body = ErrorBody),
    ),
)]
async fn token(
    State(web_auth): State<With<WebAuth>>,
    body: JsonOrForm,
) -> Result<Json<TokenResponse>, ApiError> {
    let transaction = match body {
        JsonOrForm::Json(body) => {
            serde_json::from_slice::<TokenRequest>(&body)
                .map_err(|e| {
                    ApiError::bad_request(if e.is_data() {
                        "request body must be a JSON object with a string field `transaction`"
                    } else {
                        "request body is not valid JSON"
                    })
                })?
                .transaction
        }
        JsonOrForm::Form(pairs) => pairs
            .first("transaction")
            .ok_or_else(|| ApiError::bad_request("form body must have a `transaction` field"))?
            .to_owned(),
    };
    Ok(Json(web_auth.token(&transaction).await?))
}
