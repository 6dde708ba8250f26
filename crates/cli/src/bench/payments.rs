//! `mooring bench transactions` and `mooring bench observer`: SEP-31 on the
//! receiving side. Both start a server configured with one partner, one
//! asset and a sender and a receiver the partner registered through SEP-12
//! (accepted on completion, `sep12.auto_accept`).
//!
//! - `transactions`: `POST /sep31/transactions` without a quote (the body
//!   checked, both customers read, the KYC gate consulted, the transaction
//!   and its audit entry written).
//! - `observer`: creates `--payments` transactions, then publishes one
//!   payment for each on a Horizon stand-in served here (Horizon's JSON
//!   pages), and times the observer from the first page asked for to the
//!   page after the last payment; then checks through the admin API that
//!   every transaction was paid once and none is left waiting.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use clap::Args;
use futures::FutureExt as _;
use mooring_client::sep10::WebAuth;
use mooring_stellar::Keypair;
use reqwest::Url;
use serde_json::{Value, json};

use super::{Conn, LoadArgs, Op, OwnServer, measure, proc_kib, report, server};

/// Options of `mooring bench transactions`.
#[derive(Args)]
pub struct TransactionsArgs {
    #[command(flatten)]
    load: LoadArgs,
    /// A PostgreSQL database for the server started here (its tables are
    /// created); without it, SQLite.
    #[arg(long)]
    postgres: Option<String>,
}

/// Options of `mooring bench observer`.
#[derive(Args)]
pub struct ObserverArgs {
    /// Payments to replay (one transaction each).
    #[arg(long, default_value_t = 100_000)]
    payments: usize,
    /// A PostgreSQL database for the server started here; without it, SQLite.
    #[arg(long)]
    postgres: Option<String>,
    /// Connections creating the transactions first.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

const ISSUER: &str = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";
const ADMIN_TOKEN: &str = "bench-admin-token-0123456789abcdefghijklmnopqrstuv";

fn config(partner: &str, distribution: &str) -> String {
    format!(
        r#"
[sep12]
auto_accept = true
[sep31]
enabled = true
sender_types = {{ "sep31-sender" = "Senders" }}
receiver_types = {{ "sep31-receiver" = "Receivers" }}
[sep31.observer]
lease_secs = 3
poll_secs = 1
[[sep31.assets]]
code = "USDC"
issuer = "{ISSUER}"
distribution_account = "{distribution}"
fee_fixed = "0.5"
fee_percent = "1"
funding_methods = ["SEPA"]
[[partners]]
name = "bench"
accounts = ["{partner}"]
"#
    )
}

/// A started server with a partner signed in and its two customers.
struct Anchor {
    own: Option<OwnServer>,
    base: Url,
    pid: Option<u32>,
    admin: Url,
    workers: Vec<Conn>,
    body: String,
}

async fn anchor(
    load: &LoadArgs,
    postgres: Option<&str>,
    horizon: Option<&Url>,
    distribution: &str,
) -> Result<Anchor> {
    if load.url.is_some() {
        bail!("this benchmark configures the server it starts; --url is not supported");
    }
    let partner = Keypair::random();
    let mut file = tempfile::NamedTempFile::new()?;
    file.write_all(config(&partner.public_key().to_string(), distribution).as_bytes())?;
    let path = file.path().to_string_lossy().into_owned();
    let admin_bind = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.to_string()
    };
    let mut env = vec![
        ("MOORING_CONFIG", path.as_str()),
        ("MOORING_ADMIN__ENABLED", "true"),
        ("MOORING_ADMIN__BIND", admin_bind.as_str()),
        ("MOORING_SECRETS__ADMIN_TOKEN", ADMIN_TOKEN),
    ];
    if let Some(db) = postgres {
        env.push(("MOORING_DATABASE_URL", db));
    }
    if let Some(h) = horizon {
        env.push(("MOORING_STELLAR__HORIZON_URL", h.as_str()));
    }
    let (own, base, pid) = server(load, &env).await?;
    let web_auth = WebAuth::discover(reqwest::Client::new(), &base).await?;
    let auth_path = web_auth.endpoint().path().to_owned();
    let mut workers = Vec::with_capacity(load.concurrency);
    for _ in 0..load.concurrency {
        let mut conn = Conn::open(&base).await?;
        conn.token = Some(
            conn.login_as(&auth_path, web_auth.network(), &partner)
                .await?,
        );
        workers.push(conn);
    }
    let customer = format!("{}customer", base.path());
    let sender = json!({"memo": "1", "memo_type": "id", "type": "sep31-sender",
        "first_name": "Ana", "last_name": "Silva", "email_address": "ana@example.com"});
    let receiver = json!({"memo": "2", "memo_type": "id", "type": "sep31-receiver",
        "first_name": "Bea", "last_name": "Souza", "bank_account_number": "123456",
        "bank_number": "001"});
    let mut ids = Vec::new();
    for c in [sender, receiver] {
        let v = workers[0]
            .call("PUT", &customer, Some(c.to_string()))
            .await?;
        ids.push(v["id"].as_str().context("no customer id")?.to_owned());
    }
    let body = json!({"amount": "100", "asset_code": "USDC", "funding_method": "SEPA",
        "sender_id": ids[0], "receiver_id": ids[1]})
    .to_string();
    Ok(Anchor {
        own,
        base,
        pid,
        admin: Url::parse(&format!("http://{admin_bind}"))?,
        workers,
        body,
    })
}

