//! Rate limits every replica shares: fixed-window counters per kind and
//! subject in the `rate_limits` table, the subject kept only as a keyed
//! hash (an IP address or an email address is personal data).
//!
//! Two ways to count:
//! - [`RateLimits::over`] writes each event: sign-in attempts and
//!   sponsorships, a few a minute, where a write each costs nothing.
//! - [`IpLimit::hit`] counts in this replica's memory, and
//!   [`RateLimits::flush`] (once a second) adds those counts to the table
//!   and learns back what every replica counted: SEP-10 challenges, which
//!   come by the thousand a second, where a write each would double the
//!   writes of a login. A replica learns of the others' counts within a
//!   flush, so across replicas the limit may be passed by what the others
//!   let through in their last second.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

use crate::clock::Clock;
use crate::db::{Db, DbError, Purge};
use crate::server_keys::{self, ServerKeyError};
use crate::vault::{DataKey, Place, Vault};
use crate::with_pool;

/// The server key that hashes subjects, in `server_keys`.
const KEY_ID: &str = "rate-limits";

/// The longest window any limit uses; counters older than this are purged.
pub const MAX_PERIOD: i64 = 86_400;

/// Subjects one in-memory limit follows in a window. Past this many (a
/// flood from that many networks at once), further ones are not counted
/// until the window ends: a per-address limit cannot stop such a flood,
/// and the memory stays bounded.
const MAX_SUBJECTS: usize = 100_000;

/// Counters written by one statement (three values each).
const ROWS_PER_STATEMENT: usize = 200;

/// An event over its limit, and when its window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// Seconds until the window ends (at least 1).
    pub retry_after: u64,
}

/// The shared limits (cheap to clone).
#[derive(Clone)]
pub struct RateLimits(Arc<Inner>);

struct Inner {
    db: Db,
    key: DataKey,
    clock: Arc<dyn Clock>,
    counted_here: Mutex<Vec<Arc<Counter>>>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits").finish_non_exhaustive()
    }
}

impl RateLimits {
    /// Loads (or, on the first start, creates) the key subjects are hashed with.
    pub async fn new(db: Db, vault: &Vault, clock: Arc<dyn Clock>) -> Result<Self, ServerKeyError> {
        let key = server_keys::load(&db, vault, KEY_ID).await?;
        Ok(RateLimits(Arc::new(Inner {
            db,
            key,
            clock,
            counted_here: Mutex::new(Vec::new()),
        })))
    }

    /// Counts one event of `kind` for `subject` against `limit` per
    /// `period` seconds, in the database at once; true when it is over.
    pub async fn over(
        &self,
        kind: &str,
        subject: &str,
        limit: i64,
        period: i64,
    ) -> Result<bool, DbError> {
        let start = window(self.now(), period);
        let hash = self.hash(kind, subject);
        let totals = add(&self.0.db, &[(hash, start, 1)]).await?;
        Ok(totals
            .get(hash.as_slice())
            .is_some_and(|&(p, count)| p == start && count > limit))
    }

    /// A limit of `limit` events per `period` seconds for each client
    /// network (an IPv4 address, an IPv6 /64), counted in memory and
    /// flushed by [`RateLimits::flush`].
    pub fn per_ip(&self, kind: &'static str, limit: i64, period: i64) -> IpLimit {
        assert!(
            (1..=MAX_PERIOD).contains(&period),
            "a limit's window is 1 s to a day"
        );
        let counter = Arc::new(Counter {
            kind,
            limit,
            period,
            clock: self.0.clock.clone(),
            windows: Mutex::new(HashMap::new()),
        });
        lock(&self.0.counted_here).push(counter.clone());
        IpLimit(counter)
    }

