//! The server: building it from the configuration ([`build`]), its routers
//! ([`router`]), the public listener's accept loop ([`serve`]), the other
//! listeners, background tasks and graceful shutdown.

mod build;
mod parse_errors;
mod router;
mod serve;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use mooring_stellar::PublicKey;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::attest::Attest;
use crate::auth::WebAuth;
use crate::clock::Clock;
use crate::config::Config;
use crate::console::Console;
use crate::customers::{CodeSender, Customers};
use crate::db::{Db, DbError, redact_url};
use crate::horizon::Ledger;
use crate::kyc::{Standing, Target};
use crate::limits::Limits;
use crate::outbox::Deliverer;
use crate::payments::{Observer, Payments};
use crate::quotes::Quotes;
use crate::rate_limit::RateLimits;
use crate::recovery::Recovery;
use crate::recovery::authorize::{Mailer, SmsSender};
use crate::secrets::{self, SecretsError};
use crate::state::AppState;
use crate::telemetry;

/// How often expired used-challenge records are purged.
const PURGE_INTERVAL: Duration = Duration::from_secs(300);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Secrets could not be loaded or generated.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// The database could not be opened or migrated.
    #[error("{0} (database: {1})")]
    Db(DbError, String),
    /// A directory or listener could not be set up.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The configuration contradicts what the outside world says.
    #[error("{0}")]
    Config(String),
    /// An HTTP client could not be built.
    #[error("could not set up an HTTP client: {0}")]
    Http(String),
}

/// The capabilities' services, built once and shared by their routers and
/// the background tasks.
pub(crate) struct Services {
    web_auth: Arc<WebAuth>,
    customers: Arc<Customers>,
    recovery: Arc<Recovery>,
    console: Arc<Console>,
    deliverer: Deliverer,
    limits: RateLimits,
    kyc_limits: Arc<Limits>,
    attest: Arc<Attest>,
    quotes: Arc<Quotes>,
    payments: Arc<Payments>,
    payment_deliverer: Arc<Deliverer>,
    observer: Option<Observer>,
    standing: Arc<Standing>,
    kyc_changes: Option<tokio::sync::mpsc::Receiver<Target>>,
    sep12_enabled: bool,
    sep30_enabled: bool,
    sep38_enabled: bool,
    sep31_enabled: bool,
    stellar_toml: Arc<String>,
}

/// What can be substituted when building a server (tests move the clock).
#[derive(Default)]
pub struct ServerOptions {
    /// The clock; the system clock by default.
    pub clock: Option<Arc<dyn Clock>>,
    /// The ledger; Horizon at `stellar.horizon_url` by default.
    pub ledger: Option<Arc<dyn Ledger>>,
    /// An already-bound public listener, used instead of `http.bind`.
    pub listener: Option<std::net::TcpListener>,
    /// Where verification codes go; by default as `sep12.verification.sender` says.
    pub code_sender: Option<Arc<dyn CodeSender>>,
    /// Where SEP-30 sign-in mail goes; by default `[mail]` (or `[sep30.email]`).
    pub mailer: Option<Arc<dyn Mailer>>,
    /// Where SEP-30 sign-in texts go; by default as `sep30.sms.sender` says.
    pub sms: Option<Arc<dyn SmsSender>>,
}

/// What happened while starting, for the operator.
#[derive(Debug, Default)]
pub struct StartupReport {
    /// Secrets were generated into this file.
    pub generated_keys: Option<PathBuf>,
    /// Things to fix.
    pub warnings: Vec<String>,
    /// The database, password redacted.
    pub database: String,
}

/// A server with its listeners bound, ready to run.
pub struct Server {
    state: AppState,
    services: Services,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    admin_listener: Option<TcpListener>,
    max_body_bytes: usize,
    grace: Duration,
    /// The public listener's limits (`[http]`), from [`serve::Edge::new`].
    edge: serve::Edge,
    signing_key: PublicKey,
    public_url: String,
    /// What happened while starting.
    pub report: StartupReport,
}

