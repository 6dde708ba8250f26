//! `mooring wallet`: a wallet's side of anchors and recovery servers, from
//! the command line. `kyc-wait` waits out KYC limits (DD64); `kyc` keeps
//! one encrypted KYC profile and gives each anchor only what it asks for
//! (SEP-12); `recovery` registers an account with two SEP-30 servers and
//! recovers it with both.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use mooring_stellar::Keypair;
use reqwest::Url;
use secrecy::{ExposeSecret as _, SecretString};

pub mod config;
pub mod kyc;
mod kyc_wait;
pub mod profile;
mod recovery;
pub mod term;

pub use kyc_wait::GaveUp;

/// Wallet commands.
#[derive(Subcommand)]
pub enum WalletCommand {
    /// Wait until the anchor allows an operation, following DD64: try it,
    /// long-poll the account's KYC status, and say what to do (SEP-12).
    /// Exits 0 when allowed, 2 when --max-wait runs out.
    KycWait(kyc_wait::KycWaitArgs),
    /// A KYC profile kept encrypted on this machine, entered once and
    /// given to many anchors, each only the fields it asks for (SEP-12).
    #[command(subcommand)]
    Kyc(kyc::KycCommand),
    /// Account recovery with two SEP-30 servers: enroll, then recover on a
    /// new device.
    #[command(subcommand)]
    Recovery(recovery::RecoveryCommand),
}

/// Runs a wallet command.
pub async fn run(cmd: WalletCommand) -> Result<()> {
    match cmd {
        WalletCommand::KycWait(args) => kyc_wait::run(args).await,
        WalletCommand::Kyc(cmd) => kyc::run(cmd).await,
        WalletCommand::Recovery(cmd) => recovery::run(cmd).await,
    }
}

/// The HTTP client of every client command: a server that does not
/// connect in 10 s or answer in 60 s is an error, not a hang. (Horizon
/// answers a submission within its own 30 s timeout.)
pub fn http_client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .user_agent(concat!("mooring/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(60))
        .build()?)
}

/// The key: from --key-file, else MOORING_WALLET_SECRET.
pub fn load_key(path: Option<&Path>) -> Result<Keypair> {
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
pub fn anchor_url(anchor: &str) -> Result<Url> {
    if anchor.starts_with("https://") || anchor.starts_with("http://") {
        return Url::parse(anchor).with_context(|| format!("not a URL: {anchor}"));
    }
    if anchor.contains('/') || anchor.is_empty() {
        bail!("expected a home domain (anchor.example) or an http(s):// URL");
    }
    Url::parse(&format!("https://{anchor}")).with_context(|| format!("not a domain: {anchor}"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
