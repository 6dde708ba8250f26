//! The console's pages: one layout (who is signed in, the sections, sign
//! out), every value escaped by `maud`, one embedded stylesheet, no
//! script, and headers that keep the pages to this origin: a strict
//! Content Security Policy, no framing by others, no referrer, no caching.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::session::Session;
use crate::error::ApiError;

/// The Content Security Policy of every console page: nothing but this
/// origin's stylesheet, images and documents; no script at all.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; media-src 'self'; \
                       frame-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'";

/// The stylesheet, embedded in the binary.
pub const CSS: &str = include_str!("console.css");

/// Adds the console's security headers to `res`.
pub fn secure(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    // Nothing leaves for another origin; same-origin forms keep their
    // `Origin`, which the console checks (`no-referrer` would make it
    // `null`).
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// An HTML page with `status`.
pub fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut res = (status, markup.into_string()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure(res)
}

/// The sections of the console, for the navigation bar.
const SECTIONS: [(&str, &str); 5] = [
    ("/admin/console/customers", "Customers"),
    ("/admin/console/transactions", "Transactions"),
    ("/admin/console/accounts", "KYC limits"),
    ("/admin/console/recovery", "Recovery accounts"),
    ("/admin/console/audit", "Audit log"),
];

/// A page of a signed-in member of staff.
pub fn page(session: &Session, title: &str, body: Markup) -> Response {
    html_response(StatusCode::OK, layout(Some(session), title, body))
}

/// The layout around every page.
pub fn layout(session: Option<&Session>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Mooring console" }
                link rel="stylesheet" href="/admin/console.css";
            }
            body {
                header {
                    strong { "Mooring console" }
                    @if let Some(s) = session {
                        nav {
                            @for (href, label) in SECTIONS {
                                a href=(href) { (label) }
                            }
                        }
                        form.signout method="post" action="/admin/logout" {
                            span.who { "Signed in as " strong { (s.actor) } }
                            (csrf(s))
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A status as a badge, coloured by what it means.
pub fn badge(status: &str) -> Markup {
    html! { span class={ "status " (status) } { (status) } }
}

/// `path` with the query `pairs`, encoded.
pub fn link(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    format!("{path}?{}", q.finish())
}

/// After a form: back to `path` (a console page), saying what was done.
pub fn done(path: &str, what: &str) -> Response {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("done", what);
    let sep = if path.contains('?') { '&' } else { '?' };
    secure(axum::response::Redirect::to(&format!("{path}{sep}{}", q.finish())).into_response())
}

/// The hidden CSRF field every form carries.
pub fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A page saying why a request was refused.
pub fn refusal(status: StatusCode, message: &str) -> Response {
    refusal_for(None, status, message)
}

/// [`refusal`], keeping the signed-in person's header and navigation.
pub fn refusal_for(session: Option<&Session>, status: StatusCode, message: &str) -> Response {
    html_response(
        status,
        layout(
            session,
            status.canonical_reason().unwrap_or("Refused"),
            html! {
                p.error role="alert" { (message) }
                p { a href="/admin/" { "Back to the console" } }
            },
        ),
    )
}

/// An error as a page: its status and message (a 500's message is
/// generic; the detail is logged by [`ApiError::internal`]).
pub fn failure(e: ApiError) -> Response {
    refusal(e.status(), e.message())
}

/// [`failure`] for a signed-in person.
pub fn failed(session: &Session, e: ApiError) -> Response {
    refusal_for(Some(session), e.status(), e.message())
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn time(at: i64) -> String {
    let at =
        time::OffsetDateTime::from_unix_timestamp(at).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}
