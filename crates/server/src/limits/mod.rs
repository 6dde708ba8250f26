//! KYC-gated limits (docs/kyc.md): rules per operation from
//! `[[limits.rules]]` or per account from the admin API, the operation
//! check that answers 451 when KYC is needed (Taler's
//! `LegitimizationNeededResponse`), and `/kyc-check` with Taler's long
//! polling (`timeout_ms`, `lpt`, `min_rule`).

pub mod admin;
mod gate;
mod poll;
mod routes;
mod service;
mod staff;
mod store;

pub use routes::router;
pub use service::{
    CODE_AUTHORIZATION_FAILED, CODE_KEY_UNKNOWN, CODE_KYC_REQUIRED, CODE_UNKNOWN, Caller, Check,
    Denial, LimitError, Limits, LimitsParts, Status,
};
