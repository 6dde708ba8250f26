//! Driving the SEP-30 sign-in as a wallet and a person would: a request, the
//! browser page and its forms (or the OIDC redirects), then the poll.

use mooring_server::config::OidcConfig;
use serde_json::Value;

use super::oidc::{self, OidcProvider};
use super::smtp::{Mail, SmtpServer, code_in};
use super::{Engine, HorizonStub, TestServer};

/// A server offering every way of signing in: email codes through `smtp`
/// (at most 3 an hour for an identity), SMS codes, email and password, and
/// the OIDC provider `test` when `provider` is given.
pub async fn start(
    engine: Engine,
    smtp: &SmtpServer,
    provider: Option<&OidcProvider>,
) -> TestServer {
    let smtp_url = smtp.url.clone();
    let issuer = provider.map(|p| p.issuer.clone());
    TestServer::start_with(engine, move |c| {
        c.sep30.email.sender = "smtp".into();
        c.sep30.email.smtp_url = Some(smtp_url.into());
        c.sep30.email.from = "Recovery <recovery@anchor.example>".into();
        c.sep30.sms.enabled = true;
        c.sep30.codes_per_identity_per_hour = 3;
        if let Some(issuer) = issuer {
            c.sep30.oidc.push(OidcConfig {
                label: Some("Test ID".into()),
                ..oidc::config("test", &issuer)
            });
        }
    })
    .await
}

/// Two recovery servers with different identity providers, as in the
/// sequence diagrams of ../seeds/003, sharing one Horizon stand-in: one
/// signs people in with codes mailed through `smtp`, the other only
/// through the OpenID Connect provider `id` of `provider`.
pub struct TwoServers {
    pub horizon: HorizonStub,
    pub smtp: SmtpServer,
    pub provider: OidcProvider,
    pub email: TestServer,
    pub oidc: TestServer,
}

impl TwoServers {
    pub async fn start(engine: Engine) -> TwoServers {
        let horizon = HorizonStub::start().await;
        let smtp = SmtpServer::start().await;
        let provider = OidcProvider::start().await;
        let (h1, h2) = (horizon.url.clone(), horizon.url.clone());
        let smtp_url = smtp.url.clone();
        let email = TestServer::start_with(engine, move |c| {
            c.stellar.horizon_url = Some(h1);
            c.sep30.email.sender = "smtp".into();
            c.sep30.email.smtp_url = Some(smtp_url.into());
        })
        .await;
        let issuer = provider.issuer.clone();
        let oidc = TestServer::start_with(engine, move |c| {
            c.stellar.horizon_url = Some(h2);
            c.sep30.email.enabled = false;
            c.sep30.oidc.push(OidcConfig {
                label: Some("ID".into()),
                ..oidc::config("id", &issuer)
            });
        })
        .await;
        TwoServers {
            horizon,
            smtp,
            provider,
            email,
            oidc,
        }
    }
}

/// A browser that does not follow redirects, for a test to follow them.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

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

/// `GET url` as `browser`, whatever the answer.
pub async fn visit(browser: &reqwest::Client, url: &str) -> reqwest::Response {
    browser.get(url).send().await.unwrap()
}

/// Where the sign-in page sends a browser to sign in with the OIDC provider
/// named `provider`.
pub fn oidc_url(srv: &TestServer, provider: &str, token: &str) -> String {
    srv.url(&format!("/authorize/oidc/{provider}?token={token}"))
}

/// Where a redirect goes.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

/// Follows the two redirects of an OIDC sign-in from `url` (Mooring →
/// provider → Mooring's callback), checking nothing; the callback's URL.
pub async fn to_callback(browser: &reqwest::Client, mut url: String) -> String {
    for _ in 0..2 {
        let res = visit(browser, &url).await;
        url = location(&res);
    }
    url
}

/// Tries to sign in through the OIDC provider named `provider`, following
/// the redirects without checking them: (the request's id, the status of
/// Mooring's callback).
pub async fn oidc_attempt(
    srv: &TestServer,
    browser: &reqwest::Client,
    provider: &str,
) -> (String, reqwest::StatusCode) {
    let (id, token, _) = new_request(srv).await;
    let back = to_callback(browser, oidc_url(srv, provider, &token)).await;
    let status = visit(browser, &back).await.status();
    (id, status)
}

/// Asks for a code of `kind` (`email`, `phone_number`) to `value`.
pub async fn send_code(srv: &TestServer, token: &str, kind: &str, value: &str) -> (u16, String) {
    let fields = [("token", token), ("type", kind), ("value", value)];
    form(srv, "/authorize/code", &fields).await
}

/// Enters a code sent by email or SMS.
pub async fn verify_code(srv: &TestServer, token: &str, code: &str) -> (u16, String) {
    let fields = [("token", token), ("code", code)];
    form(srv, "/authorize/code/verify", &fields).await
}

/// Signs up `email` with `password`.
pub async fn sign_up(srv: &TestServer, token: &str, email: &str, password: &str) -> (u16, String) {
    let fields = [("token", token), ("email", email), ("password", password)];
    form(srv, "/authorize/signup", &fields).await
}

