//! HTTP for the sign-in: JSON for the wallet, HTML for the person.

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::forms::{CodeCheckForm, CodeForm, PasswordForm};
use super::{AuthorizeError, NewRequest, Poll, SignIn, account_routes, pages};
use crate::error::ApiError;
use crate::http::{ClientIp, Form, Pairs, Path, Query};
use crate::openapi::ErrorBody;
use crate::recovery::Recovery;
use crate::state::With;

/// The sign-in routes. Their forms are posted by the pages themselves;
/// the body limit is the listener's.
pub fn router() -> OpenApiRouter<With<Recovery>> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(poll))
        .routes(routes!(sign_in_page))
        .routes(routes!(send_code))
        .routes(routes!(verify_code))
        .routes(routes!(password_sign_in))
        .routes(routes!(account_routes::totp_sign_in))
        .routes(routes!(
            account_routes::totp_setup_page,
            account_routes::totp_setup
        ))
        .routes(routes!(account_routes::totp_confirm))
        .routes(routes!(
            account_routes::sign_up_page,
            account_routes::sign_up
        ))
        .routes(routes!(
            account_routes::confirm_page,
            account_routes::confirm
        ))
        .routes(routes!(account_routes::reset_page, account_routes::reset))
        .routes(routes!(
            account_routes::new_password_page,
            account_routes::new_password
        ))
        .routes(routes!(oidc_callback))
        .routes(routes!(oidc_start))
}

/// An HTML page with headers that keep the token in it to this page: not
/// framed, not cached, not sent on as a referrer, no script.
pub(super) fn html(status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A failed step as a page with its status.
pub(super) fn problem(e: AuthorizeError) -> Response {
    let api = ApiError::from(e);
    html(api.status(), pages::problem(api.message()))
}

/// A submitted form (`application/x-www-form-urlencoded`); one that cannot
/// be read is answered with the problem page.
pub struct Fields(Pairs);

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        // A form that cannot be read is answered as a page, with the
        // edge's status (413 for one too large, 400 otherwise).
        let Form(pairs) = Form::from_request(req, state)
            .await
            .map_err(|e| html(e.status(), pages::problem(e.message())))?;
        Ok(Fields(pairs))
    }
}

impl Fields {
    /// The field's value, or "" when it is missing.
    pub(super) fn get(&self, key: &str) -> &str {
        self.0.text(key)
    }
}

/// `POST /authorize/token`: a sign-in request for a wallet.
#[utoipa::path(
    post, path = "/authorize/token", tag = "SEP-30 sign-in", operation_id = "sep30_signin_create",
    summary = "Start a sign-in for a wallet (SEP-30 §Authentication: an External token)",
    description = "The wallet's first step toward a token for SEP-30 that proves an email \
        address or phone number. The wallet shows `user_code`, opens `url` in the person's \
        browser (the pages below: a one-time code by email or SMS, an email address and \
        password with an optional authenticator app, or an OpenID Connect provider), and polls \
        `GET /authorize/token/{id}` until the person has signed in. No body is read.",
    responses(
        (status = 201, description = "The new sign-in request.", body = NewRequest),
        (status = 429, description = "Too many sign-in requests and steps from this client's \
            address this hour.", body = ErrorBody),
    ),
)]
async fn create(
    State(recovery): State<With<Recovery>>,
    ClientIp(ip): ClientIp,
) -> Result<Response, ApiError> {
    let req = recovery.authorize().create(ip).await?;
    Ok((StatusCode::CREATED, Json(req)).into_response())
}

/// `GET /authorize/token/{id}`: `pending` until the person signs in, then
/// the access token, once.
#[utoipa::path(
    get, path = "/authorize/token/{id}", tag = "SEP-30 sign-in", operation_id = "sep30_signin_poll",
    summary = "Poll a sign-in request for its access token (SEP-30 §Authentication: an External token)",
    params(("id" = String, Path, description = "The request's `id` (from `POST /authorize/token`).",
            pattern = "^[A-Za-z0-9_-]{43}$")),
    responses(
        (status = 200, description = "`pending` until the person has signed in; then, once, \
            `authorized` with the access token.", body = Poll),
        (status = 404, description = "No such request: unknown, expired, its token already \
            collected, or a malformed id.", body = ErrorBody),
        (status = 503, description = "The access token could not be signed.", body = ErrorBody),
    ),
)]
async fn poll(
    State(recovery): State<With<Recovery>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(recovery.authorize().poll(&id).await?).into_response())
}

