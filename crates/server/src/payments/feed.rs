//! Horizon's payments of an account, as the observer reads them: pages of
//! `GET /accounts/{id}/payments?cursor=…&order=asc&join=transactions`, and
//! the same endpoint streamed as server-sent events (Horizon's documented
//! streaming: `Accept: text/event-stream`, one `data:` JSON record per
//! event, `"hello"` and `"byebye"` messages around them).

use std::time::Duration;

use futures::{Stream, StreamExt as _};
use serde::Deserialize;
use url::Url;

/// Records per page.
pub const PAGE: usize = 200;
/// Longest SSE event accepted (a payment record is about 2 KiB).
const MAX_EVENT: usize = 64 * 1024;

/// Why Horizon could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// No answer, or it broke off.
    #[error("Horizon could not be reached: {0}")]
    Unreachable(String),
    /// An answer that is not the payments.
    #[error("Horizon answered {0}")]
    BadStatus(u16),
    /// A record or page that could not be read.
    #[error("Horizon's answer could not be read: {0}")]
    BadBody(String),
}

/// A payments record (an operation) in Horizon's shape; only the fields
/// the observer reads. `create_account` and `account_merge` records have
/// no `to`, `amount` or asset and are passed over.
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    /// The operation id.
    pub id: String,
    /// Where the next page starts.
    pub paging_token: String,
    /// `payment`, `path_payment_strict_send`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Unset by old Horizons: successful.
    #[serde(default)]
    pub transaction_successful: Option<bool>,
    /// The Stellar transaction's hash.
    pub transaction_hash: String,
    /// The payer.
    #[serde(default)]
    pub from: Option<String>,
    /// The payee.
    #[serde(default)]
    pub to: Option<String>,
    /// `native`, `credit_alphanum4`, `credit_alphanum12`.
    #[serde(default)]
    pub asset_type: Option<String>,
    /// With a credit asset.
    #[serde(default)]
    pub asset_code: Option<String>,
    /// With a credit asset.
    #[serde(default)]
    pub asset_issuer: Option<String>,
    /// Received (a path payment's destination amount).
    #[serde(default)]
    pub amount: Option<String>,
    /// The transaction, with `join=transactions`.
    #[serde(default)]
    pub transaction: Option<TxRecord>,
}

/// The joined transaction: its memo.
#[derive(Debug, Clone, Deserialize)]
pub struct TxRecord {
    /// `none`, `id`, `text`, `hash`, `return`.
    pub memo_type: String,
    /// Absent with `none`.
    #[serde(default)]
    pub memo: Option<String>,
}

impl Record {
    /// The asset in SEP-38's naming (`stellar:CODE:ISSUER`, or `native`).
    pub fn asset(&self) -> Option<String> {
        match self.asset_type.as_deref()? {
            "native" => Some("native".into()),
            _ => Some(format!(
                "stellar:{}:{}",
                self.asset_code.as_deref()?,
                self.asset_issuer.as_deref()?
            )),
        }
    }
}

#[derive(Deserialize)]
struct Page {
    #[serde(rename = "_embedded")]
    embedded: Embedded,
}

#[derive(Deserialize)]
struct Embedded {
    records: Vec<Record>,
}

/// Horizon, for payments.
#[derive(Clone)]
pub struct Feed {
    base: Url,
    http: reqwest::Client,
    timeout: Duration,
}

