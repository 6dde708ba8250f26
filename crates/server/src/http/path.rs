//! Path parameters, refused in the JSON error shape: axum's own `Path`
//! answers a segment that is not UTF-8 once percent-decoded (`/%FF`) with a
//! plain-text 400, unlike every other answer of this server.

use axum::extract::FromRequestParts;
use axum::extract::rejection::PathRejection;

use crate::error::ApiError;

/// axum's [`axum::extract::Path`], with a JSON 400 for a segment that is
/// not text.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        match r {
            PathRejection::FailedToDeserializePathParams(_) => {
                ApiError::bad_request("a path segment is not valid UTF-8 text once decoded")
            }
            // A route without the parameter its handler reads: a bug.
            other => ApiError::internal(other.body_text()),
        }
    }
}
