//! `mooring send`: a sending anchor's whole SEP-31 flow (../seeds/002),
//! against any receiving anchor that follows the SEPs:
//!
//! 1. discovery (SEP-1) and login (SEP-10) with the sending anchor's key;
//! 2. `GET /info` (SEP-31): the asset's SEP-12 types, quotes, funding;
//! 3. SEP-12 for the sender and the receiver: each only the fields the
//!    receiving anchor asks for, documents streamed;
//! 4. a SEP-38 firm quote where offered (or an indicative price, or none);
//! 5. `POST /transactions` (SEP-31);
//! 6. the Stellar payment to the account and memo the receiver named,
//!    signed and submitted to Horizon — or printed, unsigned, for signing
//!    elsewhere;
//! 7. the transaction followed to a final status, answering
//!    `pending_customer_info_update` from the same sender and receiver.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::{Args, ValueEnum};
use mooring_client::ClientError;
use mooring_client::horizon::Horizon;
use mooring_client::sep12::KycServer;
use mooring_client::sep31::{NewTransaction, PayTo, PaymentServer, Transaction};
use mooring_client::sep38::{PriceRequest, QuoteServer};
use mooring_client::unix_now;
use mooring_stellar::xdr::Memo;
use mooring_stellar::{Amount, Keypair, PublicKey, envelope, tx};
use serde_json::Value;

use crate::wallet::config::{ClientConfig, ClientOpts};
use crate::wallet::kyc::login;
use crate::wallet::term::{Status, clean, human};
use crate::wallet::{GaveUp, anchor_url, http_client};

mod party;

use party::Party;

/// Which SEP-38 price to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum QuoteKind {
    /// A firm quote when the anchor offers quotes (the default).
    Firm,
    /// Show an indicative price; send without a quote.
    Indicative,
    /// No SEP-38 at all.
    None,
}

/// `mooring send`.
#[derive(Args)]
pub struct SendArgs {
    #[command(flatten)]
    client: ClientOpts,
    /// The receiving anchor: its home domain, or an http(s):// URL.
    #[arg(long)]
    to: String,
    /// The amount to send, in the asset, at most 7 decimals.
    #[arg(long)]
    amount: Amount,
    /// The asset sent: CODE:ISSUER, or CODE when the anchor's stellar.toml
    /// lists one issuer for it.
    #[arg(long)]
    asset: String,
    /// The sender: `profile` (the wallet's encrypted KYC profile) or a
    /// party file (TOML: `[fields]`, `[documents]`, optional `type`, `memo`).
    #[arg(long, value_name = "profile|FILE")]
    sender: String,
    /// The receiver: a party file.
    #[arg(long, value_name = "FILE")]
    receiver: PathBuf,
    /// SEP-38: a firm quote where offered, an indicative price, or none.
    #[arg(long, value_enum, default_value_t = QuoteKind::Firm)]
    quote: QuoteKind,
    /// What the receiver gets, when not the asset sent (SEP-38 asset name,
    /// e.g. iso4217:BRL); needed for a quote.
    #[arg(long, value_name = "ASSET")]
    destination_asset: Option<String>,
    /// How the receiver is paid out. Default: the asset's first.
    #[arg(long)]
    funding_method: Option<String>,
    /// The account that pays. Default: the key's own.
    #[arg(long, value_name = "G…")]
    from: Option<PublicKey>,
    /// Submit the payment to Horizon (the default).
    #[arg(long)]
    submit: bool,
    /// Print the payment (base64 XDR, unsigned) for signing elsewhere, then
    /// follow the transaction.
    #[arg(long, conflicts_with = "submit")]
    print_xdr: bool,
    /// Seconds between status checks.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    poll_secs: u64,
    /// Give up following after this many seconds (exit code 2).
    #[arg(long, value_name = "SECS")]
    max_wait: Option<u64>,
}

/// The asset code and issuer: given, or the receiving anchor's only
/// `[[CURRENCIES]]` entry of that code.
fn asset_of(
    given: &str,
    toml: &mooring_stellar::stellar_toml::StellarToml,
) -> Result<(String, PublicKey)> {
    if let Some((code, issuer)) = given.split_once(':') {
        let issuer =
            PublicKey::parse(issuer).with_context(|| format!("{issuer:?} is not a G… key"))?;
        return Ok((code.to_owned(), issuer));
    }
    let issuers: Vec<&str> = toml
        .currencies
        .iter()
        .filter(|c| c.code.as_deref() == Some(given))
        .filter_map(|c| c.issuer.as_deref())
        .collect();
    match issuers.as_slice() {
        [one] => Ok((
            given.to_owned(),
            PublicKey::parse(one).context("the anchor's issuer is not a G… key")?,
        )),
        [] => bail!("the anchor lists no issuer for {given}: give --asset {given}:ISSUER"),
        _ => bail!("the anchor lists several issuers for {given}: give --asset {given}:ISSUER"),
    }
}

