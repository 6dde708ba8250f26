//! SEP-12 HTTP endpoints. Authentication is checked (by the extractor)
//! before any body is read.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde_json::json;

use super::Customers;
use super::files::ANY_DOCUMENT;
use super::request::{Params, PutBody, label};
use super::upload::Stored;
use crate::error::ApiError;
use crate::http::{
    Authenticated, Media, Query, body_limit, has_body, media_type, multipart, multipart_error,
    read_limited, read_text_part, refuse_declared_over,
};
use crate::sep9::{self, Field};
use crate::state::With;

/// Largest text-only body (JSON or form).
const MAX_TEXT_BODY: usize = 1024 * 1024;
/// Largest text part of a multipart body.
const MAX_TEXT_PART: usize = 64 * 1024;
/// Most parts in a multipart body: every SEP-9 field once, with room to
/// spare; more is no customer's data.
const MAX_PARTS: usize = 200;

/// What a multipart body's text parts may hold at most, in all: what a
/// JSON or form body may (so memory per request stays bounded).
const MAX_TEXT_PARTS: usize = MAX_TEXT_BODY;

/// Counts a multipart body's parts and text as they are read.
#[derive(Default)]
struct PartBudget {
    parts: usize,
    text: usize,
}

impl PartBudget {
    /// One more part: 400 past [`MAX_PARTS`].
    fn part(&mut self) -> Result<(), ApiError> {
        self.parts += 1;
        if self.parts > MAX_PARTS {
            return Err(ApiError::bad_request(format!(
                "a multipart body has at most {MAX_PARTS} parts"
            )));
        }
        Ok(())
    }

    /// Reads a text part within what is left of [`MAX_TEXT_PARTS`].
    async fn text(
        &mut self,
        field: axum::extract::multipart::Field<'_>,
        name: &str,
    ) -> Result<String, ApiError> {
        let left = MAX_TEXT_PARTS.saturating_sub(self.text);
        let text = read_text_part(field, MAX_TEXT_PART.min(left), &label(name)).await;
        let text = match text {
            Err(_) if left < MAX_TEXT_PART => {
                return Err(ApiError::too_large(format!(
                    "the text parts of a multipart body are limited to {MAX_TEXT_PARTS} bytes in all"
                )));
            }
            other => other?,
        };
        self.text += text.len();
        Ok(text)
    }
}

/// The SEP-12 routes; `max_request` bounds uploads.
pub fn router(max_request: usize) -> utoipa_axum::router::OpenApiRouter<With<Customers>> {
    utoipa_axum::router::OpenApiRouter::from(
        Router::new()
            .route(
                "/customer",
                get(get_customer)
                    .put(put_customer)
                    .layer(body_limit(max_request)),
            )
            .route("/customer/verification", put(put_verification))
            .route("/customer/callback", put(put_callback))
            .route("/customer/{account}", delete(delete_customer))
            .route(
                "/customer/files",
                post(post_file)
                    .get(get_files)
                    .layer(body_limit(max_request)),
            ),
    )
}

/// SEP-12 §Customer GET.
async fn get_customer(
    State(customers): State<With<Customers>>,
    Authenticated(p): Authenticated,
    Query(query): Query,
) -> Result<Response, ApiError> {
    let params = Params::from_pairs(&query).map_err(|e| ApiError::bad_request(e.0))?;
    Ok(Json(customers.get(&p, &params).await?).into_response())
}

/// SEP-12 §Customer PUT: JSON, form or multipart (files streamed). 202 `{"id"}`.
async fn put_customer(
    State(customers): State<With<Customers>>,
    Authenticated(p): Authenticated,
    req: Request,
) -> Result<Response, ApiError> {
    refuse_declared_over(req.headers(), req.extensions())?;
    let (body, uploads) = match media_type(req.headers()) {
        Some(Media::Multipart) => read_multipart(&customers, req).await?,
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
    let id = customers.put(&p, body, uploads).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id }))).into_response())
}

