//! SEP-12 over real HTTP, on SQLite and PostgreSQL: every endpoint's
//! success and failure paths, ownership, encryption at rest and erasure.
//!
//! - here: fields, statuses, ownership, memos and SEP-12 v1.1 clients;
//! - `documents`: documents, files, body limits and erasure;
//! - `client`: Mooring's own client library against it.

#[path = "../common/mod.rs"]
mod common;

mod client;
mod documents;

use common::customer::put_json;
use common::{Engine, TestServer, assert_error, muxed_account};
use reqwest::Method;
use reqwest::multipart::Form;
use serde_json::{Value, json};

/// The smallest PNG header: enough for the magic-byte check.
fn png(extra: &[u8]) -> Vec<u8> {
    let mut v = vec![
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D,
    ];
    v.extend_from_slice(extra);
    v
}

async fn get(srv: &TestServer, token: &str, query: &str) -> (u16, Value) {
    TestServer::send(srv.with_token(Method::GET, &format!("/customer{query}"), token)).await
}

fn files_in(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                files_in(&e.path())
            } else {
                1
            }
        })
        .sum()
}

async fn unknown_customer_needs_info_with_every_field(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (_, token) = srv.login().await;
    let (status, body) = get(&srv, &token, "?type=sep31-sender").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "NEEDS_INFO");
    assert!(body.get("id").is_none());
    assert_eq!(body["fields"]["first_name"]["type"], "string");
    assert_eq!(body["fields"]["mobile_number"]["optional"], true);
    // No token: 401 with the JSON shape.
    let (status, body) = TestServer::send(srv.http.get(srv.url("/customer"))).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"].as_str().unwrap().contains("Bearer"));
    assert_error(
        get(&srv, &token, "?type=astronaut").await,
        400,
        "unrecognized 'type' value; this server knows: sep31-receiver, sep31-sender, sep6",
    );
    assert_error(
        get(&srv, &token, "?lang=english").await,
        400,
        "lang must be an ISO 639-1 language code, e.g. en",
    );
    srv.stop().await;
}

