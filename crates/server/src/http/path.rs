//! Path parameters, refused in the JSON error shape: axum's own `Path`
//! answers a segment that is not UTF-8 once percent-decoded (`/%FF`) with a
//! plain-text 400, unlike every other answer of this server.

use axum::extract::FromRequestParts;

use crate::error::ApiError;

/// axum's [`axum::extract::Path`], refused as an [`ApiError`] (its status
/// chosen in [`crate::error`]).
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);
