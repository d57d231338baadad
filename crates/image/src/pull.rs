//! Pulling an image into the store over the registry API (oci-client):
//! the name's mirrors first, then its registry; a multi-arch index
//! resolved to this node's platform; the config and each missing layer
//! streamed into the store, verified against its digest, up to three at
//! a time, with progress reported as bytes arrive. Blobs already in the
//! store are not fetched again, so a pull of a present image costs one
//! manifest request.

use crate::digest;
use crate::name::ImageName;
use crate::platform::Platform;
use crate::registries::{Credentials, Endpoint, Registries};
use crate::store::{self, Image, Store};
use futures::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use std::collections::HashMap;
use std::sync::Arc;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use oci_spec::image::{Descriptor, Digest, ImageIndex, ImageManifest, MediaType};
use std::str::FromStr;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Manifest kinds asked for, newest first.
const ACCEPT: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];
/// Blobs fetched at once.
const PARALLEL: usize = 3;
/// Manifests and configs are small; a larger one is refused unread.
const MAX_MANIFEST: usize = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to resolve reference {name:?}: {source}")]
    Resolve { name: String, source: Box<oci_client::errors::OciDistributionError> },
    #[error("failed to pull {name:?}: blob {digest}: {source}")]
    Blob { name: String, digest: String, source: Box<oci_client::errors::OciDistributionError> },
    #[error("failed to pull {name:?}: no manifest for {platform} in its index")]
    NoPlatform { name: String, platform: Platform },
    #[error("failed to pull {name:?}: {why}")]
    Manifest { name: String, why: String },
    #[error("failed to pull {name:?}: {source}")]
    Store { name: String, source: store::Error },
    #[error("failed to pull {name:?}: reading the blob stream: {source}")]
    Stream { name: String, source: std::io::Error },
}

/// What a pull reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The manifest is known: the blobs to have, with their sizes, and
    /// which are already in the store.
    Resolved { manifest: Digest, blobs: Vec<(Digest, u64, bool)> },
    /// Bytes of one blob so far.
    Bytes { blob: Digest, done: u64, total: u64 },
    /// One blob is in the store, verified.
    Done { blob: Digest },
}

/// A finished pull.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub image: Image,
    /// Bytes fetched (0 when every blob was present).
    pub fetched: u64,
    /// The image's size: config and layers, compressed.
    pub size: u64,
    /// Where it came from (a mirror, or the registry).
    pub from: String,
}

/// Whose credentials a registry client holds (`None`: anonymous).
type ClientKey = Option<(String, String)>;

/// Pulls images into one store. Cheap to clone.
#[derive(Clone)]
pub struct Puller {
    /// One registry client per set of credentials: a client keeps the
    /// first credentials it is given for a registry, and its tokens, so
    /// sharing one would let a pull without a pod's pull secret ride on
    /// another pod's (or fail on another's anonymous attempt).
    clients: Arc<parking_lot::Mutex<HashMap<ClientKey, Client>>>,
    registries: Registries,
    store: Store,
    platform: Platform,
}

impl Puller {
    pub fn new(store: Store, registries: Registries) -> Puller {
        // reqwest's rustls has no provider of its own here: ring, the one
        // every other TLS user in Nubis has (already installed is fine).
        let _ = rustls::crypto::ring::default_provider().install_default();
        Puller { clients: Arc::default(), registries, store, platform: Platform::host() }
    }

    /// The client for pulls with `auth`.
    fn client(&self, auth: &RegistryAuth) -> Client {
        let key: ClientKey = match auth {
            RegistryAuth::Basic(user, password) => Some((user.clone(), password.clone())),
            _ => None,
        };
        let mut clients = self.clients.lock();
        clients
            .entry(key)
            .or_insert_with(|| {
                Client::new(ClientConfig {
                    protocol: ClientProtocol::HttpsExcept(self.registries.plain_http_hosts()),
                    // Indexes are resolved here, to this node's platform.
                    platform_resolver: None,
                    connect_timeout: Some(Duration::from_secs(15)),
                    read_timeout: Some(Duration::from_secs(60)),
                    user_agent: concat!("nubis/", env!("CARGO_PKG_VERSION")),
                    ..ClientConfig::default()
                })
            })
            .clone()
    }

