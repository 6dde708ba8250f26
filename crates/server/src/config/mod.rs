//! Configuration: defaults, then `mooring.toml` (or `--config`), then
//! `MOORING_*` environment variables. Typed, validated once at start, passed
//! down explicitly — never a global.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use mooring_stellar::network::{FUTURENET_PASSPHRASE, PUBLIC_PASSPHRASE, TESTNET_PASSPHRASE};
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::db::DatabaseUrl;

mod kyc;
mod limits;
mod notify;
mod payments;
mod quotes;
mod recovery;
mod sections;
mod validate;
pub use kyc::*;
pub use limits::{KycState, LimitsConfig, Op, Rule, is_asset};
pub use notify::{
    MailConfig, MailSenderKind, MailSettings, SmsFrom, SmsProviderConfig, SmsSenderKind,
};
pub use payments::{ObserverConfig, Sep31Asset, Sep31Config};
pub use quotes::{
    DeliveryMethod, PartnerConfig, PricePair, PriceSource, QuoteAsset, Sep38Config, parse_decimal,
};
pub use recovery::{
    EmailConfig, OidcConfig, ProviderKind, Sep30Config, SmsConfig, SponsorConfig,
    TrustedSep10Config,
};
pub use sections::*;

/// The commented example configuration, also printed by `mooring config example`.
pub const EXAMPLE: &str = include_str!("../../../../mooring.example.toml");

/// Prefix of every environment variable Mooring reads. Nested keys are
/// separated by a double underscore: `MOORING_SEP10__JWT_EXPIRY_SECS`.
pub const ENV_PREFIX: &str = "MOORING_";

/// A setting that is missing, malformed or inconsistent. The message says
/// which setting and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or an environment variable could not be read or typed.
    #[error("{0}")]
    Load(String),
    /// A value was read but is not acceptable.
    #[error("invalid setting `{key}`: {message}")]
    Invalid {
        /// Dotted key, e.g. `sep10.jwt_expiry_secs`.
        key: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
}

/// Everything `mooring serve` can be told. See `mooring.example.toml`.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Where the embedded defaults live: the SQLite database, documents, keys.
    pub data_dir: PathBuf,
    /// `sqlite://path` or `postgres://…`; default `sqlite://<data_dir>/mooring.db`.
    pub database_url: Option<SecretString>,
    /// File containing `database_url` (it may hold a password).
    pub database_url_file: Option<PathBuf>,
    /// Most connections the pool opens.
    pub database_max_connections: u32,
    /// Log filter, `tracing` syntax (`info`, `mooring_server=debug,warn`, …).
    pub log_level: String,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// The public HTTP listener.
    pub http: HttpConfig,
    /// The Prometheus listener.
    pub metrics: MetricsConfig,
    /// The Stellar network and Horizon.
    pub stellar: StellarConfig,
    /// SEP-10 web authentication.
    pub sep10: Sep10Config,
    /// Keys and secrets; any not given are generated into `keys_file`.
    pub secrets: SecretsConfig,
    /// Operator-provided sections of the published stellar.toml.
    pub stellar_toml: StellarTomlConfig,
    /// SEP-12 KYC.
    pub sep12: Sep12Config,
    /// SEP-30 account recovery.
    pub sep30: Sep30Config,
    /// KYC-gated limits and KYC inheritance.
    pub limits: LimitsConfig,
    /// SEP-38 quotes.
    pub sep38: Sep38Config,
    /// SEP-31 payments.
    pub sep31: Sep31Config,
    /// Sending anchors with an agreement (SEP-31, SEP-38).
    pub partners: Vec<PartnerConfig>,
    /// The server's mail (SEP-30 sign-in mail, SEP-12 verification codes).
    pub mail: MailConfig,
    /// The server's text messages (SEP-30 and SEP-12 codes by SMS).
    pub sms: SmsProviderConfig,
    /// Where documents are kept.
    pub blobs: BlobsConfig,
    /// The admin API.
    pub admin: AdminConfig,
    /// Whether `http.public_url` (and the domains derived from it) were
    /// derived from `http.bind` rather than configured.
    #[serde(skip)]
    derived_public_url: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            database_url: None,
            database_url_file: None,
            database_max_connections: 16,
            log_level: "info".into(),
            log_format: LogFormat::Text,
            http: HttpConfig::default(),
            metrics: MetricsConfig::default(),
            stellar: StellarConfig::default(),
            sep10: Sep10Config::default(),
            secrets: SecretsConfig::default(),
            stellar_toml: StellarTomlConfig::default(),
            sep12: Sep12Config::default(),
            sep30: Sep30Config::default(),
            limits: LimitsConfig::default(),
            sep38: Sep38Config::default(),
            sep31: Sep31Config::default(),
            partners: Vec::new(),
            mail: MailConfig::default(),
            sms: SmsProviderConfig::default(),
            blobs: BlobsConfig::default(),
            admin: AdminConfig::default(),
            derived_public_url: false,
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Tables whose contents are free-form: keys under them are not "unknown".
const FREE_FORM: [&str; 4] = [
    "sep12.types",
    "stellar_toml.documentation",
    "stellar_toml.principals",
    "stellar_toml.currencies",
];

