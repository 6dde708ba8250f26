//! `POST /kyc-attest/{target}`'s request read: the target from the path
//! and DD45's body, each malformed part a 400 saying what is wrong.

use base64::Engine as _;
use mooring_stellar::PublicKey;
use mooring_stellar::attest::FuzzyDate;
use serde::Deserialize;
use utoipa::ToSchema;

use super::service::Attestation;
use crate::error::ApiError;

/// DD45's `KYCAttestationRequest`, with the expiry Mooring adds.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = attest::Request)]
pub(super) struct Body {
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

/// The 400 for a target that is not a `G…` address.
pub(super) fn bad_target() -> ApiError {
    ApiError::bad_request("the target must be a G… address")
}

/// The attestation `target` (the path's address) and `raw` (the body)
/// ask for; 400 when either is malformed. Whether the signature holds is
/// the service's to check.
pub fn read(target: &str, raw: &[u8]) -> Result<Attestation, ApiError> {
    let target = PublicKey::parse(target).map_err(|_| bad_target())?;
    let b: Body = serde_json::from_slice(raw).map_err(|_| {
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
        .map(|s| {
            FuzzyDate::parse(&s).ok_or_else(|| {
                ApiError::bad_request("birthday must be YYYY-MM-DD, YYYY-MM-00 or YYYY-00-00")
            })
        })
        .transpose()?;
    Ok(Attestation {
        target,
        attester,
        signature,
        birthday,
        expires: b.expires,
    })
}
