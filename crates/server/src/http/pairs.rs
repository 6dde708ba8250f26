//! Query strings and `application/x-www-form-urlencoded` bodies, decoded
//! into their key/value pairs in order.

use std::convert::Infallible;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Decoded key/value pairs, in the order they were sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pairs(Vec<(String, String)>);

impl Pairs {
    /// Decodes a query string, `a=1&b=2` (bytes that are not UTF-8 become
    /// U+FFFD: a query names things, it stores nothing).
    pub fn parse(raw: &[u8]) -> Pairs {
        Pairs(
            url::form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Decodes an `application/x-www-form-urlencoded` body (WHATWG URL
    /// §5.1), refusing one whose names or values are not UTF-8 — as JSON
    /// and multipart bodies are refused — rather than storing U+FFFD.
    pub fn from_form(raw: &[u8]) -> Result<Pairs, ApiError> {
        let decode = |s: &[u8]| {
            let plus: Vec<u8> = s
                .iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect();
            let text = String::from_utf8(percent_encoding::percent_decode(&plus).collect())
                .map_err(|_| {
                    ApiError::bad_request("form body is not valid UTF-8 (percent-decoded)")
                })?;
            // As in paths and queries (crate::http::RefuseNul): no form
            // field of any SEP holds one, and PostgreSQL text cannot.
            if text.contains('\0') {
                return Err(ApiError::bad_request(
                    "form body holds a NUL character (%00)",
                ));
            }
            Ok(text)
        };
        raw.split(|&b| b == b'&')
            .filter(|part| !part.is_empty())
            .map(|part| {
                let (k, v) = match part.iter().position(|&b| b == b'=') {
                    Some(i) => (&part[..i], &part[i + 1..]),
                    None => (part, &[][..]),
                };
                Ok((decode(k)?, decode(v)?))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Pairs)
    }

    /// The first value of `key`, as sent (possibly empty).
    pub fn first(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `key`, when it is not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.first(key).filter(|v| !v.is_empty())
    }

    /// The first value of `key`, or `""`.
    pub fn text(&self, key: &str) -> &str {
        self.first(key).unwrap_or("")
    }

    /// Every pair.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The pairs themselves.
    pub fn into_vec(self) -> Vec<(String, String)> {
        self.0
    }
}

/// The query string's pairs (none when there is no query).
#[derive(Debug, Clone, Default)]
pub struct Query(pub Pairs);

impl Query {
    /// From a request URI's query.
    pub fn of(query: Option<&str>) -> Query {
        Query(Pairs::parse(query.unwrap_or("").as_bytes()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Query::of(parts.uri.query()))
    }
}

/// The query string read into `T` (its fields by name); 400 when it
/// cannot be. A parameter sent empty (`?memo=`) is read as not sent, as
/// [`Pairs::get`] reads it (and the OpenAPI documents say).
#[derive(Debug, Clone, Default)]
pub struct QueryAs<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryAs<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or("");
        let sent = url::form_urlencoded::parse(raw.as_bytes()).filter(|(_, v)| !v.is_empty());
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(sent)
            .finish();
        serde_urlencoded::from_str(&query)
            .map(QueryAs)
            .map_err(|e| ApiError::bad_request(format!("query string could not be read: {e}")))
    }
}

/// A form body's pairs, read within the route's body limit.
#[derive(Debug, Clone, Default)]
pub struct Form(pub Pairs);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        super::body::refuse_declared_over(req.headers(), req.extensions())?;
        let body = Bytes::from_request(req, state).await?;
        Ok(Form(Pairs::from_form(&body)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_in_order() {
        let p = Pairs::parse(b"a=1&b=x%20y&a=2&c=&d+e=f+g");
        assert_eq!(p.first("a"), Some("1"));
        assert_eq!(p.first("b"), Some("x y"));
        assert_eq!(p.first("c"), Some(""));
        assert_eq!(p.get("c"), None);
        assert_eq!(p.text("zz"), "");
        assert_eq!(p.first("d e"), Some("f g"));
        assert_eq!(p.iter().filter(|(k, _)| *k == "a").count(), 2);
    }

    #[test]
    fn forms_decode_alike_and_refuse_what_is_not_utf8() {
        let raw: &[u8] = b"a=1&b=x%20y&a=2&c=&d+e=f+g&&solo&t=%C3%A9%2B";
        let strict = Pairs::from_form(raw).unwrap();
        assert_eq!(strict, Pairs::parse(raw));
        assert_eq!(strict.first("t"), Some("é+"));
        assert_eq!(strict.first("solo"), Some(""));
        for bad in [&b"first_name=%ff%fe"[..], b"%ff=x", b"a=%C3"] {
            let e = Pairs::from_form(bad).unwrap_err();
            assert_eq!(e.status(), axum::http::StatusCode::BAD_REQUEST);
        }
    }
}
