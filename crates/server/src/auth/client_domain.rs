//! Client domain verification (SEP-10 §Verifying the Client Domain): fetch
//! the client domain's stellar.toml and read its SIGNING_KEY.
//!
//! The domain comes from the internet, so the fetch is guarded: HTTPS only
//! (plain http only for hosts the operator lists for development), a
//! timeout, the SEP-1 size cap, at most three redirects, and never to a
//! loopback, private, link-local or otherwise non-public address — checked
//! on every DNS answer and every redirect, so neither a DNS record nor a
//! redirect can point the server at its own network.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mooring_stellar::PublicKey;
use mooring_stellar::stellar_toml::{MAX_STELLAR_TOML_BYTES, StellarToml};
use url::Url;

use crate::config::{ClientDomainConfig, is_domain};
use crate::net;

/// Cached answers (keys and failures) kept at most.
const CACHE_CAPACITY: usize = 1024;
/// Redirects followed at most.
const MAX_REDIRECTS: usize = 3;
/// Seconds a failure is remembered, so that a stream of requests naming a
/// bad domain costs one fetch, not one each.
const FAILURE_TTL: Duration = Duration::from_secs(60);
/// Fetches in flight at once; more wait their turn.
const MAX_CONCURRENT_FETCHES: usize = 16;

/// Why a client domain's SIGNING_KEY could not be had. The text is safe to
/// return (SEP-10 answers these with 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientDomainError {
    /// Not `host` or `host:port`, or longer than a Manage Data value.
    #[error("client_domain must be a domain name (host or host:port, at most 64 characters)")]
    InvalidDomain,
    /// The fetch failed.
    #[error("could not fetch the stellar.toml of client_domain '{0}': {1}")]
    Fetch(String, String),
    /// The file is not usable.
    #[error("the stellar.toml of client_domain '{0}' {1}")]
    Unusable(String, &'static str),
}

/// Fetches and caches client domains' signing keys.
#[derive(Debug)]
pub struct ClientDomains {
    http: reqwest::Client,
    dev_http_hosts: Arc<Vec<String>>,
    cache_ttl: Duration,
    cache: Mutex<HashMap<String, Cached>>,
    fetches: tokio::sync::Semaphore,
}

#[derive(Debug, Clone)]
struct Cached {
    answer: Result<PublicKey, ClientDomainError>,
    at: Instant,
}

impl ClientDomains {
    /// A fetcher following `cfg`.
    pub fn new(cfg: &ClientDomainConfig) -> Result<Self, reqwest::Error> {
        let dev_http_hosts = Arc::new(cfg.allow_http_hosts.clone());
        let http = net::guarded_client(
            dev_http_hosts.clone(),
            Duration::from_secs(cfg.timeout_secs),
            MAX_REDIRECTS,
        )?;
        Ok(ClientDomains {
            http,
            dev_http_hosts,
            cache_ttl: Duration::from_secs(cfg.cache_secs),
            cache: Mutex::new(HashMap::new()),
            fetches: tokio::sync::Semaphore::new(MAX_CONCURRENT_FETCHES),
        })
    }

    /// The SIGNING_KEY of `domain`'s stellar.toml.
    pub async fn signing_key(&self, domain: &str) -> Result<PublicKey, ClientDomainError> {
        if !is_domain(domain) || domain.len() > 64 {
            return Err(ClientDomainError::InvalidDomain);
        }
        let domain = domain.to_ascii_lowercase();
        if let Some(answer) = self.cached(&domain) {
            return answer;
        }
        let _turn = self
            .fetches
            .acquire()
            .await
            .expect("the semaphore is never closed");
        // Another request may have fetched it while this one waited.
        if let Some(answer) = self.cached(&domain) {
            return answer;
        }
        let answer = self.fetch(&domain).await;
        self.remember(&domain, answer.clone());
        answer
    }

    fn cached(&self, domain: &str) -> Option<Result<PublicKey, ClientDomainError>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let entry = cache.get(domain)?;
        let ttl = if entry.answer.is_ok() {
            self.cache_ttl
        } else {
            FAILURE_TTL
        };
        (entry.at.elapsed() < ttl).then(|| entry.answer.clone())
    }

    fn remember(&self, domain: &str, answer: Result<PublicKey, ClientDomainError>) {
        if answer.is_ok() && self.cache_ttl.is_zero() {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_CAPACITY && !cache.contains_key(domain) {
            let (ttl, failure_ttl) = (self.cache_ttl, FAILURE_TTL);
            cache.retain(|_, c| c.at.elapsed() < if c.answer.is_ok() { ttl } else { failure_ttl });
            if cache.len() >= CACHE_CAPACITY {
                // Full of fresh entries: make room by dropping the oldest.
                let oldest = cache
                    .iter()
                    .min_by_key(|(_, c)| c.at)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    cache.remove(&k);
                }
            }
        }
        cache.insert(
            domain.to_owned(),
            Cached {
                answer,
                at: Instant::now(),
            },
        );
    }

    async fn fetch(&self, domain: &str) -> Result<PublicKey, ClientDomainError> {
        let fail = |why: String| ClientDomainError::Fetch(domain.to_owned(), why);
        let scheme = if self.dev_http_hosts.iter().any(|h| h == domain) {
            "http"
        } else {
            "https"
        };
        let url = Url::parse(&format!("{scheme}://{domain}/.well-known/stellar.toml"))
            .map_err(|_| ClientDomainError::InvalidDomain)?;
        if !net::url_allowed(&url, &self.dev_http_hosts) {
            return Err(fail("it is not a public address".into()));
        }
        let mut res = self.http.get(url).send().await.map_err(|e| {
            fail(if e.is_timeout() {
                "timed out".into()
            } else if e.is_redirect() {
                "it redirects to a non-public or non-HTTPS address, or too often".into()
            } else {
                "connection failed".into()
            })
        })?;
        if !res.status().is_success() {
            return Err(fail(format!("HTTP status {}", res.status().as_u16())));
        }
        let too_large = || ClientDomainError::Unusable(domain.to_owned(), "is larger than 100 KB");
        if res
            .content_length()
            .is_some_and(|l| l > MAX_STELLAR_TOML_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|_| fail("the connection broke".into()))?
        {
            if body.len() + chunk.len() > MAX_STELLAR_TOML_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let text = std::str::from_utf8(&body)
            .map_err(|_| ClientDomainError::Unusable(domain.to_owned(), "is not UTF-8 text"))?;
        let toml = StellarToml::parse(text)
            .map_err(|_| ClientDomainError::Unusable(domain.to_owned(), "is not valid TOML"))?;
        toml.signing_key()
            .map_err(|_| ClientDomainError::Unusable(domain.to_owned(), "has no valid SIGNING_KEY"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn invalid_domains_are_refused_before_any_fetch() {
        let cd = ClientDomains::new(&ClientDomainConfig::default()).unwrap();
        for bad in [
            "",
            "http://x.com",
            "x.com/path",
            "user@x.com",
            &"a".repeat(65),
        ] {
            assert_eq!(
                cd.signing_key(bad).await,
                Err(ClientDomainError::InvalidDomain),
                "{bad}"
            );
        }
        // 127.0.0.1 is a syntactically valid host, but not a public one.
        assert!(matches!(
            cd.signing_key("127.0.0.1").await,
            Err(ClientDomainError::Fetch(_, _))
        ));
    }
}
