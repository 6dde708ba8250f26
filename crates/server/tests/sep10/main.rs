//! SEP-10 over real HTTP, on SQLite and PostgreSQL: the happy paths, then
//! one named test per way a challenge can be wrong, each asserting the exact
//! status and error.

#[path = "../common/mod.rs"]
mod common;

mod challenge;
mod login;
mod purge;
mod signers;
mod token;
