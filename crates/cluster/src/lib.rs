//! Mooring's replica harness: N `mooring serve` processes on loopback
//! sharing one PostgreSQL database and one document store, with a
//! round-robin proxy in front, as an anchor runs them behind a load
//! balancer (README §Running in production). The cross-replica and fault
//! tests and `mooring bench replicas` use it.
//!
//! Every replica gets the same configuration file (the keys, the admin
//! token, the database, the store, the proxy's URL as its public URL) and
//! ports, a data folder and an admin listener of its own.

pub mod anchor;
mod postgres;
mod proxy;
mod replica;
mod s3;

use std::net::TcpListener;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use mooring_stellar::Keypair;
use url::Url;

pub use postgres::Postgres;
pub use proxy::{Proxy, UPSTREAM};
pub use replica::Replica;
pub use s3::S3Store;

/// Where the replicas keep documents.
pub enum Documents {
    /// An S3-compatible bucket (the moto server of the tests).
    S3 {
        /// Its endpoint.
        endpoint: Url,
        /// The bucket, which must exist.
        bucket: String,
    },
    /// One folder all replicas share (they run on one machine).
    SharedFolder,
}

/// What to start.
pub struct Spec {
    /// The `mooring` binary.
    pub binary: PathBuf,
    /// How many replicas.
    pub replicas: usize,
    /// The shared database (PostgreSQL; `sqlite://` works for one replica).
    pub database_url: String,
    /// Where documents go.
    pub documents: Documents,
    /// Horizon, or its stand-in.
    pub horizon_url: Url,
    /// More configuration, TOML, merged over the harness's own table by
    /// table (`[sep31]`, `[partners]`…).
    pub config: String,
    /// More environment for every replica (`MOORING_LOG_LEVEL`…).
    pub env: Vec<(String, String)>,
    /// More environment for replica `i` alone, at index `i` (a Horizon
    /// of its own, say); shorter than `replicas` is fine.
    pub replica_env: Vec<Vec<(String, String)>>,
}

/// The keys every replica shares, generated for each cluster.
pub struct Keys {
    /// The SEP-10 signing key's seed (`S…`).
    pub signing_seed: String,
    /// The admin API token.
    pub admin_token: String,
}

/// Running replicas behind a proxy; all stopped on drop.
pub struct Cluster {
    /// The replicas, in the proxy's order.
    pub replicas: Vec<Replica>,
    /// The proxy: the URL clients use.
    pub proxy: Proxy,
    /// The shared keys.
    pub keys: Keys,
    _dir: tempfile::TempDir,
}

/// Merges `over` into `base`, table by table; other values replace.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

impl Cluster {
    /// Starts the proxy and every replica; returns once each answers.
    pub async fn start(spec: Spec) -> Result<Cluster> {
        if spec.replicas == 0 {
            bail!("a cluster needs at least one replica");
        }
        let dir = tempfile::tempdir()?;
        let proxy_listener = TcpListener::bind("127.0.0.1:0")?;
        let public = format!("http://{}", proxy_listener.local_addr()?);
        let keys = Keys {
            signing_seed: random_seed(),
            admin_token: format!("cluster-{}", hex::encode(rand::random::<[u8; 24]>())),
        };
        let jwt_seed = random_seed();
        let master_key = BASE64.encode(rand::random::<[u8; 32]>());

        let mut table: toml::Table = toml::toml! {
            database_max_connections = 8
            [http]
            trusted_proxies = ["127.0.0.1"]
            shutdown_grace_secs = 2
            [metrics]
            enabled = false
        };
        let ours = toml::toml! {
            database_url = (spec.database_url.clone())
            [http]
            public_url = (public.clone())
            [stellar]
            horizon_url = (spec.horizon_url.to_string())
            [secrets]
            signing_seed = (keys.signing_seed.clone())
            jwt_seed = (jwt_seed)
            master_key = (master_key)
            admin_token = (keys.admin_token.clone())
        };
        merge(&mut table, ours);
        match &spec.documents {
            Documents::S3 { endpoint, bucket } => merge(
                &mut table,
                toml::toml! {
                    [blobs]
                    store = "s3"
                    [blobs.s3]
                    bucket = (bucket.clone())
                    region = "us-east-1"
                    endpoint = (endpoint.to_string())
                    access_key_id = "testing"
                    secret_access_key = "testing"
                    allow_http = true
                },
            ),
            Documents::SharedFolder => merge(
                &mut table,
                toml::toml! {
                    [blobs]
                    path = (dir.path().join("documents").display().to_string())
                },
            ),
        }
        let extra: toml::Table = spec.config.parse().context("Spec::config is not TOML")?;
        merge(&mut table, extra);
        let config = dir.path().join("mooring.toml");
        std::fs::write(&config, toml::to_string(&table)?)?;

        let mut replicas = Vec::with_capacity(spec.replicas);
        for index in 0..spec.replicas {
            let data_dir = dir.path().join(format!("replica-{index}"));
            std::fs::create_dir_all(&data_dir)?;
            let launch = replica::Launch {
                binary: spec.binary.clone(),
                config: config.clone(),
                data_dir,
                env: spec
                    .env
                    .iter()
                    .chain(spec.replica_env.get(index).into_iter().flatten())
                    .cloned()
                    .collect(),
            };
            replicas.push(Replica::new(index, launch)?);
        }
        // The first applies the migrations alone; the rest start together.
        replicas[0].start().await?;
        let rest = replicas[1..].iter_mut().map(Replica::start);
        for started in futures::future::join_all(rest).await {
            started?;
        }
        let backends: Vec<_> = replicas.iter().map(Replica::addr).collect();
        let proxy = Proxy::start(proxy_listener, &backends)?;
        Ok(Cluster {
            replicas,
            proxy,
            keys,
            _dir: dir,
        })
    }

    /// A URL through the proxy.
    pub fn url(&self, path: &str) -> String {
        self.proxy.url(path)
    }
}

fn random_seed() -> String {
    Keypair::random().secret_seed().as_str().to_owned()
}
