//! `POST /kyc-attest/{target}` (DD45). No token: the attester's signature
//! is the authority.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::request::{self, Body};
use super::service::{Attest, Attested};
use crate::error::ApiError;
use crate::http::{JsonBody, body_limit};
use crate::openapi::ErrorBody;
use crate::state::With;

/// Largest attestation body.
const MAX_BODY: usize = 4096;

/// The public route.
pub fn router() -> OpenApiRouter<With<Attest>> {
    OpenApiRouter::new()
        .routes(routes!(attest))
        .layer(body_limit(MAX_BODY))
}

/// DD45's 404: the key with no KYC record here.
#[derive(Serialize, ToSchema)]
#[schema(as = attest::Unknown)]
#[allow(dead_code)] // described; written by `From<AttestError> for ApiError`
struct Unknown {
    /// What went wrong.
    error: String,
    /// The unknown `G…` (the attester's or the target's).
    account: String,
}

/// `POST /kyc-attest/{target}`: 200, 400, 403, 404 or 409 as DD45 says.
#[utoipa::path(
    post, path = "/kyc-attest/{target}", tag = "KYC attestation", operation_id = "attest_kyc",
    summary = "An accepted account lends its KYC to another (GNU Taler DD45; docs/kyc.md)",
    params(("target" = String, Path, pattern = "^G[A-Z2-7]{55}$",
            description = "The `G…` account that inherits the attester's KYC.")),
    request_body(content((Body = "application/json"))),
    // No token: the attester's signature is the authority.
    responses(
        (status = 200, description = "The target inherits the attester's KYC (the same request again changes nothing).", body = Attested),
        (status = 400, description = "A malformed target, body or birthday, or an account attesting itself.", body = ErrorBody),
        (status = 403, description = "Attestation is off; the signature does not verify, has expired or expires too far \
            ahead; the attester's own KYC is not accepted (or is inherited); staff revoked this attestation before; or \
            the attester has attested as many accounts as allowed.", body = ErrorBody),
        (status = 404, description = "The attester, or the target, has no SEP-12 record here.", body = Unknown),
        (status = 409, description = "The target's own KYC is accepted or was rejected; it inherits from another \
            attester; or the birthday is earlier than the attester's.", body = ErrorBody),
        (status = 413, description = "The body is over 4096 bytes.", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
    ),
)]
async fn attest(
    State(attest): State<With<Attest>>,
    target: Result<Path<String>, PathRejection>,
    JsonBody(raw): JsonBody<MAX_BODY>,
) -> Result<Response, ApiError> {
    // A path that is not UTF-8 is a malformed address, answered in JSON
    // (axum's rejection is text).
    let Path(target) = target.map_err(|_| request::bad_target())?;
    let attestation = request::read(&target, &raw)?;
    let done = attest.attest(&attestation).await?;
    Ok(Json(done).into_response())
}
