//! SEP-12 beyond the wallet's endpoints, on SQLite and PostgreSQL: the
//! admin API and its audit log, verification codes, signed callbacks that
//! survive outages and restarts, and encryption at rest checked byte by byte.
//!
//! - here: the admin API, the audit log and verification codes;
//! - `callbacks`: signed callbacks that survive outages and restarts;
//! - `at_rest`: encryption at rest, checked byte by byte, and erasure.

#[path = "../common/mod.rs"]
mod common;

mod at_rest;
mod callbacks;

use common::customer::put_json;
use common::{Engine, TestServer, assert_error, texts, wrong_code};
use reqwest::Method;
use serde_json::{Value, json};

async fn status_of(srv: &TestServer, token: &str) -> Value {
    TestServer::send(srv.with_token(Method::GET, "/customer?type=sep31-sender", token))
        .await
        .1
}

async fn admin_requires_its_own_token(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (_, jwt) = srv.login().await;
    let url = format!("{}admin/customers", srv.admin);
    let (status, body) = TestServer::send(srv.http.get(&url)).await;
    assert_eq!(status, 401, "{body}");
    // A SEP-10 session token never opens the admin API.
    assert_error(
        TestServer::send(srv.http.get(&url).bearer_auth(&jwt)).await,
        401,
        "admin token is not valid",
    );
    assert_error(
        TestServer::send(srv.http.get(&url).bearer_auth("x".repeat(40))).await,
        401,
        "admin token is not valid",
    );
    // And the admin API is not on the public listener.
    assert_eq!(
        TestServer::send(
            srv.http
                .get(srv.url("/admin/customers"))
                .bearer_auth(common::ADMIN_TOKEN)
        )
        .await
        .0,
        404
    );
    srv.stop().await;
}

async fn decisions_move_the_customer_and_are_audited(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (_, token) = srv.login().await;
    let (_, body) = put_json(&srv, &token, json!({"type": "sep31-sender", "first_name": "Ann", "last_name": "Lee", "email_address": "ann@example.com"})).await;
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(status_of(&srv, &token).await["status"], "PROCESSING");

    // The list has no personal data; the detail has it, decrypted.
    let (status, list) = TestServer::send(srv.admin(Method::GET, "/admin/customers")).await;
    assert_eq!(status, 200);
    assert_eq!(list["customers"][0]["id"], id);
    assert_eq!(list["customers"][0]["status"], "PROCESSING");
    assert!(!list.to_string().contains("Ann"), "{list}");
    let (_, detail) = TestServer::send(
        srv.admin(Method::GET, &format!("/admin/customers/{id}"))
            .header("x-mooring-actor", "jo@anchor"),
    )
    .await;
    assert_eq!(detail["fields"]["first_name"]["value"], "Ann");
    assert_eq!(detail["statuses"]["sep31-sender"]["status"], "PROCESSING");

    // Ask for a field again: NEEDS_INFO, with the reason on the field.
    let ask = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/request-info"))
        .json(&json!({"fields": ["last_name"], "reason": "does not match the ID"}));
    assert_eq!(TestServer::send(ask).await.0, 200);
    let seen = status_of(&srv, &token).await;
    assert_eq!(seen["status"], "NEEDS_INFO");
    assert_eq!(seen["provided_fields"]["last_name"]["status"], "REJECTED");
    assert_eq!(
        seen["provided_fields"]["last_name"]["error"],
        "does not match the ID"
    );
    assert!(seen["fields"].get("last_name").is_some());
    // Sent again, accepted.
    put_json(&srv, &token, json!({"last_name": "Leigh"})).await;
    let accept = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/accept"))
        .json(&json!({"type": "sep31-sender"}));
    assert_eq!(TestServer::send(accept).await.1["status"], "ACCEPTED");
    assert_eq!(status_of(&srv, &token).await["status"], "ACCEPTED");
    // One field by hand, then a final rejection, which needs a reason.
    let field = srv
        .admin(
            Method::POST,
            &format!("/admin/customers/{id}/fields/email_address"),
        )
        .json(&json!({"status": "PROCESSING"}));
    assert_eq!(TestServer::send(field).await.1["status"], "PROCESSING");
    let no_reason = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/reject"))
        .json(&json!({}));
    assert_eq!(TestServer::send(no_reason).await.0, 400);
    let reject = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/reject"))
        .json(&json!({"reason": "This person is on a sanctions list"}));
    assert_eq!(TestServer::send(reject).await.0, 200);
    let seen = status_of(&srv, &token).await;
    assert_eq!(
        (seen["status"].as_str(), seen["message"].as_str()),
        (Some("REJECTED"), Some("This person is on a sanctions list"))
    );
    assert_error(
        TestServer::send(srv.admin(Method::GET, "/admin/customers/nope")).await,
        404,
        "customer not found",
    );

    // Every read and decision is in the audit log, without personal data or reasons.
    let (_, audit) =
        TestServer::send(srv.admin(Method::GET, &format!("/admin/audit?customer_id={id}"))).await;
    let actions = texts(&audit["entries"], "action");
    for a in [
        "customer.read",
        "customer.request_info",
        "customer.accept",
        "customer.field_status",
        "customer.reject",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == "admin:jo@anchor")
    );
    let text = audit.to_string();
    for secret in [
        "Ann",
        "Leigh",
        "ann@example.com",
        "sanctions",
        "does not match",
    ] {
        assert!(
            !text.contains(secret),
            "audit log contains {secret}: {text}"
        );
    }
    srv.stop().await;
}

