//! Request bodies: which media type was sent, whether the declared length
//! is over a limit (refused before a byte is read), and the readers for
//! JSON, form and multipart bodies.

use axum::body::Bytes;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, StatusCode, header};

use super::Pairs;
use crate::error::ApiError;

/// The media types Mooring reads request bodies in.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Media {
    /// `application/json`.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `multipart/form-data`.
    Multipart,
}

/// The request's media type, when it is one of [`Media`] (parameters and
/// case ignored).
pub fn media_type(headers: &HeaderMap) -> Option<Media> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let mime = value.split(';').next()?.trim();
    [
        ("application/json", Media::Json),
        ("application/x-www-form-urlencoded", Media::Form),
        ("multipart/form-data", Media::Multipart),
    ]
    .into_iter()
    .find(|(name, _)| mime.eq_ignore_ascii_case(name))
    .map(|(_, m)| m)
}

/// A route's body limit, in bytes, as [`body_limit`] set it.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub u64);

/// The layer that limits the bodies of the routes it wraps to `max` bytes:
/// the body extractors below answer 413 before reading a body whose
/// `Content-Length` is larger, and a body sent without one is cut off at
/// the limit.
pub fn body_limit(
    max: usize,
) -> tower::ServiceBuilder<
    tower::layer::util::Stack<
        axum::Extension<BodyLimit>,
        tower::layer::util::Stack<axum::extract::DefaultBodyLimit, tower::layer::util::Identity>,
    >,
> {
    tower::ServiceBuilder::new()
        .layer(axum::extract::DefaultBodyLimit::max(max))
        .layer(axum::Extension(BodyLimit(max as u64)))
}

/// 413 when the request declares a body over its route's limit: nothing
/// of it is read (RFC 9110 §15.5.14).
pub fn refuse_declared_over(
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
) -> Result<(), ApiError> {
    match extensions.get::<BodyLimit>() {
        Some(BodyLimit(max)) if declared_over(headers, *max) => Err(ApiError::too_large(format!(
            "request body is too large: the limit is {max} bytes"
        ))),
        _ => Ok(()),
    }
}

/// Whether the request declares (`Content-Length`) a body over `limit`
/// bytes: such a request is answered 413 before its body is read.
pub fn declared_over(headers: &HeaderMap, limit: u64) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit)
}

/// Whether the request has a body: a non-zero `Content-Length`, or a
/// chunked one.
pub fn has_body(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v != "0")
        || headers.contains_key(header::TRANSFER_ENCODING)
}

/// Reads a whole body of at most `limit` bytes; a longer one (or one that
/// breaks off) is `too_large`.
pub async fn read_limited(req: Request, limit: usize, too_large: &str) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, too_large.to_owned()))
}

/// A `multipart/form-data` body, to be read part by part.
pub async fn multipart(req: Request) -> Result<Multipart, ApiError> {
    Multipart::from_request(req, &())
        .await
        .map_err(|_| ApiError::bad_request("multipart body could not be read"))
}

/// A multipart part that could not be read: 413 past the route's body
/// limit, 400 otherwise.
pub fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request body is too large")
    } else {
        ApiError::bad_request("multipart body could not be read")
    }
}

/// A text part of at most `limit` bytes, as UTF-8. Errors call it `label`
/// (the caller's name for it, never what the client sent).
pub async fn read_text_part(
    mut field: Field<'_>,
    limit: usize,
    label: &str,
) -> Result<String, ApiError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::bad_request(format!("{label} is too long")));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| ApiError::bad_request(format!("{label} is not UTF-8 text")))
}

/// A body of any type, read within the route's limit (413 from its
/// `Content-Length` before a byte is read).
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        refuse_declared_over(req.headers(), req.extensions())?;
        Ok(RawBody(Bytes::from_request(req, state).await?))
    }
}

/// A body that must be `application/json` (415 otherwise), of at most
/// `LIMIT` bytes (413 from its `Content-Length`, before a byte is read).
/// Parsing is the handler's, after authorization.
pub struct JsonBody<const LIMIT: usize = 65536>(pub Bytes);

impl<S: Send + Sync, const LIMIT: usize> FromRequest<S> for JsonBody<LIMIT> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if media_type(req.headers()) != Some(Media::Json) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as Content-Type: application/json",
            ));
        }
        if declared_over(req.headers(), LIMIT as u64) {
            return Err(ApiError::too_large(format!(
                "request body is too large: the limit is {LIMIT} bytes"
            )));
        }
        Ok(JsonBody(Bytes::from_request(req, state).await?))
    }
}

/// A body sent as JSON or as a form (400 for any other type), read within
/// the route's body limit.
pub enum JsonOrForm {
    /// The JSON text, for the handler to parse.
    Json(Bytes),
    /// The form's pairs.
    Form(Pairs),
}

impl<S: Send + Sync> FromRequest<S> for JsonOrForm {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        refuse_declared_over(req.headers(), req.extensions())?;
        let media = media_type(req.headers());
        let body = Bytes::from_request(req, state).await?;
        match media {
            Some(Media::Json) => Ok(JsonOrForm::Json(body)),
            Some(Media::Form) => Ok(JsonOrForm::Form(Pairs::from_form(&body)?)),
            _ => Err(ApiError::bad_request(
                "Content-Type must be application/json or application/x-www-form-urlencoded",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn media_types_ignore_case_and_parameters() {
        let of = |ct| media_type(&headers(&[("content-type", ct)]));
        assert_eq!(of("application/json"), Some(Media::Json));
        assert_eq!(of("Application/JSON; charset=utf-8"), Some(Media::Json));
        assert_eq!(of("application/x-www-form-urlencoded"), Some(Media::Form));
        assert_eq!(
            of("multipart/form-data; boundary=X"),
            Some(Media::Multipart)
        );
        assert_eq!(of("text/plain"), None);
        assert_eq!(media_type(&HeaderMap::new()), None);
    }

    #[test]
    fn declared_lengths() {
        assert!(declared_over(&headers(&[("content-length", "11")]), 10));
        assert!(!declared_over(&headers(&[("content-length", "10")]), 10));
        assert!(!declared_over(&HeaderMap::new(), 10));
    }
}
