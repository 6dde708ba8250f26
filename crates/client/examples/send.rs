//! SEP-38 and SEP-31 as a sending anchor: a firm quote, the transaction,
//! and its status. (`mooring send` does the whole flow, payment included.)
//!
//! `MOORING_WALLET_SECRET=S… cargo run -p mooring-client --example send -- https://anchor.example USDC:G… 100 iso4217:BRL <sender id> <receiver id>`

use mooring_client::sep10::WebAuth;
use mooring_client::sep31::{NewTransaction, PaymentServer};
use mooring_client::sep38::{PriceRequest, QuoteServer};
use mooring_stellar::Keypair;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [home, asset, amount, buy, sender, receiver] = args.as_slice() else {
        return Err(
            "usage: send <anchor URL> CODE:ISSUER <amount> <buy asset> <sender id> <receiver id>"
                .into(),
        );
    };
    let home = url::Url::parse(home)?;
    let (code, issuer) = asset.split_once(':').ok_or("CODE:ISSUER")?;
    let key = Keypair::from_secret_seed(&std::env::var("MOORING_WALLET_SECRET")?)?;
    let http = reqwest::Client::new();
    let token = WebAuth::discover(http.clone(), &home)
        .await?
        .login_as(&key, None)
        .await?;

    let quotes = QuoteServer::discover(http.clone(), &home, Some(token.clone())).await?;
    let quote = quotes
        .quote(&PriceRequest {
            sell_asset: format!("stellar:{code}:{issuer}"),
            buy_asset: buy.clone(),
            sell_amount: Some(amount.clone()),
            context: Some("sep31".into()),
            ..PriceRequest::default()
        })
        .await?;
    println!(
        "quote {}: {} buys {}",
        quote.id, quote.sell_amount, quote.buy_amount
    );

    let payments = PaymentServer::discover(http, &home, token).await?;
    let created = match payments
        .create(&NewTransaction {
            amount: amount.clone(),
            asset_code: code.to_owned(),
            asset_issuer: Some(issuer.to_owned()),
            quote_id: Some(quote.id),
            destination_asset: Some(buy.clone()),
            sender_id: Some(sender.clone()),
            receiver_id: Some(receiver.clone()),
            ..NewTransaction::default()
        })
        .await
    {
        Ok(c) => c,
        Err(e) => match e.customer_info_needed() {
            Some(kind) => return Err(format!("complete the SEP-12 customer of type {kind}").into()),
            None => return Err(e.into()),
        },
    };
    let t = payments.transaction(&created.id).await?;
    println!("status {} (final: {})", t.status, t.is_final());
    // The account and memo: in the answer, or (SEP-31 v2) once the
    // transaction is pending_sender.
    match created.pay_to().or(t.pay_to()) {
        Some(p) => println!(
            "pay {amount} {code} to {} with memo {:?}",
            p.account, p.memo
        ),
        None => {
            println!("the anchor names the account to pay once the transaction is pending_sender")
        }
    }
    Ok(())
}
