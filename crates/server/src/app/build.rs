//! Building a server from its configuration: listeners, secrets, the
//! database, the outside world (Horizon, mail, SMS) and each capability's
//! service. Nothing is served until [`Server::run`].

use std::sync::Arc;
use std::time::Duration;

use mooring_stellar::Keypair;
use tokio::net::TcpListener;

use super::{Server, ServerOptions, Services, StartError, StartupReport};
use crate::attest::{Attest, AttestParts};
use crate::auth::{WebAuth, WebAuthParts};
use crate::blobs::Blobs;
use crate::clock::{Clock, SystemClock};
use crate::config::parse_ip_range;
use crate::config::{
    CallbackConfig, Config, MailSenderKind, Sep12Config, SmsSenderKind, ThresholdSetting,
};
use crate::console::{Console, ConsoleParts};
use crate::customers::{CALLBACKS, CodeSender, Customers, CustomersParts, LogSender, NotifySender};
use crate::db::{Db, redact_url};
use crate::horizon::{Horizon, Ledger};
use crate::http::AdminToken;
use crate::jwt::Jwt;
use crate::kyc::{self, Standing, Wakeups};
use crate::limits::{Limits, LimitsParts};
use crate::notify::{self, LogDelivery, Mailer, SmsSender};
use crate::outbox::Deliverer;
use crate::partners::{Partners, QuoteBook};
use crate::payments::{Feed, Observer, PAYMENTS, Payments, PaymentsParts};
use crate::quotes::{Quotes, QuotesParts};
use crate::rate_limit::RateLimits;
use crate::recovery::{Recovery, RecoveryParts};
use crate::state::AppState;
use crate::{discovery, net, secrets, telemetry};

fn io(what: String) -> impl FnOnce(std::io::Error) -> StartError {
    move |e| StartError::Io(what, e)
}

/// The public, admin and metrics listeners.
struct Listeners {
    public: TcpListener,
    admin: Option<TcpListener>,
    metrics: Option<TcpListener>,
}

