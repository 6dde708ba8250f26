//! Customers in the console: the list without personal data, one customer
//! decrypted (an audited read), its document inline or downloaded, and the
//! decisions staff take — each with the session's CSRF token, recorded
//! under the signed-in person, and seen by the customer through SEP-12.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::customer::put_json;
use crate::common::{Engine, TestServer};
use crate::on_both_engines;
use crate::{JPEG, admin_url, audited, browser, customer_with_document, location, sign_in};

/// The customer's own `GET /customer?type=sep31-sender`.
async fn own_view(srv: &TestServer, token: &str) -> Value {
    let (status, body) =
        TestServer::send(srv.with_token(Method::GET, "/customer?type=sep31-sender", token)).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The `done` text of a redirect back to a customer's page.
fn done_of(to: &str, id: &str) -> String {
    let prefix = format!("/admin/console/customers/{id}?");
    let query = to
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("back to the customer: {to}"));
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "done")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("a done= in {to}"))
}

async fn a_customer_is_read_decrypted_and_audited(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (_, id, file) = customer_with_document(&srv, "Annabel").await;
    let (_, other, other_file) = customer_with_document(&srv, "Otto").await;
    let ana = sign_in(&srv, "ana").await;

    // The list: ids and statuses, no personal data.
    let html = ana.html("/admin/console/customers").await;
    assert!(html.contains(&id) && html.contains(&other), "{html}");
    assert!(html.contains("PROCESSING"), "{html}");
    for personal in ["Annabel", "Otto", "ann.lee@example.com"] {
        assert!(!html.contains(personal), "{personal} in the list: {html}");
    }
    assert_eq!(audited(&srv, "admin:ana", "customer.list", None).await, 1);
    // Filtered by type and by status.
    let html = ana
        .html("/admin/console/customers?type=sep31-sender&status=PROCESSING")
        .await;
    assert!(html.contains(&id) && html.contains(&other), "{html}");
    for filter in ["type=sep31-receiver", "status=ACCEPTED"] {
        let html = ana
            .html(&format!("/admin/console/customers?{filter}"))
            .await;
        assert!(!html.contains(&id), "{filter}: {html}");
        assert!(html.contains("No customers."), "{filter}: {html}");
    }

    // One customer: decrypted, and the read is in the log under ana.
    assert_eq!(
        audited(&srv, "admin:ana", "customer.read", Some(&id)).await,
        0
    );
    let html = ana.html(&format!("/admin/console/customers/{id}")).await;
    for value in ["Annabel", "Lee", "ann.lee@example.com"] {
        assert!(html.contains(value), "{value} shown: {html}");
    }
    assert!(!html.contains("Otto"), "only this customer: {html}");
    let doc = format!("/admin/console/customers/{id}/documents/{file}");
    let src = format!("/admin/console/customers/{id}/files/{file}");
    assert!(html.contains(&format!("href=\"{doc}\"")), "{html}");
    assert!(
        html.contains(&format!("href=\"{src}?download=1\"")),
        "{html}"
    );
    assert_eq!(
        audited(&srv, "admin:ana", "customer.read", Some(&id)).await,
        1,
        "reading the page is an audited read under admin:<name>"
    );

    // The document page embeds the file; the file is the JPEG, inline.
    let html = ana.html(&doc).await;
    assert!(
        html.contains(&format!("<iframe src=\"{src}\"")),
        "the document embedded: {html}"
    );
    assert_eq!(
        audited(&srv, "admin:ana", "customer.file_read", None).await,
        0
    );
    let res = ana.get(&src).await;
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "image/jpeg");
    assert_eq!(h["content-disposition"], "inline");
    assert_eq!(h["x-frame-options"], "SAMEORIGIN");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.starts_with("default-src 'none'")
            && csp.contains("frame-ancestors 'self'")
            && !csp.contains("script-src"),
        "a document runs nothing: {csp}"
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), JPEG);
    let res = ana.get(&format!("{src}?download=1")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-disposition"],
        format!("attachment; filename=\"{file}\"").as_str()
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), JPEG);
    let reads: Vec<Value> = crate::audit(&srv)
        .await
        .into_iter()
        .filter(|e| e["actor"] == "admin:ana" && e["action"] == "customer.file_read")
        .collect();
    assert_eq!(reads.len(), 2, "each file read is audited: {reads:?}");
    assert!(
        reads
            .iter()
            .all(|e| e["customer_id"] == id.as_str() && e["detail"] == file.as_str()),
        "{reads:?}"
    );

    // Another customer's file under this one, an unknown file: 404.
    let res = ana
        .get(&format!("/admin/console/customers/{id}/files/{other_file}"))
        .await;
    assert_eq!(res.status(), 404);
    assert_ne!(res.bytes().await.unwrap().as_ref(), JPEG);
    assert_eq!(
        ana.get(&format!("/admin/console/customers/{other}/files/{file}"))
            .await
            .status(),
        404
    );
    // Without the cookie: to the sign-in page, nothing read.
    let res = browser().get(admin_url(&srv, &src)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/admin/");
    let res = browser()
        .get(admin_url(&srv, &format!("/admin/console/customers/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        audited(&srv, "admin:ana", "customer.read", Some(&id)).await,
        1
    );
    assert_eq!(
        audited(&srv, "admin:ana", "customer.file_read", None).await,
        2
    );
    srv.stop().await;
}

async fn decisions_reach_the_customer_and_the_log(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (_, token) = srv.login().await;
    let (status, body) = put_json(
        &srv,
        &token,
        json!({"type": "sep31-sender", "first_name": "Ann", "last_name": "Lee",
               "email_address": "ann@example.com"}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(own_view(&srv, &token).await["status"], "PROCESSING");
    let ana = sign_in(&srv, "ana").await;
    let bo = sign_in(&srv, "bo").await;
    let decide = format!("/admin/console/customers/{id}/decide");
    let page = format!("/admin/console/customers/{id}");

    // One field REJECTED with a reason: the customer must give it again.
    let reason = "the name does not match the ID";
    let res = ana
        .submit(
            &decide,
            &[
                ("decision", "field"),
                ("field", "first_name"),
                ("status", "REJECTED"),
                ("reason", reason),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    crate::assert_secure(res.headers(), "a decision");
    let to = location(&res);
    assert_eq!(done_of(&to, &id), "first_name is now REJECTED.");
    let seen = own_view(&srv, &token).await;
    assert_eq!(seen["status"], "NEEDS_INFO", "{seen}");
    assert_eq!(
        seen["provided_fields"]["first_name"]["status"], "REJECTED",
        "{seen}"
    );
    assert_eq!(seen["provided_fields"]["first_name"]["error"], reason);
    assert!(seen["fields"].get("first_name").is_some(), "{seen}");
    let html = ana.html(&to).await;
    assert!(html.contains("first_name is now REJECTED."), "{html}");
    assert!(html.contains(reason), "{html}");

    // Asked again for a field, several at once.
    let res = ana
        .submit(
            &decide,
            &[
                ("decision", "request_info"),
                ("fields", "last_name"),
                ("fields", "email_address"),
                ("reason", "please check"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        done_of(&location(&res), &id),
        "Asked again for last_name, email_address."
    );
    let seen = own_view(&srv, &token).await;
    for f in ["last_name", "email_address"] {
        assert_eq!(seen["provided_fields"][f]["status"], "REJECTED", "{seen}");
        assert_eq!(seen["provided_fields"][f]["error"], "please check");
    }
    // Nothing chosen, an unknown decision, a reject without a reason:
    // 400 pages, nothing changed.
    for (fields, what) in [
        (
            vec![("decision", "request_info"), ("reason", "x")],
            "no fields",
        ),
        (vec![("decision", "approve")], "an unknown decision"),
        (vec![("decision", "reject")], "a reject without a reason"),
        (
            vec![
                ("decision", "field"),
                ("field", "first_name"),
                ("status", "DONE"),
            ],
            "an unknown field status",
        ),
    ] {
        let res = ana.submit(&decide, &fields).await;
        assert_eq!(res.status(), 400, "{what}");
        crate::assert_secure(res.headers(), what);
    }
    assert_eq!(
        ana.submit(
            &decide,
            &[
                ("decision", "field"),
                ("field", "occupation"),
                ("status", "ACCEPTED")
            ]
        )
        .await
        .status(),
        404,
        "a field the customer has not given"
    );
    assert_eq!(own_view(&srv, &token).await["status"], "NEEDS_INFO");

    // Accepted: every field accepted, the customer ACCEPTED.
    let res = ana
        .submit(&decide, &[("decision", "accept"), ("reason", "")])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(done_of(&location(&res), &id), "Accepted.");
    let seen = own_view(&srv, &token).await;
    assert_eq!(seen["status"], "ACCEPTED", "{seen}");

    // A forged form, another session's token, no cookie: nothing changes.
    let before = crate::audit(&srv).await.len();
    let csrf = ana.csrf().await;
    let bo_csrf = bo.csrf().await;
    let after_reads = crate::audit(&srv).await.len();
    let reject = |csrf: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("decision".to_owned(), "reject".to_owned()),
            ("reason".to_owned(), "forged".to_owned()),
        ]
    };
    for (token, what) in [
        ("", "no token"),
        ("forged", "a forged token"),
        (&bo_csrf, "bo's token"),
    ] {
        let fields = reject(token);
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let res = ana.post(&decide, &fields).await;
        assert_eq!(res.status(), 403, "{what}");
        crate::assert_secure(res.headers(), what);
        let text = res.text().await.unwrap();
        assert!(text.contains("reload the page"), "{text}");
    }
    let res = browser()
        .post(admin_url(&srv, &decide))
        .form(&[
            ("csrf", csrf.as_str()),
            ("decision", "reject"),
            ("reason", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "no cookie");
    assert_eq!(location(&res), "/admin/");
    assert_eq!(own_view(&srv, &token).await["status"], "ACCEPTED");
    assert_eq!(
        crate::audit(&srv).await.len(),
        after_reads,
        "nothing recorded by refused forms"
    );
    assert!(after_reads >= before);

    // The audit log page, filtered by actor, lists what ana did.
    let html = ana.html("/admin/console/audit?actor=admin%3Aana").await;
    for action in [
        "customer.field_status",
        "customer.request_info",
        "customer.accept",
        "customer.read",
        "console.sign_in",
    ] {
        assert!(html.contains(action), "{action} listed: {html}");
    }
    assert!(html.contains(&id), "{html}");
    assert!(!html.contains("admin:bo<"), "only ana's entries: {html}");
    assert!(!html.contains("customer.reject"), "no reject: {html}");
    let html = ana
        .html("/admin/console/audit?actor=admin%3Abo&action=customer.")
        .await;
    assert!(!html.contains(&id), "bo decided nothing: {html}");
    let html = ana
        .html(&format!(
            "/admin/console/audit?customer={id}&action=customer.accept"
        ))
        .await;
    assert!(
        html.contains("customer.accept") && !html.contains("customer.field_status"),
        "{html}"
    );
    // The same through the admin API.
    assert_eq!(
        audited(&srv, "admin:ana", "customer.field_status", Some(&id)).await,
        1
    );
    assert_eq!(
        audited(&srv, "admin:ana", "customer.accept", Some(&id)).await,
        1
    );
    assert_eq!(audited(&srv, "admin:ana", "customer.reject", None).await, 0);

    // Rejected, with a reason: final, shown to the customer.
    let res = ana
        .submit(
            &decide,
            &[("decision", "reject"), ("reason", "sanctions list")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let seen = own_view(&srv, &token).await;
    assert_eq!(
        (&seen["status"], &seen["message"]),
        (&json!("REJECTED"), &json!("sanctions list")),
        "{seen}"
    );
    assert!(ana.html(&page).await.contains("sanctions list"));
    srv.stop().await;
}

/// The customer ids a list page links to, and its next page's link.
fn listed(html: &str) -> (Vec<String>, Option<String>) {
    let key = "<td class=\"mono\"><a href=\"/admin/console/customers/";
    let ids = html
        .match_indices(key)
        .map(|(i, _)| {
            let rest = &html[i + key.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect();
    let next = html.find("<p class=\"pager\"><a href=\"").map(|i| {
        let rest = &html[i + "<p class=\"pager\"><a href=\"".len()..];
        rest[..rest.find('"').unwrap()].replace("&amp;", "&")
    });
    (ids, next)
}

async fn a_status_filter_reaches_every_matching_customer(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (_, token) = srv.login().await;
    // 51 customers, more than a page (50), all PROCESSING.
    let mut ids = Vec::new();
    for memo in 1..=51u64 {
        let body = json!({"memo": memo.to_string(), "memo_type": "id", "type": "sep31-sender",
                          "first_name": "Ann", "last_name": "Lee", "email_address": "a@example.com"});
        let (status, got) = put_json(&srv, &token, body).await;
        assert_eq!(status, 202, "{got}");
        ids.push(got["id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    // The last of them in the list's order is accepted.
    let last = ids.last().unwrap().clone();
    let ana = sign_in(&srv, "ana").await;
    let res = ana
        .submit(
            &format!("/admin/console/customers/{last}/decide"),
            &[("decision", "accept")],
        )
        .await;
    assert_eq!(res.status(), 303);
    // Unfiltered: two pages, every customer.
    let (first, next) = listed(&ana.html("/admin/console/customers").await);
    assert_eq!(first.len(), 50);
    let (second, _) = listed(&ana.html(&next.expect("a next page")).await);
    assert_eq!(second, std::slice::from_ref(&last));
    // Filtered by status: the accepted customer is on a page, or a page
    // the pager leads to.
    let mut page = Some("/admin/console/customers?status=ACCEPTED".to_owned());
    let mut found = Vec::new();
    for _ in 0..5 {
        let Some(path) = page.take() else { break };
        let (ids, next) = listed(&ana.html(&path).await);
        found.extend(ids);
        page = next;
    }
    assert_eq!(
        found,
        [last],
        "the one ACCEPTED customer, reached from ?status=ACCEPTED"
    );
    srv.stop().await;
}

on_both_engines!(
    a_customer_is_read_decrypted_and_audited,
    decisions_reach_the_customer_and_the_log,
    a_status_filter_reaches_every_matching_customer,
);