impl Server {
    /// The public listener's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The metrics listener's address, if enabled.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The admin listener's address, if enabled.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The state handlers share, for router-level tests.
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Whether SEP-30 is served.
    pub fn sep30_enabled(&self) -> bool {
        self.services.sep30_enabled
    }

    /// The public base URL, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The server's SEP-10 signing key (stellar.toml SIGNING_KEY).
    pub fn signing_key(&self) -> PublicKey {
        self.signing_key
    }

    /// Serves until `shutdown` completes, then lets in-flight requests
    /// finish for up to the grace period.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.changed().await;
        };
        let app = router::public(&self.state, &self.services, self.max_body_bytes);
        let mut main = tokio::spawn(serve::serve(self.listener, app, self.edge, stop_rx.clone()));
        let metrics = self.metrics_listener.map(|l| {
            let app = Router::new().route(
                "/metrics",
                get(|| async { telemetry::prometheus().render() }),
            );
            tokio::spawn(
                axum::serve(l, app)
                    .with_graceful_shutdown(stopped(stop_rx.clone()))
                    .into_future(),
            )
        });
        let admin = self.admin_listener.map(|l| {
            let app = router::admin(&self.state, &self.services);
            tokio::spawn(
                axum::serve(l, app)
                    .with_graceful_shutdown(stopped(stop_rx.clone()))
                    .into_future(),
            )
        });
        let background = tokio::spawn(background_tasks(self.services, stop_rx.clone()));

        // Either a signal, or the server stopping on its own (a panic):
        // both end the same way, with every task stopped and the pool closed.
        let ended = tokio::select! {
            () = shutdown => None,
            res = &mut main => Some(res),
        };
        let _ = stop_tx.send(true);
        let result = match ended {
            Some(res) => res
                .map_err(|e| StartError::Io("server task failed".into(), std::io::Error::other(e))),
            None => {
                tracing::info!("shutting down: finishing in-flight requests");
                if tokio::time::timeout(self.grace, &mut main).await.is_err() {
                    tracing::warn!(
                        grace_secs = self.grace.as_secs(),
                        "requests still running after the grace period; stopping anyway"
                    );
                    main.abort();
                }
                Ok(())
            }
        };
        for task in [metrics, admin].into_iter().flatten() {
            task.abort();
        }
        let _ = background.await;
        self.state.db().close().await;
        tracing::info!("stopped");
        result
    }
}

async fn background_tasks(mut s: Services, stop: watch::Receiver<bool>) {
    // KYC changes are followed (and, on PostgreSQL, heard from the other
    // replicas) for as long as the server runs; they hold no state worth
    // finishing, so they are simply dropped at the end.
    let follow = s
        .kyc_changes
        .take()
        .map(|rx| tokio::spawn(s.standing.clone().follow(rx)));
    let observer = s.observer.take().map(|o| tokio::spawn(o.run(stop.clone())));
    let listen = tokio::spawn(crate::kyc::wake::listen(
        s.standing.db().clone(),
        s.standing.wakeups().clone(),
    ));
    // Rate-limit counts are shared every second whatever the other tasks
    // are waiting for (a slow callback receiver, a long purge).
    // SEP-31's deliveries and sweeps run apart too: a slow partner's
    // callback URL must not hold up the customers' callbacks, nor they it.
    let payments = s.sep31_enabled.then(|| {
        let (p, d) = (s.payments.clone(), s.payment_deliverer.clone());
        tokio::spawn(payments_upkeep(p, d, stop.clone()))
    });
    tokio::join!(
        share_rate_limits(s.limits.clone(), stop.clone()),
        housekeeping(s, stop)
    );
    if let Some(p) = payments {
        let _ = p.await;
    }
    listen.abort();
    if let Some(o) = observer {
        // It gives its lease up on the stop signal.
        let _ = o.await;
    }
    if let Some(f) = follow {
        f.abort();
    }
}

