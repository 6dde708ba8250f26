//! Texts through an HTTP SMS API in the shape of Twilio's Programmable
//! Messaging (the Messages resource, <https://www.twilio.com/docs/messaging/api/message-resource>):
//! `POST {api}/2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP
//! Basic auth (AccountSid:AuthToken) and a form of `To`, `From` (or
//! `MessagingServiceSid`) and `Body`; `201 Created` with the message's JSON
//! on success, otherwise a JSON error with `code` and `message`
//! (<https://www.twilio.com/docs/usage/twilios-response>).

use std::time::Duration;

use futures::future::BoxFuture;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use super::SmsSender;
use crate::config::{SmsFrom, SmsProviderConfig};

/// Texts through Twilio (or anything that speaks its Messages resource).
pub struct TwilioSms {
    client: reqwest::Client,
    /// `{api_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`.
    endpoint: String,
    account_sid: String,
    auth_token: SecretString,
    from: SmsFrom,
}

impl std::fmt::Debug for TwilioSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a password; the endpoint names the account only.
        write!(f, "TwilioSms({}, auth token redacted)", self.endpoint)
    }
}

/// The part of Twilio's error body that may be logged: its `message` can
/// quote the recipient's number, so it is not read at all.
#[derive(Deserialize)]
struct ErrorBody {
    code: Option<u64>,
}

impl TwilioSms {
    /// A sender for `[sms]` (checked at load: sender `twilio` has an
    /// account SID, a token and a sender).
    pub fn new(cfg: &SmsProviderConfig) -> Result<Self, String> {
        let account_sid = cfg
            .account_sid
            .clone()
            .ok_or("sms.account_sid is not set")?;
        let auth_token = cfg.auth_token.clone().ok_or("sms.auth_token is not set")?;
        let from = cfg
            .from
            .as_deref()
            .and_then(SmsFrom::parse)
            .ok_or("sms.from is not a phone number, sender ID or Messaging Service SID")?;
        let timeout = Duration::from_secs(cfg.timeout_secs);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A POST is answered, not redirected; a redirect would be a
            // misconfigured api_url, and following it could send the
            // credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mooring/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| "could not set up the SMS provider's HTTP client".to_owned())?;
        let endpoint = format!(
            "{}/2010-04-01/Accounts/{account_sid}/Messages.json",
            cfg.api_url.as_str().trim_end_matches('/')
        );
        Ok(TwilioSms {
            client,
            endpoint,
            account_sid,
            auth_token,
            from,
        })
    }
}

impl SmsSender for TwilioSms {
    fn send<'a>(&'a self, to: &'a str, text: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let (from_field, from) = self.from.form_field();
            let res = self
                .client
                .post(&self.endpoint)
                .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
                .form(&[("To", to), (from_field, from), ("Body", text)])
                .send()
                .await
                // reqwest's errors carry the URL; say only what happened.
                .map_err(|e| {
                    if e.is_timeout() {
                        "the SMS provider timed out".to_owned()
                    } else {
                        "could not reach the SMS provider".to_owned()
                    }
                })?;
            let status = res.status();
            // The Messages resource answers 201 Created; any 2xx is taken as
            // accepted (a compatible API may answer 200).
            if status.is_success() {
                return Ok(());
            }
            let code = res
                .json::<ErrorBody>()
                .await
                .ok()
                .and_then(|b| b.code)
                .map_or_else(String::new, |c| format!(", error code {c}"));
            Err(format!(
                "the SMS provider refused the message: HTTP {}{code}",
                status.as_u16()
            ))
        })
    }
}
