//! `mooring bench polls`: many idle `/kyc-check` long polls held by one
//! server — its memory while it holds them — and the time from a
//! compliance decision to every poll it concerns being answered. With
//! `--postgres`, two replicas share the database: the polls are held by
//! one, the decisions made through the other's admin API, so the wake-up
//! crosses replicas through LISTEN/NOTIFY.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use mooring_client::sep10::WebAuth;
use mooring_stellar::Keypair;
use reqwest::Url;
use tokio::sync::Mutex;

use super::{Conn, LoadArgs, OwnServer, proc_kib, server};

/// Options of `mooring bench polls`.
#[derive(Args)]
pub struct PollsArgs {
    /// Long polls held at once.
    #[arg(long, default_value_t = 10_000)]
    polls: usize,
    /// Accounts the polls are spread over; one decision answers each
    /// account's share.
    #[arg(long, default_value_t = 10)]
    accounts: usize,
    /// A throwaway PostgreSQL database for two replicas (its tables are
    /// created; nothing else is touched). Without it: one server on SQLite.
    #[arg(long)]
    postgres: Option<String>,
    /// Print the results as one JSON object.
    #[arg(long)]
    json: bool,
    /// Start the servers under this command, to profile them: for example
    /// "heaptrack" (where a held poll's memory goes). Words split on spaces.
    #[arg(long)]
    wrap: Option<String>,
}

/// A free loopback port (bound, then released for the server to take).
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn load(wrap: Option<String>) -> LoadArgs {
    LoadArgs {
        url: None,
        concurrency: 1,
        duration: Duration::ZERO,
        warmup: Duration::ZERO,
        server_pid: None,
        json: false,
        wrap,
    }
}

/// A started server and its admin API.
struct Started {
    _own: Option<OwnServer>,
    base: Url,
    pid: Option<u32>,
    admin: Url,
}

async fn start(env: &[(&str, &str)], wrap: Option<String>) -> Result<Started> {
    let admin_port = free_port()?;
    let bind = format!("127.0.0.1:{admin_port}");
    let mut all = env.to_vec();
    all.extend([
        ("MOORING_ADMIN__ENABLED", "true"),
        ("MOORING_ADMIN__BIND", bind.as_str()),
    ]);
    let (own, base, pid) = server(&load(wrap), &all).await?;
    Ok(Started {
        _own: own,
        base,
        pid,
        admin: Url::parse(&format!("http://{bind}/"))?,
    })
}

