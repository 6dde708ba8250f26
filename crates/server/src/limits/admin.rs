//! The limits' admin routes, behind the admin token: an account's
//! standing, its own rules, and the operation check of the business
//! server (which may record what it moves).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::routes::{answer_check, read_check, target};
use super::service::{Caller, Limits};
use crate::config::Rule;
use crate::error::ApiError;
use crate::http::{Actor, Path, Query, RawBody};
use crate::openapi::ErrorBody;
use crate::state::With;

/// The admin routes.
pub fn router() -> OpenApiRouter<With<Limits>> {
    OpenApiRouter::new()
        .routes(routes!(check))
        .routes(routes!(show))
        .routes(routes!(set, clear))
}

// What these routes take and answer, as the description shows it: the
// types they are read into and written from are in files of their own
// (`routes.rs`, `service.rs`, `config/limits.rs`), described here.

/// An operation (docs/kyc.md).
#[derive(Serialize, Deserialize, ToSchema)]
#[schema(as = admin::LimitOp)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // described
enum Op {
    /// SEP-6/24 deposits.
    Deposit,
    /// SEP-6/24 withdrawals.
    Withdraw,
    /// Payments sent (SEP-31).
    Send,
    /// Payments received.
    Receive,
    /// Firm quotes (SEP-38).
    Quote,
}

/// An account's KYC state (docs/kyc.md §KYC state and rules).
#[derive(Serialize, Deserialize, ToSchema)]
#[schema(as = admin::KycState)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // described
enum KycState {
    /// No SEP-12 record, or one that needs information.
    None,
    /// Under review.
    Pending,
    /// Accepted.
    Accepted,
    /// Attested by an accepted account (DD45).
    Inherited,
    /// Rejected.
    Rejected,
}

/// `POST /operations/check`'s body.
#[derive(Deserialize, ToSchema)]
#[schema(as = admin::OperationCheck)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // described; read by `routes::read_check`
struct CheckRequest {
    /// The account operating, `G…` or `M…`.
    account: String,
    /// With a `G…` account: the customer's id memo.
    memo: Option<String>,
    /// What it does.
    op: Op,
    /// How much: a positive amount, at most 7 decimal places.
    #[schema(pattern = r"^[0-9]{1,12}(\.[0-9]{1,7})?$")]
    amount: String,
    /// Of what: `stellar:CODE:ISSUER`, `stellar:native` or `iso4217:XXX`.
    #[schema(
        pattern = r"^(stellar:native|stellar:[A-Za-z0-9]{1,12}:G[A-Z2-7]{55}|iso4217:[A-Z]{3})$"
    )]
    asset: String,
    /// The key that authorises the operation, `G…`; KYC is bound to the
    /// account's own (`bad_kyc_auth` otherwise).
    key: Option<String>,
    /// Count the operation against the limits when allowed (the business
    /// server, once it moves it).
    #[serde(default)]
    record: bool,
}

/// `POST /operations/check`: allowed.
#[derive(Serialize, ToSchema)]
#[schema(as = admin::OperationAllowed)]
#[allow(dead_code)] // described, written as `json!`
struct Allowed {
    /// Always `true`.
    allowed: bool,
    /// The account's KYC state.
    state: KycState,
    /// Bumped by every change of state or rules.
    rule_gen: u64,
}

/// The 451 of `POST /operations/check` (Taler's
/// `LegitimizationNeededResponse`): `error` and the limit's denial.
#[derive(Serialize, ToSchema)]
#[schema(as = admin::KycRequired)]
#[allow(dead_code)] // described; written from `service::Denial`
struct Denied {
    /// What to do (as `hint`).
    error: String,
    /// Taler's `TALER_EC_EXCHANGE_GENERIC_KYC_REQUIRED`, 1028.
    code: u32,
    /// What to do.
    hint: String,
    /// The account to check.
    account: String,
    /// Its memo, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    memo: Option<String>,
    /// The key KYC is bound to: the account's own.
    account_pub: String,
    /// The operation's `key` is not that one.
    bad_kyc_auth: bool,
    /// Passing KYC can lift the limit.
    soft_limit: bool,
    /// The limit's name, when exposed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    rule_name: Option<String>,
    /// Where to follow the account's KYC: its `/kyc-check/{account}`.
    kyc_check: String,
}