/// A loaded configuration and the warnings it produced (unknown keys),
/// to be logged once logging is set up.
#[derive(Debug)]
pub struct Loaded {
    /// The validated configuration.
    pub config: Config,
    /// Warnings for the operator.
    pub warnings: Vec<String>,
}

impl Config {
    /// Loads defaults, then `path` if it exists (it must exist if
    /// `required`), then the environment; validates the result.
    pub fn load(path: &Path, required: bool) -> Result<Loaded, ConfigError> {
        if required && !path.exists() {
            return Err(ConfigError::Load(format!(
                "configuration file {} does not exist (run `mooring config example > {}` to create one)",
                path.display(),
                path.display()
            )));
        }
        let env = Env::prefixed(ENV_PREFIX).split("__").ignore(&["config"]);
        Self::from_figment(Figment::new().merge(Toml::file(path)).merge(env))
    }

    /// Loads from TOML text alone (tests, `config example` check).
    pub fn from_toml(text: &str) -> Result<Loaded, ConfigError> {
        Self::from_figment(Figment::new().merge(Toml::string(text)))
    }

    fn from_figment(figment: Figment) -> Result<Loaded, ConfigError> {
        let mut config: Config = figment.extract().map_err(|e| {
            let mut msg = String::new();
            for err in e {
                msg.push_str(&describe(&err));
                msg.push('\n');
            }
            ConfigError::Load(msg.trim_end().to_owned())
        })?;
        let warnings: Vec<String> = unknown_keys(&figment)
            .into_iter()
            .map(|(key, source)| {
                format!(
                    "unknown setting `{key}`{source} is ignored; `mooring config example` lists every setting"
                )
            })
            .collect();
        config.resolve_defaults()?;
        config.sep30.resolve()?;
        config.resolve_notify()?;
        config.validate()?;
        let mut warnings = warnings;
        if config.derived_public_url && !config.http.bind.ip().is_loopback() {
            warnings.push(format!(
                "http.bind is {} but http.public_url is not set: stellar.toml will advertise {}; set http.public_url to the URL clients use",
                config.http.bind,
                config.public_url()
            ));
        }
        Ok(Loaded { config, warnings })
    }

    /// Fills in the defaults derived from other settings.
    fn resolve_defaults(&mut self) -> Result<(), ConfigError> {
        let sec = &self.secrets;
        let pairs: [(&'static str, bool, bool); 6] = [
            (
                "database_url",
                self.database_url.is_some(),
                self.database_url_file.is_some(),
            ),
            (
                "secrets.signing_seed",
                sec.signing_seed.is_some(),
                sec.signing_seed_file.is_some(),
            ),
            (
                "secrets.jwt_seed",
                sec.jwt_seed.is_some(),
                sec.jwt_seed_file.is_some(),
            ),
            (
                "secrets.jwt_secret",
                sec.jwt_secret.is_some(),
                sec.jwt_secret_file.is_some(),
            ),
            (
                "secrets.master_key",
                sec.master_key.is_some(),
                sec.master_key_file.is_some(),
            ),
            (
                "secrets.admin_token",
                sec.admin_token.is_some(),
                sec.admin_token_file.is_some(),
            ),
        ];
        for (key, inline, file) in pairs {
            // Which one wins would depend on which layer set it: refuse to guess.
            if inline && file {
                return Err(invalid(
                    key,
                    "give only one of the value and its _file, not both",
                ));
            }
        }
        if self.database_url.is_none()
            && let Some(path) = &self.database_url_file
        {
            let text = std::fs::read_to_string(path).map_err(|e| {
                invalid(
                    "database_url_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            self.database_url = Some(SecretString::from(text.trim().to_owned()));
        }
        if self.http.public_url.is_none() {
            self.derived_public_url = true;
            let url = format!("http://localhost:{}", self.http.bind.port());
            self.http.public_url = Some(Url::parse(&url).expect("valid URL"));
        }
        let host = self.public_host()?;
        if self.sep10.home_domains.is_empty() {
            self.sep10.home_domains.push(host.clone());
        }
        if self.sep10.web_auth_domain.is_none() {
            // The server's *domain*: the host name without a port, as the
            // published JavaScript SDKs compare it (`new URL(..).hostname`).
            let name = self.public_url().host_str().unwrap_or_default().to_owned();
            self.sep10.web_auth_domain = Some(name);
        }
        if self.stellar.horizon_url.is_none() {
            let sdf = match self.stellar.network_passphrase.as_str() {
                TESTNET_PASSPHRASE => "https://horizon-testnet.stellar.org",
                PUBLIC_PASSPHRASE => "https://horizon.stellar.org",
                FUTURENET_PASSPHRASE => "https://horizon-futurenet.stellar.org",
                _ => {
                    return Err(invalid(
                        "stellar.horizon_url",
                        "must be set for a network other than Testnet, Public or Futurenet",
                    ));
                }
            };
            self.stellar.horizon_url = Some(Url::parse(sdf).expect("valid URL"));
        }
        Ok(())
    }

    /// After binding `http.bind` with port 0: if the public URL was derived
    /// from the bind address, derive it (and the domains that came from it)
    /// again from the port actually bound.
    pub fn use_bound_port(&mut self, port: u16) {
        if !self.derived_public_url || self.http.bind.port() != 0 {
            return;
        }
        let old = self.public_host().unwrap_or_default();
        let url = format!("http://localhost:{port}");
        self.http.public_url = Some(Url::parse(&url).expect("valid URL"));
        let new = format!("localhost:{port}");
        for d in &mut self.sep10.home_domains {
            if *d == old {
                d.clone_from(&new);
            }
        }
    }

    fn public_host(&self) -> Result<String, ConfigError> {
        let url = self.public_url();
        let host = url
            .host_str()
            .ok_or_else(|| invalid("http.public_url", "must have a host"))?;
        Ok(match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        })
    }

    /// Horizon's base URL (resolved at load).
    pub fn horizon_url(&self) -> &Url {
        self.stellar.horizon_url.as_ref().expect("resolved at load")
    }

    /// The folder of the local document store.
    pub fn blobs_path(&self) -> PathBuf {
        self.blobs
            .path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("blobs"))
    }

    /// The public URL (resolved at load).
    pub fn public_url(&self) -> &Url {
        self.http.public_url.as_ref().expect("resolved at load")
    }

    /// The public URL joined with `path`, without a doubled slash.
    pub fn endpoint(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.public_url().as_str().trim_end_matches('/'),
            path
        )
    }

    /// The server's domain for `web_auth_domain` (resolved at load).
    pub fn web_auth_domain(&self) -> &str {
        self.sep10
            .web_auth_domain
            .as_deref()
            .expect("resolved at load")
    }

    /// The database URL, defaulting to SQLite under `data_dir`.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => secrecy::ExposeSecret::expose_secret(u).to_owned(),
            None => format!("sqlite://{}", self.data_dir.join("mooring.db").display()),
        }
    }

    /// True when the database is the embedded default under `data_dir`.
    pub fn uses_default_database(&self) -> bool {
        self.database_url.is_none()
    }
}

