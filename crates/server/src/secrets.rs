//! Secrets: the server signing key, the JWT key and the data-encryption
//! master key. Each comes from the configuration (inline or `*_file`) or,
//! failing that, from the keys file, which is generated on first start with
//! mode 0600.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mooring_stellar::Keypair;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::config::{Config, JwtAlgorithm};

/// Why secrets could not be loaded. Messages name settings and paths,
/// never secret values.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A `*_file` or the keys file could not be read or written.
    #[error("{what}: {path}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A secret is present but malformed.
    #[error("invalid secret `{0}`: {1}")]
    Invalid(&'static str, &'static str),
}

/// The key session JWTs are signed with.
pub enum JwtKey {
    /// EdDSA (Ed25519).
    Ed25519(Box<Keypair>),
    /// HS256 shared secret.
    Hmac(SecretBox<Vec<u8>>),
}

/// The 32-byte data-encryption master key.
pub struct MasterKey(SecretBox<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

impl MasterKey {
    /// The key bytes.
    pub fn expose(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }
}

/// Every secret the server needs, loaded.
pub struct Secrets {
    /// Signs SEP-10 challenges; its public key is stellar.toml's SIGNING_KEY.
    pub signing: Keypair,
    /// Signs session JWTs.
    pub jwt: JwtKey,
    /// Wraps per-customer data keys.
    pub master_key: MasterKey,
    /// Master keys being rotated out: they still unwrap.
    pub previous_master_keys: Vec<MasterKey>,
    /// Bearer token of the admin API.
    pub admin_token: SecretString,
}

impl Secrets {
    /// Encryption at rest with the current master key, able to open what
    /// the previous ones sealed.
    pub fn vault(&self) -> crate::vault::Vault {
        crate::vault::Vault::new(
            self.master_key.expose(),
            &self
                .previous_master_keys
                .iter()
                .map(|k| *k.expose())
                .collect::<Vec<_>>(),
        )
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Secrets(signing: {}, [REDACTED])",
            self.signing.public_key()
        )
    }
}

/// What loading did besides returning the secrets.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// The keys file was created or completed with generated secrets.
    pub generated: Option<PathBuf>,
    /// Things the operator should fix (e.g. a keys file others can read).
    pub warnings: Vec<String>,
}

#[derive(Default, Deserialize)]
struct KeysFile {
    signing_seed: Option<SecretString>,
    jwt_seed: Option<SecretString>,
    master_key: Option<SecretString>,
    #[serde(default)]
    previous_master_keys: Vec<SecretString>,
    admin_token: Option<SecretString>,
}

/// The keys file path: `secrets.keys_file` or `<data_dir>/keys`.
pub fn keys_file_path(config: &Config) -> PathBuf {
    config
        .secrets
        .keys_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join("keys"))
}

/// The admin token as configured (inline, `_file`, or the keys file),
/// without generating anything: for tools that talk to a running server.
pub fn admin_token(config: &Config) -> Result<Option<SecretString>, SecretsError> {
    let s = &config.secrets;
    if let Some(t) = inline_or_file("admin_token", &s.admin_token, &s.admin_token_file)? {
        return Ok(Some(t));
    }
    let path = keys_file_path(config);
    if !path.exists() {
        return Ok(None);
    }
    let text = Zeroizing::new(
        fs::read_to_string(&path).map_err(|source| SecretsError::Io {
            what: "cannot read the keys file".into(),
            path: path.clone(),
            source,
        })?,
    );
    let file: KeysFile = toml::from_str(&text)
        .map_err(|_| SecretsError::Invalid("keys_file", "the keys file is not valid TOML"))?;
    Ok(file.admin_token)
}

