//! The docker-save side of archives: the `manifest.json` an export writes
//! beside its OCI layout (so docker-save readers, such as skopeo's
//! `docker-archive:`, take it), and the images an import builds from one:
//! the config as given, each layer stored as the blob it is (tar, gzip
//! or zstd) with an OCI manifest written for them, every layer's diff id
//! checked against the config's.

use super::{Error, Exporting, Imported, Scan, Stored, Want, fallback_name};
use crate::gc::Kind;
use crate::name::{DOCKER_HUB, ImageName};
use crate::platform::Platform;
use crate::store::{Image, Store};
use crate::unpack::Compression;
use oci_spec::image::{Descriptor, Digest, ImageConfiguration, ImageIndex, ImageManifestBuilder, MediaType};
use std::collections::HashMap;
use std::str::FromStr;

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// `manifest.json`: one entry per manifest (this platform's, for an
/// index), with the tags that name it as Docker spells them.
pub(super) fn manifest_json(images: &[Exporting]) -> Result<Vec<u8>, serde_json::Error> {
    let mut entries: Vec<(Digest, Entry)> = Vec::new();
    for e in images {
        let Some(manifest) = platform_manifest(e) else { continue };
        let tag = familiar(&e.name);
        if let Some((_, entry)) = entries.iter_mut().find(|(d, _)| d == manifest.0) {
            entry.repo_tags.get_or_insert_with(Vec::new).extend(tag);
            continue;
        }
        let path = |d: &Descriptor| format!("blobs/{}/{}", d.digest().algorithm().as_ref(), d.digest().digest());
        let entry = Entry { config: path(manifest.1.config()), repo_tags: Some(tag.into_iter().collect()), layers: manifest.1.layers().iter().map(path).collect() };
        entries.push((manifest.0.clone(), entry));
    }
    serde_json::to_vec(&entries.into_iter().map(|(_, e)| e).collect::<Vec<_>>())
}

/// The image manifest an export's docker entry describes.
fn platform_manifest(e: &Exporting) -> Option<(&Digest, &oci_spec::image::ImageManifest)> {
    let root = e.content.root.digest();
    let wanted = match Kind::of(e.content.root.media_type()) {
        Kind::Manifest => root.clone(),
        Kind::Index => {
            let bytes = &e.content.manifests.iter().find(|(d, _)| d.digest() == root)?.1;
            let index: ImageIndex = serde_json::from_slice(bytes).ok()?;
            Platform::host().choose(&index)?.digest().clone()
        }
        Kind::Blob => return None,
    };
    e.content.images.iter().find(|(d, _)| *d.digest() == wanted).map(|(d, m)| (d.digest(), m))
}

/// `nginx:1.27`, `me/app:v1`, `registry.local:5000/app:v1`, as `docker
/// save` writes `RepoTags`.
fn familiar(name: &ImageName) -> Option<String> {
    let tag = name.tag.as_ref()?;
    let repo = match name.repository.strip_prefix("library/") {
        Some(short) if name.registry == DOCKER_HUB && !short.contains('/') => short.to_string(),
        _ if name.registry == DOCKER_HUB => name.repository.clone(),
        _ => format!("{}/{}", name.registry, name.repository),
    };
    Some(format!("{repo}:{tag}"))
}

/// One image of a docker-save archive.
pub(super) struct Pending {
    names: Vec<ImageName>,
    config: Vec<u8>,
    diff_ids: Vec<Digest>,
    /// Layers by their path in the archive, bottom first.
    layers: Vec<String>,
}

