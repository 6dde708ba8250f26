//! SEP-31 payments, the receiving anchor (docs/payments.md): transactions
//! partners create and pay on Stellar, the status machine staff and the
//! business server move them through, and the observer that matches the
//! payments on Horizon.

pub mod admin;
mod amounts;
mod feed;
mod observer;
mod request;
mod routes;
mod schema;
mod service;
mod staff;
mod status;
mod store;
mod view;

pub use feed::Feed;
pub use observer::{Observer, Outcome, Payment};
pub use routes::router;
pub use service::{PAYMENTS, PaymentError, Payments, PaymentsParts};
pub use staff::{Refund, Update};
pub use status::{ALL as STATUSES, Status};