async fn the_audit_log_is_append_only(engine: Engine) {
    let srv = TestServer::start(engine).await;
    TestServer::send(srv.admin(Method::GET, "/admin/customers")).await;
    let db = mooring_server::db::Db::connect(&srv.db.url, 1)
        .await
        .unwrap();
    let (update, delete) = match &db {
        mooring_server::db::Db::Sqlite(s) => (
            {
                let mut w = s.write.get().await.unwrap();
                let p = &mut *w;
                sqlx::query("UPDATE audit_log SET actor = 'x'")
                    .execute(p)
                    .await
                    .is_err()
            },
            {
                let mut w = s.write.get().await.unwrap();
                let p = &mut *w;
                sqlx::query("DELETE FROM audit_log")
                    .execute(p)
                    .await
                    .is_err()
            },
        ),
        mooring_server::db::Db::Postgres(p) => (
            sqlx::query("UPDATE audit_log SET actor = 'x'")
                .execute(p)
                .await
                .is_err(),
            sqlx::query("DELETE FROM audit_log")
                .execute(p)
                .await
                .is_err(),
        ),
    };
    assert!(update && delete, "updates and deletes are refused");
    db.close().await;
    srv.stop().await;
}

async fn verification_codes_confirm_phone_and_email(engine: Engine) {
    let srv = TestServer::start_with(engine, |c| {
        c.sep12.verification.fields = vec!["mobile_number".into(), "email_address".into()]
    })
    .await;
    let (_, token) = srv.login().await;
    let (_, body) = put_json(&srv, &token, json!({"first_name": "Ann", "last_name": "Lee", "email_address": "ann@example.com", "mobile_number": "+14155552671"})).await;
    let id = body["id"].as_str().unwrap().to_owned();
    let seen = status_of(&srv, &token).await;
    assert_eq!(seen["status"], "NEEDS_INFO");
    assert_eq!(
        seen["provided_fields"]["mobile_number"]["status"],
        "VERIFICATION_REQUIRED"
    );
    let code = |field: &str| {
        srv.codes
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(c, f, _)| *c == id && f == field)
            .map(|(_, _, code)| code.clone())
            .unwrap()
    };
    let (phone, email) = (code("mobile_number"), code("email_address"));
    assert_eq!(phone.len(), 6);
    let wrong = wrong_code(&phone);
    assert_error(
        put_json(
            &srv,
            &token,
            json!({"id": id, "mobile_number_verification": wrong}),
        )
        .await,
        400,
        "The provided confirmation code was invalid.",
    );
    assert_eq!(
        put_json(
            &srv,
            &token,
            json!({"id": id, "mobile_number_verification": phone})
        )
        .await
        .0,
        202
    );
    assert_eq!(
        status_of(&srv, &token).await["provided_fields"]["mobile_number"]["status"],
        "ACCEPTED"
    );
    // A code is single-use.
    assert_error(
        put_json(
            &srv,
            &token,
            json!({"id": id, "mobile_number_verification": phone}),
        )
        .await,
        400,
        "The provided confirmation code was invalid.",
    );
    // The deprecated endpoint answers the status.
    let verify = srv
        .with_token(Method::PUT, "/customer/verification", &token)
        .json(&json!({"id": id, "email_address_verification": email}));
    let (status, body) = TestServer::send(verify).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["provided_fields"]["email_address"]["status"],
        "ACCEPTED"
    );
    srv.stop().await;
}

async fn verification_codes_expire_after_too_many_attempts(engine: Engine) {
    let srv = TestServer::start_with(engine, |c| {
        c.sep12.verification.fields = vec!["mobile_number".into()]
    })
    .await;
    let (_, token) = srv.login().await;
    let id = put_json(&srv, &token, json!({"mobile_number": "+14155552671"}))
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = srv.codes.lock().unwrap().last().unwrap().2.clone();
    let wrong = wrong_code(&code);
    for _ in 0..5 {
        put_json(
            &srv,
            &token,
            json!({"id": id, "mobile_number_verification": wrong}),
        )
        .await;
    }
    assert_error(
        put_json(
            &srv,
            &token,
            json!({"id": id, "mobile_number_verification": code}),
        )
        .await,
        400,
        "The provided confirmation code was invalid.",
    );
    srv.stop().await;
}

on_both_engines!(
    admin_requires_its_own_token,
    decisions_move_the_customer_and_are_audited,
    the_audit_log_is_append_only,
    verification_codes_confirm_phone_and_email,
    verification_codes_expire_after_too_many_attempts,
);
