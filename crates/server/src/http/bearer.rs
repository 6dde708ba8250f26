//! `Authorization: Bearer <token>` (RFC 6750 §2.1), read one way for every
//! endpoint: SEP-10 session tokens, SEP-30 callers, the SEP-10 v3.4.0
//! request header and the admin token.

use axum::http::{HeaderMap, header};

/// What a request's `Authorization` header holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bearer {
    /// No `Authorization` header.
    Missing,
    /// A header that is not `Bearer <token>`.
    Malformed,
    /// The token, trimmed.
    Token(String),
}

impl Bearer {
    /// The token, if there is one.
    pub fn token(self) -> Option<String> {
        match self {
            Bearer::Token(t) => Some(t),
            _ => None,
        }
    }
}

/// The bearer token of a request (the scheme's case does not matter).
pub fn bearer(headers: &HeaderMap) -> Bearer {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Bearer::Missing;
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty());
    match token {
        Some(t) => Bearer::Token(t.to_owned()),
        None => Bearer::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(value: Option<&str>) -> Bearer {
        let mut h = HeaderMap::new();
        if let Some(v) = value {
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
        }
        bearer(&h)
    }

    #[test]
    fn schemes_and_shapes() {
        assert_eq!(of(None), Bearer::Missing);
        assert_eq!(of(Some("Bearer abc")), Bearer::Token("abc".into()));
        assert_eq!(of(Some("bearer  abc ")), Bearer::Token("abc".into()));
        assert_eq!(of(Some("Basic abc")), Bearer::Malformed);
        assert_eq!(of(Some("Bearer ")), Bearer::Malformed);
        assert_eq!(of(Some("Bearer")), Bearer::Malformed);
    }
}