    /// Adds what this replica counted in memory since the last flush to
    /// the shared counters and learns their totals. Counts that could not
    /// be written stay for the next flush.
    pub async fn flush(&self) -> Result<(), DbError> {
        let counters = lock(&self.0.counted_here).clone();
        for counter in counters {
            let pending = counter.pending(self.now());
            for chunk in pending.chunks(ROWS_PER_STATEMENT) {
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|&(net, start, n)| (self.hash(counter.kind, &subject(net)), start, n))
                    .collect();
                let totals = add(&self.0.db, &rows).await?;
                let mut windows = lock(&counter.windows);
                for (&(net, start, n), (hash, _, _)) in chunk.iter().zip(&rows) {
                    if let Some(w) = windows.get_mut(&net)
                        && w.start == start
                    {
                        w.here -= n;
                        if let Some(&(p, total)) = totals.get(hash.as_slice())
                            && p == start
                        {
                            w.known = total;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Deletes counters whose window ended more than [`MAX_PERIOD`] ago, in
    /// small batches.
    pub async fn purge(&self) -> Result<u64, DbError> {
        let before = self.now() - MAX_PERIOD;
        Purge {
            table: "rate_limits",
            key: "key",
            filter: "period < $1",
        }
        .run(&self.0.db, before)
        .await
    }

    fn now(&self) -> i64 {
        i64::try_from(self.0.clock.now()).unwrap_or(i64::MAX)
    }

    fn hash(&self, kind: &str, subject: &str) -> [u8; 32] {
        let place = Place {
            table: "rate_limits",
            column: kind,
            row: "",
        };
        self.0.key.fingerprint(place, subject.as_bytes())
    }
}

/// One in-memory limit per client network (see [`RateLimits::per_ip`]).
#[derive(Clone)]
pub struct IpLimit(Arc<Counter>);

impl IpLimit {
    /// Counts one event from `ip`; `Err` when its network is over the
    /// limit in this window, as far as this replica knows.
    pub fn hit(&self, ip: IpAddr) -> Result<(), Limited> {
        let c = &self.0;
        let now = i64::try_from(c.clock.now()).unwrap_or(i64::MAX);
        let start = window(now, c.period);
        let mut windows = lock(&c.windows);
        let full = windows.len() >= MAX_SUBJECTS;
        let w = match windows.entry(network(ip)) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(_) if full => return Ok(()),
            Entry::Vacant(v) => v.insert(Window {
                start,
                here: 0,
                known: 0,
            }),
        };
        if w.start != start {
            *w = Window {
                start,
                here: 0,
                known: 0,
            };
        }
        w.here += 1;
        if w.known + w.here > c.limit {
            return Err(Limited {
                retry_after: u64::try_from(start + c.period - now).unwrap_or(1).max(1),
            });
        }
        Ok(())
    }
}

struct Counter {
    kind: &'static str,
    limit: i64,
    period: i64,
    clock: Arc<dyn Clock>,
    windows: Mutex<HashMap<IpAddr, Window>>,
}

/// A network's count in the current window.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// Start of the window, Unix seconds.
    start: i64,
    /// Counted here and not yet flushed.
    here: i64,
    /// The shared total at the last flush, this replica's flushed counts included.
    known: i64,
}

impl Counter {
    /// Forgets windows that have ended, and lists the counts to flush.
    fn pending(&self, now: i64) -> Vec<(IpAddr, i64, i64)> {
        let current = window(now, self.period);
        let mut windows = lock(&self.windows);
        windows.retain(|_, w| w.start >= current);
        windows
            .iter()
            .filter(|(_, w)| w.here > 0)
            .map(|(&net, w)| (net, w.start, w.here))
            .collect()
    }
}

/// The start of the `period`-second window `now` is in.
fn window(now: i64, period: i64) -> i64 {
    now - now.rem_euclid(period)
}

/// The network a client is counted by: its IPv4 address (also when it
/// comes mapped into IPv6), or the /64 of its IPv6 address — one host
/// usually holds a whole /64.
pub fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// A client network as the subject of a limit.
pub fn subject(ip: IpAddr) -> String {
    match network(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("{v6}/64"),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Counts stay usable if a holder panicked: they are only numbers.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Adds `(key, window start, count)` rows to the shared counters and
/// returns each key's window and total after the addition. A row for an
/// older window than the stored one (a replica whose clock lags) changes
/// nothing.
async fn add(
    db: &Db,
    rows: &[([u8; 32], i64, i64)],
) -> Result<HashMap<Vec<u8>, (i64, i64)>, DbError> {
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let values = (0..rows.len())
        .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO rate_limits (key, period, count) VALUES {values} \
         ON CONFLICT (key) DO UPDATE SET \
           count = CASE WHEN rate_limits.period = excluded.period THEN rate_limits.count + excluded.count \
                        WHEN rate_limits.period > excluded.period THEN rate_limits.count \
                        ELSE excluded.count END, \
           period = CASE WHEN rate_limits.period > excluded.period THEN rate_limits.period \
                         ELSE excluded.period END \
         RETURNING key, period, count"
    );
    let totals: Vec<(Vec<u8>, i64, i64)> = with_pool!(db, p => {
        let mut q = sqlx::query_as(&sql);
        for (key, start, n) in rows {
            q = q.bind(key.as_slice()).bind(*start).bind(*n);
        }
        q.fetch_all(p).await?
    });
    Ok(totals.into_iter().map(|(k, p, c)| (k, (p, c))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_network_per_ipv6_64_and_per_ipv4_address() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(network(a), network(b));
        assert_eq!(subject(a), "2001:db8:1:2::/64");
        assert_eq!(subject("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1");
        assert_ne!(
            network("192.0.2.1".parse().unwrap()),
            network("192.0.2.2".parse().unwrap())
        );
    }

    #[test]
    fn windows_start_on_multiples_of_the_period() {
        assert_eq!(window(125, 60), 120);
        assert_eq!(window(120, 60), 120);
    }
}
