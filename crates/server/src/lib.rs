//! The Mooring server: SEP-1 discovery and SEP-10 authentication today, the
//! identity capabilities (SEP-12, SEP-30, SEP-31, SEP-38) on top of them.
//!
//! A request flows: route (HTTP only) → service (the rules) → store (SQL) →
//! back out through [`error::ApiError`], the one place statuses are chosen.

pub mod admin;
pub mod app;
pub mod auth;
pub mod blobs;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod customers;
pub mod db;
pub mod discovery;
pub mod error;
pub mod horizon;
pub mod net;
pub mod recovery;
pub mod rotate;
pub mod secrets;
pub mod telemetry;
pub mod vault;

pub use app::{Server, ServerOptions, shutdown_signal};
pub use config::Config;
