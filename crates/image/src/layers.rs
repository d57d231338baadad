//! Unpacked layers, one directory per layer named by its diff id, shared
//! by every image that has the layer: an image's root filesystem is these
//! directories stacked as overlayfs lower directories.
//!
//! A layer is unpacked into a temporary directory and renamed into place,
//! so a directory under its diff id is always complete; its diff id is
//! checked against the image config's before the rename.

use crate::store::{self, Store};
use crate::unpack;
use oci_spec::image::{Descriptor, Digest, ImageConfiguration};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("layer {layer}: {source}")]
    Unpack { layer: Digest, source: unpack::Error },
    #[error("layer {layer} unpacks to diff id {actual}, but the image config says {expected}")]
    DiffId { layer: String, expected: String, actual: String },
    #[error("the image has {layers} layers but its config lists {diff_ids} diff ids")]
    Count { layers: usize, diff_ids: usize },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

static TEMP: AtomicU64 = AtomicU64::new(0);

/// The unpacked layers under the store.
#[derive(Debug, Clone)]
pub struct Layers {
    store: Store,
    root: PathBuf,
    /// The most bytes one layer may unpack to.
    max_unpacked: u64,
}

impl Layers {
    pub fn new(store: &Store) -> Layers {
        Layers { store: store.clone(), root: store.root().join("layers"), max_unpacked: u64::MAX }
    }

    /// Refuses layers that unpack to more than `bytes` (decompression
    /// bombs, images too large for the node).
    pub fn with_max_unpacked(mut self, bytes: u64) -> Layers {
        self.max_unpacked = bytes;
        self
    }

    /// Where the layer with `diff_id` is (or would be) unpacked.
    pub fn path(&self, diff_id: &Digest) -> PathBuf {
        self.root.join(diff_id.digest())
    }

    /// The unpacked directory of `layer`, unpacking it now if needed.
    pub fn ensure(&self, layer: &Descriptor, diff_id: &Digest) -> Result<PathBuf, Error> {
        let target = self.path(diff_id);
        if target.is_dir() {
            return Ok(target);
        }
        let blob_path = self.store.blob_path(layer.digest());
        let blob = std::fs::File::open(&blob_path).map_err(|source| Error::Io { path: blob_path.clone(), source })?;
        let temp = self.root.join(format!(".unpacking-{}-{}", std::process::id(), TEMP.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir(&temp).map_err(|source| Error::Io { path: temp.clone(), source })?;
        let cleanup = |temp: &Path| {
            let _ = std::fs::remove_dir_all(temp);
        };
        let unpacked = match unpack::unpack_limited(std::io::BufReader::new(blob), &temp, self.max_unpacked) {
            Ok(u) => u,
            Err(source) => {
                cleanup(&temp);
                return Err(Error::Unpack { layer: layer.digest().clone(), source });
            }
        };
        if unpacked.diff_id != *diff_id {
            cleanup(&temp);
            return Err(Error::DiffId { layer: layer.digest().to_string(), expected: diff_id.to_string(), actual: unpacked.diff_id.to_string() });
        }
        if let Err(source) = std::fs::rename(&temp, &target) {
            cleanup(&temp);
            // Another unpacker got there first.
            if !target.is_dir() {
                return Err(Error::Io { path: target, source });
            }
        }
        Ok(target)
    }

    /// The image's layers unpacked, bottom first (overlayfs wants its
    /// lower directories top first: reverse them).
    pub fn for_image(&self, image: &store::Image) -> Result<Vec<PathBuf>, Error> {
        let manifest = self.store.manifest(image)?;
        let config: ImageConfiguration = self.store.read_json(manifest.config().digest())?;
        let diff_ids = config.rootfs().diff_ids();
        if diff_ids.len() != manifest.layers().len() {
            return Err(Error::Count { layers: manifest.layers().len(), diff_ids: diff_ids.len() });
        }
        manifest
            .layers()
            .iter()
            .zip(diff_ids)
            .map(|(layer, diff_id)| {
                let diff_id: Digest = diff_id.parse().map_err(store::Error::from)?;
                self.ensure(layer, &diff_id)
            })
            .collect()
    }
}
