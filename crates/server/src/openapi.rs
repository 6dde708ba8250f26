//! The OpenAPI 3.1 descriptions of the public and the admin API, generated
//! from the routes themselves: every capability's router is a
//! [`utoipa_axum::router::OpenApiRouter`] whose handlers carry
//! `#[utoipa::path]`, so a route cannot be served without being described
//! (and the description lists only what is mounted). Served as
//! `/openapi.json` and `/admin/openapi.json`.
//!
//! What each handler's attribute lists is what its own code answers. The
//! answers every route can give whatever it does — 400 (a NUL in the path
//! or query), 500 (a bug, a panic), 503 (the database is away), 413 (a body
//! over the listener's limit) — are added here by [`finish`], once.

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::{Tag, TagBuilder};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, RefOr, Required, Response as ApiResponse, ResponseBuilder,
};
use utoipa::{PartialSchema, ToSchema};

use crate::error::ApiError;

/// The security scheme of public endpoints: a SEP-10 session token.
pub const SEP10: &str = "sep10";
/// The security scheme of `GET /auth`'s optional request header: the client
/// application's own JWT (SEP-10 §Challenge §Request Header), not a session.
pub const CLIENT_APP: &str = "client_app";
/// The security scheme of SEP-30's other credential: the token of the
/// sign-in at `/authorize` (SEP-30 §Authentication, external).
pub const SEP30_SIGNIN: &str = "sep30_signin";
/// The security scheme of admin endpoints: the admin token.
pub const ADMIN: &str = "admin_token";

/// Every error body: `{"error": "<text>"}`, the shape every SEP uses. Some
/// errors carry more fields beside `error` (the 451 of `/operations/check`,
/// the 403/404/409 of `/kyc-check`, SEP-31's `customer_info_needed`); those
/// are described where they are answered.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// What went wrong, safe to show to a person.
    pub error: String,
}

/// Which of the two documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// The public listener: the SEPs, `/kyc-check`, `/kyc-attest`,
    /// `/operations/check` and the SEP-30 sign-in.
    Public,
    /// The admin listener's HTTP API (not the console's pages).
    Admin,
}

/// The document's title, description, tags and security schemes, and the
/// responses every operation can give, around the paths the routers
/// described.
pub fn finish(mut doc: OpenApi, api: Api) -> OpenApi {
    let (title, description) = match api {
        Api::Public => (
            "Mooring public API",
            "The Stellar anchor endpoints Mooring serves: SEP-1, SEP-10, SEP-12, SEP-30 \
             (with its sign-in), SEP-38, SEP-31, and the KYC limits of `/operations/check`, \
             `/kyc-check` and `/kyc-attest`. Each endpoint follows its SEP; the SEP's text \
             is the authority. Every error body is a JSON object with an `error` string. \
             An optional query parameter sent empty (`?memo=`) is the same as one not sent.",
        ),
        Api::Admin => (
            "Mooring admin API",
            "The anchor's own API on the admin listener: customers' KYC review, SEP-31 \
             transactions, SEP-30 accounts, KYC limits and attestations, and the audit log. \
             Every endpoint needs the admin token as a bearer token.",
        ),
    };
    doc.info = InfoBuilder::new()
        .title(title)
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(description))
        .license(Some(
            utoipa::openapi::LicenseBuilder::new()
                .name("Apache-2.0")
                .identifier(Some("Apache-2.0"))
                .build(),
        ))
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components
        .schemas
        .insert("Error".into(), ErrorBody::schema());
    let (name, scheme) = match api {
        Api::Public => (
            SEP10,
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "A SEP-10 session token from `POST /auth` (SEP-10 §Token). The SEP-12 \
                     and KYC-limit endpoints also take it as a `jwt` query parameter.",
                ))
                .build(),
        ),
        Api::Admin => (
            ADMIN,
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("The admin token from the server's configuration."))
                .build(),
        ),
    };
    components
        .security_schemes
        .insert(name.into(), RefOr::T(SecurityScheme::Http(scheme)));
    if api == Api::Public {
        components.security_schemes.insert(
            SEP30_SIGNIN.into(),
            RefOr::T(SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A SEP-30 token for an email address or phone number, from the sign-in \
                         at `/authorize` (`GET /authorize/token/{id}` once authorized): SEP-30 \
                         §Authentication's external authentication.",
                    ))
                    .build(),
            )),
        );
        components.security_schemes.insert(
            CLIENT_APP.into(),
            RefOr::T(SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "SEP-10 §Challenge §Request Header: a JWT (EdDSA) signed by the client \
                         domain's SIGNING_KEY, or by the account's key when no client domain is \
                         named, whose claims repeat the request. Required on `GET /auth` only \
                         when the server's `sep10.challenge_auth` says so.",
                    ))
                    .build(),
            )),
        );
    }
    doc.tags = Some(tags(api));
    let mut ids = std::collections::HashSet::new();
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            // OpenAPI 3.1 §4.8.10.1: operationId is unique in the document;
            // each `#[utoipa::path]` names its own.
            let id = op.operation_id.clone().unwrap_or_default();
            assert!(ids.insert(id.clone()), "operation id {id:?} is used twice");
            everywhere(op);
            if api == Api::Admin && !op.security.as_ref().is_none_or(Vec::is_empty) {
                behind_admin_token(op);
            }
        }
    }
    doc
}

