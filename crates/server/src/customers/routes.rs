//! SEP-12 HTTP endpoints. Authentication is checked (by the extractor)
//! before any body is read.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde_json::json;

use super::fields::{self, Field};
use super::files::ANY_DOCUMENT;
use super::request::{Params, PutBody};
use super::upload::Stored;
use crate::app::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;

/// Largest text-only body (JSON or form).
const MAX_TEXT_BODY: usize = 1024 * 1024;
/// Largest text part of a multipart body.
const MAX_TEXT_PART: usize = 64 * 1024;

/// The SEP-12 routes; `max_request` bounds uploads.
pub fn router(max_request: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/customer",
            get(get_customer)
                .put(put_customer)
                .layer(DefaultBodyLimit::max(max_request)),
        )
        .route("/customer/verification", put(put_verification))
        .route("/customer/callback", put(put_callback))
        .route("/customer/{account}", delete(delete_customer))
        .route(
            "/customer/files",
            post(post_file)
                .get(get_files)
                .layer(DefaultBodyLimit::max(max_request)),
        )
}

/// SEP-12 §Customer GET.
async fn get_customer(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::from_query(query.as_deref()).map_err(|e| ApiError::bad_request(e.0))?;
    Ok(Json(state.customers().get(&p, &params).await?).into_response())
}

/// SEP-12 §Customer PUT: JSON, form or multipart (files streamed). 202 `{"id"}`.
async fn put_customer(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    req: Request,
) -> Result<Response, ApiError> {
    too_large_by_header(req.headers(), &state)?;
    let (body, uploads) = match media_type(req.headers()) {
        Some(Media::Multipart) => read_multipart(&state, req).await?,
        Some(Media::Json) => (
            PutBody::from_json(&text_body(req).await?).map_err(|e| ApiError::bad_request(e.0))?,
            vec![],
        ),
        Some(Media::Form) => (
            PutBody::from_form(&text_body(req).await?).map_err(|e| ApiError::bad_request(e.0))?,
            vec![],
        ),
        None => return Err(wrong_type()),
    };
    let id = state.customers().put(&p, body, uploads).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id }))).into_response())
}

/// SEP-12 §Customer PUT Verification (deprecated): 200 with the status.
async fn put_verification(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    req: Request,
) -> Result<Response, ApiError> {
    let body = text_put_body(req).await?;
    Ok(Json(state.customers().verify(&p, body).await?).into_response())
}

/// SEP-12 §Customer callback PUT.
async fn put_callback(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    req: Request,
) -> Result<Response, ApiError> {
    let body = text_put_body(req).await?;
    state.customers().set_callback(&p, &body.params).await?;
    Ok(Json(json!({})).into_response())
}

/// SEP-12 §Customer DELETE: `memo` / `memo_type` in the query or the body.
async fn delete_customer(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    Path(account): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let mut params =
        Params::from_query(req.uri().query()).map_err(|e| ApiError::bad_request(e.0))?;
    let has_body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v != "0")
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    if has_body && media_type(req.headers()).is_some() {
        let body = text_put_body(req).await?;
        params.memo = params.memo.or(body.params.memo);
        params.memo_type = params.memo_type.or(body.params.memo_type);
    }
    state.customers().delete(&p, &account, &params).await?;
    Ok(Json(json!({})).into_response())
}

/// SEP-12 §Customer Files POST: one `file` part.
async fn post_file(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    req: Request,
) -> Result<Response, ApiError> {
    too_large_by_header(req.headers(), &state)?;
    if media_type(req.headers()) != Some(Media::Multipart) {
        return Err(ApiError::bad_request(
            "Content-Type must be multipart/form-data with a `file` part",
        ));
    }
    let mut multipart = Multipart::from_request(req, &state)
        .await
        .map_err(|_| ApiError::bad_request("multipart body could not be read"))?;
    let mut stored: Option<Stored> = None;
    let result: Result<(), ApiError> = async {
        while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
            if field.name() != Some("file") || stored.is_some() {
                return Err(ApiError::bad_request(
                    "the body must have exactly one part, named `file`",
                ));
            }
            stored = Some(state.customers().upload(&ANY_DOCUMENT, field).await?);
        }
        Ok(())
    }
    .await;
    match (result, stored) {
        (Ok(()), Some(s)) => Ok(Json(state.customers().post_file(&p, s).await?).into_response()),
        (Ok(()), None) => Err(ApiError::bad_request(
            "the body must have a part named `file`",
        )),
        (Err(e), s) => {
            state
                .customers()
                .discard(s.into_iter().map(|s| (ANY_DOCUMENT, s)).collect())
                .await;
            Err(e)
        }
    }
}

