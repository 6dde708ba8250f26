//! The wallet's KYC profile, encrypted at rest with a passphrase: the SEP-9
//! fields, the documents, and the anchors it was given to.
//!
//! The server's vault format ([`mooring_server::vault`]) with the master
//! key derived from the passphrase by Argon2id (RFC 9106; 64 MiB, 3
//! passes, parameters and salt stored in the file so they can grow):
//!
//! - `profile.json`: `{"format": "mooring-wallet-profile", "version": 1,
//!   "kdf": {…, "salt"}, "data_key": <wrapped>, "sealed": <profile>}`, the
//!   profile (fields, document list, anchors) sealed as one value under
//!   the data key — nothing about the person is readable without the
//!   passphrase, not even which anchors have their data;
//! - `profile.documents/<random id>`: each document sealed as the server
//!   seals uploads (64 KiB chunks, STREAM), under the same data key.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mooring_server::secrets;
use mooring_server::vault::{CHUNK, DataKey, Place, STREAM_HEADER, TAG, Vault};
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const FORMAT: &str = "mooring-wallet-profile";
const OWNER: &str = "wallet-profile";
const PLACE: Place<'static> = Place {
    table: "wallet",
    column: "profile",
    row: "profile",
};

/// A document kept in the profile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DocumentRef {
    /// Its sealed file's name in the documents folder.
    pub file: String,
    /// The name it had.
    pub name: String,
    /// Its media type.
    pub content_type: String,
    /// Its length in bytes.
    pub length: u64,
}

/// An anchor the profile was given to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AnchorRecord {
    /// The anchor's home domain or URL, as given.
    pub url: String,
    /// The customer's id there.
    pub id: String,
    /// The SEP-12 type it was given for, if any.
    #[serde(default)]
    pub kind: Option<String>,
    /// The account it was given with.
    pub account: String,
    /// The id memo it was given with, for a shared account.
    #[serde(default)]
    pub memo: Option<u64>,
    /// The fields it was sent.
    #[serde(default)]
    pub sent: Vec<String>,
}

/// What the profile holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Profile {
    /// SEP-9 fields.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// SEP-9 binary fields.
    #[serde(default)]
    pub documents: BTreeMap<String, DocumentRef>,
    /// Anchors it was given to, by home domain (or URL).
    #[serde(default)]
    pub anchors: BTreeMap<String, AnchorRecord>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Kdf {
    algorithm: String,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    format: String,
    version: u32,
    kdf: Kdf,
    data_key: String,
    sealed: String,
}

/// An open profile: where it is and its key. While it is open no other
/// `mooring` process opens it (an exclusive lock on `<profile>.lock`), so
/// that a `push` that takes seconds and an `edit` made meanwhile do not
/// overwrite each other.
pub struct Store {
    _lock: std::fs::File,
    path: PathBuf,
    kdf: Kdf,
    wrapped: Vec<u8>,
    key: DataKey,
}

/// The passphrase: MOORING_WALLET_PASSPHRASE, else asked on the terminal
/// (twice when the profile is new).
pub fn passphrase(new: bool) -> Result<SecretString> {
    if let Ok(p) = std::env::var("MOORING_WALLET_PASSPHRASE") {
        if new && p.chars().count() < 8 {
            bail!("MOORING_WALLET_PASSPHRASE: a passphrase of at least 8 characters, please");
        }
        return Ok(SecretString::from(p));
    }
    let first = rpassword::prompt_password("profile passphrase: ")
        .context("no passphrase: set MOORING_WALLET_PASSPHRASE or run on a terminal")?;
    if new {
        let again = Zeroizing::new(rpassword::prompt_password("again: ")?);
        if *again != first {
            bail!("the passphrases differ");
        }
        if first.chars().count() < 8 {
            bail!("a passphrase of at least 8 characters, please");
        }
    }
    Ok(SecretString::from(first))
}

