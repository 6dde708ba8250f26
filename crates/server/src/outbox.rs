//! The outbox every capability's callbacks and webhooks go through: rows
//! written in the database transaction of the change they report,
//! delivered by a worker on any replica — in order per stream, signed as
//! SEP-12 §Customer callback and SEP-31 §Callback POST say, retried with
//! backoff — so a change is never lost to a receiver that is down or a
//! server that restarts. Imports no capability.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mooring_stellar::Keypair;
use url::Url;

use crate::clock::Clock;
use crate::config::CallbackConfig;
use crate::db::{Db, DbError, Tx};
use crate::{net, with_pool, with_reader, with_tx};

/// Seconds a claimed delivery stays claimed: longer than any attempt
/// (`timeout_secs` is at most [`MAX_TIMEOUT_SECS`]).
const CLAIM_SECS: i64 = 60;
/// The longest `timeout_secs` of a delivery, well inside [`CLAIM_SECS`].
pub const MAX_TIMEOUT_SECS: u64 = 30;
/// Longest wait between attempts.
const MAX_BACKOFF_SECS: i64 = 600;

/// Checks a callback URL: HTTPS to a public host on the default port, or a
/// development host. Answers the text of a 400 otherwise.
pub fn check_url(url: &str, dev_hosts: &[String]) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|_| "url is not a valid absolute URL".to_owned())?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("url must not contain credentials".into());
    }
    if !net::url_allowed(&parsed, dev_hosts) {
        return Err("url must be https:// to a public host on the default port".into());
    }
    Ok(parsed)
}

/// [`check_url`], and the host must not resolve to a private address (a
/// callback is a request the server makes on someone's word).
pub async fn check_callback_url(url: &str, dev_hosts: &[String]) -> Result<Url, String> {
    let url = check_url(url, dev_hosts)?;
    net::resolves_public(&url, dev_hosts)
        .await
        .map_err(str::to_owned)?;
    Ok(url)
}

/// The `Signature` header (SEP-12 and SEP-31 §COMPUTE signature):
/// `t=<timestamp>, s=<base64 signature of "<timestamp>.<host>.<body>">`,
/// signed with the SIGNING_KEY. `host` is the callback URL's host name, as
/// the Anchor Platform signs it.
pub fn signature(key: &Keypair, timestamp: u64, host: &str, body: &str) -> String {
    let payload = format!("{timestamp}.{host}.{body}");
    format!(
        "t={timestamp}, s={}",
        STANDARD.encode(key.sign(payload.as_bytes()))
    )
}

/// One outbox table: its name, the column naming each row's stream
/// (deliveries of one stream arrive in order), and what it carries, for
/// the log.
#[derive(Debug, Clone, Copy)]
pub struct Outbox {
    /// The table.
    pub table: &'static str,
    /// The stream column.
    pub stream: &'static str,
    /// For log lines.
    pub what: &'static str,
}

