//! Garbage collection of the store, so a node's disk does not fill with
//! images nobody names or runs: `prune` deletes what no name reaches, and
//! `collect` is the kubelet's image GC policy (remove unused images, least
//! recently used first, when the disk is over a high threshold, until it
//! is under a low one).
//!
//! **Reachability.** A name reaches the manifest or index it points at,
//! every manifest an index lists (those present), each manifest's config
//! and layers, the blob its repo digest names (the index a pull resolved),
//! and the unpacked layer directories (`layers/<diff id>`) of its
//! configs' diff ids. Manifests younger than the grace period count as
//! roots too: a pull or import lands its manifest before it names it.
//!
//! **Grace.** Nothing younger than the grace period (10 minutes; by the
//! file's ctime, which renames and writes update and a layer's tar cannot
//! set) is deleted, so blobs a pull or import has landed but not yet named
//! survive. One window stays open: a pull that finds an old, unnamed blob
//! present does not fetch it again, and a prune between that check and
//! the name would delete it; the node agent serialises its collections
//! with its pulls, and `nubis image prune` beside a pulling `nubis up`
//! has that small risk.
//!
//! **Last use.** `usage.json` beside `index.json` maps image names to the
//! time each was last pulled, imported or run (`record_use`; written
//! atomically under the store lock). An image with no record was last
//! used when its manifest landed.

use crate::name::ImageName;
use crate::store::{self, Image, Store, write_atomic};
use jiff::Timestamp;
use oci_spec::image::{Descriptor, Digest, ImageConfiguration, ImageIndex, ImageManifest, MediaType};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// How young a file must be to be safe from `prune`.
pub const GRACE: Duration = Duration::from_secs(10 * 60);
/// The last-use record, beside `index.json`.
pub const USAGE_FILE: &str = "usage.json";
/// Indexes inside indexes are followed this deep.
const MAX_DEPTH: usize = 4;
/// Manifests are small; a bigger blob is not read as one.
const MAX_MANIFEST: u64 = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("image {name:?}: {source}; nothing was deleted")]
    Image { name: String, source: store::Error },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: expected a JSON object of image names to times: {source}")]
    Usage { path: PathBuf, source: serde_json::Error },
    #[error("invalid image GC thresholds: expected low ({low}%) <= high ({high}%) <= 100%")]
    Thresholds { high: u8, low: u8 },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

/// What a descriptor points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Index,
    Manifest,
    Blob,
}

impl Kind {
    pub fn of(media_type: &MediaType) -> Kind {
        match media_type.to_string().as_str() {
            "application/vnd.oci.image.index.v1+json" | "application/vnd.docker.distribution.manifest.list.v2+json" => Kind::Index,
            "application/vnd.oci.image.manifest.v1+json" | "application/vnd.docker.distribution.manifest.v2+json" => Kind::Manifest,
            _ => Kind::Blob,
        }
    }
}

/// Everything one descriptor reaches in the store.
#[derive(Debug, Clone)]
pub struct Content {
    pub root: Descriptor,
    /// Manifests and indexes with their bytes, each listed before the
    /// index that lists it (the order a registry accepts them in).
    pub manifests: Vec<(Descriptor, Vec<u8>)>,
    /// The image manifests among them, decoded.
    pub images: Vec<(Descriptor, ImageManifest)>,
    /// Configs and layers, each once.
    pub blobs: Vec<Descriptor>,
}

impl Content {
    /// Every digest reached.
    pub fn digests(&self) -> impl Iterator<Item = &Digest> {
        self.manifests.iter().map(|(d, _)| d.digest()).chain(self.blobs.iter().map(|d| d.digest()))
    }

    /// Bytes of every blob reached.
    pub fn size(&self) -> u64 {
        self.manifests.iter().map(|(d, _)| d.size()).chain(self.blobs.iter().map(|d| d.size())).sum()
    }
}

/// What `root` reaches. With `missing_ok`, manifests an index lists but
/// the store lacks are skipped (a pulled index has one platform's);
/// without it they are an error, as are missing configs and layers.
pub fn content(store: &Store, root: &Descriptor, missing_ok: bool) -> Result<Content, store::Error> {
    let mut out = Content { root: root.clone(), manifests: Vec::new(), images: Vec::new(), blobs: Vec::new() };
    let mut seen = HashSet::new();
    walk(store, root, missing_ok, 0, &mut seen, &mut out)?;
    Ok(out)
}

