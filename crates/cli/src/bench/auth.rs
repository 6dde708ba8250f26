//! `mooring bench auth`: complete SEP-10 logins with fresh keys.

use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use futures::FutureExt as _;
use mooring_client::sep10::{LoginOptions, WebAuth};
use mooring_stellar::{ClientAccount, Keypair};

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
    let web_auth = Arc::new(WebAuth::discover(http, &base).await?);
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
    let outcome = measure(workers, load.warmup, load.duration, op).await?;
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