fn derive(pass: &SecretString, kdf: &Kdf) -> Result<Zeroizing<[u8; 32]>> {
    if kdf.algorithm != "argon2id" {
        bail!("unknown key derivation {:?}", kdf.algorithm);
    }
    let salt = STANDARD.decode(&kdf.salt).context("damaged salt")?;
    let params = Params::new(kdf.memory_kib, kdf.iterations, kdf.parallelism, Some(32))
        .map_err(|e| anyhow::anyhow!("bad key derivation parameters: {e}"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(pass.expose_secret().as_bytes(), &salt, key.as_mut())
        .map_err(|e| anyhow::anyhow!("key derivation failed: {e}"))?;
    Ok(key)
}

/// Takes the profile's lock, waiting for another command to let it go.
fn lock(path: &Path) -> Result<std::fs::File> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    if let Some(dir) = lock_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        secrets::create_private_dir(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    if file.try_lock().is_err() {
        eprintln!("waiting for another mooring command to close the profile…");
        file.lock()
            .with_context(|| format!("cannot lock {}", lock_path.display()))?;
    }
    Ok(file)
}

impl Store {
    /// Opens the profile at `path`, or makes an empty one (not yet
    /// written) when there is none.
    pub fn open(path: &Path, pass: &SecretString) -> Result<(Store, Profile)> {
        let lock = lock(path)?;
        if !path.exists() {
            let mut salt = [0u8; 16];
            rand::thread_rng().fill_bytes(&mut salt);
            let kdf = Kdf {
                algorithm: "argon2id".into(),
                memory_kib: 64 * 1024,
                iterations: 3,
                parallelism: 1,
                salt: STANDARD.encode(salt),
            };
            let vault = Vault::new(&*derive(pass, &kdf)?, &[]);
            let key = vault.new_data_key();
            let wrapped = vault.wrap(&key, OWNER);
            let store = Store {
                _lock: lock,
                path: path.to_owned(),
                kdf,
                wrapped,
                key,
            };
            return Ok((store, Profile::default()));
        }
        let text =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let env: Envelope = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a Mooring wallet profile", path.display()))?;
        if env.format != FORMAT || env.version != 1 {
            bail!("{} is not a version 1 wallet profile", path.display());
        }
        let vault = Vault::new(&*derive(pass, &env.kdf)?, &[]);
        let wrapped = STANDARD.decode(&env.data_key).context("damaged profile")?;
        let key = vault
            .unwrap(&wrapped, OWNER)
            .map_err(|_| anyhow::anyhow!("wrong passphrase (or a damaged profile)"))?;
        let sealed = STANDARD.decode(&env.sealed).context("damaged profile")?;
        let plain = key
            .open(PLACE, &sealed)
            .map_err(|_| anyhow::anyhow!("the profile is damaged"))?;
        let profile = serde_json::from_slice(&plain).context("the profile is damaged")?;
        let store = Store {
            _lock: lock,
            path: path.to_owned(),
            kdf: env.kdf,
            wrapped,
            key,
        };
        Ok((store, profile))
    }

    /// Writes the profile (atomically, mode 0600).
    pub fn save(&self, profile: &Profile) -> Result<()> {
        let plain = Zeroizing::new(serde_json::to_vec(profile)?);
        let env = Envelope {
            format: FORMAT.into(),
            version: 1,
            kdf: self.kdf.clone(),
            data_key: STANDARD.encode(&self.wrapped),
            sealed: STANDARD.encode(self.key.seal(PLACE, &plain)),
        };
        write_private(&self.path, &serde_json::to_vec_pretty(&env)?)
    }

    fn documents_dir(&self) -> PathBuf {
        self.path.with_extension("documents")
    }

    /// Seals the file at `source` into the profile's documents.
    pub fn add_document(&self, source: &Path, content_type: &str) -> Result<DocumentRef> {
        let mut input = std::fs::File::open(source)
            .with_context(|| format!("cannot read {}", source.display()))?;
        let length = input.metadata()?.len();
        let mut id = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut id);
        let file = hex::encode(id);
        let mut sealer = self.key.document_sealer(&file);
        let mut out = sealer.take_header().unwrap_or_default();
        let mut chunk = vec![0u8; CHUNK];
        for _ in 0..length / CHUNK as u64 {
            input.read_exact(&mut chunk)?;
            out.extend_from_slice(&sealer.seal_chunk(&chunk));
        }
        let rest = usize::try_from(length % CHUNK as u64)?;
        input.read_exact(&mut chunk[..rest])?;
        out.extend_from_slice(&sealer.seal_last(&chunk[..rest]));
        write_private(&self.documents_dir().join(&file), &out)?;
        let name = source
            .file_name()
            .map_or_else(|| "document".into(), |n| n.to_string_lossy().into_owned());
        Ok(DocumentRef {
            file,
            name,
            content_type: content_type.to_owned(),
            length,
        })
    }

    /// A document's bytes, decrypted a chunk at a time as the upload reads
    /// them.
    pub fn document_body(&self, doc: &DocumentRef) -> Result<reqwest::Body> {
        let chunks = self.document_chunks(doc)?;
        Ok(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
    }

    /// A document's plaintext chunks, each decrypted when asked for.
    fn document_chunks(
        &self,
        doc: &DocumentRef,
    ) -> Result<impl Iterator<Item = std::io::Result<Vec<u8>>> + Send + 'static> {
        let path = self.documents_dir().join(&doc.file);
        let mut input = std::fs::File::open(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut header = [0u8; STREAM_HEADER];
        input.read_exact(&mut header)?;
        let mut opener = self
            .key
            .document_opener(&doc.file, &header)
            .map_err(|_| anyhow::anyhow!("{} is damaged", path.display()))?;
        let full = doc.length / CHUNK as u64;
        let rest = usize::try_from(doc.length % CHUNK as u64)?;
        let chunks = (0..=full).map(move |i| {
            let last = i == full;
            let mut sealed = vec![0u8; if last { rest } else { CHUNK } + TAG];
            input.read_exact(&mut sealed)?;
            let plain = opener
                .open_chunk(&sealed, last)
                .map_err(|_| std::io::Error::other("a sealed document is damaged"))?;
            Ok::<_, std::io::Error>(plain.to_vec())
        });
        Ok(chunks)
    }

    /// A folder only the owner can enter, beside the profile, for a
    /// plaintext copy being edited (and the editor's swap files); removed
    /// with everything in it when dropped.
    pub fn scratch_dir(&self) -> Result<tempfile::TempDir> {
        let dir = self.path.parent().filter(|p| !p.as_os_str().is_empty());
        Ok(tempfile::Builder::new()
            .prefix(".edit-")
            .tempdir_in(dir.unwrap_or(Path::new(".")))?)
    }

    /// Deletes a document's sealed file.
    pub fn remove_document(&self, doc: &DocumentRef) {
        let _ = std::fs::remove_file(self.documents_dir().join(&doc.file));
    }
}

/// Writes `bytes` to `path` atomically, readable only by the owner, in a
/// folder only the owner can enter.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        secrets::create_private_dir(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    secrets::replace_private_file(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_round_trips_and_a_wrong_passphrase_opens_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profile.json");
        let pass = SecretString::from("correct horse battery");
        let (store, mut profile) = Store::open(&path, &pass).unwrap();
        profile
            .fields
            .insert("first_name".into(), "Zoë-MARKER".into());
        let doc_path = dir.path().join("id.bin");
        let bytes: Vec<u8> = (0..CHUNK * 2 + 5).map(|i| (i % 251) as u8).collect();
        std::fs::write(&doc_path, &bytes).unwrap();
        let doc = store
            .add_document(&doc_path, "application/octet-stream")
            .unwrap();
        profile
            .documents
            .insert("photo_id_front".into(), doc.clone());
        store.save(&profile).unwrap();
        drop(store);

        // Nothing readable at rest.
        for entry in walk(dir.path()) {
            if entry == doc_path {
                continue;
            }
            let stored = std::fs::read(&entry).unwrap();
            assert!(!stored.windows(6).any(|w| w == b"MARKER"), "{entry:?}");
            assert!(!stored.windows(10).any(|w| w == &bytes[1000..1010]));
        }

        let (store, again) = Store::open(&path, &pass).unwrap();
        assert_eq!(again, profile);
        let got: Vec<u8> = store
            .document_chunks(&doc)
            .unwrap()
            .collect::<std::io::Result<Vec<_>>>()
            .unwrap()
            .concat();
        assert_eq!(got, bytes);
        drop(store);
        let wrong = Store::open(&path, &SecretString::from("wrong horse battery"));
        assert!(wrong.is_err());
    }

    #[test]
    fn a_profile_is_opened_by_one_command_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profile.json");
        let pass = SecretString::from("correct horse battery");
        let (store, profile) = Store::open(&path, &pass).unwrap();
        store.save(&profile).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let (p2, pass2) = (path.clone(), pass.clone());
        let other = std::thread::spawn(move || {
            let opened = Store::open(&p2, &pass2).map(|_| ());
            tx.send(opened.is_ok()).unwrap();
        });
        let waited = rx.recv_timeout(std::time::Duration::from_millis(500));
        assert!(waited.is_err(), "opened while another held the profile");
        drop(store);
        let opened = rx.recv_timeout(std::time::Duration::from_secs(30));
        assert_eq!(opened, Ok(true));
        other.join().unwrap();
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = vec![];
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            match p.is_dir() {
                true => out.extend(walk(&p)),
                false => out.push(p),
            }
        }
        out
    }
}
