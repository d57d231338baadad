//! Pushing a named image from the store to a registry over the registry
//! API (oci-client), as `docker push` does: blobs the registry already
//! has are skipped, the others streamed from their files (one PUT each,
//! up to three at a time, with progress), then the manifests with their
//! exact bytes and media types, so the registry's digest is the store's.
//!
//! A name that points at an index pushes every manifest it lists (each
//! by digest) before the index; a name that points at a platform's
//! manifest (what a pull names) pushes that manifest alone. Pushes go to
//! the target's registry itself, never a mirror.

use crate::gc;
use crate::name::ImageName;
use crate::pull::Progress;
use crate::registries::{Credentials, Registries};
use crate::store::{self, Store};
use futures::{StreamExt, TryStreamExt};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use oci_spec::image::{Descriptor, Digest};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Blobs checked or sent at once.
const PARALLEL: usize = 3;
/// Bytes read from a blob file per chunk sent.
const CHUNK: usize = 256 << 10;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("image {0:?} not found")]
    NotFound(String),
    #[error("failed to push {name:?}: {source}")]
    Store { name: String, source: store::Error },
    #[error("failed to push {name:?} to {target:?}: the target's digest is {wanted}, but the image is {actual}")]
    Digest { name: String, target: String, wanted: String, actual: String },
    #[error("failed to push {target:?}: checking for blob {digest}: {source}")]
    Check { target: String, digest: Digest, source: Box<oci_client::errors::OciDistributionError> },
    #[error("failed to push {target:?}: blob {digest}: {source}")]
    Blob { target: String, digest: Digest, source: Box<oci_client::errors::OciDistributionError> },
    #[error("failed to push {target:?}: manifest {digest}: {source}")]
    Manifest { target: String, digest: Digest, source: Box<oci_client::errors::OciDistributionError> },
    #[error("failed to push {target:?}: media type {media_type:?} of {digest} is not a valid header")]
    MediaType { target: String, digest: Digest, media_type: String },
    #[error("failed to push {name:?}: {why}")]
    Task { name: String, why: String },
}

/// A finished push.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The name pushed to.
    pub target: String,
    /// What the target names now: the root manifest's or index's digest.
    pub digest: Digest,
    /// Bytes sent (0 when the registry had every blob).
    pub sent: u64,
    /// The image's size: its manifests, configs and layers.
    pub size: u64,
}

/// Pushes images from one store. Cheap to clone.
#[derive(Clone)]
pub struct Pusher {
    client: Client,
    store: Store,
}

