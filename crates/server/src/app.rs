//! The server: shared state, the router with its layers, the listeners,
//! background tasks and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt as _;
use mooring_stellar::{Keypair, PublicKey};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::admin::AdminToken;
use crate::auth::jwt::Jwt;
use crate::auth::{WebAuth, WebAuthParts};
use crate::blobs::Blobs;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::config::Sep12Config;
use crate::customers::{CodeSender, Customers, CustomersParts, Deliverer, LogSender};
use crate::db::{Db, DbError, redact_url};
use crate::error::{self, ApiError};
use crate::horizon::{Horizon, Ledger};
use crate::recovery::authorize::{LogDelivery, Mailer, SmsSender, SmtpMailer};
use crate::recovery::{Recovery, RecoveryParts};
use crate::secrets::{self, SecretsError};
use crate::vault::Vault;
use crate::{discovery, telemetry};

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

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    web_auth: WebAuth,
    customers: Customers,
    recovery: Recovery,
    sep30_enabled: bool,
    trusted_proxies: Vec<crate::client_ip::IpNet>,
    deliverer: Deliverer,
    sep12: Arc<Sep12Config>,
    admin_token: AdminToken,
    jwt: Arc<Jwt>,
    clock: Arc<dyn Clock>,
    db: Db,
    stellar_toml: String,
}

impl AppState {
    /// The SEP-10 service.
    pub fn web_auth(&self) -> &WebAuth {
        &self.0.web_auth
    }

    /// The SEP-12 service.
    pub fn customers(&self) -> &Customers {
        &self.0.customers
    }

    /// The SEP-30 service.
    pub fn recovery(&self) -> &Recovery {
        &self.0.recovery
    }

    /// Whether SEP-30 is served.
    pub fn sep30_enabled(&self) -> bool {
        self.0.sep30_enabled
    }

    /// Proxies whose `X-Forwarded-For` is believed.
    pub fn trusted_proxies(&self) -> &[crate::client_ip::IpNet] {
        &self.0.trusted_proxies
    }

    /// SEP-12 settings.
    pub fn customers_config(&self) -> &Sep12Config {
        &self.0.sep12
    }

    /// The admin API's token.
    pub fn admin_token(&self) -> &AdminToken {
        &self.0.admin_token
    }

    /// The session token verifier.
    pub fn jwt(&self) -> &Jwt {
        &self.0.jwt
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.0.clock.as_ref()
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.0.db
    }
}

/// The public router: every endpoint, with CORS, request ids, tracing,
/// metrics, a body limit and panic recovery.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let sep12 = state.customers_config().enabled.then(|| {
        crate::customers::router(
            usize::try_from(state.customers_config().max_request_bytes).unwrap_or(usize::MAX),
        )
    });
    let sep30 = state.sep30_enabled().then(crate::recovery::router);
    let make_span = |req: &Request| {
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", |p| p.as_str());
        let id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!("request", method = %req.method(), route, request_id = id)
    };
    // SEP-1 and SEP-10 §Cross-Origin Headers: `Access-Control-Allow-Origin: *`
    // on every response, errors included, and preflight answered.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(86_400));
    Router::new()
        .route("/.well-known/stellar.toml", get(stellar_toml))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/health", get(health))
        .merge(crate::auth::router())
        .merge(sep12.unwrap_or_default())
        .merge(sep30.unwrap_or_default())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(CatchPanicLayer::custom(error::panic_response))
                .layer(axum::middleware::from_fn(telemetry::sanitize_request_id))
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(make_span)
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(axum::middleware::from_fn(telemetry::track_metrics))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(cors)
                .layer(DefaultBodyLimit::max(max_body_bytes)),
        )
}

/// SEP-1: `GET /.well-known/stellar.toml`.
async fn stellar_toml(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        state.0.stellar_toml.clone(),
    )
        .into_response()
}

/// The public key(s) session JWTs are signed with, as a JWKS.
async fn jwks(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        state.jwt().jwks().to_owned(),
    )
        .into_response()
}

/// Liveness and readiness: 200 when the database answers.
async fn health(State(state): State<AppState>) -> Result<Response, ApiError> {
    state
        .db()
        .ping()
        .await
        .map_err(|_| ApiError::unavailable("database unavailable"))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        r#"{"status":"ok"}"#,
    )
        .into_response())
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
    /// Where verification codes go; the log by default.
    pub code_sender: Option<Arc<dyn CodeSender>>,
    /// Where SEP-30 sign-in mail goes; `sep30.email` by default.
    pub mailer: Option<Arc<dyn Mailer>>,
    /// Where SEP-30 sign-in texts go; the log by default.
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
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    admin_listener: Option<TcpListener>,
    max_body_bytes: usize,
    grace: Duration,
    signing_key: PublicKey,
    public_url: String,
    /// What happened while starting.
    pub report: StartupReport,
}

