//! `mooring wallet kyc`: one KYC profile, entered once and kept encrypted
//! on this machine ([`super::profile`]), given to many anchors — each only
//! the fields its SEP-12 `GET /customer` asks for (SEP-12 §Customer GET:
//! "fields" are what the anchor still needs).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use mooring_client::sep10::WebAuth;
use mooring_client::sep12::{Customer, Document, KycServer, Who};
use mooring_server::sep9;
use mooring_stellar::{IdMemo, Keypair};
use reqwest::Url;

use super::config::{ClientConfig, ClientOpts};
use super::profile::{AnchorRecord, DocumentRef, Profile, Store, passphrase};
use super::{anchor_url, http_client};

/// `mooring wallet kyc …`.
#[derive(Subcommand)]
pub enum KycCommand {
    /// Change the profile: --set, --unset and --document, or with no flags
    /// edit the text fields in $EDITOR. The first edit creates the profile.
    Edit(EditArgs),
    /// Print the profile: fields, documents, and the anchors given them.
    Show(ProfileArgs),
    /// Give an anchor the fields it asks for, and no others; show what it
    /// still needs and the status it reports.
    Push(PushArgs),
    /// The status every anchor the profile was given to reports.
    Status(ProfileArgs),
    /// Have an anchor erase what it holds (SEP-12 DELETE) and forget it.
    Forget(ForgetArgs),
}

/// The profile's options.
#[derive(Args)]
pub struct ProfileArgs {
    #[command(flatten)]
    client: ClientOpts,
    /// The encrypted profile. Default: the configuration's `profile`.
    #[arg(long, env = "MOORING_WALLET_PROFILE", value_name = "FILE")]
    profile: Option<PathBuf>,
}

/// `mooring wallet kyc edit`.
#[derive(Args)]
pub struct EditArgs {
    #[command(flatten)]
    common: ProfileArgs,
    /// A SEP-9 field and its value: `first_name=Ana`. Repeatable.
    #[arg(long, value_name = "FIELD=VALUE")]
    set: Vec<String>,
    /// Removes a field or document. Repeatable.
    #[arg(long, value_name = "FIELD")]
    unset: Vec<String>,
    /// A SEP-9 binary field and the file to keep for it:
    /// `photo_id_front=id.jpg` (JPEG, PNG, PDF, MP4 or WebM). Repeatable.
    #[arg(long, value_name = "FIELD=PATH")]
    document: Vec<String>,
}

/// `mooring wallet kyc push`.
#[derive(Args)]
pub struct PushArgs {
    #[command(flatten)]
    common: ProfileArgs,
    /// The anchor: its home domain, or an http(s):// URL.
    anchor: String,
    /// The SEP-12 customer type the anchor asks about.
    #[arg(long = "type", value_name = "TYPE")]
    kind: Option<String>,
    /// An id memo: the user of a shared account.
    #[arg(long)]
    memo: Option<IdMemo>,
}

/// `mooring wallet kyc forget`.
#[derive(Args)]
pub struct ForgetArgs {
    #[command(flatten)]
    common: ProfileArgs,
    /// The anchor, as it was pushed to.
    anchor: String,
    /// The id memo it was pushed with, if any.
    #[arg(long)]
    memo: Option<IdMemo>,
}

/// The profile's name for the customer at `anchor` (and `memo`, for a
/// user of a shared account): one record each.
fn record_key(anchor: &str, memo: Option<IdMemo>) -> String {
    match memo {
        Some(m) => format!("{anchor} (memo {m})"),
        None => anchor.to_owned(),
    }
}

/// Runs a `kyc` command.
pub async fn run(cmd: KycCommand) -> Result<()> {
    match cmd {
        KycCommand::Edit(a) => edit(a),
        KycCommand::Show(a) => show(&a),
        KycCommand::Push(a) => push(a).await,
        KycCommand::Status(a) => status(&a).await,
        KycCommand::Forget(a) => forget(a).await,
    }
}

impl ProfileArgs {
    fn config(&self) -> Result<(ClientConfig, PathBuf)> {
        let cfg = self.client.load()?;
        let path = self.profile.clone().unwrap_or_else(|| cfg.profile.clone());
        Ok((cfg, path))
    }