/// A limit as sent (docs/kyc.md §Rules); `null` is taken as absent.
#[derive(Deserialize, ToSchema)]
#[schema(as = admin::RuleRequest)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // described; read as `config::Rule`
struct RuleIn {
    /// Shown to clients when exposed: 1 to 64 letters, digits or `-_.`.
    name: Option<String>,
    /// What it limits.
    op: Op,
    /// SEP-38 asset: `stellar:CODE:ISSUER`, `stellar:native` or
    /// `iso4217:XXX`.
    #[schema(
        pattern = r"^(stellar:native|stellar:[A-Za-z0-9]{1,12}:G[A-Z2-7]{55}|iso4217:[A-Z]{3})$"
    )]
    asset: String,
    /// At most this much, per operation or in the window.
    #[schema(pattern = r"^[0-9]{1,12}(\.[0-9]{1,7})?$")]
    threshold: String,
    /// The rolling window in seconds, at most ten years and the
    /// operations' retention; absent: per operation.
    #[schema(minimum = 1)]
    timeframe_secs: Option<u64>,
    /// Passing KYC lifts it; default `true`.
    #[serde(default)]
    #[schema(default = true)]
    soft_limit: bool,
    /// Clients may see it; default `true`.
    #[serde(default)]
    #[schema(default = true)]
    exposed: bool,
    /// The KYC states it applies in; absent: every state but the passed
    /// ones for a soft limit, every state for a hard one.
    states: Option<Vec<KycState>>,
}

/// A limit as answered (docs/kyc.md §Rules).
#[derive(Serialize, ToSchema)]
#[schema(as = admin::Rule)]
#[allow(dead_code)] // described; written from `config::Rule`
struct RuleOut {
    /// Shown to clients when exposed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    name: Option<String>,
    /// What it limits.
    op: Op,
    /// SEP-38 asset.
    asset: String,
    /// At most this much, per operation or in the window.
    threshold: String,
    /// The rolling window in seconds; absent: per operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    timeframe_secs: Option<u64>,
    /// Passing KYC lifts it.
    soft_limit: bool,
    /// Clients may see it.
    exposed: bool,
    /// The KYC states it applies in; absent: every state but the passed
    /// ones for a soft limit, every state for a hard one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    states: Option<Vec<KycState>>,
}

/// `GET /admin/limits/{account}`: an account's standing for staff.
#[derive(Serialize, ToSchema)]
#[schema(as = admin::LimitStanding)]
#[allow(dead_code)] // described; written as `json!` by `staff.rs`
struct Standing {
    /// The account, `G…`.
    account: String,
    /// Its memo, or `null`.
    #[schema(required = true)]
    memo: Option<String>,
    /// Seen before (gated, or with a SEP-12 record).
    known: bool,
    /// With a SEP-12 record, which binds its KYC to the account.
    bound: bool,
    /// Its KYC state.
    state: KycState,
    /// Bumped by every change of state or rules; 0 for an account never
    /// seen.
    rule_gen: u64,
    /// A soft limit denied an operation since the last decision.
    kyc_required: bool,
    /// Its own rules replace the configured ones.
    own_rules: bool,
    /// Every rule in force for it, exposed or not.
    rules: Vec<RuleStanding>,
    /// The account (`G…` or `G…:memo`) it inherits KYC from, or `null`.
    #[schema(required = true)]
    inherited_from: Option<String>,
    /// The accounts it attests (`G…` or `G…:memo`).
    attested: Vec<String>,
}

/// One rule of an account's standing.
#[derive(Serialize, ToSchema)]
#[schema(as = admin::RuleStanding)]
#[allow(dead_code)] // described
struct RuleStanding {
    /// The rule.
    rule: RuleOut,
    /// It applies in the account's state.
    applies: bool,
    /// Counted against it in its window now (`0` for a rule per
    /// operation).
    used: String,
    /// When the oldest operation counted leaves the window, unix seconds,
    /// or `null`.
    #[schema(required = true)]
    resets_at: Option<i64>,
}

/// `PUT /admin/limits/{account}/rules`' body.
#[derive(Deserialize, ToSchema)]
#[schema(as = admin::Rules)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // described; read as `RulesBody`
struct RulesRequest {
    /// The account's own rules, at most 100; `[]`: no limits at all.
    #[schema(max_items = 100)]
    rules: Vec<RuleIn>,
}

/// The rules' generation after a change.
#[derive(Serialize, ToSchema)]
#[schema(as = admin::RuleGen)]
struct RuleGen {
    /// The account's `rule_gen` now (for `/kyc-check`'s `min_rule`).
    rule_gen: u64,
}

