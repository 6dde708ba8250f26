//! Mail and text messages to people: one-time sign-in codes (SEP-30),
//! verification codes (SEP-12 §Verification). Shared below the
//! capabilities, so that none of them imports another to send a message.
//!
//! Senders never put a recipient, a text or a code into an error or a log
//! line, except the development [`LogDelivery`] (which the server warns
//! about at start): an error says what failed (a status, a provider's error
//! code), and callers log it once.

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::config::{MailSenderKind, MailSettings, SmsProviderConfig, SmsSenderKind};

mod mail;
mod sms;

pub use mail::SmtpMailer;
pub use sms::TwilioSms;

/// Sends a plain-text mail.
pub trait Mailer: Send + Sync {
    /// Sends `body` to `to`. The error is logged, never shown to a client,
    /// and names neither the recipient nor the text.
    fn send<'a>(
        &'a self,
        to: &'a str,
        subject: &'a str,
        body: &'a str,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// Sends a text message to a phone number.
pub trait SmsSender: Send + Sync {
    /// Sends `text` to `to` (E.164). The error names neither.
    fn send<'a>(&'a self, to: &'a str, text: &'a str) -> BoxFuture<'a, Result<(), String>>;
}

/// Development: mail and texts go to the log, the recipient masked (the
/// text, code included, is logged: that is the point of it).
#[derive(Debug, Default)]
pub struct LogDelivery;

/// `ann@example.com` → `a***@example.com`; `+14155550100` → `+1***00`.
pub fn mask(to: &str) -> String {
    match to.split_once('@') {
        Some((local, domain)) => {
            format!("{}***@{domain}", local.chars().next().unwrap_or('*'))
        }
        None => {
            let head: String = to.chars().take(2).collect();
            let tail: String = to
                .chars()
                .rev()
                .take(2)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("{head}***{tail}")
        }
    }
}

impl Mailer for LogDelivery {
    fn send<'a>(
        &'a self,
        to: &'a str,
        subject: &'a str,
        body: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        tracing::warn!(
            to = %mask(to),
            subject,
            body,
            "development mail sender: not sent, logged (set mail.sender = \"smtp\")"
        );
        Box::pin(async { Ok(()) })
    }
}

impl SmsSender for LogDelivery {
    fn send<'a>(&'a self, to: &'a str, text: &'a str) -> BoxFuture<'a, Result<(), String>> {
        tracing::warn!(
            to = %mask(to),
            text,
            "development SMS sender: not sent, logged (set sms.sender = \"twilio\")"
        );
        Box::pin(async { Ok(()) })
    }
}

/// The server's mailer as configured (`[mail]`, or the older
/// `[sep30.email]` settings it falls back to): SMTP, or the log.
pub fn mailer(settings: &MailSettings<'_>) -> Result<Arc<dyn Mailer>, String> {
    Ok(match settings.sender {
        MailSenderKind::Smtp => Arc::new(SmtpMailer::new(settings)?),
        MailSenderKind::Log => Arc::new(LogDelivery),
    })
}

/// The server's SMS sender as configured (`[sms]`): Twilio, or the log.
pub fn sms_sender(cfg: &SmsProviderConfig) -> Result<Arc<dyn SmsSender>, String> {
    Ok(match cfg.sender {
        SmsSenderKind::Twilio => Arc::new(TwilioSms::new(cfg)?),
        SmsSenderKind::Log => Arc::new(LogDelivery),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_masked() {
        assert_eq!(mask("ann@example.com"), "a***@example.com");
        assert_eq!(mask("+14155550100"), "+1***00");
    }
}
