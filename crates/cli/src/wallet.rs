//! `mooring wallet`: a wallet's side of an anchor, from the command line.
//! `kyc-wait` runs DD64 ([`mooring_client::kyc::KycWait`]) until the
//! operation is allowed, telling the user what to do on the way.

use std::fmt;
use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use mooring_client::kyc::{
    Action, Amount, Anchor, Asset, BackoffReason, KycWait, Operation, Outcome,
};
use mooring_stellar::{ClientAccount, IdMemo, Keypair};
use reqwest::Url;
use secrecy::{ExposeSecret as _, SecretString};

/// Wallet commands.
#[derive(Subcommand)]
pub enum WalletCommand {
    /// Wait until the anchor allows an operation, following DD64: try it,
    /// long-poll the account's KYC status, and say what to do (SEP-12).
    /// Exits 0 when allowed, 2 when --max-wait runs out.
    KycWait(KycWaitArgs),
}

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
pub struct GaveUp(String);

impl fmt::Display for GaveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GaveUp {}

/// Runs a wallet command.
pub async fn run(cmd: WalletCommand) -> Result<()> {
    match cmd {
        WalletCommand::KycWait(args) => kyc_wait(args).await,
    }
}

async fn kyc_wait(args: KycWaitArgs) -> Result<()> {
    let key = load_key(args.key_file.as_deref())?;
    let account = args
        .account
        .unwrap_or(ClientAccount::Account(key.public_key()));
    let base = anchor_url(&args.anchor)?;
    let http = reqwest::Client::builder()
        .user_agent(concat!("mooring/", env!("CARGO_PKG_VERSION")))
        .build()?;
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

/// The key: from --key-file, else MOORING_WALLET_SECRET.
fn load_key(path: Option<&std::path::Path>) -> Result<Keypair> {
    let seed = match path {
        Some(p) => SecretString::from(
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
        ),
        None => SecretString::from(std::env::var("MOORING_WALLET_SECRET").context(
            "no key: pass --key-file with an S… secret seed, or set MOORING_WALLET_SECRET",
        )?),
    };
    Keypair::from_secret_seed(seed.expose_secret()).context("the key is not an S… secret seed")
}

/// A home domain means HTTPS; http:// only when spelled out (loopback tests).
fn anchor_url(anchor: &str) -> Result<Url> {
    if anchor.starts_with("https://") || anchor.starts_with("http://") {
        return Url::parse(anchor).with_context(|| format!("not a URL: {anchor}"));
    }
    if anchor.contains('/') || anchor.is_empty() {
        bail!("--anchor takes a home domain (anchor.example) or an http(s):// URL");
    }
    Url::parse(&format!("https://{anchor}")).with_context(|| format!("not a domain: {anchor}"))
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

/// The output: a live status line rewritten in place on a terminal; plain
/// lines, without the live status, otherwise.
struct Status {
    live: bool,
    drawn: bool,
}

impl Status {
    fn new() -> Self {
        Status {
            live: std::io::stdout().is_terminal(),
            drawn: false,
        }
    }

    /// A line that stays.
    fn line(&mut self, text: &str) {
        self.clear();
        println!("{text}");
    }

    /// A line that stays, only where no live status shows it.
    fn line_if_plain(&mut self, text: &str) {
        if !self.live {
            println!("{text}");
        }
    }

    /// The live status (terminals only).
    fn status(&mut self, text: &str) {
        if self.live {
            let mut out = std::io::stdout().lock();
            // \r and "erase line": rewrite the status in place.
            let _ = write!(out, "\r\x1b[2K{text}");
            let _ = out.flush();
            self.drawn = true;
        }
    }

    fn clear(&mut self) {
        if self.drawn {
            print!("\r\x1b[2K");
            let _ = std::io::stdout().flush();
            self.drawn = false;
        }
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs() + u64::from(d.subsec_millis() >= 500);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A time as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_renders_calendar_dates() {
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(utc(t), "2024-02-29 12:34:56 UTC");
    }

    #[test]
    fn a_home_domain_means_https_and_http_must_be_spelled_out() {
        assert_eq!(
            anchor_url("anchor.example").unwrap().as_str(),
            "https://anchor.example/"
        );
        assert_eq!(
            anchor_url("http://127.0.0.1:8000").unwrap().as_str(),
            "http://127.0.0.1:8000/"
        );
        assert!(anchor_url("anchor.example/path").is_err());
    }

    #[test]
    fn durations_read_in_the_largest_units() {
        assert_eq!(human(Duration::from_secs(4)), "4s");
        assert_eq!(human(Duration::from_secs(62)), "1m02s");
        assert_eq!(human(Duration::from_secs(3 * 3600 + 120)), "3h02m");
        assert_eq!(human(Duration::from_secs(86_400)), "1d00h");
    }
}
