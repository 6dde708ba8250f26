//! Request bodies and addresses are validated before anything is stored.

use crate::common::recovery::call;
use crate::common::{Engine, TestServer, assert_error};
use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::json;

async fn bodies_and_addresses_are_validated(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let owner = Keypair::random();
    let token = srv.token_for(&owner, None).await;
    let path = format!("/accounts/{}", owner.public_key());
    for (json, error) in [
        (json!({}), "`identities` is required"),
        (
            json!({ "identities": [] }),
            "`identities` must not be empty",
        ),
        (
            json!({ "identities": [{ "role": "", "auth_methods": [{ "type": "email", "value": "a@b.co" }] }] }),
            "`identities[0].role` must not be empty",
        ),
        (
            json!({ "identities": [{ "role": "owner", "auth_methods": [] }] }),
            "`identities[0].auth_methods` must not be empty",
        ),
        (
            json!({ "identities": [{ "role": "owner", "auth_methods": [{ "type": "email", "value": "" }] }] }),
            "`identities[0].auth_methods[0].value` is not a valid email address",
        ),
        (
            json!({ "identities": [{ "role": "owner", "auth_methods": [{ "type": "phone_number", "value": "+1 415 555 0100" }] }] }),
            "`identities[0].auth_methods[0].value` is not a valid phone number (E.164: a + and 7 to 15 digits, no spaces)",
        ),
        (
            json!({ "identities": [{ "role": "owner", "auth_methods": [{ "type": "stellar_address", "value": "GABC" }] }] }),
            "`identities[0].auth_methods[0].value` is not a valid Stellar address (G…)",
        ),
        (
            json!({ "identities": [{ "role": "owner", "auth_methods": [{ "type": "fax", "value": "1" }] }] }),
            "`identities[0].auth_methods[0].type` is not supported; use stellar_address, phone_number or email",
        ),
    ] {
        assert_error(
            call(&srv, Method::POST, &path, &token, Some(&json)).await,
            400,
            error,
        );
    }
    // Not JSON, or not said to be.
    let form = TestServer::send(
        srv.with_token(Method::POST, &path, &token)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("identities=x"),
    )
    .await;
    assert_error(form, 415, "send the body as Content-Type: application/json");
    let broken = TestServer::send(
        srv.with_token(Method::POST, &path, &token)
            .header("content-type", "application/json")
            .body("{"),
    )
    .await;
    assert_error(
        broken,
        400,
        "request body must be a JSON object with an `identities` array",
    );
    // Declared too large: 413 before a byte of the body is sent (on a
    // connection of its own: the server closes it, the body unread).
    {
        let answer = srv
            .declared_body("POST", &path, &token, "application/json", 200_000)
            .await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(
            answer.ends_with(r#"{"error":"request body is too large: the limit is 65536 bytes"}"#),
            "{answer}"
        );
    }
    assert_eq!(srv.get_json("/health").await, json!({ "status": "ok" }));
    // Addresses in the path.
    for bad in [
        "/accounts/GABC",
        "/accounts/SBGWSG6BTNCKCOB3DIFBGCVMUPQFYPA2G4O34RMTB343OYPXU5DJDVMN",
    ] {
        assert_error(
            call(&srv, Method::GET, bad, &token, None).await,
            400,
            "address must be a Stellar account address (G…)",
        );
    }
    assert_error(
        call(&srv, Method::GET, "/accounts?after=nope", &token, None).await,
        400,
        "address must be a Stellar account address (G…)",
    );
    // Nothing was stored by any of it.
    assert_error(
        call(&srv, Method::GET, &path, &token, None).await,
        404,
        "account not found",
    );
    srv.stop().await;
}

crate::on_both_engines!(bodies_and_addresses_are_validated,);
