//! The sections of the configuration file, each with its defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use mooring_stellar::network::TESTNET_PASSPHRASE;
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

/// The public listener.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// The URL clients reach this server at (behind a proxy, the proxy's);
    /// default `http://localhost:<port of bind>`. Endpoints in stellar.toml
    /// and the JWT issuer are built from it.
    pub public_url: Option<Url>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Seconds to let in-flight requests finish after SIGINT/SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Proxies (addresses or ranges, `10.0.0.0/8`) whose `X-Forwarded-For`
    /// names the client, for per-IP rate limits. Empty: the peer is the
    /// client.
    pub trusted_proxies: Vec<String>,
    /// Seconds a client has to send a complete request head, on a new
    /// connection and between requests on a kept-alive one; then the
    /// connection is closed (RFC 9112 §9.5 lets a server close an idle
    /// connection at any time). 1 to 3600.
    #[serde(deserialize_with = "in_range::<_, 1, 3600>")]
    pub header_read_timeout_secs: u64,
    /// Seconds a whole request may take, its body read included; then it
    /// is answered 408 (its body was still arriving) or 503 (the server was
    /// the slow one), and its connection closed. 1 to 86400.
    #[serde(deserialize_with = "in_range::<_, 1, 86_400>")]
    pub request_timeout_secs: u64,
    /// Connections served at once; beyond it a new connection is answered
    /// 503 and closed. 1 to 1048576.
    #[serde(deserialize_with = "in_range::<_, 1, 1_048_576>")]
    pub max_connections: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            bind: ([127, 0, 0, 1], 8000).into(),
            public_url: None,
            max_body_bytes: 64 * 1024,
            shutdown_grace_secs: 10,
            trusted_proxies: vec![],
            header_read_timeout_secs: 10,
            request_timeout_secs: 60,
            max_connections: 10_000,
        }
    }
}

/// An integer setting from `MIN` to `MAX`. Checked while the file is read,
/// so that the error names the setting (the loader adds its key) and what
/// it accepts, never the value.
fn in_range<'de, D, const MIN: u64, const MAX: u64>(d: D) -> Result<u64, D::Error>
where
    D: serde::Deserializer<'de>,
{
    d.deserialize_u64(InRange::<MIN, MAX>)
}

struct InRange<const MIN: u64, const MAX: u64>;

impl<const MIN: u64, const MAX: u64> serde::de::Visitor<'_> for InRange<MIN, MAX> {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a whole number from {MIN} to {MAX}")
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u64, E> {
        if (MIN..=MAX).contains(&v) {
            Ok(v)
        } else {
            Err(E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
        }
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u64, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::invalid_value(serde::de::Unexpected::Signed(v), &self)),
        }
    }
}

/// The Prometheus `/metrics` listener, kept apart from the public one.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct MetricsConfig {
    /// Serve `/metrics` at all.
    pub enabled: bool,
    /// Address of the metrics listener.
    pub bind: SocketAddr,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            bind: ([127, 0, 0, 1], 9100).into(),
        }
    }
}

/// The Stellar network this server works on.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct StellarConfig {
    /// Network passphrase; signatures are made over it.
    pub network_passphrase: String,
    /// Horizon, for account signers (SEP-10) and later payments. Default:
    /// SDF's Horizon for the Testnet, Public or Futurenet passphrase; any
    /// other network must name its own.
    pub horizon_url: Option<Url>,
    /// Seconds before a Horizon request is given up (and SEP-10 answers 503).
    pub horizon_timeout_secs: u64,
}

impl Default for StellarConfig {
    fn default() -> Self {
        StellarConfig {
            network_passphrase: TESTNET_PASSPHRASE.into(),
            horizon_url: None,
            horizon_timeout_secs: 5,
        }
    }
}

/// Which account threshold SEP-10 client signatures must meet.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdSetting {
    /// Low.
    Low,
    /// Medium: authority to move funds (the default).
    #[default]
    Medium,
    /// High: complete authority.
    High,
}

/// How session JWTs are signed.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
pub enum JwtAlgorithm {
    /// Ed25519; the public key is published at `/.well-known/jwks.json`.
    #[default]
    EdDSA,
    /// HMAC-SHA256 with `secrets.jwt_secret`, shared with services that verify.
    HS256,
}

