//! `POST /kyc-attest/{target}` (DD45). No token: the attester's signature
//! is the authority.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use mooring_stellar::PublicKey;
use mooring_stellar::attest::FuzzyDate;
use serde::Deserialize;

use super::service::{Attest, Attestation};
use crate::error::ApiError;
use crate::http::{JsonBody, body_limit};
use crate::state::With;

/// Largest attestation body.
const MAX_BODY: usize = 4096;

/// The public route.
pub fn router() -> utoipa_axum::router::OpenApiRouter<With<Attest>> {
    utoipa_axum::router::OpenApiRouter::from(
        Router::new()
            .route("/kyc-attest/{target}", post(attest))
            .layer(body_limit(MAX_BODY)),
    )
}

/// DD45's `KYCAttestationRequest`, with the expiry Mooring adds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    #[serde(default)]
    birthday: Option<String>,
    attester_pub: String,
    attester_sig: String,
    expires: u64,
}

/// `POST /kyc-attest/{target}`: 200, 400, 403, 404 or 409 as DD45 says.
async fn attest(
    State(attest): State<With<Attest>>,
    Path(target): Path<String>,
    JsonBody(raw): JsonBody<MAX_BODY>,
) -> Result<Response, ApiError> {
    let target = PublicKey::parse(&target)
        .map_err(|_| ApiError::bad_request("the target must be a G… address"))?;
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