/// The operation: one transaction created.
fn create(base: &Url, body: String) -> Op<Conn> {
    let path = format!("{}sep31/transactions", base.path());
    Arc::new(move |mut conn, _| {
        let (path, body) = (path.clone(), body.clone());
        async move {
            let r = conn.call("POST", &path, Some(body)).await.and_then(|v| {
                if v["stellar_memo"].is_string() {
                    Ok(())
                } else {
                    bail!("no stellar_memo in {v}")
                }
            });
            (conn, r)
        }
        .boxed()
    })
}

/// Runs `bench transactions`.
pub async fn transactions(args: TransactionsArgs) -> Result<()> {
    let load = &args.load;
    let distribution = Keypair::random().public_key().to_string();
    let a = anchor(load, args.postgres.as_deref(), None, &distribution).await?;
    let op = create(&a.base, a.body.clone());
    let outcome = measure(a.workers, load.warmup, load.duration, a.pid, op).await?;
    let rss = a.pid.and_then(|p| proc_kib(p, "VmHWM:"));
    drop(a.own);
    report(
        "sep31-transactions",
        &format!(
            "SEP-31 POST /transactions, partner's SEP-10 token, {}",
            if args.postgres.is_some() {
                "PostgreSQL"
            } else {
                "SQLite"
            }
        ),
        load.concurrency,
        &outcome,
        rss,
        load.json,
    )
}

/// The Horizon stand-in of `bench observer`: payments to one account,
/// served as Horizon's pages; remembers when the observer first asked and
/// when it asked past the last payment.
#[derive(Default)]
struct Ledger {
    records: Vec<Value>,
    first_ask: Option<Instant>,
    caught_up: Option<Instant>,
}

type Shared = Arc<Mutex<Ledger>>;

async fn payments(
    State(l): State<Shared>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Json<Value> {
    let mut l = l.lock().expect("not poisoned");
    let limit: usize = q.get("limit").and_then(|v| v.parse().ok()).unwrap_or(10);
    let records: Vec<Value> = if q.get("order").map(String::as_str) == Some("desc") {
        l.records.iter().rev().take(limit).cloned().collect()
    } else {
        let after: usize = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
        if !l.records.is_empty() {
            l.first_ask.get_or_insert_with(Instant::now);
            if after >= l.records.len() && l.caught_up.is_none() {
                l.caught_up = Some(Instant::now());
            }
        }
        l.records.iter().skip(after).take(limit).cloned().collect()
    };
    Json(json!({"_embedded": {"records": records}}))
}

async fn horizon(ledger: Shared) -> Result<Url> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let root = get(|| async {
        Json(json!({"network_passphrase": mooring_stellar::network::TESTNET_PASSPHRASE}))
    });
    let app = Router::new()
        .route("/", root)
        .route("/accounts/{id}/payments", get(payments))
        .with_state(ledger)
        .fallback(|| async {
            (
                axum::http::StatusCode::NOT_FOUND,
                [("content-type", "application/problem+json")],
                r#"{"type":"https://stellar.org/horizon-errors/not_found","title":"Resource Missing","status":404}"#,
            )
        });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Url::parse(&format!("http://{addr}"))?)
}

