//! Replicas of the real `mooring serve` on one PostgreSQL database and one
//! S3-compatible store (moto), behind a round-robin proxy (the
//! `mooring-cluster` harness), as README §Running in production describes.
//! What one replica does, every other one sees (issue 13, part 2):
//!
//! - `sep10`: a challenge fetched from one replica is exchanged on another
//!   and refused as a replay on a third; rate limits count across them;
//! - `customers`: a SEP-12 PUT with documents on one is read on another;
//!   an erasure on one is seen by all, the documents gone from the store;
//! - `recovery`: SEP-30 signing on any replica;
//! - `kyc`: a `/kyc-check` long poll held by one replica is woken by a
//!   decision made through another;
//! - `payments`: a firm quote is taken once by two replicas racing; one
//!   replica observes payments, and another takes over when it is killed;
//! - `callbacks`: SEP-12 callbacks enqueued by every replica are delivered
//!   once each, in order (SEP-31 webhooks: in `payments`);
//! - `faults`: a mixed workload while a replica is killed and PostgreSQL
//!   restarted (issue 13, part 3).
//!
//! PostgreSQL only: SQLite is one file on one machine, for one server.

#[path = "../../../server/tests/common/mod.rs"]
mod common;

mod callbacks;
mod customers;
mod faults;
mod kyc;
mod payments;
mod recovery;
mod sep10;
mod workload;

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use common::{Engine, HorizonStub, TestDb};
use mooring_cluster::{Cluster, Documents, Replica, S3Store, Spec};
use mooring_stellar::network::TESTNET_PASSPHRASE;
use mooring_stellar::{Keypair, Network, sep10 as challenge};
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

/// The bucket documents go to.
pub const BUCKET: &str = "replica-documents";

/// Three replicas, their store and their Horizon stand-in.
pub struct Setup {
    /// The replicas and their proxy.
    pub cluster: Cluster,
    /// The Horizon stand-in every replica reads.
    pub horizon: HorizonStub,
    /// The document store.
    pub s3: S3Store,
    /// A client for the tests' requests.
    pub http: reqwest::Client,
    db: TestDb,
    _dir: tempfile::TempDir,
}

/// How to start a [`Setup`].
#[derive(Default)]
pub struct Options {
    /// Configuration over the harness's own, as JSON (turned into TOML).
    pub config: Option<Value>,
    /// Give each replica a Horizon door of its own, so that the stand-in
    /// tells which replica asked (`PaymentsRequest::door` = its index).
    pub horizon_doors: bool,
}

impl Setup {
    /// Starts `replicas` replicas with `options`; `None` (skipped) when the
    /// tests' Python environment, which has moto, is not there.
    pub async fn start(replicas: usize, options: Options) -> Option<Setup> {
        let python = common::interop::python()?;
        let s3 = S3Store::moto(&python, BUCKET).await.expect("moto starts");
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::create(Engine::Postgres, dir.path()).await;
        let horizon = HorizonStub::start().await;
        let mut replica_env = Vec::new();
        if options.horizon_doors {
            for door in 0..replicas {
                let url = match door {
                    0 => horizon.url.clone(),
                    _ => horizon.another_door(door).await,
                };
                replica_env.push(vec![(
                    "MOORING_STELLAR__HORIZON_URL".into(),
                    url.to_string(),
                )]);
            }
        }
        let config = options.config.unwrap_or_else(|| json!({}));
        let spec = Spec {
            binary: env!("CARGO_BIN_EXE_mooring").into(),
            replicas,
            database_url: db.url.clone(),
            documents: Documents::S3 {
                endpoint: s3.endpoint.clone(),
                bucket: BUCKET.into(),
            },
            horizon_url: horizon.url.clone(),
            config: toml::to_string(&config).expect("the test's configuration is TOML"),
            env: vec![("MOORING_LOG_LEVEL".into(), "warn".into())],
            replica_env,
        };
        let cluster = Cluster::start(spec).await.expect("the replicas start");
        Some(Setup {
            cluster,
            horizon,
            s3,
            http: reqwest::Client::new(),
            db,
            _dir: dir,
        })
    }

    /// Replica `i`.
    pub fn at(&self, i: usize) -> &Replica {
        &self.cluster.replicas[i]
    }

