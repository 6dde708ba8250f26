//! SEP-12 HTTP endpoints. Authentication is checked (by the extractor)
//! before any body is read.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::{PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::bodies;
use super::files::{ANY_DOCUMENT, FileView};
use super::request::{
    CallbackBody, DeleteBody, Params, PutCustomerBody, PutCustomerMultipart, VerificationBody,
};
use super::upload::Stored;
use super::view::CustomerView;
use super::{CustomerError, Customers};
use crate::error::ApiError;
use crate::http::{
    Authenticated, Media, Query, body_limit, has_body, media_type, multipart, multipart_error,
    refuse_declared_over,
};
use crate::openapi::ErrorBody;
use crate::state::With;

/// The SEP-12 routes; `max_request` bounds uploads.
pub fn router(max_request: usize) -> OpenApiRouter<With<Customers>> {
    let (schemas, paths, customer) = routes!(get_customer, put_customer);
    let customer = (schemas, paths, customer.layer(body_limit(max_request)));
    let (schemas, paths, files) = routes!(post_file, get_files);
    let files = (schemas, paths, files.layer(body_limit(max_request)));
    // DELETE's body is optional, so its attribute names the schema by
    // reference (an `Option<…>` would describe a `null` body): the route
    // carries the schema itself.
    let (mut schemas, paths, delete) = routes!(delete_customer);
    schemas.push((DeleteBody::name().into_owned(), DeleteBody::schema()));
    let delete = (schemas, paths, delete);
    OpenApiRouter::new()
        .routes(customer)
        .routes(routes!(put_verification))
        .routes(routes!(put_callback))
        .routes(delete)
        .routes(files)
}

/// `PUT /customer`'s answer (§Customer PUT §Response).
#[derive(Serialize, ToSchema)]
#[schema(as = sep12::PutCustomerResponse)]
struct Created {
    /// The customer's id, for later requests.
    id: String,
}

/// The empty object `PUT /customer/callback` and `DELETE /customer` answer.
#[derive(Serialize, ToSchema)]
#[schema(as = sep12::Empty, max_properties = 0)]
struct Empty {}

/// `GET /customer/files`' answer (§Customer Files §GET Response).
#[derive(Serialize, ToSchema)]
#[schema(as = sep12::Files)]
struct Files {
    /// The files found; empty when none (or none this token may see).
    files: Vec<FileView>,
}

/// SEP-12 §Customer GET.
#[utoipa::path(
    get, path = "/customer", tag = "SEP-12", operation_id = "sep12_get_customer",
    summary = "A customer's status and the fields still needed (SEP-12 §Customer GET)",
    params(
        ("id" = Option<String>, Query, max_length = 256,
         description = "The customer's id, from an earlier `PUT /customer`; another account's (or unknown) is 404."),
        ("account" = Option<String>, Query, max_length = 256, deprecated,
         description = "The customer's `G…` or `M…` account; must be the token's own (403 otherwise)."),
        ("memo" = Option<String>, Query, max_length = 256,
         description = "The memo of a customer of a shared account; must be the token's memo when it has one (403 otherwise)."),
        ("memo_type" = Option<String>, Query, max_length = 256, deprecated,
         description = "`id`, `text` or `hash`; ignored when the token carries a memo."),
        ("type" = Option<String>, Query, max_length = 256,
         description = "The customer type (§Type Specification); the server's default type when absent, 400 when unknown."),
        ("transaction_id" = Option<String>, Query, max_length = 256,
         description = "The transaction the customer's information is for."),
        ("lang" = Option<String>, Query, pattern = "^([a-z]{2})?$",
         description = "An ISO 639-1 code (400 otherwise; empty is absent). Descriptions are in English whatever it is."),
    ),
    security(("sep10" = [])),
    responses(
        (status = 200, description = "The customer's status for the type, with the fields still needed and those provided; \
            a customer not registered yet has no `id` and needs every field.", body = CustomerView),
        (status = 400, description = "A parameter is malformed or too long, `lang` is not ISO 639-1, or `type` is not one the server knows.", body = ErrorBody),
        (status = 401, description = "No SEP-10 token, or one that is invalid or expired.", body = ErrorBody),
        (status = 403, description = "`account` or `memo` names someone the token does not speak for.", body = ErrorBody),
        (status = 404, description = "§Errors: no customer with this `id` that the token may reach.", body = ErrorBody),
    ),
)]
async fn get_customer(
    State(customers): State<With<Customers>>,
    Authenticated(p): Authenticated,
    Query(query): Query,
) -> Result<Response, ApiError> {
    let params = Params::from_pairs(&query).map_err(|e| ApiError::bad_request(e.0))?;
    Ok(Json(customers.get(&p, &params).await?).into_response())
}