/// The answer to a submitted form: `done` with what the step gave; the
/// form again with the reason (400) when the input was refused; the
/// problem page otherwise.
pub(super) fn answer<T>(
    result: Result<T, AuthorizeError>,
    done: impl FnOnce(T) -> String,
    again: impl FnOnce(&str) -> String,
) -> Response {
    match result {
        Ok(v) => html(StatusCode::OK, done(v)),
        Err(AuthorizeError::Invalid(m)) => html(StatusCode::BAD_REQUEST, again(m)),
        Err(e) => problem(e),
    }
}

/// Like [`answer`], for the steps that take a code: a wrong one shows the
/// form again.
pub(super) fn answer_code<T>(
    result: Result<T, AuthorizeError>,
    done: impl FnOnce(T) -> String,
    again: impl FnOnce(&str) -> String,
) -> Response {
    match result {
        Ok(v) => html(StatusCode::OK, done(v)),
        Err(e @ AuthorizeError::WrongCode) => html(StatusCode::BAD_REQUEST, again(&e.to_string())),
        Err(e) => problem(e),
    }
}

/// A page for a live sign-in request (or link): `page` if it is, the
/// problem page if not.
pub(super) fn live(
    result: Result<bool, AuthorizeError>,
    page: impl FnOnce() -> String,
) -> Response {
    match result {
        Ok(true) => html(StatusCode::OK, page()),
        Ok(false) => problem(AuthorizeError::NotFound),
        Err(e) => problem(e),
    }
}

/// The page after a first factor: done, or on to the authenticator app.
pub(super) fn signed_in(token: &str, s: SignIn) -> String {
    match s {
        SignIn::Done => pages::done(),
        SignIn::NeedsTotp => pages::enter_totp(token, None),
    }
}

/// Whether the request is live and passwords are offered.
pub(super) async fn passwords_offered(
    recovery: &Recovery,
    token: &str,
) -> Result<bool, AuthorizeError> {
    let a = recovery.authorize();
    a.check(token).await?;
    if !a.offer().passwords {
        return Err(AuthorizeError::Invalid(
            "this way of signing in is not offered",
        ));
    }
    Ok(true)
}

/// `GET /authorize?token=…`.
#[utoipa::path(
    get, path = "/authorize", tag = "SEP-30 sign-in", operation_id = "sep30_signin_page",
    summary = "The sign-in page, opened in the person's browser",
    params(
        ("token" = String, Query, description = "The sign-in request's `token`.", pattern = "^[A-Za-z0-9_-]{43}$"),
    ),
    responses(
        (status = 200, description = "The ways of signing in this server offers, as forms posting to the endpoints \
            below, and the request's `user_code` to compare with the wallet's.",
         content_type = "text/html", body = String),
        (status = 404, description = "The sign-in request is unknown, expired or already signed in (or `token` is \
            missing or malformed): the problem page.",
         content_type = "text/html", body = String),
    ),
)]
async fn sign_in_page(State(recovery): State<With<Recovery>>, Query(q): Query) -> Response {
    let token = q.text("token");
    let a = recovery.authorize();
    live(a.check(token).await.map(|()| true), || {
        pages::sign_in(token, &a.offer(), None)
    })
}

