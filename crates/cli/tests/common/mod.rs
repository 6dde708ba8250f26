//! Runs the real `mooring` binary, as an operator would.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;

pub const BIN: &str = env!("CARGO_BIN_EXE_mooring");

/// Runs `mooring <args>` to completion in `dir` with `env`.
pub fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("mooring runs")
}

/// A `mooring serve` process, its output captured.
pub struct Running {
    child: Child,
    pub stdout: Arc<Mutex<String>>,
    pub stderr: Arc<Mutex<String>>,
    /// The public base URL it printed.
    pub base: String,
}

fn capture(
    pipe: impl std::io::Read + Send + 'static,
    into: Arc<Mutex<String>>,
    tx: Option<std::sync::mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            // Stored before it is announced, so that whoever hears of a line
            // finds it, and every line before it, in `into`.
            {
                let mut s = into.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
            if let Some(tx) = &tx {
                let _ = tx.send(line);
            }
        }
    });
}

impl Running {
    /// Starts `mooring serve` in `dir` and waits until it is listening.
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> Running {
        let mut child = Command::new(BIN)
            .arg("serve")
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mooring serve starts");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        capture(child.stdout.take().unwrap(), stdout.clone(), Some(tx));
        capture(child.stderr.take().unwrap(), stderr.clone(), None);
        // The banner ends with the `database` line; wait for all of it so
        // that tests may read any line of it from `stdout`.
        let mut base = None;
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
            let line = line.trim();
            if let Some(u) = line.strip_prefix("stellar.toml") {
                base = Some(
                    u.trim()
                        .trim_end_matches("/.well-known/stellar.toml")
                        .to_owned(),
                );
            }
            if line.starts_with("database ") {
                break;
            }
        }
        let Some(base) = base else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("server did not start; stderr:\n{}", stderr.lock().unwrap());
        };
        Running {
            child,
            stdout,
            stderr,
            base,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn stop(mut self) -> (ExitStatus, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let stderr = self.stderr.lock().unwrap().clone();
        (status, stderr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The admin API's base URL, as the server printed it.
pub fn admin_url(srv: &Running) -> String {
    let out = srv.stdout.lock().unwrap().clone();
    let line = out
        .lines()
        .find(|l| l.contains("admin API"))
        .expect("admin API line");
    line.split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_end_matches("/admin")
        .to_owned()
}

/// Environment for a server on free loopback ports with a given Horizon.
pub fn server_env<'a>(horizon: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("MOORING_HTTP__BIND", "127.0.0.1:0"),
        ("MOORING_METRICS__BIND", "127.0.0.1:0"),
        ("MOORING_ADMIN__BIND", "127.0.0.1:0"),
        ("MOORING_STELLAR__HORIZON_URL", horizon),
    ];
    env.extend_from_slice(extra);
    env
}

/// A Horizon stand-in where no account exists (Horizon's 404 problem JSON),
/// on a thread and runtime of its own so that it answers even while the
/// test's thread waits on the server process.
pub async fn empty_horizon() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let root = axum::routing::get(|| async {
                axum::Json(serde_json::json!({"network_passphrase": "Test SDF Network ; September 2015"}))
            });
            let app = Router::new().route("/", root).fallback(|| async {
                (
                    StatusCode::NOT_FOUND,
                    [("content-type", "application/problem+json")],
                    r#"{"type":"https://stellar.org/horizon-errors/not_found","title":"Resource Missing","status":404}"#,
                )
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(format!("http://{}", listener.local_addr().unwrap())).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

/// A fresh PostgreSQL database for one test; its URL.
pub async fn postgres_database() -> String {
    use sqlx::{Connection as _, Executor as _};
    let admin = std::env::var("MOORING_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is not reachable at {admin} ({e}); run scripts/test or set MOORING_TEST_POSTGRES_URL")
    });
    let name = format!("mooring_test_{}", std::process::id()) + &format!("_{}", rand_suffix());
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&name);
    url.to_string()
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{n:x}")
}

/// Path of a file in the repository.
pub fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// A setting that `scripts/test` makes for interop tests, or `None` (the
/// test is skipped with a note) when not run through scripts/test — unless
/// `MOORING_REQUIRE_INTEROP=1`, which scripts/test sets, makes that a
/// failure that says `required`.
fn interop_env(var: &str, required: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var("MOORING_REQUIRE_INTEROP").as_deref() != Ok("1"),
                "{required}"
            );
            eprintln!("skipped: {var} not set (scripts/test sets it)");
            None
        }
    }
}

/// The interpreter of the virtualenv with stellar-sdk, or `None` (the test
/// is skipped with a note) when not run through scripts/test — unless
/// `MOORING_REQUIRE_INTEROP=1`, which scripts/test sets, makes that a failure.
pub fn python() -> Option<String> {
    interop_env(
        "MOORING_TEST_PYTHON",
        "MOORING_TEST_PYTHON is not set but interop is required",
    )
}

/// The folder with the npm packages installed, or `None` (skipped with a
/// note) outside scripts/test — unless `MOORING_REQUIRE_INTEROP=1`.
pub fn node_dir() -> Option<PathBuf> {
    interop_env(
        "MOORING_TEST_NODE_DIR",
        "MOORING_TEST_NODE_DIR is not set but interop is required",
    )
    .map(Into::into)
}