/// SEP-12 §Customer PUT: JSON, form or multipart (files streamed). 202 `{"id"}`.
#[utoipa::path(
    put, path = "/customer", tag = "SEP-12", operation_id = "sep12_put_customer",
    summary = "Send a customer's SEP-9 fields and documents (SEP-12 §Customer PUT)",
    request_body(
        description = "SEP-12 §Content Type: JSON, a form, or multipart (needed for documents, which may \
            also be sent beforehand with `POST /customer/files` and named by `<field>_file_id`).",
        content(
            (PutCustomerBody = "application/json"),
            (PutCustomerBody = "application/x-www-form-urlencoded"),
            (PutCustomerMultipart = "multipart/form-data"),
        ),
    ),
    security(("sep10" = [])),
    responses(
        (status = 202, description = "Stored: the customer's id (new, or the one the request named).", body = Created),
        (status = 400, description = "Another content type; a malformed body; a key that is not a parameter or a SEP-9 field; \
            a value its field does not accept; a key sent twice; over 200 multipart parts; a document of the wrong format; a `_file_id` that is not \
            this account's upload; a wrong verification code (\"The provided confirmation code was invalid.\"); \
            an unknown `type`; a malformed `account` or `memo`.", body = ErrorBody),
        (status = 401, description = "No SEP-10 token, or one that is invalid or expired.", body = ErrorBody),
        (status = 403, description = "`account` or `memo` names someone the token does not speak for.", body = ErrorBody),
        (status = 404, description = "No customer with this `id` that the token may reach.", body = ErrorBody),
        (status = 413, description = "Over `sep12.max_request_bytes` in all, a document over `sep12.max_file_bytes`, \
            or over 1 MiB of text (the whole body without documents, or the text parts of a multipart body).", body = ErrorBody),
    ),
)]
async fn put_customer(
    State(customers): State<With<Customers>>,
    Authenticated(p): Authenticated,
    req: Request,
) -> Result<Response, ApiError> {
    let (body, uploads) = bodies::put_body(&customers, req).await?;
    let id = customers.put(&p, body, uploads).await?;
    Ok((StatusCode::ACCEPTED, Json(Created { id })).into_response())
}

/// SEP-12 §Customer PUT Verification (deprecated): 200 with the status.
#[utoipa::path(
    put, path = "/customer/verification", tag = "SEP-12", operation_id = "sep12_put_verification",
    summary = "Verification codes for a customer's fields (SEP-12 §Customer PUT Verification, deprecated)",
    request_body(content(
        (VerificationBody = "application/json"),
        (VerificationBody = "application/x-www-form-urlencoded"),
        (VerificationBody = "multipart/form-data"),
    )),
    security(("sep10" = [])),
    responses(
        (status = 200, description = "The codes were right: the fields are accepted; the customer's status.", body = CustomerView),
        (status = 400, description = "Another content type; a malformed body; no `<field>_verification` or no `id`; \
            a wrong or expired code (\"The provided confirmation code was invalid.\"); an unknown `type`.", body = ErrorBody),
        (status = 401, description = "No SEP-10 token, or one that is invalid or expired.", body = ErrorBody),
        (status = 403, description = "`account` names someone the token does not speak for.", body = ErrorBody),
        (status = 404, description = "No customer with this `id` that the token may reach.", body = ErrorBody),
        (status = 413, description = "Over 1 MiB of text.", body = ErrorBody),
    ),
)]
async fn put_verification(
    State(customers): State<With<Customers>>,
    Authenticated(p): Authenticated,
    req: Request,
) -> Result<Response, ApiError> {
    let body = bodies::text_put_body(req).await?;
    Ok(Json(customers.verify(&p, body).await?).into_response())
}

