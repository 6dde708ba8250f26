//! `POST /kyc-attest/{target}` (DD45). No token: the attester's signature
//! is the authority.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use mooring_stellar::PublicKey;
use mooring_stellar::attest::FuzzyDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{Attest, Attestation, Attested};
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

/// DD45's `KYCAttestationRequest`, with the expiry Mooring adds.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = attest::Request)]
struct Body {
    /// The target's birthday, which replaces the attester's `birth_date`
    /// in the target's copy; `00` for an unknown month or day. It may not
    /// be earlier than the attester's own (409).
    #[serde(default)]
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    birthday: Option<String>,
    /// The attester's `G…` account, whose own KYC is accepted.
    #[schema(pattern = "^G[A-Z2-7]{55}$")]
    attester_pub: String,
    /// The attester's ed25519 signature of the attestation (docs/kyc.md
    /// gives the signed bytes): 64 bytes in base64.
    #[schema(pattern = "^[A-Za-z0-9+/]{86}==$")]
    attester_sig: String,
    /// Unix seconds after which the signature is worthless; at most
    /// `limits.attestation_max_lifetime_secs` ahead.
    expires: u64,
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
    let bad_target = || ApiError::bad_request("the target must be a G… address");
    // A path that is not UTF-8 is a malformed address, answered in JSON
    // (axum's rejection is text).
    let Path(target) = target.map_err(|_| bad_target())?;
    let target = PublicKey::parse(&target).map_err(|_| bad_target())?;
    let b: Body = serde_json::from_slice(&raw).map_err(|_| {
        ApiError::bad_request(
            "body must be JSON: {\"attester_pub\", \"attester_sig\", \"expires\", \"birthday\"?}",
        )
    })?;
    let attester = PublicKey::parse(&b.attester_pub)
        .map_err(|_| ApiError::bad_request("attester_pub must be a G… address"))?;
    let signature: [u8; 64] = base64::engine::general_purpose::STANDARD
        .decode(b.attester_sig.as_bytes())
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| ApiError::bad_request("attester_sig must be 64 bytes in base64"))?;
    let birthday = b
        .birthday
        .map(|s| FuzzyDate::parse(&s))
        .map(|d| {
            d.ok_or_else(|| {
                ApiError::bad_request("birthday must be YYYY-MM-DD, YYYY-MM-00 or YYYY-00-00")
            })
        })
        .transpose()?;
    let done = attest
        .attest(&Attestation {
            target,
            attester,
            signature,
            birthday,
            expires: b.expires,
        })
        .await?;
    Ok(Json(done).into_response())
}
