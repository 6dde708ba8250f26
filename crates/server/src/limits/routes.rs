//! `GET /limits`, `POST /operations/check` and `GET /kyc-check/{account}`
//! (docs/kyc.md). The token is checked before the body or the path is
//! looked at.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mooring_stellar::{Amount, PublicKey};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{
    AccountStatus, Caller, Check, Denial, KycStateName, Limit, Limits, Poll, Status,
};
use crate::config::{KycState, Op};
use crate::error::ApiError;
use crate::http::{Authenticated, JsonBody, Query, body_limit};
use crate::kyc::Target;
use crate::openapi::ErrorBody;
use crate::state::With;

/// Largest operation-check body.
const MAX_BODY: usize = 4096;

/// The public routes.
pub fn router() -> OpenApiRouter<With<Limits>> {
    OpenApiRouter::new()
        .routes(routes!(defaults))
        .routes(routes!(check_wallet))
        .routes(routes!(kyc_check))
        .layer(body_limit(MAX_BODY))
}

/// `POST /operations/check`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = limits::OperationCheck)]
pub(super) struct CheckBody {
    /// Whose operation: a `G…` or `M…` address.
    #[schema(pattern = "^(G[A-Z2-7]{55}|M[A-Z2-7]{68})$")]
    account: String,
    /// The id memo of a customer of a shared `G…` account (not with an
    /// `M…` address, which carries its own).
    #[serde(default)]
    #[schema(pattern = "^(0|[1-9][0-9]*)$")]
    memo: Option<String>,
    /// The operation.
    #[schema(value_type = super::service::Operation)]
    op: String,
    /// How much: a positive decimal with at most 7 decimal places.
    #[schema(pattern = "^[0-9]{1,12}(\\.[0-9]{1,7})?$")]
    amount: String,
    /// Of which SEP-38 asset: `stellar:CODE:ISSUER`, `stellar:native` or
    /// `iso4217:XXX`.
    #[schema(
        pattern = "^(stellar:native|stellar:[A-Za-z0-9]{1,12}:G[A-Z2-7]{55}|iso4217:[A-Z]{3})$"
    )]
    asset: String,
    /// The `G…` key that will authorise the operation, when it is not the
    /// account's own (DD64's `bad_kyc_auth`).
    #[serde(default)]
    #[schema(pattern = "^G[A-Z2-7]{55}$")]
    key: Option<String>,
    /// Count the amount in the account's rolling windows when allowed:
    /// the business server's, with the admin token (a wallet's is 403).
    #[serde(default)]
    #[schema(default = false)]
    record: bool,
}

/// `GET /limits`' answer.
#[derive(Serialize, ToSchema)]
#[schema(as = limits::Defaults)]
struct Defaults<'a> {
    /// Whether operations are gated on KYC at all (`limits.enabled`).
    enabled: bool,
    /// The SEP-12 server.
    kyc_url: &'a str,
    /// The SEP-12 customer type whose acceptance lifts soft limits.
    kyc_type: &'a str,
    /// The exposed limits of an account never seen (state `none`).
    limits: Vec<Limit>,
}

/// `POST /operations/check`'s answer when the operation is allowed.
#[derive(Serialize, ToSchema)]
#[schema(as = limits::Allowed)]
pub(super) struct Allowed {
    /// Always `true` (a refusal is a 451).
    allowed: bool,
    /// The account's KYC state.
    #[schema(value_type = KycStateName)]
    state: KycState,
    /// The account's `rule_gen` (0 for an account never seen).
    rule_gen: u64,
}

/// The 451 of `/operations/check` (Taler's `LegitimizationNeededResponse`).
#[derive(Serialize, ToSchema)]
#[schema(as = limits::KycRequired)]
#[allow(dead_code)] // described; written by `From<LimitError> for ApiError`
pub(super) struct KycRequired {
    /// As `hint`.
    error: String,
    #[serde(flatten)]
    denial: Denial,
}

/// `/kyc-check`'s 403: the token is for another account.
#[derive(Serialize, ToSchema)]
#[schema(as = limits::NotYours)]
#[allow(dead_code)] // described; written by `From<LimitError> for ApiError`
struct NotYours {
    /// What went wrong.
    error: String,
    /// Taler's `TALER_EC_EXCHANGE_KYC_CHECK_AUTHORIZATION_FAILED`.
    #[schema(minimum = 1930, maximum = 1930)]
    code: u32,
    /// The `G…` account the token must be for.
    expected_account_pub: String,
    /// And its memo, when the path names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    expected_memo: Option<String>,
}

/// `/kyc-check`'s 404: the account was never seen.
#[derive(Serialize, ToSchema)]
#[schema(as = limits::Unknown)]
#[allow(dead_code)] // described; written by `From<LimitError> for ApiError`
struct Unknown {
    /// What went wrong.
    error: String,
    /// Taler's `TALER_EC_EXCHANGE_KYC_CHECK_REQUEST_UNKNOWN`.
    #[schema(minimum = 1935, maximum = 1935)]
    code: u32,
    /// The default exposed limits (as `GET /limits`).
    limits: Vec<Limit>,
}

