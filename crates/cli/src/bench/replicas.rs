//! `mooring bench replicas`: the same mixed workload through a round-robin
//! proxy to 1, 2, 3… `mooring serve` replicas on one PostgreSQL (the
//! `mooring-cluster` harness), with requests/s and p99 per kind and the CPU
//! each request costs the replicas and the database. On a 2-core machine
//! more replicas show overhead, not scaling; the CPU per request is what
//! predicts how far a bigger machine goes (README §Replicas).
//!
//! Each worker is a partner anchor with an accepted sender and receiver
//! and a SEP-30 account of its own, and loops over: a complete SEP-10
//! login with a fresh key (`login`), `PUT /customer` with ten SEP-9 fields
//! (`sep12 put`), `GET /customer` (`sep12 get`), a SEP-30 signature
//! (`sep30 sign`), a firm SEP-38 quote (`sep38 quote`) and the SEP-31
//! transaction that takes it (`sep31 create`). `--polls` `/kyc-check`
//! long polls are held meanwhile, as wallets waiting for a decision do.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use hdrhistogram::Histogram;
use mooring_cluster::anchor::{self, ISSUER, USDC};
use mooring_cluster::{Cluster, Documents, Postgres, Spec};
use mooring_stellar::{Keypair, Network, envelope};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::{Conn, cpu_secs, horizon_stub, parse_duration};

/// Options of `mooring bench replicas`.
#[derive(Args)]
pub struct ReplicasArgs {
    /// Replica counts to measure, in turn.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    replicas: Vec<usize>,
    /// A PostgreSQL database for the replicas (its tables are created; it
    /// is used by every replica count in turn, so its rows add up).
    /// Without it, a server of the benchmark's own is started for each
    /// count from Debian's PostgreSQL programs, and its CPU is measured.
    #[arg(long)]
    postgres: Option<String>,
    /// Workers (requests in flight at once).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// How long to measure each replica count, e.g. 20s, 1m.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    duration: Duration,
    /// Load before measuring, not counted.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    warmup: Duration,
    /// `/kyc-check` long polls held meanwhile.
    #[arg(long, default_value_t = 100)]
    polls: usize,
    /// Print the results as JSON objects, one per replica count.
    #[arg(long)]
    json: bool,
}

/// The request kinds, in the order each worker sends them.
const KINDS: [&str; 6] = [
    "login",
    "sep12 put",
    "sep12 get",
    "sep30 sign",
    "sep38 quote",
    "sep31 create",
];

/// The replicas' configuration: SEP-31 and SEP-38 with every worker as a
/// partner account, a KYC rule so that polls wait, no observer.
fn config(partners: &[String], dist: &str) -> Result<String> {
    let mut config = anchor::config("bench", partners, dist);
    config["database_max_connections"] = json!(10);
    config["http"] = json!({"max_connections": 100_000, "request_timeout_secs": 300});
    config["sep10"] = json!({"challenges_per_ip_per_minute": 1_000_000_000});
    config["sep31"]["observer"] = json!({"enabled": false});
    config["limits"] = json!({"long_poll_max_secs": 240,
                              "rules": [{"op": "withdraw", "asset": USDC, "threshold": "1"}]});
    Ok(toml::to_string(&config)?)
}

/// The processes whose parent is `pid` (a PostgreSQL server's backends).
fn children(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.to_owned()))
                .and_then(|r| r.split_whitespace().nth(1).map(str::to_owned))
                .is_some_and(|ppid| ppid == pid.to_string())
        })
        .collect()
}

/// CPU seconds used by `pids` and, for a database server, its backends.
fn cpu_of(pids: &[u32], database: Option<u32>) -> (f64, Option<f64>) {
    let replicas = pids.iter().filter_map(|&p| cpu_secs(p)).sum();
    let db = database.map(|pm| {
        let mut all = children(pm);
        all.push(pm);
        all.iter().filter_map(|&p| cpu_secs(p)).sum()
    });
    (replicas, db)
}

/// One worker's identity and what it set up.
struct Worker {
    kp: Keypair,
    conn: Conn,
    sender: String,
    receiver: String,
    signer: String,
    /// The firm quote the next transaction takes.
    quote: Value,
}

/// What the workers measured, by kind.
#[derive(Default)]
struct Tally {
    hists: BTreeMap<&'static str, Histogram<u64>>,
    errors: BTreeMap<&'static str, u64>,
    first_error: Option<String>,
}

