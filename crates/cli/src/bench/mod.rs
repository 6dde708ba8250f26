//! `mooring bench`: load generators that measure throughput, latency and the
//! server's memory. Benchmarks report figures; tests never assert timings.

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use axum::Router;
use axum::http::StatusCode;
use clap::{Args, Subcommand};
use futures::future::BoxFuture;
use hdrhistogram::Histogram;
use reqwest::Url;

mod auth;
mod conn;
mod kyc;
mod mixed;
mod payments;
mod polls;
mod quotes;
mod replicas;
mod sign;

pub use conn::{Conn, kind_of};

/// Benchmarks.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Complete SEP-10 logins (GET challenge, sign, POST, JWT) with a fresh
    /// client key each time.
    Auth(auth::AuthArgs),
    /// SEP-12: `PUT /customer` with ten SEP-9 fields, then `GET /customer`.
    Kyc(kyc::KycArgs),
    /// One large document upload: the server's memory before and after.
    Upload(kyc::UploadArgs),
    /// Logins, SEP-12 PUTs and GETs in turn for a long run, reported window
    /// by window: p99 per kind, the server's RSS and CPU per operation.
    Mixed(mixed::MixedArgs),
    /// SEP-30: `POST /accounts/{address}/sign/{signer}`, authenticated,
    /// each worker for an account of its own.
    Sign(sign::SignArgs),
    /// `/kyc-check` long polls: memory while thousands are held, and the
    /// time from a decision to every poll it concerns being answered.
    Polls(polls::PollsArgs),
    /// SEP-38: `POST /quote` (firm quotes) as a partner anchor.
    Quotes(quotes::QuotesArgs),
    /// SEP-31: `POST /transactions` as a partner anchor.
    Transactions(payments::TransactionsArgs),
    /// SEP-31's payment observer: a replayed stream of payments matched.
    Observer(payments::ObserverArgs),
    /// A mixed workload through a round-robin proxy to 1, 2, 3 replicas on
    /// one PostgreSQL: requests/s, p99 and CPU per request.
    Replicas(replicas::ReplicasArgs),
}

/// Options every load benchmark shares.
#[derive(Args, Clone)]
pub struct LoadArgs {
    /// Base URL of a running server (its stellar.toml is read). Without it,
    /// a server is started on a temporary data directory (SQLite), with a
    /// local Horizon stand-in, and stopped afterwards.
    #[arg(long)]
    url: Option<Url>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// How long to measure, e.g. 20s, 1m, 500ms.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    duration: Duration,
    /// Load before measuring starts, not counted.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// PID of the server, to report its peak RSS and CPU per operation when
    /// --url is given. (With --wrap, the figures are the wrapper's.)
    #[arg(long)]
    server_pid: Option<u32>,
    /// Print results as JSON objects, one per line.
    #[arg(long)]
    json: bool,
    /// Start the server under this command, to profile it: for example
    /// "valgrind --tool=callgrind" (instruction counts, steady whatever the
    /// machine's load) or "perf record -g --". Words split on spaces.
    #[arg(long, conflicts_with = "url")]
    wrap: Option<String>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((s, "s"), |i| s.split_at(i));
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 20s"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("`{s}`: use ms, s or m")),
    };
    Ok(Duration::from_secs_f64(secs))
}

/// Runs a benchmark.
pub async fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Auth(args) => auth::run(args).await,
        BenchCommand::Kyc(args) => kyc::run(args).await,
        BenchCommand::Upload(args) => kyc::upload(args).await,
        BenchCommand::Mixed(args) => mixed::run(args).await,
        BenchCommand::Sign(args) => sign::run(args).await,
        BenchCommand::Polls(args) => polls::run(args).await,
        BenchCommand::Quotes(args) => quotes::run(args).await,
        BenchCommand::Transactions(args) => payments::transactions(args).await,
        BenchCommand::Observer(args) => payments::observer(args).await,
        BenchCommand::Replicas(args) => replicas::run(args).await,
    }
}