impl Feed {
    /// The Horizon at `base`; a page (or a quiet stream) taking longer than
    /// `timeout` is given up.
    pub fn new(base: Url, timeout: Duration) -> Result<Feed, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .user_agent(concat!("mooring/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Feed {
            base,
            http,
            timeout,
        })
    }

    /// The paging token of the account's latest payment, if it has any:
    /// where watching starts the first time (Horizon's `cursor=now` would
    /// do for a stream, but not for pages).
    pub async fn latest(&self, account: &str) -> Result<Option<String>, FeedError> {
        let mut url = self.url(account, "", Some(1));
        let query: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "cursor" && k != "order")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(query)
            .append_pair("order", "desc");
        Ok(self.get_page(url).await?.pop().map(|r| r.paging_token))
    }

    fn url(&self, account: &str, cursor: &str, limit: Option<usize>) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("an http(s) URL has a path")
            .pop_if_empty()
            .extend(["accounts", account, "payments"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("cursor", cursor)
                .append_pair("order", "asc")
                .append_pair("join", "transactions");
            if let Some(l) = limit {
                q.append_pair("limit", &l.to_string());
            }
        }
        url
    }

    /// Up to [`PAGE`] records after `cursor`. An account Horizon does not
    /// know (not funded yet) has none.
    pub async fn page(&self, account: &str, cursor: &str) -> Result<Vec<Record>, FeedError> {
        self.get_page(self.url(account, cursor, Some(PAGE))).await
    }

    async fn get_page(&self, url: Url) -> Result<Vec<Record>, FeedError> {
        let res = self
            .http
            .get(url)
            .header("accept", "application/json")
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| FeedError::Unreachable(e.without_url().to_string()))?;
        match res.status().as_u16() {
            200 => {}
            404 => return Ok(Vec::new()),
            s => return Err(FeedError::BadStatus(s)),
        }
        let page: Page = res
            .json()
            .await
            .map_err(|e| FeedError::BadBody(e.without_url().to_string()))?;
        Ok(page.embedded.records)
    }

    /// The records after `cursor` as Horizon streams them, until the
    /// stream ends or fails.
    pub async fn stream(
        &self,
        account: &str,
        cursor: &str,
    ) -> Result<impl Stream<Item = Result<Record, FeedError>> + use<>, FeedError> {
        let res = self
            .http
            .get(self.url(account, cursor, None))
            .header("accept", "text/event-stream")
            .send()
            .await
            .map_err(|e| FeedError::Unreachable(e.without_url().to_string()))?;
        if res.status().as_u16() != 200 {
            return Err(FeedError::BadStatus(res.status().as_u16()));
        }
        let streaming = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !streaming {
            return Err(FeedError::BadBody("not an event stream".into()));
        }
        let bytes = Box::pin(res.bytes_stream());
        let state = (bytes, Vec::<u8>::new(), false);
        Ok(futures::stream::unfold(
            state,
            |(mut bytes, mut buf, done)| async move {
                if done {
                    return None;
                }
                loop {
                    // One event per blank line ("\n\n"; "\r\n" lines read alike).
                    while let Some(end) = event_end(&buf) {
                        let event: Vec<u8> = buf.drain(..end).collect();
                        if let Some(r) = data_of(&event) {
                            return Some((r, (bytes, buf, false)));
                        }
                    }
                    if buf.len() > MAX_EVENT {
                        let e = FeedError::BadBody("an event is too long".into());
                        return Some((Err(e), (bytes, buf, true)));
                    }
                    match bytes.next().await {
                        Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
                        Some(Err(e)) => {
                            let e = FeedError::Unreachable(e.without_url().to_string());
                            return Some((Err(e), (bytes, buf, true)));
                        }
                        None => return None,
                    }
                }
            },
        ))
    }
}

/// Where the first complete event in `buf` ends (after its blank line).
fn event_end(buf: &[u8]) -> Option<usize> {
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The record an event's `data:` lines carry; `None` for Horizon's
/// `"hello"` and `"byebye"`, comments and events without data.
fn data_of(event: &[u8]) -> Option<Result<Record, FeedError>> {
    let text = String::from_utf8_lossy(event);
    let data: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .collect();
    if data.is_empty() {
        return None;
    }
    let data = data.join("\n");
    if data.starts_with('"') {
        return None;
    }
    Some(serde_json::from_str(&data).map_err(|e| FeedError::BadBody(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_split_and_read() {
        let buf = b"retry: 1000\nevent: open\ndata: \"hello\"\n\nid: 1\ndata: {\"id\":\"1\",\"paging_token\":\"1\",\"type\":\"payment\",\"transaction_hash\":\"h\"}\n\n";
        let end = event_end(buf).unwrap();
        assert!(data_of(&buf[..end]).is_none());
        let r = data_of(&buf[end..]).unwrap().unwrap();
        assert_eq!((r.id.as_str(), r.kind.as_str()), ("1", "payment"));
        assert_eq!(event_end(b"data: x\r\n\r\n"), Some(11));
        assert_eq!(event_end(b"data: x\n"), None);
    }

    #[test]
    fn page_urls_keep_the_base_path() {
        let f = Feed::new(
            Url::parse("https://h.example/horizon/").unwrap(),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(
            f.url("GA", "now", Some(200)).as_str(),
            "https://h.example/horizon/accounts/GA/payments?cursor=now&order=asc&join=transactions&limit=200"
        );
    }
}