    /// For tests: pretend to be another platform.
    pub fn with_platform(mut self, platform: Platform) -> Puller {
        self.platform = platform;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Pulls `name`, trying its mirrors first, and names it in the store.
    pub async fn pull(&self, name: &ImageName, credentials: &Credentials, progress: &(dyn Fn(Progress) + Send + Sync)) -> Result<Pulled, Error> {
        let mut last = None;
        for endpoint in self.registries.endpoints(name) {
            match self.pull_from(name, &endpoint, credentials, progress).await {
                Ok(p) => return Ok(p),
                Err(e) => {
                    tracing::info!(image = %name, endpoint = %endpoint.host, error = %e, "pull failed here");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::Manifest { name: name.to_string(), why: "no registry to pull from".into() }))
    }

    async fn pull_from(&self, name: &ImageName, endpoint: &Endpoint, credentials: &Credentials, progress: &(dyn Fn(Progress) + Send + Sync)) -> Result<Pulled, Error> {
        let shown = name.to_string();
        let reference = match (&name.tag, &name.digest) {
            (_, Some(d)) => Reference::with_digest(endpoint.host.clone(), name.repository.clone(), d.clone()),
            (Some(t), None) => Reference::with_tag(endpoint.host.clone(), name.repository.clone(), t.clone()),
            (None, None) => Reference::with_tag(endpoint.host.clone(), name.repository.clone(), "latest".into()),
        };
        let auth = match credentials.for_registry(&endpoint.host).or_else(|| credentials.for_registry(&name.registry)) {
            Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.clone()),
            None => RegistryAuth::Anonymous,
        };
        let client = self.client(&auth);
        let resolve_err = |source| Error::Resolve { name: shown.clone(), source: Box::new(source) };
        let manifest_err = |why: String| Error::Manifest { name: shown.clone(), why };
        let store_err = |source| Error::Store { name: shown.clone(), source };

        let (bytes, digest) = client.pull_manifest_raw(&reference, &auth, ACCEPT).await.map_err(resolve_err)?;
        if bytes.len() > MAX_MANIFEST {
            return Err(manifest_err(format!("the manifest is {} bytes, over the {MAX_MANIFEST}-byte limit", bytes.len())));
        }
        let repo_digest = Digest::from_str(&digest).map_err(|e| manifest_err(e.to_string()))?;
        let (manifest_bytes, manifest_digest, manifest_type) = match media_type(&bytes) {
            Kind::Index => {
                let index: ImageIndex = serde_json::from_slice(&bytes).map_err(|e| manifest_err(format!("the index: {e}")))?;
                let chosen = self.platform.choose(&index).ok_or_else(|| Error::NoPlatform { name: shown.clone(), platform: self.platform.clone() })?;
                self.store.put_bytes(&bytes, Some(&repo_digest)).map_err(store_err)?;
                let by_digest = reference.clone_with_digest(chosen.digest().to_string());
                let (bytes, digest) = client.pull_manifest_raw(&by_digest, &auth, ACCEPT).await.map_err(resolve_err)?;
                if bytes.len() > MAX_MANIFEST || media_type(&bytes) != Kind::Manifest {
                    return Err(manifest_err(format!("the index's entry {digest} is not an image manifest")));
                }
                (bytes, Digest::from_str(&digest).map_err(|e| manifest_err(e.to_string()))?, chosen.media_type().clone())
            }
            Kind::Manifest => (bytes.clone(), repo_digest.clone(), declared_type(&bytes)),
            Kind::Unknown => return Err(manifest_err("the registry answered with neither an image manifest nor an index".into())),
        };
        let manifest: ImageManifest = serde_json::from_slice(&manifest_bytes).map_err(|e| manifest_err(format!("the manifest: {e}")))?;

        let blobs: Vec<&Descriptor> = std::iter::once(manifest.config()).chain(manifest.layers()).collect();
        let size: u64 = blobs.iter().map(|d| d.size()).sum();
        progress(Progress::Resolved { manifest: manifest_digest.clone(), blobs: blobs.iter().map(|d| (d.digest().clone(), d.size(), self.store.has_blob(d))).collect() });
        let missing: Vec<&Descriptor> = blobs.into_iter().filter(|d| !self.store.has_blob(d)).collect();
        // The futures are made before the stream, not by a closure inside
        // it: a closure over borrowed descriptors would make this future
        // Send for one lifetime only, and callers spawn it.
        let mut fetches = Vec::with_capacity(missing.len());
        for d in missing {
            fetches.push(self.fetch(&client, &reference, &shown, d, progress));
        }
        // Every fetch runs to its end even when one fails: a fetch dropped
        // half way could leave a file its ingest never removes.
        let results: Vec<Result<u64, Error>> = futures::stream::iter(fetches).buffer_unordered(PARALLEL).collect().await;
        let fetched: Vec<u64> = results.into_iter().collect::<Result<_, _>>()?;

        self.store.put_bytes(&manifest_bytes, Some(&manifest_digest)).map_err(store_err)?;
        let descriptor = Descriptor::new(manifest_type, manifest_bytes.len() as u64, manifest_digest);
        let store = self.store.clone();
        let (named, desc, repo) = (name.clone(), descriptor.clone(), repo_digest.clone());
        tokio::task::spawn_blocking(move || store.set(&named, &desc, &repo))
            .await
            .map_err(|e| manifest_err(e.to_string()))?
            .map_err(store_err)?;
        Ok(Pulled { image: Image { name: shown, manifest: descriptor, repo_digest }, fetched: fetched.iter().sum(), size, from: endpoint.host.clone() })
    }

    /// Streams one blob into the store; answers the bytes fetched.
    async fn fetch(&self, client: &Client, reference: &Reference, shown: &str, blob: &Descriptor, progress: &(dyn Fn(Progress) + Send + Sync)) -> Result<u64, Error> {
        let digest = blob.digest().to_string();
        let blob_err = |source| Error::Blob { name: shown.to_string(), digest: digest.clone(), source: Box::new(source) };
        let store_err = |source| Error::Store { name: shown.to_string(), source };
        let mut stream = client.pull_blob_stream(reference, digest.as_str()).await.map_err(blob_err)?;
        let mut ingest = self.store.ingest_async().await.map_err(store_err)?;
        let total = blob.size();
        let mut last_report = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|source| Error::Stream { name: shown.to_string(), source })?;
            if ingest.written() + chunk.len() as u64 > total {
                return Err(store_err(store::Error::SizeMismatch { digest: blob.digest().clone(), expected: total, actual: ingest.written() + chunk.len() as u64 }));
            }
            ingest.writer().write_all(&chunk).await.map_err(|source| Error::Stream { name: shown.to_string(), source })?;
            let done = ingest.written();
            // Every 256 KiB, not every chunk.
            if done - last_report >= 256 << 10 || done == total {
                last_report = done;
                progress(Progress::Bytes { blob: blob.digest().clone(), done, total });
            }
        }
        let fetched = ingest.written();
        ingest.commit(Some(blob.digest()), Some(total)).await.map_err(store_err)?;
        progress(Progress::Done { blob: blob.digest().clone() });
        Ok(fetched)
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Index,
    Manifest,
    Unknown,
}

