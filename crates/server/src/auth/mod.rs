//! SEP-10 web authentication: challenges, and the session tokens every
//! other capability accepts (verified at the edge, [`crate::http::Authenticated`]).

mod challenge_auth;
pub mod client_domain;
mod routes;
mod service;
mod store;

pub use challenge_auth::ChallengeAuthError;
pub use routes::router;
pub use service::{AuthError, ChallengeParams, WebAuth, WebAuthParts};
