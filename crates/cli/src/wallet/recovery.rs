//! `mooring wallet recovery`: an account recoverable with two (or more)
//! SEP-30 servers, as in ../seeds/003's sequence diagrams.
//!
//! - `enroll` registers the account and its identities with each server
//!   (SEP-30 `POST /accounts/{address}`, logged in with the account's own
//!   key by SEP-10), collects the key each server signs with, and sets the
//!   account's signers: each server weight 1, the device key and every
//!   threshold the number of servers — so all servers together meet every
//!   threshold and no server alone does (SEP-30 §Abstract, "thresholds
//!   high 2, med 2, low 2, weights 1").
//! - `recover`, on a new device, signs in on each server through its
//!   `/authorize/token` (the URL and code are shown to open in a browser;
//!   the command polls until the person has signed in), has each sign a
//!   transaction that gives the new key the account's high threshold, and
//!   combines and submits the signatures.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, Subcommand};
use mooring_client::horizon::Horizon;
use mooring_client::sep30::{Identity, RecoveryServer, SignIn, SignInState};
use mooring_client::{ClientError, unix_now};
use mooring_stellar::horizon::AccountResource;
use mooring_stellar::xdr::{BytesM, DecoratedSignature, Memo, Signature, SignatureHint};
use mooring_stellar::{Keypair, PublicKey, envelope, tx};
use reqwest::Url;

use super::config::{ClientConfig, ClientOpts};
use super::term::{Status, clean, human};
use super::{anchor_url, http_client};

/// How long a built transaction stays valid, in seconds.
const VALID_FOR: u64 = 600;

/// `mooring wallet recovery …`.
#[derive(Subcommand)]
pub enum RecoveryCommand {
    /// Register the account with each server and make them, together, its
    /// recovery signers.
    Enroll(EnrollArgs),
    /// On a new device: sign in on each server and have them add a new key.
    Recover(RecoverArgs),
}

/// How a built transaction leaves this machine.
#[derive(Args)]
pub struct Output {
    /// Print the signed transaction (base64 XDR) instead of submitting it
    /// to Horizon.
    #[arg(long, conflicts_with = "submit")]
    print_xdr: bool,
    /// Submit the transaction to Horizon (the default).
    #[arg(long)]
    submit: bool,
}

/// `mooring wallet recovery enroll`.
#[derive(Args)]
pub struct EnrollArgs {
    #[command(flatten)]
    client: ClientOpts,
    /// The recovery servers: home domains or http(s):// URLs, comma-separated.
    #[arg(long, value_delimiter = ',', required = true, num_args = 1..)]
    servers: Vec<String>,
    /// Who may recover the account: `email:person@example.com`,
    /// `phone:+14155550100` or `stellar:G…`. Repeatable.
    #[arg(long = "identity", required = true, value_name = "KIND:VALUE")]
    identities: Vec<String>,
    #[command(flatten)]
    output: Output,
}

/// `mooring wallet recovery recover`.
#[derive(Args)]
pub struct RecoverArgs {
    #[command(flatten)]
    client: ClientOpts,
    /// The recovery servers the account was enrolled with.
    #[arg(long, value_delimiter = ',', required = true, num_args = 1..)]
    servers: Vec<String>,
    /// The account to recover.
    #[arg(long)]
    account: PublicKey,
    /// The new device's key: a G… public key, or `generate` to make one
    /// (its secret written to --new-key-file).
    #[arg(long, value_name = "G…|generate")]
    new_key: String,
    /// Where a generated key's S… seed is written (a new 0600 file).
    #[arg(long, value_name = "FILE")]
    new_key_file: Option<PathBuf>,
    /// A key to take off the account in the same transaction: the lost
    /// device's (the account's own key sets the master weight to 0).
    /// Repeatable.
    #[arg(long, value_name = "G…")]
    remove_key: Vec<PublicKey>,
    /// Seconds between checks whether the person has signed in.
    #[arg(long, default_value_t = 2, value_name = "SECS")]
    poll_secs: u64,
    #[command(flatten)]
    output: Output,
}

