//! KYC inheritance by attestation (GNU Taler's DD45, on Stellar keys;
//! docs/kyc.md): an account whose own KYC is accepted signs that another
//! account inherits it, once, to a configured number of accounts.

pub mod admin;
pub mod request;
mod routes;
mod service;

pub use routes::router;
pub use service::{Attest, AttestError, AttestParts, Attestation};
