//! The wallet (and sending-anchor) side of Mooring: discover a server from
//! its stellar.toml, log in with SEP-10, and wait out KYC limits the way
//! DD64 does ([`kyc`]). Later capabilities add their flows here.

pub mod discovery;
pub mod kyc;
pub mod sep10;

/// What went wrong talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request could not be made or its answer read.
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The server answered with an error status.
    #[error("server answered {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The `error` field of the body, or the body.
        message: String,
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

/// Turns a non-success response into [`ClientError::Status`].
pub(crate) async fn check(res: reqwest::Response) -> Result<reqwest::Response, ClientError> {
    if res.status().is_success() {
        return Ok(res);
    }
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or(text);
    Err(ClientError::Status { status, message })
}
