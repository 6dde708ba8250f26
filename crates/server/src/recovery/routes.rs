//! SEP-30 HTTP endpoints (§Endpoints). The caller is authenticated (by the
//! [`Caller`] extractor) before the body is read or the path is looked at.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use mooring_stellar::PublicKey;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::doc::{AccountRequest, SignRequest, SponsorRequest};
use super::service::{AccountView, Signature};
use super::sponsor::Sponsored;
use super::{Caller, Recovery, model};
use crate::error::ApiError;
use crate::http::{Path, Query, body_limit};
use crate::openapi::ErrorBody;
use crate::state::With;

/// Largest SEP-30 request body (identities, or a transaction).
const MAX_BODY: usize = 64 * 1024;

/// The SEP-30 routes.
pub fn router() -> OpenApiRouter<With<Recovery>> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(register, update, show, remove))
        .routes(routes!(sign))
        .routes(routes!(remove_signer))
        .routes(routes!(sponsor_new))
        .layer(body_limit(MAX_BODY))
}

/// A SEP-30 body: JSON (§Content Type), at most [`MAX_BODY`] bytes.
type JsonBody = crate::http::JsonBody<MAX_BODY>;

pub(super) fn address(raw: &str) -> Result<PublicKey, ApiError> {
    PublicKey::parse(raw)
        .map_err(|_| ApiError::bad_request("address must be a Stellar account address (G…)"))
}

/// §POST /accounts/<address>.
#[utoipa::path(
    post, path = "/accounts/{address}", tag = "SEP-30", operation_id = "sep30_register_account",
    summary = "Register an account and its identities (SEP-30 §POST /accounts/<address>)",
    description = "Registers the account with the identities that may later have the server \
        sign for it, and makes a signing key for it: add `signers[0].key` as a signer of the \
        account. Needs a SEP-10 token for this very account (a `G…` account, no memo).",
    params(("address" = String, Path, description = "The account to register, `G…`.",
            pattern = r"^G[A-Z2-7]{55}$")),
    request_body(content = AccountRequest, content_type = "application/json"),
    security(("sep10" = []), ("sep30_signin" = [])),
    responses(
        (status = 200, description = "Registered: the account, its identities (those the \
            caller proved `authenticated`) and its one signing key.", body = AccountView),
        (status = 400, description = "The address is not a `G…` account, or the body is not \
            valid JSON or breaks a rule of §Common Request Fields (the error names the field, \
            never its value). Or a NUL (`%00`) in the path \
            or query.", body = ErrorBody),
        (status = 401, description = "No bearer token, or one not accepted (invalid, expired, \
            an unknown issuer, a muxed account or a memo), or not a SEP-10 token for this \
            account (§Authentication).", body = ErrorBody),
        (status = 409, description = "The account is already registered (§Errors).", body = ErrorBody),
        (status = 413, description = "The declared body is over 64 KiB.", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json` (§Content Type).", body = ErrorBody),
    ),
)]
async fn register(
    State(recovery): State<With<Recovery>>,
    caller: Caller,
    Path(raw): Path<String>,
    crate::http::JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let account = address(&raw)?;
    // §POST …: Authentication [`SEP-10`], for this very account.
    if caller.account != Some(account) {
        return Err(ApiError::unauthorized(
            "registering an account needs a SEP-10 token for that account",
        ));
    }
    let identities = model::identities(&body).map_err(|e| ApiError::bad_request(e.0))?;
    Ok(Json(recovery.register(&caller, &account, &identities).await?).into_response())
}

/// §PUT /accounts/<address>.
#[utoipa::path(
    put, path = "/accounts/{address}", tag = "SEP-30", operation_id = "sep30_update_account",
    summary = "Replace an account's identities (SEP-30 §PUT /accounts/<address>)",
    description = "The identities are replaced by those of the request, not merged. The caller \
        must be the account (SEP-10) or one of its identities (a SEP-10 token for one of its \
        `stellar_address` methods, or a sign-in token from `/authorize` for one of its email \
        addresses or phone numbers).",
    params(("address" = String, Path, description = "The registered account, `G…`.",
            pattern = r"^G[A-Z2-7]{55}$")),
    request_body(content = AccountRequest, content_type = "application/json"),
    security(("sep10" = []), ("sep30_signin" = [])),
    responses(
        (status = 200, description = "The account with its new identities.", body = AccountView),
        (status = 400, description = "The address is not a `G…` account, or the body is not \
            valid JSON or breaks a rule of §Common Request Fields. Or a NUL (`%00`) in the path \
            or query.", body = ErrorBody),
        (status = 401, description = "No bearer token, or one not accepted (invalid, expired, \
            an unknown issuer, a muxed account or a memo).", body = ErrorBody),
        (status = 404, description = "The account is not registered, or the caller is neither \
            it nor one of its identities (never told apart, §Errors).", body = ErrorBody),
        (status = 413, description = "The declared body is over 64 KiB.", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`.", body = ErrorBody),
    ),
)]
async fn update(
    State(recovery): State<With<Recovery>>,
    caller: Caller,
    Path(raw): Path<String>,
    crate::http::JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let account = address(&raw)?.to_string();
    let identities = model::identities(&body).map_err(|e| ApiError::bad_request(e.0))?;
    Ok(Json(recovery.update(&caller, &account, &identities).await?).into_response())
}

