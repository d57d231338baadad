//! The content store: an OCI image layout under the data dir, so what
//! `nubis image export` writes and any OCI tool reads is the store itself.
//!
//! ```text
//! images/oci-layout          {"imageLayoutVersion": "1.0.0"}
//! images/index.json          one manifest descriptor per image name
//! images/blobs/sha256/<hex>  manifests, configs, layers, verified
//! images/ingest/             blobs being written
//! images/layers/             unpacked layers (see `layers`)
//! images/lock                held while index.json changes
//! ```
//!
//! A blob lands under its digest only after its bytes hashed to it and
//! were fsynced, by a rename; `index.json` is replaced the same way under
//! an exclusive lock, so a crash leaves either the old or the new index and
//! never a name pointing at a missing or partial blob. Names in the index
//! carry containerd's annotation (`io.containerd.image.name`, the full
//! name) beside OCI's `org.opencontainers.image.ref.name` (the tag), as
//! `ctr export` writes them.

use crate::digest::{Hasher, HashingWriter};
use crate::name::ImageName;
use oci_spec::image::{Descriptor, Digest, ImageIndex, ImageIndexBuilder, ImageManifest, MediaType};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

/// The full name of an image in the index.
pub const NAME_ANNOTATION: &str = "io.containerd.image.name";
/// The tag of an image in the index (OCI's image layout annotation).
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
/// The digest the registry gave for the name (of an index, when the name
/// resolved to one), from which Kubernetes' `imageID` is made.
pub const REPO_DIGEST_ANNOTATION: &str = "io.nubis.image.repo-digest";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("blob {expected}: its content hashes to {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("blob {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch { digest: Digest, expected: u64, actual: u64 },
    #[error("blob {0} is not in the store")]
    MissingBlob(Digest),
    #[error("image {0:?} not found")]
    NotFound(String),
    #[error("{what}: {source}")]
    Json { what: String, source: serde_json::Error },
    #[error("{0}")]
    Spec(#[from] oci_spec::OciSpecError),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

/// One named image.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub name: String,
    /// The image manifest for this node's platform.
    pub manifest: Descriptor,
    /// What the registry calls the name's content (an index's digest when
    /// the name is multi-arch); the manifest's own digest otherwise.
    pub repo_digest: Digest,
}

/// The content store. Cheap to clone; safe to share between threads and
/// with other processes on the same data dir (the CLI beside `nubis up`).
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// Unique names for ingest files within this process.
static INGEST: AtomicU64 = AtomicU64::new(0);

impl Store {
    /// Opens (creating as needed) the store under `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store, Error> {
        let root = root.into();
        for dir in [root.join("blobs/sha256"), root.join("ingest"), root.join("layers")] {
            fs::create_dir_all(&dir).map_err(io_at(&dir))?;
        }
        let layout = root.join("oci-layout");
        if !layout.exists() {
            write_atomic(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        let store = Store { root };
        if !store.root.join("index.json").exists() {
            let _lock = store.lock()?;
            store.write_index(&[])?;
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join(digest.algorithm().as_ref()).join(digest.digest())
    }

    /// Whether the blob is present with the descriptor's size.
    pub fn has_blob(&self, descriptor: &Descriptor) -> bool {
        fs::metadata(self.blob_path(descriptor.digest())).is_ok_and(|m| m.len() == descriptor.size())
    }

    /// A blob's bytes (manifests and configs; layers are streamed).
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, Error> {
        let path = self.blob_path(digest);
        match fs::read(&path) {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::MissingBlob(digest.clone())),
            Err(e) => Err(io_at(&path)(e)),
        }
    }

    /// A blob decoded as JSON.
    pub fn read_json<T: serde::de::DeserializeOwned>(&self, digest: &Digest) -> Result<T, Error> {
        let bytes = self.read_blob(digest)?;
        serde_json::from_slice(&bytes).map_err(|source| Error::Json { what: format!("blob {digest}"), source })
    }

    /// Stores `bytes`, checked against `expected` when given.
    pub fn put_bytes(&self, bytes: &[u8], expected: Option<&Digest>) -> Result<Digest, Error> {
        let mut ingest = self.ingest()?;
        ingest.write_all(bytes).map_err(io_at(&ingest.path))?;
        ingest.commit(expected, Some(bytes.len() as u64))
    }

    /// Stores what `reader` yields, checked against `expected`.
    pub fn put_reader(&self, reader: &mut impl Read, expected: Option<&Digest>, size: Option<u64>) -> Result<Digest, Error> {
        let mut ingest = self.ingest()?;
        io::copy(reader, &mut ingest).map_err(io_at(&ingest.path))?;
        ingest.commit(expected, size)
    }

    /// A new blob being written.
    pub fn ingest(&self) -> Result<Ingest, Error> {
        let path = self.ingest_path();
        let file = File::create(&path).map_err(io_at(&path))?;
        Ok(Ingest { store: self.clone(), path, writer: HashingWriter::new(file) })
    }

    /// A new blob being written from async code (a pull's stream).
    pub async fn ingest_async(&self) -> Result<AsyncIngest, Error> {
        let path = self.ingest_path();
        let file = tokio::fs::File::create(&path).await.map_err(io_at(&path))?;
        Ok(AsyncIngest { store: self.clone(), path, writer: HashingWriter::new(file) })
    }

    fn ingest_path(&self) -> PathBuf {
        let n = INGEST.fetch_add(1, Ordering::Relaxed);
        self.root.join("ingest").join(format!("{}-{n}", std::process::id()))
    }

    /// Moves a written, synced file under its digest after checking it.
    fn land(&self, path: &Path, hasher: Hasher, expected: Option<&Digest>, size: Option<u64>) -> Result<Digest, Error> {
        let len = hasher.len();
        let actual = hasher.finish();
        let checked = (|| {
            if let Some(expected) = expected
                && *expected != actual
            {
                return Err(Error::DigestMismatch { expected: expected.clone(), actual: actual.clone() });
            }
            if let Some(size) = size
                && size != len
            {
                return Err(Error::SizeMismatch { digest: actual.clone(), expected: size, actual: len });
            }
            Ok(())
        })();
        if let Err(e) = checked {
            let _ = fs::remove_file(path);
            return Err(e);
        }
        let target = self.blob_path(&actual);
        fs::rename(path, &target).map_err(io_at(&target))?;
        sync_dir(target.parent().unwrap_or(&self.root))?;
        Ok(actual)
    }

    /// Every named image, in index order.
    pub fn images(&self) -> Result<Vec<Image>, Error> {
        Ok(self.read_index()?.manifests().iter().filter_map(image_of).collect())
    }

    /// The image named `name` (a full name, as `ImageName` prints it).
    pub fn get(&self, name: &str) -> Result<Option<Image>, Error> {
        Ok(self.images()?.into_iter().find(|i| i.name == name))
    }

    /// Names `manifest` as `name`, replacing what the name meant before.
    pub fn set(&self, name: &ImageName, manifest: &Descriptor, repo_digest: &Digest) -> Result<(), Error> {
        if !self.has_blob(manifest) {
            return Err(Error::MissingBlob(manifest.digest().clone()));
        }
        let _lock = self.lock()?;
        let mut entries = self.read_index()?.manifests().clone();
        let full = name.to_string();
        entries.retain(|d| annotation(d, NAME_ANNOTATION) != Some(full.as_str()));
        let mut entry = manifest.clone();
        let mut annotations: HashMap<String, String> = HashMap::new();
        annotations.insert(NAME_ANNOTATION.into(), full);
        annotations.insert(REF_NAME_ANNOTATION.into(), name.tag_or_digest());
        annotations.insert(REPO_DIGEST_ANNOTATION.into(), repo_digest.to_string());
        entry.set_annotations(Some(annotations));
        entries.push(entry);
        self.write_index(&entries)
    }

    /// Forgets the name; its blobs stay until garbage collection.
    pub fn remove(&self, name: &str) -> Result<Image, Error> {
        let _lock = self.lock()?;
        let mut entries = self.read_index()?.manifests().clone();
        let at = entries.iter().position(|d| annotation(d, NAME_ANNOTATION) == Some(name)).ok_or_else(|| Error::NotFound(name.to_string()))?;
        let gone = entries.remove(at);
        self.write_index(&entries)?;
        image_of(&gone).ok_or_else(|| Error::NotFound(name.to_string()))
    }

    /// An image's manifest.
    pub fn manifest(&self, image: &Image) -> Result<ImageManifest, Error> {
        self.read_json(image.manifest.digest())
    }

    fn read_index(&self) -> Result<ImageIndex, Error> {
        let path = self.root.join("index.json");
        let bytes = fs::read(&path).map_err(io_at(&path))?;
        serde_json::from_slice(&bytes).map_err(|source| Error::Json { what: path.display().to_string(), source })
    }

    fn write_index(&self, entries: &[Descriptor]) -> Result<(), Error> {
        let index = ImageIndexBuilder::default().schema_version(2u32).media_type(MediaType::ImageIndex).manifests(entries.to_vec()).build()?;
        let bytes = serde_json::to_vec_pretty(&index).map_err(|source| Error::Json { what: "index.json".into(), source })?;
        write_atomic(&self.root.join("index.json"), &bytes)
    }

    /// The store's exclusive lock, held while the index changes (other
    /// processes on the same data dir wait for it).
    pub fn lock(&self) -> Result<Lock, Error> {
        let path = self.root.join("lock");
        let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io_at(&path))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).map_err(|e| io_at(&path)(e.into()))?;
        Ok(Lock { _file: file })
    }
}

/// Held while the store's index changes; released when dropped (closing
/// the file releases the lock).
pub struct Lock {
    _file: File,
}

fn annotation<'a>(d: &'a Descriptor, key: &str) -> Option<&'a str> {
    d.annotations().as_ref().and_then(|a| a.get(key)).map(String::as_str)
}

