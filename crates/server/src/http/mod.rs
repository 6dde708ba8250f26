//! The HTTP edge, the one place requests are taken apart: bodies by media
//! type with their size limits, query strings and forms, the `Bearer`
//! token, the authenticated [`Principal`], the client's address and the
//! admin token. Every capability's routes use these extractors and
//! helpers; none parses a header, a query string or a body by hand, and
//! every refusal here is the spec's JSON error ([`crate::error::ApiError`]).

mod admin;
mod bearer;
mod body;
mod client_ip;
mod nul;
mod pairs;
mod path;
mod principal;

pub use admin::{Actor, AdminToken, require_admin};
pub use bearer::{Bearer, bearer};
pub use body::{
    BodyLimit, JsonBody, JsonOrForm, Media, RawBody, body_limit, declared_over, has_body,
    media_type, multipart, multipart_error, read_limited, read_text_part, refuse_declared_over,
};
pub use client_ip::{ClientIp, client_of};
pub use nul::RefuseNul;
pub use pairs::{Form, Pairs, Query, QueryAs};
pub use path::Path;
pub use principal::{Authenticated, Principal};