/// `POST /authorize/code` (form: token, type, value).
#[utoipa::path(
    post, path = "/authorize/code", tag = "SEP-30 sign-in", operation_id = "sep30_signin_send_code",
    summary = "Send a one-time code to an email address or phone number (the sign-in page's form)",
    request_body(content = CodeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The code is sent: the page to enter it, naming where it went (masked).",
         content_type = "text/html", body = String),
        (status = 400, description = "`type` is not a way of signing in this server offers, or `value` is not a \
            valid email address or E.164 phone number (the sign-in page again, with the \
            reason); or the form is not UTF-8 once percent-decoded (the problem page). A NUL (`%00`) in the path or query \
            is refused before any route, in JSON.",
         content((String = "text/html"), (ErrorBody = "application/json"))),
        (status = 404, description = "The sign-in request is unknown, expired or already signed in (or `token` is \
            missing or malformed): the problem page.",
         content_type = "text/html", body = String),
        (status = 413, description = "The form is over the listener's body limit: the problem page.",
         content_type = "text/html", body = String),
        (status = 429, description = "Too many steps from this client's address, or too many codes for this email \
            address or phone number, this hour: the problem page.",
         content_type = "text/html", body = String),
        (status = 503, description = "The mail or SMS could not be sent: the problem page.",
         content_type = "text/html", body = String),
    ),
)]
async fn send_code(
    State(recovery): State<With<Recovery>>,
    ClientIp(ip): ClientIp,
    f: Fields,
) -> Response {
    let token = f.get("token");
    let a = recovery.authorize();
    answer(
        a.send_code(token, f.get("type"), f.get("value"), ip).await,
        |to| pages::enter_code(token, &to, None),
        |m| pages::sign_in(token, &a.offer(), Some(m)),
    )
}

/// `POST /authorize/code/verify` (form: token, code).
#[utoipa::path(
    post, path = "/authorize/code/verify", tag = "SEP-30 sign-in", operation_id = "sep30_signin_verify_code",
    summary = "Check the one-time code (the code page's form)",
    request_body(content = CodeCheckForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The code is right: the signed-in page (the wallet's next poll gets the token); \
            or, for an email address whose login has an authenticator app, the page to enter \
            the app's code.",
         content_type = "text/html", body = String),
        (status = 400, description = "The code is wrong or expired, no code was sent, or too many attempts were \
            made (the code page again); or the form is not UTF-8 once percent-decoded (the problem page). A NUL (`%00`) in the path or query \
            is refused before any route, in JSON.",
         content((String = "text/html"), (ErrorBody = "application/json"))),
        (status = 404, description = "The sign-in request is unknown or expired, or changed meanwhile: the problem page.",
         content_type = "text/html", body = String),
        (status = 413, description = "The form is over the listener's body limit: the problem page.",
         content_type = "text/html", body = String),
        (status = 429, description = "Too many steps from this client's address this hour: the problem page.",
         content_type = "text/html", body = String),
    ),
)]
async fn verify_code(
    State(recovery): State<With<Recovery>>,
    ClientIp(ip): ClientIp,
    f: Fields,
) -> Response {
    let token = f.get("token");
    answer_code(
        recovery
            .authorize()
            .verify_code(token, f.get("code"), ip)
            .await,
        |s| signed_in(token, s),
        |m| pages::enter_code(token, "your address", Some(m)),
    )
}

/// `GET /authorize/oidc/{provider}?token=…`: off to the provider.
#[utoipa::path(
    get, path = "/authorize/oidc/{provider}", tag = "SEP-30 sign-in", operation_id = "sep30_signin_oidc_start",
    summary = "Sign in with an OpenID Connect provider: off to the provider",
    description = "The authorization code flow with PKCE (OpenID Connect Core 1.0 §3.1, RFC \
        7636), or GitHub's OAuth 2.0; the provider sends the browser back to \
        `/authorize/oidc/callback`.",
    params(
        ("provider" = String, Path, description = "A configured provider's name (the sign-in \
            page links to each)."),
        ("token" = String, Query, description = "The sign-in request's `token`.", pattern = "^[A-Za-z0-9_-]{43}$"),
    ),
    responses(
        (status = 303, description = "To the provider's authorization endpoint, with a fresh \
            `state` and `nonce`.",
         headers(
            ("Location" = String, description = "The provider's authorization URL."),
            ("Referrer-Policy" = String, description = "`no-referrer`: the sign-in token in \
                this page's URL is not passed on."),
         )),
        (status = 400, description = "No provider of that name is configured: the problem page. A NUL (`%00`) in the path or query \
            is refused before any route, in JSON.",
         content((String = "text/html"), (ErrorBody = "application/json"))),
        (status = 404, description = "The sign-in request is unknown, expired or already signed in (or `token` is \
            missing or malformed): the problem page.",
         content_type = "text/html", body = String),
        (status = 503, description = "The provider's metadata could not be read: the problem page.",
         content_type = "text/html", body = String),
    ),
)]
async fn oidc_start(
    State(recovery): State<With<Recovery>>,
    Path(provider): Path<String>,
    Query(q): Query,
) -> Response {
    let token = q.text("token");
    match recovery.authorize().oidc_start(&provider, token).await {
        Ok(url) => {
            let mut res = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) = HeaderValue::from_str(&url) {
                res.headers_mut().insert(header::LOCATION, v);
            }
            res.headers_mut().insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            res
        }
        Err(e) => problem(e),
    }
}