/// Confirms an address through the mailed `link`, with the password.
pub async fn confirm(srv: &TestServer, link: &str, password: &str) -> (u16, String) {
    let fields = [("link", link), ("password", password)];
    form(srv, "/authorize/confirm", &fields).await
}

/// Signs in with an email address and password.
pub async fn password_sign_in(
    srv: &TestServer,
    token: &str,
    email: &str,
    password: &str,
) -> (u16, String) {
    let fields = [("token", token), ("email", email), ("password", password)];
    form(srv, "/authorize/password", &fields).await
}

/// Enters the authenticator app's code.
pub async fn totp_code(srv: &TestServer, token: &str, code: &str) -> (u16, String) {
    let fields = [("token", token), ("code", code)];
    form(srv, "/authorize/totp", &fields).await
}

/// Starts setting up an authenticator app, with the password.
pub async fn totp_setup(
    srv: &TestServer,
    token: &str,
    email: &str,
    password: &str,
) -> (u16, String) {
    let fields = [("token", token), ("email", email), ("password", password)];
    form(srv, "/authorize/totp/setup", &fields).await
}

/// Asks for a password reset link for `email`.
pub async fn reset(srv: &TestServer, token: &str, email: &str) -> (u16, String) {
    let fields = [("token", token), ("email", email)];
    form(srv, "/authorize/reset", &fields).await
}

/// Sets a new password through the mailed reset `link`.
pub async fn reset_new(srv: &TestServer, link: &str, password: &str) -> (u16, String) {
    let fields = [("link", link), ("password", password)];
    form(srv, "/authorize/reset/new", &fields).await
}

/// The link in a mail that goes to `path`.
pub fn link_in(mail: &str, path: &str) -> String {
    let start = mail
        .find(path)
        .unwrap_or_else(|| panic!("no {path} link in {mail}"));
    let rest = &mail[start..];
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let query = &rest[..end];
    query.split_once("link=").unwrap().1.to_owned()
}

/// The link to `path` in the `n`th mail `smtp` received.
pub async fn mailed_link(smtp: &SmtpServer, n: usize, path: &str) -> String {
    link_in(&smtp.mail(n).await.body(), path)
}

/// Signs up `email` and confirms it through the mailed link.
pub async fn signed_up(srv: &TestServer, smtp: &SmtpServer, email: &str, password: &str) {
    let (_, token, _) = new_request(srv).await;
    let before = smtp.count();
    let (status, page) = sign_up(srv, &token, email, password).await;
    assert_eq!(status, 200, "{page}");
    let link = mailed_link(smtp, before, "/authorize/confirm?").await;
    assert_eq!(confirm(srv, &link, password).await.0, 200);
}

/// The code in the body of a mail.
pub fn code_in_mail(mail: &Mail) -> String {
    code_in(&mail.body())
}

/// Polls `id` once the person is signed in; the access token.
async fn access_token(srv: &TestServer, id: &str) -> String {
    let (status, got) = poll(srv, id).await;
    assert_eq!(status, 200, "{got}");
    got["access_token"].as_str().unwrap().to_owned()
}

/// Signs in with an email code read from `smtp`; the access token.
pub async fn by_email(srv: &TestServer, smtp: &SmtpServer, email: &str) -> String {
    let (id, token, _) = new_request(srv).await;
    let before = smtp.count();
    let (status, page) = send_code(srv, &token, "email", email).await;
    assert_eq!(status, 200, "{page}");
    let code = code_in_mail(&smtp.mail(before).await);
    let (status, page) = verify_code(srv, &token, &code).await;
    assert_eq!(status, 200, "{page}");
    access_token(srv, &id).await
}

/// Signs in through the OIDC provider named `provider`; the access token.
pub async fn by_oidc(srv: &TestServer, provider: &str) -> String {
    let browser = no_redirects();
    let (id, token, _) = new_request(srv).await;
    let mut url = oidc_url(srv, provider, &token);
    // Mooring → provider → Mooring's callback.
    for _ in 0..2 {
        let res = visit(&browser, &url).await;
        assert!(res.status().is_redirection(), "{}", res.status());
        url = location(&res);
    }
    let res = visit(&browser, &url).await;
    assert_eq!(res.status(), 200);
    access_token(srv, &id).await
}

/// Signs in with a code "texted" to `phone` (the test server's SMS
/// stand-in keeps texts); the access token. Needs `sep30.sms.enabled`.
pub async fn by_sms(srv: &TestServer, phone: &str) -> String {
    let (id, token, _) = new_request(srv).await;
    let before = srv.texts.lock().unwrap().len();
    let (status, page) = send_code(srv, &token, "phone_number", phone).await;
    assert_eq!(status, 200, "{page}");
    let text = srv.texts.lock().unwrap()[before].1.clone();
    let (status, page) = verify_code(srv, &token, &code_in(&text)).await;
    assert_eq!(status, 200, "{page}");
    access_token(srv, &id).await
}
