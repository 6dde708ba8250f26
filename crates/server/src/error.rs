//! The one error type of the HTTP layer and the only place statuses are
//! chosen: every capability's error enum is mapped to a status here, by a
//! `From` impl below, and nowhere else. Every error body is
//! `{"error": "<text>"}` (the shape every SEP uses), including the
//! framework's own rejections (malformed bodies, wrong content types,
//! unknown routes), which would otherwise be plain text.

use std::borrow::Cow;

use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::attest::AttestError;
use crate::auth::{AuthError, ChallengeAuthError};
use crate::customers::CustomerError;
use crate::db::DbError;
use crate::kyc::KycError;
use crate::limits::{CODE_AUTHORIZATION_FAILED, CODE_KEY_UNKNOWN, CODE_UNKNOWN, LimitError};
use crate::payments::PaymentError;
use crate::quotes::QuoteError;
use crate::recovery::RecoveryError;
use crate::recovery::authorize::AuthorizeError;
use crate::recovery::sponsor::SponsorError;

/// An error answered to the client: a status and a message safe to show
/// (no PII, secrets, tokens or database text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    message: Cow<'static, str>,
    retry_after: Option<u64>,
    fields: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

impl ApiError {
    /// An error with any status.
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
            fields: None,
        }
    }

    /// The same error with more fields in its body beside `error` (the
    /// 451 of `/operations/check`, the 403 of `/kyc-check` with the
    /// expected account). `value` must be a JSON object; `error` in it is
    /// ignored.
    pub fn with_fields(mut self, value: serde_json::Value) -> Self {
        if let serde_json::Value::Object(mut map) = value {
            map.remove("error");
            self.fields = Some(Box::new(map));
        }
        self
    }

    /// 429: over a rate limit; the client may try again after
    /// `retry_after` seconds (RFC 6585 §4, RFC 9110 §10.2.3).
    pub fn too_many(message: impl Into<Cow<'static, str>>, retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, message)
        }
    }

    /// 400: the request is malformed or fails a rule.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: no credentials, or credentials not accepted.
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 413: the body is over a limit.
    pub fn too_large(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 503: a dependency (database, Horizon) is unavailable; try again.
    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// 500 with a generic body. `detail` is logged once, here, and never
    /// sent to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut map = self.fields.map(|f| *f).unwrap_or_default();
        map.insert("error".into(), self.message.into_owned().into());
        let body = serde_json::Value::Object(map).to_string();
        let mut res = (self.status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large("request body is too large")
        } else {
            ApiError::bad_request("request body could not be read")
        }
    }
}

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

/// Answer for routes that do not exist.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

/// Answer for a known route with a method it does not serve.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this endpoint",
    )
}

/// Turns a panic in a handler into a generic 500 with the JSON shape. The
/// panic message is not echoed: it could carry request data.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response()
}

/// A database failure. While the database is away — restarting, failing
/// over, out of connections — the request did not fail on its own account
/// and may be sent again: 503 (RFC 9110 §15.6.4). Anything else is 500.
impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        if err.is_unavailable() {
            tracing::warn!(error = %err, "database unavailable");
            ApiError::unavailable("the database is unavailable right now; try again shortly")
        } else {
            ApiError::internal(err)
        }
    }
}

