//! The document store, through `object_store`: a local folder by default,
//! any S3-compatible service when configured. Only ciphertext is written
//! here (see [`crate::vault`]); writes are streamed in parts, never held
//! whole in memory.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, WriteMultipart};
use secrecy::ExposeSecret as _;

use crate::config::{BlobStoreKind, Config};

/// Bytes buffered per part before it is sent: S3's minimum part size.
const S3_PART: usize = 5 * 1024 * 1024;
/// The same for a local folder.
const LOCAL_PART: usize = 1024 * 1024;
/// Parts in flight at once.
const IN_FLIGHT: usize = 2;

/// Why the document store failed. For logs only.
#[derive(Debug, thiserror::Error)]
#[error("document store: {0}")]
pub struct BlobError(#[from] object_store::Error);

impl BlobError {
    /// The object is not in the store.
    pub fn is_not_found(&self) -> bool {
        matches!(self.0, object_store::Error::NotFound { .. })
    }
}

/// The document store.
#[derive(Clone, Debug)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    part: usize,
}

impl Blobs {
    /// The store the configuration names; a local folder is created (0700).
    pub fn from_config(config: &Config) -> Result<Self, String> {
        let store: Arc<dyn ObjectStore> = match config.blobs.store {
            BlobStoreKind::Local => return Self::folder(&config.blobs_path()),
            BlobStoreKind::S3 => {
                let s3 = &config.blobs.s3;
                let mut b = AmazonS3Builder::new()
                    .with_bucket_name(&s3.bucket)
                    .with_allow_http(s3.allow_http);
                if let Some(r) = &s3.region {
                    b = b.with_region(r);
                }
                if let Some(e) = &s3.endpoint {
                    b = b.with_endpoint(e.as_str());
                }
                if let Some(k) = &s3.access_key_id {
                    b = b.with_access_key_id(k);
                }
                let secret = match (&s3.secret_access_key, &s3.secret_access_key_file) {
                    (Some(s), _) => Some(s.expose_secret().to_owned()),
                    (None, Some(f)) => Some(
                        std::fs::read_to_string(f)
                            .map_err(|e| {
                                format!("cannot read blobs.s3.secret_access_key_file: {e}")
                            })?
                            .trim()
                            .to_owned(),
                    ),
                    (None, None) => None,
                };
                if let Some(s) = secret {
                    b = b.with_secret_access_key(s);
                }
                Arc::new(b.build().map_err(|e| e.to_string())?)
            }
        };
        // S3 needs parts of at least 5 MiB (but the last); a folder takes
        // any size, and smaller parts hold less in memory per upload.
        let part = match config.blobs.store {
            BlobStoreKind::Local => LOCAL_PART,
            BlobStoreKind::S3 => S3_PART,
        };
        Ok(Blobs { store, part })
    }

    /// A local folder, created (0700) if missing.
    pub fn folder(path: &std::path::Path) -> Result<Self, String> {
        crate::secrets::create_private_dir(path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let store = LocalFileSystem::new_with_prefix(path).map_err(|e| e.to_string())?;
        Ok(Blobs {
            store: Arc::new(store),
            part: LOCAL_PART,
        })
    }

    /// Starts writing the object at `path`.
    pub async fn writer(&self, path: &str) -> Result<BlobWriter, BlobError> {
        let upload = self.store.put_multipart(&Path::from(path)).await?;
        Ok(BlobWriter {
            inner: WriteMultipart::new_with_chunk_size(upload, self.part),
        })
    }

    /// The object at `path`, as a stream of byte chunks, and its size.
    pub async fn read(
        &self,
        path: &str,
    ) -> Result<(u64, BoxStream<'static, Result<Bytes, BlobError>>), BlobError> {
        let got = self.store.get(&Path::from(path)).await?;
        let size = got.meta.size;
        Ok((
            size,
            got.into_stream().map(|r| r.map_err(BlobError)).boxed(),
        ))
    }

    /// Deletes the object at `path`; an object already gone is not an error.
    pub async fn delete(&self, path: &str) -> Result<(), BlobError> {
        match self.store.delete(&Path::from(path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(BlobError(e)),
        }
    }
}

/// An object being written, in parts.
pub struct BlobWriter {
    inner: WriteMultipart,
}

impl BlobWriter {
    /// Appends bytes; waits when too many parts are in flight, so memory
    /// stays bounded however large the object.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        self.inner.wait_for_capacity(IN_FLIGHT).await?;
        self.inner.write(bytes);
        Ok(())
    }

    /// Completes the object.
    pub async fn finish(self) -> Result<(), BlobError> {
        self.inner.finish().await?;
        Ok(())
    }

    /// Abandons the object: nothing is left behind.
    pub async fn abort(self) {
        if let Err(e) = self.inner.abort().await {
            tracing::warn!(error = %e, "could not abort a partial document upload");
        }
    }
}