    /// Opens the profile, which must exist.
    fn open(&self) -> Result<(ClientConfig, Store, Profile)> {
        let (cfg, path) = self.config()?;
        if !path.exists() {
            bail!(
                "no profile at {}: create it with `mooring wallet kyc edit`",
                path.display()
            );
        }
        let (store, profile) = Store::open(&path, &passphrase(false)?)?;
        Ok((cfg, store, profile))
    }
}

fn split(pair: &str) -> Result<(&str, &str)> {
    pair.split_once('=')
        .with_context(|| format!("{pair:?}: expected FIELD=VALUE"))
}

/// A SEP-9 field's definition, or an error naming the field.
fn field(name: &str) -> Result<sep9::Field> {
    sep9::lookup(name).with_context(|| format!("{name:?} is not a SEP-9 field"))
}

fn edit(args: EditArgs) -> Result<()> {
    let (_, path) = args.common.config()?;
    let (store, mut profile) = Store::open(&path, &passphrase(!path.exists())?)?;
    let mut changes = BTreeMap::new();
    for pair in &args.set {
        let (name, value) = split(pair)?;
        changes.insert(name.to_owned(), value.to_owned());
    }
    if args.set.is_empty() && args.unset.is_empty() && args.document.is_empty() {
        let edited = in_editor(&store, &profile.fields)?;
        for name in profile.fields.keys() {
            if !edited.contains_key(name) {
                changes.insert(name.clone(), String::new());
            }
        }
        changes.extend(edited);
    }
    for (name, value) in changes {
        let f = field(&name)?;
        if f.is_binary() {
            bail!("{name} is a document: use --document {name}=PATH");
        }
        if value.is_empty() {
            profile.fields.remove(&name);
            continue;
        }
        let value = sep9::validate(&f, &value, false).map_err(|e| anyhow::anyhow!("{e}"))?;
        profile.fields.insert(name, value);
    }
    // Replaced and removed documents are deleted once the profile no
    // longer names them; new ones are deleted if the edit fails.
    let mut replaced = Vec::new();
    let mut added = Vec::new();
    for name in &args.unset {
        profile.fields.remove(name);
        replaced.extend(profile.documents.remove(name));
    }
    let result = (|| {
        for pair in &args.document {
            let (name, file) = split(pair)?;
            if !field(name)?.is_binary() {
                bail!("{name} is not a document field: use --set {name}=VALUE");
            }
            let kind = content_type(Path::new(file))?;
            let doc = store.add_document(Path::new(file), kind)?;
            added.push(doc.clone());
            replaced.extend(profile.documents.insert(name.to_owned(), doc));
        }
        store.save(&profile)
    })();
    if let Err(e) = result {
        added.iter().for_each(|d| store.remove_document(d));
        return Err(e);
    }
    replaced.iter().for_each(|d| store.remove_document(d));
    println!(
        "profile {}: {} fields, {} documents",
        path.display(),
        profile.fields.len(),
        profile.documents.len()
    );
    Ok(())
}

/// The media type of a document, by its first bytes.
fn content_type(path: &Path) -> Result<&'static str> {
    use std::io::Read as _;
    let mut head = [0u8; sep9::SNIFF_LEN];
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let n = file.read(&mut head)?;
    sep9::sniff(&head[..n])
        .map(|f| f.content_type())
        .with_context(|| format!("{} is not a JPEG, PNG, PDF, MP4 or WebM", path.display()))
}

