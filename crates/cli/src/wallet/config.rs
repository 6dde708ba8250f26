//! The client commands' configuration: `~/.config/mooring/wallet.toml`
//! (or `$XDG_CONFIG_HOME/mooring/wallet.toml`, or `--wallet-config`),
//! overridden by flags. Every setting has a default; the file is optional.
//!
//! ```toml
//! network = "testnet"              # a [networks.*] entry
//! key_file = "wallet.key"          # the wallet's S… seed; relative to this file
//! profile = "profile.json"         # the encrypted KYC profile
//!
//! [networks.testnet]               # built in, as is `public`
//! passphrase = "Test SDF Network ; September 2015"
//! horizon_url = "https://horizon-testnet.stellar.org"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use mooring_client::horizon::Horizon;
use mooring_stellar::{Keypair, Network};
use reqwest::Url;
use serde::Deserialize;

/// Flags every client command takes.
#[derive(Args, Debug, Clone)]
pub struct ClientOpts {
    /// The client configuration file. Default:
    /// $XDG_CONFIG_HOME/mooring/wallet.toml or ~/.config/mooring/wallet.toml.
    #[arg(long, env = "MOORING_WALLET_CONFIG", value_name = "FILE")]
    pub wallet_config: Option<PathBuf>,
    /// The network: `testnet`, `public`, or another [networks.*] of the
    /// configuration. Default: the configuration's `network`, else testnet.
    #[arg(long)]
    pub network: Option<String>,
    /// Horizon for the network. Default: the network's `horizon_url`.
    #[arg(long, value_name = "URL")]
    pub horizon_url: Option<Url>,
    /// A file holding the wallet's (or sending anchor's) S… secret seed.
    /// Default: the configuration's `key_file`, else the
    /// MOORING_WALLET_SECRET environment variable. Never the command line.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    network: Option<String>,
    key_file: Option<PathBuf>,
    profile: Option<PathBuf>,
    #[serde(default)]
    networks: BTreeMap<String, NetworkEntry>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct NetworkEntry {
    passphrase: String,
    horizon_url: Url,
}

/// The settings in force.
#[derive(Debug)]
pub struct ClientConfig {
    /// The network transactions are built and signed for.
    pub network: Network,
    /// Its Horizon.
    pub horizon: Url,
    /// Where the wallet's key is, if a file.
    pub key_file: Option<PathBuf>,
    /// The encrypted KYC profile.
    pub profile: PathBuf,
}

fn built_in(name: &str) -> Option<NetworkEntry> {
    let (passphrase, horizon) = match name {
        "testnet" => (
            "Test SDF Network ; September 2015",
            "https://horizon-testnet.stellar.org",
        ),
        "public" => (
            "Public Global Stellar Network ; September 2015",
            "https://horizon.stellar.org",
        ),
        _ => return None,
    };
    Some(NetworkEntry {
        passphrase: passphrase.into(),
        horizon_url: Url::parse(horizon).expect("a valid URL"),
    })
}

/// The default folder of the client's files.
fn config_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("mooring"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/mooring"))
}

impl ClientOpts {
    /// Reads the configuration file (if any) under the flags.
    pub fn load(&self) -> Result<ClientConfig> {
        let path = match &self.wallet_config {
            Some(p) => Some(p.clone()),
            None => config_dir().map(|d| d.join("wallet.toml")),
        };
        let (file, dir) = match &path {
            Some(p) if p.exists() => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?;
                let file: File =
                    toml::from_str(&text).with_context(|| format!("{} is invalid", p.display()))?;
                (file, p.parent().map(Path::to_path_buf))
            }
            Some(p) if self.wallet_config.is_some() => {
                bail!("{} does not exist", p.display())
            }
            _ => (File::default(), config_dir()),
        };
        let relative = |p: PathBuf| match (&dir, p.is_absolute()) {
            (Some(d), false) => d.join(p),
            _ => p,
        };
        let name = self
            .network
            .clone()
            .or(file.network)
            .unwrap_or_else(|| "testnet".into());
        let entry = file
            .networks
            .get(&name)
            .cloned()
            .or_else(|| built_in(&name))
            .with_context(|| {
                format!("no network {name:?}: use testnet, public, or add [networks.{name}] to the configuration")
            })?;
        let profile = match file.profile {
            Some(p) => relative(p),
            None => dir
                .clone()
                .context("no home folder: set profile in the configuration")?
                .join("profile.json"),
        };
        Ok(ClientConfig {
            network: Network::new(entry.passphrase),
            horizon: self.horizon_url.clone().unwrap_or(entry.horizon_url),
            key_file: self.key_file.clone().or(file.key_file.map(relative)),
            profile,
        })
    }
}

impl ClientConfig {
    /// The wallet's key.
    pub fn key(&self) -> Result<Keypair> {
        super::load_key(self.key_file.as_deref())
    }

    /// Horizon must serve the network transactions are signed for; else
    /// every signature would be refused as if it were wrong.
    pub async fn check_network(&self, horizon: &Horizon) -> Result<()> {
        let served = horizon
            .network_passphrase()
            .await
            .with_context(|| format!("cannot ask Horizon at {} for its network", self.horizon))?;
        if served != self.network.passphrase() {
            bail!(
                "Horizon at {} serves {served:?}, not {:?}: pick its --network or another --horizon-url",
                self.horizon,
                self.network.passphrase()
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(file: &Path) -> ClientOpts {
        ClientOpts {
            wallet_config: Some(file.to_owned()),
            network: None,
            horizon_url: None,
            key_file: None,
        }
    }

    #[test]
    fn the_file_names_the_network_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.toml");
        std::fs::write(
            &path,
            "network = \"local\"\nkey_file = \"k\"\n[networks.local]\npassphrase = \"Standalone Network ; February 2017\"\nhorizon_url = \"http://127.0.0.1:8000\"\n",
        )
        .unwrap();
        let c = opts(&path).load().unwrap();
        assert_eq!(c.network.passphrase(), "Standalone Network ; February 2017");
        assert_eq!(c.horizon.as_str(), "http://127.0.0.1:8000/");
        assert_eq!(c.key_file, Some(dir.path().join("k")));
        assert_eq!(c.profile, dir.path().join("profile.json"));

        let mut o = opts(&path);
        o.network = Some("public".into());
        o.horizon_url = Some(Url::parse("http://127.0.0.1:9/").unwrap());
        let c = o.load().unwrap();
        assert_eq!(
            c.network.passphrase(),
            "Public Global Stellar Network ; September 2015"
        );
        assert_eq!(c.horizon.as_str(), "http://127.0.0.1:9/");

        let mut o = opts(&path);
        o.network = Some("nowhere".into());
        assert!(o.load().is_err());
    }

    #[test]
    fn a_named_file_must_exist_and_unknown_settings_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(opts(&dir.path().join("missing.toml")).load().is_err());
        let path = dir.path().join("wallet.toml");
        std::fs::write(&path, "netwrok = \"testnet\"\n").unwrap();
        assert!(opts(&path).load().is_err());
    }
}
