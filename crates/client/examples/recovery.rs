//! SEP-30 recovery on a new device: sign in on the server (URL and code
//! shown, polled until authorized), read the account, have the server sign.
//! (`mooring wallet recovery recover` does it with every server, builds the
//! transaction and submits it.)
//!
//! `cargo run -p mooring-client --example recovery -- https://recovery.example G… <transaction XDR>`

use std::time::Duration;

use mooring_client::sep30::{RecoveryServer, SignIn, SignInState};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, address, transaction] = args.as_slice() else {
        return Err("usage: recovery <server URL> <account G…> <transaction XDR>".into());
    };
    let base = url::Url::parse(base)?;
    let http = reqwest::Client::new();

    let sign_in = SignIn::new(http.clone(), base.clone());
    let request = sign_in.start().await?;
    match &request.user_code {
        Some(code) => println!("open {} and check it shows {code}", request.url),
        None => println!("open {}", request.url),
    }
    let token = loop {
        match sign_in.poll(&request).await? {
            SignInState::Authorized(token) => break token,
            SignInState::Pending => tokio::time::sleep(Duration::from_secs(2)).await,
        }
    };

    let server = RecoveryServer::new(http, base, token);
    let account = server.account(address).await?;
    let signer = &account.signers.first().ok_or("no signing key")?.key;
    let signed = server.sign(address, signer, transaction).await?;
    println!(
        "{signer} signed for {:?}: {}",
        signed.network_passphrase, signed.signature
    );
    Ok(())
}