/// SEP-12 §Customer PUT Verification (deprecated): 200 with the status.
async fn put_verification(
    State(customers): State<With<Customers>>,
    Authenticated(p): Authenticated,
    req: Request,
) -> Result<Response, ApiError> {
    let body = text_put_body(req).await?;
    Ok(Json(customers.verify(&p, body).await?).into_response())
}

/// SEP-12 §Customer callback PUT.
async fn put_callback(
    State(customers): State<With<Customers>>,
    Authenticated(p): Authenticated,
    req: Request,
) -> Result<Response, ApiError> {
    let body = text_put_body(req).await?;
    customers.set_callback(&p, &body.params).await?;
    Ok(Json(json!({})).into_response())
}

/// SEP-12 §Customer DELETE: `memo` / `memo_type` in the query or the body.
async fn delete_customer(
    State(customers): State<With<Customers>>,
    Authenticated(p): Authenticated,
    Path(account): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let Query(query) = Query::of(req.uri().query());
    let mut params = Params::from_pairs(&query).map_err(|e| ApiError::bad_request(e.0))?;
    if has_body(req.headers()) && media_type(req.headers()).is_some() {
        let body = text_put_body(req).await?;
        params.memo = params.memo.or(body.params.memo);
        params.memo_type = params.memo_type.or(body.params.memo_type);
    }
    customers.delete(&p, &account, &params).await?;
    Ok(Json(json!({})).into_response())
}

/// SEP-12 §Customer Files POST: one `file` part.
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
    Ok(Json(json!({ "files": files })).into_response())
}

fn wrong_type() -> ApiError {
    ApiError::bad_request(
        "Content-Type must be application/json, application/x-www-form-urlencoded or multipart/form-data",
    )
}

async fn text_body(req: Request) -> Result<Bytes, ApiError> {
    read_limited(
        req,
        MAX_TEXT_BODY,
        &format!("a body without files is limited to {MAX_TEXT_BODY} bytes"),
    )
    .await
}

/// A body of parameters only (JSON, form, or multipart text parts).
async fn text_put_body(req: Request) -> Result<PutBody, ApiError> {
    refuse_declared_over(req.headers(), req.extensions())?;
    match media_type(req.headers()) {
        Some(Media::Json) => {
            PutBody::from_json(&text_body(req).await?).map_err(|e| ApiError::bad_request(e.0))
        }
        Some(Media::Form) => {
            PutBody::from_form(&text_body(req).await?).map_err(|e| ApiError::bad_request(e.0))
        }
        Some(Media::Multipart) => {
            let mut multipart = multipart(req).await?;
            let mut pairs = Vec::new();
            let mut budget = PartBudget::default();
            while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
                budget.part()?;
                let name = field.name().unwrap_or_default().to_owned();
                let text = budget.text(field, &name).await?;
                pairs.push((name, text));
            }
            PutBody::from_pairs(pairs).map_err(|e| ApiError::bad_request(e.0))
        }
        None => Err(wrong_type()),
    }
}

/// Reads a multipart PUT: files stream to the document store as their
/// parts arrive; text parts are gathered and checked at the end.
async fn read_multipart(
    customers: &Customers,
    req: Request,
) -> Result<(PutBody, Vec<(Field, Stored)>), ApiError> {
    let mut multipart = multipart(req).await?;
    let mut pairs = Vec::new();
    let mut uploads: Vec<(Field, Stored)> = Vec::new();
    let mut budget = PartBudget::default();
    let result: Result<(), ApiError> = async {
        while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
            budget.part()?;
            let name = field.name().unwrap_or_default().to_owned();
            match sep9::lookup(&name).filter(|f| f.is_binary()) {
                // One document per field per request: a field has one value.
                Some(f) if uploads.iter().any(|(u, _)| u.name == f.name) => {
                    return Err(ApiError::bad_request(format!(
                        "'{}' is sent more than once",
                        f.name
                    )));
                }
                Some(f) => uploads.push((f, customers.upload(&f, field).await?)),
                None => {
                    let text = budget.text(field, &name).await?;
                    pairs.push((name, text));
                }
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
            customers.discard(uploads).await;
            Err(e)
        }
    }
}