/// A response with the error body.
fn error_response(text: &str) -> RefOr<ApiResponse> {
    RefOr::T(
        ResponseBuilder::new()
            .description(text)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                        "Error",
                    ))))
                    .build(),
            )
            .build(),
    )
}

/// The answers any operation can give.
fn everywhere(op: &mut Operation) {
    let error = error_response;
    let responses = &mut op.responses.responses;
    // crate::http::RefuseNul, before any route.
    responses
        .entry("400".into())
        .or_insert_with(|| error("The path or query holds a NUL character (`%00`)."));
    if op.request_body.is_some() {
        responses
            .entry("413".into())
            .or_insert_with(|| error("The body is over a size limit."));
    }
    // A page (the SEP-30 sign-in's) answers its own faults with its
    // problem page; a panic is still the JSON error.
    let page = responses.values().any(|r| match r {
        RefOr::T(r) => r.content.contains_key("text/html"),
        RefOr::Ref(_) => false,
    });
    responses.entry("500".into()).or_insert_with(|| {
        if page {
            let mut fault = error(
                "A fault on the server: the problem page for a storage failure, the JSON \
                 error for a panic; nothing about it is in either.",
            );
            if let RefOr::T(r) = &mut fault {
                r.content.insert(
                    "text/html".into(),
                    RefOr::T(ContentBuilder::new().schema(Some(String::schema())).build()),
                );
            }
            fault
        } else {
            error("A fault on the server; nothing about it is in the body.")
        }
    });
    responses.entry("503".into()).or_insert_with(|| {
        error("A dependency (the database, Horizon, a sign-in provider) is unavailable; try again.")
    });
}

/// What every admin operation shares: the admin token's 401
/// ([`crate::http::require_admin`]) and the `X-Mooring-Actor` header
/// ([`crate::http::Actor`]), whose refusal each operation's 400 names.
fn behind_admin_token(op: &mut Operation) {
    op.responses
        .responses
        .entry("401".into())
        .or_insert_with(|| error_response("The admin token is missing or not valid."));
    let actor = ParameterBuilder::new()
        .name("X-Mooring-Actor")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Who acts, recorded in the audit log as `admin:<name>`: the name alone, 1 to 64 \
             letters, digits or `@._-`. Default `admin`.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[A-Za-z0-9@._-]{1,64}$"))
                .build(),
        ))
        .build();
    op.parameters
        .get_or_insert_with(Vec::new)
        .push(RefOr::T(actor));
}