/// An index or a manifest, by its `mediaType` or, when it has none (OCI
/// makes it optional), by its shape.
fn media_type(bytes: &[u8]) -> Kind {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Shape {
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
        layers: Option<serde_json::Value>,
    }
    let Ok(shape) = serde_json::from_slice::<Shape>(bytes) else { return Kind::Unknown };
    match shape.media_type.as_deref() {
        Some("application/vnd.oci.image.index.v1+json" | "application/vnd.docker.distribution.manifest.list.v2+json") => Kind::Index,
        Some("application/vnd.oci.image.manifest.v1+json" | "application/vnd.docker.distribution.manifest.v2+json") => Kind::Manifest,
        Some(_) => Kind::Unknown,
        None if shape.manifests.is_some() => Kind::Index,
        None if shape.layers.is_some() => Kind::Manifest,
        None => Kind::Unknown,
    }
}

/// The manifest's declared media type (OCI's when it declares none).
fn declared_type(bytes: &[u8]) -> MediaType {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v.get("mediaType").and_then(|m| m.as_str()).map(MediaType::from))
        .unwrap_or(MediaType::ImageManifest)
}

/// The digest and size of bytes as a descriptor (for tests and imports).
pub fn descriptor_of(media_type: MediaType, bytes: &[u8]) -> Descriptor {
    Descriptor::new(media_type, bytes.len() as u64, digest::of(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_tells_indexes_from_manifests() {
        assert_eq!(media_type(br#"{"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}"#), Kind::Index);
        assert_eq!(media_type(br#"{"schemaVersion":2,"manifests":[]}"#), Kind::Index);
        assert_eq!(media_type(br#"{"schemaVersion":2,"config":{},"layers":[]}"#), Kind::Manifest);
        assert_eq!(media_type(br#"{"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"}"#), Kind::Unknown);
        assert_eq!(media_type(b"<html>"), Kind::Unknown);
        assert_eq!(declared_type(br#"{"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}"#).to_string(), "application/vnd.docker.distribution.manifest.v2+json");
        assert_eq!(declared_type(br#"{"layers":[]}"#), MediaType::ImageManifest);
    }
}
