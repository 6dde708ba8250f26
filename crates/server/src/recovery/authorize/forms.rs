//! The forms the sign-in pages post, as the OpenAPI description shows
//! them.

use serde::Deserialize;
use utoipa::ToSchema;

// The forms the pages post, as the OpenAPI description shows them. They
// are read as [`super::routes::Fields`] (a missing field reads as empty, and is refused
// as the step's input); these types only describe them. A `token` is the
// sign-in request's, a `link` a mailed link's or a setup's: 43 base64url
// characters, anything else is unknown (404) before any lookup.

/// `POST /authorize/code`.
#[derive(Deserialize, ToSchema)]
#[schema(as = sep30_signin::CodeForm)]
#[allow(dead_code)] // described, read as [`super::routes::Fields`]
pub(super) struct CodeForm {
    /// The sign-in request's token.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    token: String,
    /// Where to send the code (only the ways the server offers).
    #[serde(rename = "type")]
    kind: CodeChannel,
    /// The email address, or the phone number in E.164 (`+14155550100`).
    value: String,
}

/// Where a one-time code goes.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = sep30_signin::CodeChannel)]
#[allow(dead_code)] // described, read as [`super::routes::Fields`]
pub(super) enum CodeChannel {
    /// By mail.
    Email,
    /// By SMS.
    PhoneNumber,
}

/// `POST /authorize/code/verify` and `POST /authorize/totp`.
#[derive(Deserialize, ToSchema)]
#[schema(as = sep30_signin::CodeCheckForm)]
#[allow(dead_code)] // described, read as [`super::routes::Fields`]
pub(super) struct CodeCheckForm {
    /// The sign-in request's token.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    token: String,
    /// The six-digit code (surrounding spaces ignored).
    code: String,
}

/// `POST /authorize/password`.
#[derive(Deserialize, ToSchema)]
#[schema(as = sep30_signin::PasswordForm)]
#[allow(dead_code)] // described, read as [`super::routes::Fields`]
pub(super) struct PasswordForm {
    /// The sign-in request's token.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    token: String,
    /// The login's email address.
    #[schema(pattern = r"^\s*[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+\s*$")]
    email: String,
    /// Its password.
    password: String,
}

/// `POST /authorize/signup`.
#[derive(Deserialize, ToSchema)]
#[schema(as = sep30_signin::SignUpForm)]
#[allow(dead_code)] // described, read as [`super::routes::Fields`]
pub(super) struct SignUpForm {
    /// The sign-in request's token.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    token: String,
    /// The email address of the new login.
    #[schema(pattern = r"^\s*[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+\s*$")]
    email: String,
    /// Its password: 10 characters or more, 256 bytes at most.
    #[schema(min_length = 10, max_length = 256)]
    password: String,
}

/// `POST /authorize/confirm`.
#[derive(Deserialize, ToSchema)]
#[schema(as = sep30_signin::ConfirmForm)]
#[allow(dead_code)] // described, read as [`super::routes::Fields`]
pub(super) struct ConfirmForm {
    /// The confirmation link's value.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    link: String,
    /// The password chosen at sign-up.
    password: String,
}

/// `POST /authorize/reset`.
#[derive(Deserialize, ToSchema)]
#[schema(as = sep30_signin::ResetForm)]
#[allow(dead_code)] // described, read as [`super::routes::Fields`]
pub(super) struct ResetForm {
    /// The sign-in request's token, only for the page's way back to it
    /// (not checked).
    #[serde(default)]
    token: String,
    /// The login's email address.
    #[schema(pattern = r"^\s*[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+\s*$")]
    email: String,
}

/// `POST /authorize/reset/new`.
#[derive(Deserialize, ToSchema)]
#[schema(as = sep30_signin::NewPasswordForm)]
#[allow(dead_code)] // described, read as [`super::routes::Fields`]
pub(super) struct NewPasswordForm {
    /// The reset link's value.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    link: String,
    /// The new password: 10 characters or more, 256 bytes at most.
    #[schema(min_length = 10, max_length = 256)]
    password: String,
}

/// `POST /authorize/totp/setup`.
#[derive(Deserialize, ToSchema)]
#[schema(as = sep30_signin::TotpSetupForm)]
#[allow(dead_code)] // described, read as [`super::routes::Fields`]
pub(super) struct TotpSetupForm {
    /// The sign-in request's token, only for the form shown again (not
    /// checked).
    #[serde(default)]
    token: String,
    /// The login's email address.
    #[schema(pattern = r"^\s*[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+\s*$")]
    email: String,
    /// Its password.
    password: String,
}

/// `POST /authorize/totp/confirm`.
#[derive(Deserialize, ToSchema)]
#[schema(as = sep30_signin::TotpConfirmForm)]
#[allow(dead_code)] // described, read as [`super::routes::Fields`]
pub(super) struct TotpConfirmForm {
    /// The setup's link, from the page that showed the secret.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    link: String,
    /// The code the app shows.
    code: String,
}
