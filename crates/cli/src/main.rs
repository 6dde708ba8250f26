//! `mooring`: the server, its tools, the admin commands, and the client
//! commands (`mooring send`, `mooring wallet`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use mooring_server::config::{Config, Loaded};
use mooring_server::{Server, ServerOptions, telemetry};

mod admin;
mod bench;
mod send;
mod wallet;

/// jemalloc: a third less memory under load than mimalloc (peak 30 MiB
/// against 41) and about half per held connection (10,000 held long polls:
/// 170 MiB against 307), for slower wake-ups of long polls and about 6 %
/// fewer SEP-30 signs per second; logins and SEP-12 within noise. Figures
/// in the README (§Benchmarks, `bench polls`).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "mooring",
    version,
    about = "Identity server for Stellar anchors: SEP-1, SEP-10 and more"
)]
struct Cli {
    /// Configuration file. Default: ./mooring.toml if it exists.
    #[arg(long, global = true, env = "MOORING_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (embedded defaults: SQLite and generated keys under ./data).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Copy the SQLite database and the documents it refers to into a new
    /// folder while servers keep running (with PostgreSQL: how to use
    /// pg_dump). The keys are not in it: back the keys file up apart.
    Backup {
        /// The folder to create (it must not exist, or be empty).
        folder: PathBuf,
    },
    /// Restore a backup into the configured data folder, which must hold
    /// no database yet; then apply migrations.
    Restore {
        /// The backup's folder.
        folder: PathBuf,
    },
    /// Key management.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Compliance staff's tools, through the admin API of a running server.
    Admin(admin::AdminArgs),
    /// Load benchmarks against a running or self-started server.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// A wallet's side of anchors and recovery servers: KYC once for many
    /// anchors (SEP-12), account recovery with two servers (SEP-30).
    #[command(subcommand)]
    Wallet(wallet::WalletCommand),
    /// Send a payment through a receiving anchor, as a sending anchor does
    /// (SEP-31 with SEP-10, SEP-12 and SEP-38), and follow it to the end.
    Send(Box<send::SendArgs>),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print a fresh set of secrets (signing seed, JWT seed, master key) in
    /// keys-file format, or write them to a new 0600 file.
    Generate {
        /// Write to this file (refuses to overwrite) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Start a master key rotation in the keys file: a new master_key, the
    /// old one kept in previous_master_keys. Then restart the servers and
    /// run `mooring keys rotate`.
    NewMasterKey,
    /// Rewrap every data key under the current master key (servers keep
    /// running; run again at will). Afterwards the previous master keys can
    /// be removed.
    Rotate,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print a fully commented mooring.toml with every setting.
    Example,
    /// Load and validate the configuration, report problems, and exit.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            match e.downcast_ref::<wallet::GaveUp>() {
                Some(_) => ExitCode::from(2),
                None => ExitCode::FAILURE,
            }
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Config(ConfigCommand::Example) => {
            print!("{}", mooring_server::config::EXAMPLE);
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            let loaded = load_config(cli.config)?;
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            println!("configuration is valid");
            Ok(())
        }
        Command::Keys(KeysCommand::Generate { out }) => {
            let text = mooring_server::secrets::generate_keys_file();
            match out {
                Some(path) => {
                    mooring_server::secrets::write_private_file(&path, text.as_bytes())
                        .with_context(|| format!("cannot create {}", path.display()))?;
                    eprintln!("wrote new secrets to {} (mode 0600)", path.display());
                }
                None => print!("{}", text.as_str()),
            }
            Ok(())
        }
        Command::Keys(KeysCommand::NewMasterKey) => {
            let loaded = load_config(cli.config)?;
            let path = mooring_server::secrets::new_master_key(&loaded.config)?;
            println!(
                "{} now has a new master_key; the old one is in previous_master_keys.\nRestart every server, then run `mooring keys rotate`.",
                path.display()
            );
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate) => {
            let loaded = load_config(cli.config)?;
            runtime()?.block_on(async {
                let r = mooring_server::rotate::rotate(&loaded.config).await?;
                println!(
                    "rewrapped {} customer, {} document, {} recovery account and {} server data keys ({} already current)",
                    r.customers, r.files, r.recovery, r.server, r.unchanged
                );
                Ok(())
            })
        }
        Command::Backup { folder } => {
            let loaded = load_config(cli.config)?;
            runtime()?.block_on(async {
                let m = mooring_server::backup::backup(&loaded.config, &folder).await?;
                println!(
                    "backed up the database and {} documents into {}",
                    m.documents,
                    folder.display()
                );
                if m.missing > 0 {
                    println!(
                        "{} documents the copy refers to were erased while it ran: not in the backup",
                        m.missing
                    );
                }
                println!("the keys file is not in it: keep a copy of it apart");
                Ok(())
            })
        }
        Command::Restore { folder } => {
            let loaded = load_config(cli.config)?;
            runtime()?.block_on(async {
                let r = mooring_server::backup::restore(&loaded.config, &folder).await?;
                println!(
                    "restored the backup of {} (Unix time) with {} documents; {} data keys readable",
                    r.manifest.taken_at, r.documents, r.readable
                );
                if r.unreadable > 0 {
                    println!(
                        "{} data keys cannot be unwrapped with the configured master keys: \
                         their data was written under a retired key and stays unreadable",
                        r.unreadable
                    );
                }
                Ok(())
            })
        }
        Command::Migrate => {
            let loaded = load_config(cli.config)?;
            init_logging(&loaded)?;
            runtime()?.block_on(async {
                let db = mooring_server::app::migrate(&loaded.config).await?;
                println!("migrations applied to {db}");
                Ok(())
            })
        }
        Command::Serve => {
            let loaded = load_config(cli.config)?;
            init_logging(&loaded)?;
            runtime()?.block_on(serve(loaded.config))
        }
        Command::Bench(cmd) => runtime()?.block_on(bench::run(cmd)),
        Command::Wallet(cmd) => runtime()?.block_on(wallet::run(cmd)),
        Command::Send(args) => runtime()?.block_on(send::run(*args)),
        Command::Admin(args) => {
            let loaded = load_config(cli.config)?;
            runtime()?.block_on(admin::run(&loaded.config, args))
        }
    }
}