/// Runs the long-poll benchmark.
pub async fn run(args: PollsArgs) -> Result<()> {
    if args.accounts == 0 || args.polls < args.accounts {
        bail!("--polls must be at least --accounts, which must be at least 1");
    }
    let admin_token = format!("bench-{}", hex_of(&rand_bytes()));
    let signing = Keypair::random();
    let jwt = Keypair::random();
    let master = base64_of(&rand_bytes());
    let signing_seed = signing.secret_seed();
    let jwt_seed = jwt.secret_seed();
    let mut env = vec![
        ("MOORING_SECRETS__ADMIN_TOKEN", admin_token.as_str()),
        ("MOORING_SECRETS__SIGNING_SEED", signing_seed.as_str()),
        ("MOORING_SECRETS__JWT_SEED", jwt_seed.as_str()),
        ("MOORING_SECRETS__MASTER_KEY", master.as_str()),
        ("MOORING_HTTP__MAX_CONNECTIONS", "100000"),
        ("MOORING_HTTP__REQUEST_TIMEOUT_SECS", "300"),
        ("MOORING_LIMITS__LONG_POLL_MAX_SECS", "240"),
    ];
    if let Some(url) = &args.postgres {
        env.push(("MOORING_DATABASE_URL", url.as_str()));
    }
    // The polls' server; with PostgreSQL, decisions go through another.
    let holder = start(&env, args.wrap.clone()).await?;
    let decider = match args.postgres {
        Some(_) => Some(start(&env, args.wrap.clone()).await?),
        None => None,
    };
    let admin = decider.as_ref().unwrap_or(&holder).admin.clone();

    // Each account logs in and opens its SEP-12 record (under review).
    let web_auth = WebAuth::discover(reqwest::Client::new(), &holder.base).await?;
    let auth_path = web_auth.endpoint().path().to_owned();
    let base_path = holder.base.path().trim_end_matches('/').to_owned();
    let mut accounts = Vec::new();
    for i in 0..args.accounts {
        let kp = Keypair::random();
        let mut c = Conn::open(&holder.base).await?;
        c.token = Some(c.login_as(&auth_path, web_auth.network(), &kp).await?);
        let put = serde_json::json!({
            "first_name": format!("Poll{i}"), "last_name": "Bench",
            "email_address": format!("poll{i}@example.com"),
        });
        let id = c
            .call(
                "PUT",
                &format!("{base_path}/customer"),
                Some(put.to_string()),
            )
            .await?["id"]
            .as_str()
            .context("no customer id")?
            .to_owned();
        let path = format!("{base_path}/kyc-check/{}", kp.public_key());
        let status = c.call("GET", &path, None).await?;
        let generation = status["rule_gen"].as_u64().context("no rule_gen")?;
        accounts.push((
            id,
            format!("{path}?timeout_ms=230000&lpt=2&min_rule={generation}"),
            c.token.clone(),
        ));
    }
    let rss_before = holder.pid.and_then(|p| proc_kib(p, "VmRSS:"));

    // The polls: one connection each, spread evenly over the accounts.
    let answered: Arc<Mutex<Vec<Vec<Instant>>>> =
        Arc::new(Mutex::new(vec![Vec::new(); args.accounts]));
    let failures = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let opened = Instant::now();
    let mut tasks = Vec::with_capacity(args.polls);
    for n in 0..args.polls {
        let a = n % args.accounts;
        let (_, path, token) = &accounts[a];
        let mut c = Conn::open(&holder.base)
            .await
            .with_context(|| format!("opening poll {n} (is ulimit -n high enough?)"))?;
        c.token = token.clone();
        let (path, answered, failures) = (path.clone(), answered.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            match c.call("GET", &path, None).await {
                Ok(_) => answered.lock().await[a].push(Instant::now()),
                Err(_) => {
                    failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }));
    }
    // Let the last requests reach the server and settle there.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let open_secs = opened.elapsed().as_secs_f64();
    let early: usize = answered.lock().await.iter().map(Vec::len).sum();
    let rss_held = holder.pid.and_then(|p| proc_kib(p, "VmRSS:"));

    // One decision per account; wait for its polls before the next.
    let http = reqwest::Client::new();
    let per_account = args.polls / args.accounts;
    let mut last_answer_ms = Vec::new();
    let mut first_answer_ms = Vec::new();
    for (a, (id, _, _)) in accounts.iter().enumerate() {
        let expected = per_account + usize::from(a < args.polls % args.accounts);
        let decided = Instant::now();
        let res = http
            .post(admin.join(&format!("admin/customers/{id}/accept"))?)
            .bearer_auth(&admin_token)
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("accepting a customer: {}", res.status());
        }
        let deadline = decided + Duration::from_secs(60);
        loop {
            let done = answered.lock().await[a].clone();
            if done.len() >= expected || Instant::now() > deadline {
                let ms = |t: &Instant| t.duration_since(decided).as_secs_f64() * 1000.0;
                last_answer_ms.push(done.iter().map(ms).fold(0.0, f64::max));
                first_answer_ms.push(done.iter().map(ms).fold(f64::MAX, f64::min));
                if done.len() < expected {
                    bail!(
                        "only {} of {expected} polls answered a minute after the decision",
                        done.len()
                    );
                }
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    let rss_peak = holder.pid.and_then(|p| proc_kib(p, "VmHWM:"));
    let mib = |k: Option<u64>| k.map(|k| (k as f64 / 1024.0 * 10.0).round() / 10.0);
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let max = last_answer_ms.iter().copied().fold(0.0, f64::max);
    let p50_last = median(&mut last_answer_ms.clone());
    let p50_first = median(&mut first_answer_ms.clone());
    let engine = if args.postgres.is_some() {
        "postgres, polls on one replica, decisions through another"
    } else {
        "sqlite, one server"
    };
    let failed = failures.load(std::sync::atomic::Ordering::Relaxed);
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "benchmark": "polls", "engine": engine, "polls": args.polls,
                "accounts": args.accounts, "open_secs": open_secs,
                "answered_early": early, "failed": failed,
                "server_rss_before_mib": mib(rss_before), "server_rss_held_mib": mib(rss_held),
                "server_peak_rss_mib": mib(rss_peak),
                "decision_to_first_answer_p50_ms": p50_first,
                "decision_to_last_answer_p50_ms": p50_last,
                "decision_to_last_answer_max_ms": max,
            })
        );
    } else {
        println!("/kyc-check long polls held, {engine}");
        println!(
            "  polls             {} over {} accounts (opened in {open_secs:.1} s)",
            args.polls, args.accounts
        );
        println!("  answered early    {early}; failed {failed}");
        let show = |k| mib(k).map_or("unknown".to_owned(), |m| format!("{m:.1} MiB"));
        println!(
            "  server RSS        {} before, {} holding them, {} peak",
            show(rss_before),
            show(rss_held),
            show(rss_peak)
        );
        println!("  decision → first answer   p50 {p50_first:.1} ms");
        println!(
            "  decision → last answer    p50 {p50_last:.1} ms, max {max:.1} ms ({per_account} polls each)"
        );
    }
    Ok(())
}

fn rand_bytes() -> [u8; 32] {
    *Keypair::random().seed_bytes()
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
