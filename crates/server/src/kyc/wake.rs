//! Wake-ups of long polls when a target's KYC may have changed: an
//! in-process notifier per target and, on PostgreSQL, `LISTEN/NOTIFY` on
//! one channel so that a change made through any replica wakes the polls
//! every replica holds. A wake-up only says "look again": pollers
//! re-evaluate from the database, so a spurious one costs a read and a
//! lost one (a listener reconnecting) costs at most the poll's re-read
//! interval.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use super::Target;
use crate::db::Db;

/// The PostgreSQL channel.
pub const CHANNEL: &str = "mooring_kyc";

/// How many changes may wait for the worker before more are dropped (a
/// dropped one is caught by the pollers' periodic re-read).
const QUEUE: usize = 10_000;

/// The notifiers of the targets polled in this process.
#[derive(Clone, Default)]
pub struct Wakeups(Arc<Mutex<HashMap<String, Weak<Notify>>>>);

impl Wakeups {
    /// The notifier of `target`, shared by everyone polling it; dropped
    /// when the last of them stops.
    pub fn subscribe(&self, target: &Target) -> Arc<Notify> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= 1024 && map.len().is_power_of_two() {
            map.retain(|_, w| w.strong_count() > 0);
        }
        let key = target.key();
        if let Some(n) = map.get(&key).and_then(Weak::upgrade) {
            return n;
        }
        let n = Arc::new(Notify::new());
        map.insert(key, Arc::downgrade(&n));
        n
    }

    /// Wakes every poll of the target named by `key` in this process.
    pub fn wake_key(&self, key: &str) {
        let n = {
            let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            map.get(key).and_then(Weak::upgrade)
        };
        if let Some(n) = n {
            n.notify_waiters();
        }
    }

    /// Wakes every poll in this process (after a lost connection to the
    /// notifications).
    pub fn wake_all(&self) {
        let all: Vec<Arc<Notify>> = {
            let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            map.values().filter_map(Weak::upgrade).collect()
        };
        for n in all {
            n.notify_waiters();
        }
    }
}

/// Where a capability that changed KYC records says so, after its commit;
/// never blocks. [`super::Standing`] takes the changes from the other end.
#[derive(Clone)]
pub struct Changes(mpsc::Sender<Target>);

impl Changes {
    /// A new pair of ends.
    pub fn new() -> (Changes, mpsc::Receiver<Target>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (Changes(tx), rx)
    }

    /// The KYC record of `target` may have changed.
    pub fn changed(&self, target: Target) {
        if self.0.try_send(target).is_err() {
            tracing::debug!("KYC change queue full; pollers will re-read on their own");
        }
    }
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Changes")
    }
}

/// Tells everyone polling `target`: here, and on PostgreSQL every replica
/// (this one included, through its listener).
pub async fn announce(db: &Db, wakeups: &Wakeups, target: &Target) {
    let key = target.key();
    wakeups.wake_key(&key);
    if let Db::Postgres(pool) = db
        && let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(&key)
            .execute(pool)
            .await
    {
        tracing::warn!(error = %e, "could not notify other replicas of a KYC change");
    }
}

/// On PostgreSQL: listens on [`CHANNEL`] for as long as the server runs and
/// wakes this process's polls of each target named. After a lost
/// connection every poll is woken, as notifications may have been missed.
pub async fn listen(db: Db, wakeups: Wakeups) {
    let Db::Postgres(pool) = db else { return };
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "KYC notifications: cannot connect; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "KYC notifications: cannot listen; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        wakeups.wake_all();
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => wakeups.wake_key(n.payload()),
                Ok(None) => {
                    // The connection was lost and is re-established by the
                    // next receive; what was sent meanwhile is gone.
                    tracing::info!("KYC notifications: connection lost; reconnecting");
                    wakeups.wake_all();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "KYC notifications: receive failed; reconnecting");
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
