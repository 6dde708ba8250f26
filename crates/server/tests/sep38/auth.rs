//! Who the caller is (docs/quotes.md §Partners, §GET Quote): the token is
//! read from the `Authorization` header only, and decided on before the
//! query or the body is read — a non-partner learns it has no agreement,
//! not what is wrong with its request; a header that is not `Bearer <token>`
//! is 403 even where a token is optional. A muxed `M…` caller owns its
//! quotes by its `G…` account and its mux id, the same customer as `G…`
//! with that id memo.

use mooring_client::sep10::LoginOptions;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Anchor, BRL, USDC, assert_refusal, created, get, get_quote, post_quote, start};
use crate::common::{Engine, TestServer, muxed_account};
use crate::on_both_engines;

/// A quote request any partner may make: 542 BRL for USDC.
fn quote_body() -> Value {
    json!({"sell_asset": BRL, "buy_asset": USDC, "sell_amount": "542", "context": "sep31"})
}

/// The answer to an id nobody has.
async fn unknown_id(srv: &TestServer, token: &str) -> (u16, Value) {
    let got = get_quote(srv, token, "5f0c4c1e-0d67-4b3a-9a51-7d3c1b2a9e10").await;
    assert_eq!(
        got,
        (404, json!({"error": "quote not found"})),
        "GET /quote of an unknown id"
    );
    got
}

/// A token of alice's muxed account `M…` with `id`.
async fn muxed(a: &Anchor, id: u64) -> String {
    a.srv
        .login_as(
            &muxed_account(a.alice.public_key(), id),
            &a.alice,
            &LoginOptions::default(),
        )
        .await
        .expect("alice signs in as her M… account")
}

/// A quote made by `M…` id 7 is read by `M…` id 7 and by `G…` with memo
/// 7 (one customer); the plain `G…` token and `M…` id 8 of the same
/// account get the 404 of an unknown id. The same the other way round.
async fn muxed_callers_own_quotes_by_account_and_mux_id(engine: Engine) {
    let a = start(engine).await;
    let m7 = muxed(&a, 7).await;
    let m7_again = muxed(&a, 7).await;
    let m8 = muxed(&a, 8).await;
    let g = a.alice_token().await;
    let g7 = a.srv.token_for(&a.alice, Some(7)).await;
    let not_found = unknown_id(&a.srv, &m7).await;
    for (maker, token) in [
        ("M… id 7", &m7),
        ("G… with memo 7", &g7),
        ("the plain G…", &g),
    ] {
        let q = created(
            post_quote(&a.srv, Some(token), &quote_body()).await,
            &format!("a quote by alice as {maker}"),
        );
        let id = q["id"].as_str().unwrap_or_default();
        let seven = maker != "the plain G…";
        let readers = [
            ("the same M… id 7 token", &m7, seven),
            ("another M… id 7 token", &m7_again, seven),
            ("G… with memo 7 (the same customer as M… id 7)", &g7, seven),
            ("M… id 8 of the same account", &m8, false),
            ("the plain G… token of the same account", &g, !seven),
        ];
        for (reader, token, owns) in readers {
            let got = get_quote(&a.srv, token, id).await;
            if owns {
                assert_eq!(got, (200, q.clone()), "{maker}'s quote read by {reader}");
            } else {
                assert_eq!(
                    got, not_found,
                    "{maker}'s quote read by {reader}: the 404 of an unknown id"
                );
            }
        }
    }
}

/// How a request presents itself.
#[derive(Clone, Copy, Debug)]
enum Auth<'a> {
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
    /// `Authorization: <this>`.
    Header(&'a str),
}

/// A request to `/sep38{path}` with `query` and `auth`.
fn request(
    srv: &TestServer,
    method: Method,
    path: &str,
    query: &[(&str, &str)],
    auth: Auth<'_>,
) -> reqwest::RequestBuilder {
    let req = srv
        .http
        .request(method, srv.url(&format!("/sep38{path}")))
        .query(query);
    match auth {
        Auth::Bearer(t) => req.bearer_auth(t),
        Auth::Header(v) => req.header("authorization", v),
    }
}