/// The SEP-12 type `info` names for `role` when it names one; several
/// must be chosen between in the party file (`type = …`).
fn only_type(asset: &Value, role: &str, source: &str) -> Result<Option<String>> {
    let types: Vec<&String> = asset["sep12"][role]["types"]
        .as_object()
        .map(|t| t.keys().collect())
        .unwrap_or_default();
    match types.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        many => {
            let names: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
            bail!(
                "the anchor knows several {role} types ({}): name one with `type = …` in {source}",
                names.join(", ")
            )
        }
    }
}

/// Runs `mooring send`.
pub async fn run(args: SendArgs) -> Result<()> {
    let cfg = args.client.load()?;
    let key = cfg.key()?;
    let base = anchor_url(&args.to)?;
    let http = http_client()?;
    let mut out = Status::new();
    let name = args.to.as_str();

    // 1. Discovery and login.
    let toml = mooring_client::discovery::stellar_toml(&http, &base)
        .await
        .with_context(|| format!("cannot read {name}'s stellar.toml"))?;
    let (code, issuer) = asset_of(&args.asset, &toml)?;
    let token = login(&http, &base, &key, None)
        .await
        .with_context(|| format!("cannot log in to {name}"))?;
    out.line(&format!(
        "[1/7] logged in to {name} as {} (SEP-10)",
        key.public_key()
    ));

    // 2. What the anchor receives.
    let payments = PaymentServer::discover(http.clone(), &base, token.clone()).await?;
    let info = payments.info().await?;
    let asset = &info["receive"][code.as_str()];
    if !asset.is_object() {
        bail!("{name} does not receive {code} (SEP-31 /info)");
    }
    let scope = format!("{base}\n{}", key.public_key());
    let mut sender = match args.sender.as_str() {
        "profile" => Party::from_profile("sender", &cfg.profile, &scope)?,
        file => Party::from_file("sender", Path::new(file), &scope)?,
    };
    let mut receiver = Party::from_file("receiver", &args.receiver, &scope)?;
    for party in [&mut sender, &mut receiver] {
        if party.kind.is_none() {
            party.kind = only_type(asset, party.role, &party.source())?;
        }
    }
    let quotes_supported = asset["quotes_supported"].as_bool().unwrap_or(false);
    let quotes_required = asset["quotes_required"].as_bool().unwrap_or(false);
    let funding_method = args
        .funding_method
        .clone()
        .or_else(|| asset["funding_methods"][0].as_str().map(str::to_owned));
    out.line(&format!(
        "[2/7] {name} receives {code}: sender type {}, receiver type {}, quotes {}",
        sender.kind.as_deref().unwrap_or("none"),
        receiver.kind.as_deref().unwrap_or("none"),
        match (quotes_supported, quotes_required) {
            (_, true) => "required",
            (true, false) => "offered",
            _ => "not offered",
        }
    ));

    // 3. SEP-12 for both parties.
    let kyc = KycServer::discover(http.clone(), &base, token.clone()).await?;
    for party in [&mut sender, &mut receiver] {
        let r = party.register(&kyc, None).await?;
        out.line(&format!("[3/7] {}", r.line));
        match r.status.as_str() {
            "ACCEPTED" | "PROCESSING" => {}
            "REJECTED" => bail!("{name} rejected the {}", party.role),
            _ => bail!(
                "{name} needs more about the {} ({}) before a transaction (SEP-12): add {} to {} and send again",
                party.role,
                party.kind.as_deref().unwrap_or("no type"),
                r.needed,
                party.source()
            ),
        }
    }

    // 4. SEP-38.
    let sell_asset = format!("stellar:{code}:{issuer}");
    let mut quote_id = None;
    let use_quote = quotes_supported && args.quote != QuoteKind::None;
    if quotes_required && args.quote != QuoteKind::Firm {
        bail!("{name} requires a firm quote for {code}: use --quote firm");
    }
    match (use_quote, &args.destination_asset) {
        (true, Some(buy)) => {
            let quotes = QuoteServer::discover(http.clone(), &base, Some(token.clone())).await?;
            let request = PriceRequest {
                sell_asset: sell_asset.clone(),
                buy_asset: buy.clone(),
                sell_amount: Some(args.amount.to_string()),
                context: Some("sep31".into()),
                ..PriceRequest::default()
            };
            match args.quote {
                QuoteKind::Firm => {
                    let q = quotes.quote(&request).await?;
                    out.line(&format!(
                        "[4/7] firm quote {}: {} {} buys {} {} (price {}, fee {} {}), until {}",
                        q.id,
                        q.sell_amount,
                        q.sell_asset,
                        q.buy_amount,
                        q.buy_asset,
                        q.price,
                        q.fee.total,
                        q.fee.asset,
                        q.expires_at
                    ));
                    quote_id = Some(q.id);
                }
                _ => {
                    let p = quotes.price(&request).await?;
                    out.line(&format!(
                        "[4/7] indicative price: {} buys {} {buy} (price {}, fee {} {}); no quote taken",
                        p.sell_amount, p.buy_amount, p.price, p.fee.total, p.fee.asset
                    ));
                }
            }
        }
        (true, None) if quotes_required => {
            bail!("{name} requires a quote: give --destination-asset (e.g. iso4217:BRL)")
        }
        (true, None) => out.line(&format!(
            "[4/7] no quote: {name} offers quotes, but without --destination-asset there is nothing to quote"
        )),
        _ => out.line("[4/7] no quote"),
    }

    // 5. The transaction.
    let new = NewTransaction {
        amount: args.amount.to_string(),
        asset_code: code.clone(),
        asset_issuer: Some(issuer.to_string()),
        funding_method,
        destination_asset: args.destination_asset.clone(),
        quote_id,
        sender_id: sender.id.clone(),
        receiver_id: receiver.id.clone(),
        ..NewTransaction::default()
    };
    let created = match payments.create(&new).await {
        Err(e) => match e.customer_info_needed() {
            Some(t) => bail!(
                "{name} needs more about the customer of type {t} (SEP-12); add the fields it asks for and send again"
            ),
            None => return Err(e.into()),
        },
        Ok(c) => c,
    };
    let id = created.id.clone();
    // SEP-31 v2: the account and memo may come only with pending_sender.
    let pay_to = match created.pay_to() {
        Some(p) => p,
        None => wait_for_pay_to(&args, &payments, &id, &mut out)
            .await
            .with_context(|| format!("SEP-31 transaction {id}"))?,
    };
    let memo_text = pay_to
        .memo
        .as_ref()
        .map_or("no memo".into(), |(t, m)| format!("{t} memo {m}"));
    out.line(&format!(
        "[5/7] transaction {id}: pay {} {code} to {} with {memo_text}",
        args.amount, pay_to.account
    ));

    // 6. The payment. From here on every error names the transaction: the
    // money may be on its way.
    let paid = pay(&args, &cfg, &key, &pay_to, (&code, &issuer), &mut out)
        .await
        .with_context(|| format!("SEP-31 transaction {id} was created"))?;
    if let Some(hash) = paid {
        out.line(&format!("[6/7] paid: Stellar transaction {hash}"));
    }

    // 7. Follow it.
    follow(
        &args,
        &payments,
        &kyc,
        &id,
        [&mut sender, &mut receiver],
        &mut out,
    )
    .await
    .with_context(|| format!("SEP-31 transaction {id}"))
}