/// Reads an IP range as `http.trusted_proxies` takes it: `192.0.2.7`,
/// `10.0.0.0/8`, `2001:db8::/32`.
pub fn parse_ip_range(s: &str) -> Option<ipnet::IpNet> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

/// `host` or `host:port`: labels of letters, digits and hyphens.
pub fn is_domain(s: &str) -> bool {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    port_ok && !host.is_empty() && host.len() <= 253 && host.split('.').all(label_ok)
}

fn describe(err: &figment::Error) -> String {
    let key = err.path.join(".");
    let source = err
        .metadata
        .as_ref()
        .map(|m| match &m.source {
            Some(src) => format!(" (from {} {src})", m.name),
            None => format!(" (from {})", m.name),
        })
        .unwrap_or_default();
    // Never echo a value: the setting may be a secret.
    let what = match &err.kind {
        figment::error::Kind::InvalidType(actual, expected)
        | figment::error::Kind::InvalidValue(actual, expected) => {
            format!("expected {expected}, found {}", kind_of(actual))
        }
        figment::error::Kind::Message(m) => m
            .lines()
            .filter(|l| !l.contains('|'))
            .collect::<Vec<_>>()
            .join("; "),
        figment::error::Kind::UnknownVariant(v, expected) => {
            format!(
                "unknown value `{v}`; expected one of: {}",
                expected.join(", ")
            )
        }
        other => other.to_string(),
    };
    if key.is_empty() {
        format!("configuration error{source}: {what}")
    } else {
        format!("invalid setting `{key}`{source}: {what}")
    }
}

/// What kind of value was found, without the value.
fn kind_of(actual: &figment::error::Actual) -> &'static str {
    use figment::error::Actual as A;
    match actual {
        A::Bool(_) => "a boolean",
        A::Unsigned(_) | A::Signed(_) => "an integer",
        A::Float(_) => "a number",
        A::Char(_) | A::Str(_) => "a string",
        A::Bytes(_) => "bytes",
        A::Unit | A::Option => "nothing",
        A::Seq => "a list",
        A::Map | A::NewtypeStruct => "a table",
        _ => "another kind of value",
    }
}

/// Every key present in the merged sources that `Config` does not know,
/// with where it came from.
fn unknown_keys(figment: &Figment) -> Vec<(String, String)> {
    let Ok(value) = figment.extract::<serde_json::Value>() else {
        return Vec::new();
    };
    let mut unknown = Vec::new();
    let _ = serde_ignored::deserialize(value, |path| {
        let key = path.to_string();
        if !FREE_FORM.iter().any(|f| key.starts_with(f)) {
            unknown.push(key);
        }
    })
    .map(|_: Config| ());
    unknown
        .into_iter()
        .map(|key| {
            let source = figment
                .find_metadata(&key)
                .map(|m| match &m.source {
                    Some(src) => format!(" (in {} {src})", m.name),
                    None => format!(" (in {})", m.name),
                })
                .unwrap_or_default();
            (key, source)
        })
        .collect()
}

#[cfg(test)]
mod tests;