/// One payment record in Horizon's shape (paging tokens 1, 2, …).
fn record(n: usize, to: &str, from: &str, memo: &str) -> Value {
    json!({
        "id": n.to_string(), "paging_token": n.to_string(), "type": "payment",
        "transaction_successful": true, "transaction_hash": format!("{n:064x}"),
        "from": from, "to": to, "asset_type": "credit_alphanum4", "asset_code": "USDC",
        "asset_issuer": ISSUER, "amount": "100.0000000",
        "transaction": {"memo_type": "id", "memo": memo},
    })
}

async fn admin_get(admin: &Url, path: &str) -> Result<Value> {
    let res = reqwest::Client::new()
        .get(admin.join(path)?)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("{path}: {}", res.status());
    }
    Ok(res.json().await?)
}

/// Runs `bench observer`.
pub async fn observer(args: ObserverArgs) -> Result<()> {
    let ledger: Shared = Arc::default();
    let url = horizon(ledger.clone()).await?;
    let distribution = Keypair::random().public_key().to_string();
    let load = LoadArgs {
        url: None,
        concurrency: args.concurrency,
        duration: Duration::ZERO,
        warmup: Duration::ZERO,
        server_pid: None,
        json: args.json,
        wrap: None,
    };
    let a = anchor(&load, args.postgres.as_deref(), Some(&url), &distribution).await?;
    // The transactions, each worker creating its share.
    let t0 = Instant::now();
    let c = args.concurrency.max(1);
    let path = format!("{}sep31/transactions", a.base.path());
    let mut tasks = Vec::new();
    for (i, mut conn) in a.workers.into_iter().enumerate() {
        let per = args.payments / c + usize::from(i < args.payments % c);
        let (path, body) = (path.clone(), a.body.clone());
        tasks.push(tokio::spawn(async move {
            let mut memos = Vec::with_capacity(per);
            for _ in 0..per {
                let v = conn.call("POST", &path, Some(body.clone())).await?;
                memos.push(v["stellar_memo"].as_str().context("no memo")?.to_owned());
            }
            anyhow::Ok(memos)
        }));
    }
    let mut memos = Vec::with_capacity(args.payments);
    for t in tasks {
        memos.extend(t.await??);
    }
    let created = t0.elapsed();
    // The observer has started from the (empty) account's beginning; now
    // every transaction is paid at once.
    let payer = Keypair::random().public_key().to_string();
    {
        let mut l = ledger.lock().expect("not poisoned");
        l.records = memos
            .iter()
            .enumerate()
            .map(|(i, m)| record(i + 1, &distribution, &payer, m))
            .collect();
    }
    let deadline = Instant::now() + Duration::from_secs(3600);
    let (first, last) = loop {
        let (f, c) = {
            let l = ledger.lock().expect("not poisoned");
            (l.first_ask, l.caught_up)
        };
        if let (Some(f), Some(c)) = (f, c) {
            break (f, c);
        }
        if Instant::now() > deadline {
            bail!("the observer did not catch up within an hour");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let secs = (last - first).as_secs_f64();
    let waiting = admin_get(
        &a.admin,
        "/admin/transactions?status=pending_sender&limit=1",
    )
    .await?;
    let left = waiting["transactions"].as_array().map_or(0, Vec::len);
    let unmatched = admin_get(&a.admin, "/admin/payments?outcome=unmatched&limit=1").await?;
    let stray = unmatched["payments"].as_array().map_or(0, Vec::len);
    let rss = a.pid.and_then(|p| proc_kib(p, "VmHWM:"));
    drop(a.own);
    let n = memos.len();
    let engine = if args.postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    if args.json {
        println!(
            "{}",
            json!({"benchmark": "sep31-observer", "engine": engine, "payments": n,
                "created_per_sec": (n as f64 / created.as_secs_f64()).round(),
                "matched_per_sec": (n as f64 / secs).round(), "seconds": secs,
                "left_waiting": left, "unmatched": stray,
                "server_peak_rss_mib": rss.map(|k| k / 1024)})
        );
    } else {
        println!("SEP-31 payment observer, {n} payments replayed from Horizon pages, {engine}");
        println!(
            "  transactions created  {:.0}/s",
            n as f64 / created.as_secs_f64()
        );
        println!(
            "  payments matched      {:.0}/s ({secs:.1} s)",
            n as f64 / secs
        );
        println!("  left pending_sender   {left}");
        println!("  unmatched             {stray}");
        if let Some(k) = rss {
            println!("  server peak RSS       {:.1} MiB", k as f64 / 1024.0);
        }
    }
    if left != 0 || stray != 0 {
        bail!("{left} transactions were not matched and {stray} payments were left unmatched");
    }
    Ok(())
}
