//! The wallet (and sending-anchor) side of Mooring: discover a server from
//! its stellar.toml ([`discovery`]), log in with SEP-10 ([`sep10`]), give
//! anchors KYC ([`sep12`]), wait out KYC limits the way DD64 does
//! ([`kyc`]), get SEP-38 quotes ([`sep38`]), send SEP-31 payments
//! ([`sep31`]), register and recover accounts with SEP-30 servers
//! ([`sep30`]), and read accounts from and submit transactions to Horizon
//! ([`horizon`]). Nothing here sleeps or loops on its own: callers poll at
//! the pace they choose.
//!
//! Every flow has an example in `crates/client/examples/`.

pub mod discovery;
pub mod horizon;
pub mod kyc;
pub mod sep10;
pub mod sep12;
pub mod sep30;
pub mod sep31;
pub mod sep38;

/// What went wrong talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request could not be made or its answer read.
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The anchor refused a step: its status and, in the spec's words,
    /// its `error` text.
    #[error("{anchor}: {step} answered {status}: {message}")]
    Status {
        /// The anchor's host (and port), from the URL asked.
        anchor: String,
        /// What was being done, e.g. "SEP-31 POST /transactions".
        step: &'static str,
        /// HTTP status.
        status: u16,
        /// The `error` field of the body, or the body.
        message: String,
        /// The body, when JSON (SEP-31's `customer_info_needed` carries
        /// the `type` beside `error`).
        body: serde_json::Value,
    },
    /// The server's challenge is not one to sign.
    #[error("the server's challenge is not acceptable: {0}")]
    Challenge(#[from] mooring_stellar::sep10::ChallengeError),
    /// The server's answer is well-formed but not what was asked for.
    #[error("unexpected answer: {0}")]
    Unexpected(&'static str),
    /// The stellar.toml lacks something or is malformed.
    #[error("stellar.toml: {0}")]
    StellarToml(String),
}

/// Turns a non-success response to `step` into [`ClientError::Status`],
/// naming the anchor it came from.
pub(crate) async fn check(
    res: reqwest::Response,
    step: &'static str,
) -> Result<reqwest::Response, ClientError> {
    if res.status().is_success() {
        return Ok(res);
    }
    let status = res.status().as_u16();
    let anchor = host_of(res.url());
    let text = res.text().await.unwrap_or_default();
    let body = serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default();
    let message = body
        .get("error")
        .and_then(|e| e.as_str())
        .map_or(text, str::to_owned);
    Err(ClientError::Status {
        anchor,
        step,
        status,
        message,
        body,
    })
}

/// Seconds since the Unix epoch, by this machine's clock.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The host (and port) of `url`, naming a server in errors.
pub(crate) fn host_of(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => url.to_string(),
    }
}

impl ClientError {
    /// SEP-31's `customer_info_needed`: the SEP-12 type to complete, when
    /// that is what the anchor answered.
    pub fn customer_info_needed(&self) -> Option<&str> {
        match self {
            ClientError::Status { body, .. } if body["error"] == "customer_info_needed" => {
                body["type"].as_str()
            }
            _ => None,
        }
    }
}
