//! Configuration of SEP-30 account recovery and the identity providers its
//! `/authorize` sign-in offers.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use super::{ConfigError, invalid};

/// SEP-30 account recovery.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct Sep30Config {
    /// Serve SEP-30 (`/accounts…`) and the `/authorize` sign-in.
    pub enabled: bool,
    /// Accounts (`G…`) that may be the source of a transaction, or of its
    /// operations, that the server signs for a registered account — a
    /// sponsor (CAP-33), as SEP-30 §POST …/sign allows. The server must
    /// never hold a signing key of these accounts.
    pub sponsor_accounts: Vec<String>,
    /// Seconds a wallet's `POST /authorize/token` request waits for the
    /// person to sign in.
    pub authorize_ttl_secs: u64,
    /// Seconds an identity-provider access token is valid.
    pub access_token_ttl_secs: u64,
    /// Seconds a one-time code is valid.
    pub code_ttl_secs: u64,
    /// Wrong codes allowed before a code is void.
    pub code_max_attempts: u32,
    /// Codes sent to one email address or phone number per hour.
    pub codes_per_identity_per_hour: u32,
    /// Codes sent, and sign-in requests made, from one IP address per hour.
    pub requests_per_ip_per_hour: u32,
    /// Sign-in with a one-time code sent by email.
    pub email: EmailConfig,
    /// Sign-in with a one-time code sent by SMS.
    pub sms: SmsConfig,
    /// OpenID Connect providers (Google, any OIDC issuer).
    pub oidc: Vec<OidcConfig>,
    /// `POST /sponsor/new`: new accounts created and sponsored (CAP-33).
    pub sponsor: SponsorConfig,
    /// Other SEP-10 servers whose tokens are accepted.
    pub trusted_sep10: Vec<TrustedSep10Config>,
}

/// Another SEP-10 server whose tokens SEP-30 accepts.
#[derive(Debug, Deserialize)]
pub struct TrustedSep10Config {
    /// The `iss` of its tokens (its WEB_AUTH_ENDPOINT).
    pub issuer: String,
    /// Where it publishes its token keys (JWKS), for EdDSA, ES256 or RS256.
    #[serde(default)]
    pub jwks_url: Option<Url>,
    /// Or an HS256 secret shared with it.
    #[serde(default)]
    pub secret: Option<SecretString>,
    /// File holding the secret.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

/// Account sponsorship (`POST /sponsor/new`, as in ../seeds/003).
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct SponsorConfig {
    /// Offer sponsorship.
    pub enabled: bool,
    /// The sponsoring account's secret seed (`S…`); prefer `seed_file`.
    /// Never make a SEP-30 signing key a signer of this account.
    pub seed: Option<SecretString>,
    /// File holding the seed.
    pub seed_file: Option<PathBuf>,
    /// Accounts one identity may have sponsored per day.
    pub per_identity_per_day: u32,
    /// Accounts sponsored per day in all.
    pub per_day: u32,
}

impl Default for SponsorConfig {
    fn default() -> Self {
        SponsorConfig {
            enabled: false,
            seed: None,
            seed_file: None,
            per_identity_per_day: 1,
            per_day: 100,
        }
    }
}

impl Default for Sep30Config {
    fn default() -> Self {
        Sep30Config {
            enabled: true,
            sponsor_accounts: vec![],
            authorize_ttl_secs: 900,
            access_token_ttl_secs: 3600,
            code_ttl_secs: 600,
            code_max_attempts: 5,
            codes_per_identity_per_hour: 5,
            requests_per_ip_per_hour: 60,
            email: EmailConfig::default(),
            sms: SmsConfig::default(),
            oidc: vec![],
            sponsor: SponsorConfig::default(),
            trusted_sep10: vec![],
        }
    }
}

/// Email one-time codes.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct EmailConfig {
    /// Offer email sign-in.
    pub enabled: bool,
    /// Offer email-and-password logins too (sign-up with a confirmation
    /// link, password reset by email), besides one-time codes.
    pub passwords: bool,
    /// `log` (development: mail goes to the log) or `smtp` (through the
    /// server's mailer, `[mail]`). Also `mail.sender` when that is left out.
    pub sender: String,
    /// `mail.smtp_url` when that is left out (where it was set before
    /// `[mail]`). May hold a password: prefer the _file.
    pub smtp_url: Option<SecretString>,
    /// File holding `smtp_url`.
    pub smtp_url_file: Option<PathBuf>,
    /// `mail.from` when that is left out.
    pub from: String,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            enabled: true,
            passwords: true,
            sender: "log".into(),
            smtp_url: None,
            smtp_url_file: None,
            from: "Mooring <no-reply@localhost>".into(),
        }
    }
}

