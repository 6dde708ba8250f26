//! SEP-12: give an anchor only the fields it asks for, then read the status.
//!
//! `MOORING_WALLET_SECRET=S… cargo run -p mooring-client --example kyc -- https://anchor.example [type]`

use std::collections::BTreeMap;

use mooring_client::sep10::WebAuth;
use mooring_client::sep12::{KycServer, Who};
use mooring_stellar::Keypair;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let home = url::Url::parse(&args.next().ok_or("usage: kyc <anchor URL> [type]")?)?;
    let kind = args.next();
    let key = Keypair::from_secret_seed(&std::env::var("MOORING_WALLET_SECRET")?)?;
    let http = reqwest::Client::new();
    let token = WebAuth::discover(http.clone(), &home)
        .await?
        .login_as(&key, None)
        .await?;

    // What the person entered once; each anchor gets what it asks for.
    let profile: BTreeMap<String, String> = [
        ("first_name", "Ana"),
        ("last_name", "Silva"),
        ("email_address", "ana@example.com"),
        ("birth_date", "1990-04-01"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();

    let kyc = KycServer::discover(http, &home, token).await?;
    let mut who = Who {
        kind,
        ..Who::default()
    };
    let asked = kyc.customer(&who).await?;
    println!("the anchor asks for {:?}", asked.fields.keys());
    println!("the profile lacks {:?}", asked.missing(&profile));
    who.id = Some(kyc.put(&who, &asked.wanted(&profile)).await?);
    // Poll at the pace you choose; the library never sleeps.
    let now = kyc.customer(&who).await?;
    println!("status {}", now.status);
    Ok(())
}
