//! The sign-in's email-and-password pages: sign up, confirm the address,
//! reset the password, and the authenticator app (TOTP).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::AuthorizeError;
use super::forms::{
    CodeCheckForm, ConfirmForm, NewPasswordForm, ResetForm, SignUpForm, TotpConfirmForm,
    TotpSetupForm,
};
use super::pages;
use super::routes::{Fields, answer, answer_code, html, live, passwords_offered, problem};
use crate::http::{ClientIp, Query};
use crate::openapi::ErrorBody;
use crate::recovery::Recovery;
use crate::state::With;

/// `GET /authorize/signup?token=…`.
#[utoipa::path(
    get, path = "/authorize/signup", tag = "SEP-30 sign-in", operation_id = "sep30_signin_sign_up_page",
    summary = "The page to create an email-and-password login",
    params(
        ("token" = String, Query, description = "The sign-in request's `token`.", pattern = "^[A-Za-z0-9_-]{43}$"),
    ),
    responses(
        (status = 200, description = "The sign-up form.",
         content_type = "text/html", body = String),
        (status = 400, description = "Passwords are not offered here: the problem page. A NUL (`%00`) in the path or query \
            is refused before any route, in JSON.",
         content((String = "text/html"), (ErrorBody = "application/json"))),
        (status = 404, description = "The sign-in request is unknown, expired or already signed in (or `token` is \
            missing or malformed): the problem page.",
         content_type = "text/html", body = String),
    ),
)]
pub(super) async fn sign_up_page(
    State(recovery): State<With<Recovery>>,
    Query(q): Query,
) -> Response {
    let token = q.text("token");
    live(passwords_offered(&recovery, token).await, || {
        pages::sign_up(token, None)
    })
}

/// `POST /authorize/signup` (form: token, email, password).
#[utoipa::path(
    post, path = "/authorize/signup", tag = "SEP-30 sign-in", operation_id = "sep30_signin_sign_up",
    summary = "Create an email-and-password login; a confirmation link is mailed",
    request_body(content = SignUpForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The check-your-mail page. A confirmation link is mailed, or, if the address \
            already has a login, a note to its owner: the answer is the same either way.",
         content_type = "text/html", body = String),
        (status = 400, description = "Passwords are not offered here, the email address is not valid, or the \
            password is shorter than 10 characters or longer than 256 bytes (the form again, \
            with the reason); or the form is not UTF-8 once percent-decoded (the problem page). A NUL (`%00`) in the path or query \
            is refused before any route, in JSON.",
         content((String = "text/html"), (ErrorBody = "application/json"))),
        (status = 404, description = "The sign-in request is unknown, expired or already signed in (or `token` is \
            missing or malformed): the problem page.",
         content_type = "text/html", body = String),
        (status = 413, description = "The form is over the listener's body limit: the problem page.",
         content_type = "text/html", body = String),
        (status = 429, description = "Too many steps from this client's address, or sign-ups for this email \
            address, this hour: the problem page.",
         content_type = "text/html", body = String),
        (status = 503, description = "The mail could not be sent: the problem page.",
         content_type = "text/html", body = String),
    ),
)]
pub(super) async fn sign_up(
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
#[utoipa::path(
    get, path = "/authorize/confirm", tag = "SEP-30 sign-in", operation_id = "sep30_signin_confirm_page",
    summary = "The mailed confirmation link's page: a form, not an action",
    params(
        ("link" = String, Query, description = "The link's value, from the mail.", pattern = "^[A-Za-z0-9_-]{43}$"),
    ),
    responses(
        (status = 200, description = "The form to confirm the address with the password chosen at sign-up (so that \
            neither a mail scanner opening the link nor the owner of an address someone else \
            signed up with confirms anything).",
         content_type = "text/html", body = String),
        (status = 404, description = "The link is unknown, used or expired (24 hours), or `link` is missing or \
            malformed: the problem page.",
         content_type = "text/html", body = String),
    ),
)]
pub(super) async fn confirm_page(
    State(recovery): State<With<Recovery>>,
    Query(q): Query,
) -> Response {
    let link = q.text("link");
    live(
        recovery.authorize().link_is_live(link, "confirm").await,
        || pages::confirm(link, None),
    )
}