/// Loads every secret; generates missing ones into the keys file.
pub fn load(config: &Config) -> Result<(Secrets, LoadReport), SecretsError> {
    let s = &config.secrets;
    let mut report = LoadReport::default();
    let signing = inline_or_file("signing_seed", &s.signing_seed, &s.signing_seed_file)?;
    let jwt_seed = inline_or_file("jwt_seed", &s.jwt_seed, &s.jwt_seed_file)?;
    let jwt_secret = inline_or_file("jwt_secret", &s.jwt_secret, &s.jwt_secret_file)?;
    let master = inline_or_file("master_key", &s.master_key, &s.master_key_file)?;
    let admin = inline_or_file("admin_token", &s.admin_token, &s.admin_token_file)?;
    let needs_jwt_seed = config.sep10.jwt_algorithm == JwtAlgorithm::EdDSA;

    let mut file = KeysFile::default();
    if signing.is_none()
        || master.is_none()
        || admin.is_none()
        || (needs_jwt_seed && jwt_seed.is_none())
    {
        let path = keys_file_path(config);
        let (loaded, warnings) = read_or_create_keys_file(&path)?;
        if loaded.1 {
            report.generated = Some(path);
        }
        report.warnings.extend(warnings);
        file = loaded.0;
    }

    let signing = signing.or(file.signing_seed).expect("generated");
    let signing = Keypair::from_secret_seed(signing.expose_secret())
        .map_err(|_| SecretsError::Invalid("signing_seed", "expected an S… secret seed"))?;
    let jwt = match config.sep10.jwt_algorithm {
        JwtAlgorithm::EdDSA => {
            let seed = jwt_seed.or(file.jwt_seed).expect("generated");
            JwtKey::Ed25519(Box::new(
                Keypair::from_secret_seed(seed.expose_secret())
                    .map_err(|_| SecretsError::Invalid("jwt_seed", "expected an S… secret seed"))?,
            ))
        }
        JwtAlgorithm::HS256 => {
            let secret = jwt_secret.ok_or(SecretsError::Invalid(
                "jwt_secret",
                "sep10.jwt_algorithm = \"HS256\" needs secrets.jwt_secret (or jwt_secret_file): at least 32 random bytes shared with the services that verify tokens",
            ))?;
            let bytes = secret.expose_secret().as_bytes().to_vec();
            if bytes.len() < 32 {
                return Err(SecretsError::Invalid(
                    "jwt_secret",
                    "must be at least 32 bytes long",
                ));
            }
            JwtKey::Hmac(SecretBox::new(Box::new(bytes)))
        }
    };
    let master = master.or(file.master_key).expect("generated");
    let master_key = parse_master_key(master.expose_secret())?;
    let previous_master_keys = s
        .previous_master_keys
        .iter()
        .chain(&file.previous_master_keys)
        .map(|k| parse_master_key(k.expose_secret()))
        .collect::<Result<_, _>>()?;
    let admin_token = admin.or(file.admin_token).expect("generated");
    if admin_token.expose_secret().len() < 32 {
        return Err(SecretsError::Invalid(
            "admin_token",
            "must be at least 32 characters long",
        ));
    }
    Ok((
        Secrets {
            signing,
            jwt,
            master_key,
            previous_master_keys,
            admin_token,
        },
        report,
    ))
}

fn parse_master_key(b64: &str) -> Result<MasterKey, SecretsError> {
    let bytes = Zeroizing::new(
        STANDARD
            .decode(b64.trim())
            .map_err(|_| SecretsError::Invalid("master_key", "expected 32 bytes in base64"))?,
    );
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| SecretsError::Invalid("master_key", "expected 32 bytes in base64"))?;
    Ok(MasterKey(SecretBox::new(Box::new(key))))
}

fn inline_or_file(
    name: &'static str,
    inline: &Option<SecretString>,
    file: &Option<PathBuf>,
) -> Result<Option<SecretString>, SecretsError> {
    if let Some(v) = inline {
        return Ok(Some(v.clone()));
    }
    let Some(path) = file else { return Ok(None) };
    let text = Zeroizing::new(fs::read_to_string(path).map_err(|source| SecretsError::Io {
        what: format!("cannot read secrets.{name}_file"),
        path: path.clone(),
        source,
    })?);
    Ok(Some(SecretString::from(text.trim().to_owned())))
}

/// Text of a fresh keys file: new signing seed, JWT seed and master key.
pub fn generate_keys_file() -> Zeroizing<String> {
    let signing = Keypair::random();
    let jwt = Keypair::random();
    let master = Zeroizing::new(rand::random::<[u8; 32]>());
    Zeroizing::new(format!(
        "# Mooring secrets. Keep this file private (mode 0600) and backed up:\n\
         # without master_key, stored customer data cannot be decrypted.\n\
         # signing_seed is the server's SEP-10 key; its public key is {}.\n\
         signing_seed = \"{}\"\n\
         jwt_seed = \"{}\"\n\
         master_key = \"{}\"\n\
         admin_token = \"{}\"\n",
        signing.public_key(),
        signing.secret_seed().as_str(),
        jwt.secret_seed().as_str(),
        STANDARD.encode(master.as_slice()),
        new_admin_token().as_str(),
    ))
}

