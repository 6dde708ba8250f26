//! Documents in and out: an upload is checked by its first bytes, sealed in
//! 64 KiB chunks with its own data key and streamed to the document store;
//! it is never held whole in memory, and an upload that fails leaves nothing
//! behind.

use bytes::Bytes;
use futures::{Stream, StreamExt as _};

use super::service::{CustomerError, Customers};
use crate::blobs::{BlobError, Blobs};
use crate::sep9::Field;
use crate::sep9::{self, Accept, FileFormat};
use crate::vault::{CHUNK, STREAM_HEADER, TAG, Vault, VaultError};

/// A document stored, not yet recorded in the database.
#[derive(Debug)]
pub struct Stored {
    /// `file_<uuid>`.
    pub id: String,
    /// Its format.
    pub format: FileFormat,
    /// Plaintext size in bytes.
    pub size: u64,
    /// Its data key, wrapped.
    pub data_key: Vec<u8>,
    /// Path in the document store.
    pub blob: String,
}

/// Why an upload failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// Not a format the field accepts (400).
    #[error("{0}")]
    Format(#[from] sep9::Invalid),
    /// Larger than allowed (413).
    #[error("'{0}' is larger than the {1}-byte limit")]
    TooLarge(String, u64),
    /// The request body broke off or exceeded the body limit.
    #[error("request body could not be read")]
    Body {
        /// Whether it was the body limit.
        too_large: bool,
    },
    /// The document store failed (500).
    #[error(transparent)]
    Store(#[from] BlobError),
}

/// The wrapped-key owner of a file's data key.
pub fn key_owner(file_id: &str) -> String {
    format!("file:{file_id}")
}

/// Streams `body` (the content of field `field`) into the store, sealed.
pub async fn store<S, E>(
    blobs: &Blobs,
    vault: &Vault,
    field: &str,
    accept: Accept,
    max: u64,
    mut body: S,
) -> Result<Stored, UploadError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<BodyError>,
{
    let id = format!("file_{}", uuid::Uuid::new_v4());
    let blob = format!("documents/{id}");
    let dek = vault.new_data_key();
    let mut sealer = dek.document_sealer(&id);
    let mut writer = blobs.writer(&blob).await?;
    let mut pending: Vec<u8> = Vec::with_capacity(2 * CHUNK);
    let mut size = 0u64;
    let mut format = None;
    let result: Result<(), UploadError> = async {
        writer
            .write(&sealer.take_header().expect("fresh sealer"))
            .await?;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| UploadError::Body {
                too_large: e.into().too_large,
            })?;
            size += chunk.len() as u64;
            if size > max {
                return Err(UploadError::TooLarge(field.to_owned(), max));
            }
            pending.extend_from_slice(&chunk);
            if format.is_none() && pending.len() >= sep9::SNIFF_LEN {
                format = Some(sep9::check_file(field, accept, &pending)?);
            }
            // Seal every full chunk but keep at least one byte back: the
            // last chunk must be sealed as the last.
            while pending.len() > CHUNK {
                let sealed = sealer.seal_chunk(&pending[..CHUNK]);
                writer.write(&sealed).await?;
                pending.drain(..CHUNK);
            }
        }
        if format.is_none() {
            format = Some(sep9::check_file(field, accept, &pending)?);
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            writer.write(&sealer.seal_last(&pending)).await?;
            writer.finish().await?;
            Ok(Stored {
                data_key: vault.wrap(&dek, &key_owner(&id)),
                id,
                format: format.expect("checked above"),
                size,
                blob,
            })
        }
        Err(e) => {
            writer.abort().await;
            Err(e)
        }
    }
}

/// What a body stream's error says about its cause.
#[derive(Debug)]
pub struct BodyError {
    /// The body limit was exceeded.
    pub too_large: bool,
}

impl From<axum::extract::multipart::MultipartError> for BodyError {
    fn from(e: axum::extract::multipart::MultipartError) -> Self {
        BodyError {
            too_large: e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        }
    }
}

impl From<std::convert::Infallible> for BodyError {
    fn from(e: std::convert::Infallible) -> Self {
        match e {}
    }
}

/// Reads a stored document back, decrypted, into memory (for the admin
/// API's downloads, which are bounded by the upload limit).
pub async fn read_all(
    blobs: &Blobs,
    vault: &Vault,
    file_id: &str,
    wrapped_key: &[u8],
    blob: &str,
) -> Result<Vec<u8>, ReadError> {
    let dek = vault.unwrap(wrapped_key, &key_owner(file_id))?;
    let (size, mut stream) = blobs.read(blob).await?;
    let mut sealed = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    while let Some(chunk) = stream.next().await {
        sealed.extend_from_slice(&chunk?);
    }
    if sealed.len() < STREAM_HEADER + TAG {
        return Err(ReadError::Vault(VaultError::Unauthentic));
    }
    let mut opener = dek.document_opener(file_id, &sealed[..STREAM_HEADER])?;
    let body = &sealed[STREAM_HEADER..];
    let frame = CHUNK + TAG;
    let mut out = Vec::with_capacity(body.len());
    let mut frames = body.chunks(frame).peekable();
    while let Some(f) = frames.next() {
        // A body that is an exact multiple of the frame size ends with a
        // full frame that is the last one.
        let last = frames.peek().is_none();
        out.extend_from_slice(&opener.open_chunk(f, last)?);
    }
    Ok(out)
}

/// Why a stored document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] BlobError),
    /// The document or its key failed to authenticate.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl Customers {
    /// Removes the documents of a request that failed before they were recorded.
    pub async fn discard(&self, uploads: Vec<(Field, Stored)>) {
        for (_, s) in uploads {
            if let Err(e) = self.blobs().delete(&s.blob).await {
                tracing::warn!(error = %e, "could not remove the document of a refused upload");
            }
        }
    }

    /// Stores an upload for `POST /customer/files` (or a multipart PUT).
    pub async fn upload<S, E>(&self, field: &Field, body: S) -> Result<Stored, CustomerError>
    where
        S: futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        E: Into<BodyError>,
    {
        let crate::sep9::Kind::Binary(accept) = field.kind else {
            return Err(CustomerError::Invalid(format!(
                "'{}' is not a binary field",
                field.name
            )));
        };
        Ok(store(
            self.blobs(),
            self.vault(),
            field.name,
            accept,
            self.cfg().max_file_bytes,
            body,
        )
        .await?)
    }
}
