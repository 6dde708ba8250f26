//! Configuration of the server's two ways of reaching people, shared by the
//! capabilities: mail (`[mail]`) and text messages (`[sms]`). SEP-30 sends
//! its sign-in codes through them when `sep30.email.sender = "smtp"` /
//! `sep30.sms.sender = "twilio"`; SEP-12 its verification codes when
//! `sep12.verification.sender = "notify"`. Otherwise codes go to the log
//! (development).
//!
//! `[mail]` came after `[sep30.email]`, which held the SMTP settings: each
//! `[mail]` key left out takes its `[sep30.email]` value, so older
//! configurations keep working; giving a setting in both places is refused.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use super::recovery::{EmailConfig, is_allowed_url, read_secret};
use super::{Config, ConfigError, invalid};

/// How mail is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailSenderKind {
    /// Development: mail goes to the log.
    Log,
    /// Through the SMTP server at `smtp_url`.
    Smtp,
}

/// `[mail]`: the server's mail, for SEP-30 sign-in mail and SEP-12
/// verification codes.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct MailConfig {
    /// `log` or `smtp`; left out, `sep30.email.sender`.
    pub sender: Option<MailSenderKind>,
    /// `smtp://host:port` (add `?tls=required` for STARTTLS) or
    /// `smtps://user:password@host`; left out, `sep30.email.smtp_url`. May
    /// hold a password: prefer the _file.
    pub smtp_url: Option<SecretString>,
    /// File holding `smtp_url`.
    pub smtp_url_file: Option<PathBuf>,
    /// The From address; left out, `sep30.email.from`.
    pub from: Option<String>,
    /// Seconds a delivery to the SMTP server may take.
    pub timeout_secs: u64,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            sender: None,
            smtp_url: None,
            smtp_url_file: None,
            from: None,
            timeout_secs: 10,
        }
    }
}

/// The mail settings in effect: `[mail]`, each key left out taken from
/// `[sep30.email]`; with the name of the setting each value came from.
#[derive(Debug)]
pub struct MailSettings<'a> {
    /// How mail is sent.
    pub sender: MailSenderKind,
    /// The SMTP server.
    pub smtp_url: Option<&'a SecretString>,
    /// Where `smtp_url` is (or would be) set, for messages.
    pub smtp_url_key: &'static str,
    /// The From address.
    pub from: &'a str,
    /// Where `from` is set, for messages.
    pub from_key: &'static str,
    /// How long a delivery may take.
    pub timeout: Duration,
}

/// How text messages are sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsSenderKind {
    /// Development: texts go to the log.
    #[default]
    Log,
    /// Through Twilio's Programmable Messaging API (or one of its shape).
    Twilio,
}

/// `[sms]`: the server's text messages, for SEP-30 sign-in codes and SEP-12
/// verification codes.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct SmsProviderConfig {
    /// `log` or `twilio`.
    pub sender: SmsSenderKind,
    /// The API's base URL (a proxy or a compatible service may stand in).
    pub api_url: Url,
    /// The Account SID (`AC…`), the user name of HTTP Basic auth and part
    /// of the Messages resource's path.
    pub account_sid: Option<String>,
    /// The Auth Token, the password of HTTP Basic auth. Prefer the _file.
    pub auth_token: Option<SecretString>,
    /// File holding `auth_token`.
    pub auth_token_file: Option<PathBuf>,
    /// Who texts come from: a number in E.164 format, an alphanumeric
    /// sender ID or short code, or a Messaging Service SID (`MG…`).
    pub from: Option<String>,
    /// Seconds a request to the API may take.
    pub timeout_secs: u64,
}

impl Default for SmsProviderConfig {
    fn default() -> Self {
        SmsProviderConfig {
            sender: SmsSenderKind::Log,
            api_url: Url::parse("https://api.twilio.com").expect("a valid URL"),
            account_sid: None,
            auth_token: None,
            auth_token_file: None,
            from: None,
            timeout_secs: 10,
        }
    }
}

/// Who a text comes from, as the Messages resource takes it: `From` (a
/// number in E.164 format, a short code, or an alphanumeric sender ID of
/// at most 11 letters, digits and spaces with one letter at least), or
/// `MessagingServiceSid` (`MG` and 32 hexadecimal digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsFrom {
    /// A number or a sender ID: the `From` parameter.
    From(String),
    /// A Messaging Service: the `MessagingServiceSid` parameter.
    MessagingService(String),
}