async fn share_rate_limits(limits: RateLimits, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {
                if let Err(e) = limits.flush().await {
                    tracing::warn!(error = %e, "could not share rate-limit counts; retrying");
                }
            }
        }
    }
}

async fn housekeeping(s: Services, mut stop: watch::Receiver<bool>) {
    let mut purge = tokio::time::interval(PURGE_INTERVAL);
    let mut upkeep = tokio::time::interval(Duration::from_secs(5));
    let mut callbacks = tokio::time::interval(Duration::from_secs(1));
    let mut janitor = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = callbacks.tick() => {
                if let Err(e) = s.deliverer.run_once().await {
                    tracing::warn!(error = %e, "could not deliver customer callbacks");
                }
            }
            _ = janitor.tick() => {
                match s.customers.expire_files().await {
                    Ok(n) if n > 0 => tracing::info!(expired = n, "discarded unreferenced uploads"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not discard expired uploads"),
                }
                s.customers.remove_deleted_blobs().await;
            }
            _ = purge.tick() => {
                if s.sep30_enabled {
                    match s.recovery.authorize().purge().await {
                        Ok(n) if n > 0 => tracing::debug!(purged = n, "purged expired sign-in requests"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "could not purge expired sign-in requests"),
                    }
                }
                match s.limits.purge().await {
                    Ok(n) if n > 0 => tracing::debug!(purged = n, "purged old rate-limit counters"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not purge old rate-limit counters"),
                }
                if let Err(e) = s.standing.sweep_inheritance().await {
                    tracing::warn!(error = %e, "could not re-evaluate inherited KYC");
                }
                match s.kyc_limits.purge().await {
                    Ok(n) if n > 0 => tracing::debug!(purged = n, "purged old recorded operations"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not purge old recorded operations"),
                }
                match s.web_auth.purge().await {
                    Ok(n) if n > 0 => tracing::debug!(purged = n, "purged expired SEP-10 challenge records"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not purge expired SEP-10 challenge records"),
                }
            }
            _ = upkeep.tick() => telemetry::prometheus().run_upkeep(),
        }
    }
}

/// SEP-31's every-second work on any replica, until `stop`: webhooks and
/// callbacks, unpaid transactions expired, and those waiting for customer
/// updates resumed once their customers are accepted again.
async fn payments_upkeep(p: Arc<Payments>, d: Arc<Deliverer>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = d.run_once().await {
            tracing::warn!(error = %e, "could not deliver SEP-31 webhooks and callbacks");
        }
        match p.expire_due().await {
            Ok(n) if n > 0 => tracing::info!(expired = n, "expired unpaid SEP-31 transactions"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not expire unpaid SEP-31 transactions"),
        }
        if let Err(e) = p.resume_updated().await {
            tracing::warn!(error = %e, "could not resume SEP-31 transactions after customer updates");
        }
    }
}

/// Resolves when the process receives SIGINT (Ctrl-C) or SIGTERM. The
/// handlers are installed when this is called, not when it is first
/// polled: a signal that arrives between the two (a supervisor stopping a
/// server that has just said it is listening) would otherwise kill the
/// process instead of stopping it gracefully. Call it inside the runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let int = signal(SignalKind::interrupt()).ok();
        let term = signal(SignalKind::terminate()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(int) => {}
                () = wait(term) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Applies migrations and exits (`mooring migrate`).
pub async fn migrate(config: &Config) -> Result<String, StartError> {
    serve::private_files();
    let database = redact_url(&config.database_url());
    if config.uses_default_database() {
        secrets::create_private_dir(&config.data_dir).map_err(|e| {
            StartError::Io(format!("cannot create {}", config.data_dir.display()), e)
        })?;
    }
    let db = Db::connect(&config.database_url(), 1)
        .await
        .map_err(|e| StartError::Db(e, database.clone()))?;
    db.migrate()
        .await
        .map_err(|e| StartError::Db(e, database.clone()))?;
    db.close().await;
    Ok(database)
}