/// `POST /authorize/confirm` (form: link, password).
#[utoipa::path(
    post, path = "/authorize/confirm", tag = "SEP-30 sign-in", operation_id = "sep30_signin_confirm",
    summary = "Confirm an email address with the password chosen at sign-up",
    request_body(content = ConfirmForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Confirmed: a page saying to go back and sign in.",
         content_type = "text/html", body = String),
        (status = 400, description = "The password is not the one the address was signed up with (the form again, \
            with the reason); or the form is not UTF-8 once percent-decoded (the problem page). A NUL (`%00`) in the path or query \
            is refused before any route, in JSON.",
         content((String = "text/html"), (ErrorBody = "application/json"))),
        (status = 404, description = "The link is unknown, used or expired, or a later sign-up replaced its password \
            (`link` missing or malformed too): the problem page.",
         content_type = "text/html", body = String),
        (status = 413, description = "The form is over the listener's body limit: the problem page.",
         content_type = "text/html", body = String),
        (status = 429, description = "Too many steps from this client's address, or more than 10 tries of this link, \
            this hour: the problem page.",
         content_type = "text/html", body = String),
    ),
)]
pub(super) async fn confirm(
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
#[utoipa::path(
    get, path = "/authorize/reset", tag = "SEP-30 sign-in", operation_id = "sep30_signin_reset_page",
    summary = "The page to ask for a password reset link",
    params(
        ("token" = String, Query, description = "The sign-in request's `token`.", pattern = "^[A-Za-z0-9_-]{43}$"),
    ),
    responses(
        (status = 200, description = "The form asking for the login's email address.",
         content_type = "text/html", body = String),
        (status = 404, description = "The sign-in request is unknown, expired or already signed in (or `token` is \
            missing or malformed): the problem page.",
         content_type = "text/html", body = String),
    ),
)]
pub(super) async fn reset_page(
    State(recovery): State<With<Recovery>>,
    Query(q): Query,
) -> Response {
    let token = q.text("token");
    live(
        recovery.authorize().check(token).await.map(|()| true),
        || pages::reset(token, None),
    )
}

/// `POST /authorize/reset` (form: token, email).
#[utoipa::path(
    post, path = "/authorize/reset", tag = "SEP-30 sign-in", operation_id = "sep30_signin_reset",
    summary = "Ask for a password reset link by mail",
    request_body(content = ResetForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The check-your-mail page. A reset link (valid 1 hour) is mailed if the address \
            has a login: the answer is the same either way.",
         content_type = "text/html", body = String),
        (status = 400, description = "Passwords are not offered here, or the email address is not valid (the form \
            again, with the reason); or the form is not UTF-8 once percent-decoded (the problem page). A NUL (`%00`) in the path or query \
            is refused before any route, in JSON.",
         content((String = "text/html"), (ErrorBody = "application/json"))),
        (status = 413, description = "The form is over the listener's body limit: the problem page.",
         content_type = "text/html", body = String),
        (status = 429, description = "Too many steps from this client's address, or reset requests for this email \
            address, this hour: the problem page.",
         content_type = "text/html", body = String),
    ),
)]
pub(super) async fn reset(
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
#[utoipa::path(
    get, path = "/authorize/reset/new", tag = "SEP-30 sign-in", operation_id = "sep30_signin_new_password_page",
    summary = "The mailed reset link's page: a form to choose a new password",
    params(
        ("link" = String, Query, description = "The link's value, from the mail.", pattern = "^[A-Za-z0-9_-]{43}$"),
    ),
    responses(
        (status = 200, description = "The form for the new password.",
         content_type = "text/html", body = String),
        (status = 404, description = "The link is unknown, used or expired (1 hour), or `link` is missing or \
            malformed: the problem page.",
         content_type = "text/html", body = String),
    ),
)]
pub(super) async fn new_password_page(
    State(recovery): State<With<Recovery>>,
    Query(q): Query,
) -> Response {
    let link = q.text("link");
    live(
        recovery.authorize().link_is_live(link, "reset").await,
        || pages::new_password(link, None),
    )
}

