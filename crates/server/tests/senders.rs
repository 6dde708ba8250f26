//! The real senders, over real connections, on SQLite and PostgreSQL: SEP-12
//! verification codes by mail (the SMTP server on loopback) and by text (a
//! stand-in of Twilio's Messages resource on loopback), SEP-30 sign-in codes
//! by text, and what a refusing or unreachable sender does — answered as
//! before, with no address, number or code in the server's logs or answers.

mod common;

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use common::customer::put_json;
use common::recovery::read_new_account;
use common::signin::{new_request, poll, send_code, verify_code};
use common::smtp::{SmtpServer, code_in};
use common::twilio::{ACCOUNT_SID, AUTH_TOKEN, FROM, TwilioServer};
use common::{Engine, TestServer};
use mooring_server::config::{Config, MailSenderKind, SmsSenderKind};
use reqwest::Method;
use serde_json::{Value, json};

const EMAIL: &str = "ann.lee@example.com";
const PHONE: &str = "+14155552671";
/// A Messaging Service SID, sent as `MessagingServiceSid` instead of `From`.
const SERVICE: &str = "MG0123456789abcdef0123456789abcdef";

/// Everything this process logs, at every level: the server runs in it.
fn logs() -> String {
    static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    struct Sink;
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            LOGS.get().unwrap().lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    if LOGS.set(Mutex::new(Vec::new())).is_ok() {
        tracing_subscriber::fmt()
            .with_env_filter("trace")
            .with_ansi(false)
            .without_time()
            .with_writer(|| Sink)
            .init();
    }
    String::from_utf8_lossy(&LOGS.get().unwrap().lock().unwrap()).into_owned()
}

/// Asserts that none of `secrets` is in the logs or in `answers`.
#[track_caller]
fn nothing_personal(secrets: &[&str], answers: &[&str]) {
    let logs = logs();
    for s in secrets {
        assert!(!logs.contains(s), "the logs contain {s}:\n{logs}");
        for a in answers {
            assert!(!a.contains(s), "an answer contains {s}: {a}");
        }
    }
}

/// `[mail]` through `smtp_url`.
fn mail_to(c: &mut Config, smtp_url: &str) {
    c.mail.sender = Some(MailSenderKind::Smtp);
    c.mail.smtp_url = Some(smtp_url.into());
    c.mail.from = Some("Anchor KYC <kyc@anchor.example>".into());
}

/// `[sms]` through the stand-in, from `from`.
fn sms_to(c: &mut Config, twilio: &TwilioServer, from: &str) {
    c.sms.sender = SmsSenderKind::Twilio;
    c.sms.api_url = twilio.url.clone();
    c.sms.account_sid = Some(ACCOUNT_SID.into());
    c.sms.auth_token = Some(AUTH_TOKEN.into());
    c.sms.from = Some(from.into());
}

/// A server whose SEP-12 verifies both fields with `notify`, and whose
/// SEP-30 offers codes by mail (`smtp`) and text (`twilio`).
async fn start(engine: Engine, smtp_url: &str, twilio: &TwilioServer, from: &str) -> TestServer {
    logs();
    let smtp_url = smtp_url.to_owned();
    let twilio = twilio.clone();
    let from = from.to_owned();
    let srv = TestServer::start_with_configured_senders(engine, move |c| {
        mail_to(c, &smtp_url);
        sms_to(c, &twilio, &from);
        c.sep12.verification.fields = vec!["mobile_number".into(), "email_address".into()];
        c.sep12.verification.sender = "notify".into();
        c.sep30.email.sender = "smtp".into();
        c.sep30.sms.enabled = true;
        c.sep30.sms.sender = "twilio".into();
    })
    .await;
    let warned = srv.report.warnings.join("\n");
    assert!(!warned.contains("go to the log"), "{warned}");
    srv
}

async fn status_of(srv: &TestServer, token: &str) -> Value {
    TestServer::send(srv.with_token(Method::GET, "/customer?type=sep31-sender", token))
        .await
        .1
}

async fn put_person(srv: &TestServer, token: &str) -> (u16, Value) {
    let person = json!({"first_name": "Ann", "last_name": "Lee", "email_address": EMAIL, "mobile_number": PHONE});
    put_json(srv, token, person).await
}

