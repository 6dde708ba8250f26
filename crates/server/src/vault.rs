//! Encryption at rest: envelope encryption with a frozen byte format.
//!
//! Every customer (and every uploaded document) gets its own random 256-bit
//! data key. Data keys are stored only wrapped by the master key (from the
//! configuration), and every ciphertext's associated data names what it is —
//! table, column, row and data-key id — so a ciphertext copied into another
//! row, column or customer does not decrypt. Erasing a customer deletes the
//! wrapped data key with the rows: copies of the ciphertexts that survive
//! (WAL, free pages) cannot be read without it.
//!
//! Formats (all XChaCha20-Poly1305, nonces random; pinned by tests):
//! - wrapped data key: `01 ‖ master kid (8) ‖ nonce (24) ‖ enc(dek id (8) ‖ key (32)) ‖ tag (16)`,
//!   AD `mooring:dek:v1 ‖ 00 ‖ owner`
//! - field value: `01 ‖ nonce (24) ‖ ciphertext ‖ tag (16)`,
//!   AD `mooring:field:v1 ‖ 00 ‖ table ‖ 00 ‖ column ‖ 00 ‖ row ‖ 00 ‖ dek id`
//! - document: `01 ‖ nonce prefix (19) ‖ chunks`, STREAM (BE32 counter, last
//!   flag) over 64 KiB plaintext chunks, each followed by its tag, AD
//!   `mooring:blob:v1 ‖ 00 ‖ file id ‖ 00 ‖ dek id`.

use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// Version byte of every format above.
const VERSION: u8 = 1;
/// Plaintext bytes per document chunk.
pub const CHUNK: usize = 64 * 1024;
/// Bytes a chunk grows by when sealed.
pub const TAG: usize = 16;
/// Length of a document header (version + nonce prefix).
pub const STREAM_HEADER: usize = 1 + 19;

/// Why something could not be decrypted. Deliberately uninformative.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// Wrong key, wrong context, tampered or truncated.
    #[error("ciphertext could not be authenticated")]
    Unauthentic,
    /// Wrapped by a master key this server does not have.
    #[error("data key is wrapped by an unknown master key")]
    UnknownMasterKey,
}

/// A master key and its public id (a hash, safe to store beside what it wraps).
struct MasterKey {
    kid: [u8; 8],
    cipher: XChaCha20Poly1305,
}

impl MasterKey {
    fn new(key: &[u8; 32]) -> Self {
        let mut h = Sha256::new();
        h.update(b"mooring:master-key-id:v1");
        h.update(key);
        let kid = h.finalize()[..8].try_into().expect("8 bytes");
        MasterKey {
            kid,
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }
}

/// The master keys: the current one wraps new data keys; previous ones
/// still unwrap, until `mooring keys rotate` has rewrapped everything.
pub struct Vault {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Vault(current kid {}, {} previous)",
            hex::encode(self.current.kid),
            self.previous.len()
        )
    }
}

/// A data key, in memory only while used; zeroed on drop.
pub struct DataKey {
    id: [u8; 8],
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataKey({}, [REDACTED])", hex::encode(self.id))
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::thread_rng().fill_bytes(&mut b);
    b
}

fn ad(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(p);
    }
    out
}

impl Vault {
    /// A vault with `current` wrapping and every key unwrapping.
    pub fn new(current: &[u8; 32], previous: &[[u8; 32]]) -> Self {
        Vault {
            current: MasterKey::new(current),
            previous: previous.iter().map(MasterKey::new).collect(),
        }
    }

    /// Id of the current master key.
    pub fn current_kid(&self) -> [u8; 8] {
        self.current.kid
    }

    /// A fresh random data key.
    pub fn new_data_key(&self) -> DataKey {
        DataKey {
            id: random(),
            key: Zeroizing::new(random()),
        }
    }

    /// Wraps `dek` for `owner` (e.g. `customer:<id>`) under the current master key.
    pub fn wrap(&self, dek: &DataKey, owner: &str) -> Vec<u8> {
        self.wrap_with(dek, owner, random())
    }