impl Tally {
    fn add(&mut self, kind: &'static str, took: Duration, result: Result<()>) {
        match result {
            Ok(()) => {
                let h = self.hists.entry(kind).or_insert_with(|| {
                    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")
                });
                let _ = h.record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1));
            }
            Err(e) => {
                *self.errors.entry(kind).or_default() += 1;
                self.first_error
                    .get_or_insert_with(|| format!("{kind}: {e}"));
            }
        }
    }
}

/// Sets up a worker: login, SEP-12 parties (accepted through the admin
/// API), a SEP-30 account whose identity is the worker's own address.
async fn prepare(
    base: &url::Url,
    admin: &str,
    token: &str,
    network: &Network,
    kp: Keypair,
) -> Result<Worker> {
    let mut conn = Conn::open(base).await?;
    conn.token = Some(conn.login_as("/auth", network, &kp).await?);
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for (kind, fields) in anchor::parties() {
        let got = conn
            .call("PUT", "/customer", Some(fields.to_string()))
            .await?;
        let id = got["id"].as_str().context("no customer id")?.to_owned();
        let res = http
            .post(format!("{admin}/admin/customers/{id}/accept"))
            .bearer_auth(token)
            .json(&json!({"type": kind}))
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("accepting a {kind}: {}", res.status());
        }
        ids.push(id);
    }
    let me = kp.public_key().to_string();
    let body = json!({"identities": [{"role": "owner", "auth_methods": [
        {"type": "stellar_address", "value": me}]}]});
    let got = conn
        .call("POST", &format!("/accounts/{me}"), Some(body.to_string()))
        .await?;
    let signer = got["signers"][0]["key"]
        .as_str()
        .context("no signer")?
        .to_owned();
    Ok(Worker {
        kp,
        conn,
        sender: ids[0].clone(),
        receiver: ids[1].clone(),
        signer,
        quote: Value::Null,
    })
}

/// A SEP-30 transaction for `account` to sign: one set-options operation.
fn recovery_tx(account: &Keypair) -> Result<String> {
    use mooring_stellar::xdr::{
        Memo, Operation, OperationBody, Preconditions, SequenceNumber, SetOptionsOp, Transaction,
        TransactionExt,
    };
    let key = account.public_key();
    let op = Operation {
        source_account: None,
        body: OperationBody::SetOptions(SetOptionsOp {
            inflation_dest: None,
            clear_flags: None,
            set_flags: None,
            master_weight: Some(0),
            low_threshold: None,
            med_threshold: None,
            high_threshold: None,
            home_domain: None,
            signer: None,
        }),
    };
    let tx = Transaction {
        source_account: key.to_muxed_account(),
        fee: 100,
        seq_num: SequenceNumber(4_294_967_297),
        cond: Preconditions::None,
        memo: Memo::None,
        operations: vec![op].try_into()?,
        ext: TransactionExt::V0,
    };
    Ok(envelope::encode(&envelope::envelope(tx, vec![])))
}