/// SEP-12 §Customer callback PUT.
#[utoipa::path(
    put, path = "/customer/callback", tag = "SEP-12", operation_id = "sep12_put_callback",
    summary = "Where to report a customer's status changes (SEP-12 §Customer callback PUT)",
    request_body(content(
        (CallbackBody = "application/json"),
        (CallbackBody = "application/x-www-form-urlencoded"),
        (CallbackBody = "multipart/form-data"),
    )),
    security(("sep10" = [])),
    responses(
        (status = 200, description = "Set: it replaces any earlier callback URL of the customer.", body = Empty),
        (status = 400, description = "Another content type; a malformed body; no `url`, or one that is not https, \
            or does not resolve to public addresses; a malformed `account` or `memo`.", body = ErrorBody),
        (status = 401, description = "No SEP-10 token, or one that is invalid or expired.", body = ErrorBody),
        (status = 403, description = "`account` or `memo` names someone the token does not speak for.", body = ErrorBody),
        (status = 404, description = "§PUT Responses: the anchor has no such customer (for this token).", body = ErrorBody),
        (status = 413, description = "Over 1 MiB of text.", body = ErrorBody),
    ),
)]
async fn put_callback(
    State(customers): State<With<Customers>>,
    Authenticated(p): Authenticated,
    req: Request,
) -> Result<Response, ApiError> {
    let body = bodies::text_put_body(req).await?;
    customers.set_callback(&p, &body.params).await?;
    Ok(Json(Empty {}).into_response())
}

