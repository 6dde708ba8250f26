//! Where one-time codes go: email over SMTP (lettre), SMS through a
//! provider; in development both go to the log.

use futures::future::BoxFuture;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret as _;

use crate::config::EmailConfig;

/// Sends a plain-text mail.
pub trait Mailer: Send + Sync {
    /// Sends `body` to `to`. The error is logged, never shown to a client.
    fn send<'a>(
        &'a self,
        to: &'a str,
        subject: &'a str,
        body: &'a str,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// Sends a text message to a phone number.
pub trait SmsSender: Send + Sync {
    /// Sends `text` to `to` (E.164).
    fn send<'a>(&'a self, to: &'a str, text: &'a str) -> BoxFuture<'a, Result<(), String>>;
}

/// Development: mail and texts go to the log, the recipient masked.
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
            "development mail sender: not sent, logged (set sep30.email.sender = \"smtp\")"
        );
        Box::pin(async { Ok(()) })
    }
}

impl SmsSender for LogDelivery {
    fn send<'a>(&'a self, to: &'a str, text: &'a str) -> BoxFuture<'a, Result<(), String>> {
        tracing::warn!(
            to = %mask(to),
            text,
            "development SMS sender: not sent, logged"
        );
        Box::pin(async { Ok(()) })
    }
}

/// Mail over SMTP.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpMailer(from {})", self.from)
    }
}

impl SmtpMailer {
    /// A mailer for the configured SMTP URL.
    pub fn new(cfg: &EmailConfig) -> Result<Self, String> {
        let url = cfg
            .smtp_url
            .as_ref()
            .ok_or("sep30.email.smtp_url is not set")?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .map_err(|_| "sep30.email.smtp_url is not a valid smtp:// or smtps:// URL".to_owned())?
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        let from = cfg
            .from
            .parse()
            .map_err(|_| "sep30.email.from is not a valid address".to_owned())?;
        Ok(SmtpMailer { transport, from })
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(
        &'a self,
        to: &'a str,
        subject: &'a str,
        body: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let to: Mailbox = to.parse().map_err(|_| "invalid recipient".to_owned())?;
            let message = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(subject)
                .header(ContentType::TEXT_PLAIN)
                .body(body.to_owned())
                .map_err(|e| format!("could not build the message: {e}"))?;
            self.transport
                .send(message)
                .await
                .map(|_| ())
                // The server's text may quote the recipient: keep the code only.
                .map_err(|e| match e.status() {
                    Some(code) => format!("SMTP delivery refused with status {code}"),
                    None if e.is_timeout() => "SMTP server timed out".to_owned(),
                    None => "could not talk to the SMTP server".to_owned(),
                })
        })
    }
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