/// The KYC records' failures: the database's as [`DbError`]'s, the rest 500.
impl From<KycError> for ApiError {
    fn from(err: KycError) -> Self {
        match err {
            KycError::Db(err) => err.into(),
            other => ApiError::internal(other),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        use AuthError as E;
        match e {
            // SEP-10 §Token: a challenge failing any check "must be rejected —
            // that is, treated by the Server as an invalid input"; §Verifying
            // the Client Domain: an unfetchable SIGNING_KEY is a 400.
            E::InvalidParameter(_)
            | E::Challenge(_)
            | E::ClientDomain(_)
            | E::AccountNotFound
            | E::WrongNetwork { .. }
            | E::Replayed => ApiError::bad_request(e.to_string()),
            // SEP-10 §Challenge §Error: missing header 401, invalid 400,
            // application not allowed 403.
            E::ChallengeAuth(ref a) => {
                use ChallengeAuthError as A;
                let status = match a {
                    A::Missing => StatusCode::UNAUTHORIZED,
                    A::Invalid(_) | A::Expired => StatusCode::BAD_REQUEST,
                    A::NotAllowed(_) => StatusCode::FORBIDDEN,
                };
                ApiError::new(status, e.to_string())
            }
            E::RateLimited { retry_after } => ApiError::too_many(e.to_string(), retry_after),
            E::LedgerUnavailable(ref source) => {
                tracing::warn!(error = %source, "Horizon unavailable; refusing SEP-10 token");
                ApiError::unavailable(e.to_string())
            }
            E::Db(err) => err.into(),
            E::Jwt(err) => ApiError::internal(err),
        }
    }
}

impl From<CustomerError> for ApiError {
    fn from(e: CustomerError) -> Self {
        match e {
            CustomerError::NotFound(m) => ApiError::not_found(m),
            CustomerError::Invalid(m) => ApiError::bad_request(m),
            CustomerError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            CustomerError::TooLarge(m) => ApiError::too_large(m),
            CustomerError::InvalidCode => ApiError::bad_request(e.to_string()),
            CustomerError::Db(err) => err.into(),
            CustomerError::Blob(err) => ApiError::internal(err),
            CustomerError::Vault(err) => ApiError::internal(err),
        }
    }
}

impl From<RecoveryError> for ApiError {
    fn from(e: RecoveryError) -> Self {
        match e {
            RecoveryError::Invalid(m) => ApiError::bad_request(m),
            RecoveryError::Unauthorized(m) => ApiError::unauthorized(m),
            RecoveryError::NotFound(m) => ApiError::not_found(m),
            RecoveryError::Conflict => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            RecoveryError::Db(err) => err.into(),
            RecoveryError::Vault(err) => ApiError::internal(err),
        }
    }
}

impl From<SponsorError> for ApiError {
    fn from(e: SponsorError) -> Self {
        match e {
            SponsorError::Disabled => ApiError::not_found(e.to_string()),
            SponsorError::Invalid(_) => ApiError::bad_request(e.to_string()),
            SponsorError::NeedsSignIn => ApiError::unauthorized(e.to_string()),
            SponsorError::NoSponsor => ApiError::unavailable(e.to_string()),
            SponsorError::Exists => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            SponsorError::Limited => ApiError::new(StatusCode::TOO_MANY_REQUESTS, e.to_string()),
            SponsorError::Ledger(ref err) => {
                tracing::warn!(error = %err, "sponsorship: the ledger could not be read");
                ApiError::unavailable(e.to_string())
            }
            SponsorError::Store(err) => err.into(),
        }
    }
}

impl From<AuthorizeError> for ApiError {
    fn from(e: AuthorizeError) -> Self {
        match e {
            AuthorizeError::NotFound => ApiError::not_found(e.to_string()),
            AuthorizeError::Invalid(_) | AuthorizeError::WrongCode => {
                ApiError::bad_request(e.to_string())
            }
            AuthorizeError::RateLimited => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, e.to_string())
            }
            AuthorizeError::Unavailable(detail) => {
                tracing::warn!(detail, "sign-in provider or sender failed");
                ApiError::unavailable(
                    "the sign-in service is unavailable right now; try again later",
                )
            }
            AuthorizeError::Db(err) => err.into(),
            AuthorizeError::Vault(err) => ApiError::internal(err),
        }
    }
}

