//! An SMS API on loopback in the shape of Twilio's Programmable Messaging
//! (the Messages resource: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`,
//! HTTP Basic auth with the Account SID and Auth Token, a form of `To`,
//! `From` or `MessagingServiceSid`, and `Body`; `201 Created` with the
//! message's JSON, errors as JSON with `code`, `message`, `more_info` and
//! `status`). It checks what Twilio checks, keeps what it is sent, and can
//! be told to refuse.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use serde_json::json;
use url::Url;

/// A test Account SID (`AC` and 32 hexadecimal digits).
pub const ACCOUNT_SID: &str = "ACa1b2c3d4e5f60718293a4b5c6d7e8f90";
/// Its Auth Token.
pub const AUTH_TOKEN: &str = "test-twilio-auth-token-0123456789";
/// The number texts come from.
pub const FROM: &str = "+15005550006";

/// A message the API was asked to send: its form parameters.
#[derive(Debug, Clone)]
pub struct Sms {
    pub to: String,
    pub from: Option<String>,
    pub messaging_service_sid: Option<String>,
    pub body: String,
}

#[derive(Default)]
struct Inner {
    /// Every well-formed, authenticated request, refused or not.
    asked: Vec<Sms>,
    /// Answer this HTTP status and Twilio error code instead of sending.
    refuse: Option<(u16, u64)>,
    /// Requests refused for their form or their credentials, and why.
    malformed: Vec<String>,
}

/// The stand-in; `url` is what `sms.api_url` is set to.
#[derive(Clone)]
pub struct TwilioServer {
    pub url: Url,
    inner: Arc<Mutex<Inner>>,
}

impl TwilioServer {
    pub async fn start() -> TwilioServer {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(messages))
            .with_state(inner.clone());
        let url = super::serve(app).await;
        TwilioServer { url, inner }
    }

    /// From now on, answer `status` with Twilio's error `code` (e.g. 400
    /// and 21211, "Invalid 'To' Phone Number"); `None` sends again.
    pub fn refuse(&self, with: Option<(u16, u64)>) {
        self.inner.lock().unwrap().refuse = with;
    }

    /// Waits for the `n`th request (0-based) to arrive.
    pub async fn sms(&self, n: usize) -> Sms {
        for _ in 0..200 {
            if let Some(m) = self.inner.lock().unwrap().asked.get(n) {
                return m.clone();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no text #{n} arrived");
    }

    /// How many well-formed, authenticated requests arrived.
    pub fn count(&self) -> usize {
        self.inner.lock().unwrap().asked.len()
    }

    /// Requests refused as Twilio would refuse them, and why.
    pub fn malformed(&self) -> Vec<String> {
        self.inner.lock().unwrap().malformed.clone()
    }
}

/// Twilio's error body (https://www.twilio.com/docs/usage/twilios-response).
fn error(status: u16, code: u64, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        })),
    )
        .into_response()
}

async fn messages(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let reject = |why: &str, status: u16, code: u64| {
        inner.lock().unwrap().malformed.push(why.to_owned());
        error(status, code, why)
    };
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"))
    );
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(expected.as_str()) {
        return reject("Authenticate", 401, 20003);
    }
    if sid != ACCOUNT_SID {
        return reject("The requested resource was not found", 404, 20404);
    }
    let form_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let Ok(form) = serde_urlencoded::from_str::<HashMap<String, String>>(&body) else {
        return reject("The request body is not a form", 400, 20001);
    };
    if !form_type {
        return reject("The request body is not a form", 400, 20001);
    }
    let (Some(to), Some(text)) = (form.get("To"), form.get("Body")) else {
        return reject("A 'To' phone number and a 'Body' are required.", 400, 21604);
    };
    let (from, service) = (form.get("From"), form.get("MessagingServiceSid"));
    if from.is_none() && service.is_none() {
        return reject(
            "A 'From' phone number or a 'MessagingServiceSid' is required.",
            400,
            21603,
        );
    }
    let sms = Sms {
        to: to.clone(),
        from: from.cloned(),
        messaging_service_sid: service.cloned(),
        body: text.clone(),
    };
    let refuse = {
        let mut inner = inner.lock().unwrap();
        inner.asked.push(sms.clone());
        inner.refuse
    };
    if let Some((status, code)) = refuse {
        // Twilio's own messages quote the number: a client must not log them.
        return error(
            status,
            code,
            &format!("The 'To' number {} is not a valid phone number.", sms.to),
        );
    }
    let id = format!("SM{}", hex::encode(rand::random::<[u8; 16]>()));
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "sid": id,
            "account_sid": ACCOUNT_SID,
            "api_version": "2010-04-01",
            "to": sms.to,
            "from": sms.from,
            "messaging_service_sid": sms.messaging_service_sid,
            "body": sms.body,
            "status": "queued",
            "direction": "outbound-api",
            "num_segments": "1",
            "error_code": null,
            "error_message": null,
            "uri": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{id}.json"),
        })),
    )
        .into_response()
}
