//! HTTP for the sign-in: JSON for the wallet, HTML for the person.

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::{AuthorizeError, SignIn, pages};
use crate::error::ApiError;
use crate::http::{ClientIp, Form, Pairs, Query};
use crate::recovery::Recovery;
use crate::state::With;

/// The sign-in routes.
pub fn router() -> utoipa_axum::router::OpenApiRouter<With<Recovery>> {
    utoipa_axum::router::OpenApiRouter::from(
        Router::new()
            .route("/authorize/token", post(create))
            .route("/authorize/token/{id}", get(poll))
            .route("/authorize", get(sign_in_page))
            .route("/authorize/code", post(send_code))
            .route("/authorize/code/verify", post(verify_code))
            .route("/authorize/password", post(password_sign_in))
            .route("/authorize/totp", post(totp_sign_in))
            .route(
                "/authorize/totp/setup",
                get(totp_setup_page).post(totp_setup),
            )
            .route("/authorize/totp/confirm", post(totp_confirm))
            .route("/authorize/signup", get(sign_up_page).post(sign_up))
            .route("/authorize/confirm", get(confirm_page).post(confirm))
            .route("/authorize/reset", get(reset_page).post(reset))
            .route(
                "/authorize/reset/new",
                get(new_password_page).post(new_password),
            )
            .route("/authorize/oidc/callback", get(oidc_callback))
            .route("/authorize/oidc/{provider}", get(oidc_start)),
    )
}

/// An HTML page with headers that keep the token in it to this page: not
/// framed, not cached, not sent on as a referrer, no script.
fn html(status: StatusCode, body: String) -> Response {
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
fn problem(e: AuthorizeError) -> Response {
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
    fn get(&self, key: &str) -> &str {
        self.0.text(key)
    }
}

/// `POST /authorize/token`: a sign-in request for a wallet.
async fn create(
    State(recovery): State<With<Recovery>>,
    ClientIp(ip): ClientIp,
) -> Result<Response, ApiError> {
    let req = recovery.authorize().create(ip).await?;
    Ok((StatusCode::CREATED, Json(req)).into_response())
}

/// `GET /authorize/token/{id}`: `pending` until the person signs in, then
/// the access token, once.
async fn poll(
    State(recovery): State<With<Recovery>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(recovery.authorize().poll(&id).await?).into_response())
}