fn walk(store: &Store, d: &Descriptor, missing_ok: bool, depth: usize, seen: &mut HashSet<Digest>, out: &mut Content) -> Result<(), store::Error> {
    if !seen.insert(d.digest().clone()) {
        return Ok(());
    }
    let kind = Kind::of(d.media_type());
    if kind == Kind::Blob {
        if !missing_ok && !store.has_blob(d) {
            return Err(store::Error::MissingBlob(d.digest().clone()));
        }
        out.blobs.push(d.clone());
        return Ok(());
    }
    let bytes = match store.read_blob(d.digest()) {
        Ok(b) => b,
        Err(store::Error::MissingBlob(_)) if missing_ok && depth > 0 => return Ok(()),
        Err(e) => return Err(e),
    };
    let json = |source| store::Error::Json { what: format!("{} {}", d.media_type(), d.digest()), source };
    match kind {
        Kind::Index => {
            let index: ImageIndex = serde_json::from_slice(&bytes).map_err(json)?;
            if depth < MAX_DEPTH {
                for child in index.manifests() {
                    walk(store, child, missing_ok, depth + 1, seen, out)?;
                }
            }
        }
        _ => {
            let manifest: ImageManifest = serde_json::from_slice(&bytes).map_err(json)?;
            for blob in std::iter::once(manifest.config()).chain(manifest.layers()) {
                walk(store, blob, missing_ok, depth + 1, seen, out)?;
            }
            out.images.push((d.clone(), manifest));
        }
    }
    out.manifests.push((d.clone(), bytes));
    Ok(())
}

/// What a prune deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Blobs deleted (and abandoned ingest files).
    pub blobs: usize,
    /// Unpacked layer directories deleted.
    pub layers: usize,
    /// Bytes of the files deleted.
    pub bytes: u64,
}

/// What the named images keep: blob digests and unpacked layers' names.
struct Reachable {
    blobs: HashSet<String>,
    layers: HashSet<String>,
}

fn reachable(store: &Store, images: &[Image]) -> Result<Reachable, Error> {
    let mut r = Reachable { blobs: HashSet::new(), layers: HashSet::new() };
    for image in images {
        r.blobs.insert(image.repo_digest.to_string());
        let err = |source| Error::Image { name: image.name.clone(), source };
        let content = match content(store, &image.manifest, true) {
            Ok(c) => c,
            // A name whose manifest is gone keeps nothing else.
            Err(store::Error::MissingBlob(d)) => {
                tracing::warn!(image = %image.name, manifest = %d, "image names a missing manifest");
                continue;
            }
            Err(e) => return Err(err(e)),
        };
        keep(store, &content, &mut r).map_err(err)?;
    }
    Ok(r)
}

fn keep(store: &Store, content: &Content, r: &mut Reachable) -> Result<(), store::Error> {
    r.blobs.extend(content.digests().map(ToString::to_string));
    for (_, manifest) in &content.images {
        let config: ImageConfiguration = match store.read_json(manifest.config().digest()) {
            Ok(c) => c,
            Err(store::Error::MissingBlob(_)) => continue,
            // Another kind of config (an artifact's) has no layers to unpack.
            Err(store::Error::Json { .. }) => continue,
            Err(e) => return Err(e),
        };
        for diff_id in config.rootfs().diff_ids() {
            if let Ok(d) = Digest::from_str(diff_id) {
                r.layers.insert(d.digest().to_string());
            }
        }
    }
    Ok(())
}

/// Seconds since the file's status last changed (0 when in the future).
fn age(meta: &fs::Metadata, now: Timestamp) -> Duration {
    Duration::from_secs(u64::try_from(now.as_second().saturating_sub(meta.ctime())).unwrap_or(0))
}