/// §GET /accounts/<address>.
#[utoipa::path(
    get, path = "/accounts/{address}", tag = "SEP-30", operation_id = "sep30_get_account",
    summary = "A registered account (SEP-30 §GET /accounts/<address>)",
    description = "For the account itself (SEP-10) or any of its identities.",
    params(("address" = String, Path, description = "The registered account, `G…`.",
            pattern = r"^G[A-Z2-7]{55}$")),
    security(("sep10" = []), ("sep30_signin" = [])),
    responses(
        (status = 200, description = "The account: its identities' roles (those the caller \
            proved `authenticated`) and its signing keys, newest first.", body = AccountView),
        (status = 400, description = "The address is not a `G…` account. Or a NUL (`%00`) in the path \
            or query.", body = ErrorBody),
        (status = 401, description = "No bearer token, or one not accepted (invalid, expired, \
            an unknown issuer, a muxed account or a memo).", body = ErrorBody),
        (status = 404, description = "The account is not registered, or the caller is neither \
            it nor one of its identities (never told apart, §Errors).", body = ErrorBody),
    ),
)]
async fn show(
    State(recovery): State<With<Recovery>>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let account = address(&raw)?.to_string();
    Ok(Json(recovery.get(&caller, &account).await?).into_response())
}

/// §DELETE /accounts/<address>.
#[utoipa::path(
    delete, path = "/accounts/{address}", tag = "SEP-30", operation_id = "sep30_delete_account",
    summary = "Delete an account's record, irrecoverably (SEP-30 §DELETE /accounts/<address>)",
    description = "For the account itself (SEP-10) or any of its identities. Its identities and \
        signing keys are deleted: the server can no longer sign for it.",
    params(("address" = String, Path, description = "The registered account, `G…`.",
            pattern = r"^G[A-Z2-7]{55}$")),
    security(("sep10" = []), ("sep30_signin" = [])),
    responses(
        (status = 200, description = "Deleted: the account as it was.", body = AccountView),
        (status = 400, description = "The address is not a `G…` account. Or a NUL (`%00`) in the path \
            or query.", body = ErrorBody),
        (status = 401, description = "No bearer token, or one not accepted (invalid, expired, \
            an unknown issuer, a muxed account or a memo).", body = ErrorBody),
        (status = 404, description = "The account is not registered, or the caller is neither \
            it nor one of its identities (never told apart, §Errors).", body = ErrorBody),
    ),
)]
async fn remove(
    State(recovery): State<With<Recovery>>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let account = address(&raw)?.to_string();
    Ok(Json(recovery.delete(&caller, &account).await?).into_response())
}

/// `GET /accounts`'s answer (§GET /accounts).
#[derive(Serialize, ToSchema)]
#[schema(as = sep30::AccountList)]
struct AccountList {
    /// The accounts the caller may reach, by address, at most 20; empty
    /// past the last page.
    #[schema(max_items = 20)]
    accounts: Vec<AccountView>,
}

