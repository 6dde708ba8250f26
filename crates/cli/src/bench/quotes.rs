//! `mooring bench quotes`: SEP-38 `POST /quote` throughput. Every worker
//! signs in as the one partner anchor the server is configured with, then
//! asks for firm quotes (a price from `[[sep38.prices]]`, the KYC gate
//! consulted, the quote stored). With `--limited`, a rolling limit on
//! quotes makes the gate judge and count every quote, and each worker is
//! an account of its own (so none waits on another's row lock).

use std::io::Write as _;
use std::sync::Arc;

use anyhow::{Result, bail};
use clap::Args;
use futures::FutureExt as _;
use mooring_client::sep10::WebAuth;
use mooring_stellar::Keypair;

use super::{Conn, LoadArgs, Op, measure, proc_kib, report, server};

/// Options of `mooring bench quotes`.
#[derive(Args)]
pub struct QuotesArgs {
    #[command(flatten)]
    load: LoadArgs,
    /// A PostgreSQL database for the server started here (its tables are
    /// created); without it, SQLite.
    #[arg(long)]
    postgres: Option<String>,
    /// Configure a rolling limit on quotes (so each is judged and counted
    /// in a write transaction), one partner account per worker.
    #[arg(long)]
    limited: bool,
}

const USDC: &str = "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";

/// The configuration of the server started here: one pair, one partner
/// with `accounts`, and with `limited` a rolling limit on quotes.
fn config(accounts: &[String], limited: bool) -> String {
    let accounts = accounts
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let rule = if limited {
        format!(
            r#"
[[limits.rules]]
op = "quote"
asset = "{USDC}"
threshold = "1000000000"
timeframe_secs = 60
soft_limit = false
"#
        )
    } else {
        String::new()
    };
    format!(
        r#"
[sep38]
enabled = true
[[sep38.assets]]
asset = "{USDC}"
[[sep38.assets]]
asset = "iso4217:BRL"
buy_delivery_methods = [{{ name = "PIX", description = "PIX" }}]
[[sep38.prices]]
sell_asset = "{USDC}"
buy_asset = "iso4217:BRL"
price = "0.18"
fee_fixed = "1"
fee_percent = "1.5"

[[partners]]
name = "bench"
accounts = [{accounts}]
{rule}"#
    )
}

/// Runs the quote benchmark.
pub async fn run(args: QuotesArgs) -> Result<()> {
    let load = &args.load;
    if load.url.is_some() {
        bail!(
            "bench quotes configures the server it starts (a partner, a pair); --url is not supported"
        );
    }
    let keys: Vec<Keypair> = (0..if args.limited { load.concurrency } else { 1 })
        .map(|_| Keypair::random())
        .collect();
    let accounts: Vec<String> = keys.iter().map(|k| k.public_key().to_string()).collect();
    let mut file = tempfile::NamedTempFile::new()?;
    file.write_all(config(&accounts, args.limited).as_bytes())?;
    let path = file.path().to_string_lossy().into_owned();
    let mut env = vec![("MOORING_CONFIG", path.as_str())];
    if let Some(db) = &args.postgres {
        env.push(("MOORING_DATABASE_URL", db.as_str()));
    }
    let (own, base, pid) = server(load, &env).await?;
    let web_auth = WebAuth::discover(reqwest::Client::new(), &base).await?;
    let auth_path = web_auth.endpoint().path().to_owned();
    let mut workers = Vec::with_capacity(load.concurrency);
    for i in 0..load.concurrency {
        let mut conn = Conn::open(&base).await?;
        let key = &keys[i % keys.len()];
        conn.token = Some(conn.login_as(&auth_path, web_auth.network(), key).await?);
        workers.push(conn);
    }
    let path = format!("{}sep38/quote", base.path());
    let body = serde_json::json!({
        "sell_asset": USDC,
        "buy_asset": "iso4217:BRL",
        "sell_amount": "100",
        "buy_delivery_method": "PIX",
        "context": "sep31",
    })
    .to_string();
    let quote: Op<Conn> = Arc::new(move |mut conn, _| {
        let (path, body) = (path.clone(), body.clone());
        async move {
            let r = conn.call("POST", &path, Some(body)).await.and_then(|v| {
                if v["id"].is_string() {
                    Ok(())
                } else {
                    bail!("no quote id in {v}")
                }
            });
            (conn, r)
        }
        .boxed()
    });
    let quoted = measure(workers, load.warmup, load.duration, pid, quote).await?;
    let rss = pid.and_then(|p| proc_kib(p, "VmHWM:"));
    drop(own);
    report(
        "sep38-quote",
        &format!(
            "SEP-38 POST /quote, partner's SEP-10 token, {}",
            if args.postgres.is_some() {
                "PostgreSQL"
            } else {
                "SQLite"
            }
        ),
        load.concurrency,
        &quoted,
        rss,
        load.json,
    )
}