    fn wrap_with(&self, dek: &DataKey, owner: &str, nonce: [u8; 24]) -> Vec<u8> {
        let mut plain = Zeroizing::new([0u8; 40]);
        plain[..8].copy_from_slice(&dek.id);
        plain[8..].copy_from_slice(dek.key.as_slice());
        let aad = ad(&[b"mooring:dek:v1", owner.as_bytes()]);
        let ct = self
            .current
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_slice(),
                    aad: &aad,
                },
            )
            .expect("encryption of 40 bytes cannot fail");
        let mut out = Vec::with_capacity(1 + 8 + 24 + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&self.current.kid);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Unwraps a data key wrapped for `owner` by any known master key.
    pub fn unwrap(&self, wrapped: &[u8], owner: &str) -> Result<DataKey, VaultError> {
        if wrapped.len() != 1 + 8 + 24 + 40 + TAG || wrapped[0] != VERSION {
            return Err(VaultError::Unauthentic);
        }
        let kid = &wrapped[1..9];
        let master = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|m| m.kid == kid)
            .ok_or(VaultError::UnknownMasterKey)?;
        let aad = ad(&[b"mooring:dek:v1", owner.as_bytes()]);
        let mut plain = master
            .cipher
            .decrypt(
                XNonce::from_slice(&wrapped[9..33]),
                Payload {
                    msg: &wrapped[33..],
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::Unauthentic)?;
        let dek = DataKey {
            id: plain[..8].try_into().expect("8 bytes"),
            key: Zeroizing::new(plain[8..40].try_into().expect("32 bytes")),
        };
        plain.zeroize();
        Ok(dek)
    }

    /// Whether `wrapped` was wrapped by a master key other than the current.
    pub fn needs_rewrap(&self, wrapped: &[u8]) -> bool {
        wrapped.get(1..9) != Some(&self.current.kid[..])
    }
}

/// Where a field ciphertext lives: bound into its associated data.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// Table name.
    pub table: &'a str,
    /// Column name (for per-field rows, the field's name).
    pub column: &'a str,
    /// Row id.
    pub row: &'a str,
}