/// One round of the six kinds; each timed into `out` when `measured`.
async fn round(
    w: &mut Worker,
    network: &Network,
    tx: &str,
    measured: bool,
    out: &mut Vec<(&'static str, Duration, Result<()>)>,
) {
    let me = w.kp.public_key().to_string();
    for kind in KINDS {
        let t0 = Instant::now();
        let result: Result<()> = async {
            match kind {
                "login" => {
                    let token = w.conn.token.take();
                    let got = w.conn.login("/auth", network).await;
                    w.conn.token = token;
                    got.map(drop)
                }
                "sep12 put" => {
                    let body = json!({
                        "first_name": "Bench", "last_name": "Replica", "email_address": "b@example.com",
                        "mobile_number": "+14155550100", "birth_date": "1990-01-01",
                        "address": "1 Main St", "address_country_code": "USA",
                        "type": "sep31-sender", "memo": "3", "memo_type": "id",
                    });
                    w.conn.call("PUT", "/customer", Some(body.to_string())).await.map(drop)
                }
                "sep12 get" => w
                    .conn
                    .call("GET", &format!("/customer?id={}", w.sender), None)
                    .await
                    .map(drop),
                "sep30 sign" => {
                    let body = json!({"transaction": tx}).to_string();
                    let path = format!("/accounts/{me}/sign/{}", w.signer);
                    w.conn.call("POST", &path, Some(body)).await.map(drop)
                }
                "sep38 quote" => {
                    let body = json!({"sell_asset": USDC, "buy_asset": anchor::BRL,
                                      "sell_amount": "100", "context": "sep31"});
                    let q = w.conn.call("POST", "/sep38/quote", Some(body.to_string())).await?;
                    // Kept for the transaction that follows.
                    w.quote = q["id"].clone();
                    Ok(())
                }
                _ => {
                    let quote = std::mem::take(&mut w.quote);
                    let body = json!({"amount": "100", "asset_code": "USDC", "asset_issuer": ISSUER,
                                      "funding_method": "SEPA", "sender_id": w.sender,
                                      "receiver_id": w.receiver, "quote_id": quote});
                    w.conn.call("POST", "/sep31/transactions", Some(body.to_string())).await.map(drop)
                }
            }
        }
        .await;
        if measured {
            out.push((kind, t0.elapsed(), result));
        }
    }
}

/// A `/kyc-check` long poll held again as soon as it is answered.
async fn hold_poll(base: url::Url, network: Network, stop: Arc<tokio::sync::Notify>) -> Result<()> {
    let kp = Keypair::random();
    let mut conn = Conn::open(&base).await?;
    conn.token = Some(conn.login_as("/auth", &network, &kp).await?);
    let body =
        json!({"first_name": "Poll", "last_name": "Bench", "email_address": "p@example.com"});
    conn.call("PUT", "/customer", Some(body.to_string()))
        .await?;
    let path = format!("/kyc-check/{}?timeout_ms=230000&lpt=2", kp.public_key());
    loop {
        tokio::select! {
            () = stop.notified() => return Ok(()),
            got = conn.call("GET", &path, None) => { got?; }
        }
    }
}

/// What one replica count measured.
struct Measured {
    replicas: usize,
    tally: Tally,
    secs: f64,
    replica_cpu: f64,
    database_cpu: Option<f64>,
}

/// Starts `n` replicas, loads them, measures.
async fn one(args: &ReplicasArgs, n: usize) -> Result<Measured> {
    let own_pg = match &args.postgres {
        Some(_) => None,
        None => Some(
            Postgres::start()
                .context("starting a PostgreSQL of the benchmark's own (or pass --postgres)")?,
        ),
    };
    let database_url = match (&args.postgres, &own_pg) {
        (Some(url), _) => url.clone(),
        (None, Some(pg)) => pg.url.clone(),
        (None, None) => unreachable!("one of the two"),
    };
    let keys: Vec<Keypair> = (0..args.concurrency).map(|_| Keypair::random()).collect();
    let partners: Vec<String> = keys.iter().map(|k| k.public_key().to_string()).collect();
    let dist = Keypair::random().public_key().to_string();
    let spec = Spec {
        binary: std::env::current_exe()?,
        replicas: n,
        database_url,
        documents: Documents::SharedFolder,
        horizon_url: horizon_stub().await?,
        config: config(&partners, &dist)?,
        env: vec![("MOORING_LOG_LEVEL".into(), "error".into())],
        replica_env: vec![],
    };
    let cluster = Cluster::start(spec).await?;
    let base = url::Url::parse(&cluster.url(""))?;
    let admin = cluster.replicas[0].admin_url("");
    let network = Network::testnet();
    let token = cluster.keys.admin_token.clone();
    let prepared = futures::future::join_all(
        keys.into_iter()
            .map(|kp| prepare(&base, &admin, &token, &network, kp)),
    )
    .await;
    let workers: Vec<Worker> = prepared.into_iter().collect::<Result<_>>()?;

    let stop = Arc::new(tokio::sync::Notify::new());
    let mut polls = Vec::new();
    for _ in 0..args.polls {
        polls.push(tokio::spawn(hold_poll(
            base.clone(),
            network.clone(),
            stop.clone(),
        )));
    }
    let tally = Arc::new(Mutex::new(Tally::default()));
    let from = Instant::now() + args.warmup;
    let until = from + args.duration;
    let mut tasks = Vec::new();
    for mut w in workers {
        let (tally, network) = (tally.clone(), network.clone());
        tasks.push(tokio::spawn(async move {
            let tx = recovery_tx(&w.kp)?;
            let mut seen = Vec::new();
            while Instant::now() < until {
                let measured = Instant::now() >= from;
                round(&mut w, &network, &tx, measured, &mut seen).await;
            }
            let mut t = tally.lock().await;
            for (kind, took, result) in seen {
                t.add(kind, took, result);
            }
            anyhow::Ok(())
        }));
    }
    let pids: Vec<u32> = cluster.replicas.iter().filter_map(|r| r.pid()).collect();
    let postmaster = own_pg.as_ref().and_then(Postgres::pid);
    tokio::time::sleep_until(from.into()).await;
    let (r0, d0) = cpu_of(&pids, postmaster);
    let started = Instant::now();
    tokio::time::sleep_until(until.into()).await;
    let (r1, d1) = cpu_of(&pids, postmaster);
    let secs = started.elapsed().as_secs_f64();
    for t in tasks {
        t.await??;
    }
    stop.notify_waiters();
    for p in polls {
        p.abort();
    }
    let tally = Arc::try_unwrap(tally)
        .map_err(|_| anyhow::anyhow!("workers still running"))?
        .into_inner();
    drop(cluster);
    Ok(Measured {
        replicas: n,
        tally,
        secs,
        replica_cpu: r1 - r0,
        database_cpu: d0.zip(d1).map(|(a, b)| b - a),
    })
}

/// Runs the benchmark at each replica count.
pub async fn run(args: ReplicasArgs) -> Result<()> {
    if args.replicas.is_empty() || args.replicas.contains(&0) || args.concurrency == 0 {
        bail!("--replicas takes counts of at least 1, --concurrency at least 1");
    }
    for &n in &args.replicas {
        let m = one(&args, n).await?;
        print(&args, &m);
    }
    Ok(())
}

fn print(args: &ReplicasArgs, m: &Measured) {
    let ops: u64 = m.tally.hists.values().map(Histogram::len).sum();
    // A login is two HTTP requests (challenge and token).
    let logins = m.tally.hists.get("login").map_or(0, Histogram::len);
    let requests = ops + logins;
    let per_op = |cpu: f64| cpu * 1000.0 / ops.max(1) as f64;
    if args.json {
        let kinds: serde_json::Map<String, Value> = m
            .tally
            .hists
            .iter()
            .map(|(k, h)| {
                let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
                (
                    (*k).to_owned(),
                    json!({"per_sec": h.len() as f64 / m.secs,
                    "p50_ms": ms(0.5), "p99_ms": ms(0.99),
                    "errors": m.tally.errors.get(k).copied().unwrap_or(0)}),
                )
            })
            .collect();
        println!(
            "{}",
            json!({
                "benchmark": "replicas", "replicas": m.replicas, "concurrency": args.concurrency,
                "polls_held": args.polls, "secs": m.secs, "operations_per_sec": ops as f64 / m.secs,
                "http_requests_per_sec": requests as f64 / m.secs,
                "replica_cpu_ms_per_operation": per_op(m.replica_cpu),
                "database_cpu_ms_per_operation": m.database_cpu.map(per_op),
                "kinds": kinds,
            })
        );
        return;
    }
    println!(
        "{} replica(s) behind the proxy, concurrency {}, {} long polls held, {:.0} s measured",
        m.replicas, args.concurrency, args.polls, m.secs
    );
    println!("  kind              per second    p50 ms    p99 ms  errors");
    for (kind, h) in &m.tally.hists {
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        println!(
            "  {kind:<16} {:>11.1} {:>9.2} {:>9.2} {:>7}",
            h.len() as f64 / m.secs,
            ms(0.5),
            ms(0.99),
            m.tally.errors.get(kind).copied().unwrap_or(0)
        );
    }
    println!(
        "  operations/s      {:.1} ({:.1} HTTP requests/s)",
        ops as f64 / m.secs,
        requests as f64 / m.secs
    );
    println!(
        "  replicas' CPU     {:.3} ms per operation",
        per_op(m.replica_cpu)
    );
    match m.database_cpu {
        Some(cpu) => println!("  PostgreSQL's CPU  {:.3} ms per operation", per_op(cpu)),
        None => println!("  PostgreSQL's CPU  not measured (--postgres: another server)"),
    }
    if let Some(e) = &m.tally.first_error {
        eprintln!("first error: {e}");
    }
}
