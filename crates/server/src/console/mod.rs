//! The compliance console: server-rendered pages on the admin listener at
//! `/admin/`, for staff who would rather not use `curl` or `mooring admin`.
//!
//! Signing in exchanges the admin token (and the person's name, which the
//! audit log records as `admin:<name>` for everything they do) for a
//! session cookie ([`session`]). Pages read and act through the same
//! services as the admin API, so every rule, every audit entry and every
//! callback is the API's. No script: everything works as plain HTML forms,
//! each carrying the session's CSRF token; the pages carry a strict
//! Content Security Policy and load nothing from elsewhere ([`page`]).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::html;

use crate::attest::Attest;
use crate::audit;
use crate::customers::Customers;
use crate::http::Form;
use crate::limits::Limits;
use crate::payments::Payments;
use crate::recovery::Recovery;
use crate::state::{AppState, With};

mod accounts;
mod customers;
pub mod page;
pub mod session;
mod transactions;

use session::Posted;

/// The console's service: the capabilities it shows, and its sessions.
pub struct Console {
    app: AppState,
    customers: Arc<Customers>,
    payments: Option<Arc<Payments>>,
    recovery: Arc<Recovery>,
    limits: Arc<Limits>,
    attest: Arc<Attest>,
    session_secs: i64,
    secure_cookies: bool,
}

/// What the console is built from.
pub struct ConsoleParts {
    /// The shared parts (database, clock, admin token).
    pub app: AppState,
    /// SEP-12.
    pub customers: Arc<Customers>,
    /// SEP-31, when enabled.
    pub payments: Option<Arc<Payments>>,
    /// SEP-30.
    pub recovery: Arc<Recovery>,
    /// KYC limits.
    pub limits: Arc<Limits>,
    /// Attestations.
    pub attest: Arc<Attest>,
    /// How long a session lasts, in seconds.
    pub session_secs: i64,
    /// Mark the cookie `Secure` (the console is reached over HTTPS).
    pub secure_cookies: bool,
}

impl Console {
    /// The console over `parts`.
    pub fn new(parts: ConsoleParts) -> Console {
        Console {
            app: parts.app,
            customers: parts.customers,
            payments: parts.payments,
            recovery: parts.recovery,
            limits: parts.limits,
            attest: parts.attest,
            session_secs: parts.session_secs,
            secure_cookies: parts.secure_cookies,
        }
    }

    fn now(&self) -> i64 {
        i64::try_from(self.app.clock().now()).unwrap_or(i64::MAX)
    }
}

/// The console's routes (not behind the admin token's bearer check: the
/// session stands for it).
pub fn router() -> Router<With<Console>> {
    Router::new()
        .route("/admin/", get(index))
        .route("/admin/login", post(login))
        .route("/admin/logout", post(logout))
        .route("/admin/console.css", get(css))
        .merge(customers::router())
        .merge(accounts::router())
        .route_layer(axum::middleware::from_fn(session::same_origin))
        .merge(transactions::router())
}

async fn css() -> Response {
    let mut res = page::CSS.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    page::secure(res)
}

/// `GET /admin/`: the sign-in page, or (signed in) the customers.
async fn index(State(console): State<With<Console>>, headers: axum::http::HeaderMap) -> Response {
    if let Some(c) = session::cookie(&headers)
        && let Ok(Some(_)) = console.session(&c).await
    {
        return page::secure(Redirect::to("/admin/console/customers").into_response());
    }
    sign_in_page(StatusCode::OK, None)
}

fn sign_in_page(status: StatusCode, error: Option<&str>) -> Response {
    page::html_response(
        status,
        page::layout(
            None,
            "Sign in",
            html! {
                div.login.card {
                    @if let Some(e) = error {
                        p.error role="alert" { (e) }
                    }
                    form method="post" action="/admin/login" {
                        label { "Your name (recorded with everything you do)"
                            input type="text" name="name" required autocomplete="username" maxlength="64"; }
                        label { "Admin token"
                            input type="password" name="token" required autocomplete="current-password"; }
                        button type="submit" { "Sign in" }
                    }
                    p.note { "The token is in the server's keys file or secrets.admin_token." }
                }
            },
        ),
    )
}

/// `POST /admin/login` (`name`, `token`): a session for `admin:<name>`;
/// a session the browser still had ends.
async fn login(
    State(console): State<With<Console>>,
    headers: axum::http::HeaderMap,
    Form(form): Form,
) -> Response {
    let name = form.text("name").trim();
    if !session::valid_name(name) {
        return sign_in_page(
            StatusCode::BAD_REQUEST,
            Some("Your name: 1 to 64 letters, digits or @._-"),
        );
    }
    let actor = format!("admin:{name}");
    let now = console.now();
    if !console.app.admin_token().matches(form.text("token")) {
        // Recorded without the token, so that guessing shows in the log;
        // under the console, not the name given, which proves nothing.
        let _ = audit::record(
            console.app.db(),
            "console",
            "console.sign_in_refused",
            None,
            Some(&format!("as {actor}")),
            now,
        )
        .await;
        return sign_in_page(
            StatusCode::UNAUTHORIZED,
            Some("That is not the admin token."),
        );
    }
    let opened = async {
        if let Some(old) = session::cookie(&headers) {
            console.close_session(&old).await?;
        }
        let cookie = console.open_session(&actor).await?;
        audit::record(console.app.db(), &actor, "console.sign_in", None, None, now).await?;
        Ok::<_, crate::db::DbError>(cookie)
    }
    .await;
    match opened {
        Ok(cookie) => {
            let mut res = Redirect::to("/admin/console/customers").into_response();
            res.headers_mut()
                .insert(header::SET_COOKIE, console.set_cookie(Some(&cookie)));
            page::secure(res)
        }
        Err(e) => page::failure(crate::error::ApiError::from(e)),
    }
}

/// `POST /admin/logout`: ends the session.
async fn logout(
    State(console): State<With<Console>>,
    headers: axum::http::HeaderMap,
    Posted { session, .. }: Posted,
) -> Response {
    if let Some(c) = session::cookie(&headers)
        && let Err(e) = console.close_session(&c).await
    {
        return page::failure(crate::error::ApiError::from(e));
    }
    let _ = audit::record(
        console.app.db(),
        &session.actor,
        "console.sign_out",
        None,
        None,
        console.now(),
    )
    .await;
    let mut res = Redirect::to("/admin/").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, console.set_cookie(None));
    page::secure(res)
}