/// The answer to a submitted form: `done` with what the step gave; the
/// form again with the reason (400) when the input was refused; the
/// problem page otherwise.
fn answer<T>(
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
fn answer_code<T>(
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
fn live(result: Result<bool, AuthorizeError>, page: impl FnOnce() -> String) -> Response {
    match result {
        Ok(true) => html(StatusCode::OK, page()),
        Ok(false) => problem(AuthorizeError::NotFound),
        Err(e) => problem(e),
    }
}

/// The page after a first factor: done, or on to the authenticator app.
fn signed_in(token: &str, s: SignIn) -> String {
    match s {
        SignIn::Done => pages::done(),
        SignIn::NeedsTotp => pages::enter_totp(token, None),
    }
}

/// Whether the request is live and passwords are offered.
async fn passwords_offered(recovery: &Recovery, token: &str) -> Result<bool, AuthorizeError> {
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
async fn sign_in_page(State(recovery): State<With<Recovery>>, Query(q): Query) -> Response {
    let token = q.text("token");
    let a = recovery.authorize();
    live(a.check(token).await.map(|()| true), || {
        pages::sign_in(token, &a.offer(), None)
    })
}

/// `POST /authorize/code` (form: token, type, value).
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

/// `GET /authorize/signup?token=…`.
async fn sign_up_page(State(recovery): State<With<Recovery>>, Query(q): Query) -> Response {
    let token = q.text("token");
    live(passwords_offered(&recovery, token).await, || {
        pages::sign_up(token, None)
    })
}

/// `POST /authorize/signup` (form: token, email, password).
async fn sign_up(
    State(recovery): State<With<Recovery>>,
    ClientIp(ip): ClientIp,
    f: Fields,
) -> Response {
    let token = f.get("token");
    answer(
        recovery
            .authorize()
            .sign_up(token, f.get("email"), f.get("password"), ip)
            .await,
        |to| pages::check_mail(Some(token), &to, "with a link to confirm your address"),
        |m| pages::sign_up(token, Some(m)),
    )
}

/// `GET /authorize/confirm?link=…`: a form, not an action.
async fn confirm_page(State(recovery): State<With<Recovery>>, Query(q): Query) -> Response {
    let link = q.text("link");
    live(
        recovery.authorize().link_is_live(link, "confirm").await,
        || pages::confirm(link, None),
    )
}

/// `POST /authorize/confirm` (form: link, password).
async fn confirm(
    State(recovery): State<With<Recovery>>,
    ClientIp(ip): ClientIp,
    f: Fields,
) -> Response {
    let link = f.get("link");
    answer(
        recovery
            .authorize()
            .confirm(link, f.get("password"), ip)
            .await,
        |()| {
            pages::message(
                "Email address confirmed",
                "Go back to the sign-in page and sign in with your email address and password.",
            )
        },
        |m| pages::confirm(link, Some(m)),
    )
}

/// `GET /authorize/reset?token=…`.
async fn reset_page(State(recovery): State<With<Recovery>>, Query(q): Query) -> Response {
    let token = q.text("token");
    live(
        recovery.authorize().check(token).await.map(|()| true),
        || pages::reset(token, None),
    )
}

/// `POST /authorize/reset` (form: token, email).
async fn reset(
    State(recovery): State<With<Recovery>>,
    ClientIp(ip): ClientIp,
    f: Fields,
) -> Response {
    let token = f.get("token");
    answer(
        recovery.authorize().start_reset(f.get("email"), ip).await,
        |to| pages::check_mail(Some(token), &to, "with a link to choose a new password"),
        |m| pages::reset(token, Some(m)),
    )
}

/// `GET /authorize/reset/new?link=…`.
async fn new_password_page(State(recovery): State<With<Recovery>>, Query(q): Query) -> Response {
    let link = q.text("link");
    live(
        recovery.authorize().link_is_live(link, "reset").await,
        || pages::new_password(link, None),
    )
}

/// `POST /authorize/reset/new` (form: link, password).
async fn new_password(State(recovery): State<With<Recovery>>, f: Fields) -> Response {
    let link = f.get("link");
    answer(
        recovery
            .authorize()
            .finish_reset(link, f.get("password"))
            .await,
        |()| {
            pages::message(
                "Password changed",
                "Go back to the sign-in page and sign in with your new password.",
            )
        },
        |m| pages::new_password(link, Some(m)),
    )
}

/// `POST /authorize/totp` (form: token, code): the second step.
async fn totp_sign_in(
    State(recovery): State<With<Recovery>>,
    ClientIp(ip): ClientIp,
    f: Fields,
) -> Response {
    let token = f.get("token");
    answer_code(
        recovery
            .authorize()
            .totp_sign_in(token, f.get("code"), ip)
            .await,
        |()| pages::done(),
        |m| pages::enter_totp(token, Some(m)),
    )
}

/// `GET /authorize/totp/setup?token=…`.
async fn totp_setup_page(State(recovery): State<With<Recovery>>, Query(q): Query) -> Response {
    let token = q.text("token");
    live(passwords_offered(&recovery, token).await, || {
        pages::totp_setup(token, None)
    })
}

/// `POST /authorize/totp/setup` (form: token, email, password).
async fn totp_setup(
    State(recovery): State<With<Recovery>>,
    ClientIp(ip): ClientIp,
    f: Fields,
) -> Response {
    let token = f.get("token");
    answer(
        recovery
            .authorize()
            .totp_setup(f.get("email"), f.get("password"), ip)
            .await,
        |setup| pages::totp_secret(&setup.link, &setup.secret, &setup.url, None),
        |m| pages::totp_setup(token, Some(m)),
    )
}

/// `POST /authorize/totp/confirm` (form: link, code).
async fn totp_confirm(State(recovery): State<With<Recovery>>, f: Fields) -> Response {
    let link = f.get("link");
    let a = recovery.authorize();
    match a.totp_confirm(link, f.get("code")).await {
        Ok(()) => html(
            StatusCode::OK,
            pages::message(
                "Authenticator app added",
                "From now on, signing in with your password also asks for a code from the app.",
            ),
        ),
        // A wrong code: the same secret again, from what is stored.
        Err(e @ AuthorizeError::WrongCode) => match a.totp_setup_again(link).await {
            Ok(setup) => html(
                StatusCode::BAD_REQUEST,
                pages::totp_secret(&setup.link, &setup.secret, &setup.url, Some(&e.to_string())),
            ),
            Err(e) => problem(e),
        },
        Err(e) => problem(e),
    }
}
