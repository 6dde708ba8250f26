//! SEP-30 registration: with a SEP-10 token for the account, register it
//! and the identity that may recover it, and read back the server's key.
//! (`mooring wallet recovery enroll` does it with every server and sets
//! the account's signers.)
//!
//! `MOORING_WALLET_SECRET=S… cargo run -p mooring-client --example enroll -- https://recovery.example person@example.com`

use mooring_client::sep10::WebAuth;
use mooring_client::sep30::{Identity, RecoveryServer};
use mooring_stellar::Keypair;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, email] = args.as_slice() else {
        return Err("usage: enroll <server URL> <email>".into());
    };
    let base = url::Url::parse(base)?;
    let key = Keypair::from_secret_seed(&std::env::var("MOORING_WALLET_SECRET")?)?;
    let http = reqwest::Client::new();
    let token = WebAuth::discover(http.clone(), &base)
        .await?
        .login_as(&key, None)
        .await?;
    let server = RecoveryServer::new(http, base, token);
    let address = key.public_key().to_string();
    let account = server
        .register(&address, &[Identity::owner(&[("email", email)])])
        .await?;
    println!(
        "registered; the server signs with {}",
        account.signers[0].key
    );
    let again = server.account(&address).await?;
    println!("identities {:?}", again.identities);
    Ok(())
}
