//! One replica: a `mooring serve` process with ports of its own, which can
//! be killed (SIGKILL) and started again on the same ports.

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use url::Url;

/// Lines of a replica's output kept for a failure's message.
const KEPT_LINES: usize = 200;

/// How long a replica may take to answer after it is started.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How to start one replica.
#[derive(Clone)]
pub(crate) struct Launch {
    pub binary: PathBuf,
    pub config: PathBuf,
    pub data_dir: PathBuf,
    pub env: Vec<(String, String)>,
}

/// A running (or killed) replica.
pub struct Replica {
    /// Its position behind the proxy.
    pub index: usize,
    /// Its public listener, for requests that must reach this replica.
    pub base: Url,
    /// Its admin listener.
    pub admin: Url,
    public: SocketAddr,
    admin_addr: SocketAddr,
    launch: Launch,
    child: Option<Child>,
    output: Arc<Mutex<VecDeque<String>>>,
}

fn free_addr() -> Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

impl Replica {
    /// Picks its ports; nothing runs until [`Replica::start`].
    pub(crate) fn new(index: usize, launch: Launch) -> Result<Replica> {
        let (public, admin_addr) = (free_addr()?, free_addr()?);
        Ok(Replica {
            index,
            base: Url::parse(&format!("http://{public}"))?,
            admin: Url::parse(&format!("http://{admin_addr}"))?,
            public,
            admin_addr,
            launch,
            child: None,
            output: Arc::new(Mutex::new(VecDeque::new())),
        })
    }

    /// Its public listener's address (the proxy's backend).
    pub fn addr(&self) -> SocketAddr {
        self.public
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A URL on its public listener.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base.as_str().trim_end_matches('/'), path)
    }

    /// A URL on its admin listener.
    pub fn admin_url(&self, path: &str) -> String {
        format!("{}{}", self.admin.as_str().trim_end_matches('/'), path)
    }

    /// The last lines it wrote (stdout and stderr).
    pub fn output(&self) -> String {
        let lines = self.output.lock().expect("not poisoned");
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    /// Starts the process and waits until its public listener answers.
    pub async fn start(&mut self) -> Result<()> {
        if self.child.is_some() {
            bail!("replica {} is already running", self.index);
        }
        let l = &self.launch;
        let mut child = Command::new(&l.binary)
            .arg("--config")
            .arg(&l.config)
            .arg("serve")
            .env("MOORING_DATA_DIR", &l.data_dir)
            .env("MOORING_HTTP__BIND", self.public.to_string())
            .env("MOORING_ADMIN__ENABLED", "true")
            .env("MOORING_ADMIN__BIND", self.admin_addr.to_string())
            .envs(l.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", l.binary.display()))?;
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let output = self.output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut kept = output.lock().expect("not poisoned");
                    if kept.len() == KEPT_LINES {
                        kept.pop_front();
                    }
                    kept.push_back(line);
                }
            });
        }
        self.child = Some(child);
        self.wait_ready().await
    }

    /// Waits until `GET /.well-known/stellar.toml` answers 200.
    async fn wait_ready(&mut self) -> Result<()> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let url = self.url("/.well-known/stellar.toml");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                bail!(
                    "replica {} exited at start ({status}):\n{}",
                    self.index,
                    self.output()
                );
            }
            if let Ok(res) = http.get(&url).send().await
                && res.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "replica {} did not answer in time:\n{}",
                    self.index,
                    self.output()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: the process ends at once, mid-request, as on a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the process to end (its graceful stop);
    /// SIGKILL after ten seconds.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.stop();
    }
}