/// §GET /accounts, paged by `after` (the last address of the page before).
#[utoipa::path(
    get, path = "/accounts", tag = "SEP-30", operation_id = "sep30_list_accounts",
    summary = "The accounts the caller may reach (SEP-30 §GET /accounts)",
    description = "The account a SEP-10 token is for, and every account that has the caller \
        (its Stellar account, email address or phone number) as an identity, ordered by \
        address, 20 a page.",
    params(("after" = Option<String>, Query, description = "Cursor: the address of the last \
        account of the page before; the page starts after it. Empty or absent: the first page.", pattern = r"^G[A-Z2-7]{55}$")),
    security(("sep10" = []), ("sep30_signin" = [])),
    responses(
        (status = 200, description = "A page of accounts.", body = AccountList),
        (status = 400, description = "`after` is not a `G…` account. Or a NUL (`%00`) in the path \
            or query.", body = ErrorBody),
        (status = 401, description = "No bearer token, or one not accepted (invalid, expired, \
            an unknown issuer, a muxed account or a memo).", body = ErrorBody),
    ),
)]
async fn list(
    State(recovery): State<With<Recovery>>,
    caller: Caller,
    Query(q): Query,
) -> Result<Json<AccountList>, ApiError> {
    // Sent empty, a cursor is no cursor: the first page (as every optional
    // query parameter reads, see crate::openapi).
    let after = match q.get("after") {
        Some(v) => address(v)?.to_string(),
        None => String::new(),
    };
    let accounts = recovery.list(&caller, &after).await?;
    Ok(Json(AccountList { accounts }))
}

