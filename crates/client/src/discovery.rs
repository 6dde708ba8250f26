//! SEP-1 discovery: read a server's stellar.toml.

use mooring_stellar::stellar_toml::{MAX_STELLAR_TOML_BYTES, StellarToml};
use url::Url;

use crate::{ClientError, check};

/// Fetches and parses `<base>/.well-known/stellar.toml`, where `base` is
/// `https://domain` (or `http://localhost:port` in development).
pub async fn stellar_toml(http: &reqwest::Client, base: &Url) -> Result<StellarToml, ClientError> {
    let url = base
        .join("/.well-known/stellar.toml")
        .map_err(|e| ClientError::StellarToml(e.to_string()))?;
    let res = check(http.get(url).send().await?, "SEP-1 GET stellar.toml").await?;
    let body = res.bytes().await?;
    if body.len() > MAX_STELLAR_TOML_BYTES {
        return Err(ClientError::StellarToml("larger than 100 KB".into()));
    }
    let text =
        std::str::from_utf8(&body).map_err(|_| ClientError::StellarToml("not UTF-8".into()))?;
    StellarToml::parse(text).map_err(|e| ClientError::StellarToml(e.to_string()))
}

/// The server the stellar.toml at `home` names in `name` (`KYC_SERVER`,
/// `ANCHOR_QUOTE_SERVER`, …), read by `field`.
pub(crate) async fn server(
    http: &reqwest::Client,
    home: &Url,
    name: &str,
    field: impl FnOnce(StellarToml) -> Option<String>,
) -> Result<Url, ClientError> {
    let toml = stellar_toml(http, home).await?;
    let base = field(toml).ok_or_else(|| ClientError::StellarToml(format!("no {name}")))?;
    Url::parse(&base).map_err(|e| ClientError::StellarToml(format!("{name}: {e}")))
}

/// `base` with `segments` appended as path segments.
pub(crate) fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.path_segments_mut()
        .expect("an http(s) URL has a path")
        .pop_if_empty()
        .extend(segments);
    url
}
