//! Driving the SEP-30 sign-in as a wallet and a person would: a request, the
//! browser page and its forms (or the OIDC redirects), then the poll.

use serde_json::Value;

use super::TestServer;
use super::smtp::{Mail, SmtpServer, code_in};

/// `POST /authorize/token`: (id, token, url).
pub async fn new_request(srv: &TestServer) -> (String, String, String) {
    let (status, got) = TestServer::send(srv.http.post(srv.url("/authorize/token"))).await;
    assert_eq!(status, 201, "{got}");
    // The code the wallet shows: `ABC-DEF`.
    let user_code = got["user_code"].as_str().unwrap();
    assert!(
        user_code.len() == 7 && user_code.as_bytes()[3] == b'-',
        "{got}"
    );
    (
        got["id"].as_str().unwrap().into(),
        got["token"].as_str().unwrap().into(),
        got["url"].as_str().unwrap().into(),
    )
}

/// `GET /authorize/token/{id}`.
pub async fn poll(srv: &TestServer, id: &str) -> (u16, Value) {
    TestServer::send(srv.http.get(srv.url(&format!("/authorize/token/{id}")))).await
}

/// Posts a form as the browser page does: (status, HTML).
pub async fn form(srv: &TestServer, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let res = srv
        .http
        .post(srv.url(path))
        .form(fields)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The code in the body of a mail.
pub fn code_in_mail(mail: &Mail) -> String {
    code_in(&mail.body())
}

/// Signs in with an email code read from `smtp`; the access token.
pub async fn by_email(srv: &TestServer, smtp: &SmtpServer, email: &str) -> String {
    let (id, token, _) = new_request(srv).await;
    let before = smtp.count();
    let (status, page) = form(
        srv,
        "/authorize/code",
        &[("token", &token), ("type", "email"), ("value", email)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let code = code_in_mail(&smtp.mail(before).await);
    let (status, page) = form(
        srv,
        "/authorize/code/verify",
        &[("token", &token), ("code", &code)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let (status, got) = poll(srv, &id).await;
    assert_eq!(status, 200, "{got}");
    got["access_token"].as_str().unwrap().to_owned()
}

/// Signs in through the OIDC provider named `provider`; the access token.
pub async fn by_oidc(srv: &TestServer, provider: &str) -> String {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (id, token, _) = new_request(srv).await;
    let mut url = srv.url(&format!("/authorize/oidc/{provider}?token={token}"));
    // Mooring → provider → Mooring's callback.
    for _ in 0..2 {
        let res = browser.get(&url).send().await.unwrap();
        assert!(res.status().is_redirection(), "{}", res.status());
        url = res.headers()["location"].to_str().unwrap().to_owned();
    }
    let res = browser.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let (status, got) = poll(srv, &id).await;
    assert_eq!(status, 200, "{got}");
    got["access_token"].as_str().unwrap().to_owned()
}

/// Signs in with a code "texted" to `phone` (the test server's SMS
/// stand-in keeps texts); the access token. Needs `sep30.sms.enabled`.
pub async fn by_sms(srv: &TestServer, phone: &str) -> String {
    let (id, token, _) = new_request(srv).await;
    let before = srv.texts.lock().unwrap().len();
    let (status, page) = form(
        srv,
        "/authorize/code",
        &[
            ("token", &token),
            ("type", "phone_number"),
            ("value", phone),
        ],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let text = srv.texts.lock().unwrap()[before].1.clone();
    let (status, page) = form(
        srv,
        "/authorize/code/verify",
        &[("token", &token), ("code", &code_in(&text))],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let (status, got) = poll(srv, &id).await;
    assert_eq!(status, 200, "{got}");
    got["access_token"].as_str().unwrap().to_owned()
}