    /// The network every replica serves.
    pub fn network(&self) -> Network {
        Network::new(TESTNET_PASSPHRASE.to_owned())
    }

    /// The challenge `base` (a replica's or the proxy's URL) gives `kp`.
    pub async fn challenge(&self, base: &str, kp: &Keypair) -> String {
        let url = format!("{base}/auth?account={}", kp.public_key());
        let (status, got) = self.call(Method::GET, &url, None, None).await;
        assert_eq!(status, 200, "GET /auth on {base}: {got}");
        got["transaction"].as_str().expect("a challenge").to_owned()
    }

    /// `challenge` signed by `kp`, exchanged at `base`: (status, body).
    pub async fn exchange(&self, base: &str, kp: &Keypair, challenge: &str) -> (u16, Value) {
        let signed = challenge::sign_challenge(challenge, &self.network(), &[kp]).unwrap();
        let body = json!({ "transaction": signed });
        self.call(Method::POST, &format!("{base}/auth"), None, Some(&body))
            .await
    }

    /// A SEP-10 login of `kp` through the proxy; the token.
    pub async fn login(&self, kp: &Keypair) -> String {
        let base = self.cluster.url("");
        let challenge = self.challenge(&base, kp).await;
        let (status, got) = self.exchange(&base, kp, &challenge).await;
        assert_eq!(status, 200, "POST /auth: {got}");
        got["token"].as_str().expect("a token").to_owned()
    }

    /// One request: (status, JSON body or `null`).
    pub async fn call(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, url);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        send(req).await
    }

    /// A request to replica `i`'s admin API.
    pub async fn admin(
        &self,
        i: usize,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.at(i).admin_url(path))
            .bearer_auth(&self.cluster.keys.admin_token);
        if let Some(body) = body {
            req = req.json(body);
        }
        send(req).await
    }

    /// Stops the replicas and drops the database.
    pub async fn finish(self) {
        let Setup { cluster, db, .. } = self;
        drop(cluster);
        db.drop_db().await;
    }
}

/// A wallet's or business server's receiver on loopback: what arrived at
/// each path, in order (headers, JSON body); answers 200.
#[derive(Clone, Default)]
pub struct Receiver {
    got: Arc<Mutex<Vec<(String, HeaderMap, String)>>>,
}

impl Receiver {
    /// Serves on a fresh port; its base URL.
    pub async fn start(&self) -> Url {
        let me = self.clone();
        let app = axum::Router::new().fallback(axum::routing::post(
            move |uri: axum::http::Uri, headers: HeaderMap, body: String| {
                let me = me.clone();
                async move {
                    let path = uri.path().to_owned();
                    me.got.lock().unwrap().push((path, headers, body));
                    StatusCode::OK
                }
            },
        ));
        common::serve(app).await
    }

    /// What arrived at `path`: (headers, body), in order.
    pub fn got(&self, path: &str) -> Vec<(HeaderMap, Value)> {
        self.raw(path)
            .into_iter()
            .map(|(h, b)| (h, serde_json::from_str(&b).unwrap_or(Value::Null)))
            .collect()
    }

    /// As [`Receiver::got`], the bodies as sent.
    pub fn raw(&self, path: &str) -> Vec<(HeaderMap, String)> {
        let got = self.got.lock().unwrap();
        got.iter()
            .filter(|(p, _, _)| p == path)
            .map(|(_, h, b)| (h.clone(), b.clone()))
            .collect()
    }

    /// Waits (at most 15 s) until `n` requests arrived at `path`.
    pub async fn wait_for(&self, path: &str, n: usize) {
        for _ in 0..150 {
            if self.got(path).len() >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("expected {n} requests at {path}, got {:?}", self.got(path));
    }
}

/// Sends `req`: (status, JSON body or `null`).
pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.send().await.expect("the request is answered");
    let status = res.status().as_u16();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// The replica the proxy sent a response from.
pub fn upstream(res: &reqwest::Response) -> usize {
    res.headers()[mooring_cluster::UPSTREAM]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// `url` joined with a path, for readability at call sites.
pub fn join(base: &Url, path: &str) -> String {
    format!("{}{path}", base.as_str().trim_end_matches('/'))
}