/// A server this benchmark started, stopped on drop.
pub struct OwnServer {
    child: Child,
    _data: tempfile::TempDir,
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// A Horizon stand-in on loopback: every account is unknown (404), as a
/// fresh key's account is on the real network.
async fn horizon_stub() -> Result<Url> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let root = axum::routing::get(|| async {
        axum::Json(serde_json::json!({
            "network_passphrase": mooring_stellar::network::TESTNET_PASSPHRASE
        }))
    });
    let app = Router::new().route("/", root).fallback(|| async {
        (
            StatusCode::NOT_FOUND,
            [("content-type", "application/problem+json")],
            r#"{"type":"https://stellar.org/horizon-errors/not_found","title":"Resource Missing","status":404}"#,
        )
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Url::parse(&format!("http://{addr}"))?)
}

/// The server under test: `--url` (and `--server-pid`), or one started here
/// with `env` added to its environment.
pub async fn server(
    args: &LoadArgs,
    env: &[(&str, &str)],
) -> Result<(Option<OwnServer>, Url, Option<u32>)> {
    if let Some(url) = &args.url {
        return Ok((None, url.clone(), args.server_pid));
    }
    let horizon = horizon_stub().await?;
    let data = tempfile::tempdir()?;
    let exe = std::env::current_exe()?;
    let mut words = args.wrap.as_deref().unwrap_or("").split_whitespace();
    let mut command = match words.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(words).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    let mut child = command
        .arg("serve")
        .env("MOORING_DATA_DIR", data.path())
        .env("MOORING_HTTP__BIND", "127.0.0.1:0")
        .env("MOORING_METRICS__ENABLED", "false")
        .env("MOORING_ADMIN__ENABLED", "false")
        .env("MOORING_STELLAR__HORIZON_URL", horizon.as_str())
        .env("MOORING_LOG_LEVEL", "warn")
        // Every login comes from one address here: keep the limit counting
        // (its cost is part of a login) but out of the way.
        .env("MOORING_SEP10__CHALLENGES_PER_IP_PER_MINUTE", "1000000000")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start `mooring serve`")?;
    // Read until the server prints its public URL, then keep draining its
    // output so that it never writes to a closed pipe.
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let public = line
                .trim()
                .strip_prefix("stellar.toml")
                .and_then(|u| u.trim().strip_suffix("/.well-known/stellar.toml"));
            if let Some(public) = public
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(public.to_owned());
            }
        }
    });
    let line = rx.await.ok();
    let pid = child.id();
    let own = OwnServer { child, _data: data };
    let Some(public) = line else {
        bail!("the server did not start");
    };
    Ok((Some(own), Url::parse(&public)?, Some(pid)))
}

/// A line of `/proc/<pid>/status`, in KiB.
pub fn proc_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU seconds a process has used (user and system, all threads).
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may hold spaces), from
    // field 3 on: utime and stime are fields 14 and 15, in clock ticks
    // (USER_HZ, 100 on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// One operation of a worker: takes the worker's state, gives it back with
/// the result.
pub type Op<W> = Arc<dyn Fn(W, u64) -> BoxFuture<'static, (W, Result<()>)> + Send + Sync>;

/// What a measurement saw.
pub struct Outcome {
    /// Operations that succeeded in the measured window.
    pub ok: u64,
    /// Operations that failed in it.
    pub failed: u64,
    /// Latency of the successful ones, microseconds.
    pub hist: Histogram<u64>,
    /// The failed ones by kind ([`kind_of`]).
    pub errors: BTreeMap<String, u64>,
    /// The first error, for the operator.
    pub first_error: Option<String>,
    /// Seconds measured.
    pub secs: f64,
    /// CPU seconds the server used in the measured window (user and
    /// system, every thread), when its process is known.
    pub server_cpu: Option<f64>,
}