fn load_config(path: Option<PathBuf>) -> Result<Loaded> {
    let (path, required) = match path {
        Some(p) => (p, true),
        None => (PathBuf::from("mooring.toml"), false),
    };
    Ok(Config::load(&path, required)?)
}

fn init_logging(loaded: &Loaded) -> Result<()> {
    telemetry::init_logging(&loaded.config.log_level, loaded.config.log_format)
        .map_err(anyhow::Error::msg)?;
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

async fn serve(config: Config) -> Result<()> {
    let network = config.stellar.network_passphrase.clone();
    let server = Server::build(config, ServerOptions::default()).await?;
    let public = server.public_url().to_owned();
    for w in &server.report.warnings {
        tracing::warn!("{w}");
    }
    // Before the banner: whoever reads it may stop the server at once.
    let shutdown = mooring_server::shutdown_signal();
    println!(
        "Mooring {} listening on http://{}",
        env!("CARGO_PKG_VERSION"),
        server.local_addr()
    );
    if let Some(path) = &server.report.generated_keys {
        println!(
            "Generated new secrets in {} (mode 0600). Back this file up: it holds the keys that decrypt stored data.",
            path.display()
        );
    }
    // The `database` line ends the banner (tests wait for it).
    println!("  stellar.toml  {public}/.well-known/stellar.toml");
    println!("  SEP-10 auth   {public}/auth");
    println!("  SEP-12 KYC    {public}/customer");
    if server.sep30_enabled() {
        println!("  SEP-30        {public}/accounts");
        println!("  sign-in       {public}/authorize");
    }
    println!("  JWKS          {public}/.well-known/jwks.json");
    println!("  health        {public}/health");
    println!("  OpenAPI       {public}/openapi.json");
    if let Some(m) = server.metrics_addr() {
        println!("  metrics       http://{m}/metrics");
    }
    if let Some(a) = server.admin_addr() {
        println!(
            "  admin API     http://{a}/admin (token in the keys file or secrets.admin_token)"
        );
        println!("  console       http://{a}/admin/ (sign in with the same token)");
        println!("  admin OpenAPI http://{a}/admin/openapi.json");
    }
    println!("  signing key   {}", server.signing_key());
    println!("  network       {network}");
    println!("  database      {}", server.report.database);
    server.run(shutdown).await?;
    Ok(())
}