/// The text fields as TOML in $VISUAL or $EDITOR, from a 0600 file in a
/// 0700 folder beside the profile, deleted afterwards with the editor's
/// swap files.
fn in_editor(store: &Store, fields: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>> {
    use std::io::Write as _;
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .context("set $EDITOR, or use --set FIELD=VALUE")?;
    let dir = store.scratch_dir()?;
    let mut tmp = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile_in(dir.path())?;
    writeln!(
        tmp,
        "# SEP-9 fields, one per line (first_name = \"Ana\"); delete a line to remove it."
    )?;
    tmp.write_all(toml::to_string(fields)?.as_bytes())?;
    tmp.flush()?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("editor")
        .arg(tmp.path())
        .status()
        .context("cannot start the editor")?;
    if !status.success() {
        bail!("the editor failed; nothing changed");
    }
    let text = std::fs::read_to_string(tmp.path())?;
    toml::from_str(&text).context("the edited fields are not `name = \"value\"` lines")
}

fn show(args: &ProfileArgs) -> Result<()> {
    let (_, _, profile) = args.open()?;
    println!("fields:");
    for (k, v) in &profile.fields {
        println!("  {k} = {v}");
    }
    println!("documents:");
    for (k, d) in &profile.documents {
        println!(
            "  {k} = {} ({}, {} bytes)",
            d.name, d.content_type, d.length
        );
    }
    println!("given to:");
    for (name, a) in &profile.anchors {
        println!(
            "  {name}: customer {}{}, {}",
            a.id,
            a.kind
                .as_ref()
                .map(|k| format!(" ({k})"))
                .unwrap_or_default(),
            a.sent.join(", ")
        );
    }
    Ok(())
}

/// An anchor's SEP-12 server, logged in with the wallet's key.
async fn kyc_server(cfg: &ClientConfig, anchor: &str, memo: Option<IdMemo>) -> Result<KycServer> {
    let key = cfg.key()?;
    let base = anchor_url(anchor)?;
    let http = http_client()?;
    let token = login(&http, &base, &key, memo)
        .await
        .with_context(|| format!("cannot log in to {anchor}"))?;
    KycServer::discover(http, &base, token)
        .await
        .with_context(|| format!("{anchor} has no SEP-12 server"))
}

/// SEP-10 login at `base` as `key`'s account (and `memo`).
pub async fn login(
    http: &reqwest::Client,
    base: &Url,
    key: &Keypair,
    memo: Option<IdMemo>,
) -> Result<String, mooring_client::ClientError> {
    WebAuth::discover(http.clone(), base)
        .await?
        .login_as(key, memo)
        .await
}

/// Where a document's bytes come from.
pub enum DocSource<'a> {
    /// The encrypted profile.
    Sealed(&'a Store, &'a DocumentRef),
    /// A file as it is.
    File(PathBuf),
}

impl DocSource<'_> {
    /// The document to upload, streamed.
    async fn document(&self, field: &str) -> Result<Document> {
        Ok(match self {
            DocSource::Sealed(store, doc) => Document {
                field: field.to_owned(),
                file_name: doc.name.clone(),
                content_type: doc.content_type.clone(),
                length: doc.length,
                body: store.document_body(doc)?,
            },
            DocSource::File(path) => {
                let file = tokio::fs::File::open(path)
                    .await
                    .with_context(|| format!("cannot read {}", path.display()))?;
                Document {
                    field: field.to_owned(),
                    file_name: path
                        .file_name()
                        .map_or_else(|| "document".into(), |n| n.to_string_lossy().into_owned()),
                    content_type: content_type(path)?.to_owned(),
                    length: file.metadata().await?.len(),
                    body: reqwest::Body::from(file),
                }
            }
        })
    }
}

/// The documents of the profile, by field.
pub fn sealed_documents<'a>(
    store: &'a Store,
    profile: &'a Profile,
) -> BTreeMap<String, DocSource<'a>> {
    profile
        .documents
        .iter()
        .map(|(k, d)| (k.clone(), DocSource::Sealed(store, d)))
        .collect()
}

/// Sends the customer `who` what `asked` asks for of `fields` and
/// `documents`: the text fields, then the documents streamed. The
/// customer's id and the fields sent; nothing is sent (and `None`
/// answered) when nothing asked for is at hand.
pub async fn send_asked(
    kyc: &KycServer,
    who: &Who,
    asked: &Customer,
    fields: &BTreeMap<String, String>,
    documents: &BTreeMap<String, DocSource<'_>>,
) -> Result<Option<(String, Vec<String>)>> {
    let text = asked.wanted(fields);
    let mut docs = Vec::new();
    for (name, source) in documents {
        if asked.asks_for(name) {
            docs.push(source.document(name).await?);
        }
    }
    if text.is_empty() && docs.is_empty() {
        return Ok(None);
    }
    let mut sent: Vec<String> = text.keys().cloned().collect();
    sent.extend(docs.iter().map(|d| d.field.clone()));
    let id = match docs.is_empty() {
        true => kyc.put(who, &text).await?,
        false => kyc.put_documents(who, &text, docs).await?,
    };
    Ok(Some((id, sent)))
}

/// What an anchor still asks for, in a line.
pub fn still_needed(customer: &Customer) -> String {
    let needed: Vec<String> = customer
        .fields
        .iter()
        .map(|(k, f)| match f.optional {
            true => format!("{k} (optional)"),
            false => k.clone(),
        })
        .collect();
    match needed.is_empty() {
        true => "nothing".into(),
        false => needed.join(", "),
    }
}