/// SEP-12 §Customer DELETE: `memo` / `memo_type` in the query or the body.
#[utoipa::path(
    delete, path = "/customer/{account}", tag = "SEP-12", operation_id = "sep12_delete_customer",
    summary = "Erase a customer: fields, documents, keys (SEP-12 §Customer DELETE)",
    params(
        ("account" = String, Path, description = "The customer's `G…` or `M…` account: the token's own."),
        ("memo" = Option<String>, Query, max_length = 256,
         description = "The memo of a customer of a shared account (or in the body); the token's memo when it has one."),
        ("memo_type" = Option<String>, Query, max_length = 256, deprecated,
         description = "`id`, `text` or `hash` (or in the body)."),
    ),
    request_body(
        description = "Optional: `memo` and `memo_type` in a body, as SEP-12 allows. A body of another type is not read.",
        content(
            (ref("#/components/schemas/sep12.DeleteCustomer") = "application/json"),
            (ref("#/components/schemas/sep12.DeleteCustomer") = "application/x-www-form-urlencoded"),
            (ref("#/components/schemas/sep12.DeleteCustomer") = "multipart/form-data"),
        ),
    ),
    security(("sep10" = [])),
    responses(
        (status = 200, description = "Erased, with the account's uploads no customer referenced.", body = Empty),
        (status = 400, description = "A malformed or too long parameter or body.", body = ErrorBody),
        (status = 401, description = "No SEP-10 token, or one that is invalid or expired.", body = ErrorBody),
        (status = 404, description = "§DELETE Responses: no such customer of the token's account (another account's is \
            not found either).", body = ErrorBody),
        (status = 413, description = "A body over 1 MiB of text.", body = ErrorBody),
    ),
)]
async fn delete_customer(
    State(customers): State<With<Customers>>,
    Authenticated(p): Authenticated,
    account: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Response, ApiError> {
    // A path that is not UTF-8 names no account: "not found", as any other
    // account's customer is, with a JSON body (axum's rejection is text).
    let Path(account) = account
        .map_err(|_| ApiError::from(CustomerError::NotFound("customer not found".into())))?;
    let Query(query) = Query::of(req.uri().query());
    let mut params = Params::from_pairs(&query).map_err(|e| ApiError::bad_request(e.0))?;
    if has_body(req.headers()) && media_type(req.headers()).is_some() {
        let body = bodies::text_put_body(req).await?;
        params.memo = params.memo.or(body.params.memo);
        params.memo_type = params.memo_type.or(body.params.memo_type);
    }
    customers.delete(&p, &account, &params).await?;
    Ok(Json(Empty {}).into_response())
}

/// `POST /customer/files`' body.
#[derive(ToSchema)]
#[schema(as = sep12::PostFile)]
#[allow(dead_code)] // described; read as a stream
struct PostFileBody {
    /// The document: JPEG, PNG, PDF, MP4 or WebM, recognised by its first
    /// bytes.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// SEP-12 §Customer Files POST: one `file` part.
#[utoipa::path(
    post, path = "/customer/files", tag = "SEP-12", operation_id = "sep12_post_file",
    summary = "Upload a document to reference later as `<field>_file_id` (SEP-12 §Customer Files)",
    request_body(content((PostFileBody = "multipart/form-data"))),
    security(("sep10" = [])),
    responses(
        (status = 200, description = "Stored: the file, the token's customer's if it has one (else it expires unless a \
            `PUT /customer` references it).", body = FileView),
        (status = 400, description = "Not multipart; not exactly one part, named `file`; a document of another format; \
            a body that could not be read.", body = ErrorBody),
        (status = 401, description = "No SEP-10 token, or one that is invalid or expired.", body = ErrorBody),
        (status = 413, description = "§File Size Limits: over `sep12.max_file_bytes`, or the body over \
            `sep12.max_request_bytes`.", body = ErrorBody),
    ),
)]
async fn post_file(
    State(customers): State<With<Customers>>,
    Authenticated(p): Authenticated,
    req: Request,
) -> Result<Response, ApiError> {
    refuse_declared_over(req.headers(), req.extensions())?;
    if media_type(req.headers()) != Some(Media::Multipart) {
        return Err(ApiError::bad_request(
            "Content-Type must be multipart/form-data with a `file` part",
        ));
    }
    let mut multipart = multipart(req).await?;
    let mut stored: Option<Stored> = None;
    let result: Result<(), ApiError> = async {
        while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
            if field.name() != Some("file") || stored.is_some() {
                return Err(ApiError::bad_request(
                    "the body must have exactly one part, named `file`",
                ));
            }
            stored = Some(customers.upload(&ANY_DOCUMENT, field).await?);
        }
        Ok(())
    }
    .await;
    match (result, stored) {
        (Ok(()), Some(s)) => Ok(Json(customers.post_file(&p, s).await?).into_response()),
        (Ok(()), None) => Err(ApiError::bad_request(
            "the body must have a part named `file`",
        )),
        (Err(e), s) => {
            customers
                .discard(s.into_iter().map(|s| (ANY_DOCUMENT, s)).collect())
                .await;
            Err(e)
        }
    }
}

/// SEP-12 §Customer Files GET.
#[utoipa::path(
    get, path = "/customer/files", tag = "SEP-12", operation_id = "sep12_get_files",
    summary = "Documents uploaded, by file or by customer (SEP-12 §Customer Files GET)",
    params(
        ("file_id" = Option<String>, Query, description = "A `file_id` from `POST /customer/files`: that file (if the token may see it)."),
        ("customer_id" = Option<String>, Query, description = "A customer's `id`: its files; with `file_id`, the file only if it is this customer's."),
    ),
    security(("sep10" = [])),
    responses(
        (status = 200, description = "The files found; an empty list when none is (or none the token may see).", body = Files),
        (status = 400, description = "Neither `file_id` nor `customer_id` was given.", body = ErrorBody),
        (status = 401, description = "No SEP-10 token, or one that is invalid or expired.", body = ErrorBody),
    ),
)]
async fn get_files(
    State(customers): State<With<Customers>>,
    Authenticated(p): Authenticated,
    Query(query): Query,
) -> Result<Response, ApiError> {
    let mut file_id = None;
    let mut customer_id = None;
    for (k, v) in query.iter() {
        match k {
            "file_id" => file_id = Some(v.to_owned()).filter(|v| !v.is_empty()),
            "customer_id" => customer_id = Some(v.to_owned()).filter(|v| !v.is_empty()),
            _ => {}
        }
    }
    let files = customers
        .list_files(&p, file_id.as_deref(), customer_id.as_deref())
        .await?;
    Ok(Json(Files { files }).into_response())
}