/// `POST /quote` with `body` sent as is, as `content_type` when given.
async fn post_raw(
    srv: &TestServer,
    auth: Auth<'_>,
    content_type: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let mut req = request(srv, Method::POST, "/quote", &[], auth);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    TestServer::send(req.body(body.to_owned())).await
}

/// Asserts the 403 of a caller refused before its request was read.
#[track_caller]
fn assert_refused_first(got: &(u16, Value), non_partner: bool, what: &str) {
    let error = assert_refusal(got, 403, what);
    if non_partner {
        assert!(
            error.to_lowercase().contains("agreement"),
            "{what}: the 403 must say the account has no agreement with this anchor: {error}"
        );
    }
}

/// A query's pairs.
type Query = Vec<(&'static str, &'static str)>;

/// Queries and bodies a partner is refused with 400; a non-partner, a
/// token that is not valid and a malformed `Authorization` header are
/// refused with 403 before any of it is read.
async fn callers_are_refused_before_the_query_or_body_is_read(engine: Engine) {
    let a = start(engine).await;
    let alice = a.alice_token().await;
    let (_, stranger) = a.srv.login().await;
    let refused = [
        ("a non-partner's valid token", Auth::Bearer(&stranger), true),
        ("a token that is not valid", Auth::Bearer("hello"), false),
        ("Authorization: Basic abc", Auth::Header("Basic abc"), false),
    ];
    let pair = [
        ("sell_asset", BRL),
        ("buy_asset", USDC),
        ("context", "sep31"),
    ];
    let with = |rest: &[(&'static str, &'static str)]| {
        let mut q = pair.to_vec();
        q.extend_from_slice(rest);
        q
    };
    let queries: Vec<(&str, &str, Query)> = vec![
        (
            "/price",
            "an unknown parameter",
            with(&[("sell_amount", "542"), ("colour", "blue")]),
        ),
        (
            "/price",
            "an amount that is not a number",
            with(&[("sell_amount", "ten")]),
        ),
        (
            "/price",
            "both amounts",
            with(&[("sell_amount", "542"), ("buy_amount", "100")]),
        ),
        ("/price", "no parameters", vec![]),
        ("/prices", "no parameters", vec![]),
        (
            "/prices",
            "an amount that is not a number",
            vec![("sell_asset", BRL), ("sell_amount", "ten")],
        ),
        (
            "/prices",
            "both assets",
            vec![
                ("sell_asset", BRL),
                ("sell_amount", "542"),
                ("buy_asset", USDC),
                ("buy_amount", "100"),
            ],
        ),
        (
            "/prices",
            "an unknown asset",
            vec![("sell_asset", "iso4217:JPY"), ("sell_amount", "100")],
        ),
    ];
    for (path, what, query) in &queries {
        let got = get(&a.srv, path, query, Some(&alice)).await;
        assert_refusal(&got, 400, &format!("GET {path} by a partner with {what}"));
        for (who, auth, non_partner) in refused {
            let got = TestServer::send(request(&a.srv, Method::GET, path, query, auth)).await;
            assert_refused_first(&got, non_partner, &format!("GET {path} with {what}, {who}"));
        }
    }
    let json_type = Some("application/json");
    let bodies = [
        ("a truncated JSON body", json_type, "{\"sell_asset\": "),
        ("a JSON array", json_type, "[]"),
        (
            "an unknown field",
            json_type,
            r#"{"sell_asset": "iso4217:BRL", "buy_asset": "x", "sell_amount": "1", "colour": "blue"}"#,
        ),
    ];
    for (what, content_type, body) in bodies {
        let got = post_raw(&a.srv, Auth::Bearer(&alice), content_type, body).await;
        assert_refusal(&got, 400, &format!("POST /quote by a partner with {what}"));
    }
    let more = [
        ("a text body", Some("text/plain"), "hello"),
        ("no body", None, ""),
    ];
    for (what, content_type, body) in bodies.into_iter().chain(more) {
        for (who, auth, non_partner) in refused {
            let got = post_raw(&a.srv, auth, content_type, body).await;
            assert_refused_first(
                &got,
                non_partner,
                &format!("POST /quote with {what}, {who}"),
            );
        }
    }
}

