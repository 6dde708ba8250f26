//! SEP-10 web authentication: challenges, tokens, and the extractor every
//! authenticated endpoint uses.

mod challenge_auth;
pub mod client_domain;
pub(crate) mod extract;
pub mod jwt;
mod routes;
mod service;
mod store;

pub use challenge_auth::ChallengeAuthError;
pub use extract::{Authenticated, Principal};
pub use routes::router;
pub use service::{AuthError, ChallengeParams, WebAuth, WebAuthParts};