/// Deletes the blobs and unpacked layers no named image reaches, and
/// ingest files a crash left, leaving anything younger than `grace` and
/// any layer a mounted container root file system uses. Holds the store
/// lock throughout, so no name changes meanwhile.
pub fn prune(store: &Store, grace: Duration) -> Result<Pruned, Error> {
    let _lock = store.lock()?;
    let now = Timestamp::now();
    let images = store.images()?;
    let mut reach = reachable(store, &images)?;
    let mut pruned = Pruned::default();

    // Blobs, by algorithm directory.
    let blobs_dir = store.root().join("blobs");
    let mut doomed: Vec<(PathBuf, u64)> = Vec::new();
    for alg in fs::read_dir(&blobs_dir).map_err(io_at(&blobs_dir))? {
        let alg = alg.map_err(io_at(&blobs_dir))?;
        let alg_name = alg.file_name().to_string_lossy().into_owned();
        let dir = alg.path();
        if !dir.is_dir() {
            continue;
        }
        for entry in fs::read_dir(&dir).map_err(io_at(&dir))? {
            let entry = entry.map_err(io_at(&dir))?;
            let path = entry.path();
            let Ok(meta) = fs::symlink_metadata(&path) else { continue };
            let digest = format!("{alg_name}:{}", entry.file_name().to_string_lossy());
            if reach.blobs.contains(&digest) {
                continue;
            }
            if age(&meta, now) < grace {
                // A young manifest is a root: its image is being named.
                if meta.len() <= MAX_MANIFEST
                    && let Some(content) = young_manifest(store, &digest)
                {
                    keep(store, &content, &mut reach)?;
                }
                continue;
            }
            doomed.push((path, meta.len()));
        }
    }
    for (path, len) in doomed {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let alg = path.parent().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if reach.blobs.contains(&format!("{alg}:{name}")) {
            continue;
        }
        match fs::remove_file(&path) {
            Ok(()) => {
                pruned.blobs += 1;
                pruned.bytes += len;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_at(&path)(e)),
        }
    }

    // Ingest files a crashed writer left (live ones are written to, so young).
    let ingest = store.root().join("ingest");
    for entry in fs::read_dir(&ingest).map_err(io_at(&ingest))?.flatten() {
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else { continue };
        if meta.is_file() && age(&meta, now) >= grace && fs::remove_file(&path).is_ok() {
            pruned.blobs += 1;
            pruned.bytes += meta.len();
        }
    }

    // Unpacked layers, and unpacking directories a crash left.
    let layers = store.root().join("layers");
    reach.layers.extend(crate::mounted_layers::mounted_layers(&layers));
    for entry in fs::read_dir(&layers).map_err(io_at(&layers))? {
        let entry = entry.map_err(io_at(&layers))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else { continue };
        if reach.layers.contains(&name) || age(&meta, now) < grace {
            continue;
        }
        let bytes = du(&path);
        let removed = if meta.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
        match removed {
            Ok(()) => {
                pruned.layers += 1;
                pruned.bytes += bytes;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_at(&path)(e)),
        }
    }
    if pruned != Pruned::default() {
        tracing::info!(blobs = pruned.blobs, layers = pruned.layers, bytes = pruned.bytes, "pruned the image store");
    }
    Ok(pruned)
}

/// The content of a blob when it is a manifest or an index.
fn young_manifest(store: &Store, digest: &str) -> Option<Content> {
    let digest = Digest::from_str(digest).ok()?;
    let bytes = store.read_blob(&digest).ok()?;
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Shape {
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
        layers: Option<serde_json::Value>,
    }
    let shape: Shape = serde_json::from_slice(&bytes).ok()?;
    let media_type = match (shape.media_type, shape.manifests, shape.layers) {
        (Some(m), _, _) => MediaType::from(m.as_str()),
        (None, Some(_), _) => MediaType::ImageIndex,
        (None, None, Some(_)) => MediaType::ImageManifest,
        (None, None, None) => return None,
    };
    if Kind::of(&media_type) == Kind::Blob {
        return None;
    }
    content(store, &Descriptor::new(media_type, bytes.len() as u64, digest), true).ok()
}

/// Bytes of the regular files under `path` (symlinks not followed).
fn du(path: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(path) else { return 0 };
    if !meta.is_dir() {
        return if meta.is_file() { meta.len() } else { 0 };
    }
    let Ok(entries) = fs::read_dir(path) else { return 0 };
    entries.flatten().map(|e| du(&e.path())).sum()
}

