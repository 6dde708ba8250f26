//! `PUT /customer`'s bodies, and the other SEP-12 bodies of parameters,
//! read by media type (SEP-12 §Customer PUT: JSON, a form, or multipart
//! with files), each bounded in size and in parts.

use axum::body::Bytes;
use axum::extract::Request;

use super::Customers;
use super::request::{PutBody, label};
use super::upload::Stored;
use crate::error::ApiError;
use crate::http::{
    Media, media_type, multipart, multipart_error, read_limited, read_text_part,
    refuse_declared_over,
};
use crate::sep9::{self, Field};

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

/// A `PUT /customer` body: its parameters, and the documents of a
/// multipart body, already in the document store.
pub(super) async fn put_body(
    customers: &Customers,
    req: Request,
) -> Result<(PutBody, Vec<(Field, Stored)>), ApiError> {
    refuse_declared_over(req.headers(), req.extensions())?;
    Ok(match media_type(req.headers()) {
        Some(Media::Multipart) => read_multipart(customers, req).await?,
        Some(Media::Json) => (
            PutBody::from_json(&text_body(req).await?).map_err(|e| ApiError::bad_request(e.0))?,
            vec![],
        ),
        Some(Media::Form) => (
            PutBody::from_form(&text_body(req).await?).map_err(|e| ApiError::bad_request(e.0))?,
            vec![],
        ),
        None => return Err(wrong_type()),
    })
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

/// A body of parameters only (JSON, form, or multipart text parts): the
/// verification, callback and erasure bodies.
pub async fn text_put_body(req: Request) -> Result<PutBody, ApiError> {
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
