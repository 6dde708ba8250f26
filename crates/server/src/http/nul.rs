//! A NUL character (`%00`) in a request's path or query is refused at the
//! edge: no identifier, address, cursor or filter of any SEP holds one,
//! and PostgreSQL cannot store one in text (it fails the statement, which
//! would surface as a 500). Form bodies are refused the same way when
//! decoded ([`crate::http::Pairs::from_form`]); JSON bodies by the checks
//! of the capability that reads them.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures::future::{Either, Ready, ready};
use tower::{Layer, Service};

use crate::error::ApiError;

/// Whether `req`'s path or query holds `%00`.
fn has_nul(req: &Request) -> bool {
    req.uri().path_and_query().is_some_and(|pq| {
        pq.as_str()
            .as_bytes()
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
    })
}

/// Answers 400 to a request whose path or query holds `%00`, before the
/// handler. A plain layer rather than `axum::middleware::from_fn`, which
/// boxes a copy of the service and the future of every request: a held
/// long poll would carry both (about 2.5 KiB).
#[derive(Debug, Clone, Copy, Default)]
pub struct RefuseNul;

impl<S> Layer<S> for RefuseNul {
    type Service = RefuseNulService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RefuseNulService { inner }
    }
}

/// [`RefuseNul`] around a service.
#[derive(Debug, Clone)]
pub struct RefuseNulService<S> {
    inner: S,
}

impl<S> Service<Request> for RefuseNulService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if has_nul(&req) {
            let refused =
                ApiError::bad_request("the request's path or query holds a NUL character (%00)");
            return Either::Left(ready(Ok(refused.into_response())));
        }
        Either::Right(self.inner.call(req))
    }
}