/// When each image was last used (pulled, imported or run).
pub fn last_used(store: &Store) -> Result<BTreeMap<String, Timestamp>, Error> {
    let path = store.root().join(USAGE_FILE);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| Error::Usage { path, source }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(io_at(&path)(e)),
    }
}

/// Records that `names` were used at `at`, and forgets records of names
/// the store no longer has.
pub fn record_use(store: &Store, names: &[String], at: Timestamp) -> Result<(), Error> {
    let _lock = store.lock()?;
    let mut used = last_used(store)?;
    for name in names {
        used.insert(name.clone(), at);
    }
    let present: HashSet<String> = store.images()?.into_iter().map(|i| i.name).collect();
    used.retain(|name, _| present.contains(name));
    write_usage(store, &used)
}

fn write_usage(store: &Store, used: &BTreeMap<String, Timestamp>) -> Result<(), Error> {
    let path = store.root().join(USAGE_FILE);
    let bytes = serde_json::to_vec_pretty(used).map_err(|source| Error::Usage { path: path.clone(), source })?;
    Ok(write_atomic(&path, &bytes)?)
}

/// The kubelet's image GC settings (`imageGCHighThresholdPercent`,
/// `imageGCLowThresholdPercent`, `imageMinimumGCAge`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Disk usage at which collection starts (100 turns it off).
    pub high_threshold_percent: u8,
    /// Disk usage collection brings the disk under.
    pub low_threshold_percent: u8,
    /// Images used more recently than this stay.
    pub min_age: Duration,
    /// Files younger than this stay (see `prune`).
    pub grace: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { high_threshold_percent: 85, low_threshold_percent: 80, min_age: Duration::from_secs(2 * 60), grace: GRACE }
    }
}

impl Policy {
    pub fn validate(&self) -> Result<(), Error> {
        if self.low_threshold_percent > self.high_threshold_percent || self.high_threshold_percent > 100 {
            return Err(Error::Thresholds { high: self.high_threshold_percent, low: self.low_threshold_percent });
        }
        Ok(())
    }
}

/// A filesystem's size and what is left of it for unprivileged writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskUsage {
    pub capacity: u64,
    pub available: u64,
}

impl DiskUsage {
    /// The filesystem `path` is on.
    pub fn of(path: &Path) -> Result<DiskUsage, Error> {
        let s = rustix::fs::statvfs(path).map_err(|e| io_at(path)(e.into()))?;
        Ok(DiskUsage { capacity: s.f_blocks.saturating_mul(s.f_frsize), available: s.f_bavail.saturating_mul(s.f_frsize) })
    }

    /// Percent used, as the kubelet computes it.
    pub fn percent(&self) -> u64 {
        if self.capacity == 0 {
            return 0;
        }
        100 - (self.available.min(self.capacity) as u128 * 100 / self.capacity as u128) as u64
    }
}

/// One image as the policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    pub last_used: Timestamp,
    pub in_use: bool,
    /// What the image keeps on disk, by key (a digest, or `layer:<diff
    /// id>`) and bytes: shared keys are freed only with their last image.
    pub holds: Vec<(String, u64)>,
}

/// What the policy decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Bytes the disk is over the low threshold by (0: nothing to do).
    pub to_free: u64,
    /// Images to remove, in order.
    pub remove: Vec<String>,
    /// Bytes removing them frees, counting shared content once.
    pub frees: u64,
}