impl Outbox {
    /// Enqueues a delivery on `stream`, in the caller's transaction.
    pub async fn enqueue(
        &self,
        tx: &mut Tx,
        stream: &str,
        url: &str,
        body: &str,
        now: i64,
    ) -> Result<(), DbError> {
        let sql = format!(
            "INSERT INTO {} ({}, url, body, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $4)",
            self.table, self.stream
        );
        with_tx!(tx, e => sqlx::query(&sql)
            .bind(stream)
            .bind(url)
            .bind(body)
            .bind(now)
            .execute(e)
            .await?
            .rows_affected());
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct Due {
    id: i64,
    url: String,
    body: String,
    attempts: i64,
    created_at: i64,
}

/// Delivers one outbox's queued rows.
pub struct Deliverer {
    outbox: Outbox,
    due_sql: String,
    db: Db,
    http: reqwest::Client,
    signing: Arc<Keypair>,
    clock: Arc<dyn Clock>,
    retry_secs: i64,
    give_up_after: i64,
}

impl Deliverer {
    /// A deliverer of `outbox` following `cfg`.
    pub fn new(
        outbox: Outbox,
        db: Db,
        cfg: &CallbackConfig,
        signing: Arc<Keypair>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, reqwest::Error> {
        let (table, stream) = (outbox.table, outbox.stream);
        Ok(Deliverer {
            outbox,
            due_sql: format!(
                "SELECT id, url, body, attempts, created_at FROM {table} o \
                 WHERE next_attempt_at <= $1 AND locked_until < $1 \
                 AND id = (SELECT MIN(id) FROM {table} WHERE {stream} = o.{stream}) \
                 ORDER BY id LIMIT 32"
            ),
            db,
            // Callbacks are not redirected: the receiver named its URL.
            http: net::guarded_client(
                Arc::new(cfg.allow_http_hosts.clone()),
                Duration::from_secs(cfg.timeout_secs),
                0,
            )?,
            signing,
            clock,
            retry_secs: i64::try_from(cfg.retry_secs.max(1)).unwrap_or(5),
            give_up_after: i64::try_from(cfg.give_up_after_secs).unwrap_or(i64::MAX),
        })
    }

    fn now(&self) -> i64 {
        i64::try_from(self.clock.now()).unwrap_or(i64::MAX)
    }

    /// Delivers what is due: for each stream, only its oldest undelivered
    /// row, so they arrive in order. Returns how many were delivered.
    pub async fn run_once(&self) -> Result<usize, DbError> {
        let now = self.now();
        let table = self.outbox.table;
        let due: Vec<Due> = with_reader!(&self.db, pool => sqlx::query_as(&self.due_sql)
            .bind(now)
            .fetch_all(pool)
            .await?);
        let mut delivered = 0;
        for d in due {
            // Claim it, so that another replica does not deliver it too.
            let claim =
                format!("UPDATE {table} SET locked_until = $2 WHERE id = $1 AND locked_until < $3");
            // At claim time: the attempts before this one took their time.
            let at = self.now();
            let claimed = with_pool!(&self.db, pool => sqlx::query(&claim)
                .bind(d.id)
                .bind(at + CLAIM_SECS)
                .bind(at)
                .execute(pool)
                .await?
                .rows_affected());
            if claimed != 1 {
                continue;
            }
            let delete = format!("DELETE FROM {table} WHERE id = $1");
            match self.deliver(&d).await {
                Ok(()) => {
                    with_pool!(&self.db, pool => sqlx::query(&delete)
                        .bind(d.id)
                        .execute(pool)
                        .await?
                        .rows_affected());
                    delivered += 1;
                }
                Err(why) if self.now() - d.created_at > self.give_up_after => {
                    tracing::warn!(reason = %why, attempts = d.attempts + 1, what = self.outbox.what, "giving up on a delivery");
                    with_pool!(&self.db, pool => sqlx::query(&delete)
                        .bind(d.id)
                        .execute(pool)
                        .await?
                        .rows_affected());
                }
                Err(why) => {
                    let attempts = d.attempts + 1;
                    let wait = (self.retry_secs << (attempts - 1).min(16)).min(MAX_BACKOFF_SECS);
                    tracing::debug!(reason = %why, attempts, wait, what = self.outbox.what, "delivery failed; will retry");
                    let retry = format!(
                        "UPDATE {table} SET attempts = $2, next_attempt_at = $3, locked_until = 0, last_error = $4 WHERE id = $1"
                    );
                    with_pool!(&self.db, pool => sqlx::query(&retry)
                        .bind(d.id)
                        .bind(attempts)
                        .bind(self.now() + wait)
                        .bind(&why)
                        .execute(pool)
                        .await?
                        .rows_affected());
                }
            }
        }
        Ok(delivered)
    }

    async fn deliver(&self, d: &Due) -> Result<(), String> {
        let url = Url::parse(&d.url).map_err(|_| "invalid url".to_owned())?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let header = signature(&self.signing, self.clock.now(), &host, &d.body);
        let res = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("signature", header)
            .body(d.body.clone())
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "timed out".to_owned()
                } else if e.is_redirect() {
                    // The receiver named its URL: callbacks are not redirected.
                    "redirected (callbacks do not follow redirects)".to_owned()
                } else {
                    "connection failed".to_owned()
                }
            })?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", res.status().as_u16()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_signs_timestamp_host_and_body() {
        let kp = Keypair::random();
        let h = signature(
            &kp,
            1700000000,
            "wallet.example.com",
            "{\"status\":\"ACCEPTED\"}",
        );
        let s = h.strip_prefix("t=1700000000, s=").unwrap();
        let sig = STANDARD.decode(s).unwrap();
        assert!(kp.public_key().verify(
            b"1700000000.wallet.example.com.{\"status\":\"ACCEPTED\"}",
            &sig
        ));
    }

    #[test]
    fn callback_urls_must_be_public_https() {
        let dev = vec!["127.0.0.1:9000".to_string()];
        assert!(check_url("https://wallet.example.com/kyc", &[]).is_ok());
        assert!(check_url("http://127.0.0.1:9000/cb", &dev).is_ok());
        for bad in [
            "http://wallet.example.com/kyc",
            "https://127.0.0.1/cb",
            "https://u:p@wallet.example.com/",
            "not a url",
            "https://wallet.example.com:8443/",
        ] {
            assert!(check_url(bad, &[]).is_err(), "{bad}");
        }
    }
}
