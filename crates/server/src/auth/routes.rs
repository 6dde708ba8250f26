//! SEP-10 HTTP endpoints: `GET /auth` and `POST /auth`.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use serde::Deserialize;

use super::WebAuth;
use super::service::{ChallengeParams, ChallengeResponse, TokenResponse};
use crate::error::ApiError;
use crate::http::{ClientIp, JsonOrForm, QueryAs, bearer};
use crate::state::With;

/// The SEP-10 routes.
pub fn router() -> Router<With<WebAuth>> {
    Router::new().route("/auth", get(challenge).post(token))
}

/// SEP-10 §Challenge: `GET /auth?account=…[&memo=…][&home_domain=…][&client_domain=…]`.
/// Every request counts against the per-address limit, well-formed or not.
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

#[derive(Deserialize)]
struct TokenRequest {
    transaction: String,
}

/// SEP-10 §Token: `POST /auth` with `{"transaction": "<signed XDR>"}` as JSON
/// or `transaction=<signed XDR>` as a form.
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