/// SMS one-time codes.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct SmsConfig {
    /// Offer phone sign-in (SMS costs money: off unless asked for).
    pub enabled: bool,
    /// `log` (development: the code goes to the log) or `twilio` (through
    /// the server's SMS sender, `[sms]`, which must then be `twilio` too).
    pub sender: String,
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            enabled: false,
            sender: "log".into(),
        }
    }
}

/// One sign-in provider: OpenID Connect, or GitHub's OAuth2.
#[derive(Debug, Deserialize)]
pub struct OidcConfig {
    /// Short name, used in URLs: letters, digits, `-`.
    pub name: String,
    /// What the sign-in page calls it ("Google").
    #[serde(default)]
    pub label: Option<String>,
    /// `oidc` (any OpenID Connect provider) or `github` (GitHub's OAuth2,
    /// which has no ID token: the verified primary address is read from its
    /// API).
    #[serde(default)]
    pub kind: ProviderKind,
    /// The issuer; its `/.well-known/openid-configuration` is read. For
    /// `github`: the web base, `https://github.com` by default (GitHub
    /// Enterprise: your server).
    #[serde(default)]
    pub issuer: Option<Url>,
    /// `github` only: the API base, `https://api.github.com` by default.
    #[serde(default)]
    pub api_url: Option<Url>,
    /// The client id registered with the provider.
    pub client_id: String,
    /// The client secret.
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// File holding the client secret.
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// Scopes asked for; `openid` and `email` at least.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// If set, only addresses at these domains are accepted from this
    /// provider (a company's own identity provider vouches for its own
    /// addresses, not for the world's).
    #[serde(default)]
    pub allowed_email_domains: Vec<String>,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "email".into()]
}

/// What protocol a provider speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenID Connect.
    #[default]
    Oidc,
    /// GitHub's OAuth2 and REST API.
    Github,
}

