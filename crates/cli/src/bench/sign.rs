//! `mooring bench sign`: SEP-30 signing throughput. Each worker logs in
//! with SEP-10 as an account of its own, registers it (identity: its own
//! address), then asks for signatures of a transaction of that account.

use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use futures::FutureExt as _;
use mooring_client::sep10::WebAuth;
use mooring_stellar::xdr::{
    BumpSequenceOp, Memo, Operation, OperationBody, Preconditions, SequenceNumber, Transaction,
    TransactionExt,
};
use mooring_stellar::{Keypair, PublicKey, envelope};

use super::{Conn, LoadArgs, Op, measure, proc_kib, report, server};

/// Options of `mooring bench sign`.
#[derive(Args)]
pub struct SignArgs {
    #[command(flatten)]
    load: LoadArgs,
}

/// A recovery transaction of `account`: what a wallet asks to have signed.
fn transaction(account: &PublicKey) -> String {
    let tx = Transaction {
        source_account: account.to_muxed_account(),
        fee: 100,
        seq_num: SequenceNumber(1),
        cond: Preconditions::None,
        memo: Memo::None,
        operations: vec![Operation {
            source_account: None,
            body: OperationBody::BumpSequence(BumpSequenceOp {
                bump_to: SequenceNumber(2),
            }),
        }]
        .try_into()
        .expect("one operation"),
        ext: TransactionExt::V0,
    };
    envelope::encode(&envelope::envelope(tx, vec![]))
}

struct Worker {
    conn: Conn,
    path: String,
    body: String,
}

/// Runs the signing benchmark.
pub async fn run(args: SignArgs) -> Result<()> {
    let load = &args.load;
    let (own, base, pid) = server(load, &[]).await?;
    let web_auth = WebAuth::discover(reqwest::Client::new(), &base).await?;
    let auth_path = web_auth.endpoint().path().to_owned();
    let mut workers = Vec::with_capacity(load.concurrency);
    for _ in 0..load.concurrency {
        let mut conn = Conn::open(&base).await?;
        let kp = Keypair::random();
        let account = kp.public_key();
        conn.token = Some(conn.login_as(&auth_path, web_auth.network(), &kp).await?);
        let identities = serde_json::json!({ "identities": [{
            "role": "owner",
            "auth_methods": [{ "type": "stellar_address", "value": account.to_string() }],
        }]});
        let registered = conn
            .call(
                "POST",
                &format!("{}accounts/{account}", base.path()),
                Some(identities.to_string()),
            )
            .await
            .context("registering an account (is SEP-30 enabled?)")?;
        let signer = registered["signers"][0]["key"]
            .as_str()
            .context("no signer in the registration")?
            .to_owned();
        workers.push(Worker {
            conn,
            path: format!("{}accounts/{account}/sign/{signer}", base.path()),
            body: serde_json::json!({ "transaction": transaction(&account) }).to_string(),
        });
    }
    let sign: Op<Worker> = Arc::new(move |mut w, _| {
        async move {
            let r = w
                .conn
                .call("POST", &w.path, Some(w.body.clone()))
                .await
                .and_then(|v| {
                    if v["signature"].is_string() {
                        Ok(())
                    } else {
                        bail!("no signature in {v}")
                    }
                });
            (w, r)
        }
        .boxed()
    });
    let signed = measure(workers, load.warmup, load.duration, pid, sign).await?;
    let rss = pid.and_then(|p| proc_kib(p, "VmHWM:"));
    drop(own);
    report(
        "sep30-sign",
        "SEP-30 POST /accounts/{address}/sign/{signer}, SEP-10 token",
        load.concurrency,
        &signed,
        rss,
        load.json,
    )
}