/// SEP-12 §Customer Files GET.
async fn get_files(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let mut file_id = None;
    let mut customer_id = None;
    for (k, v) in url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        match &*k {
            "file_id" => file_id = Some(v.into_owned()).filter(|v| !v.is_empty()),
            "customer_id" => customer_id = Some(v.into_owned()).filter(|v| !v.is_empty()),
            _ => {}
        }
    }
    let files = state
        .customers()
        .list_files(&p, file_id.as_deref(), customer_id.as_deref())
        .await?;
    Ok(Json(json!({ "files": files })).into_response())
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Media {
    Json,
    Form,
    Multipart,
}

fn media_type(headers: &HeaderMap) -> Option<Media> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let mime = value.split(';').next()?.trim().to_ascii_lowercase();
    match mime.as_str() {
        "application/json" => Some(Media::Json),
        "application/x-www-form-urlencoded" => Some(Media::Form),
        "multipart/form-data" => Some(Media::Multipart),
        _ => None,
    }
}

fn wrong_type() -> ApiError {
    ApiError::bad_request(
        "Content-Type must be application/json, application/x-www-form-urlencoded or multipart/form-data",
    )
}

/// 413 at once when the declared length is over the limit: nothing is read.
fn too_large_by_header(headers: &HeaderMap, state: &AppState) -> Result<(), ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > state.customers_config().max_request_bytes => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body is larger than the {}-byte limit",
                state.customers_config().max_request_bytes
            ),
        )),
        _ => Ok(()),
    }
}

async fn text_body(req: Request) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(req.into_body(), MAX_TEXT_BODY)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("a body without files is limited to {MAX_TEXT_BODY} bytes"),
            )
        })
}

/// A body of parameters only (JSON, form, or multipart text parts).
async fn text_put_body(req: Request) -> Result<PutBody, ApiError> {
    match media_type(req.headers()) {
        Some(Media::Json) => {
            PutBody::from_json(&text_body(req).await?).map_err(|e| ApiError::bad_request(e.0))
        }
        Some(Media::Form) => {
            PutBody::from_form(&text_body(req).await?).map_err(|e| ApiError::bad_request(e.0))
        }
        Some(Media::Multipart) => {
            let mut multipart = Multipart::from_request(req, &())
                .await
                .map_err(|_| ApiError::bad_request("multipart body could not be read"))?;
            let mut pairs = Vec::new();
            while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
                let name = field.name().unwrap_or_default().to_owned();
                pairs.push((name, read_text_part(field).await?));
            }
            PutBody::from_pairs(pairs).map_err(|e| ApiError::bad_request(e.0))
        }
        None => Err(wrong_type()),
    }
}

async fn read_text_part(
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<String, ApiError> {
    let name = field.name().unwrap_or_default().to_owned();
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if buf.len() + chunk.len() > MAX_TEXT_PART {
            return Err(ApiError::bad_request(format!("'{name}' is too long")));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| ApiError::bad_request(format!("'{name}' is not UTF-8 text")))
}

/// Reads a multipart PUT: files stream to the document store as their
/// parts arrive; text parts are gathered and checked at the end.
async fn read_multipart(
    state: &AppState,
    req: Request,
) -> Result<(PutBody, Vec<(Field, Stored)>), ApiError> {
    let mut multipart = Multipart::from_request(req, state)
        .await
        .map_err(|_| ApiError::bad_request("multipart body could not be read"))?;
    let mut pairs = Vec::new();
    let mut uploads: Vec<(Field, Stored)> = Vec::new();
    let result: Result<(), ApiError> = async {
        while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
            let name = field.name().unwrap_or_default().to_owned();
            match fields::lookup(&name).filter(|f| f.is_binary()) {
                Some(f) => uploads.push((f, state.customers().upload(&f, field).await?)),
                None => pairs.push((name, read_text_part(field).await?)),
            }
        }
        Ok(())
    }
    .await;
    let body =
        result.and_then(|()| PutBody::from_pairs(pairs).map_err(|e| ApiError::bad_request(e.0)));
    match body {
        Ok(body) => Ok((body, uploads)),
        Err(e) => {
            state.customers().discard(uploads).await;
            Err(e)
        }
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request body is too large")
    } else {
        ApiError::bad_request("multipart body could not be read")
    }
}