/// The longest pause of a worker whose operations keep failing.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Runs `op` in a loop in each worker (one state each) for `warmup`, then
/// `duration` measured. A worker whose operation failed pauses before the
/// next (10 ms, doubling to a second while failures go on), so that a
/// refusing server is not hammered and the count says what went wrong
/// rather than how fast it can.
pub async fn measure<W: Send + 'static>(
    workers: Vec<W>,
    warmup: Duration,
    duration: Duration,
    server: Option<u32>,
    op: Op<W>,
) -> Result<Outcome> {
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let measure_from = Instant::now() + warmup;
    let end = measure_from + duration;
    // The server's CPU time at the start and the end of the measured
    // window, read from /proc beside the load.
    let cpu = server.map(|pid| {
        tokio::spawn(async move {
            tokio::time::sleep_until(measure_from.into()).await;
            let from = cpu_secs(pid)?;
            tokio::time::sleep_until(end.into()).await;
            Some(cpu_secs(pid)? - from)
        })
    });
    let mut tasks = Vec::with_capacity(workers.len());
    for mut state in workers {
        let (ok, failed, op) = (ok.clone(), failed.clone(), op.clone());
        tasks.push(tokio::spawn(async move {
            let mut hist =
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
            let mut first_error = None;
            let mut errors = BTreeMap::<String, u64>::new();
            let mut backoff = Duration::ZERO;
            let mut i = 0u64;
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let (back, result) = op(state, i).await;
                state = back;
                i += 1;
                let measured = t0 >= measure_from;
                match result {
                    Ok(()) => {
                        backoff = Duration::ZERO;
                        if measured {
                            ok.fetch_add(1, Ordering::Relaxed);
                            let _ = hist.record(t0.elapsed().as_micros() as u64);
                        }
                    }
                    Err(e) => {
                        if measured {
                            failed.fetch_add(1, Ordering::Relaxed);
                            *errors.entry(kind_of(&e)).or_default() += 1;
                            first_error.get_or_insert(e.to_string());
                        }
                        backoff = (backoff * 2).clamp(Duration::from_millis(10), MAX_BACKOFF);
                        tokio::time::sleep(backoff).await;
                    }
                }
            }
            (hist, errors, first_error)
        }));
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut first_error = None;
    let mut errors = BTreeMap::new();
    for t in tasks {
        let (h, by_kind, e) = t.await?;
        hist.add(h)?;
        for (kind, n) in by_kind {
            *errors.entry(kind).or_default() += n;
        }
        if first_error.is_none() {
            first_error = e;
        }
    }
    Ok(Outcome {
        ok: ok.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        hist,
        errors,
        first_error,
        secs: duration.as_secs_f64(),
        server_cpu: match cpu {
            Some(task) => task.await?,
            None => None,
        },
    })
}

/// Prints an outcome, as text or one JSON line.
pub fn report(
    name: &str,
    what: &str,
    concurrency: usize,
    o: &Outcome,
    rss_kib: Option<u64>,
    json: bool,
) -> Result<()> {
    let per_sec = o.ok as f64 / o.secs;
    let ms = |q: f64| o.hist.value_at_quantile(q) as f64 / 1000.0;
    let rss = rss_kib.map(|k| (k as f64 / 1024.0 * 10.0).round() / 10.0);
    // Per successful operation; ticks are 10 ms, so a window of a few
    // seconds gives two significant digits at most.
    let cpu_per_op = o
        .server_cpu
        .filter(|_| o.ok > 0)
        .map(|c| (c * 1000.0 / o.ok as f64 * 1000.0).round() / 1000.0);
    if json {
        println!(
            "{}",
            serde_json::json!({
                "benchmark": name,
                "concurrency": concurrency,
                "duration_secs": o.secs,
                "ok": o.ok,
                "errors": o.failed,
                "errors_by_kind": o.errors,
                "per_sec": (per_sec * 10.0).round() / 10.0,
                "p50_ms": ms(0.50),
                "p99_ms": ms(0.99),
                "server_peak_rss_mib": rss,
                "server_cpu_ms_per_op": cpu_per_op,
            })
        );
    } else {
        println!(
            "{what}, concurrency {concurrency}, {:.0} s measured",
            o.secs
        );
        println!("  per second        {per_sec:.1}");
        println!("  p50               {:.2} ms", ms(0.50));
        println!("  p99               {:.2} ms", ms(0.99));
        println!("  errors            {}", o.failed);
        for (kind, n) in &o.errors {
            println!("    {kind:<15} {n}");
        }
        if let Some(ms) = cpu_per_op {
            println!("  server CPU/op     {ms:.3} ms");
        }
        match rss {
            Some(m) => println!("  server peak RSS   {m:.1} MiB"),
            None => println!("  server peak RSS   unknown (pass --server-pid)"),
        }
    }
    if let Some(e) = &o.first_error {
        eprintln!("first error: {e}");
    }
    if o.ok == 0 {
        bail!("no operation succeeded");
    }
    Ok(())
}
