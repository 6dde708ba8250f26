//! `POST /kyc-attest/{target}` (DD45 inheritance of KYC, docs/kyc.md) over
//! real HTTP, on SQLite and PostgreSQL: one module per answer, the
//! revocations that end an inheritance, and the signed bytes checked by an
//! independent implementation (PyNaCl and the Python stellar-sdk).

#[path = "../common/mod.rs"]
mod common;

mod cascade;
mod conflict;
mod forbidden;
mod inherit;
mod malformed;
mod revoke;
mod unknown;
mod vector;