/// `POST /authorize/reset/new` (form: link, password).
#[utoipa::path(
    post, path = "/authorize/reset/new", tag = "SEP-30 sign-in", operation_id = "sep30_signin_new_password",
    summary = "Choose a new password with a reset link",
    request_body(content = NewPasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The password is changed and the address confirmed; the login's other links are \
            void: a page saying to go back and sign in.",
         content_type = "text/html", body = String),
        (status = 400, description = "The password is shorter than 10 characters or longer than 256 bytes (the form \
            again, with the reason); or the form is not UTF-8 once percent-decoded (the problem page). A NUL (`%00`) in the path or query \
            is refused before any route, in JSON.",
         content((String = "text/html"), (ErrorBody = "application/json"))),
        (status = 404, description = "The link is unknown, used or expired (`link` missing or malformed too): the \
            problem page.",
         content_type = "text/html", body = String),
        (status = 413, description = "The form is over the listener's body limit: the problem page.",
         content_type = "text/html", body = String),
    ),
)]
pub(super) async fn new_password(State(recovery): State<With<Recovery>>, f: Fields) -> Response {
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
#[utoipa::path(
    post, path = "/authorize/totp", tag = "SEP-30 sign-in", operation_id = "sep30_signin_totp",
    summary = "The authenticator app's code, after the password (RFC 6238 TOTP)",
    request_body(content = CodeCheckForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The code is right: the signed-in page (the wallet's next poll gets the token).",
         content_type = "text/html", body = String),
        (status = 400, description = "The code is wrong, already used or expired, no sign-in waits for it, or too \
            many attempts were made (the code page again); or the form is not UTF-8 once percent-decoded (the problem page). A NUL (`%00`) in the path or query \
            is refused before any route, in JSON.",
         content((String = "text/html"), (ErrorBody = "application/json"))),
        (status = 404, description = "The sign-in request is unknown or expired: the problem page.",
         content_type = "text/html", body = String),
        (status = 413, description = "The form is over the listener's body limit: the problem page.",
         content_type = "text/html", body = String),
        (status = 429, description = "Too many steps from this client's address this hour: the problem page.",
         content_type = "text/html", body = String),
    ),
)]
pub(super) async fn totp_sign_in(
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
#[utoipa::path(
    get, path = "/authorize/totp/setup", tag = "SEP-30 sign-in", operation_id = "sep30_signin_totp_setup_page",
    summary = "The page to add an authenticator app to an email-and-password login",
    params(
        ("token" = String, Query, description = "The sign-in request's `token`.", pattern = "^[A-Za-z0-9_-]{43}$"),
    ),
    responses(
        (status = 200, description = "The form asking for the login's email address and password.",
         content_type = "text/html", body = String),
        (status = 400, description = "Passwords are not offered here: the problem page. A NUL (`%00`) in the path or query \
            is refused before any route, in JSON.",
         content((String = "text/html"), (ErrorBody = "application/json"))),
        (status = 404, description = "The sign-in request is unknown, expired or already signed in (or `token` is \
            missing or malformed): the problem page.",
         content_type = "text/html", body = String),
    ),
)]
pub(super) async fn totp_setup_page(
    State(recovery): State<With<Recovery>>,
    Query(q): Query,
) -> Response {
    let token = q.text("token");
    live(passwords_offered(&recovery, token).await, || {
        pages::totp_setup(token, None)
    })
}

/// `POST /authorize/totp/setup` (form: token, email, password).
#[utoipa::path(
    post, path = "/authorize/totp/setup", tag = "SEP-30 sign-in", operation_id = "sep30_signin_totp_setup",
    summary = "Start adding an authenticator app: the login's password, then a new secret",
    request_body(content = TotpSetupForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The password is right: the new secret (base32, and an `otpauth://` link) and \
            the form to confirm it with a first code, within 5 minutes.",
         content_type = "text/html", body = String),
        (status = 400, description = "Passwords are not offered here, the email address is not valid, the address \
            and password do not match, the address is not confirmed yet, or the login already \
            has an authenticator app (the form again, with the reason); or the form is not UTF-8 once percent-decoded (the problem page). A NUL (`%00`) in the path or query \
            is refused before any route, in JSON.",
         content((String = "text/html"), (ErrorBody = "application/json"))),
        (status = 413, description = "The form is over the listener's body limit: the problem page.",
         content_type = "text/html", body = String),
        (status = 429, description = "Too many steps from this client's address, or more than 10 sign-ins for this \
            email address, this hour: the problem page.",
         content_type = "text/html", body = String),
    ),
)]
pub(super) async fn totp_setup(
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
#[utoipa::path(
    post, path = "/authorize/totp/confirm", tag = "SEP-30 sign-in", operation_id = "sep30_signin_totp_confirm",
    summary = "Finish adding an authenticator app with a first code from it",
    request_body(content = TotpConfirmForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The app is added: from now on a password sign-in also asks for its code.",
         content_type = "text/html", body = String),
        (status = 400, description = "The code is wrong (the secret and the form again); or the form is not UTF-8 once percent-decoded (the problem page). A NUL (`%00`) in the path or query \
            is refused before any route, in JSON.",
         content((String = "text/html"), (ErrorBody = "application/json"))),
        (status = 404, description = "The setup is unknown, finished or expired (`link` missing or malformed too): \
            the problem page.",
         content_type = "text/html", body = String),
        (status = 413, description = "The form is over the listener's body limit: the problem page.",
         content_type = "text/html", body = String),
        (status = 429, description = "Too many codes tried for this setup this hour: the problem page.",
         content_type = "text/html", body = String),
    ),
)]
pub(super) async fn totp_confirm(State(recovery): State<With<Recovery>>, f: Fields) -> Response {
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