fn image_of(d: &Descriptor) -> Option<Image> {
    let name = annotation(d, NAME_ANNOTATION)?.to_string();
    let repo_digest = annotation(d, REPO_DIGEST_ANNOTATION).and_then(|s| Digest::from_str(s).ok()).unwrap_or_else(|| d.digest().clone());
    // The annotations are the index entry's, not the manifest's.
    let mut manifest = d.clone();
    manifest.set_annotations(None);
    Some(Image { name, manifest, repo_digest })
}

/// A blob being written: hashes as it goes, lands under its digest on
/// `commit`, and is removed if dropped uncommitted.
pub struct Ingest {
    store: Store,
    path: PathBuf,
    writer: HashingWriter<File>,
}

impl Write for Ingest {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

impl Ingest {
    /// Syncs, checks and lands the blob.
    pub fn commit(mut self, expected: Option<&Digest>, size: Option<u64>) -> Result<Digest, Error> {
        self.writer.inner.sync_all().map_err(io_at(&self.path))?;
        let hasher = std::mem::take(&mut self.writer.hasher);
        let path = std::mem::take(&mut self.path);
        self.store.land(&path, hasher, expected, size)
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// [`Ingest`] for async writers.
pub struct AsyncIngest {
    store: Store,
    path: PathBuf,
    writer: HashingWriter<tokio::fs::File>,
}

impl AsyncIngest {
    pub fn writer(&mut self) -> &mut HashingWriter<tokio::fs::File> {
        &mut self.writer
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.writer.hasher.len()
    }

    /// Syncs, checks and lands the blob.
    pub async fn commit(mut self, expected: Option<&Digest>, size: Option<u64>) -> Result<Digest, Error> {
        use tokio::io::AsyncWriteExt;
        self.writer.inner.flush().await.map_err(io_at(&self.path))?;
        self.writer.inner.sync_all().await.map_err(io_at(&self.path))?;
        let hasher = std::mem::take(&mut self.writer.hasher);
        let path = std::mem::take(&mut self.path);
        let store = self.store.clone();
        let expected = expected.cloned();
        tokio::task::spawn_blocking(move || store.land(&path, hasher, expected.as_ref(), size))
            .await
            .map_err(|e| Error::Io { path: PathBuf::new(), source: io::Error::other(e) })?
    }
}

impl Drop for AsyncIngest {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Replaces `path` with `bytes` durably: a synced temporary file renamed
/// over it, then the directory synced.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.tmp-{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("file"), std::process::id()));
    let mut f = File::create(&tmp).map_err(io_at(&tmp))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(io_at(&tmp))?;
    fs::rename(&tmp, path).map_err(io_at(path))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_at(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> ImageName {
        ImageName::parse(s).expect("a name")
    }

    #[test]
    fn store_lands_verified_blobs_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path().join("images")).expect("opens");
        let d = store.put_bytes(b"layer", None).expect("stored");
        assert_eq!(store.read_blob(&d).expect("reads"), b"layer");
        assert!(store.has_blob(&Descriptor::new(MediaType::ImageLayerGzip, 5, d.clone())));
        assert!(!store.has_blob(&Descriptor::new(MediaType::ImageLayerGzip, 6, d.clone())), "the size must match");

        let wrong = crate::digest::of(b"other");
        let err = store.put_bytes(b"layer!", Some(&wrong)).expect_err("a digest mismatch");
        assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
        let err = store.put_bytes(b"layer", Some(&d)).and_then(|_| store.put_reader(&mut &b"layer"[..], Some(&d), Some(9))).expect_err("a size mismatch");
        assert!(matches!(err, Error::SizeMismatch { expected: 9, actual: 5, .. }), "{err}");
        assert!(!store.blob_path(&wrong).exists());
        assert_eq!(fs::read_dir(dir.path().join("images/ingest")).expect("lists").count(), 0, "nothing left in ingest");
    }

    #[test]
    fn store_names_images_in_an_oci_layout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("opens");
        let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0},"layers":[]}"#;
        let d = store.put_bytes(manifest, None).expect("stored");
        let desc = Descriptor::new(MediaType::ImageManifest, manifest.len() as u64, d.clone());
        store.set(&name("nginx"), &desc, &d).expect("named");
        store.set(&name("docker.io/library/nginx:latest"), &desc, &d).expect("renamed to the same");
        store.set(&name("registry.local:5000/app:v1"), &desc, &d).expect("named");
        let names: Vec<String> = store.images().expect("lists").into_iter().map(|i| i.name).collect();
        assert_eq!(names, ["docker.io/library/nginx:latest", "registry.local:5000/app:v1"]);

        let index: serde_json::Value = serde_json::from_slice(&fs::read(dir.path().join("index.json")).expect("reads")).expect("json");
        assert_eq!(index["schemaVersion"], 2);
        assert_eq!(index["manifests"][1]["annotations"][REF_NAME_ANNOTATION], "v1");
        assert_eq!(fs::read_to_string(dir.path().join("oci-layout")).expect("reads"), r#"{"imageLayoutVersion":"1.0.0"}"#);

        assert!(store.remove("docker.io/library/nginx:latest").is_ok());
        assert!(matches!(store.remove("docker.io/library/nginx:latest"), Err(Error::NotFound(_))));
        assert_eq!(store.images().expect("lists").len(), 1);
        let missing = Descriptor::new(MediaType::ImageManifest, 3, crate::digest::of(b"abc"));
        assert!(matches!(store.set(&name("x"), &missing, missing.digest()), Err(Error::MissingBlob(_))));
    }
}