/// `POST /operations/check` with the admin token; `record` allowed.
#[utoipa::path(
    post, path = "/operations/check", tag = "KYC limits", operation_id = "admin_operations_check",
    summary = "Whether an operation is within an account's limits, and record it (docs/kyc.md, after GNU Taler DD64)",
    request_body(content = CheckRequest, content_type = "application/json",
                 description = "Read as JSON whatever its `Content-Type`."),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Allowed (always, when limits are off); with `record`, counted and audited.", body = Allowed),
        (status = 400, description = "The body is not the JSON shown, or a field is invalid, or the `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
        (status = 451, description = "Over a limit (RFC 7725): KYC is required (`soft_limit`), or a limit KYC does not lift; nothing is recorded.", body = Denied),
    ),
)]
async fn check(
    State(limits): State<With<Limits>>,
    Actor(actor): Actor,
    RawBody(raw): RawBody,
) -> Result<Response, ApiError> {
    let c = read_check(&raw)?;
    answer_check(&limits, &Caller::Admin(actor), c).await
}

/// `GET /admin/limits/{account}?memo=`.
#[utoipa::path(
    get, path = "/admin/limits/{account}", tag = "KYC limits", operation_id = "admin_limits_get",
    summary = "An account's KYC standing and every limit in force for it (docs/kyc.md)",
    params(
        ("account" = String, Path, description = "The account, `G…` or `M…`."),
        ("memo" = Option<String>, Query, description = "With a `G…` account: the customer's id memo, an unsigned 64-bit integer."),
    ),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The standing, also of an account never seen.", body = Standing),
        (status = 400, description = "The account is not a `G…` or `M…` address or the memo not an unsigned 64-bit id, or the `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
    ),
)]
async fn show(
    State(limits): State<With<Limits>>,
    Actor(_): Actor,
    Path(account): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let t = target(&account, &q)?;
    Ok(Json(limits.account(&t).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesBody {
    rules: Vec<Rule>,
}

/// `PUT /admin/limits/{account}/rules?memo=` `{"rules": […]}`: the
/// account's own rules, replacing the configured ones.
#[utoipa::path(
    put, path = "/admin/limits/{account}/rules", tag = "KYC limits", operation_id = "admin_limits_set_rules",
    summary = "An account's own rules, replacing the configured ones (docs/kyc.md §Rules)",
    params(
        ("account" = String, Path, description = "The account, `G…` or `M…`."),
        ("memo" = Option<String>, Query, description = "With a `G…` account: the customer's id memo, an unsigned 64-bit integer."),
    ),
    request_body(content = RulesRequest, content_type = "application/json",
                 description = "Read as JSON whatever its `Content-Type`."),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Set and audited; the account's polls are woken.", body = RuleGen),
        (status = 400, description = "The body is not the JSON shown, a rule is invalid, there are over 100, a window is longer than operations are kept, the account is not a `G…` or `M…` address or the memo not an unsigned 64-bit id, or the `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
    ),
)]
async fn set(
    State(limits): State<With<Limits>>,
    Actor(actor): Actor,
    Path(account): Path<String>,
    q: Query,
    RawBody(raw): RawBody,
) -> Result<Response, ApiError> {
    let t = target(&account, &q)?;
    let body: RulesBody = serde_json::from_slice(&raw).map_err(|e| {
        ApiError::bad_request(format!(
            "body must be JSON {{\"rules\": [{{\"op\", \"asset\", \"threshold\", …}}]}}: {}",
            problem(&e)
        ))
    })?;
    let rule_gen = limits.set_rules(&actor, &t, Some(body.rules)).await?;
    Ok(Json(RuleGen { rule_gen }).into_response())
}

/// `DELETE /admin/limits/{account}/rules?memo=`: back to the configured
/// rules.
#[utoipa::path(
    delete, path = "/admin/limits/{account}/rules", tag = "KYC limits", operation_id = "admin_limits_clear_rules",
    summary = "Back to the configured rules (docs/kyc.md §Rules)",
    params(
        ("account" = String, Path, description = "The account, `G…` or `M…`."),
        ("memo" = Option<String>, Query, description = "With a `G…` account: the customer's id memo, an unsigned 64-bit integer."),
    ),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Cleared and audited; the account's polls are woken.", body = RuleGen),
        (status = 400, description = "The account is not a `G…` or `M…` address or the memo not an unsigned 64-bit id, or the `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
    ),
)]
async fn clear(
    State(limits): State<With<Limits>>,
    Actor(actor): Actor,
    Path(account): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let t = target(&account, &q)?;
    let rule_gen = limits.set_rules(&actor, &t, None).await?;
    Ok(Json(RuleGen { rule_gen }).into_response())
}

/// What is wrong with a rules body, without repeating any of it.
fn problem(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            "it is not valid JSON"
        }
        _ => {
            "a rule has a missing, unknown or mistyped field (op: deposit|withdraw|send|receive|quote; threshold: a decimal string; timeframe_secs: seconds)"
        }
    }
}
