//! Mail over SMTP (lettre): `smtp://` (optionally STARTTLS) or `smtps://`.

use futures::future::BoxFuture;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret as _;

use super::Mailer;
use crate::config::MailSettings;

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
    /// A mailer for the configured SMTP URL (checked at load; the errors
    /// here name the setting for configurations made in code).
    pub fn new(settings: &MailSettings<'_>) -> Result<Self, String> {
        let url = settings
            .smtp_url
            .ok_or_else(|| format!("{} is not set", settings.smtp_url_key))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .map_err(|_| {
                format!(
                    "{} is not a valid smtp:// or smtps:// URL",
                    settings.smtp_url_key
                )
            })?
            .timeout(Some(settings.timeout))
            .build();
        let from = settings
            .from
            .parse()
            .map_err(|_| format!("{} is not a valid address", settings.from_key))?;
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
                // lettre's builder errors name a header, not its value.
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
