//! The SEP-30 sign-in (`/authorize`) end to end, on SQLite and PostgreSQL:
//! email one-time codes through a real SMTP server on loopback, SMS codes,
//! and OpenID Connect against a provider process on loopback that signs
//! real ID tokens; then the access tokens at work on the SEP-30 endpoints.

#[path = "../common/mod.rs"]
mod common;

mod email_code;
mod github;
mod limits;
mod openid_connect;
mod password;
mod sms;
mod totp;