/// Starts a master-key rotation in the keys file: a new `master_key`, the
/// old one moved to `previous_master_keys`. Returns the file's path.
pub fn new_master_key(config: &Config) -> Result<PathBuf, SecretsError> {
    let path = keys_file_path(config);
    let io = |what: &'static str| {
        let path = path.clone();
        move |source| SecretsError::Io {
            what: what.into(),
            path,
            source,
        }
    };
    let text = Zeroizing::new(fs::read_to_string(&path).map_err(io("cannot read the keys file"))?);
    let mut table: toml::Table = toml::from_str(&text)
        .map_err(|_| SecretsError::Invalid("keys_file", "the keys file is not valid TOML"))?;
    let old = table.remove("master_key").ok_or(SecretsError::Invalid(
        "keys_file",
        "the keys file has no master_key",
    ))?;
    let mut previous = match table.remove("previous_master_keys") {
        Some(toml::Value::Array(a)) => a,
        _ => Vec::new(),
    };
    previous.insert(0, old);
    let fresh = Zeroizing::new(rand::random::<[u8; 32]>());
    table.insert(
        "master_key".into(),
        toml::Value::String(STANDARD.encode(fresh.as_slice())),
    );
    table.insert("previous_master_keys".into(), toml::Value::Array(previous));
    let out = Zeroizing::new(format!(
        "# Mooring secrets. Keep this file private (mode 0600) and backed up.\n\
         # A master key rotation is in progress: restart every server, run\n\
         # `mooring keys rotate`, then remove previous_master_keys.\n{}",
        toml::to_string(&table).expect("a table renders")
    ));
    replace_private_file(&path, out.as_bytes()).map_err(io("cannot write the keys file"))?;
    Ok(path)
}

/// A fresh admin API token: 32 random bytes, base64url.
fn new_admin_token() -> Zeroizing<String> {
    let bytes = Zeroizing::new(rand::random::<[u8; 32]>());
    Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_slice()))
}

/// Reads the keys file, creating it (and its directory, mode 0700) with
/// fresh secrets if it does not exist. Returns whether it was created.
fn read_or_create_keys_file(path: &Path) -> Result<((KeysFile, bool), Vec<String>), SecretsError> {
    let io = |what: &str| {
        let what = what.to_owned();
        let path = path.to_path_buf();
        move |source| SecretsError::Io { what, path, source }
    };
    let mut warnings = Vec::new();
    let created = if path.exists() {
        if let Some(w) = permission_warning(path) {
            warnings.push(w);
        }
        false
    } else {
        create_keys_file(path).map_err(io("cannot create the keys file"))?
    };
    let mut text =
        Zeroizing::new(fs::read_to_string(path).map_err(io("cannot read the keys file"))?);
    let mut file: KeysFile = toml::from_str(&text)
        .map_err(|_| SecretsError::Invalid("keys_file", "the keys file is not valid TOML"))?;
    if file.admin_token.is_none() {
        // A keys file from before the admin API: complete it, atomically.
        let token = new_admin_token();
        text.push_str(&format!("admin_token = \"{}\"\n", token.as_str()));
        replace_private_file(path, text.as_bytes())
            .map_err(io("cannot add admin_token to the keys file"))?;
        file.admin_token = Some(SecretString::from(token.as_str().to_owned()));
        warnings.push(format!(
            "added a generated admin_token to {}",
            path.display()
        ));
    }
    if file.signing_seed.is_none() || file.jwt_seed.is_none() || file.master_key.is_none() {
        return Err(SecretsError::Invalid(
            "keys_file",
            "the keys file lacks signing_seed, jwt_seed or master_key; restore it from backup or give the secrets in the configuration",
        ));
    }
    Ok(((file, created), warnings))
}