impl Server {
    /// Prepares everything: data directory, secrets, database and
    /// migrations, listeners. Nothing is served until [`Server::run`].
    pub async fn build(mut config: Config, options: ServerOptions) -> Result<Server, StartError> {
        let io = |what: String| move |e| StartError::Io(what, e);
        let listener = match options.listener {
            Some(l) => l
                .set_nonblocking(true)
                .and_then(|()| TcpListener::from_std(l))
                .map_err(io("cannot use the given listener".into()))?,
            None => TcpListener::bind(config.http.bind)
                .await
                .map_err(io(format!("cannot listen on {}", config.http.bind)))?,
        };
        let port = listener
            .local_addr()
            .map_err(io("cannot read the listener's address".into()))?
            .port();
        config.use_bound_port(port);
        let admin_listener = if config.admin.enabled {
            Some(
                TcpListener::bind(config.admin.bind)
                    .await
                    .map_err(io(format!(
                        "cannot listen on {} for the admin API",
                        config.admin.bind
                    )))?,
            )
        } else {
            None
        };
        let metrics_listener = if config.metrics.enabled {
            telemetry::prometheus();
            Some(
                TcpListener::bind(config.metrics.bind)
                    .await
                    .map_err(io(format!(
                        "cannot listen on {} for metrics",
                        config.metrics.bind
                    )))?,
            )
        } else {
            None
        };

        secrets::create_private_dir(&config.data_dir.join("blobs")).map_err(io(format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )))?;
        let (secrets, keys_report) = secrets::load(&config)?;
        let database = redact_url(&config.database_url());
        let db = Db::connect(&config.database_url(), config.database_max_connections)
            .await
            .map_err(|e| StartError::Db(e, database.clone()))?;
        db.migrate()
            .await
            .map_err(|e| StartError::Db(e, database.clone()))?;

        let clock = options.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let mut warnings = keys_report.warnings;
        let ledger = match options.ledger {
            Some(l) => l,
            None => {
                let horizon = Horizon::new(
                    config.horizon_url().clone(),
                    Duration::from_secs(config.stellar.horizon_timeout_secs),
                )
                .map_err(|e| StartError::Http(e.to_string()))?;
                // A Horizon of another network would make every account look
                // unfunded (or not ours): refuse to start. One that cannot be
                // reached now only delays authentication (503 until it can).
                match horizon.network_passphrase().await {
                    Ok(p) if p == config.stellar.network_passphrase => {}
                    Ok(p) => {
                        return Err(StartError::Config(format!(
                            "stellar.horizon_url serves the network \"{p}\", but stellar.network_passphrase is \"{}\"",
                            config.stellar.network_passphrase
                        )));
                    }
                    Err(e) => warnings.push(format!(
                        "could not check which network stellar.horizon_url serves ({e}); SEP-10 answers 503 while Horizon is unreachable"
                    )),
                }
                Arc::new(horizon)
            }
        };
        let jwt = Arc::new(Jwt::new(&secrets.jwt, &config.endpoint("/auth")));
        let signing: Arc<Keypair> = Arc::new(secrets.signing);
        let signing_key = signing.public_key();
        let web_auth = WebAuth::new(
            &config,
            WebAuthParts {
                signing: signing.clone(),
                jwt: jwt.clone(),
                ledger: ledger.clone(),
                db: db.clone(),
                clock: clock.clone(),
            },
        )
        .map_err(|e| StartError::Http(e.to_string()))?;
        let vault = Arc::new(Vault::new(
            secrets.master_key.expose(),
            &secrets
                .previous_master_keys
                .iter()
                .map(|k| *k.expose())
                .collect::<Vec<_>>(),
        ));
        let blobs = Blobs::from_config(&config).map_err(StartError::Config)?;
        let stellar_toml = discovery::render(&config, &signing_key);
        let sep12 = Arc::new(std::mem::take(&mut config.sep12));
        let deliverer =
            Deliverer::new(db.clone(), &sep12.callbacks, signing.clone(), clock.clone())
                .map_err(|e| StartError::Http(e.to_string()))?;
        let mailer: Arc<dyn Mailer> = match options.mailer {
            Some(m) => m,
            None if config.sep30.email.sender == "smtp" => {
                Arc::new(SmtpMailer::new(&config.sep30.email).map_err(StartError::Config)?)
            }
            None => {
                if config.sep30.enabled && config.sep30.email.enabled {
                    warnings.push(
                        "sep30.email.sender is \"log\": sign-in codes go to the log, not to people (development only)".into(),
                    );
                }
                Arc::new(LogDelivery)
            }
        };
        if config.sep30.enabled && config.sep10.threshold != crate::config::ThresholdSetting::High {
            // SEP-30 §Authentication: the SEP-10 server "should be configured
            // to only issue JWTs if signers prove they meet the high threshold".
            warnings.push(
                "sep30 is enabled but sep10.threshold is not \"high\": a signer with medium weight can register the account's recovery and have it sign (SEP-30 asks for high)".into(),
            );
        }
        if config.sep30.enabled && config.sep30.sms.enabled && options.sms.is_none() {
            warnings.push(
                "sep30.sms.sender is \"log\": sign-in codes by SMS go to the log, not to people (development only)".into(),
            );
        }
        let recovery = Recovery::new(RecoveryParts {
            db: db.clone(),
            vault: vault.clone(),
            clock: clock.clone(),
            network: mooring_stellar::Network::new(config.stellar.network_passphrase.clone()),
            cfg: &config.sep30,
            jwt: jwt.clone(),
            public_url: config.endpoint(""),
            mailer,
            sms: options.sms.unwrap_or_else(|| Arc::new(LogDelivery)),
            ledger,
        })
        .await
        .map_err(|e| StartError::Config(format!("cannot set up SEP-30: {e}")))?;
        let customers = Customers::new(CustomersParts {
            db: db.clone(),
            vault,
            blobs,
            clock: clock.clone(),
            cfg: sep12.clone(),
            sender: options.code_sender.unwrap_or_else(|| Arc::new(LogSender)),
        });
        let state = AppState(Arc::new(Inner {
            web_auth,
            customers,
            recovery,
            sep30_enabled: config.sep30.enabled,
            trusted_proxies: config
                .http
                .trusted_proxies
                .iter()
                .filter_map(|p| crate::client_ip::IpNet::parse(p))
                .collect(),
            deliverer,
            sep12,
            admin_token: AdminToken::new(&secrets.admin_token),
            jwt,
            clock,
            db,
            stellar_toml,
        }));