/// `/kyc-check`'s 409: known, but with no SEP-12 record to bind KYC to.
#[derive(Serialize, ToSchema)]
#[schema(as = limits::Unbound)]
#[allow(dead_code)] // described; written by `From<LimitError> for ApiError`
struct Unbound {
    /// What went wrong.
    error: String,
    /// Taler's `TALER_EC_EXCHANGE_KYC_CHECK_AUTHORIZATION_KEY_UNKNOWN`.
    #[schema(minimum = 1937, maximum = 1937)]
    code: u32,
    /// The SEP-12 server to open a record at (`PUT /customer`).
    kyc_url: String,
    /// The customer type to use.
    #[serde(rename = "type")]
    kind: String,
    /// The account's `rule_gen` (for `min_rule`).
    rule_gen: u64,
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
#[utoipa::path(
    get, path = "/limits", tag = "KYC limits", operation_id = "limits_defaults",
    summary = "The limits of an account never seen (docs/kyc.md; DD64's isZeroLimited)",
    responses((status = 200, description = "Whether limits are on, where KYC is done, and the exposed limits \
        of an account in state `none`.", body = Defaults)),
)]
async fn defaults(State(limits): State<With<Limits>>) -> Response {
    Json(Defaults {
        enabled: limits.enabled(),
        kyc_url: limits.kyc_url(),
        kyc_type: limits.kyc_type(),
        limits: limits.defaults(),
    })
    .into_response()
}

/// `POST /operations/check` with a wallet's SEP-10 token: 200 or 451.
#[utoipa::path(
    post, path = "/operations/check", tag = "KYC limits", operation_id = "limits_check",
    summary = "Whether an operation is within the account's limits, before value moves (docs/kyc.md)",
    request_body(content((CheckBody = "application/json"))),
    security(("sep10" = [])),
    responses(
        (status = 200, description = "Allowed (nothing is counted: only the business server records operations).", body = Allowed),
        (status = 400, description = "A malformed body: a field missing, unknown or invalid.", body = ErrorBody),
        (status = 401, description = "No SEP-10 token, or one that is invalid or expired.", body = ErrorBody),
        (status = 403, description = "The token is not for this account (or memo), or asks to `record`.", body = ErrorBody),
        (status = 413, description = "The body is over 4096 bytes.", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 451, description = "Over a limit (RFC 7725): KYC is required (`soft_limit`), or the limit is one KYC \
            does not lift. Where to check: `kyc_check`.", body = KycRequired),
    ),
)]
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
    Ok(Json(Allowed {
        allowed: true,
        state,
        rule_gen,
    })
    .into_response())
}

/// `GET /kyc-check/{account}?memo=&timeout_ms=&lpt=&min_rule=`.
#[utoipa::path(
    get, path = "/kyc-check/{account}", tag = "KYC limits", operation_id = "limits_kyc_check",
    summary = "An account's KYC status, long-polled (GNU Taler's /kyc-check, docs/kyc.md)",
    params(
        ("account" = String, Path, pattern = "^(G[A-Z2-7]{55}|M[A-Z2-7]{68})$",
         description = "The account: `G…`, or `M…` for a customer of a shared account."),
        ("memo" = Option<String>, Query, pattern = "^(0|[1-9][0-9]*)?$",
         description = "The id memo of a customer of a shared `G…` account (not with an `M…` address); empty is none."),
        ("timeout_ms" = Option<u64>, Query,
         description = "Long-poll up to this many milliseconds (clamped to `limits.long_poll_max_secs`); \
            the answer comes as soon as what the poll waits for happens, else the current status at the timeout."),
        ("lpt" = Option<u64>, Query,
         description = "What to wait for: 1 while the answer is 404 or 409 (until the account is known and bound), \
            2 while `aml_review`, 3 while KYC is required (202); 0 or another value: no target."),
        ("min_rule" = Option<u64>, Query,
         description = "Answer as soon as `rule_gen` is greater than this."),
    ),
    security(("sep10" = [])),
    responses(
        (status = 200, description = "No KYC required now: KYC accepted or inherited, or nothing required yet.", body = AccountStatus),
        (status = 202, description = "KYC is required (a soft limit denied an operation), or under review (`aml_review`).", body = AccountStatus),
        (status = 204, description = "KYC limits are off (`limits.enabled = false`, or SEP-12 is off)."),
        (status = 400, description = "A malformed address, memo or number.", body = ErrorBody),
        (status = 401, description = "No SEP-10 token, or one that is invalid or expired.", body = ErrorBody),
        (status = 403, description = "The token is for another account (or memo): the one it must be for.", body = NotYours),
        (status = 404, description = "The account was never seen: no SEP-12 record, rule, recorded operation or soft denial; \
            the default limits.", body = Unknown),
        (status = 409, description = "The account is known but has no SEP-12 record to bind KYC to: open one with \
            `PUT /customer` and the account's token.", body = Unbound),
    ),
)]
async fn kyc_check(
    State(limits): State<With<Limits>>,
    Authenticated(p): Authenticated,
    account: Result<Path<String>, PathRejection>,
    q: Query,
) -> Result<Response, ApiError> {
    let (target, poll) = check_request(account, q)?;
    Ok(match limits.kyc_check(&p, &target, poll).await? {
        Status::Disabled => StatusCode::NO_CONTENT.into_response(),
        Status::Clear(s) => (StatusCode::OK, Json(s)).into_response(),
        Status::Required(s) => (StatusCode::ACCEPTED, Json(s)).into_response(),
    })
}

/// `GET /kyc-check`'s target and poll, from the path and query (consumed,
/// so that neither is held while the poll waits).
fn check_request(
    account: Result<Path<String>, PathRejection>,
    q: Query,
) -> Result<(Target, Poll), ApiError> {
    // A path that is not UTF-8 is a malformed address, answered in JSON
    // (axum's rejection is text).
    let Path(account) = account.map_err(|_| bad_target())?;
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
    Ok((target, poll))
}