/// Creates the keys file with fresh secrets, atomically: the secrets are
/// written and synced to a temporary file (mode 0600) beside it, which is
/// then linked into place only if no file is there yet. A crash leaves no
/// half-written keys file, and of two processes starting at once, one
/// creates the file and the other reads it. Returns whether this one did.
fn create_keys_file(path: &Path) -> std::io::Result<bool> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(".keys-").tempfile_in(dir)?;
    tmp.write_all(generate_keys_file().as_bytes())?;
    tmp.as_file().sync_all()?;
    match tmp.persist_noclobber(path) {
        Ok(_) => {
            #[cfg(unix)]
            fs::File::open(dir)?.sync_all()?;
            Ok(true)
        }
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e.error),
    }
}

/// Replaces a file's contents atomically (temporary file, sync, rename),
/// keeping it readable only by the owner.
pub fn replace_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".keys-").tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Creates a directory (and parents) readable only by the owner.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes a new file readable only by the owner; refuses to overwrite.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

#[cfg(unix)]
fn permission_warning(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "keys file {} can be read by other users (mode {:o}); run `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        )
    })
}

#[cfg(not(unix))]
fn permission_warning(_: &Path) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(dir: &Path, extra: &str) -> Config {
        let text = format!("data_dir = \"{}\"\n{extra}", dir.display());
        Config::from_toml(&text).unwrap().config
    }

    #[test]
    fn first_load_generates_a_private_keys_file_and_second_load_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config_in(&dir.path().join("data"), "");
        let (a, report) = load(&cfg).unwrap();
        let path = report.generated.expect("generated on first load");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                fs::metadata(path.parent().unwrap())
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o700
            );
        }
        let (b, report) = load(&cfg).unwrap();
        assert!(report.generated.is_none());
        assert_eq!(a.signing.public_key(), b.signing.public_key());
        assert_eq!(a.master_key.expose(), b.master_key.expose());
        assert_eq!(a.admin_token.expose_secret(), b.admin_token.expose_secret());
    }

    #[test]
    fn an_old_keys_file_gets_an_admin_token_added() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config_in(dir.path(), "");
        let (first, _) = load(&cfg).unwrap();
        let path = keys_file_path(&cfg);
        let text = fs::read_to_string(&path).unwrap();
        let old: String = text
            .lines()
            .filter(|l| !l.starts_with("admin_token"))
            .map(|l| format!("{l}\n"))
            .collect();
        replace_private_file(&path, old.as_bytes()).unwrap();
        let (second, report) = load(&cfg).unwrap();
        assert_eq!(first.signing.public_key(), second.signing.public_key());
        assert!(report.warnings.iter().any(|w| w.contains("admin_token")));
        assert!(
            fs::read_to_string(&path)
                .unwrap()
                .contains("admin_token = ")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn inline_and_file_secrets_win_over_the_keys_file() {
        let dir = tempfile::tempdir().unwrap();
        let kp = Keypair::random();
        let seed_file = dir.path().join("seed");
        fs::write(&seed_file, format!("{}\n", kp.secret_seed().as_str())).unwrap();
        let cfg = config_in(
            dir.path(),
            &format!(
                "[secrets]\nsigning_seed_file = \"{}\"\n",
                seed_file.display()
            ),
        );
        let (s, _) = load(&cfg).unwrap();
        assert_eq!(s.signing.public_key(), kp.public_key());
    }

    #[test]
    fn malformed_secrets_are_named_but_not_shown() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config_in(
            dir.path(),
            "[secrets]\nsigning_seed = \"SNOTAREALSEEDVALUE\"\n",
        );
        let err = load(&cfg).unwrap_err().to_string();
        assert!(err.contains("signing_seed"), "{err}");
        assert!(!err.contains("SNOTAREALSEEDVALUE"), "{err}");
    }

    #[test]
    fn hs256_requires_a_long_enough_shared_secret() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config_in(dir.path(), "[sep10]\njwt_algorithm = \"HS256\"\n");
        assert!(load(&cfg).unwrap_err().to_string().contains("jwt_secret"));
        let cfg = config_in(
            dir.path(),
            "[sep10]\njwt_algorithm = \"HS256\"\n[secrets]\njwt_secret = \"short\"\n",
        );
        assert!(load(&cfg).unwrap_err().to_string().contains("32 bytes"));
    }
}
