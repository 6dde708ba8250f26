//! SEP-30's admin routes, mounted by the admin listener behind the admin
//! token ([`crate::http::require_admin`]).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Recovery;
use super::routes::address;
use crate::error::ApiError;
use crate::http::{Actor, Path};
use crate::openapi::ErrorBody;
use crate::state::With;

/// The SEP-30 admin routes.
pub fn router() -> OpenApiRouter<With<Recovery>> {
    OpenApiRouter::new().routes(routes!(add_signer))
}

/// An account as the rotation answers it (SEP-30 §Common Response Fields;
/// `recovery::service::AccountView`, whose file is not this one's, with no
/// identity `authenticated`: staff proves none).
#[derive(Serialize, ToSchema)]
#[schema(as = admin::RecoveryAccount)]
#[allow(dead_code)] // described, written by the service
struct Account {
    /// The account.
    address: String,
    /// Its identities, by role (never their auth methods).
    identities: Vec<Identity>,
    /// Its signing keys, newest first: the new one first.
    signers: Vec<Signer>,
}

/// One identity of a SEP-30 account.
#[derive(Serialize, ToSchema)]
#[schema(as = admin::RecoveryIdentity)]
#[allow(dead_code)] // described
struct Identity {
    /// Its role, e.g. `owner`.
    role: String,
}

/// One signing key of a SEP-30 account.
#[derive(Serialize, ToSchema)]
#[schema(as = admin::RecoverySigner)]
#[allow(dead_code)] // described
struct Signer {
    /// `G…`.
    key: String,
}

/// `POST /admin/recovery/accounts/{address}/signers`: a new signing key for
/// a SEP-30 account (§Signing Key Rotation), listed first; the old ones keep
/// working until the account's owner removes them.
#[utoipa::path(
    post, path = "/admin/recovery/accounts/{address}/signers", tag = "Recovery",
    operation_id = "admin_recovery_add_signer",
    summary = "A new signing key for a SEP-30 account (SEP-30 §Signing Key Rotation)",
    params(
        ("address" = String, Path, description = "The account, `G…`."),
    ),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The account, with the new key first; audited.", body = Account),
        (status = 400, description = "The address is not a `G…` account, or the `X-Mooring-Actor` header is not 1 to 64 letters, digits or `@._-`.", body = ErrorBody),
        (status = 404, description = "The account is not registered here.", body = ErrorBody),
    ),
)]
async fn add_signer(
    State(recovery): State<With<Recovery>>,
    Actor(actor): Actor,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let address = address(&raw)?.to_string();
    Ok(Json(recovery.add_signer(&actor, &address).await?).into_response())
}