/// Polls until the anchor names the account and memo to pay.
async fn wait_for_pay_to(
    args: &SendArgs,
    payments: &PaymentServer,
    id: &str,
    out: &mut Status,
) -> Result<PayTo> {
    let started = Instant::now();
    loop {
        let t = payments.transaction(id).await?;
        if let Some(p) = t.pay_to() {
            return Ok(p);
        }
        if t.is_final() {
            bail!("it ended {} before naming an account to pay", t.status);
        }
        if args
            .max_wait
            .is_some_and(|s| started.elapsed() >= Duration::from_secs(s))
        {
            return Err(GaveUp(format!(
                "the anchor has named no account to pay yet (status {})",
                t.status
            ))
            .into());
        }
        out.status(&format!(
            "[5/7] {id}: {}; waiting for the account to pay",
            t.status
        ));
        tokio::time::sleep(Duration::from_secs(args.poll_secs.max(1))).await;
    }
}

/// The payment: built, then submitted (its hash) or printed (`None`).
async fn pay(
    args: &SendArgs,
    cfg: &ClientConfig,
    key: &Keypair,
    pay_to: &PayTo,
    (code, issuer): (&str, &PublicKey),
    out: &mut Status,
) -> Result<Option<String>> {
    let destination =
        PublicKey::parse(&pay_to.account).context("the anchor named an account that is not G…")?;
    let from = args.from.unwrap_or(key.public_key());
    let horizon = Horizon::new(http_client()?, cfg.horizon.clone());
    let account = horizon
        .account(&from)
        .await
        .with_context(|| format!("cannot read {from} from Horizon at {}", cfg.horizon))?
        .with_context(|| format!("{from} does not exist on the ledger"))?;
    let sequence = account
        .sequence()
        .context("Horizon's sequence is not a number")?;
    let memo = match &pay_to.memo {
        Some((kind, value)) => tx::memo(kind, value)?,
        None => Memo::None,
    };
    let op = tx::payment(&destination, tx::asset(code, Some(issuer))?, args.amount);
    let t = tx::transaction(&from, sequence + 1, memo, vec![op], unix_now(), 600)?;
    if args.print_xdr {
        out.line("[6/7] the payment, unsigned, to sign and submit elsewhere:");
        println!("{}", envelope::encode(&envelope::envelope(t, vec![])));
        return Ok(None);
    }
    cfg.check_network(&horizon).await?;
    let hash = hex::encode(envelope::hash(&t, &cfg.network));
    let mut signatures = vec![];
    envelope::sign(&t, &cfg.network, key, &mut signatures);
    let xdr = envelope::encode(&envelope::envelope(t, signatures));
    match horizon.submit(&xdr).await {
        Ok(done) => Ok(Some(done.hash)),
        // A timeout says nothing of the outcome: the payment may land.
        Err(ClientError::Status { status: 504, .. }) | Err(ClientError::Http(_)) => bail!(
            "Horizon did not answer in time: Stellar transaction {hash} may still land; check it before paying again"
        ),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "Horizon refused the payment (Stellar transaction {hash})"
        ))),
    }
}