fn tags(api: Api) -> Vec<Tag> {
    let tag = |name: &str, text: &str| TagBuilder::new().name(name).description(Some(text)).build();
    match api {
        Api::Public => vec![
            tag(
                "SEP-1",
                "stellar.toml, and the server's health and session-token keys",
            ),
            tag("SEP-10", "Stellar Web Authentication"),
            tag("SEP-12", "KYC API"),
            tag(
                "SEP-30",
                "Account recovery: multi-party recovery of Stellar accounts",
            ),
            tag(
                "SEP-30 sign-in",
                "How a person proves who they are to the recovery server (email or phone \
                 codes, password, TOTP, OpenID Connect) to get a SEP-30 token",
            ),
            tag("SEP-38", "Anchor RFQ API"),
            tag("SEP-31", "Cross-border payments API"),
            tag(
                "KYC limits",
                "Limits gated on KYC (after GNU Taler): `/operations/check`, `/kyc-check`",
            ),
            tag(
                "KYC attestation",
                "KYC inheritance by attestation (after GNU Taler DD45)",
            ),
            tag("OpenAPI", "This description"),
        ],
        Api::Admin => vec![
            tag(
                "Customers",
                "SEP-12 customers: review, documents, audit log",
            ),
            tag(
                "Transactions",
                "SEP-31 transactions and the payments observed",
            ),
            tag("Recovery", "SEP-30 accounts"),
            tag("KYC limits", "Limits, account rules and attestations"),
            tag("OpenAPI", "This description"),
        ],
    }
}

/// Where a router's own document is put once the router is built (the
/// document describes the route that serves it, so it is rendered after).
pub type Slot = Arc<OnceLock<Bytes>>;

/// Renders `doc` into `slot`.
pub fn fill(slot: &Slot, doc: &OpenApi) {
    let mut json = serde_json::to_value(doc).expect("an OpenAPI document serializes");
    allow_empty_queries(&mut json);
    let _ = slot.set(Bytes::from(json.to_string()));
}

/// Marks every optional query parameter `allowEmptyValue` (OpenAPI 3.1
/// §4.8.12.2), which utoipa does not model: the edge reads `?status=` as no
/// `status` at all ([`crate::http::Pairs::get`]), as an HTML form's empty
/// field means.
fn allow_empty_queries(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    let operations = paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut());
    for op in operations {
        let Some(params) = op.get_mut("parameters").and_then(|p| p.as_array_mut()) else {
            continue;
        };
        for param in params.iter_mut().filter_map(|p| p.as_object_mut()) {
            let optional_query = param.get("in").and_then(|v| v.as_str()) == Some("query")
                && param.get("required").and_then(|v| v.as_bool()) != Some(true);
            if optional_query {
                param.insert("allowEmptyValue".into(), true.into());
            }
        }
    }
}

/// The public API's description.
#[utoipa::path(
    get, path = "/openapi.json", tag = "OpenAPI", operation_id = "openapi",
    responses((status = 200, description = "This document: OpenAPI 3.1, as JSON.",
               content_type = "application/json", body = Object)),
)]
pub async fn public(State(slot): State<Slot>) -> Response {
    answer(&slot)
}

/// The admin API's description.
#[utoipa::path(
    get, path = "/admin/openapi.json", tag = "OpenAPI", operation_id = "admin_openapi",
    responses((status = 200, description = "This document: OpenAPI 3.1, as JSON.",
               content_type = "application/json", body = Object)),
)]
pub async fn admin(State(slot): State<Slot>) -> Response {
    answer(&slot)
}

fn answer(slot: &Slot) -> Response {
    match slot.get() {
        Some(json) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            json.clone(),
        )
            .into_response(),
        None => ApiError::unavailable("the API description is not ready").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Routes get into the API only through `routes!` and its
    /// `#[utoipa::path]`: a plain `.route(` in a capability would serve
    /// what neither document describes. The exceptions: the console (HTML
    /// pages, not an API) and the metrics listener in `app`.
    #[test]
    fn every_api_route_is_described() {
        fn walk(dir: &Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if path.is_dir() {
                    if name != "console" && name != "app" {
                        walk(&path, found);
                    }
                } else if name.ends_with(".rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    // Spelt apart, so that this file does not find itself.
                    let needle = concat!(".rou", "te(");
                    for (n, line) in text.lines().enumerate() {
                        if line.contains(needle) && !line.trim_start().starts_with("//") {
                            found.push(format!("{}:{}", path.display(), n + 1));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(
            found.is_empty(),
            "routes added without a description: {found:?}"
        );
    }
}