/// Runs a `recovery` command.
pub async fn run(cmd: RecoveryCommand) -> Result<()> {
    match cmd {
        RecoveryCommand::Enroll(a) => enroll(a).await,
        RecoveryCommand::Recover(a) => recover(a).await,
    }
}

/// `email:…` → (`email`, …), as SEP-30 §Common Authentication Methods
/// names the types.
fn auth_method(given: &str) -> Result<(&'static str, String)> {
    let (kind, value) = given
        .split_once(':')
        .with_context(|| format!("{given:?}: expected email:…, phone:… or stellar:G…"))?;
    let kind = match kind {
        "email" => "email",
        "phone" | "phone_number" => "phone_number",
        "stellar" | "stellar_address" => {
            PublicKey::parse(value).with_context(|| format!("{value:?} is not a G… key"))?;
            "stellar_address"
        }
        other => bail!("unknown identity kind {other:?}: email, phone or stellar"),
    };
    Ok((kind, value.to_owned()))
}

/// The account as Horizon has it; it must exist.
async fn ledger_account(cfg: &ClientConfig, account: &PublicKey) -> Result<AccountResource> {
    Horizon::new(http_client()?, cfg.horizon.clone())
        .account(account)
        .await
        .with_context(|| format!("cannot read {account} from Horizon at {}", cfg.horizon))?
        .with_context(|| format!("{account} does not exist on the ledger"))
}

/// The servers named, each once; at least two, since one server alone
/// must never be able to recover an account (SEP-30 §Abstract).
fn distinct_servers(given: &[String]) -> Result<Vec<String>> {
    let mut seen = Vec::new();
    let mut names = Vec::new();
    for name in given {
        let url = anchor_url(name)?;
        if !seen.contains(&url) {
            seen.push(url);
            names.push(name.clone());
        }
    }
    if names.len() < 2 {
        bail!(
            "--servers needs at least two different recovery servers: with one, that server alone could take the account"
        );
    }
    Ok(names)
}

/// Submits `xdr` to Horizon, or prints it.
async fn deliver(cfg: &ClientConfig, output: &Output, xdr: &str) -> Result<()> {
    if output.print_xdr {
        println!("{xdr}");
        return Ok(());
    }
    let horizon = Horizon::new(http_client()?, cfg.horizon.clone());
    cfg.check_network(&horizon).await?;
    let done = horizon
        .submit(xdr)
        .await
        .context("Horizon refused the transaction")?;
    println!("submitted: transaction {}", done.hash);
    Ok(())
}

async fn enroll(args: EnrollArgs) -> Result<()> {
    let cfg = args.client.load()?;
    let key = cfg.key()?;
    let account = key.public_key();
    let address = account.to_string();
    let methods: Vec<(&str, String)> = args
        .identities
        .iter()
        .map(|i| auth_method(i))
        .collect::<Result<_>>()?;
    let pairs: Vec<(&str, &str)> = methods.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let identities = [Identity::owner(&pairs)];
    let servers = distinct_servers(&args.servers)?;
    let ledger = ledger_account(&cfg, &account).await?;

    let http = http_client()?;
    let mut server_keys: Vec<PublicKey> = Vec::new();
    for name in &servers {
        let base = anchor_url(name)?;
        let token = super::kyc::login(&http, &base, &key, None)
            .await
            .with_context(|| format!("cannot log in to {name}"))?;
        let server = RecoveryServer::new(http.clone(), base, token);
        let registered = match server.register(&address, &identities).await {
            // Already registered: the identities are replaced.
            Err(ClientError::Status { status: 409, .. }) => {
                server.update(&address, &identities).await
            }
            other => other,
        }
        .with_context(|| format!("{name} did not register the account"))?;
        let signer = registered
            .signers
            .first()
            .with_context(|| format!("{name} answered no signing key"))?;
        let signer = PublicKey::parse(&signer.key)
            .with_context(|| format!("{name} answered a signing key that is not G…"))?;
        if server_keys.contains(&signer) {
            bail!(
                "{name} signs with {signer}, as another of the servers does: they are one server, and one server alone must not recover the account"
            );
        }
        println!("{name}: registered; it signs with {signer}");
        server_keys.push(signer);
    }

    // Every other signer (of any kind: pre-auth, hash-x, signed payload
    // too) would see its power change with the new thresholds.
    let others: Vec<String> = ledger
        .signers
        .iter()
        .filter(|s| s.weight > 0 && s.key != address)
        .filter(|s| !server_keys.iter().any(|k| k.to_string() == s.key))
        .map(|s| s.key.clone())
        .collect();
    if !others.is_empty() {
        bail!(
            "the account has other signers ({}); enrolling would change what they may do — remove them first",
            others.join(", ")
        );
    }
    let n = u32::try_from(server_keys.len())?;
    let mut ops: Vec<_> = server_keys.iter().map(|k| tx::set_signer(k, 1)).collect();
    ops.push(tx::set_weights(n, n, n, n));
    let sequence = ledger
        .sequence()
        .context("Horizon's sequence is not a number")?;
    let t = tx::transaction(
        &account,
        sequence + 1,
        Memo::None,
        ops,
        unix_now(),
        VALID_FOR,
    )?;
    let mut signatures = vec![];
    envelope::sign(&t, &cfg.network, &key, &mut signatures);
    let xdr = envelope::encode(&envelope::envelope(t, signatures));
    println!(
        "signers: this key weight {n}, each server weight 1; thresholds {n}: all {n} servers together can recover the account, fewer cannot"
    );
    deliver(&cfg, &args.output, &xdr).await
}

