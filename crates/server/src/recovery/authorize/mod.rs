//! The sign-in that gives SEP-30's `External` tokens (SEP-30
//! §Authentication; the flow of ../seeds/003: a wallet asks for a request
//! with `POST /authorize/token`, the person opens `/authorize?token=…` in a
//! browser and signs in with an identity provider, the wallet polls
//! `GET /authorize/token/{id}` until it gets an access token naming
//! `auth_method_type` and `auth_method_value`).
//!
//! Ids, tokens and codes are random and stored only hashed; codes are
//! single-use, short-lived, limited in attempts, and rate-limited per
//! identity and per IP address in the database (so across replicas).

mod account_routes;
mod forms;
mod oidc;
pub mod pages;
mod password;
pub mod routes;
mod service;
mod store;
mod tokens;
pub mod totp;

pub use oidc::{OidcError, OidcProvider};
pub use password::SignIn;
// The senders are shared (crate::notify); named here too for the users of
// the sign-in's parts.
pub use crate::notify::{LogDelivery, Mailer, SmsSender, SmtpMailer};
pub use service::{Authorize, AuthorizeError, AuthorizeParts, NewRequest, Offer, Poll};
pub use tokens::user_code;
use tokens::{hashed, random_token, well_formed};