/// The kubelet's decision: when usage is at or over the high threshold,
/// remove images not in use and not used within `min_age`, least recently
/// used first, until what they free brings usage to the low threshold.
pub fn plan(usage: DiskUsage, policy: &Policy, images: &[Candidate], now: Timestamp) -> Plan {
    if policy.high_threshold_percent >= 100 || usage.percent() < u64::from(policy.high_threshold_percent) {
        return Plan::default();
    }
    let target_available = (usage.capacity as u128 * u128::from(100 - policy.low_threshold_percent.min(100)) / 100) as u64;
    let to_free = target_available.saturating_sub(usage.available);
    let mut plan = Plan { to_free, ..Plan::default() };
    let mut holders: HashMap<&str, usize> = HashMap::new();
    for image in images {
        for (key, _) in &image.holds {
            *holders.entry(key.as_str()).or_default() += 1;
        }
    }
    let mut order: Vec<&Candidate> = images.iter().filter(|i| !i.in_use).collect();
    order.sort_by(|a, b| a.last_used.cmp(&b.last_used).then_with(|| a.name.cmp(&b.name)));
    let min_age = jiff::SignedDuration::try_from(policy.min_age).unwrap_or(jiff::SignedDuration::MAX);
    for image in order {
        if plan.frees >= to_free {
            break;
        }
        if now.duration_since(image.last_used) < min_age {
            continue;
        }
        for (key, bytes) in &image.holds {
            if let Some(n) = holders.get_mut(key.as_str()) {
                *n -= 1;
                if *n == 0 {
                    plan.frees += bytes;
                }
            }
        }
        plan.remove.push(image.name.clone());
    }
    plan
}

/// What a collection did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collected {
    pub usage: DiskUsage,
    pub plan: Plan,
    pub pruned: Pruned,
}

/// The image GC of a node: the policy applied to the disk the store is
/// on. `in_use` holds the images of running containers, by name or by
/// manifest or repo digest.
pub fn collect(store: &Store, policy: &Policy, in_use: &HashSet<String>) -> Result<Collected, Error> {
    let usage = DiskUsage::of(store.root())?;
    collect_with_usage(store, policy, usage, in_use, Timestamp::now())
}

