//! `GET /sep31/transactions/{id}` (only its creator; another partner, an
//! unknown and a malformed id alike 404), the transaction object (only
//! SEP-31's fields), `PATCH` (404: deprecated, never anything to patch)
//! and `PUT …/callback` (204, 400 for URLs that are not safe).

use reqwest::Method;
use serde_json::{Value, json};

use super::{
    NOT_FOUND, assert_error_is, assert_refusal, assert_sep31_fields, body, create_tx, get_tx,
    id_of, move_tx, start, transaction,
};
use crate::common::{Engine, TestServer};
use crate::on_both_engines;

/// Only the account that created a transaction reads it: ZENITH, ACME's
/// other account, unknown and malformed ids all get the same 404.
async fn only_the_creator_reads_a_transaction(engine: Engine) {
    let a = start(engine).await;
    let p = a.acme_parties().await;
    let id = id_of(&create_tx(&a.srv, &p.token, &body(&p, "100")).await);
    assert_eq!(transaction(&a.srv, &p.token, &id).await["id"], id.as_str());
    let zenith = a.srv.token_for(&a.zenith, None).await;
    let acme2 = a.srv.token_for(&a.acme2, None).await;
    let unknown = "9d3c1f0a-5e2b-4c7d-8a9f-0b1c2d3e4f5a";
    for (token, tx, what) in [
        (&zenith, id.as_str(), "another partner"),
        (&acme2, id.as_str(), "the creator's partner's other account"),
        (&p.token, unknown, "an unknown id"),
        (&p.token, "nope", "a malformed id"),
        (&p.token, "12345", "a number"),
    ] {
        assert_error_is(&get_tx(&a.srv, token, tx).await, 404, NOT_FOUND, what);
    }
    a.srv.stop().await;
}

/// The transaction object has only fields SEP-31 §GET Transaction
/// defines, whatever staff set: after an error with a message and an
/// external id, exactly these keys.
async fn the_transaction_object_has_only_sep31_fields(engine: Engine) {
    let a = start(engine).await;
    let p = a.acme_parties().await;
    let mut b = body(&p, "100");
    b["refund_memo"] = json!("7");
    b["refund_memo_type"] = json!("id");
    let id = id_of(&create_tx(&a.srv, &p.token, &b).await);
    let t = transaction(&a.srv, &p.token, &id).await;
    assert_sep31_fields(&t, "pending_sender");
    let moved = move_tx(
        &a.srv,
        &id,
        json!({"status": "error", "message": "the receiver's bank is closed",
               "external_transaction_id": "ext-77"}),
    )
    .await;
    assert_eq!(moved.0, 200, "pending_sender -> error: {}", moved.1);
    let t = transaction(&a.srv, &p.token, &id).await;
    assert_sep31_fields(&t, "error");
    assert_eq!(
        super::object_keys(&t),
        [
            "amount_fee",
            "amount_fee_asset",
            "amount_in",
            "amount_in_asset",
            "amount_out",
            "external_transaction_id",
            "fee_details",
            "id",
            "started_at",
            "status",
            "status_message",
            "stellar_account_id",
            "stellar_memo",
            "stellar_memo_type",
            "updated_at",
        ],
        "exactly the fields known: {t}"
    );
    assert_eq!(
        (
            &t["status"],
            &t["status_message"],
            &t["external_transaction_id"]
        ),
        (
            &json!("error"),
            &json!("the receiver's bank is closed"),
            &json!("ext-77")
        ),
    );
    a.srv.stop().await;
}

/// `PATCH` (deprecated by SEP-31 v3) is 404 for the creator too, and
/// changes nothing.
async fn patch_requests_nothing(engine: Engine) {
    let a = start(engine).await;
    let p = a.acme_parties().await;
    let id = id_of(&create_tx(&a.srv, &p.token, &body(&p, "100")).await);
    let before = transaction(&a.srv, &p.token, &id).await;
    // SEP-31 §PATCH: an update when no information is requested "should
    // fail with an error response"; a transaction not found is 404.
    for (tx, status) in [
        (id.as_str(), 400),
        ("9d3c1f0a-5e2b-4c7d-8a9f-0b1c2d3e4f5a", 404),
    ] {
        let req = a
            .srv
            .with_token(
                Method::PATCH,
                &format!("/sep31/transactions/{tx}"),
                &p.token,
            )
            .json(&json!({"transaction": {"receiver_bank_account": "1"}}));
        assert_refusal(&TestServer::send(req).await, status, &format!("PATCH {tx}"));
    }
    assert_eq!(
        transaction(&a.srv, &p.token, &id).await,
        before,
        "unchanged"
    );
    a.srv.stop().await;
}

