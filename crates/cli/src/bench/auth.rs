//! `mooring bench auth`: complete SEP-10 logins with fresh keys.

use std::sync::Arc;

use anyhow::{Context as _, Result, anyhow};
use clap::Args;
use futures::FutureExt as _;
use mooring_client::sep10::{LoginOptions, WebAuth};
use mooring_stellar::{ClientAccount, Keypair};
use reqwest::Url;

use super::{Conn, LoadArgs, Op, measure, proc_kib, report, server};

/// Options of `mooring bench auth`.
#[derive(Args)]
pub struct AuthArgs {
    #[command(flatten)]
    load: LoadArgs,
    /// Also check each challenge as a wallet does (server signature, home
    /// domain, time bounds) before signing, through Mooring's wallet client.
    /// Off by default: the load generator stands in for many wallets on
    /// other machines, and this check would spend the server machine's CPU
    /// on their behalf.
    #[arg(long)]
    verify_challenge: bool,
    /// The home domain challenges are asked for and checked against, with
    /// --verify-challenge. Without it, the first that the server's
    /// challenges name of: the --url's host and port, then its
    /// WEB_AUTH_ENDPOINT's host and port, then that host alone (a server
    /// reached at 127.0.0.1 may call itself localhost).
    #[arg(long, requires = "verify_challenge")]
    home_domain: Option<String>,
}

enum Worker {
    Raw(Conn),
    Wallet,
}

/// Runs the login benchmark.
pub async fn run(args: AuthArgs) -> Result<()> {
    let load = &args.load;
    let (own, base, pid) = server(load, &[]).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(load.concurrency)
        .build()?;
    let mut web_auth = WebAuth::discover(http, &base).await?;
    if args.verify_challenge {
        web_auth = home_domain(web_auth, &base, args.home_domain.as_deref()).await?;
        eprintln!("home domain: {}", web_auth.home_domain());
    }
    let web_auth = Arc::new(web_auth);
    let mut workers = Vec::with_capacity(load.concurrency);
    for _ in 0..load.concurrency {
        workers.push(if args.verify_challenge {
            Worker::Wallet
        } else {
            Worker::Raw(Conn::open(web_auth.endpoint()).await?)
        });
    }
    let wa = web_auth.clone();
    let op: Op<Worker> = Arc::new(move |w, _| {
        let wa = wa.clone();
        async move {
            match w {
                Worker::Raw(mut c) => {
                    let path = wa.endpoint().path().to_owned();
                    let r = c.login(&path, wa.network()).await.map(|_| ());
                    (Worker::Raw(c), r)
                }
                Worker::Wallet => {
                    let kp = Keypair::random();
                    let account = ClientAccount::Account(kp.public_key());
                    let r = wa
                        .login(&account, &[&kp], &LoginOptions::default())
                        .await
                        .map(|_| ())
                        .map_err(Into::into);
                    (Worker::Wallet, r)
                }
            }
        }
        .boxed()
    });
    let outcome = measure(workers, load.warmup, load.duration, pid, op).await?;
    let rss = pid.and_then(|p| proc_kib(p, "VmHWM:"));
    drop(own);
    report(
        "sep10-login",
        "SEP-10 complete logins",
        load.concurrency,
        &outcome,
        rss,
        load.json,
    )
}

/// `web_auth` for the home domain its challenges are checked against:
/// `given`, or the first candidate whose challenge passes the wallet's
/// checks (see [`AuthArgs::home_domain`]).
async fn home_domain(web_auth: WebAuth, base: &Url, given: Option<&str>) -> Result<WebAuth> {
    if let Some(d) = given {
        return Ok(web_auth.with_home_domain(d));
    }
    let endpoint = web_auth.endpoint().clone();
    let authority = |u: &Url| match (u.host_str(), u.port()) {
        (Some(h), Some(p)) => Some(format!("{h}:{p}")),
        (h, None) => h.map(str::to_owned),
        _ => None,
    };
    let mut candidates: Vec<String> = [
        authority(base),
        authority(&endpoint),
        endpoint.host_str().map(str::to_owned),
    ]
    .into_iter()
    .flatten()
    .collect();
    candidates.dedup();
    let probe = Keypair::random();
    let account = ClientAccount::Account(probe.public_key());
    let mut first_error = None;
    for c in candidates {
        let wa = web_auth.clone().with_home_domain(&c);
        match wa.challenge(&account, &LoginOptions::default()).await {
            Ok(_) => return Ok(wa),
            Err(e) => {
                first_error.get_or_insert(anyhow!("home domain {c}: {e}"));
            }
        }
    }
    Err(first_error.unwrap_or_else(|| anyhow!("the URL names no host"))).context(
        "no home domain the server's challenges name passes the checks; give --home-domain",
    )
}
