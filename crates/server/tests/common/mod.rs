//! Test harness: a real Mooring server on a loopback port, on SQLite or
//! PostgreSQL, with a Horizon stand-in that speaks Horizon's JSON.
#![allow(dead_code)]

pub mod assert;
pub mod customer;
mod horizon;
mod horizon_payments;
mod horizon_stream;
mod horizon_submit;
pub mod interop;
pub mod kyc;
pub mod oidc;
pub mod recovery;
pub mod sep10;
pub mod signin;
pub mod smtp;
pub mod twilio;

// Each test binary uses some of these.
#[allow(unused_imports)]
pub use assert::{
    assert_error, assert_refusal, claims, header, muxed_account, object_keys, texts, wrong_code,
};
#[allow(unused_imports)]
pub use horizon::{HorizonStub, StubAccount};
#[allow(unused_imports)]
pub use horizon_payments::{PaymentsRequest, StubPayment};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use mooring_client::sep10::{LoginOptions, WebAuth};
use mooring_server::app::StartupReport;
use mooring_server::clock::ManualClock;
use mooring_server::config::Config;
use mooring_server::{Server, ServerOptions};
use mooring_stellar::{ClientAccount, Keypair, Network};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

/// The two database engines every storage and HTTP test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Generates `mod <test> { sqlite, postgres }` running `async fn <test>(Engine)`.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Engine::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Engine::Postgres).await
            }
        }
    )*};
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("MOORING_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database made for one test: a fresh SQLite file or PostgreSQL database.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn create(engine: Engine, dir: &std::path::Path) -> TestDb {
        match engine {
            Engine::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.join("test.db").display()),
                pg_name: None,
            },
            Engine::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("mooring_test_{}", hex::encode(rand::random::<[u8; 8]>()));
                let mut conn = sqlx_connect(&admin).await;
                sqlx_exec(&mut conn, &format!("CREATE DATABASE {name}")).await;
                let mut url = Url::parse(&admin).unwrap();
                url.set_path(&name);
                TestDb {
                    url: url.to_string(),
                    pg_name: Some(name),
                }
            }
        }
    }

    pub async fn drop_db(&self) {
        if let Some(name) = &self.pg_name {
            let mut conn = sqlx_connect(&postgres_admin_url()).await;
            sqlx_exec(
                &mut conn,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await;
        }
    }
}

async fn sqlx_connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection as _;
    sqlx::PgConnection::connect(url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {url} ({e}). Run the suite with scripts/test, which starts one, or set MOORING_TEST_POSTGRES_URL."
        )
    })
}

async fn sqlx_exec(conn: &mut sqlx::PgConnection, sql: &str) {
    use sqlx::Executor as _;
    conn.execute(sql).await.unwrap();
}

/// Serves `app` on a fresh loopback port; returns its base URL.
pub async fn serve(app: Router) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Url::parse(&format!("http://{addr}")).unwrap()
}

/// A running server and what a test needs to talk to it.
pub struct TestServer {
    pub base: Url,
    pub signing: Keypair,
    pub network: Network,
    pub home_domain: String,
    pub http: reqwest::Client,
    pub horizon: HorizonStub,
    pub db: Arc<TestDb>,
    pub report: StartupReport,
    pub state: mooring_server::state::AppState,
    pub dir: Arc<tempfile::TempDir>,
    /// The server's clock: real time until a test moves it.
    pub clock: Arc<ManualClock>,
    /// The admin API's base URL.
    pub admin: Url,
    /// Verification codes "sent" (customer id, field, code): the stand-in
    /// for an SMS or email gateway.
    pub codes: Arc<Mutex<Vec<(String, String, String)>>>,
    /// SEP-30 sign-in texts "sent" (to, text): the stand-in for an SMS gateway.
    pub texts: Arc<Mutex<Vec<(String, String)>>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// The admin API token of every test server.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdefghijklmnop";

/// Settings every test server shares.
pub fn base_config(
    dir: &std::path::Path,
    db_url: &str,
    horizon: &Url,
    signing: &Keypair,
) -> Config {
    let text = format!(
        r#"
data_dir = "{data}"
database_url = "{db_url}"
database_max_connections = 4
[metrics]
enabled = false
[admin]
bind = "127.0.0.1:0"
[stellar]
horizon_url = "{horizon}"
horizon_timeout_secs = 2
[secrets]
signing_seed = "{seed}"
jwt_seed = "{jwt}"
master_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
admin_token = "{ADMIN_TOKEN}"
"#,
        data = dir.join("data").display(),
        seed = signing.secret_seed().as_str(),
        jwt = Keypair::random().secret_seed().as_str(),
    );
    Config::from_toml(&text)
        .expect("test config is valid")
        .config
}

impl TestServer {
    pub async fn start(engine: Engine) -> TestServer {
        Self::start_with(engine, |_| {}).await
    }

