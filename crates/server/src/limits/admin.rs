//! The limits' admin routes, behind the admin token: an account's
//! standing, its own rules, and the operation check of the business
//! server (which may record what it moves).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::routes::{answer_check, read_check, target};
use super::service::{Caller, Limits};
use crate::config::Rule;
use crate::error::ApiError;
use crate::http::{Actor, Query, RawBody};
use crate::state::With;

/// The admin routes.
pub fn router() -> utoipa_axum::router::OpenApiRouter<With<Limits>> {
    utoipa_axum::router::OpenApiRouter::from(
        Router::new()
            .route("/operations/check", post(check))
            .route("/admin/limits/{account}", get(show))
            .route(
                "/admin/limits/{account}/rules",
                axum::routing::put(set).delete(clear),
            ),
    )
}

/// `POST /operations/check` with the admin token; `record` allowed.
async fn check(
    State(limits): State<With<Limits>>,
    Actor(actor): Actor,
    RawBody(raw): RawBody,
) -> Result<Response, ApiError> {
    let c = read_check(&raw)?;
    answer_check(&limits, &Caller::Admin(actor), c).await
}

/// `GET /admin/limits/{account}?memo=`.
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
    let generation = limits.set_rules(&actor, &t, Some(body.rules)).await?;
    Ok(Json(json!({ "rule_gen": generation })).into_response())
}

/// `DELETE /admin/limits/{account}/rules?memo=`: back to the configured
/// rules.
async fn clear(
    State(limits): State<With<Limits>>,
    Actor(actor): Actor,
    Path(account): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let t = target(&account, &q)?;
    let generation = limits.set_rules(&actor, &t, None).await?;
    Ok(Json(json!({ "rule_gen": generation })).into_response())
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