impl From<LimitError> for ApiError {
    fn from(e: LimitError) -> Self {
        use serde_json::json;
        let text = e.to_string();
        match e {
            LimitError::Invalid(m) => ApiError::bad_request(m),
            LimitError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            // Taler's /kyc-check 403: names the account the token must be for.
            LimitError::NotYours { expected } => {
                let mut body = json!({
                    "code": CODE_AUTHORIZATION_FAILED,
                    "expected_account_pub": expected.address(),
                });
                if let Some(m) = expected.memo {
                    body["expected_memo"] = json!(m.to_string());
                }
                ApiError::new(StatusCode::FORBIDDEN, text).with_fields(body)
            }
            LimitError::Unknown { limits } => ApiError::not_found(text).with_fields(json!({
                "code": CODE_UNKNOWN,
                "limits": limits,
            })),
            LimitError::Unbound {
                kyc_url,
                kind,
                rule_gen,
            } => ApiError::new(StatusCode::CONFLICT, text).with_fields(json!({
                "code": CODE_KEY_UNKNOWN,
                "kyc_url": kyc_url,
                "type": kind,
                "rule_gen": rule_gen,
            })),
            // Taler's LegitimizationNeededResponse, on 451 (RFC 7725).
            LimitError::KycRequired(denial) => ApiError::new(
                StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS,
                denial.hint.clone(),
            )
            .with_fields(json!(denial)),
            LimitError::Kyc(err) => err.into(),
        }
    }
}

impl From<AttestError> for ApiError {
    fn from(e: AttestError) -> Self {
        let text = e.to_string();
        match e {
            AttestError::Invalid(m) => ApiError::bad_request(m),
            AttestError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            // DD45 404: "containing the unknown key".
            AttestError::Unknown { account } => {
                ApiError::not_found(text).with_fields(serde_json::json!({ "account": account }))
            }
            AttestError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
            AttestError::Kyc(err) => err.into(),
        }
    }
}

impl From<QuoteError> for ApiError {
    fn from(e: QuoteError) -> Self {
        let text = e.to_string();
        match e {
            QuoteError::Invalid(m) => ApiError::bad_request(m),
            // SEP-38 §Errors: 403 for authentication.
            QuoteError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            // SEP-38 §POST Quote: "servers may deny access to the API".
            QuoteError::Limited(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            QuoteError::NotFound => ApiError::not_found(text),
            QuoteError::Unavailable => ApiError::unavailable(text),
            QuoteError::Db(err) => err.into(),
            QuoteError::Kyc(err) => err.into(),
        }
    }
}

impl From<PaymentError> for ApiError {
    fn from(e: PaymentError) -> Self {
        let text = e.to_string();
        match e {
            PaymentError::Invalid(m) => ApiError::bad_request(m),
            // SEP-31 §Customer Info Needed: 400 with the SEP-12 type.
            PaymentError::CustomerInfoNeeded(kind) => ApiError::bad_request("customer_info_needed")
                .with_fields(serde_json::json!({ "type": kind })),
            PaymentError::NotFound => ApiError::not_found(text),
            PaymentError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
            PaymentError::Unavailable => ApiError::unavailable(text),
            PaymentError::Db(err) => err.into(),
            PaymentError::Kyc(crate::kyc::KycError::Refused(m)) => ApiError::bad_request(m),
            PaymentError::Kyc(err) => err.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn body_is_json_with_an_error_field() {
        let res = ApiError::bad_request("nope").into_response();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
        let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], br#"{"error":"nope"}"#);
    }

    #[tokio::test]
    async fn a_database_that_is_away_is_503_and_other_failures_500() {
        let away =
            crate::db::DbError::Sqlx(sqlx::Error::Io(std::io::Error::other("reset by peer")));
        let res = ApiError::from(away).into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        assert!(
            !String::from_utf8_lossy(&body).contains("reset"),
            "no detail"
        );
        let broken = crate::db::DbError::Sqlx(sqlx::Error::RowNotFound);
        assert_eq!(
            ApiError::from(broken).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[tokio::test]
    async fn internal_errors_do_not_leak_their_detail() {
        let res = ApiError::internal("relation \"secret_table\" does not exist").into_response();
        let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], br#"{"error":"internal server error"}"#);
    }
}