    /// Starts a server; `tweak` adjusts its configuration first. The public
    /// URL is the bound address, so the home domain is `127.0.0.1:<port>` and
    /// web_auth_domain `127.0.0.1`.
    pub async fn start_with(engine: Engine, tweak: impl FnOnce(&mut Config)) -> TestServer {
        Self::fresh(engine, tweak, true).await
    }

    /// As [`TestServer::start_with`], but codes and texts go through the
    /// senders the configuration names (`[mail]`, `[sms]`), not through the
    /// collecting stand-ins (`codes`, `texts` stay empty).
    pub async fn start_with_configured_senders(
        engine: Engine,
        tweak: impl FnOnce(&mut Config),
    ) -> TestServer {
        Self::fresh(engine, tweak, false).await
    }

    /// A server on a database, data directory and Horizon stand-in of its
    /// own; `collect` routes codes and texts to the collecting stand-ins.
    async fn fresh(engine: Engine, tweak: impl FnOnce(&mut Config), collect: bool) -> TestServer {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let db = Arc::new(TestDb::create(engine, dir.path()).await);
        let horizon = HorizonStub::start().await;
        let signing = Keypair::random();
        let mut config = base_config(dir.path(), &db.url, &horizon.url, &signing);
        tweak(&mut config);
        Self::launch(config, signing, dir, db, horizon, None, collect).await
    }

    /// Tries to build a server against `horizon` (for start-up refusals).
    pub async fn try_build(engine: Engine, horizon: &HorizonStub) -> Result<Server, String> {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::create(engine, dir.path()).await;
        let config = base_config(dir.path(), &db.url, &horizon.url, &Keypair::random());
        let options = ServerOptions {
            listener: Some(std::net::TcpListener::bind("127.0.0.1:0").unwrap()),
            ..ServerOptions::default()
        };
        let result = Server::build(config, options)
            .await
            .map_err(|e| e.to_string());
        db.drop_db().await;
        result
    }

    /// A second replica: same database, same keys, its own listener.
    pub async fn replica(&self) -> TestServer {
        self.replica_with(|_| {}).await
    }

    /// A replica whose configuration `tweak` adjusts first.
    pub async fn replica_with(&self, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let signing = Keypair::from_secret_seed(&self.signing.secret_seed()).unwrap();
        let mut config = base_config(self.dir.path(), &self.db.url, &self.horizon.url, &signing);
        tweak(&mut config);
        let public = Some((self.base.clone(), self.home_domain.clone()));
        Self::launch(
            config,
            signing,
            self.dir.clone(),
            self.db.clone(),
            self.horizon.clone(),
            public,
            true,
        )
        .await
    }

