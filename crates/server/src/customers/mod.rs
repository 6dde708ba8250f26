//! SEP-12: customers, their SEP-9 fields and documents, stored sealed;
//! erasure; verification codes; status-change callbacks.

pub mod admin;
pub mod bodies;
mod callbacks;
mod erase;
mod files;
mod kyc;
pub mod owner;
mod put;
pub mod request;
mod review;
mod routes;
mod service;
pub(crate) mod store;
mod upload;
mod verification;
pub mod view;
mod writer;

pub use callbacks::CUSTOMERS as CALLBACKS;
pub use review::{Decision, Detail, FieldDetail, Summary};
pub use routes::router;
pub use service::{CustomerError, Customers, CustomersParts};
pub use verification::{CodeSender, LogSender, NotifySender};
