//! Signing in to the console: the admin token (and a name, recorded as
//! the actor) is exchanged for a short-lived session cookie — random,
//! `HttpOnly`, `SameSite=Strict`, stored only as its SHA-256 — and every
//! form carries the session's CSRF token, checked before the form is read
//! any further.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use super::Console;
use super::page;
use crate::db::DbError;
use crate::http::{Form, Pairs};
use crate::state::With;
use crate::{with_pool, with_reader};

/// The cookie's name.
pub const COOKIE: &str = "mooring_console";

/// A signed-in member of staff.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who, as the audit log records them: `admin:<name>`.
    pub actor: String,
    /// The token every form of this session carries.
    pub csrf: String,
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn hash(cookie: &str) -> String {
    hex::encode(Sha256::digest(cookie.as_bytes()))
}

/// A name staff sign in with: 1 to 64 letters, digits or `@._-` (as the
/// admin API's `X-Mooring-Actor`).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@._-".contains(&b))
}

impl Console {
    /// Opens a session for `actor`; the cookie's value.
    pub async fn open_session(&self, actor: &str) -> Result<String, DbError> {
        let now = self.now();
        let db = self.app.db();
        // Expired sessions go as new ones come.
        with_pool!(db, p => sqlx::query("DELETE FROM console_sessions WHERE expires_at < $1")
            .bind(now)
            .execute(p)
            .await?
            .rows_affected());
        let cookie = random_token();
        with_pool!(db, p => sqlx::query(
            "INSERT INTO console_sessions (id_hash, actor, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash(&cookie))
        .bind(actor)
        .bind(random_token())
        .bind(now)
        .bind(now + self.session_secs)
        .execute(p)
        .await?
        .rows_affected());
        Ok(cookie)
    }

    /// The live session of `cookie`, if any.
    pub async fn session(&self, cookie: &str) -> Result<Option<Session>, DbError> {
        let now = self.now();
        let db = self.app.db();
        let row: Option<(String, String)> = with_reader!(db, p => sqlx::query_as(
            "SELECT actor, csrf FROM console_sessions WHERE id_hash = $1 AND expires_at >= $2",
        )
        .bind(hash(cookie))
        .bind(now)
        .fetch_optional(p)
        .await?);
        Ok(row.map(|(actor, csrf)| Session { actor, csrf }))
    }

    /// Ends the session of `cookie`.
    pub async fn close_session(&self, cookie: &str) -> Result<(), DbError> {
        let db = self.app.db();
        with_pool!(db, p => sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
            .bind(hash(cookie))
            .execute(p)
            .await?
            .rows_affected());
        Ok(())
    }

    /// The `Set-Cookie` value that stores `cookie` (or, with `None`,
    /// removes it).
    pub fn set_cookie(&self, cookie: Option<&str>) -> HeaderValue {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        let text = match cookie {
            Some(c) => format!(
                "{COOKIE}={c}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
                self.session_secs
            ),
            None => format!("{COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
        };
        HeaderValue::from_str(&text).expect("a cookie of URL-safe characters")
    }
}

/// The session cookie's value in `headers`.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// A route layer of the console: a form posted from another site (its
/// `Sec-Fetch-Site` not `same-origin`, or an `Origin` other than this
/// listener's) is refused before anything is read — the sign-in form too,
/// which has no session to carry a CSRF token.
pub async fn same_origin(req: Request, next: Next) -> Response {
    if req.method() == Method::POST {
        let h = req.headers();
        let text = |k: header::HeaderName| h.get(k).and_then(|v| v.to_str().ok());
        let site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let foreign_site = site.is_some_and(|s| s != "same-origin" && s != "none");
        let foreign_origin = match (text(header::ORIGIN), text(header::HOST)) {
            (Some(origin), Some(host)) => {
                origin != format!("http://{host}") && origin != format!("https://{host}")
            }
            (Some(_), None) => true,
            (None, _) => false,
        };
        if foreign_site || foreign_origin {
            return page::refusal(
                axum::http::StatusCode::FORBIDDEN,
                "this form was sent from another site",
            );
        }
    }
    next.run(req).await
}

/// Not signed in: pages send the browser to the sign-in page.
pub struct SignInFirst;

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        page::secure(Redirect::to("/admin/").into_response())
    }
}

impl FromRequestParts<With<Console>> for Session {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &With<Console>,
    ) -> Result<Self, Response> {
        let Some(c) = cookie(&parts.headers) else {
            return Err(SignInFirst.into_response());
        };
        match console.session(&c).await {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Err(SignInFirst.into_response()),
            Err(e) => Err(page::failure(crate::error::ApiError::from(e))),
        }
    }
}

/// A form posted from a console page: the session is checked first, then
/// the CSRF token, and only then is the rest of the form read.
pub struct Posted {
    /// Who posted it.
    pub session: Session,
    /// The form's fields.
    pub form: Pairs,
}

impl FromRequest<With<Console>> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, console: &With<Console>) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, console).await?;
        let req = Request::from_parts(parts, body);
        let Form(form) = Form::from_request(req, console)
            .await
            .map_err(|e| page::refusal(e.status(), e.message()))?;
        let sent = form.text("csrf");
        if !bool::from(sent.as_bytes().ct_eq(session.csrf.as_bytes())) {
            return Err(page::refusal(
                axum::http::StatusCode::FORBIDDEN,
                "this form is out of date or was not sent by the console: reload the page and try again",
            ));
        }
        Ok(Posted { session, form })
    }
}
