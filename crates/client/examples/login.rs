//! SEP-1 discovery and SEP-10 login.
//!
//! `MOORING_WALLET_SECRET=S… cargo run -p mooring-client --example login -- https://anchor.example [memo]`

use mooring_client::sep10::{LoginOptions, WebAuth};
use mooring_stellar::{ClientAccount, IdMemo, Keypair};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let home = url::Url::parse(&args.next().ok_or("usage: login <anchor URL> [memo]")?)?;
    let memo = args.next().map(|m| IdMemo::parse(&m)).transpose()?;
    let key = Keypair::from_secret_seed(&std::env::var("MOORING_WALLET_SECRET")?)?;

    let http = reqwest::Client::new();
    let toml = mooring_client::discovery::stellar_toml(&http, &home).await?;
    println!("SIGNING_KEY {:?}", toml.signing_key);
    let auth = WebAuth::discover(http, &home).await?;
    let account = ClientAccount::Account(key.public_key());
    let opts = LoginOptions {
        memo,
        client_domain: None,
    };
    // The challenge is checked (server signature, domains, time bounds,
    // operations) before anything is signed.
    let token = auth.login(&account, &[&key], &opts).await?;
    println!("logged in: a token of {} bytes", token.len());
    Ok(())
}
