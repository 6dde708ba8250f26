//! A NUL character (`%00`) in a request's path or query is refused at the
//! edge: no identifier, address, cursor or filter of any SEP holds one,
//! and PostgreSQL cannot store one in text (it fails the statement, which
//! would surface as a 500). Form bodies are refused the same way when
//! decoded ([`crate::http::Pairs::from_form`]); JSON bodies by the checks
//! of the capability that reads them.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// 400 for a request whose path or query holds `%00`.
pub async fn refuse_nul(req: Request, next: Next) -> Response {
    let has_nul = req.uri().path_and_query().is_some_and(|pq| {
        pq.as_str()
            .as_bytes()
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
    });
    if has_nul {
        return ApiError::bad_request("the request's path or query holds a NUL character (%00)")
            .into_response();
    }
    next.run(req).await
}
