//! An authenticator app (TOTP) as a second step after the password or an
//! emailed code.

use crate::common::Engine;
use crate::common::signin::{
    code_in_mail, form, new_request, password_sign_in, poll, send_code, signed_up, start,
    totp_code, totp_setup, verify_code,
};
use crate::common::smtp::SmtpServer;
use mooring_server::clock::Clock as _;
use serde_json::json;

fn between<'a>(page: &'a str, before: &str, after: &str) -> &'a str {
    let start = page
        .find(before)
        .unwrap_or_else(|| panic!("{before} in {page}"))
        + before.len();
    let len = page[start..].find(after).unwrap();
    &page[start..start + len]
}

async fn authenticator_app(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let srv = start(engine, &smtp, None).await;
    let (email, password) = ("kim@example.com", "a long enough password");
    signed_up(&srv, &smtp, email, password).await;

    // Setup: the password, then the secret, then a first code.
    let (_, token, _) = new_request(&srv).await;
    let res = srv
        .get(&format!("/authorize/totp/setup?token={token}"))
        .await;
    assert_eq!(res.status(), 200);
    let (status, page) = totp_setup(&srv, &token, email, "wrong password!").await;
    assert_eq!(status, 400);
    assert!(page.contains("that email address and password do not match"));
    let (status, page) = totp_setup(&srv, &token, email, password).await;
    assert_eq!(status, 200, "{page}");
    let secret = between(&page, "<code>", "</code>").to_owned();
    let link = between(&page, r#"name="link" value=""#, "\"").to_owned();
    let url = between(&page, r#"<a href=""#, "\"").replace("&amp;", "&");
    // The app's view: the otpauth URL carries the same secret.
    let app = totp_rs::TOTP::from_url(&url).unwrap();
    assert_eq!(app.get_secret_base32(), secret);
    let code_at = |t: u64| app.generate(t);
    let now = srv.clock.now();
    // A wrong code shows the page again, from what is stored: values
    // slipped into the form are not echoed.
    let (status, again) = form(
        &srv,
        "/authorize/totp/confirm",
        &[
            ("link", &link),
            ("code", "000000"),
            ("secret", "FORGEDSECRET"),
            ("url", "https://evil.example/"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        again.contains(&secret) && !again.contains("FORGED") && !again.contains("evil.example")
    );
    let (status, page) = form(
        &srv,
        "/authorize/totp/confirm",
        &[("link", &link), ("code", &code_at(now))],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Authenticator app added"));
    // Set up once.
    let (status, page) = totp_setup(&srv, &token, email, password).await;
    assert_eq!(status, 400);
    assert!(page.contains("already set up"));

    // Sign-in: the password, then the app's code — a fresh one.
    srv.clock.set(now + 30);
    let (id, token, _) = new_request(&srv).await;
    let (status, page) = password_sign_in(&srv, &token, email, password).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"action="/authorize/totp""#), "{page}");
    assert_eq!(poll(&srv, &id).await.1, json!({ "status": "pending" }));
    // The code from setup's time step is used up; a wrong one is wrong.
    for stale in [code_at(now), "12345x".to_owned()] {
        let (status, page) = totp_code(&srv, &token, &stale).await;
        assert_eq!(status, 400, "{page}");
    }
    let (status, page) = totp_code(&srv, &token, &code_at(now + 30)).await;
    assert_eq!(status, 200, "{page}");
    let (_, got) = poll(&srv, &id).await;
    assert_eq!(
        crate::common::claims(got["access_token"].as_str().unwrap())["auth_method_value"],
        email
    );

    // Another sign-in in the same time step cannot reuse the code.
    let (_, token, _) = new_request(&srv).await;
    password_sign_in(&srv, &token, email, password).await;
    let (status, _) = totp_code(&srv, &token, &code_at(now + 30)).await;
    assert_eq!(status, 400);
    // Five wrong codes void the step: even the right one fails after.
    srv.clock.set(now + 90);
    for _ in 0..4 {
        totp_code(&srv, &token, "000001").await;
    }
    let (status, _) = totp_code(&srv, &token, &code_at(now + 90)).await;
    assert_eq!(status, 400);

    // An emailed code for the same address asks for the app's code too.
    srv.clock.set(now + 120);
    let (id, token, _) = new_request(&srv).await;
    let before = smtp.count();
    send_code(&srv, &token, "email", email).await;
    let code = code_in_mail(&smtp.mail(before).await);
    let (status, page) = verify_code(&srv, &token, &code).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"action="/authorize/totp""#), "{page}");
    assert_eq!(poll(&srv, &id).await.1, json!({ "status": "pending" }));
    let (status, _) = totp_code(&srv, &token, &code_at(now + 120)).await;
    assert_eq!(status, 200);
    assert_eq!(poll(&srv, &id).await.1["status"], "authorized");
    srv.stop().await;
}

crate::on_both_engines!(authenticator_app,);