/// §POST /accounts/<address>/sign/<signing-address>.
#[utoipa::path(
    post, path = "/accounts/{address}/sign/{signer}", tag = "SEP-30", operation_id = "sep30_sign",
    summary = "Sign a transaction for the account (SEP-30 §POST /accounts/<address>/sign/<signing-address>)",
    description = "For the account itself (SEP-10) or any of its identities. Only a transaction \
        that acts for the account is signed: its source and every operation's source must be \
        the account (or absent, for operations, or a configured sponsor account); a fee-bump \
        envelope is refused. The body is read only once the caller's access and the signing \
        key are checked.",
    params(
        ("address" = String, Path, description = "The registered account, `G…`.",
         pattern = r"^G[A-Z2-7]{55}$"),
        ("signer" = String, Path, description = "One of the account's signing keys \
         (`signers[].key`), `G…`.", pattern = r"^G[A-Z2-7]{55}$"),
    ),
    request_body(content = SignRequest, content_type = "application/json"),
    security(("sep10" = []), ("sep30_signin" = [])),
    responses(
        (status = 200, description = "The signature, by the signing key named, for the \
            server's network.", body = Signature),
        (status = 400, description = "The address is not a `G…` account; or the body has no \
            non-empty `transaction` string; or the transaction is not a transaction envelope \
            in base64 XDR, has no operations, or has a source that is not the account \
            (nothing is signed). Or a NUL (`%00`) in the path \
            or query.", body = ErrorBody),
        (status = 401, description = "No bearer token, or one not accepted (invalid, expired, \
            an unknown issuer, a muxed account or a memo).", body = ErrorBody),
        (status = 404, description = "The account is not registered, the caller is neither \
            it nor one of its identities, or the signing key is not one of the account's.", body = ErrorBody),
        (status = 413, description = "The declared body is over 64 KiB.", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`.", body = ErrorBody),
    ),
)]
async fn sign(
    State(recovery): State<With<Recovery>>,
    caller: Caller,
    Path((raw, signer)): Path<(String, String)>,
    crate::http::JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let account = address(&raw)?.to_string();
    Ok(Json(recovery.sign(&caller, &account, &signer, &body).await?).into_response())
}

/// Removes an old signing key after rotation (a Mooring extension of
/// §Signing Key Rotation): the account itself, by SEP-10, only.
#[utoipa::path(
    delete, path = "/accounts/{address}/signers/{signer}", tag = "SEP-30",
    operation_id = "sep30_remove_signer",
    summary = "Remove an old signing key after a rotation (Mooring, after SEP-30 §Signing Key Rotation)",
    description = "Not in SEP-30: once the account has replaced an old signing key by the \
        newest on the ledger, the server can forget the old one. Only the account itself (a \
        SEP-10 token for it) may; the last key cannot be removed.",
    params(
        ("address" = String, Path, description = "The registered account, `G…`.",
         pattern = r"^G[A-Z2-7]{55}$"),
        ("signer" = String, Path, description = "The signing key to remove, `G…`.",
         pattern = r"^G[A-Z2-7]{55}$"),
    ),
    security(("sep10" = []), ("sep30_signin" = [])),
    responses(
        (status = 200, description = "Removed: the account with the keys that remain.", body = AccountView),
        (status = 400, description = "The address is not a `G…` account, or the key is the \
            account's last one (delete the account instead). Or a NUL (`%00`) in the path \
            or query.", body = ErrorBody),
        (status = 401, description = "No bearer token, or one not accepted; or the caller \
            reaches the account as one of its identities, not as the account itself.", body = ErrorBody),
        (status = 404, description = "The account is not registered, the caller is neither \
            it nor one of its identities, or the key is not one of the account's.", body = ErrorBody),
    ),
)]
async fn remove_signer(
    State(recovery): State<With<Recovery>>,
    caller: Caller,
    Path((raw, signer)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let account = address(&raw)?.to_string();
    Ok(Json(recovery.remove_signer(&caller, &account, &signer).await?).into_response())
}

/// `POST /sponsor/new` `{"account": "G…"}`: a sponsored creation of the
/// account, signed by the sponsor, for the wallet to co-sign and submit.
#[utoipa::path(
    post, path = "/sponsor/new", tag = "SEP-30", operation_id = "sep30_sponsor_new",
    summary = "A sponsored creation of a new account (Mooring, after the recovery flow of SEP-30)",
    description = "Not in SEP-30: a transaction, signed by the operator's sponsor account, \
        that creates the account with no lumens and sponsors its reserves (CAP-33), so that a \
        wallet can register an account that holds nothing yet. Needs a sign-in token from \
        `/authorize` (an email address or phone number); limited per identity and in all, \
        per day.",
    request_body(content = SponsorRequest, content_type = "application/json"),
    security(("sep30_signin" = [])),
    responses(
        (status = 200, description = "The transaction, for the new account to sign and submit.", body = Sponsored),
        (status = 400, description = "The body is not JSON with an `account` string that is a \
            `G…` account, or the account is the sponsor itself. Or a NUL (`%00`) in the path \
            or query.", body = ErrorBody),
        (status = 401, description = "No bearer token, or one not accepted; or a SEP-10 \
            token, which is not enough: sponsorship needs a sign-in token.", body = ErrorBody),
        (status = 404, description = "Sponsorship is not offered by this server.", body = ErrorBody),
        (status = 409, description = "The account already exists on the network.", body = ErrorBody),
        (status = 413, description = "The declared body is over 64 KiB.", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`.", body = ErrorBody),
        (status = 429, description = "Too many accounts sponsored today, for this identity or \
            in all; try again tomorrow.", body = ErrorBody),
        (status = 503, description = "The Stellar network could not be reached, or the sponsor \
            account does not exist on it.", body = ErrorBody),
    ),
)]
async fn sponsor_new(
    State(recovery): State<With<Recovery>>,
    caller: Caller,
    crate::http::JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
        ApiError::bad_request("request body must be a JSON object with an `account`")
    })?;
    let account = match value.get("account") {
        Some(serde_json::Value::String(a)) => address(a).map_err(|_| {
            ApiError::bad_request("`account` must be a Stellar account address (G…)")
        })?,
        _ => return Err(ApiError::bad_request("`account` is required")),
    };
    Ok(Json(recovery.sponsor_new(&caller, &account).await?).into_response())
}