/// Signs in on `base` through `/authorize/token`: shows the URL and the
/// code, and polls every `every` until the person has signed in.
async fn sign_in(http: &reqwest::Client, name: &str, base: Url, every: Duration) -> Result<String> {
    let sign_in = SignIn::new(http.clone(), base);
    let request = sign_in
        .start()
        .await
        .with_context(|| format!("{name} offers no sign-in"))?;
    let mut out = Status::new();
    let url = clean(&request.url);
    out.line(&match &request.user_code {
        Some(code) => format!(
            "{name}: open {url} in a browser and sign in; it must show the code {}",
            clean(code)
        ),
        None => format!("{name}: open {url} in a browser and sign in"),
    });
    let started = Instant::now();
    let expires = request.expires_in.map(|s| started + Duration::from_secs(s));
    loop {
        match sign_in.poll(&request).await? {
            SignInState::Authorized(token) => {
                out.line(&format!("{name}: signed in"));
                return Ok(token);
            }
            SignInState::Pending => {}
        }
        if expires.is_some_and(|e| Instant::now() >= e) {
            out.clear();
            bail!("{name}: the sign-in expired; run the command again");
        }
        out.status(&format!(
            "{name}: waiting for the sign-in ({})",
            human(started.elapsed())
        ));
        tokio::time::sleep(every).await;
    }
}

/// The new device's key: given, or generated (kept in memory until the
/// transaction is ready; see [`keep`]).
fn new_key(args: &RecoverArgs) -> Result<(PublicKey, Option<Keypair>)> {
    if args.new_key != "generate" {
        let key = PublicKey::parse(&args.new_key)
            .with_context(|| "--new-key takes a G… key or `generate`")?;
        return Ok((key, None));
    }
    let path = args
        .new_key_file
        .as_ref()
        .context("--new-key generate needs --new-key-file to keep the new secret in")?;
    if path.exists() {
        bail!("{} exists: name a new file for the new key", path.display());
    }
    let key = Keypair::random();
    Ok((key.public_key(), Some(key)))
}

/// Writes a generated key's seed to --new-key-file (a new 0600 file)
/// before the transaction that makes it a signer is submitted: once that
/// lands the seed is the way into the account.
fn keep(args: &RecoverArgs, generated: Option<&Keypair>) -> Result<()> {
    let (Some(key), Some(path)) = (generated, args.new_key_file.as_ref()) else {
        return Ok(());
    };
    mooring_server::secrets::write_private_file(path, key.secret_seed().as_bytes())
        .with_context(|| format!("cannot create {} (it must not exist)", path.display()))?;
    println!(
        "new key {}; its secret is in {}",
        key.public_key(),
        path.display()
    );
    Ok(())
}

