//! The compliance console on the admin listener (`/admin/`), over real
//! HTTP on SQLite and PostgreSQL, as a browser that follows no redirect
//! and keeps its cookie by hand:
//!
//! - `signin`: the admin token and a name for a session cookie, its
//!   attributes, signing out, and sessions that expire;
//! - `pages`: every page's security headers, nothing from another origin,
//!   no script, values escaped; the recovery accounts without identities;
//! - `customers`: a customer decrypted (an audited read), its documents,
//!   and the decisions staff take, with their CSRF token;
//! - `accounts`: an account's KYC limits and its own rules;
//! - `transactions`: SEP-31 transactions and only the moves allowed.

#[path = "../common/mod.rs"]
mod common;

mod accounts;
mod customers;
mod pages;
mod signin;
mod transactions;

use common::customer::put_form;
use common::{ADMIN_TOKEN, TestServer};
use reqwest::header::HeaderMap;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, Response};
use serde_json::Value;

/// The console's cookie.
pub const COOKIE: &str = "mooring_console";

/// The Content Security Policy of every console page (page.rs).
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; media-src 'self'; \
                       frame-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'";

/// A small JPEG: its magic bytes and some more.
pub const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00passport scan";

/// A browser that follows no redirect.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The admin listener's URL of `path`.
pub fn admin_url(srv: &TestServer, path: &str) -> String {
    format!("{}{path}", srv.admin.as_str().trim_end_matches('/'))
}