async fn sep12_codes_arrive_by_mail_and_text_and_confirm_the_fields(engine: Engine) {
    let (smtp, twilio) = (SmtpServer::start().await, TwilioServer::start().await);
    let srv = start(engine, &smtp.url, &twilio, FROM).await;
    let (_, token) = srv.login().await;
    let (status, body) = put_person(&srv, &token).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let seen = status_of(&srv, &token).await;
    for field in ["email_address", "mobile_number"] {
        assert_eq!(
            seen["provided_fields"][field]["status"], "VERIFICATION_REQUIRED",
            "{seen}"
        );
    }

    let mail = smtp.mail(0).await;
    assert_eq!(mail.to, [EMAIL]);
    assert!(mail.data.contains("kyc@anchor.example"), "{}", mail.data);
    assert!(mail.data.contains("Subject: Confirm your email address"));
    let body = mail.body();
    let host = srv.base.host_str().unwrap();
    assert!(
        body.contains(&format!("confirm this email address with {host}")),
        "{body}"
    );
    assert!(body.contains("It expires in 10 minutes"), "{body}");
    let text = twilio.sms(0).await;
    assert_eq!(text.to, PHONE);
    assert_eq!(text.from.as_deref(), Some(FROM));
    assert!(text.body.contains("confirm this phone number"), "{text:?}");
    assert!(text.body.contains("expires in 10 minutes"), "{text:?}");
    assert!(twilio.malformed().is_empty(), "{:?}", twilio.malformed());
    let (email_code, phone_code) = (code_in(&body), code_in(&text.body));

    // SEP-12 §Customer PUT Verification: the codes come back and the
    // fields are confirmed.
    let verify = srv
        .with_token(Method::PUT, "/customer/verification", &token)
        .json(&json!({"id": id, "email_address_verification": email_code, "mobile_number_verification": phone_code}));
    let (status, got) = TestServer::send(verify).await;
    assert_eq!(status, 200, "{got}");
    for field in ["email_address", "mobile_number"] {
        assert_eq!(got["provided_fields"][field]["status"], "ACCEPTED", "{got}");
    }
    nothing_personal(
        &[EMAIL, PHONE, &email_code, &phone_code],
        &[&got.to_string()],
    );
    srv.stop().await;
}

async fn sep30_sms_sign_in_goes_through_the_sms_api(engine: Engine) {
    let (smtp, twilio) = (SmtpServer::start().await, TwilioServer::start().await);
    let srv = start(engine, &smtp.url, &twilio, SERVICE).await;
    let (id, token, _) = new_request(&srv).await;
    let (status, page) = send_code(&srv, &token, "phone_number", PHONE).await;
    assert_eq!(status, 200, "{page}");
    let text = twilio.sms(0).await;
    assert_eq!(text.to, PHONE);
    // A Messaging Service chooses the number itself: no `From`.
    assert_eq!(
        (text.from, text.messaging_service_sid.as_deref()),
        (None, Some(SERVICE))
    );
    let code = code_in(&text.body);
    let (status, page) = verify_code(&srv, &token, &code).await;
    assert_eq!(status, 200, "{page}");
    let (_, got) = poll(&srv, &id).await;
    assert_eq!(got["auth_method_type"], "phone_number", "{got}");
    let access = got["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        read_new_account(&srv, "phone_number", PHONE, &access).await,
        200
    );
    assert_eq!(smtp.count(), 0);
    nothing_personal(&[PHONE, &code], &[]);
    srv.stop().await;
}

async fn refused_texts_and_unreachable_mail_are_answered_as_sender_failures(engine: Engine) {
    let twilio = TwilioServer::start().await;
    // Twilio's 21211, "Invalid 'To' Phone Number"; no SMTP server at all.
    twilio.refuse(Some((400, 21211)));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let smtp_url = format!("smtp://{}", closed.local_addr().unwrap());
    drop(closed);
    let srv = start(engine, &smtp_url, &twilio, FROM).await;

    // SEP-12: the customer is kept and the fields wait for a code, as when
    // any sender fails (customers/service.rs `send_codes` logs it).
    let (_, token) = srv.login().await;
    let (status, put) = put_person(&srv, &token).await;
    assert_eq!(status, 202, "{put}");
    let seen = status_of(&srv, &token).await;
    for field in ["email_address", "mobile_number"] {
        assert_eq!(
            seen["provided_fields"][field]["status"], "VERIFICATION_REQUIRED",
            "{seen}"
        );
    }
    let sep12_code = code_in(&twilio.sms(0).await.body);

    // SEP-30: 503 with the generic message, and the code is void.
    let (_, token, _) = new_request(&srv).await;
    let (status, phone_page) = send_code(&srv, &token, "phone_number", PHONE).await;
    assert_eq!(status, 503, "{phone_page}");
    assert!(
        phone_page.contains("the sign-in service is unavailable right now"),
        "{phone_page}"
    );
    let sep30_code = code_in(&twilio.sms(1).await.body);
    let (status, _) = verify_code(&srv, &token, &sep30_code).await;
    assert_ne!(status, 200);
    let (_, token, _) = new_request(&srv).await;
    let (status, mail_page) = send_code(&srv, &token, "email", EMAIL).await;
    assert_eq!(status, 503, "{mail_page}");

    let logs = logs();
    // What failed is logged: the provider's status and error code, and
    // that the SMTP server could not be reached.
    assert!(
        logs.contains("the SMS provider refused the message: HTTP 400, error code 21211"),
        "{logs}"
    );
    assert!(logs.contains("could not talk to the SMTP server"), "{logs}");
    assert!(twilio.malformed().is_empty(), "{:?}", twilio.malformed());
    nothing_personal(
        &[
            EMAIL,
            PHONE,
            &sep12_code,
            &sep30_code,
            "not a valid phone number",
        ],
        &[&put.to_string(), &phone_page, &mail_page],
    );
    srv.stop().await;
}

crate::on_both_engines!(
    sep12_codes_arrive_by_mail_and_text_and_confirm_the_fields,
    sep30_sms_sign_in_goes_through_the_sms_api,
    refused_texts_and_unreachable_mail_are_answered_as_sender_failures,
);
