//! The sender and the receiver of `mooring send`: what there is to give
//! the receiving anchor (a party file, or the wallet's encrypted profile),
//! and what it already holds from us, so that only what it asks for — and,
//! when it asks again, only what changed — is sent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use mooring_client::sep12::{KycServer, Who};
use secrecy::SecretString;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::wallet::kyc::{DocSource, sealed_documents, send_asked, still_needed};
use crate::wallet::profile::{Profile, Store, passphrase};

/// A party file.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PartyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    memo: Option<u64>,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    #[serde(default)]
    documents: BTreeMap<String, PathBuf>,
}

/// Where a party's information is read from (again, when the anchor asks
/// for an update).
enum Source {
    File(PathBuf),
    Profile(PathBuf, SecretString),
}

/// What a source holds now.
struct Read {
    kind: Option<String>,
    memo: Option<u64>,
    fields: BTreeMap<String, String>,
    files: BTreeMap<String, PathBuf>,
    sealed: Option<(Store, Profile)>,
}

impl Source {
    fn read(&self) -> Result<Read> {
        match self {
            Source::File(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let file: PartyFile = toml::from_str(&text)
                    .with_context(|| format!("{} is not a party file", path.display()))?;
                let dir = path.parent().unwrap_or(Path::new("."));
                Ok(Read {
                    kind: file.kind,
                    memo: file.memo,
                    fields: file.fields,
                    files: file
                        .documents
                        .into_iter()
                        .map(|(k, p)| (k, dir.join(p)))
                        .collect(),
                    sealed: None,
                })
            }
            Source::Profile(path, pass) => {
                let (store, profile) = Store::open(path, pass)?;
                Ok(Read {
                    kind: None,
                    memo: None,
                    fields: profile.fields.clone(),
                    files: BTreeMap::new(),
                    sealed: Some((store, profile)),
                })
            }
        }
    }

    fn name(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Profile(..) => "the profile (mooring wallet kyc edit)".into(),
        }
    }
}

/// The sender or the receiver.
pub struct Party {
    /// `sender` or `receiver`.
    pub role: &'static str,
    /// The SEP-12 type.
    pub kind: Option<String>,
    memo: u64,
    source: Source,
    now: Read,
    /// The customer's id, once the anchor gave one.
    pub id: Option<String>,
    /// What the anchor holds from this run: a field's value, a document's
    /// fingerprint.
    sent: BTreeMap<String, String>,
}

/// The outcome of [`Party::register`].
pub struct Registered {
    /// What was sent and the status, for people.
    pub line: String,
    /// The customer's status.
    pub status: String,
    /// What the anchor still asks for, for people.
    pub needed: String,
}

impl Party {
    /// A party from a party file; `scope` (the receiving anchor and the
    /// sending account) keys a memo derived from its fields.
    pub fn from_file(role: &'static str, path: &Path, scope: &str) -> Result<Party> {
        Party::new(role, Source::File(path.to_owned()), scope)
    }

    /// The party the wallet's encrypted profile describes.
    pub fn from_profile(role: &'static str, path: &Path, scope: &str) -> Result<Party> {
        if !path.exists() {
            bail!(
                "no profile at {}: create it with `mooring wallet kyc edit`",
                path.display()
            );
        }
        Party::new(
            role,
            Source::Profile(path.to_owned(), passphrase(false)?),
            scope,
        )
    }

    fn new(role: &'static str, source: Source, scope: &str) -> Result<Party> {
        let now = source.read()?;
        Ok(Party {
            role,
            kind: now.kind.clone(),
            // The customer's memo with the anchor when none is given: the
            // same person (the same fields) is the same customer on every
            // send to this anchor from this account, and a different
            // number at every other (no identifier shared across anchors).
            // Fixed for the run, whatever is edited later; a party file's
            // `memo` keeps one customer across edits.
            memo: now.memo.unwrap_or_else(|| memo_of(scope, &now.fields)),
            source,
            now,
            id: None,
            sent: BTreeMap::new(),
        })
    }

    /// Reads the source again (the anchor asked for an update); the
    /// customer's type, memo and id stay.
    pub fn reload(&mut self) -> Result<()> {
        // The profile open now holds its lock: let it go first.
        self.now.sealed = None;
        self.now = self.source.read()?;
        Ok(())
    }