impl Pusher {
    pub fn new(store: Store, registries: &Registries) -> Pusher {
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(registries.plain_http_hosts()),
            platform_resolver: None,
            // One PUT per blob whose body streams from the file; the
            // chunked alternative needs the registry to honour ranges.
            use_monolithic_push: true,
            connect_timeout: Some(Duration::from_secs(15)),
            read_timeout: Some(Duration::from_secs(60)),
            user_agent: concat!("nubis/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        };
        let _ = rustls::crypto::ring::default_provider().install_default();
        Pusher { client: Client::new(config), store }
    }

    /// Pushes the image `name` names in the store to `target` (the same
    /// name when pushing where it came from).
    pub async fn push(&self, name: &ImageName, target: &ImageName, credentials: &Credentials, progress: &(dyn Fn(Progress) + Send + Sync)) -> Result<Pushed, Error> {
        let shown = name.to_string();
        let target_shown = target.to_string();
        let store = self.store.clone();
        let full = shown.clone();
        let content = tokio::task::spawn_blocking(move || {
            let image = store.get(&full).map_err(|source| Error::Store { name: full.clone(), source })?.ok_or_else(|| Error::NotFound(full.clone()))?;
            gc::content(&store, &image.manifest, false).map_err(|source| Error::Store { name: full.clone(), source })
        })
        .await
        .map_err(|e| Error::Task { name: shown.clone(), why: e.to_string() })??;
        let root = content.root.digest().clone();
        if let Some(wanted) = &target.digest
            && *wanted != root.to_string()
        {
            return Err(Error::Digest { name: shown, target: target_shown, wanted: wanted.clone(), actual: root.to_string() });
        }
        let reference = match (&target.tag, &target.digest) {
            (Some(t), _) => Reference::with_tag(target.registry.clone(), target.repository.clone(), t.clone()),
            (None, Some(d)) => Reference::with_digest(target.registry.clone(), target.repository.clone(), d.clone()),
            (None, None) => Reference::with_tag(target.registry.clone(), target.repository.clone(), "latest".into()),
        };
        let auth = match credentials.for_registry(&target.registry) {
            Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.clone()),
            None => RegistryAuth::Anonymous,
        };
        self.client.store_auth_if_needed(reference.resolve_registry(), &auth).await;

        let present: Vec<bool> = futures::stream::iter(content.blobs.iter().map(|d| {
            let reference = &reference;
            let target = &target_shown;
            async move {
                self.client
                    .blob_exists(reference, d.digest().as_ref())
                    .await
                    .map_err(|source| Error::Check { target: target.clone(), digest: d.digest().clone(), source: Box::new(source) })
            }
        }))
        .buffered(PARALLEL)
        .try_collect()
        .await?;
        progress(Progress::Resolved { manifest: root.clone(), blobs: content.blobs.iter().zip(&present).map(|(d, p)| (d.digest().clone(), d.size(), *p)).collect() });
        let missing: Vec<&Descriptor> = content.blobs.iter().zip(&present).filter(|(_, p)| !**p).map(|(d, _)| d).collect();
        let sent: Vec<u64> = futures::stream::iter(missing.into_iter().map(|d| self.send(&reference, &target_shown, d, progress)))
            .buffer_unordered(PARALLEL)
            .try_collect()
            .await?;

        for (descriptor, bytes) in &content.manifests {
            let is_root = descriptor.digest() == content.root.digest();
            let at = if is_root { reference.clone() } else { reference.clone_with_digest(descriptor.digest().to_string()) };
            let media_type = declared_type(bytes).unwrap_or_else(|| descriptor.media_type().to_string());
            let header = http::HeaderValue::from_str(&media_type).map_err(|_| Error::MediaType { target: target_shown.clone(), digest: descriptor.digest().clone(), media_type: media_type.clone() })?;
            self.client
                .push_manifest_raw(&at, bytes.clone(), header)
                .await
                .map_err(|source| Error::Manifest { target: target_shown.clone(), digest: descriptor.digest().clone(), source: Box::new(source) })?;
        }
        tracing::info!(image = %shown, target = %target_shown, digest = %root, "pushed");
        Ok(Pushed { target: target_shown, digest: root, sent: sent.iter().sum(), size: content.size() })
    }

    /// Streams one blob from its file to the registry; answers the bytes sent.
    async fn send(&self, reference: &Reference, target: &str, blob: &Descriptor, progress: &(dyn Fn(Progress) + Send + Sync)) -> Result<u64, Error> {
        let path = self.store.blob_path(blob.digest());
        let store_err = |source| Error::Store { name: target.to_string(), source };
        let file = tokio::fs::File::open(&path).await.map_err(|source| store_err(store::Error::Io { path: path.clone(), source }))?;
        let total = blob.size();
        let (tx, mut rx) = tokio::sync::watch::channel(0u64);
        let stream = futures::stream::try_unfold((file, tx, 0u64), move |(mut file, tx, done)| async move {
            let mut buf = vec![0u8; CHUNK];
            let n = file.read(&mut buf).await?;
            if n == 0 {
                return Ok(None);
            }
            buf.truncate(n);
            let done = done + n as u64;
            tx.send_replace(done);
            Ok(Some((bytes::Bytes::from(buf), (file, tx, done))))
        })
        .map_err(oci_client::errors::OciDistributionError::IoError);
        let push = self.client.push_blob_stream(reference, stream, blob.digest().as_ref(), Some(total));
        tokio::pin!(push);
        let mut watching = true;
        let result = loop {
            tokio::select! {
                r = &mut push => break r,
                changed = rx.changed(), if watching => match changed {
                    Ok(()) => {
                        let done = *rx.borrow_and_update();
                        progress(Progress::Bytes { blob: blob.digest().clone(), done, total });
                    }
                    Err(_) => watching = false,
                },
            }
        };
        result.map_err(|source| Error::Blob { target: target.to_string(), digest: blob.digest().clone(), source: Box::new(source) })?;
        progress(Progress::Bytes { blob: blob.digest().clone(), done: total, total });
        progress(Progress::Done { blob: blob.digest().clone() });
        Ok(total)
    }
}

/// The `mediaType` a manifest or index declares in its bytes.
fn declared_type(bytes: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(bytes).ok()?.get("mediaType")?.as_str().map(str::to_string)
}