impl Sep30Config {
    /// Reads the secrets given as files and checks every setting.
    pub(super) fn resolve(&mut self) -> Result<(), ConfigError> {
        for a in &self.sponsor_accounts {
            if mooring_stellar::PublicKey::parse(a).is_err() {
                return Err(invalid(
                    "sep30.sponsor_accounts",
                    "every entry must be an account address (G…)",
                ));
            }
        }
        for (key, v) in [
            ("sep30.authorize_ttl_secs", self.authorize_ttl_secs),
            ("sep30.access_token_ttl_secs", self.access_token_ttl_secs),
            ("sep30.code_ttl_secs", self.code_ttl_secs),
        ] {
            if !(30..=7 * 86_400).contains(&v) {
                return Err(invalid(key, "must be between 30 and 604800 seconds"));
            }
        }
        if self.code_max_attempts == 0
            || self.codes_per_identity_per_hour == 0
            || self.requests_per_ip_per_hour == 0
        {
            return Err(invalid(
                "sep30.code_max_attempts",
                "attempt and rate limits must be at least 1",
            ));
        }
        let e = &mut self.email;
        read_secret("sep30.email.smtp_url", &mut e.smtp_url, &e.smtp_url_file)?;
        // The SMTP URL and From address are checked with `[mail]`, which
        // falls back to them, and `sep30.sms.sender` against `[sms]`
        // (config/notify.rs).
        if !matches!(e.sender.as_str(), "log" | "smtp") {
            return Err(invalid(
                "sep30.email.sender",
                "must be \"log\" (development) or \"smtp\" (through [mail])",
            ));
        }
        let sp = &mut self.sponsor;
        read_secret("sep30.sponsor.seed", &mut sp.seed, &sp.seed_file)?;
        if sp.enabled {
            let ok = sp.seed.as_ref().is_some_and(|s| {
                mooring_stellar::Keypair::from_secret_seed(secrecy::ExposeSecret::expose_secret(s))
                    .is_ok()
            });
            if !ok {
                return Err(invalid(
                    "sep30.sponsor.seed",
                    "a secret seed (S…) is required with sponsor.enabled = true (or give seed_file)",
                ));
            }
            if sp.per_identity_per_day == 0 || sp.per_day == 0 {
                return Err(invalid(
                    "sep30.sponsor.per_day",
                    "sponsorship limits must be at least 1",
                ));
            }
        }
        for t in &mut self.trusted_sep10 {
            read_secret("sep30.trusted_sep10.secret", &mut t.secret, &t.secret_file)?;
            if t.issuer.is_empty() {
                return Err(invalid("sep30.trusted_sep10.issuer", "is required"));
            }
            match (&t.jwks_url, &t.secret) {
                (Some(url), None) if is_allowed_url(url) => {}
                (Some(_), None) => {
                    return Err(invalid(
                        "sep30.trusted_sep10.jwks_url",
                        "must be an https:// URL (http:// only for localhost)",
                    ));
                }
                (None, Some(secret))
                    if secrecy::ExposeSecret::expose_secret(secret).len() >= 32 => {}
                (None, Some(_)) => {
                    return Err(invalid(
                        "sep30.trusted_sep10.secret",
                        "must be at least 32 characters",
                    ));
                }
                _ => {
                    return Err(invalid(
                        "sep30.trusted_sep10",
                        "give each server either jwks_url or secret (or secret_file), not both",
                    ));
                }
            }
        }
        let mut names = std::collections::HashSet::new();
        for p in &mut self.oidc {
            if p.name.is_empty()
                || p.name.len() > 32
                || !p
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                || !names.insert(p.name.clone())
            {
                return Err(invalid(
                    "sep30.oidc.name",
                    "names are unique, 1 to 32 letters, digits or '-'",
                ));
            }
            let issuer = match (p.kind, &p.issuer) {
                (_, Some(url)) => url.clone(),
                (ProviderKind::Github, None) => {
                    Url::parse("https://github.com").expect("a valid URL")
                }
                (ProviderKind::Oidc, None) => {
                    return Err(invalid(
                        "sep30.oidc.issuer",
                        "is required for an OpenID Connect provider",
                    ));
                }
            };
            if !is_allowed_url(&issuer) {
                return Err(invalid(
                    "sep30.oidc.issuer",
                    "must be an https:// URL (http:// only for localhost)",
                ));
            }
            p.issuer = Some(issuer);
            read_secret(
                "sep30.oidc.client_secret",
                &mut p.client_secret,
                &p.client_secret_file,
            )?;
            if p.client_id.is_empty() {
                return Err(invalid("sep30.oidc.client_id", "is required"));
            }
            if let Some(api) = &p.api_url
                && !is_allowed_url(api)
            {
                return Err(invalid(
                    "sep30.oidc.api_url",
                    "must be an https:// URL (http:// only for localhost)",
                ));
            }
            match p.kind {
                ProviderKind::Oidc => {
                    if !p.scopes.iter().any(|s| s == "openid") {
                        p.scopes.insert(0, "openid".into());
                    }
                    if !p.scopes.iter().any(|s| s == "email") {
                        p.scopes.push("email".into());
                    }
                }
                // GitHub: reading the addresses needs `user:email`, nothing more.
                ProviderKind::Github => p.scopes = vec!["user:email".into()],
            }
        }
        Ok(())
    }
}

pub(super) fn read_secret(
    key: &'static str,
    value: &mut Option<SecretString>,
    file: &Option<PathBuf>,
) -> Result<(), ConfigError> {
    match (value.is_some(), file) {
        (true, Some(_)) => Err(invalid(
            key,
            "give only one of the value and its _file, not both",
        )),
        (false, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| invalid(key, format!("cannot read {}: {e}", path.display())))?;
            *value = Some(SecretString::from(text.trim().to_owned()));
            Ok(())
        }
        _ => Ok(()),
    }
}

/// https://, or http:// on this machine (development, tests).
pub(super) fn is_allowed_url(url: &Url) -> bool {
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    url.scheme() == "https" || (url.scheme() == "http" && local)
}
