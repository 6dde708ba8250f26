//! Every page's security headers, nothing loaded from or sent to another
//! origin, no script even where a customer or a link put markup in a
//! value; and the recovery accounts shown without their identities.

use mooring_stellar::Keypair;
use serde_json::json;

use crate::common::recovery::register_owner;
use crate::common::{Engine, TestServer};
use crate::on_both_engines;
use crate::transactions::{new_transaction, start_sep31};
use crate::{
    CSP, Staff, assert_same_origin, assert_secure, audited, customer_with_document, location,
    sign_in,
};

/// Asserts a refusal page: `status`, the headers, nothing from elsewhere.
async fn assert_refusal_page(ana: &Staff, path: &str, status: u16) {
    let (got, headers, html) = ana.page(path).await;
    assert_eq!(got, status, "GET {path}: {html}");
    assert_secure(&headers, path);
    assert_same_origin(&html, path);
}

async fn every_page_is_kept_to_this_origin(engine: Engine) {
    let (srv, partner) = start_sep31(engine).await;
    let markup = "Ann<script>alert(1)</script>\"><img src=https://evil.example/x>";
    let (_, id, file) = customer_with_document(&srv, markup).await;
    let (_, created) = new_transaction(&srv, &partner, 700).await;
    let tx = created["id"].as_str().unwrap();
    let account = Keypair::random().public_key().to_string();
    let ana = sign_in(&srv, "ana").await;
    let evil = "%3Cscript%3Ealert(1)%3C%2Fscript%3E%22%3E%3Ca%20href%3D%22https%3A%2F%2Fevil.example%22%3E";
    let pages = [
        "/admin/console/customers".to_owned(),
        "/admin/console/customers?status=PROCESSING&type=sep31-sender".to_owned(),
        format!("/admin/console/customers?type={evil}"),
        format!("/admin/console/customers/{id}"),
        format!("/admin/console/customers/{id}?done={evil}"),
        format!("/admin/console/customers/{id}/documents/{file}"),
        "/admin/console/transactions".to_owned(),
        format!("/admin/console/transactions/{tx}"),
        format!("/admin/console/transactions/{tx}?done={evil}"),
        "/admin/console/accounts".to_owned(),
        format!("/admin/console/accounts?account={account}"),
        format!("/admin/console/accounts?account={account}&done={evil}"),
        "/admin/console/recovery".to_owned(),
        format!("/admin/console/recovery?done={evil}"),
        "/admin/console/audit".to_owned(),
        format!("/admin/console/audit?actor={evil}&customer={evil}&action={evil}"),
    ];
    for path in &pages {
        let html = ana.html(path).await;
        assert_same_origin(&html, path);
        assert!(
            html.contains("<link rel=\"stylesheet\" href=\"/admin/console.css\">"),
            "{path}: the console's own stylesheet"
        );
        assert!(
            html.contains("action=\"/admin/logout\""),
            "{path}: the sign-out form"
        );
    }
    // The customer's markup is shown as text.
    let html = ana.html(&format!("/admin/console/customers/{id}")).await;
    assert!(
        html.contains("Ann&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the value, escaped: {html}"
    );
    // Refusals are pages too.
    assert_refusal_page(&ana, "/admin/console/customers/no-such-customer", 404).await;
    assert_refusal_page(
        &ana,
        &format!("/admin/console/customers/{id}/files/no-such-file"),
        404,
    )
    .await;
    assert_refusal_page(&ana, "/admin/console/transactions/no-such-tx", 404).await;
    assert_refusal_page(&ana, "/admin/console/accounts?account=nope", 400).await;
    let res = ana.post("/admin/logout", &[("csrf", "forged")]).await;
    assert_eq!(res.status(), 403);
    assert_secure(res.headers(), "a forged form");
    assert_same_origin(&res.text().await.unwrap(), "a forged form");
    // The stylesheet: this origin's, with the same headers, and nothing
    // loaded from elsewhere.
    let res = ana.get("/admin/console.css").await;
    assert_eq!(res.status(), 200);
    assert_secure(res.headers(), "the stylesheet");
    assert_eq!(res.headers()["content-type"], "text/css; charset=utf-8");
    let css = res.text().await.unwrap();
    assert!(!css.contains("@import") && !css.contains("//"), "{css}");
    assert!(!CSP.contains("script-src"), "no script source at all");
    // The sign-in redirect carries them as well.
    let res = ana.get("/admin/").await;
    assert_eq!(location(&res), "/admin/console/customers");
    assert_secure(res.headers(), "the redirect");
    srv.stop().await;
}

async fn recovery_accounts_show_no_identity(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let owner = Keypair::random();
    let email = "ann.secret@example.com";
    let phone = "+14155550123";
    let signer = register_owner(
        &srv,
        &owner,
        json!([{"type": "email", "value": email}, {"type": "phone_number", "value": phone}]),
    )
    .await;
    let address = owner.public_key().to_string();
    let ana = sign_in(&srv, "ana").await;
    let html = ana.html("/admin/console/recovery").await;
    assert_same_origin(&html, "the recovery accounts");
    assert!(html.contains(&address), "the account is listed: {html}");
    assert!(html.contains(&signer), "its signing key: {html}");
    assert!(html.contains("owner"), "its identity's role: {html}");
    for secret in [email, "ann.secret", "example.com", phone, "4155550123"] {
        assert!(
            !html.to_ascii_lowercase().contains(secret),
            "{secret} is not shown: {html}"
        );
    }
    // A new signing key through the form: listed first, audited.
    let res = ana
        .submit(
            "/admin/console/recovery/signers",
            &[("address", address.as_str())],
        )
        .await;
    assert_eq!(res.status(), 303);
    let to = location(&res);
    assert!(to.starts_with("/admin/console/recovery?done="), "{to}");
    let html = ana.html(&to).await;
    assert!(html.contains("A new signing key was added."), "{html}");
    // The row: the account, its roles, its methods, then its keys.
    let row = &html[html.find(&format!(">{address}<")).unwrap()..];
    let cell = "<td class=\"mono\">";
    let keys_at = row.find(cell).unwrap() + cell.len();
    let keys: Vec<&str> = row[keys_at..row[keys_at..].find("</td>").unwrap() + keys_at]
        .split("<br>")
        .filter(|k| !k.is_empty())
        .collect();
    assert_eq!(keys.len(), 2, "two keys: {keys:?}");
    assert_ne!(keys[0], signer, "the new key first: {keys:?}");
    assert_eq!(keys[1], signer, "the old key after it: {keys:?}");
    assert_eq!(
        audited(&srv, "admin:ana", "recovery.add_signer", None).await,
        1
    );
    // Still no identity.
    assert!(!html.contains(email), "{html}");
    srv.stop().await;
}

on_both_engines!(
    every_page_is_kept_to_this_origin,
    recovery_accounts_show_no_identity,
);