/// A failure worth trying again: no answer, a 5xx or a 429.
fn transient(e: &ClientError) -> bool {
    match e {
        ClientError::Http(_) => true,
        ClientError::Status { status, .. } => *status >= 500 || *status == 429,
        _ => false,
    }
}

/// Polls the transaction until it is final, printing each status it
/// enters and answering customer-info updates.
async fn follow(
    args: &SendArgs,
    payments: &PaymentServer,
    kyc: &KycServer,
    id: &str,
    mut parties: [&mut Party; 2],
    out: &mut Status,
) -> Result<()> {
    let started = Instant::now();
    let every = Duration::from_secs(args.poll_secs.max(1));
    let deadline = args.max_wait.map(|s| started + Duration::from_secs(s));
    let mut last = String::new();
    let mut said = [String::new(), String::new()];
    loop {
        let t: Transaction = match payments.transaction(id).await {
            Ok(t) => t,
            // The money is on its way: a server or network hiccup is waited
            // out; a refusal (the transaction is not ours, the token is
            // refused) is not.
            Err(e) if transient(&e) => {
                out.line(&format!(
                    "could not read the transaction ({e}); trying again"
                ));
                tokio::time::sleep(every).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if t.status != last {
            last = t.status.clone();
            let why = t
                .status_message
                .as_ref()
                .map(|m| format!(": {}", clean(m)))
                .unwrap_or_default();
            out.line(&format!(
                "status {} (after {}){why}",
                t.status,
                human(started.elapsed())
            ));
            if t.status == "pending_customer_info_update" {
                if let Some(m) = &t.required_info_message {
                    out.line(&format!("the anchor asks: {}", clean(m)));
                }
                said = [String::new(), String::new()];
            }
        }
        // While the anchor waits for an update, the party files (or the
        // profile) are read again on every check, and what changed is sent.
        if t.status == "pending_customer_info_update" {
            for (party, said) in parties.iter_mut().zip(said.iter_mut()) {
                let line = match party.reload() {
                    Ok(()) => match party.register(kyc, Some(id)).await {
                        Ok(r) => r.line,
                        Err(e) => format!("{}: {e:#}; trying again", party.role),
                    },
                    Err(e) => format!("{}: {e:#}", party.role),
                };
                if line != *said {
                    out.line(&format!("update {line}"));
                    *said = line;
                }
            }
        }
        if t.is_final() {
            out.line(&format!("[7/7] {} is {}", t.id, t.status));
            return match t.status.as_str() {
                "completed" => Ok(()),
                other => bail!("the transaction ended {other}"),
            };
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            out.clear();
            return Err(GaveUp(format!(
                "gave up after {}: the transaction is still {}",
                human(started.elapsed()),
                t.status
            ))
            .into());
        }
        out.status(&format!(
            "[7/7] {}: {} for {}",
            t.id,
            t.status,
            human(started.elapsed())
        ));
        tokio::time::sleep(every).await;
    }
}