    async fn launch(
        mut config: Config,
        signing: Keypair,
        dir: Arc<tempfile::TempDir>,
        db: Arc<TestDb>,
        horizon: HorizonStub,
        shared_public: Option<(Url, String)>,
        collect_codes: bool,
    ) -> TestServer {
        // Bind first to learn the port, then make it the public URL.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // Replicas behind one load balancer share the public URL and domains.
        let (public, host) = shared_public.unwrap_or_else(|| {
            let url = Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
            (url, format!("127.0.0.1:{port}"))
        });
        let public = public.as_str().trim_end_matches('/').to_owned();
        config.http.public_url = Some(Url::parse(&public).unwrap());
        if config.sep10.home_domains == ["localhost:8000"] {
            config.sep10.home_domains = vec![host.clone()];
        }
        config.sep10.web_auth_domain = Some("127.0.0.1".into());
        let network = Network::new(config.stellar.network_passphrase.clone());
        let home_domain = config.sep10.home_domains[0].clone();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let clock = Arc::new(ManualClock::new(now));
        let codes = Arc::new(Mutex::new(Vec::new()));
        let texts = Arc::new(Mutex::new(Vec::new()));
        let options = ServerOptions {
            listener: Some(listener),
            clock: Some(clock.clone()),
            code_sender: collect_codes.then(|| {
                Arc::new(Gateway(codes.clone())) as Arc<dyn mooring_server::customers::CodeSender>
            }),
            sms: collect_codes.then(|| {
                Arc::new(TextGateway(texts.clone()))
                    as Arc<dyn mooring_server::recovery::authorize::SmsSender>
            }),
            ..ServerOptions::default()
        };
        let mut server = Server::build(config, options).await.expect("server starts");
        let report = std::mem::take(&mut server.report);
        let admin = Url::parse(&format!(
            "http://{}",
            server.admin_addr().expect("admin API enabled")
        ))
        .unwrap();
        let state = server.state();
        let (stop, rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            server
                .run(async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        TestServer {
            base: Url::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
            signing,
            network,
            home_domain,
            http: reqwest::Client::new(),
            horizon,
            db,
            report,
            state,
            dir,
            clock,
            codes,
            texts,
            admin,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base.as_str().trim_end_matches('/'), path)
    }

    /// Stops the server and drops its PostgreSQL database.
    pub async fn stop(mut self) {
        self.shutdown().await;
        if Arc::strong_count(&self.db) == 1 {
            self.db.drop_db().await;
        }
    }

    /// Stops the server, keeping its database.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// A wallet-side SEP-10 client for this server.
    pub fn wallet(&self) -> WebAuth {
        WebAuth::new(
            self.http.clone(),
            Url::parse(&self.url("/auth")).unwrap(),
            self.signing.public_key(),
            self.network.clone(),
            self.home_domain.clone(),
        )
        .unwrap()
    }

    /// `GET path`, expecting 200, as JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let res = self.http.get(self.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.unwrap()
    }

    /// Logs in as `account`, signed by `kp`, with the wallet-side client.
    pub async fn login_as(
        &self,
        account: &ClientAccount,
        kp: &Keypair,
        opts: &LoginOptions<'_>,
    ) -> Result<String, mooring_client::ClientError> {
        self.wallet().login(account, &[kp], opts).await
    }

    /// Logs in as a fresh, unfunded account; returns (keypair, token).
    pub async fn login(&self) -> (Keypair, String) {
        let kp = Keypair::random();
        let token = self
            .login_as(
                &ClientAccount::Account(kp.public_key()),
                &kp,
                &LoginOptions::default(),
            )
            .await
            .expect("login succeeds");
        (kp, token)
    }

    /// `GET path`, whatever the answer.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// The text of the page at `url`, whatever the status.
    pub async fn page(&self, url: &str) -> String {
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// `GET /auth` with raw query pairs: (status, JSON body).
    pub async fn get_challenge(&self, query: &[(&str, &str)]) -> (u16, Value) {
        let res = self
            .http
            .get(self.url("/auth"))
            .query(query)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// The challenge XDR for `account`, asserting success.
    pub async fn challenge_for(&self, account: &str) -> String {
        let (status, body) = self.get_challenge(&[("account", account)]).await;
        assert_eq!(status, 200, "{body}");
        body["transaction"].as_str().unwrap().to_owned()
    }

    /// A challenge for `client`'s account, signed by `client`.
    pub async fn signed_challenge(&self, client: &Keypair) -> String {
        let xdr = self.challenge_for(&client.public_key().to_string()).await;
        mooring_stellar::sep10::sign_challenge(&xdr, &self.network, &[client]).unwrap()
    }

    /// `POST /auth` with a JSON body: (status, JSON body).
    pub async fn post_token(&self, transaction: &str) -> (u16, Value) {
        let res = self
            .http
            .post(self.url("/auth"))
            .json(&json!({ "transaction": transaction }))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

/// Collects verification codes instead of texting or mailing them.
struct Gateway(Arc<Mutex<Vec<(String, String, String)>>>);

impl mooring_server::customers::CodeSender for Gateway {
    fn send<'a>(
        &'a self,
        customer_id: &'a str,
        field: &'a str,
        _to: &'a str,
        code: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<(), String>> {
        self.0
            .lock()
            .unwrap()
            .push((customer_id.into(), field.into(), code.into()));
        Box::pin(async { Ok(()) })
    }
}

/// Collects sign-in texts instead of sending them.
struct TextGateway(Arc<Mutex<Vec<(String, String)>>>);

impl mooring_server::recovery::authorize::SmsSender for TextGateway {
    fn send<'a>(
        &'a self,
        to: &'a str,
        text: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<(), String>> {
        self.0.lock().unwrap().push((to.into(), text.into()));
        Box::pin(async { Ok(()) })
    }
}

impl TestServer {
    /// A request to `path` with the token as a bearer.
    pub fn with_token(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(token)
    }

    /// Sends a request and reads (status, JSON body).
    pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Sends only the head of a request that declares a `length`-byte body,
    /// on a connection of its own (the server may close it, the body
    /// unread); the raw answer.
    pub async fn declared_body(
        &self,
        method: &str,
        path: &str,
        token: &str,
        content_type: &str,
        length: u64,
    ) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut tcp = tokio::net::TcpStream::connect(self.base.socket_addrs(|| None).unwrap()[0])
            .await
            .unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tcp.read(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    /// A request to the admin API with the admin token.
    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(
                method,
                format!("{}{}", self.admin.as_str().trim_end_matches('/'), path),
            )
            .bearer_auth(ADMIN_TOKEN)
    }

    /// Logs in as `kp` (optionally with a memo); returns the token.
    pub async fn token_for(&self, kp: &Keypair, memo: Option<u64>) -> String {
        let opts = LoginOptions {
            memo: memo.map(mooring_stellar::IdMemo::new),
            ..Default::default()
        };
        self.login_as(&ClientAccount::Account(kp.public_key()), kp, &opts)
            .await
            .expect("login succeeds")
    }
}
