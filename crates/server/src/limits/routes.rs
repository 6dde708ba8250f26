//! `GET /limits`, `POST /operations/check` and `GET /kyc-check/{account}`
//! (docs/kyc.md). The token is checked before the body or the path is
//! looked at.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mooring_stellar::{Amount, PublicKey};
use serde::Deserialize;
use serde_json::json;

use super::service::{Caller, Check, Limits, Poll, Status};
use crate::config::Op;
use crate::error::ApiError;
use crate::http::{Authenticated, JsonBody, Query, body_limit};
use crate::kyc::Target;
use crate::state::With;

/// Largest operation-check body.
const MAX_BODY: usize = 4096;

/// The public routes.
pub fn router() -> utoipa_axum::router::OpenApiRouter<With<Limits>> {
    utoipa_axum::router::OpenApiRouter::from(
        Router::new()
            .route("/limits", get(defaults))
            .route("/operations/check", post(check_wallet))
            .route("/kyc-check/{account}", get(kyc_check))
            .layer(body_limit(MAX_BODY)),
    )
}

/// `POST /operations/check`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckBody {
    account: String,
    #[serde(default)]
    memo: Option<String>,
    op: String,
    amount: String,
    asset: String,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    record: bool,
}

/// Reads an operation-check body; every refusal names the field, never
/// repeats its value.
pub(super) fn read_check(raw: &[u8]) -> Result<Check, ApiError> {
    let b: CheckBody = serde_json::from_slice(raw).map_err(|_| {
        ApiError::bad_request(
            "body must be JSON: {\"account\", \"memo\"?, \"op\", \"amount\", \"asset\", \"key\"?, \"record\"?}",
        )
    })?;
    let target = Target::parse(&b.account, b.memo.as_deref()).ok_or_else(bad_target)?;
    let op: Op = serde_json::from_value(json!(b.op)).map_err(|_| {
        ApiError::bad_request("op must be one of deposit, withdraw, send, receive, quote")
    })?;
    let amount: Amount = b.amount.parse().map_err(|_| {
        ApiError::bad_request("amount must be a positive decimal with at most 7 decimal places")
    })?;
    if amount == Amount::ZERO {
        return Err(ApiError::bad_request("amount must be positive"));
    }
    if !crate::config::is_asset(&b.asset) {
        return Err(ApiError::bad_request(
            "asset must be a SEP-38 asset: stellar:CODE:ISSUER or iso4217:XXX",
        ));
    }
    let key = b
        .key
        .map(|k| PublicKey::parse(&k))
        .transpose()
        .map_err(|_| ApiError::bad_request("key must be a G… address"))?;
    Ok(Check {
        target,
        op,
        amount,
        asset: b.asset,
        key,
        record: b.record,
    })
}

/// The target a path's account and `?memo=` name.
pub(super) fn target(account: &str, q: &Query) -> Result<Target, ApiError> {
    Target::parse(account, q.0.get("memo")).ok_or_else(bad_target)
}

fn bad_target() -> ApiError {
    ApiError::bad_request("account must be a G… or M… address, memo an unsigned 64-bit id")
}

/// `GET /limits`: the exposed limits of an account never seen.
async fn defaults(State(limits): State<With<Limits>>) -> Json<serde_json::Value> {
    Json(json!({
        "enabled": limits.enabled(),
        "kyc_url": limits.kyc_url(),
        "kyc_type": limits.kyc_type(),
        "limits": limits.defaults(),
    }))
}

/// `POST /operations/check` with a wallet's SEP-10 token: 200 or 451.
async fn check_wallet(
    State(limits): State<With<Limits>>,
    Authenticated(p): Authenticated,
    JsonBody(raw): JsonBody<MAX_BODY>,
) -> Result<Response, ApiError> {
    let c = read_check(&raw)?;
    answer_check(&limits, &Caller::Wallet(p), c).await
}

/// The answer of an operation check, for either listener.
pub(super) async fn answer_check(
    limits: &Limits,
    caller: &Caller,
    c: Check,
) -> Result<Response, ApiError> {
    let (state, rule_gen) = limits.check(caller, c).await?;
    Ok(Json(json!({ "allowed": true, "state": state, "rule_gen": rule_gen })).into_response())
}

/// `GET /kyc-check/{account}?memo=&timeout_ms=&lpt=&min_rule=`.
async fn kyc_check(
    State(limits): State<With<Limits>>,
    Authenticated(p): Authenticated,
    Path(account): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let target = target(&account, &q)?;
    let number = |name: &'static str| -> Result<Option<u64>, ApiError> {
        q.0.get(name)
            .map(str::parse::<u64>)
            .transpose()
            .map_err(|_| ApiError::bad_request(format!("{name} must be a non-negative integer")))
    };
    let poll = Poll {
        timeout: Duration::from_millis(number("timeout_ms")?.unwrap_or(0)),
        // Taler: values above 3 are ignored (treated as no target).
        lpt: number("lpt")?.and_then(|l| u8::try_from(l).ok()),
        min_rule: number("min_rule")?,
    };
    Ok(match limits.kyc_check(&p, &target, poll).await? {
        Status::Disabled => StatusCode::NO_CONTENT.into_response(),
        Status::Clear(s) => (StatusCode::OK, Json(s)).into_response(),
        Status::Required(s) => (StatusCode::ACCEPTED, Json(s)).into_response(),
    })
}
