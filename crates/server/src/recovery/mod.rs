//! SEP-30 account recovery (../specs/sep-0030.md, v0.8.1): accounts register
//! identities and get a signing key of their own; an authenticated identity
//! later has the server sign a transaction for the account.
//!
//! What is stored names no one: auth method values only as keyed hashes
//! (the key wrapped by the master key, in `server_keys`), signing keys only
//! sealed by the account's own data key (wrapped by the master key).

pub mod admin;
pub mod authorize;
mod caller;
pub mod model;
pub mod policy;
mod routes;
mod service;
pub mod sponsor;
mod store;
pub mod trusted;
mod view;

pub use caller::{Caller, ProviderClaims};
pub use service::{
    AccountView, IdentityView, PAGE, Recovery, RecoveryError, RecoveryParts, Signature, SignerView,
};

/// The SEP-30 routes and the sign-in that gives its `External` tokens.
pub fn router() -> utoipa_axum::router::OpenApiRouter<crate::state::With<Recovery>> {
    routes::router().merge(authorize::routes::router())
}