        Ok(Server {
            state,
            listener,
            metrics_listener,
            admin_listener,
            max_body_bytes: config.http.max_body_bytes,
            grace: Duration::from_secs(config.http.shutdown_grace_secs),
            signing_key,
            public_url: config.endpoint(""),
            report: StartupReport {
                generated_keys: keys_report.generated,
                warnings,
                database,
            },
        })
    }

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
        let app = router(self.state.clone(), self.max_body_bytes);
        // Responses are small and written at once: never wait for Nagle.
        let listener = self.listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let mut main = tokio::spawn(
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(stopped(stop_rx.clone()))
            .into_future(),
        );
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
            let app = crate::admin::router(self.state.clone()).layer(
                ServiceBuilder::new()
                    .layer(CatchPanicLayer::custom(error::panic_response))
                    .layer(
                        TraceLayer::new_for_http()
                            .on_response(DefaultOnResponse::new().level(Level::INFO)),
                    )
                    .layer(DefaultBodyLimit::max(64 * 1024)),
            );
            tokio::spawn(
                axum::serve(l, app)
                    .with_graceful_shutdown(stopped(stop_rx.clone()))
                    .into_future(),
            )
        });
        let background = tokio::spawn(background_tasks(self.state.clone(), stop_rx.clone()));

        // Either a signal, or the server stopping on its own (an error):
        // both end the same way, with every task stopped and the pool closed.
        let ended = tokio::select! {
            () = shutdown => None,
            res = &mut main => Some(res),
        };
        let _ = stop_tx.send(true);
        let result = match ended {
            Some(res) => res
                .map_err(|e| StartError::Io("server task failed".into(), std::io::Error::other(e)))
                .and_then(|r| r.map_err(|e| StartError::Io("server failed".into(), e))),
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

async fn background_tasks(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut purge = tokio::time::interval(PURGE_INTERVAL);
    let mut upkeep = tokio::time::interval(Duration::from_secs(5));
    let mut callbacks = tokio::time::interval(Duration::from_secs(1));
    let mut janitor = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = callbacks.tick() => {
                if let Err(e) = state.0.deliverer.run_once().await {
                    tracing::warn!(error = %e, "could not deliver customer callbacks");
                }
            }
            _ = janitor.tick() => {
                match state.customers().expire_files().await {
                    Ok(n) if n > 0 => tracing::info!(expired = n, "discarded unreferenced uploads"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not discard expired uploads"),
                }
                state.customers().remove_deleted_blobs().await;
            }
            _ = purge.tick() => {
                if state.0.sep30_enabled {
                    match state.recovery().authorize().purge().await {
                        Ok(n) if n > 0 => tracing::debug!(purged = n, "purged expired sign-in requests"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "could not purge expired sign-in requests"),
                    }
                }
                match state.web_auth().purge().await {
                    Ok(n) if n > 0 => tracing::debug!(purged = n, "purged expired SEP-10 challenge records"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not purge expired SEP-10 challenge records"),
                }
            }
            _ = upkeep.tick() => telemetry::prometheus().run_upkeep(),
        }
    }
}

/// Resolves when the process receives SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Applies migrations and exits (`mooring migrate`).
pub async fn migrate(config: &Config) -> Result<String, StartError> {
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