impl SmsFrom {
    /// Reads `sms.from`.
    pub fn parse(s: &str) -> Option<SmsFrom> {
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if is_sid(s, "MG") {
            return Some(SmsFrom::MessagingService(s.to_owned()));
        }
        let e164 = s
            .strip_prefix('+')
            .is_some_and(|n| (7..=15).contains(&n.len()) && digits(n) && !n.starts_with('0'));
        let short_code = (3..=8).contains(&s.len()) && digits(s);
        let sender_id = (1..=11).contains(&s.len())
            && s.bytes().any(|b| b.is_ascii_alphabetic())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ');
        (e164 || short_code || sender_id).then(|| SmsFrom::From(s.to_owned()))
    }

    /// The form parameter and its value.
    pub fn form_field(&self) -> (&'static str, &str) {
        match self {
            SmsFrom::From(v) => ("From", v),
            SmsFrom::MessagingService(v) => ("MessagingServiceSid", v),
        }
    }
}

/// A Twilio SID: a two-letter prefix and 32 hexadecimal digits.
fn is_sid(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Config {
    /// The mail settings in effect (see the module's documentation).
    pub fn mail_settings(&self) -> MailSettings<'_> {
        let (m, e) = (&self.mail, &self.sep30.email);
        let sender = m.sender.unwrap_or(if e.sender == "smtp" {
            MailSenderKind::Smtp
        } else {
            MailSenderKind::Log
        });
        let (smtp_url, smtp_url_key) = match (&m.smtp_url, &e.smtp_url) {
            (Some(u), _) => (Some(u), "mail.smtp_url"),
            (None, Some(u)) => (Some(u), "sep30.email.smtp_url"),
            (None, None) if m.sender.is_some() => (None, "mail.smtp_url"),
            (None, None) => (None, "sep30.email.smtp_url"),
        };
        let (from, from_key) = match &m.from {
            Some(f) => (f.as_str(), "mail.from"),
            None => (e.from.as_str(), "sep30.email.from"),
        };
        MailSettings {
            sender,
            smtp_url,
            smtp_url_key,
            from,
            from_key,
            timeout: Duration::from_secs(m.timeout_secs),
        }
    }

    /// Reads `[mail]`'s and `[sms]`'s secrets given as files and checks
    /// them, and which senders the capabilities ask for. After
    /// `sep30.resolve` (it reads `sep30.email.smtp_url_file`).
    pub(super) fn resolve_notify(&mut self) -> Result<(), ConfigError> {
        let m = &mut self.mail;
        read_secret("mail.smtp_url", &mut m.smtp_url, &m.smtp_url_file)?;
        let s = &mut self.sms;
        read_secret("sms.auth_token", &mut s.auth_token, &s.auth_token_file)?;
        self.check_mail()?;
        self.check_sms()?;
        self.check_code_senders()
    }

    fn check_mail(&self) -> Result<(), ConfigError> {
        let (m, e) = (&self.mail, &self.sep30.email);
        let twice = "is given twice, under [mail] and [sep30.email]: keep it under [mail] only";
        if m.smtp_url.is_some() && e.smtp_url.is_some() {
            return Err(invalid("mail.smtp_url", twice));
        }
        if m.from.is_some() && e.from != EmailConfig::default().from {
            return Err(invalid("mail.from", twice));
        }
        if m.sender == Some(MailSenderKind::Log) && e.sender == "smtp" {
            return Err(invalid(
                "sep30.email.sender",
                "is \"smtp\" but mail.sender is \"log\": SEP-30 mail goes out through [mail]; set mail.sender = \"smtp\" (or leave it out)",
            ));
        }
        if !(1..=120).contains(&m.timeout_secs) {
            return Err(invalid(
                "mail.timeout_secs",
                "must be between 1 and 120 seconds",
            ));
        }
        let s = self.mail_settings();
        if s.sender == MailSenderKind::Log && m.sender.is_none() && m.smtp_url.is_some() {
            return Err(invalid(
                "mail.sender",
                "is needed with mail.smtp_url: set mail.sender = \"smtp\" to send through it (\"log\" in development)",
            ));
        }
        if s.sender == MailSenderKind::Smtp {
            let Some(url) = s.smtp_url else {
                return Err(invalid(
                    s.smtp_url_key,
                    "is required with sender = \"smtp\" (or give smtp_url_file)",
                ));
            };
            let url = secrecy::ExposeSecret::expose_secret(url);
            if lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url).is_err() {
                return Err(invalid(
                    s.smtp_url_key,
                    "must be smtp://host:port (add ?tls=required for STARTTLS) or smtps://user:password@host",
                ));
            }
        }
        if s.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                s.from_key,
                "must be an address, optionally with a name: \"Name <addr@example.com>\"",
            ));
        }
        Ok(())
    }

    fn check_sms(&self) -> Result<(), ConfigError> {
        let s = &self.sms;
        if !is_allowed_url(&s.api_url) || s.api_url.query().is_some() {
            return Err(invalid(
                "sms.api_url",
                "must be an https:// URL without a query (http:// only for localhost), e.g. https://api.twilio.com",
            ));
        }
        if !(1..=60).contains(&s.timeout_secs) {
            return Err(invalid(
                "sms.timeout_secs",
                "must be between 1 and 60 seconds",
            ));
        }
        if s.sender != SmsSenderKind::Twilio {
            return Ok(());
        }
        match &s.account_sid {
            None => {
                return Err(invalid(
                    "sms.account_sid",
                    "is required with sender = \"twilio\": the Account SID (AC…) from the Twilio Console",
                ));
            }
            Some(sid) if !is_sid(sid, "AC") => {
                return Err(invalid(
                    "sms.account_sid",
                    "must be an Account SID: AC followed by 32 hexadecimal digits",
                ));
            }
            Some(_) => {}
        }
        if s.auth_token
            .as_ref()
            .is_none_or(|t| secrecy::ExposeSecret::expose_secret(t).is_empty())
        {
            return Err(invalid(
                "sms.auth_token",
                "is required with sender = \"twilio\": the Auth Token from the Twilio Console (or give auth_token_file)",
            ));
        }
        if s.from.as_deref().and_then(SmsFrom::parse).is_none() {
            return Err(invalid(
                "sms.from",
                "is required with sender = \"twilio\": a number in E.164 format (+14155550100), a short code, an alphanumeric sender ID, or a Messaging Service SID (MG…)",
            ));
        }
        Ok(())
    }

    /// The capabilities' `sender` settings: the log (development) or the
    /// shared senders above.
    fn check_code_senders(&self) -> Result<(), ConfigError> {
        match self.sep30.sms.sender.as_str() {
            "log" => {}
            "twilio" if self.sms.sender == SmsSenderKind::Twilio => {}
            "twilio" => {
                return Err(invalid(
                    "sep30.sms.sender",
                    "is \"twilio\", which sends through [sms]: set sms.sender = \"twilio\" with its account_sid, auth_token and from",
                ));
            }
            _ => {
                return Err(invalid(
                    "sep30.sms.sender",
                    "must be \"log\" (development: codes go to the log) or \"twilio\" (through [sms])",
                ));
            }
        }
        match self.sep12.verification.sender.as_str() {
            "log" | "notify" => Ok(()),
            _ => Err(invalid(
                "sep12.verification.sender",
                "must be \"log\" (development: codes go to the log) or \"notify\" (email_address codes through [mail], mobile_number codes through [sms])",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

    use super::*;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";

    fn load(toml: &str) -> Result<Config, String> {
        Config::from_toml(toml)
            .map(|l| l.config)
            .map_err(|e| e.to_string())
    }

    fn twilio(extra: &str) -> String {
        format!(
            "[sms]\nsender = \"twilio\"\naccount_sid = \"{SID}\"\nauth_token = \"tok-secret-123\"\nfrom = \"+14155550100\"\n{extra}"
        )
    }

    #[test]
    fn the_defaults_send_nothing_anywhere() {
        let c = load("").unwrap();
        assert_eq!(c.sms.sender, SmsSenderKind::Log);
        assert_eq!(c.sms.api_url.as_str(), "https://api.twilio.com/");
        assert_eq!(c.mail_settings().sender, MailSenderKind::Log);
        assert_eq!(c.mail_settings().from, "Mooring <no-reply@localhost>");
    }

    #[test]
    fn twilio_needs_an_account_a_token_and_a_sender() {
        let c = load(&twilio("")).unwrap();
        assert_eq!(c.sms.account_sid.as_deref(), Some(SID));
        for (toml, key) in [
            ("[sms]\nsender = \"twilio\"\n".to_owned(), "sms.account_sid"),
            (
                "[sms]\nsender = \"twilio\"\naccount_sid = \"AC12\"\n".to_owned(),
                "sms.account_sid",
            ),
            (
                format!("[sms]\nsender = \"twilio\"\naccount_sid = \"{SID}\"\n"),
                "sms.auth_token",
            ),
            (
                format!(
                    "[sms]\nsender = \"twilio\"\naccount_sid = \"{SID}\"\nauth_token = \"t\"\n"
                ),
                "sms.from",
            ),
            (
                twilio("api_url = \"http://sms.example.com\"\n"),
                "sms.api_url",
            ),
            (twilio("timeout_secs = 0\n"), "sms.timeout_secs"),
            (
                "[sms]\nsender = \"carrier-pigeon\"\n".to_owned(),
                "sms.sender",
            ),
        ] {
            let err = load(&toml).unwrap_err();
            assert!(err.contains(&format!("`{key}`")), "{key}: {err}");
        }
    }

    #[test]
    fn the_auth_token_is_read_from_its_file_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "tok-from-file-456\n").unwrap();
        let toml = format!(
            "[sms]\nsender = \"twilio\"\naccount_sid = \"{SID}\"\nauth_token_file = \"{}\"\nfrom = \"MG0123456789abcdef0123456789abcdef\"\n",
            path.display()
        );
        let c = load(&toml).unwrap();
        let token = c.sms.auth_token.as_ref().unwrap();
        assert_eq!(token.expose_secret(), "tok-from-file-456");
        let shown = format!("{:?}", c.sms);
        assert!(!shown.contains("tok-from-file"), "{shown}");
        let c = load(&twilio("")).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("tok-secret"), "{shown}");
        let both = format!("{}auth_token_file = \"{}\"\n", twilio(""), path.display());
        assert!(load(&both).unwrap_err().contains("`sms.auth_token`"));
    }

    #[test]
    fn senders_are_numbers_sender_ids_or_messaging_services() {
        let from = |s: &str| SmsFrom::parse(s).map(|f| f.form_field().0);
        assert_eq!(from("+14155550100"), Some("From"));
        assert_eq!(from("12345"), Some("From"));
        assert_eq!(from("Mooring"), Some("From"));
        assert_eq!(
            from("MG0123456789abcdef0123456789abcdef"),
            Some("MessagingServiceSid")
        );
        for bad in [
            "",
            "+0123456",
            "+1 415 555",
            "A very long sender",
            "12",
            "ann@x",
        ] {
            assert_eq!(from(bad), None, "{bad}");
        }
    }

    #[test]
    fn sep30_email_smtp_settings_still_configure_the_mailer() {
        let old = "[sep30.email]\nsender = \"smtp\"\nsmtp_url = \"smtp://127.0.0.1:2525\"\nfrom = \"A <a@example.com>\"\n";
        let c = load(old).unwrap();
        let s = c.mail_settings();
        assert_eq!(s.sender, MailSenderKind::Smtp);
        assert_eq!(s.smtp_url.unwrap().expose_secret(), "smtp://127.0.0.1:2525");
        assert_eq!(s.from, "A <a@example.com>");
        let new = "[mail]\nsender = \"smtp\"\nsmtp_url = \"smtp://127.0.0.1:2526\"\nfrom = \"B <b@example.com>\"\n";
        let c = load(new).unwrap();
        let s = c.mail_settings();
        assert_eq!(
            (s.sender, s.from, s.smtp_url_key),
            (MailSenderKind::Smtp, "B <b@example.com>", "mail.smtp_url")
        );
        // SEP-30's own switch stays "log" unless set: [mail] alone sends
        // SEP-12's codes, not SEP-30's.
        assert_eq!(c.sep30.email.sender, "log");
    }

    #[test]
    fn mail_settings_given_twice_or_missing_are_refused() {
        for (toml, key) in [
            (
                "[mail]\nsmtp_url = \"smtp://a:25\"\n[sep30.email]\nsender = \"smtp\"\nsmtp_url = \"smtp://b:25\"\n",
                "mail.smtp_url",
            ),
            (
                "[mail]\nfrom = \"a@example.com\"\n[sep30.email]\nfrom = \"b@example.com\"\n",
                "mail.from",
            ),
            (
                "[mail]\nsender = \"log\"\n[sep30.email]\nsender = \"smtp\"\nsmtp_url = \"smtp://b:25\"\n",
                "sep30.email.sender",
            ),
            ("[mail]\nsender = \"smtp\"\n", "mail.smtp_url"),
            ("[sep30.email]\nsender = \"smtp\"\n", "sep30.email.smtp_url"),
            ("[mail]\nsmtp_url = \"smtp://a:25\"\n", "mail.sender"),
            (
                "[mail]\nsender = \"smtp\"\nsmtp_url = \"http://a\"\n",
                "mail.smtp_url",
            ),
            ("[mail]\nfrom = \"nobody\"\n", "mail.from"),
        ] {
            let err = load(toml).unwrap_err();
            assert!(err.contains(&format!("`{key}`")), "{key}: {err}");
        }
    }

    #[test]
    fn capabilities_choose_the_log_or_the_shared_senders() {
        let err = load("[sep30.sms]\nsender = \"twilio\"\n").unwrap_err();
        assert!(
            err.contains("`sep30.sms.sender`") && err.contains("[sms]"),
            "{err}"
        );
        let c = load(&format!("{}[sep30.sms]\nsender = \"twilio\"\n", twilio(""))).unwrap();
        assert_eq!(c.sep30.sms.sender, "twilio");
        let err = load("[sep12.verification]\nsender = \"smtp\"\n").unwrap_err();
        assert!(err.contains("`sep12.verification.sender`"), "{err}");
        let c = load("[sep12.verification]\nsender = \"notify\"\n").unwrap();
        assert_eq!(c.sep12.verification.sender, "notify");
    }
}