    /// Where the party's information is, for people.
    pub fn source(&self) -> String {
        self.source.name()
    }

    fn documents(&self) -> BTreeMap<String, (DocSource<'_>, String)> {
        let mut docs: BTreeMap<String, (DocSource<'_>, String)> = match &self.now.sealed {
            Some((store, profile)) => sealed_documents(store, profile)
                .into_iter()
                .map(|(k, d)| {
                    let print = profile.documents[&k].file.clone();
                    (k, (d, print))
                })
                .collect(),
            None => BTreeMap::new(),
        };
        for (k, p) in &self.now.files {
            // A file's fingerprint: its length and modification time.
            let print = std::fs::metadata(p)
                .map(|m| format!("{}:{:?}", m.len(), m.modified().ok()))
                .unwrap_or_default();
            docs.insert(k.clone(), (DocSource::File(p.clone()), print));
        }
        docs
    }

    fn who(&self, transaction_id: Option<&str>) -> Who {
        Who {
            id: self.id.clone(),
            kind: self.kind.clone(),
            memo: Some(self.memo.to_string()),
            transaction_id: transaction_id.map(str::to_owned),
        }
    }

    /// Gives the anchor what it asks for that it does not already hold
    /// from us (SEP-12 §Customer GET: `fields` still needed; a REJECTED
    /// provided field is asked again); then reads the customer's status.
    pub async fn register(
        &mut self,
        kyc: &KycServer,
        transaction_id: Option<&str>,
    ) -> Result<Registered> {
        let asked = kyc.customer(&self.who(transaction_id)).await?;
        // What we hold now: each field's value, each document's fingerprint.
        let all_docs = self.documents();
        let mut current = self.now.fields.clone();
        current.extend(
            all_docs
                .iter()
                .map(|(k, (_, print))| (k.clone(), print.clone())),
        );
        let changed = |k: &String| self.sent.get(k) != current.get(k);
        let fields: BTreeMap<String, String> = self
            .now
            .fields
            .iter()
            .filter(|(k, _)| changed(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let docs: BTreeMap<String, DocSource<'_>> = all_docs
            .into_iter()
            .filter(|(k, _)| changed(k))
            .map(|(k, (source, _))| (k, source))
            .collect();
        // Asked for again, and what we hold is what the anchor already has
        // (or we hold nothing): re-sending would answer nothing.
        let stale: Vec<String> = self
            .sent
            .keys()
            .filter(|k| asked.asks_for(k) && (!changed(k) || !current.contains_key(*k)))
            .cloned()
            .collect();
        let sent = send_asked(kyc, &self.who(None), &asked, &fields, &docs).await?;
        drop(docs);
        let sent = match sent {
            Some((id, names)) => {
                self.id = Some(id);
                for k in &names {
                    let value = current.get(k).cloned().unwrap_or_default();
                    self.sent.insert(k.clone(), value);
                }
                format!("sent {}", names.join(", "))
            }
            None if !stale.is_empty() => format!(
                "the anchor asks again for {}: correct it in {}; waiting",
                stale.join(", "),
                self.source()
            ),
            None => "sent nothing new".into(),
        };
        let now = kyc.customer(&self.who(transaction_id)).await?;
        self.id = now.id.clone().or(self.id.take());
        let needed = still_needed(&now);
        let line = format!(
            "{} ({}): {sent}; status {}{}",
            self.role,
            self.kind.as_deref().unwrap_or("no type"),
            now.status,
            match now.status.as_str() {
                "ACCEPTED" | "PROCESSING" => String::new(),
                _ => format!("; still needed: {needed}"),
            }
        );
        Ok(Registered {
            line,
            status: now.status,
            needed,
        })
    }
}

/// A memo from the scope and the fields: SHA-256 of them, 63 bits.
fn memo_of(scope: &str, fields: &BTreeMap<String, String>) -> u64 {
    let mut h = Sha256::new();
    h.update(b"mooring-send-party:v2");
    h.update(scope.as_bytes());
    h.update([0]);
    for (k, v) in fields {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) >> 1
}