/// An `Authorization` header that is not `Bearer <token>` is 403 on all
/// five endpoints, those where a token is optional included — even with a
/// partner's token under another scheme.
async fn a_malformed_authorization_header_is_403_everywhere(engine: Engine) {
    let a = start(engine).await;
    let alice = a.alice_token().await;
    let q = created(
        post_quote(&a.srv, Some(&alice), &quote_body()).await,
        "alice's quote",
    );
    let id = q["id"].as_str().unwrap_or_default().to_owned();
    let under_token = format!("Token {alice}");
    let headers = [
        "Basic abc",
        "Basic YWxpY2U6c2VjcmV0",
        "Bearer",
        under_token.as_str(),
    ];
    let price = [
        ("sell_asset", BRL),
        ("buy_asset", USDC),
        ("sell_amount", "542"),
        ("context", "sep31"),
    ];
    let prices = [("sell_asset", BRL), ("sell_amount", "542")];
    let quote_path = format!("/quote/{id}");
    for header in headers {
        let auth = Auth::Header(header);
        let got = [
            (
                "GET /info",
                request(&a.srv, Method::GET, "/info", &[], auth),
            ),
            (
                "GET /prices",
                request(&a.srv, Method::GET, "/prices", &prices, auth),
            ),
            (
                "GET /price",
                request(&a.srv, Method::GET, "/price", &price, auth),
            ),
            (
                "POST /quote",
                request(&a.srv, Method::POST, "/quote", &[], auth).json(&quote_body()),
            ),
            (
                "GET /quote/{id}",
                request(&a.srv, Method::GET, &quote_path, &[], auth),
            ),
        ];
        for (what, req) in got {
            let got = TestServer::send(req).await;
            let shown = if header.starts_with("Token ") {
                "Token <a partner's token>"
            } else {
                header
            };
            assert_refusal(&got, 403, &format!("{what} with Authorization: {shown}"));
        }
    }
}

/// SEP-38 reads no `?jwt=`: `/info` with one (of a non-partner, or not
/// valid) is answered as to an anonymous caller; a partner's token in the
/// query does not authenticate a quote.
async fn the_token_is_read_from_the_header_only(engine: Engine) {
    let a = start(engine).await;
    let alice = a.alice_token().await;
    let (_, stranger) = a.srv.login().await;
    let (status, anonymous) = get(&a.srv, "/info", &[], None).await;
    assert_eq!(status, 200, "GET /info without a token: {anonymous}");
    for (what, token) in [
        ("a non-partner's valid token", stranger.as_str()),
        ("a token that is not valid", "hello"),
    ] {
        let got = get(&a.srv, "/info", &[("jwt", token)], None).await;
        assert_eq!(
            got,
            (200, anonymous.clone()),
            "GET /info?jwt=<{what}> is answered as anonymous"
        );
    }
    let got = get(&a.srv, "/info", &[("jwt", &stranger)], Some(&alice)).await;
    assert_eq!(
        got,
        (200, anonymous),
        "GET /info?jwt=<a non-partner's token> with a partner's Authorization"
    );
    let req = a
        .srv
        .http
        .post(a.srv.url("/sep38/quote"))
        .query(&[("jwt", &alice)])
        .json(&quote_body());
    let got = TestServer::send(req).await;
    assert_refusal(
        &got,
        403,
        "POST /quote?jwt=<a partner's token> without Authorization",
    );
    let q = created(
        post_quote(&a.srv, Some(&alice), &quote_body()).await,
        "alice's quote",
    );
    let id = q["id"].as_str().unwrap_or_default();
    let req = a
        .srv
        .http
        .get(a.srv.url(&format!("/sep38/quote/{id}")))
        .query(&[("jwt", &alice)]);
    let got = TestServer::send(req).await;
    assert_refusal(
        &got,
        403,
        "GET /quote/{id}?jwt=<the owner's token> without Authorization",
    );
}

on_both_engines!(
    muxed_callers_own_quotes_by_account_and_mux_id,
    callers_are_refused_before_the_query_or_body_is_read,
    a_malformed_authorization_header_is_403_everywhere,
    the_token_is_read_from_the_header_only,
);
