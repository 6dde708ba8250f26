//! SEP-38 quotes (docs/quotes.md): indicative prices and firm quotes for
//! partner anchors, from a table in the configuration or the anchor's
//! business server; the firm quotes SEP-31 transactions take.

mod math;
mod price;
mod request;
mod routes;
mod schema;
mod service;
mod store;

pub use routes::router;
pub use service::{QuoteError, Quotes, QuotesParts};