async fn push(args: PushArgs) -> Result<()> {
    let (cfg, store, mut profile) = args.common.open()?;
    let kyc = kyc_server(&cfg, &args.anchor, args.memo).await?;
    let account = cfg.key()?.public_key().to_string();
    let key = record_key(&args.anchor, args.memo);
    let known = profile.anchors.get(&key).filter(|r| r.account == account);
    let mut who = Who {
        id: known.map(|r| r.id.clone()),
        kind: args.kind.clone(),
        memo: args.memo.map(|m| m.to_string()),
        transaction_id: None,
    };
    let asked = match kyc.customer(&who).await {
        // The anchor no longer knows the id it gave: start afresh.
        Err(mooring_client::ClientError::Status { status: 404, .. }) if who.id.is_some() => {
            who.id = None;
            kyc.customer(&who).await?
        }
        other => other?,
    };
    let name = &key;
    let mut sent_now = Vec::new();
    let documents = sealed_documents(&store, &profile);
    if let Some((id, sent)) = send_asked(&kyc, &who, &asked, &profile.fields, &documents).await? {
        who.id = Some(id);
        sent_now = sent;
    }
    match sent_now.is_empty() {
        true => println!("{name}: sent nothing (the profile has nothing it asks for)"),
        false => println!("{name}: sent {}", sent_now.join(", ")),
    }
    let now = kyc.customer(&who).await?;
    let id = now.id.clone().or(who.id.clone());
    println!("{name}: still needed: {}", still_needed(&now));
    let missing = now.missing(&profile.fields);
    let missing: Vec<&String> = missing
        .iter()
        .filter(|k| !profile.documents.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        println!(
            "{name}: add to the profile: {} (mooring wallet kyc edit)",
            list.join(", ")
        );
    }
    println!(
        "{name}: status {}{}",
        now.status,
        id.as_ref()
            .map(|i| format!(" (customer {i})"))
            .unwrap_or_default()
    );
    if let Some(id) = id {
        let mut sent: BTreeSet<String> = known
            .map(|r| r.sent.clone())
            .unwrap_or_default()
            .into_iter()
            .collect();
        sent.extend(sent_now);
        profile.anchors.insert(
            key.clone(),
            AnchorRecord {
                url: args.anchor.clone(),
                id,
                kind: args.kind.clone(),
                account,
                memo: args.memo.map(|m| m.value()),
                sent: sent.into_iter().collect(),
            },
        );
        store.save(&profile)?;
    }
    Ok(())
}

async fn status(args: &ProfileArgs) -> Result<()> {
    let (cfg, _, profile) = args.open()?;
    if profile.anchors.is_empty() {
        println!("the profile was given to no anchor yet (mooring wallet kyc push)");
        return Ok(());
    }
    let mut failed = 0;
    for (name, record) in &profile.anchors {
        let who = Who {
            id: Some(record.id.clone()),
            kind: record.kind.clone(),
            memo: record.memo.map(|m| m.to_string()),
            transaction_id: None,
        };
        let answer = match kyc_server(&cfg, &record.url, record.memo.map(IdMemo::new)).await {
            Ok(kyc) => kyc.customer(&who).await.map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        match answer {
            Ok(c) => println!(
                "{name}\t{}\tcustomer {}\tstill needed: {}",
                c.status,
                record.id,
                still_needed(&c)
            ),
            Err(e) => {
                failed += 1;
                println!("{name}\tunknown\t{e:#}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} anchor(s) could not be asked");
    }
    Ok(())
}

async fn forget(args: ForgetArgs) -> Result<()> {
    let (cfg, store, mut profile) = args.common.open()?;
    let key = record_key(&args.anchor, args.memo);
    let record = profile
        .anchors
        .get(&key)
        .cloned()
        .with_context(|| format!("the profile was not given to {key}"))?;
    let memo = record.memo.map(IdMemo::new);
    let kyc = kyc_server(&cfg, &record.url, memo).await?;
    let memo = memo.map(|m| m.to_string());
    kyc.delete(&record.account, memo.as_deref()).await?;
    profile.anchors.remove(&key);
    store.save(&profile)?;
    println!("{key}: erased (customer {})", record.id);
    Ok(())
}