async fn recover(args: RecoverArgs) -> Result<()> {
    let cfg = args.client.load()?;
    let http = http_client()?;
    let address = args.account.to_string();
    let every = Duration::from_secs(args.poll_secs.max(1));
    let names = distinct_servers(&args.servers)?;
    let (new_key, generated) = new_key(&args)?;
    let ledger = ledger_account(&cfg, &args.account).await?;
    let on_ledger = ledger.ed25519_signers();
    let weight_of = |k: &PublicKey| {
        on_ledger
            .iter()
            .find(|(s, _)| s == k)
            .map_or(0, |(_, w)| *w)
    };
    let high = ledger.thresholds.high_threshold.max(1);
    if args.remove_key.contains(&new_key) {
        bail!("--remove-key names the new key");
    }

    let mut servers = Vec::new();
    let mut total = 0;
    for name in &names {
        let base = anchor_url(name)?;
        let token = sign_in(&http, name, base.clone(), every).await?;
        let server = RecoveryServer::new(http.clone(), base, token);
        let found = server
            .account(&address)
            .await
            .with_context(|| format!("{name} does not know {address} for this identity"))?;
        // The key it signs with must be one the account has: after a key
        // rotation the newest may not be a signer yet (SEP-30 §Sign).
        let signer = found
            .signers
            .iter()
            .filter_map(|s| PublicKey::parse(&s.key).ok())
            .find(|k| weight_of(k) > 0)
            .with_context(|| {
                format!("none of {name}'s keys for the account is among its signers on the ledger")
            })?;
        total += weight_of(&signer);
        servers.push((name, server, signer));
    }
    if total < high {
        bail!(
            "the servers' keys weigh {total} together on the account, less than its high threshold {high}: they cannot recover it"
        );
    }
    if args
        .remove_key
        .iter()
        .any(|k| servers.iter().any(|(_, _, s)| s == k))
    {
        bail!("--remove-key names a recovery server's key");
    }

    let weight = high;
    let sequence = ledger
        .sequence()
        .context("Horizon's sequence is not a number")?;
    let mut ops = vec![tx::set_signer(&new_key, weight)];
    for k in &args.remove_key {
        ops.push(match *k == args.account {
            true => tx::set_master_weight(0),
            false => tx::set_signer(k, 0),
        });
    }
    let t = tx::transaction(
        &args.account,
        sequence + 1,
        Memo::None,
        ops,
        unix_now(),
        VALID_FOR,
    )?;
    let hash = envelope::hash(&t, &cfg.network);
    let unsigned = envelope::encode(&envelope::envelope(t.clone(), vec![]));

    let mut signatures = Vec::new();
    for (name, server, signer) in &servers {
        let signed = server
            .sign(&address, &signer.to_string(), &unsigned)
            .await
            .with_context(|| format!("{name} did not sign"))?;
        if signed.network_passphrase != cfg.network.passphrase() {
            bail!(
                "{name} signed for {:?}, not {:?}",
                signed.network_passphrase,
                cfg.network.passphrase()
            );
        }
        let bytes = STANDARD
            .decode(&signed.signature)
            .with_context(|| format!("{name}'s signature is not base64"))?;
        if !signer.verify(&hash, &bytes) {
            bail!("{name}'s signature does not verify with its key {signer}");
        }
        signatures.push(DecoratedSignature {
            hint: SignatureHint(signer.hint()),
            signature: Signature(BytesM::try_from(bytes).context("a signature of 64 bytes")?),
        });
        println!("{name}: signed with {signer}");
    }
    let xdr = envelope::encode(&envelope::envelope(t, signatures));
    keep(&args, generated.as_ref())?;
    println!("the new key {new_key} gets weight {weight}, the account's high threshold");
    for k in &args.remove_key {
        println!("{k} is taken off the account");
    }
    deliver(&cfg, &args.output, &xdr).await
}