/// SEP-10 web authentication.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct Sep10Config {
    /// Home domains served; the first is the default when a client names
    /// none. Default: the host (and port) of `http.public_url`.
    pub home_domains: Vec<String>,
    /// This server's domain, the `web_auth_domain` of challenges. Default:
    /// the host name of `http.public_url`, without a port.
    pub web_auth_domain: Option<String>,
    /// Seconds a challenge stays valid (SEP-10 recommends 900).
    pub challenge_expiry_secs: u64,
    /// Seconds a session JWT stays valid.
    pub jwt_expiry_secs: u64,
    /// `EdDSA` (default) or `HS256`.
    pub jwt_algorithm: JwtAlgorithm,
    /// Threshold client signatures must meet on accounts that exist.
    pub threshold: ThresholdSetting,
    /// Authenticate accounts that do not exist on the network yet, by
    /// their master key alone (SEP-10 §Verifying Accounts that Do Not Exist).
    pub allow_unfunded_accounts: bool,
    /// Client domain verification.
    pub client_domain: ClientDomainConfig,
    /// Requiring an `Authorization` JWT on `GET /auth` (SEP-10 v3.4.0).
    pub challenge_auth: ChallengeAuthConfig,
    /// Challenges one client network (an IPv4 address, an IPv6 /64) may
    /// request per minute, counted across replicas; more get 429 with
    /// `Retry-After`. Behind a proxy, set `http.trusted_proxies` or every
    /// client counts as the proxy.
    pub challenges_per_ip_per_minute: u32,
}

/// SEP-10 §Challenge §Request Header: whether `GET /auth` needs an
/// `Authorization` JWT, and which applications may authenticate.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChallengeAuthConfig {
    /// Refuse challenge requests without a valid `Authorization` JWT.
    pub required: bool,
    /// If not empty, only these client domains may request challenges
    /// (others get 403); requires `required = true`.
    pub allowed_client_domains: Vec<String>,
}

impl Default for Sep10Config {
    fn default() -> Self {
        Sep10Config {
            home_domains: Vec::new(),
            web_auth_domain: None,
            challenge_expiry_secs: 900,
            jwt_expiry_secs: 24 * 3600,
            jwt_algorithm: JwtAlgorithm::EdDSA,
            threshold: ThresholdSetting::Medium,
            allow_unfunded_accounts: true,
            client_domain: ClientDomainConfig::default(),
            challenge_auth: ChallengeAuthConfig::default(),
            challenges_per_ip_per_minute: 300,
        }
    }
}

/// Fetching a client domain's stellar.toml (SEP-10 §Verifying the Client Domain).
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct ClientDomainConfig {
    /// Verify client domains at all; when off, `client_domain` is ignored
    /// as the spec says.
    pub enabled: bool,
    /// Development only: hosts (`host` or `host:port`) fetched over plain
    /// http, private addresses allowed. Never set in production.
    pub allow_http_hosts: Vec<String>,
    /// Seconds before a stellar.toml fetch is given up.
    pub timeout_secs: u64,
    /// Seconds a fetched SIGNING_KEY is reused.
    pub cache_secs: u64,
}

impl Default for ClientDomainConfig {
    fn default() -> Self {
        ClientDomainConfig {
            enabled: true,
            allow_http_hosts: Vec::new(),
            timeout_secs: 5,
            cache_secs: 300,
        }
    }
}

/// Secrets. Each can be given inline, as `<name>_file` (a path whose
/// contents are the secret, for Docker/Kubernetes secrets), or left out to
/// be generated once into `keys_file`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SecretsConfig {
    /// File holding generated secrets (mode 0600). Default `<data_dir>/keys`.
    pub keys_file: Option<PathBuf>,
    /// Server signing seed (`S…`): the stellar.toml SIGNING_KEY.
    pub signing_seed: Option<SecretString>,
    /// File containing `signing_seed`.
    pub signing_seed_file: Option<PathBuf>,
    /// Ed25519 seed (`S…`) that signs EdDSA session JWTs.
    pub jwt_seed: Option<SecretString>,
    /// File containing `jwt_seed`.
    pub jwt_seed_file: Option<PathBuf>,
    /// HS256 shared secret, at least 32 bytes; required when `jwt_algorithm = "HS256"`.
    pub jwt_secret: Option<SecretString>,
    /// File containing `jwt_secret`.
    pub jwt_secret_file: Option<PathBuf>,
    /// Data-encryption master key: 32 bytes, base64.
    pub master_key: Option<SecretString>,
    /// File containing `master_key`.
    pub master_key_file: Option<PathBuf>,
    /// Master keys being rotated out: they still unwrap data keys until
    /// `mooring keys rotate` has rewrapped everything under `master_key`.
    pub previous_master_keys: Vec<SecretString>,
    /// Token of the admin API (at least 32 characters).
    pub admin_token: Option<SecretString>,
    /// File containing `admin_token`.
    pub admin_token_file: Option<PathBuf>,
}

/// Sections of stellar.toml the operator writes; Mooring publishes them as
/// given, after the fields it generates.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StellarTomlConfig {
    /// `ACCOUNTS`: accounts this organization controls.
    pub accounts: Vec<String>,
    /// `[DOCUMENTATION]`: ORG_NAME, ORG_URL, …
    pub documentation: Option<toml::Table>,
    /// `[[PRINCIPALS]]`.
    pub principals: Vec<toml::Table>,
    /// `[[CURRENCIES]]`.
    pub currencies: Vec<toml::Table>,
}
