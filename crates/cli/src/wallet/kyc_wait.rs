//! `mooring wallet kyc-wait`: runs DD64 ([`mooring_client::kyc::KycWait`])
//! until the operation is allowed, telling the user what to do on the way.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use mooring_client::kyc::{
    Action, Amount, Anchor, Asset, BackoffReason, KycWait, Operation, Outcome,
};
use mooring_stellar::{ClientAccount, IdMemo};
use reqwest::Url;

use super::term::{Status, human, utc};
use super::{anchor_url, http_client, load_key};

/// `mooring wallet kyc-wait`.
#[derive(Args)]
pub struct KycWaitArgs {
    /// The anchor: its home domain (HTTPS), or an explicit http(s):// URL.
    #[arg(long)]
    anchor: String,
    /// deposit, withdraw, send, receive or quote.
    #[arg(long)]
    op: Operation,
    /// The amount, a decimal with at most 7 places.
    #[arg(long)]
    amount: Amount,
    /// The SEP-38 asset: stellar:CODE:ISSUER, stellar:native or iso4217:XXX.
    #[arg(long)]
    asset: Asset,
    /// An id memo: the user of a shared account.
    #[arg(long)]
    memo: Option<IdMemo>,
    /// The account (G… or M…). Default: the key's own account.
    #[arg(long)]
    account: Option<ClientAccount>,
    /// A file holding the account's S… secret seed. Default: the
    /// MOORING_WALLET_SECRET environment variable.
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Give up after this many seconds (exit code 2).
    #[arg(long, value_name = "SECS")]
    max_wait: Option<u64>,
    /// How long each KYC status check waits for a change, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    long_poll: u64,
}

/// The wait ran out before the operation was allowed (exit code 2).
#[derive(Debug)]
pub struct GaveUp(pub String);

impl fmt::Display for GaveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GaveUp {}

pub async fn run(args: KycWaitArgs) -> Result<()> {
    let key = load_key(args.key_file.as_deref())?;
    let account = args
        .account
        .unwrap_or(ClientAccount::Account(key.public_key()));
    let base = anchor_url(&args.anchor)?;
    let http = http_client()?;
    let anchor = Anchor::discover(http, &base)
        .await
        .with_context(|| format!("cannot discover the anchor at {base}"))?;
    let mut wait = KycWait::new(
        args.op,
        args.amount,
        args.asset.clone(),
        account,
        args.memo,
        vec![key],
    )?
    .with_long_poll(Duration::from_secs(args.long_poll));

    let started = Instant::now();
    let deadline = args.max_wait.map(|s| started + Duration::from_secs(s));
    let mut out = Status::new();
    let mut shown = Action::None;
    let what = format!("{} {} {}", args.op, args.amount, args.asset);
    out.line(&format!(
        "waiting until {} allows {what} for {account}",
        anchor.kyc_server()
    ));
    loop {
        out.status("checking with the anchor…");
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let outcome = match left {
            Some(left) => match tokio::time::timeout(left, wait.run(&anchor)).await {
                Ok(outcome) => outcome,
                Err(_) => return Err(gave_up(&mut out, started, &wait)),
            },
            None => wait.run(&anchor).await,
        };
        if *wait.action() != shown {
            shown = wait.action().clone();
            if let Some(text) = instruction(&shown, &anchor) {
                out.line(&text);
            }
        }
        let (pause, why) = match &outcome {
            Outcome::Allowed => {
                out.line(&format!("allowed: the anchor accepts {what}"));
                return Ok(());
            }
            Outcome::Progress => continue,
            Outcome::Backoff { reason } => {
                if *reason == BackoffReason::HardLimit {
                    out.clear();
                    bail!("the operation can never pass: a limit KYC cannot lift denies it");
                }
                (wait.backoff_delay(), describe(reason))
            }
            Outcome::AgainAt(t) => (
                t.duration_since(SystemTime::now()).unwrap_or_default(),
                format!("trying again at {}", utc(*t)),
            ),
        };
        let until = Instant::now() + pause;
        let stop = deadline.is_some_and(|d| d < until);
        let until = deadline.map_or(until, |d| d.min(until));
        out.line_if_plain(&format!("{why}; next check in {}", human(pause)));
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            out.status(&format!("{why}; next check in {}", human(left)));
            tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        }
        if stop {
            return Err(gave_up(&mut out, started, &wait));
        }
    }
}

