//! Configuration of SEP-12 (customers, documents, verification, callbacks),
//! the document store and the admin API.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

/// SEP-12 KYC.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct Sep12Config {
    /// Serve SEP-12 (`/customer…`) and advertise KYC_SERVER.
    pub enabled: bool,
    /// The type used when a request names none.
    pub default_type: String,
    /// Development only: fields are ACCEPTED as soon as they are provided.
    pub auto_accept: bool,
    /// Largest file, in bytes (SEP-12 §File Size Limits suggests 10 MB).
    pub max_file_bytes: u64,
    /// Largest `PUT /customer` or `POST /customer/files` body, in bytes.
    pub max_request_bytes: u64,
    /// Seconds an uploaded file that no customer references is kept.
    pub unattached_file_ttl_secs: u64,
    /// Customer types and the fields each needs.
    pub types: BTreeMap<String, TypeConfig>,
    /// Verification codes for `mobile_number` and `email_address`.
    pub verification: VerificationConfig,
    /// Status-change callbacks.
    pub callbacks: CallbackConfig,
}

/// The fields one customer type needs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TypeConfig {
    /// Fields without which the customer is NEEDS_INFO.
    pub required: Vec<String>,
    /// Fields asked for but not needed.
    pub optional: Vec<String>,
}

fn fields(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

impl Default for Sep12Config {
    fn default() -> Self {
        let mut types = BTreeMap::new();
        types.insert(
            "sep31-sender".to_owned(),
            TypeConfig {
                required: fields(&["first_name", "last_name", "email_address"]),
                optional: fields(&[
                    "mobile_number",
                    "address",
                    "birth_date",
                    "address_country_code",
                ]),
            },
        );
        types.insert(
            "sep31-receiver".to_owned(),
            TypeConfig {
                required: fields(&[
                    "first_name",
                    "last_name",
                    "bank_account_number",
                    "bank_number",
                ]),
                optional: fields(&["email_address", "mobile_number", "bank_account_type"]),
            },
        );
        types.insert(
            "sep6".to_owned(),
            TypeConfig {
                required: fields(&[
                    "first_name",
                    "last_name",
                    "email_address",
                    "birth_date",
                    "id_type",
                    "id_number",
                    "photo_id_front",
                ]),
                optional: fields(&[
                    "mobile_number",
                    "address",
                    "address_country_code",
                    "photo_id_back",
                ]),
            },
        );
        Sep12Config {
            enabled: true,
            default_type: "sep31-sender".into(),
            auto_accept: false,
            max_file_bytes: 10 * 1024 * 1024,
            max_request_bytes: 32 * 1024 * 1024,
            unattached_file_ttl_secs: 24 * 3600,
            types,
            verification: VerificationConfig::default(),
            callbacks: CallbackConfig::default(),
        }
    }
}

/// Verification codes (SEP-12 §Verification).
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct VerificationConfig {
    /// Fields whose values must be confirmed with a code: any of
    /// `mobile_number`, `email_address`.
    pub fields: Vec<String>,
    /// Seconds a code stays valid.
    pub code_ttl_secs: u64,
    /// Wrong codes allowed before a code is void.
    pub max_attempts: u32,
    /// How codes are sent: `log` (development: the code goes to the log)
    /// or `notify` (`email_address` codes through `[mail]`, `mobile_number`
    /// codes through `[sms]`; checked in config/notify.rs).
    pub sender: String,
}

impl Default for VerificationConfig {
    fn default() -> Self {
        VerificationConfig {
            fields: Vec::new(),
            code_ttl_secs: 600,
            max_attempts: 5,
            sender: "log".into(),
        }
    }
}

/// Status-change callbacks (SEP-12 §Customer callback PUT).
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct CallbackConfig {
    /// Development only: hosts (`host` or `host:port`) that may receive
    /// callbacks over plain http and on private addresses.
    pub allow_http_hosts: Vec<String>,
    /// Seconds before a delivery attempt is given up.
    pub timeout_secs: u64,
    /// Seconds before the first retry; each further retry waits twice as
    /// long, up to ten minutes.
    pub retry_secs: u64,
    /// Seconds a callback keeps being retried before it is dropped.
    pub give_up_after_secs: u64,
}

impl Default for CallbackConfig {
    fn default() -> Self {
        CallbackConfig {
            allow_http_hosts: Vec::new(),
            timeout_secs: 10,
            retry_secs: 5,
            give_up_after_secs: 3 * 24 * 3600,
        }
    }
}

/// Where documents are kept.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct BlobsConfig {
    /// `local` (a folder, default `<data_dir>/blobs`) or `s3`.
    pub store: BlobStoreKind,
    /// Folder for `local`.
    pub path: Option<PathBuf>,
    /// S3-compatible store.
    pub s3: S3Config,
}

impl Default for BlobsConfig {
    fn default() -> Self {
        BlobsConfig {
            store: BlobStoreKind::Local,
            path: None,
            s3: S3Config::default(),
        }
    }
}

/// Kind of document store.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BlobStoreKind {
    /// The local filesystem.
    Local,
    /// Any S3-compatible service.
    S3,
}

/// An S3-compatible bucket.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct S3Config {
    /// Bucket name.
    pub bucket: String,
    /// Region (any value for most S3-compatible services).
    pub region: Option<String>,
    /// Endpoint for services other than AWS (MinIO, Ceph, R2…).
    pub endpoint: Option<Url>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<SecretString>,
    /// File containing `secret_access_key`.
    pub secret_access_key_file: Option<PathBuf>,
    /// Allow an `http://` endpoint (development).
    pub allow_http: bool,
}

/// The admin API for compliance staff, on a listener of its own.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct AdminConfig {
    /// Serve the admin API.
    pub enabled: bool,
    /// Its address; keep it off the public network.
    pub bind: SocketAddr,
    /// How long a console sign-in lasts, in seconds.
    pub console_session_secs: i64,
    /// Mark the console's cookie `Secure`: set when staff reach the admin
    /// listener over HTTPS (a TLS proxy in front of it).
    pub console_secure_cookies: bool,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            enabled: true,
            bind: ([127, 0, 0, 1], 8001).into(),
            console_session_secs: 1800,
            console_secure_cookies: false,
        }
    }
}
