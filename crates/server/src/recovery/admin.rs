//! SEP-30's admin routes, mounted by the admin listener behind the admin
//! token ([`crate::http::require_admin`]).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use super::Recovery;
use super::routes::address;
use crate::error::ApiError;
use crate::http::Actor;
use crate::state::With;

/// The SEP-30 admin routes.
pub fn router() -> utoipa_axum::router::OpenApiRouter<With<Recovery>> {
    utoipa_axum::router::OpenApiRouter::from(Router::new().route(
        "/admin/recovery/accounts/{address}/signers",
        post(add_signer),
    ))
}

/// `POST /admin/recovery/accounts/{address}/signers`: a new signing key for
/// a SEP-30 account (§Signing Key Rotation), listed first; the old ones keep
/// working until the account's owner removes them.
async fn add_signer(
    State(recovery): State<With<Recovery>>,
    Actor(actor): Actor,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let address = address(&raw)?.to_string();
    Ok(Json(recovery.add_signer(&actor, &address).await?).into_response())
}
