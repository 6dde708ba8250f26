//! SEP-12: customers, their SEP-9 fields and documents, stored sealed;
//! erasure; verification codes; status-change callbacks.

mod callbacks;
pub mod fields;
mod files;
mod iso;
pub mod owner;
pub mod request;
mod review;
mod routes;
mod service;
pub(crate) mod store;
mod upload;
mod verification;
pub mod view;
mod writer;

pub use callbacks::{Deliverer, signature as callback_signature};
pub use review::{AuditEntry, Decision, Detail, FieldDetail, Summary};
pub use routes::router;
pub use service::{CodeSender, CustomerError, Customers, CustomersParts, LogSender};