/// `collect` with the disk's usage given (tests, and callers that have it).
pub fn collect_with_usage(store: &Store, policy: &Policy, usage: DiskUsage, in_use: &HashSet<String>, now: Timestamp) -> Result<Collected, Error> {
    policy.validate()?;
    if usage.percent() < u64::from(policy.high_threshold_percent) || policy.high_threshold_percent >= 100 {
        return Ok(Collected { usage, plan: Plan::default(), pruned: Pruned::default() });
    }
    let candidates = candidates(store, in_use)?;
    let plan = plan(usage, policy, &candidates, now);
    for name in &plan.remove {
        match store.remove(name) {
            Ok(_) => tracing::info!(image = %name, "image GC removed an unused image"),
            // Removed meanwhile by someone else: as good.
            Err(store::Error::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if !plan.remove.is_empty() {
        let _lock = store.lock()?;
        let mut used = last_used(store)?;
        used.retain(|name, _| !plan.remove.contains(name));
        write_usage(store, &used)?;
    }
    let pruned = prune(store, policy.grace)?;
    Ok(Collected { usage, plan, pruned })
}

/// Every named image with what it holds on disk and when it was used.
pub fn candidates(store: &Store, in_use: &HashSet<String>) -> Result<Vec<Candidate>, Error> {
    let in_use: HashSet<String> = in_use.iter().map(|n| ImageName::parse(n).map(|n| n.to_string()).unwrap_or_else(|_| n.clone())).collect();
    let used = last_used(store)?;
    let layers = crate::layers::Layers::new(store);
    let mut out = Vec::new();
    let mut layer_sizes: HashMap<String, u64> = HashMap::new();
    for image in store.images()? {
        let err = |source| Error::Image { name: image.name.clone(), source };
        let content = match content(store, &image.manifest, true) {
            Ok(c) => c,
            Err(store::Error::MissingBlob(_)) => Content { root: image.manifest.clone(), manifests: Vec::new(), images: Vec::new(), blobs: Vec::new() },
            Err(e) => return Err(err(e)),
        };
        let mut holds: Vec<(String, u64)> = content.manifests.iter().map(|(d, _)| d).chain(&content.blobs).map(|d| (d.digest().to_string(), d.size())).collect();
        if !holds.iter().any(|(k, _)| *k == image.repo_digest.to_string())
            && let Ok(meta) = fs::metadata(store.blob_path(&image.repo_digest))
        {
            holds.push((image.repo_digest.to_string(), meta.len()));
        }
        let mut r = Reachable { blobs: HashSet::new(), layers: HashSet::new() };
        keep(store, &content, &mut r).map_err(err)?;
        for diff in r.layers {
            let bytes = *layer_sizes.entry(diff.clone()).or_insert_with(|| du(&layers.path(&digest_of_hex(&diff))));
            holds.push((format!("layer:{diff}"), bytes));
        }
        let last = used.get(&image.name).copied().unwrap_or_else(|| {
            fs::metadata(store.blob_path(image.manifest.digest())).ok().and_then(|m| m.modified().ok()).and_then(|t| Timestamp::try_from(t).ok()).unwrap_or(Timestamp::UNIX_EPOCH)
        });
        let in_use = in_use.contains(&image.name) || in_use.contains(&image.manifest.digest().to_string()) || in_use.contains(&image.repo_digest.to_string());
        out.push(Candidate { name: image.name, last_used: last, in_use, holds });
    }
    Ok(out)
}

fn digest_of_hex(hex: &str) -> Digest {
    Digest::from_str(&format!("sha256:{hex}")).unwrap_or_else(|_| crate::digest::of(hex.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).expect("a time")
    }

    fn image(name: &str, used: i64, in_use: bool, holds: &[(&str, u64)]) -> Candidate {
        Candidate { name: name.into(), last_used: at(used), in_use, holds: holds.iter().map(|(k, b)| (k.to_string(), *b)).collect() }
    }

    fn policy() -> Policy {
        Policy { min_age: Duration::from_secs(60), ..Policy::default() }
    }

    #[test]
    fn gc_plan_removes_least_recently_used_until_under_the_low_threshold() {
        let images = [
            image("old", 0, false, &[("a", 100), ("shared", 50)]),
            image("running", -100, true, &[("b", 100), ("shared", 50)]),
            image("middle", 10, false, &[("c", 100)]),
            image("new", 20, false, &[("d", 100)]),
        ];
        let now = at(1000);
        // 1000 bytes, 120 free: 88% used; 80% means 200 free, so 80 to free.
        let usage = DiskUsage { capacity: 1000, available: 120 };
        assert_eq!(usage.percent(), 88);
        let p = plan(usage, &policy(), &images, now);
        assert_eq!(p, Plan { to_free: 80, remove: vec!["old".into()], frees: 100 }, "the shared blob stays with the running image");
        // 150 to free: "old" frees 100, then "middle".
        let p = plan(DiskUsage { capacity: 1000, available: 50 }, &policy(), &images, now);
        assert_eq!((p.to_free, p.remove.as_slice(), p.frees), (150, &["old".to_string(), "middle".to_string()][..], 200));
        // Under the high threshold nothing goes, however much is over the low.
        assert_eq!(plan(DiskUsage { capacity: 1000, available: 160 }, &policy(), &images, now), Plan::default(), "84%");
        // At 100% the policy is off.
        let off = Policy { high_threshold_percent: 100, ..policy() };
        assert_eq!(plan(DiskUsage { capacity: 1000, available: 0 }, &off, &images, now), Plan::default());
        // Everything would not be enough: all that may go goes, never the running one.
        let p = plan(DiskUsage { capacity: 10_000, available: 0 }, &policy(), &images, now);
        assert_eq!(p.remove, ["old", "middle", "new"]);
        assert_eq!(p.frees, 300);
        // Images used within min_age stay.
        let p = plan(DiskUsage { capacity: 10_000, available: 0 }, &policy(), &images, at(50));
        assert_eq!(p.remove, Vec::<String>::new(), "all were used within the last minute");
    }

    #[test]
    fn gc_policy_refuses_inverted_thresholds() {
        assert!(Policy::default().validate().is_ok());
        let bad = Policy { high_threshold_percent: 70, low_threshold_percent: 80, ..Policy::default() };
        assert_eq!(bad.validate().expect_err("low over high").to_string(), "invalid image GC thresholds: expected low (80%) <= high (70%) <= 100%");
    }

    #[test]
    fn gc_disk_usage_of_a_real_filesystem() {
        let u = DiskUsage::of(Path::new("/")).expect("statvfs");
        assert!(u.capacity > 0 && u.available <= u.capacity, "{u:?}");
        assert!(u.percent() <= 100);
    }
}