/// `GET /authorize/oidc/callback?code=…&state=…` (or `error=…`).
#[utoipa::path(
    get, path = "/authorize/oidc/callback", tag = "SEP-30 sign-in", operation_id = "sep30_signin_oidc_callback",
    summary = "Back from the OpenID Connect provider (its redirect URI)",
    description = "OpenID Connect Core 1.0 §3.1.2.5 and §3.1.2.6: `code` and `state` on success, `error` otherwise.",
    params(
        ("code" = Option<String>, Query, description = "The authorization code."),
        ("state" = Option<String>, Query, description = "The `state` sent to the provider."),
        ("error" = Option<String>, Query, description = "The provider's error code: when present, the sign-in failed."),
    ),
    responses(
        (status = 200, description = "The provider vouched for a verified email address: the signed-in page (the \
            wallet's next poll gets the token).",
         content_type = "text/html", body = String),
        (status = 400, description = "The provider sent `error`: the sign-in was cancelled or refused. The problem page. A NUL (`%00`) in the path or query \
            is refused before any route, in JSON.",
         content((String = "text/html"), (ErrorBody = "application/json"))),
        (status = 404, description = "`state` is missing, unknown, used or expired, or `code` is missing or longer \
            than 2048 bytes: the problem page.",
         content_type = "text/html", body = String),
        (status = 503, description = "The provider could not be reached or refused the code, or its ID token (for \
            GitHub, its API) gave no usable verified email address: the problem page.",
         content_type = "text/html", body = String),
    ),
)]
async fn oidc_callback(State(recovery): State<With<Recovery>>, Query(q): Query) -> Response {
    if !q.text("error").is_empty() {
        return html(
            StatusCode::BAD_REQUEST,
            pages::problem(
                "the sign-in was cancelled or refused by the provider; start again from your wallet",
            ),
        );
    }
    match recovery
        .authorize()
        .oidc_finish(q.text("state"), q.text("code"))
        .await
    {
        Ok(()) => html(StatusCode::OK, pages::done()),
        Err(e) => problem(e),
    }
}

/// `POST /authorize/password` (form: token, email, password).
#[utoipa::path(
    post, path = "/authorize/password", tag = "SEP-30 sign-in", operation_id = "sep30_signin_password",
    summary = "Sign in with an email address and password (the sign-in page's form)",
    request_body(content = PasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The password is right: the signed-in page (the wallet's next poll gets the \
            token), or, if the login has an authenticator app, the page to enter its code.",
         content_type = "text/html", body = String),
        (status = 400, description = "Passwords are not offered here, the email address is not valid, the address \
            and password do not match (or the address has no login), or the address is not \
            confirmed yet (the sign-in page again, with the reason); or the form is not UTF-8 once percent-decoded (the problem page). A NUL (`%00`) in the path or query \
            is refused before any route, in JSON.",
         content((String = "text/html"), (ErrorBody = "application/json"))),
        (status = 404, description = "The sign-in request is unknown, expired or already signed in (or `token` is \
            missing or malformed): the problem page.",
         content_type = "text/html", body = String),
        (status = 413, description = "The form is over the listener's body limit: the problem page.",
         content_type = "text/html", body = String),
        (status = 429, description = "Too many steps from this client's address, or more than 10 sign-ins for this \
            email address, this hour: the problem page.",
         content_type = "text/html", body = String),
    ),
)]
async fn password_sign_in(
    State(recovery): State<With<Recovery>>,
    ClientIp(ip): ClientIp,
    f: Fields,
) -> Response {
    let token = f.get("token");
    let a = recovery.authorize();
    answer(
        a.password_sign_in(token, f.get("email"), f.get("password"), ip)
            .await,
        |s| signed_in(token, s),
        |m| pages::sign_in(token, &a.offer(), Some(m)),
    )
}