/// Binds the listeners; the public one's port becomes the configuration's
/// (`http.bind` may ask for port 0).
async fn listen(
    config: &mut Config,
    given: Option<std::net::TcpListener>,
) -> Result<Listeners, StartError> {
    let public = match given {
        Some(l) => l
            .set_nonblocking(true)
            .and_then(|()| TcpListener::from_std(l))
            .map_err(io("cannot use the given listener".into()))?,
        None => TcpListener::bind(config.http.bind)
            .await
            .map_err(io(format!("cannot listen on {}", config.http.bind)))?,
    };
    let port = public
        .local_addr()
        .map_err(io("cannot read the listener's address".into()))?
        .port();
    config.use_bound_port(port);
    let admin = if config.admin.enabled {
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
    let metrics = if config.metrics.enabled {
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
    Ok(Listeners {
        public,
        admin,
        metrics,
    })
}

/// Horizon at `stellar.horizon_url`. A Horizon of another network would
/// make every account look unfunded (or not ours): refuse to start. One
/// that cannot be reached now only delays authentication (503 until it can).
async fn horizon(
    config: &Config,
    warnings: &mut Vec<String>,
) -> Result<Arc<dyn Ledger>, StartError> {
    let horizon = Horizon::new(
        config.horizon_url().clone(),
        Duration::from_secs(config.stellar.horizon_timeout_secs),
    )
    .map_err(|e| StartError::Http(e.to_string()))?;
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
    Ok(Arc::new(horizon))
}

/// Where codes and mail go: each capability's to the log (development)
/// or through the shared senders of `[mail]` and `[sms]`
/// (crate::notify); given ones (tests) replace both. With the operator's
/// warnings about them and about SEP-30's other settings.
struct Senders {
    sep30_mail: Arc<dyn Mailer>,
    sep30_sms: Arc<dyn SmsSender>,
    sep12_codes: Arc<dyn CodeSender>,
}

/// Senders given instead of the configured ones (tests).
struct Given {
    mailer: Option<Arc<dyn Mailer>>,
    sms: Option<Arc<dyn SmsSender>>,
    codes: Option<Arc<dyn CodeSender>>,
}

fn senders(
    config: &Config,
    sep12: &Sep12Config,
    given: Given,
    warnings: &mut Vec<String>,
) -> Result<Senders, StartError> {
    let sep30 = &config.sep30;
    let mail = config.mail_settings();
    // A given sender is used as the configured ones would be.
    let (mailer_given, sms_given) = (given.mailer.is_some(), given.sms.is_some());
    let mailer = match given.mailer {
        Some(m) => m,
        None => notify::mailer(&mail).map_err(StartError::Config)?,
    };
    let sms = match given.sms {
        Some(s) => s,
        None => notify::sms_sender(&config.sms).map_err(StartError::Config)?,
    };
    let sep30_mail: Arc<dyn Mailer> = if mailer_given || sep30.email.sender == "smtp" {
        mailer.clone()
    } else {
        if sep30.enabled && sep30.email.enabled {
            warnings.push(
                "sep30.email.sender is \"log\": sign-in codes go to the log, not to people (development only)".into(),
            );
        }
        Arc::new(LogDelivery)
    };
    if sep30.enabled && config.sep10.threshold != ThresholdSetting::High {
        // SEP-30 §Authentication: the SEP-10 server "should be configured
        // to only issue JWTs if signers prove they meet the high threshold".
        warnings.push(
            "sep30 is enabled but sep10.threshold is not \"high\": a signer with medium weight can register the account's recovery and have it sign (SEP-30 asks for high)".into(),
        );
    }
    let sep30_sms: Arc<dyn SmsSender> = if sms_given || sep30.sms.sender == "twilio" {
        sms.clone()
    } else {
        if sep30.enabled && sep30.sms.enabled {
            warnings.push(
                "sep30.sms.sender is \"log\": sign-in codes by SMS go to the log, not to people (development only)".into(),
            );
        }
        Arc::new(LogDelivery)
    };
    let v = &sep12.verification;
    let verifying = |field: &str| sep12.enabled && v.fields.iter().any(|f| f == field);
    let sep12_codes: Arc<dyn CodeSender> = match given.codes {
        Some(s) => s,
        None if v.sender == "notify" => {
            if verifying("email_address") && !mailer_given && mail.sender == MailSenderKind::Log {
                warnings.push(
                    "sep12.verification.sender is \"notify\" but mail.sender is \"log\": email verification codes go to the log, not to people (development only)".into(),
                );
            }
            if verifying("mobile_number") && !sms_given && config.sms.sender == SmsSenderKind::Log {
                warnings.push(
                    "sep12.verification.sender is \"notify\" but sms.sender is \"log\": phone verification codes go to the log, not to people (development only)".into(),
                );
            }
            let host = config.public_url().host_str().unwrap_or("localhost");
            Arc::new(NotifySender::new(mailer, sms, host, v.code_ttl_secs))
        }
        None => {
            if verifying("email_address") || verifying("mobile_number") {
                warnings.push(
                    "sep12.verification.sender is \"log\": verification codes go to the log, not to people (development only)".into(),
                );
            }
            Arc::new(LogSender)
        }
    };
    Ok(Senders {
        sep30_mail,
        sep30_sms,
        sep12_codes,
    })
}

impl Server {
    /// Prepares everything: data directory, secrets, database and
    /// migrations, listeners. Nothing is served until [`Server::run`].
    pub async fn build(mut config: Config, options: ServerOptions) -> Result<Server, StartError> {
        super::serve::harden_process();
        let listeners = listen(&mut config, options.listener).await?;
        secrets::create_private_dir(&config.data_dir.join("blobs")).map_err(io(format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )))?;
        let (secrets, keys_report) = secrets::load(&config)?;
        let vault = Arc::new(secrets.vault());
        let database = redact_url(&config.database_url());
        let db = Db::connect(&config.database_url(), config.database_max_connections)
            .await
            .map_err(|e| StartError::Db(e, database.clone()))?;
        db.migrate()
            .await
            .map_err(|e| StartError::Db(e, database.clone()))?;

        let clock: Arc<dyn Clock> = options.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let mut warnings = keys_report.warnings;
        let ledger = match options.ledger {
            Some(l) => l,
            None => horizon(&config, &mut warnings).await?,
        };
        let limits = RateLimits::new(db.clone(), &vault, clock.clone())
            .await
            .map_err(|e| StartError::Config(format!("cannot load the rate-limit key: {e}")))?;
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
                limits: limits.clone(),
            },
        )
        .map_err(|e| StartError::Http(e.to_string()))?;
        let blobs = Blobs::from_config(&config).map_err(StartError::Config)?;
        let stellar_toml = discovery::render(&config, &signing_key);
        let sep12 = Arc::new(std::mem::take(&mut config.sep12));
        let deliverer = Deliverer::new(
            CALLBACKS,
            db.clone(),
            &sep12.callbacks,
            signing.clone(),
            clock.clone(),
        )
        .map_err(|e| StartError::Http(e.to_string()))?;
        let given = Given {
            mailer: options.mailer,
            sms: options.sms,
            codes: options.code_sender,
        };
        let senders = senders(&config, &sep12, given, &mut warnings)?;
        let recovery = Recovery::new(RecoveryParts {
            db: db.clone(),
            vault: vault.clone(),
            clock: clock.clone(),
            network: mooring_stellar::Network::new(config.stellar.network_passphrase.clone()),
            cfg: &config.sep30,
            jwt: jwt.clone(),
            public_url: config.endpoint(""),
            mailer: senders.sep30_mail,
            sms: senders.sep30_sms,
            ledger,
            limits: limits.clone(),
        })
        .await
        .map_err(|e| StartError::Config(format!("cannot set up SEP-30: {e}")))?;
        let (changes, kyc_changes) = kyc::Changes::new();
        let customers = Arc::new(Customers::new(CustomersParts {
            db: db.clone(),
            vault,
            blobs,
            clock: clock.clone(),
            cfg: sep12.clone(),
            sender: senders.sep12_codes,
            changes: Some(changes),
        }));
        let standing = Arc::new(Standing::new(
            db.clone(),
            clock.clone(),
            customers.clone(),
            Wakeups::default(),
            config.kyc_type().to_owned(),
        ));
        let mut limits_cfg = config.limits.clone();
        // No SEP-12, no KYC records: nothing to gate on.
        limits_cfg.enabled &= sep12.enabled;
        let kyc_limits = Arc::new(Limits::new(LimitsParts {
            standing: standing.clone(),
            cfg: limits_cfg,
            long_poll_max: config.long_poll_max(),
            kyc_url: config.endpoint(""),
            public_url: config.endpoint(""),
            clock: clock.clone(),
        }));
        let attest = Arc::new(Attest::new(AttestParts {
            standing: standing.clone(),
            maximum: config.limits.maximum_attestations,
            max_lifetime_secs: config.limits.attestation_max_lifetime_secs,
            network: mooring_stellar::Network::new(config.stellar.network_passphrase.clone()),
            clock: clock.clone(),
        }));
        let partners = Arc::new(Partners::new(std::mem::take(&mut config.partners)));
        let quotes = Arc::new(
            Quotes::new(QuotesParts {
                db: db.clone(),
                clock: clock.clone(),
                cfg: config.sep38.clone(),
                partners: partners.clone(),
                gate: kyc_limits.clone(),
            })
            .map_err(|e| StartError::Http(e.to_string()))?,
        );
        let sep31 = std::mem::take(&mut config.sep31);
        let sep31_enabled = sep31.enabled;
        let observe = sep31.enabled && sep31.observer.enabled;
        // The operator's webhook is trusted as configured (plain http or a
        // private address too); partners' callback URLs are not.
        let mut delivery = CallbackConfig {
            allow_http_hosts: sep31.callbacks.allow_http_hosts.clone(),
            timeout_secs: sep31.callbacks.timeout_secs,
            retry_secs: sep31.callbacks.retry_secs,
            give_up_after_secs: sep31.callbacks.give_up_after_secs,
        };
        if let Some(hp) = sep31.webhook_url.as_ref().and_then(net::host_port) {
            delivery.allow_http_hosts.push(hp);
        }
        let payment_deliverer = Deliverer::new(
            PAYMENTS,
            db.clone(),
            &delivery,
            signing.clone(),
            clock.clone(),
        )
        .map_err(|e| StartError::Http(e.to_string()))?;
        let feed = Feed::new(
            config.horizon_url().clone(),
            Duration::from_secs(config.stellar.horizon_timeout_secs),
        )
        .map_err(|e| StartError::Http(e.to_string()))?;
        let sep38_on = config.sep38.enabled;
        let payments = Arc::new(Payments::new(PaymentsParts {
            db: db.clone(),
            clock: clock.clone(),
            cfg: sep31,
            partners,
            gate: kyc_limits.clone(),
            records: customers.clone(),
            quotes: sep38_on.then(|| quotes.clone() as Arc<dyn QuoteBook>),
            pairs: if sep38_on {
                config
                    .sep38
                    .prices
                    .iter()
                    .map(|p| (p.sell_asset.clone(), p.buy_asset.clone()))
                    .collect()
            } else {
                Vec::new()
            },
            feed,
        }));
        let observer = observe.then(|| Observer::new(payments.clone()));
        let state = AppState::new(
            jwt,
            clock,
            db,
            config
                .http
                .trusted_proxies
                .iter()
                .filter_map(|p| parse_ip_range(p))
                .collect(),
            AdminToken::new(&secrets.admin_token),
        );
        let recovery = Arc::new(recovery);
        let console = Arc::new(Console::new(ConsoleParts {
            app: state.clone(),
            customers: customers.clone(),
            payments: sep31_enabled.then(|| payments.clone()),
            recovery: recovery.clone(),
            limits: kyc_limits.clone(),
            attest: attest.clone(),
            session_secs: config.admin.console_session_secs,
            secure_cookies: config.admin.console_secure_cookies,
        }));
        let services = Services {
            web_auth: Arc::new(web_auth),
            customers,
            recovery,
            console,
            deliverer,
            limits,
            kyc_limits,
            attest,
            quotes,
            payments,
            payment_deliverer: Arc::new(payment_deliverer),
            observer,
            standing,
            kyc_changes: Some(kyc_changes),
            sep12_enabled: sep12.enabled,
            sep30_enabled: config.sep30.enabled,
            sep38_enabled: config.sep38.enabled,
            sep31_enabled,
            stellar_toml: Arc::new(stellar_toml),
        };
        Ok(Server {
            state,
            services,
            listener: listeners.public,
            metrics_listener: listeners.metrics,
            admin_listener: listeners.admin,
            max_body_bytes: config.http.max_body_bytes,
            grace: Duration::from_secs(config.http.shutdown_grace_secs),
            edge: super::serve::Edge::new(&config.http),
            signing_key,
            public_url: config.endpoint(""),
            report: StartupReport {
                generated_keys: keys_report.generated,
                warnings,
                database,
            },
        })
    }
}