/// `PUT /callback`: 204 for `https://` to a public name on the default
/// port, replaced by a later one; 400 for anything else; 404 for what is
/// not the caller's.
async fn put_callback_takes_safe_urls_only(engine: Engine) {
    let a = start(engine).await;
    let p = a.acme_parties().await;
    let id = id_of(&create_tx(&a.srv, &p.token, &body(&p, "100")).await);
    let put = |token: &str, tx: &str, b: Value| {
        a.srv
            .with_token(
                Method::PUT,
                &format!("/sep31/transactions/{tx}/callback"),
                token,
            )
            .json(&b)
    };
    for url in [
        "https://sendinganchor.example/sep31/callback",
        "https://sendinganchor.example/sep31/callback?again=1",
    ] {
        let res = put(&p.token, &id, json!({ "url": url }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 204, "PUT callback {url}");
        assert!(res.bytes().await.unwrap().is_empty(), "204 has no body");
    }
    for url in [
        "http://sendinganchor.example/sep31/callback",
        "https://sendinganchor.example:8443/sep31/callback",
        "https://127.0.0.1/sep31/callback",
        "https://10.1.2.3/sep31/callback",
        "https://169.254.169.254/latest",
        "https://localhost/sep31/callback",
        "https://[::1]/sep31/callback",
        "https://user:secret@sendinganchor.example/sep31/callback",
        "ftp://sendinganchor.example/sep31/callback",
        "sendinganchor.example/sep31/callback",
        "",
    ] {
        assert_refusal(
            &TestServer::send(put(&p.token, &id, json!({ "url": url }))).await,
            400,
            &format!("PUT callback {url:?}"),
        );
    }
    for b in [json!({}), json!({"url": 5}), json!({"url": null})] {
        assert_refusal(
            &TestServer::send(put(&p.token, &id, b.clone())).await,
            400,
            &b.to_string(),
        );
    }
    let zenith = a.srv.token_for(&a.zenith, None).await;
    let good = json!({"url": "https://zenith.example/cb"});
    assert_error_is(
        &TestServer::send(put(&zenith, &id, good.clone())).await,
        404,
        NOT_FOUND,
        "another partner's transaction",
    );
    assert_error_is(
        &TestServer::send(put(
            &p.token,
            "9d3c1f0a-5e2b-4c7d-8a9f-0b1c2d3e4f5a",
            good.clone(),
        ))
        .await,
        404,
        NOT_FOUND,
        "an unknown transaction",
    );
    assert_error_is(
        &TestServer::send(put(&p.token, "nope", good)).await,
        404,
        NOT_FOUND,
        "a malformed id",
    );
    // A name is a public host only if it resolves to public addresses:
    // this machine's own name resolves to one of its own.
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let hostname = hostname.trim();
    let own = tokio::net::lookup_host((hostname, 443))
        .await
        .map(|mut a| a.any(|a| !mooring_server::net::is_public(a.ip())))
        .unwrap_or(false);
    if own && !hostname.is_empty() && !hostname.eq_ignore_ascii_case("localhost") {
        let url = format!("https://{hostname}/sep31/callback");
        assert_refusal(
            &TestServer::send(put(&p.token, &id, json!({ "url": url }))).await,
            400,
            &format!("PUT callback {url}: {hostname} resolves to a private address"),
        );
    }
    a.srv.stop().await;
}

on_both_engines!(
    only_the_creator_reads_a_transaction,
    the_transaction_object_has_only_sep31_fields,
    patch_requests_nothing,
    put_callback_takes_safe_urls_only,
);
