//! Staff undoing an attestation, behind the admin token.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::Attest;
use crate::error::ApiError;
use crate::http::{Actor, Path, Query};
use crate::kyc::Target;
use crate::openapi::ErrorBody;
use crate::state::With;

/// The admin routes.
pub fn router() -> OpenApiRouter<With<Attest>> {
    OpenApiRouter::new().routes(routes!(revoke))
}

/// `DELETE /admin/attestations/{target}`'s body.
#[derive(Serialize, ToSchema)]
#[schema(as = admin::Revoked)]
struct Revoked {
    /// Whether the target inherited (and no longer does); `false`: it
    /// inherited nothing, nothing changed.
    revoked: bool,
}

/// `DELETE /admin/attestations/{target}?memo=`: the target no longer
/// inherits; its copied attributes are deleted.
#[utoipa::path(
    delete, path = "/admin/attestations/{target}", tag = "KYC limits",
    operation_id = "admin_attestation_revoke",
    summary = "End a KYC inheritance by attestation (after GNU Taler DD45)",
    params(
        ("target" = String, Path, description = "The inheriting account, `G…` or `M…`."),
        ("memo" = Option<String>, Query, description = "With a `G…` target: the customer's id memo, an unsigned 64-bit integer."),
    ),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Done (audited when it inherited): it no longer inherits, its copied attributes are deleted, and its attester may not attest it again.", body = Revoked),
        (status = 400, description = "The target is not a `G…` or `M…` address or the memo not an unsigned 64-bit id, or the `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
    ),
)]
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
    Ok(Json(Revoked { revoked }).into_response())
}