/// Where a redirect goes.
pub fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .unwrap_or_else(|| panic!("a redirect without a Location: {}", res.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// Every `Set-Cookie` of an answer.
pub fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The hidden CSRF field's value in a page.
pub fn csrf_in(html: &str) -> String {
    let key = "name=\"csrf\" value=\"";
    let start = html
        .find(key)
        .unwrap_or_else(|| panic!("no CSRF field in {html}"))
        + key.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

/// Asserts the console's security headers on an answer.
#[track_caller]
pub fn assert_secure(headers: &HeaderMap, what: &str) {
    let h = |k: &str| {
        headers
            .get(k)
            .unwrap_or_else(|| panic!("{what}: no {k} header in {headers:?}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(h("content-security-policy"), CSP, "{what}: the CSP");
    assert_eq!(h("x-frame-options"), "SAMEORIGIN", "{what}");
    assert_eq!(h("referrer-policy"), "same-origin", "{what}");
    assert_eq!(h("cache-control"), "no-store", "{what}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
}

/// Asserts a page loads and sends nothing elsewhere, and runs no script:
/// no `<script`, and no tag whose `src`, `href`, `action` (…) names
/// another origin. Text is escaped, so every `<` opens a tag.
#[track_caller]
pub fn assert_same_origin(html: &str, what: &str) {
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "{what}: a script in {html}");
    for tag in lower.split('<').skip(1) {
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        for attr in [
            " src=",
            " href=",
            " action=",
            " formaction=",
            " srcset=",
            " data=",
        ] {
            for (i, _) in tag.match_indices(attr) {
                let value = tag[i + attr.len()..].trim_start_matches(['"', '\'']);
                for foreign in ["http://", "https://", "//"] {
                    assert!(
                        !value.starts_with(foreign),
                        "{what}: {attr} to another origin in <{tag}>"
                    );
                }
            }
        }
        assert!(
            !tag.contains(" style="),
            "{what}: an inline style in <{tag}>"
        );
        let handler = tag.split_whitespace().any(|t| {
            t.split_once('=').is_some_and(|(name, _)| {
                name.starts_with("on") && name.bytes().all(|b| b.is_ascii_lowercase())
            })
        });
        assert!(!handler, "{what}: an event handler in <{tag}>");
    }
    assert!(!lower.contains("<style"), "{what}: an inline stylesheet");
}

/// A signed-in member of staff: their browser and cookie.
pub struct Staff {
    http: reqwest::Client,
    admin: String,
    /// The name they signed in with.
    pub name: String,
    /// The session cookie's value.
    pub cookie: String,
}

/// Posts the sign-in form: the raw answer.
pub async fn try_sign_in(srv: &TestServer, name: &str, token: &str) -> Response {
    browser()
        .post(admin_url(srv, "/admin/login"))
        .form(&[("name", name), ("token", token)])
        .send()
        .await
        .unwrap()
}

/// The cookie's value of a `Set-Cookie` for the console's cookie.
pub fn cookie_value(set_cookie: &str) -> String {
    let first = set_cookie.split(';').next().unwrap();
    let (k, v) = first.split_once('=').unwrap();
    assert_eq!(k, COOKIE, "{set_cookie}");
    v.to_owned()
}

/// Signs in as `name` with the admin token.
pub async fn sign_in(srv: &TestServer, name: &str) -> Staff {
    let res = try_sign_in(srv, name, ADMIN_TOKEN).await;
    assert_eq!(res.status(), 303, "signing in as {name}");
    let cookies = set_cookies(res.headers());
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    Staff {
        http: browser(),
        admin: srv.admin.as_str().trim_end_matches('/').to_owned(),
        name: name.to_owned(),
        cookie: cookie_value(&cookies[0]),
    }
}

impl Staff {
    /// The actor the audit log records: `admin:<name>`.
    pub fn actor(&self) -> String {
        format!("admin:{}", self.name)
    }

    /// `GET path` with the cookie: the raw answer.
    pub async fn get(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.admin))
            .header("cookie", format!("{COOKIE}={}", self.cookie))
            .send()
            .await
            .unwrap()
    }

    /// `GET path` with the cookie: (status, headers, text).
    pub async fn page(&self, path: &str) -> (u16, HeaderMap, String) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (status, headers, res.text().await.unwrap())
    }

    /// The HTML of a page that must answer 200, with its security headers
    /// checked.
    pub async fn html(&self, path: &str) -> String {
        let (status, headers, text) = self.page(path).await;
        assert_eq!(status, 200, "GET {path}: {text}");
        assert_secure(&headers, path);
        assert_eq!(
            headers["content-type"], "text/html; charset=utf-8",
            "GET {path}"
        );
        text
    }

    /// The session's CSRF token, from a page.
    pub async fn csrf(&self) -> String {
        csrf_in(&self.html("/admin/console/customers").await)
    }

    /// Posts a form with the cookie: the raw answer.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.http
            .post(format!("{}{path}", self.admin))
            .header("cookie", format!("{COOKIE}={}", self.cookie))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Posts a form with the session's CSRF token added.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let csrf = self.csrf().await;
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }
}

/// The audit log through the admin API, newest first.
pub async fn audit(srv: &TestServer) -> Vec<Value> {
    let (status, body) = TestServer::send(srv.admin(Method::GET, "/admin/audit?limit=1000")).await;
    assert_eq!(status, 200, "{body}");
    body["entries"].as_array().unwrap().clone()
}

/// The audit entries of `actor` doing `action` (on `subject` when given).
pub async fn audited(srv: &TestServer, actor: &str, action: &str, subject: Option<&str>) -> usize {
    audit(srv)
        .await
        .iter()
        .filter(|e| e["actor"] == actor && e["action"] == action)
        .filter(|e| subject.is_none_or(|s| e["customer_id"] == s))
        .count()
}

/// A customer of a fresh account, registered as a `sep31-sender` with its
/// fields and a JPEG as `photo_id_front`: (the wallet's token, the
/// customer's id, the document's file id).
pub async fn customer_with_document(
    srv: &TestServer,
    first_name: &str,
) -> (String, String, String) {
    let (_, token) = srv.login().await;
    let form = Form::new()
        .text("type", "sep31-sender")
        .text("first_name", first_name.to_owned())
        .text("last_name", "Lee")
        .text("email_address", "ann.lee@example.com")
        .part(
            "photo_id_front",
            Part::bytes(JPEG.to_vec())
                .file_name("front.jpg")
                .mime_str("image/jpeg")
                .unwrap(),
        );
    let (status, body) = put_form(srv, &token, form).await;
    assert_eq!(status, 202, "PUT /customer: {body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let (status, detail) = common::customer::admin_customer(srv, &id).await;
    assert_eq!(status, 200, "{detail}");
    let file = detail["fields"]["photo_id_front"]["file_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no file id for photo_id_front: {detail}"))
        .to_owned();
    (token, id, file)
}
