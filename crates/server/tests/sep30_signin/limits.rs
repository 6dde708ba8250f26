//! Codes and requests are limited: wrong and expired codes, per identity
//! and per IP, and bad input.

use crate::common::signin::{code_in_mail, new_request, poll, send_code, start, verify_code};
use crate::common::smtp::SmtpServer;
use crate::common::{Engine, TestServer, wrong_code};
use mooring_server::clock::Clock as _;
use serde_json::json;

async fn codes_are_limited(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let srv = start(engine, &smtp, None).await;

    // Five wrong codes void the code: the right one no longer works.
    let (id, token, _) = new_request(&srv).await;
    send_code(&srv, &token, "email", "a@example.com").await;
    let code = code_in_mail(&smtp.mail(0).await);
    let wrong = wrong_code(&code);
    for _ in 0..5 {
        let (status, _) = verify_code(&srv, &token, wrong).await;
        assert_eq!(status, 400);
    }
    let (status, _) = verify_code(&srv, &token, &code).await;
    assert_eq!(status, 400);
    assert_eq!(poll(&srv, &id).await.1, json!({ "status": "pending" }));

    // An expired code is refused.
    send_code(&srv, &token, "email", "a@example.com").await;
    let code = code_in_mail(&smtp.mail(1).await);
    let now = srv.clock.now();
    srv.clock.set(now + 601);
    let (status, _) = verify_code(&srv, &token, &code).await;
    assert_eq!(status, 400);
    srv.clock.set(now);

    // Per identity: the third code an hour is the last (configured: 3).
    send_code(&srv, &token, "email", "A@example.com").await;
    let (status, page) = send_code(&srv, &token, "email", "a@example.com").await;
    assert_eq!(status, 429, "{page}");
    assert!(page.contains("too many attempts; wait a while and try again"));
    assert_eq!(smtp.count(), 3, "nothing sent once limited");

    // Bad input is a page that says what to fix, without sending anything.
    let (status, page) = send_code(&srv, &token, "email", "not-an-email").await;
    assert_eq!(status, 400);
    assert!(page.contains("that is not a valid email address"));
    let (status, page) = send_code(&srv, &token, "fax", "1").await;
    assert_eq!(status, 400);
    assert!(page.contains("this way of signing in is not offered"));
    let (status, _) = send_code(&srv, "nope", "email", "b@example.com").await;
    assert_eq!(status, 404);
    let (status, page) = send_code(&srv, &token, "email", "<script>@x.com").await;
    assert_eq!(status, 400);
    assert!(!page.contains("<script>"));
    assert_eq!(smtp.count(), 3);

    // Unknown and malformed polling ids are 404.
    assert_eq!(poll(&srv, "x").await.0, 404);
    assert_eq!(poll(&srv, &"A".repeat(43)).await.0, 404);

    // Per IP: requests from one address are limited too.
    let limited = TestServer::start_with(engine, |c| c.sep30.requests_per_ip_per_hour = 2).await;
    for expect in [201, 201, 429] {
        let (status, got) =
            TestServer::send(limited.http.post(limited.url("/authorize/token"))).await;
        assert_eq!(status, expect, "{got}");
    }
    // A client cannot step around it by claiming to be forwarded…
    let spoofed = limited
        .http
        .post(limited.url("/authorize/token"))
        .header("x-forwarded-for", "198.51.100.1");
    assert_eq!(TestServer::send(spoofed).await.0, 429);
    limited.stop().await;
    // … but behind a trusted proxy, each forwarded client counts alone.
    let proxied = TestServer::start_with(engine, |c| {
        c.sep30.requests_per_ip_per_hour = 2;
        c.http.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    let from = |client: &'static str| {
        proxied
            .http
            .post(proxied.url("/authorize/token"))
            .header("x-forwarded-for", format!("203.0.113.50, {client}"))
    };
    for (client, expect) in [
        ("198.51.100.1", 201),
        ("198.51.100.1", 201),
        ("198.51.100.1", 429),
        ("198.51.100.2", 201),
    ] {
        assert_eq!(TestServer::send(from(client)).await.0, expect, "{client}");
    }
    proxied.stop().await;
    srv.stop().await;
}

crate::on_both_engines!(codes_are_limited,);
