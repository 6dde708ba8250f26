//! SEP-30 over real HTTP, on SQLite and PostgreSQL: registration, reads,
//! updates, listing, deletion, signing and its policy, key rotation, and
//! every refusal with its exact status and error.

#[path = "../common/mod.rs"]
mod common;

mod accounts;
mod at_rest;
mod auth;
mod rotation;
mod signing;
mod sponsorship;
mod validation;