impl DataKey {
    /// The key's public id.
    pub fn id(&self) -> [u8; 8] {
        self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.key.as_slice().into())
    }

    fn field_ad(&self, place: Place<'_>) -> Vec<u8> {
        ad(&[
            b"mooring:field:v1",
            place.table.as_bytes(),
            place.column.as_bytes(),
            place.row.as_bytes(),
            &self.id,
        ])
    }

    /// Encrypts a value for `place`.
    pub fn seal(&self, place: Place<'_>, plaintext: &[u8]) -> Vec<u8> {
        self.seal_with(place, plaintext, random())
    }

    fn seal_with(&self, place: Place<'_>, plaintext: &[u8], nonce: [u8; 24]) -> Vec<u8> {
        let aad = self.field_ad(place);
        let ct = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .expect("encryption in memory cannot fail");
        let mut out = Vec::with_capacity(1 + 24 + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Decrypts a value sealed for `place`.
    pub fn open(&self, place: Place<'_>, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        if sealed.len() < 1 + 24 + TAG || sealed[0] != VERSION {
            return Err(VaultError::Unauthentic);
        }
        let aad = self.field_ad(place);
        self.cipher()
            .decrypt(
                XNonce::from_slice(&sealed[1..25]),
                Payload {
                    msg: &sealed[25..],
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| VaultError::Unauthentic)
    }

    /// A keyed hash of a value at `place`: equal values give equal hashes
    /// for this key only, so a re-sent value can be recognised without
    /// decrypting, and the hash says nothing without the key.
    pub fn fingerprint(&self, place: Place<'_>, plaintext: &[u8]) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_slice()).expect("any key length");
        mac.update(&self.field_ad(place));
        mac.update(&[0]);
        mac.update(plaintext);
        mac.finalize().into_bytes().into()
    }

    /// A sealer for a document, writing [`STREAM_HEADER`] first.
    pub fn document_sealer(&self, file_id: &str) -> DocumentSealer {
        self.document_sealer_with(file_id, random())
    }

    fn document_sealer_with(&self, file_id: &str, prefix: [u8; 19]) -> DocumentSealer {
        let mut header = Vec::with_capacity(STREAM_HEADER);
        header.push(VERSION);
        header.extend_from_slice(&prefix);
        DocumentSealer {
            stream: EncryptorBE32::from_aead(self.cipher(), prefix.as_slice().into()),
            aad: ad(&[b"mooring:blob:v1", file_id.as_bytes(), &self.id]),
            header: Some(header),
        }
    }

    /// An opener for a document whose header (first [`STREAM_HEADER`] bytes) is given.
    pub fn document_opener(
        &self,
        file_id: &str,
        header: &[u8],
    ) -> Result<DocumentOpener, VaultError> {
        if header.len() != STREAM_HEADER || header[0] != VERSION {
            return Err(VaultError::Unauthentic);
        }
        Ok(DocumentOpener {
            stream: Some(DecryptorBE32::from_aead(self.cipher(), header[1..].into())),
            aad: ad(&[b"mooring:blob:v1", file_id.as_bytes(), &self.id]),
        })
    }
}

/// Encrypts a document chunk by chunk (every chunk but the last exactly
/// [`CHUNK`] bytes of plaintext).
pub struct DocumentSealer {
    stream: EncryptorBE32<XChaCha20Poly1305>,
    aad: Vec<u8>,
    header: Option<Vec<u8>>,
}

impl DocumentSealer {
    /// The header, once; then nothing.
    pub fn take_header(&mut self) -> Option<Vec<u8>> {
        self.header.take()
    }

    /// Seals a full middle chunk.
    pub fn seal_chunk(&mut self, chunk: &[u8]) -> Vec<u8> {
        debug_assert_eq!(chunk.len(), CHUNK);
        self.stream
            .encrypt_next(Payload {
                msg: chunk,
                aad: &self.aad,
            })
            .expect("STREAM counter cannot overflow under the size limit")
    }

    /// Seals the last chunk (possibly empty), ending the stream.
    pub fn seal_last(self, chunk: &[u8]) -> Vec<u8> {
        self.stream
            .encrypt_last(Payload {
                msg: chunk,
                aad: &self.aad,
            })
            .expect("encryption in memory cannot fail")
    }
}

/// Decrypts a document chunk by chunk; truncation or reordering fails.
pub struct DocumentOpener {
    stream: Option<DecryptorBE32<XChaCha20Poly1305>>,
    aad: Vec<u8>,
}

impl DocumentOpener {
    /// Opens the next sealed chunk; `last` for the final one.
    pub fn open_chunk(
        &mut self,
        sealed: &[u8],
        last: bool,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let payload = Payload {
            msg: sealed,
            aad: &self.aad,
        };
        let result = if last {
            self.stream
                .take()
                .ok_or(VaultError::Unauthentic)?
                .decrypt_last(payload)
        } else {
            self.stream
                .as_mut()
                .ok_or(VaultError::Unauthentic)?
                .decrypt_next(payload)
        };
        result
            .map(Zeroizing::new)
            .map_err(|_| VaultError::Unauthentic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLACE: Place<'static> = Place {
        table: "customer_fields",
        column: "email_address",
        row: "c1",
    };

    fn fixed_dek() -> DataKey {
        DataKey {
            id: [7; 8],
            key: Zeroizing::new([9; 32]),
        }
    }

    #[test]
    fn data_keys_wrap_and_unwrap_only_for_their_owner() {
        let v = Vault::new(&[1; 32], &[]);
        let dek = v.new_data_key();
        let w = v.wrap(&dek, "customer:a");
        let back = v.unwrap(&w, "customer:a").unwrap();
        assert_eq!((back.id, *back.key), (dek.id, *dek.key));
        assert_eq!(
            v.unwrap(&w, "customer:b").unwrap_err(),
            VaultError::Unauthentic
        );
        let other = Vault::new(&[2; 32], &[]);
        assert_eq!(
            other.unwrap(&w, "customer:a").unwrap_err(),
            VaultError::UnknownMasterKey
        );
    }

    #[test]
    fn rotation_keeps_old_keys_readable_until_rewrapped() {
        let old = Vault::new(&[1; 32], &[]);
        let dek = old.new_data_key();
        let w = old.wrap(&dek, "o");
        let rotated = Vault::new(&[2; 32], &[[1; 32]]);
        assert!(rotated.needs_rewrap(&w));
        let rewrapped = rotated.wrap(&rotated.unwrap(&w, "o").unwrap(), "o");
        assert!(!rotated.needs_rewrap(&rewrapped));
        assert_eq!(*rotated.unwrap(&rewrapped, "o").unwrap().key, *dek.key);
    }

    #[test]
    fn values_are_bound_to_their_place_and_key() {
        let dek = Vault::new(&[1; 32], &[]).new_data_key();
        let sealed = dek.seal(PLACE, b"alice@example.com");
        assert_eq!(
            dek.open(PLACE, &sealed).unwrap().as_slice(),
            b"alice@example.com"
        );
        for wrong in [
            Place { row: "c2", ..PLACE },
            Place {
                column: "first_name",
                ..PLACE
            },
            Place {
                table: "customers",
                ..PLACE
            },
        ] {
            assert_eq!(
                dek.open(wrong, &sealed).unwrap_err(),
                VaultError::Unauthentic
            );
        }
        let other = Vault::new(&[1; 32], &[]).new_data_key();
        assert_eq!(
            other.open(PLACE, &sealed).unwrap_err(),
            VaultError::Unauthentic
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(
            dek.open(PLACE, &tampered).unwrap_err(),
            VaultError::Unauthentic
        );
    }

    #[test]
    fn byte_formats_are_frozen() {
        // Changing any of these breaks every stored ciphertext: don't. The
        // expected bytes were computed independently with libsodium
        // (PyNaCl's crypto_aead_xchacha20poly1305_ietf_encrypt).
        let dek = fixed_dek();
        let field = dek.seal_with(PLACE, b"x", [3; 24]);
        assert_eq!(
            hex::encode(&field),
            "01030303030303030303030303030303030303030303030303e6c7668dbf12918a5969db165c3c124f54"
        );
        let v = Vault::new(&[1; 32], &[]);
        let wrapped = v.wrap_with(&dek, "customer:c1", [4; 24]);
        assert_eq!(
            hex::encode(&wrapped[..9]),
            format!("01{}", hex::encode(v.current_kid()))
        );
        assert_eq!(
            hex::encode(&wrapped[33..]),
            "3812a560af816c2fe1e9b0f93176ab2883db7b7c183e6a67b813bcced379b18ad3fbb958a3c5ffa8e56104cdcf5fea08faaadc31a329fd34"
        );
        let mut s = dek.document_sealer_with("file_1", [5; 19]);
        let doc = [s.take_header().unwrap(), s.seal_last(b"%PDF")].concat();
        assert_eq!(
            hex::encode(&doc),
            "0105050505050505050505050505050505050505c6d5b4ad5e67249fdd5b3bacca3896863cec3549"
        );
    }

    #[test]
    fn documents_round_trip_and_detect_truncation() {
        let dek = Vault::new(&[1; 32], &[]).new_data_key();
        let data: Vec<u8> = (0..(CHUNK * 2 + 100)).map(|i| i as u8).collect();
        let mut s = dek.document_sealer("file_x");
        let header = s.take_header().unwrap();
        let c1 = s.seal_chunk(&data[..CHUNK]);
        let c2 = s.seal_chunk(&data[CHUNK..2 * CHUNK]);
        let c3 = s.seal_last(&data[2 * CHUNK..]);
        let mut o = dek.document_opener("file_x", &header).unwrap();
        let mut out = o.open_chunk(&c1, false).unwrap().to_vec();
        out.extend_from_slice(&o.open_chunk(&c2, false).unwrap());
        out.extend_from_slice(&o.open_chunk(&c3, true).unwrap());
        assert_eq!(out, data);
        // Dropping the last chunk and presenting a middle one as last fails.
        let mut o = dek.document_opener("file_x", &header).unwrap();
        o.open_chunk(&c1, false).unwrap();
        assert!(o.open_chunk(&c2, true).is_err());
        // Another file id fails.
        let mut o = dek.document_opener("file_y", &header).unwrap();
        assert!(o.open_chunk(&c1, false).is_err());
    }

    #[test]
    fn fingerprints_match_equal_values_only() {
        let dek = fixed_dek();
        assert_eq!(dek.fingerprint(PLACE, b"a"), dek.fingerprint(PLACE, b"a"));
        assert_ne!(dek.fingerprint(PLACE, b"a"), dek.fingerprint(PLACE, b"b"));
        assert_ne!(
            dek.fingerprint(PLACE, b"a"),
            dek.fingerprint(Place { row: "c2", ..PLACE }, b"a")
        );
    }
}
