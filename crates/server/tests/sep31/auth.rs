//! Authentication (SEP-31 §Authentication; docs/payments.md): every
//! endpoint needs a partner's SEP-10 token in the `Authorization` header;
//! anything else is 403 `{"error": …}`, decided before the path, query or
//! body is read — a garbage body without a token is 403, not 400.

use reqwest::Method;
use serde_json::{Value, json};

use super::{ACME, ZENITH, assert_refusal, body, create_tx, id_of, start};
use crate::common::{Engine, TestServer};
use crate::on_both_engines;

/// The refusal of a valid token of an account with no agreement.
const NOT_A_PARTNER: &str = "this account has no agreement with this anchor: its quotes and payments serve partner anchors only";

/// Every SEP-31 endpoint on transaction `id`, with a valid body where it
/// takes one.
fn endpoints(id: &str, valid: &Value) -> Vec<(Method, String, Option<Value>)> {
    let tx = format!("/sep31/transactions/{id}");
    vec![
        (Method::GET, "/sep31/info".into(), None),
        (
            Method::POST,
            "/sep31/transactions".into(),
            Some(valid.clone()),
        ),
        (Method::GET, tx.clone(), None),
        (
            Method::PUT,
            format!("{tx}/callback"),
            Some(json!({"url": "https://sendinganchor.example/cb"})),
        ),
        (Method::PATCH, tx, Some(json!({"transaction": {}}))),
    ]
}

/// No token, a header that is not `Bearer <token>`, a token that is not
/// valid, a `?jwt=` parameter, a non-partner's valid token: 403 with
/// `{"error"}` on every endpoint, never naming a partner.
async fn every_endpoint_refuses_anyone_but_a_partner(engine: Engine) {
    let a = start(engine).await;
    let p = a.acme_parties().await;
    let id = id_of(&create_tx(&a.srv, &p.token, &body(&p, "100")).await);
    let (_, stranger) = a.srv.login().await;
    let mut tampered = p.token.clone();
    let last = tampered
        .pop()
        .map_or('A', |c| if c == 'A' { 'B' } else { 'A' });
    tampered.push(last);
    let headers: Vec<(Option<String>, &str)> = vec![
        (None, "no Authorization"),
        (Some(format!("Basic {}", "dXNlcjpwYXNz")), "Basic"),
        (Some(p.token.clone()), "a token without Bearer"),
        (Some("Bearer".into()), "Bearer alone"),
        (Some("Bearer not-a-jwt".into()), "not a JWT"),
        (
            Some(format!("Bearer {tampered}")),
            "a partner's token, tampered",
        ),
        (
            Some(format!("Bearer {stranger}")),
            "a non-partner's valid token",
        ),
    ];
    for (method, path, b) in endpoints(&id, &body(&p, "100")) {
        for (header, what) in &headers {
            let mut req = a.srv.http.request(method.clone(), a.srv.url(&path));
            if let Some(h) = header {
                req = req.header("authorization", h);
            }
            if let Some(b) = &b {
                req = req.json(b);
            }
            let got = TestServer::send(req).await;
            let text = assert_refusal(&got, 403, &format!("{method} {path} with {what}"));
            assert!(
                !text.contains(ACME) && !text.contains(ZENITH),
                "a 403 never names partners: {text}"
            );
            if *what == "a non-partner's valid token" {
                assert_eq!(
                    text, NOT_A_PARTNER,
                    "{method} {path}: the non-partner's 403"
                );
            }
        }
        // A token in the query is no token.
        let url = format!("{}?jwt={}", a.srv.url(&path), p.token);
        let mut req = a.srv.http.request(method.clone(), url);
        if let Some(b) = &b {
            req = req.json(b);
        }
        assert_refusal(
            &TestServer::send(req).await,
            403,
            &format!("{method} {path}?jwt=<a partner's token>"),
        );
    }
    let (status, list) = TestServer::send(a.srv.admin(Method::GET, "/admin/transactions")).await;
    assert_eq!(
        (status, list["transactions"].as_array().map(Vec::len)),
        (200, Some(1)),
        "no refused POST made a transaction: {list}"
    );
    a.srv.stop().await;
}

/// The caller is decided before the body: garbage, the wrong media type
/// or a body declared too large are 403 without a partner's token.
async fn the_caller_is_decided_before_the_body(engine: Engine) {
    let a = start(engine).await;
    let p = a.acme_parties().await;
    let id = id_of(&create_tx(&a.srv, &p.token, &body(&p, "100")).await);
    let (_, stranger) = a.srv.login().await;
    let callback = format!("/sep31/transactions/{id}/callback");
    for path in ["/sep31/transactions", callback.as_str()] {
        let method = if path.ends_with("callback") {
            Method::PUT
        } else {
            Method::POST
        };
        for (content_type, raw) in [
            ("application/json", "{{{ not json"),
            ("text/plain", "amount=100"),
            ("application/json", "{\"unknown\": 1}"),
        ] {
            for token in [None, Some(stranger.as_str())] {
                let mut req = a
                    .srv
                    .http
                    .request(method.clone(), a.srv.url(path))
                    .header("content-type", content_type)
                    .body(raw);
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                let what = format!(
                    "{method} {path} {content_type} {raw:?} with {}",
                    if token.is_some() {
                        "a non-partner's token"
                    } else {
                        "no token"
                    }
                );
                assert_refusal(&TestServer::send(req).await, 403, &what);
            }
        }
        // A body declared over the limit, never sent.
        let raw = a
            .srv
            .declared_body(
                method.as_str(),
                path,
                &stranger,
                "application/json",
                10_000_000,
            )
            .await;
        assert!(
            raw.starts_with("HTTP/1.1 403"),
            "{method} {path} declaring 10 MB with a non-partner's token: {raw}"
        );
    }
    // The same garbage from the partner is its own error, not a 403.
    let req = a
        .srv
        .with_token(Method::POST, "/sep31/transactions", &p.token)
        .header("content-type", "application/json")
        .body("{{{ not json");
    assert_refusal(
        &TestServer::send(req).await,
        400,
        "a partner's garbage body",
    );
    a.srv.stop().await;
}

/// A partner's token past its expiry (24 h) is 403 like any invalid one.
/// (No new token can be had afterwards: the wallet-side client checks the
/// challenge's time bounds against real time.)
async fn an_expired_partner_token_is_refused(engine: Engine) {
    let a = start(engine).await;
    let token = a.srv.token_for(&a.acme, None).await;
    let info = || a.srv.with_token(Method::GET, "/sep31/info", &token);
    assert_eq!(TestServer::send(info()).await.0, 200, "fresh: answered");
    a.srv.clock.advance(24 * 3600 + 60);
    let got = TestServer::send(info()).await;
    assert_refusal(&got, 403, "an expired token");
    let garbage = a
        .srv
        .with_token(Method::POST, "/sep31/transactions", &token)
        .header("content-type", "application/json")
        .body("{{{ not json");
    assert_refusal(
        &TestServer::send(garbage).await,
        403,
        "an expired token, garbage body",
    );
    a.srv.stop().await;
}

on_both_engines!(
    every_endpoint_refuses_anyone_but_a_partner,
    the_caller_is_decided_before_the_body,
    an_expired_partner_token_is_refused,
);
