//! Customers (SEP-12): a list without personal data, filtered by status
//! and type and paged; one customer with its fields decrypted (an audited
//! read, as in the admin API), its documents viewable and downloadable,
//! and the decisions staff take: accept, reject, ask again for fields, or
//! set one field's status — each with a reason, recorded under the
//! signed-in person.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::html;

use super::Console;
use super::page::{self, badge, csrf, time};
use super::session::{Posted, Session};
use crate::customers::Decision;
use crate::customers::view::field_status;
use crate::error::ApiError;
use crate::http::Query;
use crate::state::With;

/// Customers a page lists.
const PAGE: i64 = 50;

pub(super) fn router() -> Router<With<Console>> {
    Router::new()
        .route("/admin/console/customers", get(list))
        .route("/admin/console/customers/{id}", get(show))
        .route(
            "/admin/console/customers/{id}/documents/{file_id}",
            get(document_page),
        )
        .route("/admin/console/customers/{id}/files/{file_id}", get(file))
        .route("/admin/console/customers/{id}/decide", post(decide))
}

/// `GET /admin/console/customers?status=&type=&after=`.
async fn list(State(console): State<With<Console>>, session: Session, q: Query) -> Response {
    let status = q.0.get("status").filter(|s| !s.is_empty());
    let kind = q.0.get("type").filter(|s| !s.is_empty());
    let after = q.0.get("after").filter(|s| !s.is_empty());
    let (shown, next) = match console
        .customers
        .list(&session.actor, status, kind, after, PAGE)
        .await
    {
        Ok(l) => l,
        Err(e) => return page::failed(&session, e.into()),
    };
    let body = html! {
        form.filters method="get" action="/admin/console/customers" {
            label { "Status"
                select name="status" {
                    option value="" { "any" }
                    @for s in ["ACCEPTED", "PROCESSING", "NEEDS_INFO", "REJECTED"] {
                        option value=(s) selected[status == Some(s)] { (s) }
                    }
                }
            }
            label { "Type" input type="text" name="type" value=(kind.unwrap_or("")) placeholder="sep31-sender"; }
            button type="submit" { "Filter" }
        }
        @if shown.is_empty() {
            p.note { "No customers." }
        } @else {
            table {
                thead { tr { th { "Customer" } th { "Account" } th { "Type" } th { "Status" } th { "Updated" } } }
                tbody {
                    @for c in &shown {
                        tr {
                            td.mono { a href={ "/admin/console/customers/" (c.id) } { (c.id) } }
                            td.mono { (c.account) @if !c.memo.is_empty() { " (memo " (c.memo) ")" } }
                            td { (c.r#type.as_deref().unwrap_or("—")) }
                            td { (badge(c.status)) }
                            td { (time(c.updated_at)) }
                        }
                    }
                }
            }
        }
        @if let Some(last) = next {
            p.pager { a href=(page::link("/admin/console/customers", &[("status", status.unwrap_or("")), ("type", kind.unwrap_or("")), ("after", &last)])) { "Next page →" } }
        }
    };
    page::page(&session, "Customers", body)
}

/// `GET /admin/console/customers/{id}`: decrypted (an audited read).
async fn show(
    State(console): State<With<Console>>,
    session: Session,
    Path(id): Path<String>,
    q: Query,
) -> Response {
    let detail = match console.customers.detail(&session.actor, &id).await {
        Ok(d) => d,
        Err(e) => return page::failed(&session, e.into()),
    };
    let done = q.0.get("done");
    let statuses = [
        field_status::ACCEPTED,
        field_status::PROCESSING,
        field_status::REJECTED,
        field_status::VERIFICATION_REQUIRED,
    ];
    let body = html! {
        @if let Some(d) = done { p.card role="status" { (d) } }
        div.card {
            p { "Account " span.mono { (detail.account) }
                @if let Some((memo, kind)) = &detail.memo { " · memo " span.mono { (memo) } " (" (kind) ")" } }
            p { "Reading this page was recorded in the audit log under " strong { (session.actor) } "." }
        }
        h2 { "Status by type" }
        table {
            thead { tr { th { "Type" } th { "Status" } th { "Decide" } } }
            tbody {
                @for (kind, view) in &detail.statuses {
                    tr {
                        td { (kind) }
                        td { (badge(view.status)) @if let Some(m) = &view.message { " " span.note { (m) } } }
                        td {
                            form.inline method="post" action={ "/admin/console/customers/" (detail.id) "/decide" } {
                                (csrf(&session))
                                input type="hidden" name="type" value=(kind);
                                input type="hidden" name="decision" value="accept";
                                input type="text" name="reason" placeholder="reason (optional)";
                                button.good type="submit" { "Accept" }
                            }
                            form.inline method="post" action={ "/admin/console/customers/" (detail.id) "/decide" } {
                                (csrf(&session))
                                input type="hidden" name="type" value=(kind);
                                input type="hidden" name="decision" value="reject";
                                input type="text" name="reason" placeholder="reason" required;
                                button.bad type="submit" { "Reject" }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Fields" }
        table {
            thead { tr { th { "Field" } th { "Value" } th { "Status" } th { "Set status" } } }
            tbody {
                @for (name, f) in &detail.fields {
                    tr {
                        td { (name) }
                        td {
                            @if let Some(v) = &f.value { span.mono { (v) } }
                            @if let Some(file) = &f.file_id {
                                a href={ "/admin/console/customers/" (detail.id) "/documents/" (file) } { "View document" }
                                " · "
                                a href={ "/admin/console/customers/" (detail.id) "/files/" (file) "?download=1" } { "Download" }
                            }
                        }
                        td { (badge(&f.status)) @if let Some(e) = &f.error { " " span.error { (e) } } }
                        td {
                            form.inline method="post" action={ "/admin/console/customers/" (detail.id) "/decide" } {
                                (csrf(&session))
                                input type="hidden" name="decision" value="field";
                                input type="hidden" name="field" value=(name);
                                select name="status" aria-label={ "status of " (name) } {
                                    @for s in statuses { option value=(s) selected[f.status == s] { (s) } }
                                }
                                input type="text" name="reason" placeholder="reason" aria-label={ "reason for " (name) };
                                button type="submit" { "Set" }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Ask again for fields" }
        form.card method="post" action={ "/admin/console/customers/" (detail.id) "/decide" } {
            (csrf(&session))
            input type="hidden" name="decision" value="request_info";
            p { @for name in detail.fields.keys() {
                label.inline { input type="checkbox" name="fields" value=(name); (name) } " "
            } }
            input type="text" name="reason" placeholder="what is wrong (the customer sees this)" required;
            " "
            button type="submit" { "Ask again" }
        }
        @if let Some(i) = &detail.inherited {
            h2 { "Inherited by attestation" }
            p { "From customer " a href={ "/admin/console/customers/" (i.attester_id) } { (i.attester_id) } }
            table { tbody { @for (k, v) in &i.fields { tr { td { (k) } td.mono { (v) } } } } }
        }
        p { a href={ "/admin/console/audit?customer=" (detail.id) } { "This customer's audit log" } }
    };
    page::page(&session, &format!("Customer {}", detail.id), body)
}

/// `GET …/documents/{file_id}`: a page showing the document inline, with
/// a download link.
async fn document_page(session: Session, Path((id, file_id)): Path<(String, String)>) -> Response {
    let src = format!("/admin/console/customers/{id}/files/{file_id}");
    let body = html! {
        p { a href={ "/admin/console/customers/" (id) } { "← Customer " (id) } " · " a href={ (src) "?download=1" } { "Download" } }
        div.doc { iframe src=(src) title="document" {} }
    };
    page::page(&session, "Document", body)
}

/// `GET …/files/{file_id}[?download=1]`: the document's bytes, decrypted
/// (an audited read), inline or as an attachment.
async fn file(
    State(console): State<With<Console>>,
    session: Session,
    Path((id, file_id)): Path<(String, String)>,
    q: Query,
) -> Response {
    let (content_type, bytes) = match console
        .customers
        .document(&session.actor, &id, &file_id)
        .await
    {
        Ok(d) => d,
        Err(e) => return page::failed(&session, e.into()),
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let disposition = match q.0.get("download") {
        Some(_) => format!("attachment; filename=\"{file_id}\""),
        None => "inline".to_owned(),
    };
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    let mut res = page::secure(res);
    // The document is only shown, never run.
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"),
    );
    res
}

/// `POST …/decide`: `decision` = `accept` | `reject` | `request_info` |
/// `field`, with `type`, `reason`, `fields`, `field` and `status`.
async fn decide(
    State(console): State<With<Console>>,
    Path(id): Path<String>,
    Posted { session, form }: Posted,
) -> Response {
    let reason = form.get("reason").map(str::trim).filter(|r| !r.is_empty());
    let kind = form.get("type").filter(|k| !k.is_empty());
    let decision = match form.text("decision") {
        "accept" => Decision::Accept,
        "reject" => Decision::Reject,
        "request_info" => {
            let fields: Vec<String> = form
                .iter()
                .filter(|(k, _)| *k == "fields")
                .map(|(_, v)| v.to_owned())
                .collect();
            if fields.is_empty() {
                return page::failed(
                    &session,
                    ApiError::bad_request("choose the fields to ask for again"),
                );
            }
            Decision::RequestInfo(fields)
        }
        "field" => Decision::Field(
            form.text("field").to_owned(),
            form.text("status").to_owned(),
        ),
        _ => return page::failed(&session, ApiError::bad_request("unknown decision")),
    };
    let what = match &decision {
        Decision::Accept => "Accepted.".to_owned(),
        Decision::Reject => "Rejected.".to_owned(),
        Decision::RequestInfo(f) => format!("Asked again for {}.", f.join(", ")),
        Decision::Field(name, status) => format!("{name} is now {status}."),
    };
    match console
        .customers
        .decide(&session.actor, &id, kind, decision, reason)
        .await
    {
        Ok(_) => page::done(&format!("/admin/console/customers/{id}"), &what),
        Err(e) => page::failed(&session, e.into()),
    }
}
