//! The Mooring server: SEP-1 discovery, SEP-10 authentication, and the
//! identity capabilities built on them (SEP-12 customers, SEP-30 recovery,
//! KYC-gated limits and KYC inheritance, SEP-38 quotes and SEP-31
//! payments).
//!
//! Every capability has the same shape (`mod.rs`, `routes.rs`, `service.rs`,
//! `store.rs`, `admin.rs`), stands beside the others without importing
//! them, and builds on the shared modules below it. A request flows: edge
//! extractor ([`http`]) → route (HTTP only) → service (the rules) → store
//! (SQL) → back out through [`error::ApiError`], the one place statuses are
//! chosen.

// Capabilities.
pub mod attest;
pub mod auth;
pub mod customers;
pub mod discovery;
pub mod limits;
pub mod payments;
pub mod quotes;
pub mod recovery;

// What capabilities share.
pub mod app;
pub mod audit;
pub mod backup;
pub mod blobs;
pub mod clock;
pub mod config;
pub mod console;
pub mod db;
pub mod error;
pub mod horizon;
pub mod http;
pub mod jwt;
pub mod kyc;
pub mod net;
pub mod notify;
pub mod openapi;
pub mod outbox;
pub mod partners;
pub mod rate_limit;
pub mod rotate;
pub mod secrets;
pub mod sep9;
pub mod server_keys;
pub mod state;
pub mod telemetry;
pub mod vault;

pub use app::{Server, ServerOptions, shutdown_signal};
pub use config::Config;