async fn put_then_get_shows_what_was_provided(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (kp, token) = srv.login().await;
    let (status, body) = put_json(
        &srv,
        &token,
        json!({"type": "sep31-sender", "first_name": "Ann", "last_name": "Lee"}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let (status, body) = get(&srv, &token, "?type=sep31-sender").await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], id);
    assert_eq!(body["status"], "NEEDS_INFO");
    assert_eq!(
        body["provided_fields"]["first_name"]["status"],
        "PROCESSING"
    );
    assert!(body["fields"].get("email_address").is_some());
    assert!(body["fields"].get("first_name").is_none());
    // The same customer by id, and by the deprecated account parameter.
    assert_eq!(
        get(&srv, &token, &format!("?id={id}&type=sep31-sender"))
            .await
            .1["id"],
        id
    );
    assert_eq!(
        get(
            &srv,
            &token,
            &format!("?account={}&type=sep31-sender", kp.public_key())
        )
        .await
        .1["id"],
        id
    );
    // The rest arrives: everything is in, under review.
    let (status, _) = put_json(
        &srv,
        &token,
        json!({"id": id, "email_address": "ann@example.com"}),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(
        get(&srv, &token, "?type=sep31-sender").await.1["status"],
        "PROCESSING"
    );
    // Another type needs other fields.
    assert_eq!(
        get(&srv, &token, "?type=sep31-receiver").await.1["status"],
        "NEEDS_INFO"
    );
    srv.stop().await;
}

async fn invalid_and_unknown_fields_are_named(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (_, token) = srv.login().await;
    assert_error(
        put_json(&srv, &token, json!({"favourite_colour": "blue"})).await,
        400,
        "unknown field: the request names a field that is not a SEP-9 field this server accepts (its name is not repeated back)",
    );
    // Whatever a client sends as a name or a value is never echoed back.
    for body in [
        json!({"someone@example.org": "x"}),
        json!({"someone@example.org_verification": "123456"}),
        json!({"someone@example.org": {"nested": 1}}),
        json!({"first_name": "Ann\u{202E}someone@example.org"}),
    ] {
        let (status, answer) = put_json(&srv, &token, body).await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            !answer.to_string().contains("someone@example.org"),
            "{answer}"
        );
    }
    assert_error(
        put_json(&srv, &token, json!({"first_name": "Ann\u{202E}Lee"})).await,
        400,
        "'first_name' contains bidirectional control characters (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C)",
    );
    assert_error(
        put_json(&srv, &token, json!({"birth_date": "04/07/1976"})).await,
        400,
        "'birth_date' must be a date in ISO 8601 format, YYYY-MM-DD",
    );
    assert_error(
        put_json(&srv, &token, json!({"address_country_code": "US"})).await,
        400,
        "'address_country_code' must be an ISO 3166-1 alpha-3 country code, e.g. USA",
    );
    assert_error(
        put_json(&srv, &token, json!({"mobile_number": "555-1234"})).await,
        400,
        "'mobile_number' must be a phone number in E.164 format, e.g. +14155552671",
    );
    assert_error(
        put_json(&srv, &token, json!({"email_address": "not-an-email"})).await,
        400,
        "'email_address' must be an email address",
    );
    assert_error(
        put_json(&srv, &token, json!({"type": "nope"})).await,
        400,
        "unrecognized 'type' value; this server knows: sep31-receiver, sep31-sender, sep6",
    );
    let (status, body) = TestServer::send(
        srv.with_token(Method::PUT, "/customer", &token)
            .header("content-type", "text/plain")
            .body("first_name=Ann"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // A form whose bytes are not UTF-8 is refused like JSON with them.
    let form = TestServer::send(
        srv.with_token(Method::PUT, "/customer", &token)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("first_name=%ff%fe"),
    )
    .await;
    assert_error(form, 400, "form body is not valid UTF-8 (percent-decoded)");
    // Nothing was stored by the refused requests.
    assert!(get(&srv, &token, "").await.1.get("id").is_none());
    srv.stop().await;
}

async fn another_accounts_token_gets_nothing(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (alice, alice_token) = srv.login().await;
    let (_, mallory_token) = srv.login().await;
    let id = put_json(&srv, &alice_token, json!({"first_name": "Alice"}))
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let not_found = "customer not found";
    assert_error(
        get(&srv, &mallory_token, &format!("?id={id}")).await,
        404,
        not_found,
    );
    assert_error(
        put_json(
            &srv,
            &mallory_token,
            json!({"id": id, "first_name": "Mallory"}),
        )
        .await,
        404,
        not_found,
    );
    // An id that never existed answers the same.
    assert_error(
        get(
            &srv,
            &mallory_token,
            "?id=00000000-0000-4000-8000-000000000000",
        )
        .await,
        404,
        "customer not found",
    );
    // Naming Alice's account is refused; deleting it is "not found".
    assert_error(
        get(
            &srv,
            &mallory_token,
            &format!("?account={}", alice.public_key()),
        )
        .await,
        403,
        "account does not match the authenticated account",
    );
    let del = srv.with_token(
        Method::DELETE,
        &format!("/customer/{}", alice.public_key()),
        &mallory_token,
    );
    assert_error(TestServer::send(del).await, 404, "customer not found");
    let files = srv.with_token(
        Method::GET,
        &format!("/customer/files?customer_id={id}"),
        &mallory_token,
    );
    assert_eq!(TestServer::send(files).await, (200, json!({"files": []})));
    // Alice's data is untouched.
    assert_eq!(
        get(&srv, &alice_token, &format!("?id={id}")).await.1["provided_fields"]["first_name"]["status"],
        "PROCESSING"
    );
    srv.stop().await;
}

async fn memo_customer_is_separate_from_the_unmemoed_one(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (kp, omnibus) = srv.login().await;
    let plain = put_json(&srv, &omnibus, json!({"first_name": "Owner"}))
        .await
        .1["id"]
        .clone();
    let seven = put_json(&srv, &omnibus, json!({"memo": "7", "first_name": "Seven"}))
        .await
        .1["id"]
        .clone();
    assert_ne!(plain, seven);
    assert_eq!(get(&srv, &omnibus, "?memo=7").await.1["id"], seven);
    assert_eq!(get(&srv, &omnibus, "").await.1["id"], plain);
    // A token for memo 7 reaches that customer only.
    let user7 = srv.token_for(&kp, Some(7)).await;
    assert_eq!(get(&srv, &user7, "").await.1["id"], seven);
    assert_error(
        get(&srv, &user7, "?memo=8").await,
        403,
        "memo does not match the authenticated memo",
    );
    assert_error(
        get(&srv, &user7, &format!("?id={}", plain.as_str().unwrap())).await,
        404,
        "customer not found",
    );
    // A muxed address with id 7 is the same user.
    let muxed = muxed_account(kp.public_key(), 7);
    let m_token = srv
        .login_as(&muxed, &kp, &Default::default())
        .await
        .unwrap();
    assert_eq!(get(&srv, &m_token, "").await.1["id"], seven);
    srv.stop().await;
}

async fn v1_1_form_put_with_query_jwt_works(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (kp, token) = srv.login().await;
    // SEP-12 v1.1.0: account, memo, memo_type as form fields, the JWT in the query.
    let form = [
        ("account", kp.public_key().to_string()),
        ("memo", "21bf91a4-7db1-401d".to_string()),
        ("memo_type", "text".to_string()),
        ("first_name", "Ada".to_string()),
    ];
    let res = srv
        .http
        .put(srv.url(&format!("/customer?jwt={token}")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let id: Value = res.json().await.unwrap();
    let (status, body) = get(&srv, &token, "?memo=21bf91a4-7db1-401d&memo_type=text").await;
    assert_eq!((status, &body["id"]), (200, &id["id"]));
    // Multipart form fields work the same.
    let form = Form::new()
        .text("memo", "21bf91a4-7db1-401d")
        .text("memo_type", "text")
        .text("last_name", "Lovelace");
    let (status, body) = TestServer::send(
        srv.http
            .put(srv.url(&format!("/customer?jwt={token}")))
            .multipart(form),
    )
    .await;
    assert_eq!((status, &body["id"]), (202, &id["id"]));
    srv.stop().await;
}

on_both_engines!(
    unknown_customer_needs_info_with_every_field,
    put_then_get_shows_what_was_provided,
    invalid_and_unknown_fields_are_named,
    another_accounts_token_gets_nothing,
    memo_customer_is_separate_from_the_unmemoed_one,
    v1_1_form_put_with_query_jwt_works,
);