fn gave_up(out: &mut Status, started: Instant, wait: &KycWait) -> anyhow::Error {
    out.clear();
    let last = match wait.action() {
        Action::None => "no action was asked of you".to_owned(),
        a => format!("last asked: {}", short(a)),
    };
    GaveUp(format!(
        "gave up after {}: the operation is still not allowed ({last})",
        human(started.elapsed())
    ))
    .into()
}

/// What the user must do, in full.
fn instruction(action: &Action, anchor: &Anchor) -> Option<String> {
    let place = |url: &Option<Url>, kind: &Option<String>| {
        let mut customer = url.as_ref().unwrap_or(anchor.kyc_server()).clone();
        if let Ok(mut path) = customer.path_segments_mut() {
            path.pop_if_empty().push("customer");
        }
        match kind {
            Some(k) => format!("{customer} (SEP-12, type {k})"),
            None => format!("{customer} (SEP-12)"),
        }
    };
    Some(match action {
        Action::None => return None,
        Action::OpenRecord { kyc_url, kyc_type } => format!(
            "ACTION: the anchor has no KYC record for this account. Open one with PUT {}, logged in (SEP-10) as the account itself.",
            place(kyc_url, kyc_type)
        ),
        Action::CompleteKyc { kyc_url, kyc_type } => format!(
            "ACTION: KYC is required for this operation. Provide your information at {}.",
            place(kyc_url, kyc_type)
        ),
        Action::AwaitReview => {
            "Your KYC information is under review; waiting for the anchor's decision.".to_owned()
        }
        Action::ProvideKey { account_pub, memo } => format!(
            "ACTION: the anchor binds this KYC to {account_pub}{}, whose key this wallet does not hold: run again with that account's secret (--key-file).",
            memo.map(|m| format!(" (memo {m})")).unwrap_or_default()
        ),
        Action::WaitUntil(t) => format!(
            "The operation may be allowed at {}; nothing to do until then.",
            utc(*t)
        ),
        Action::Impossible {
            rule_name,
            threshold,
        } => format!(
            "The amount exceeds a limit KYC cannot lift{}: at most {threshold}.",
            rule_name
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
    })
}

/// An action in a few words, for the give-up message.
fn short(action: &Action) -> &'static str {
    match action {
        Action::None => "nothing",
        Action::OpenRecord { .. } => "open a SEP-12 record",
        Action::CompleteKyc { .. } => "complete KYC",
        Action::AwaitReview => "wait for the KYC review",
        Action::ProvideKey { .. } => "log in with the account's own key",
        Action::WaitUntil(_) => "wait for a limit to reset",
        Action::Impossible { .. } => "nothing: a hard limit denies it",
    }
}

fn describe(reason: &BackoffReason) -> String {
    match reason {
        BackoffReason::Unchanged => "no change yet".to_owned(),
        BackoffReason::Unreachable(e) => format!("the anchor did not answer ({e})"),
        BackoffReason::Login(e) => format!("SEP-10 login failed ({e})"),
        BackoffReason::Refused { status, message } => {
            format!("the anchor answered {status} {message}")
        }
        BackoffReason::KycAuth => "waiting for the SEP-12 record".to_owned(),
        BackoffReason::KycRequired => "waiting for KYC".to_owned(),
        BackoffReason::WrongKey => "waiting for a login by the account's key".to_owned(),
        BackoffReason::HardLimit => "denied by a hard limit".to_owned(),
    }
}
