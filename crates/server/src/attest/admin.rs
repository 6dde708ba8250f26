//! Staff undoing an attestation, behind the admin token.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::delete;
use axum::{Json, Router};
use serde_json::json;

use super::service::Attest;
use crate::error::ApiError;
use crate::http::{Actor, Query};
use crate::kyc::Target;
use crate::state::With;

/// The admin routes.
pub fn router() -> utoipa_axum::router::OpenApiRouter<With<Attest>> {
    utoipa_axum::router::OpenApiRouter::from(
        Router::new().route("/admin/attestations/{target}", delete(revoke)),
    )
}

/// `DELETE /admin/attestations/{target}?memo=`: the target no longer
/// inherits; its copied attributes are deleted.
async fn revoke(
    State(attest): State<With<Attest>>,
    Actor(actor): Actor,
    Path(target): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let t = Target::parse(&target, q.0.get("memo")).ok_or_else(|| {
        ApiError::bad_request("target must be a G… or M… address, memo an unsigned 64-bit id")
    })?;
    let revoked = attest.revoke(&actor, &t).await?;
    Ok(Json(json!({ "revoked": revoked })).into_response())
}