pub(super) fn plan(scan: &Scan, file: &str, name: Option<&ImageName>) -> Result<Vec<Pending>, Error> {
    let invalid = |why: String| Error::Invalid { file: file.to_string(), why };
    let bytes = scan.json_at(file, "manifest.json", "the docker manifest")?;
    let entries: Vec<Entry> = serde_json::from_slice(bytes).map_err(|e| invalid(format!("manifest.json: expected a list of {{Config, RepoTags, Layers}}: {e}")))?;
    if entries.is_empty() {
        return Err(invalid("expected images in manifest.json, found none".into()));
    }
    let mut used = false;
    let mut out = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let what = format!("manifest.json entry {i}");
        let mut names = Vec::new();
        for tag in entry.repo_tags.iter().flatten() {
            names.push(ImageName::parse(tag).map_err(|e| invalid(format!("{what}: {e}")))?);
        }
        if names.is_empty() {
            names.push(fallback_name(file, name, &mut used, &what)?);
        }
        let shown = names[0].to_string();
        let config = scan.json_at(file, &entry.config, &format!("image {shown}: config"))?.to_vec();
        // A config named by its digest (`<hex>.json`, `blobs/sha256/<hex>`) must hash to it.
        let at = scan.resolve(&entry.config).unwrap_or_default();
        let base = at.rsplit('/').next().unwrap_or_default().trim_end_matches(".json");
        if base.len() == 64 && base.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            let actual = crate::digest::of(&config);
            if actual.digest() != base {
                return Err(invalid(format!("image {shown}: config {at}: expected sha256:{base}, got {actual}")));
            }
        }
        let parsed: ImageConfiguration = serde_json::from_slice(&config).map_err(|e| invalid(format!("image {shown}: config {at}: {e}")))?;
        let diff_ids = parsed
            .rootfs()
            .diff_ids()
            .iter()
            .map(|d| Digest::from_str(d).map_err(|e| invalid(format!("image {shown}: config {at}: diff id {d:?}: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        if diff_ids.len() != entry.layers.len() {
            return Err(invalid(format!("image {shown}: expected as many layers as the config's {} diff ids, got {}", diff_ids.len(), entry.layers.len())));
        }
        let layers = entry
            .layers
            .iter()
            .map(|l| scan.resolve(l).ok_or_else(|| invalid(format!("image {shown}: layer {l:?} is not in the archive"))))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(Pending { names, config, diff_ids, layers });
    }
    Ok(out)
}

pub(super) fn wanted(pending: &[Pending]) -> HashMap<String, Want> {
    pending.iter().flat_map(|p| p.layers.iter().map(|l| (l.clone(), Want::Layer))).collect()
}

/// Checks the layers' diff ids, stores the config and an OCI manifest,
/// and sets the names.
pub(super) fn finish(store: &Store, file: &str, pending: Vec<Pending>, stored: &HashMap<String, Stored>) -> Result<Vec<Imported>, Error> {
    let mut out = Vec::new();
    for p in pending {
        let shown = p.names[0].to_string();
        let store_err = |source| Error::Store { file: file.to_string(), image: shown.clone(), source: Box::new(source) };
        let invalid = |why: String| Error::Invalid { file: file.to_string(), why };
        let mut layers = Vec::new();
        for (path, expected) in p.layers.iter().zip(&p.diff_ids) {
            let s = stored.get(path).ok_or_else(|| invalid(format!("image {shown}: layer {path:?} was not stored")))?;
            let actual = s.diff_id.as_ref().ok_or_else(|| invalid(format!("image {shown}: layer {path:?} has no diff id")))?;
            if actual != expected {
                return Err(Error::DiffId { file: file.to_string(), image: shown.clone(), layer: path.clone(), expected: expected.to_string(), actual: actual.to_string() });
            }
            let media_type = match s.compression {
                Compression::None => MediaType::ImageLayer,
                Compression::Gzip => MediaType::ImageLayerGzip,
                Compression::Zstd => MediaType::ImageLayerZstd,
            };
            layers.push(Descriptor::new(media_type, s.size, s.digest.clone()));
        }
        let config_digest = store.put_bytes(&p.config, None).map_err(store_err)?;
        let manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .config(Descriptor::new(MediaType::ImageConfig, p.config.len() as u64, config_digest))
            .layers(layers)
            .build()
            .map_err(|e| invalid(format!("image {shown}: building its manifest: {e}")))?;
        let bytes = serde_json::to_vec(&manifest).map_err(|e| invalid(format!("image {shown}: encoding its manifest: {e}")))?;
        let digest = store.put_bytes(&bytes, None).map_err(store_err)?;
        let descriptor = Descriptor::new(MediaType::ImageManifest, bytes.len() as u64, digest.clone());
        for name in &p.names {
            store.set(name, &descriptor, &digest).map_err(store_err)?;
            out.push(Imported { image: Image { name: name.to_string(), manifest: descriptor.clone(), repo_digest: digest.clone() } });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_docker_tags_are_familiar() {
        let f = |s: &str| familiar(&ImageName::parse(s).expect("a name"));
        assert_eq!(f("nginx").as_deref(), Some("nginx:latest"));
        assert_eq!(f("me/app:v1").as_deref(), Some("me/app:v1"));
        assert_eq!(f("docker.io/library/a/b:v1").as_deref(), Some("library/a/b:v1"));
        assert_eq!(f("127.0.0.1:5000/tools/busybox:v1").as_deref(), Some("127.0.0.1:5000/tools/busybox:v1"));
        assert_eq!(f(&format!("nginx@sha256:{}", "a".repeat(64))), None);
    }
}
