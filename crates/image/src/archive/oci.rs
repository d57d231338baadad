//! The OCI side of archives: the `index.json` an export writes (the
//! store's names and annotations), and the images an import finds in one
//! (an index resolved to this platform's manifest, as a pull resolves it).

use super::{Error, Exporting, Imported, Scan, Want, blob_path, fallback_name};
use crate::gc::Kind;
use crate::name::ImageName;
use crate::platform::Platform;
use crate::store::{Image, NAME_ANNOTATION, REF_NAME_ANNOTATION, REPO_DIGEST_ANNOTATION, Store};
use oci_spec::image::{Descriptor, Digest, ImageIndex, ImageManifest};
use std::collections::HashMap;
use std::str::FromStr;

/// Indexes inside indexes are followed this deep.
const MAX_DEPTH: usize = 4;

/// `index.json`: each image's descriptor with its names, and its repo
/// digest when the archive carries that index.
pub(super) fn index_json(images: &[Exporting]) -> Result<Vec<u8>, serde_json::Error> {
    let mut manifests = Vec::new();
    for e in images {
        let mut annotations = HashMap::new();
        annotations.insert(NAME_ANNOTATION.to_string(), e.image.name.clone());
        annotations.insert(REF_NAME_ANNOTATION.to_string(), e.name.tag_or_digest());
        if e.repo_index.is_some() {
            annotations.insert(REPO_DIGEST_ANNOTATION.to_string(), e.image.repo_digest.to_string());
        }
        let mut d = e.image.manifest.clone();
        d.set_annotations(Some(annotations));
        manifests.push(d);
    }
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }))
}

/// Whether `index.json` lists anything (docker-save archives may carry
/// an empty one beside their `manifest.json`).
pub(super) fn has_manifests(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes).ok().and_then(|v| v.get("manifests").and_then(|m| m.as_array()).map(|m| !m.is_empty())).unwrap_or(false)
}

/// One image an OCI archive names.
pub(super) struct Pending {
    names: Vec<ImageName>,
    manifest: Descriptor,
    manifest_bytes: Vec<u8>,
    repo_digest: Digest,
    /// Indexes on the way to the manifest, stored as a pull stores them.
    indexes: Vec<(Descriptor, Vec<u8>)>,
    /// Config and layers, by their path in the archive.
    blobs: Vec<(String, Descriptor)>,
}

pub(super) fn plan(scan: &Scan, file: &str, name: Option<&ImageName>) -> Result<Vec<Pending>, Error> {
    let invalid = |why: String| Error::Invalid { file: file.to_string(), why };
    let bytes = scan.json_at(file, "index.json", "the index")?;
    let index: ImageIndex = serde_json::from_slice(bytes).map_err(|e| invalid(format!("index.json: expected an OCI image index: {e}")))?;
    let mut used = false;
    let mut out = Vec::new();
    for (i, entry) in index.manifests().iter().enumerate() {
        let what = format!("index.json entry {i} ({})", entry.digest());
        let annotation = |key: &str| entry.annotations().as_ref().and_then(|a| a.get(key)).cloned();
        let full = annotation(NAME_ANNOTATION).or_else(|| annotation(REF_NAME_ANNOTATION).filter(|r| r.contains(['/', ':'])));
        let names = match full {
            Some(n) => vec![ImageName::parse(&n).map_err(|e| invalid(format!("{what}: {e}")))?],
            None => vec![fallback_name(file, name, &mut used, &what)?],
        };
        let shown = names[0].to_string();
        let mut d = Descriptor::new(entry.media_type().clone(), entry.size(), entry.digest().clone());
        let mut indexes = Vec::new();
        for _ in 0..MAX_DEPTH {
            match Kind::of(d.media_type()) {
                Kind::Manifest => break,
                Kind::Index => {
                    let bytes = scan.blob_json(file, &d, &format!("image {shown}: index"))?;
                    let index: ImageIndex = serde_json::from_slice(&bytes).map_err(|e| invalid(format!("image {shown}: index {}: {e}", d.digest())))?;
                    let platform = Platform::host();
                    let chosen = platform.choose(&index).ok_or_else(|| invalid(format!("image {shown}: expected a manifest for {platform} in index {}, found none", d.digest())))?;
                    indexes.push((d, bytes));
                    d = Descriptor::new(chosen.media_type().clone(), chosen.size(), chosen.digest().clone());
                }
                Kind::Blob => return Err(invalid(format!("image {shown}: expected an image manifest or index, got {} {}", d.media_type(), d.digest()))),
            }
        }
        if Kind::of(d.media_type()) != Kind::Manifest {
            return Err(invalid(format!("image {shown}: indexes nested deeper than {MAX_DEPTH}")));
        }
        let repo_digest = match indexes.first() {
            Some((top, _)) => top.digest().clone(),
            None => match repo_index(scan, file, annotation(REPO_DIGEST_ANNOTATION), d.digest()) {
                Some(found) => {
                    let digest = found.0.digest().clone();
                    indexes.push(found);
                    digest
                }
                None => d.digest().clone(),
            },
        };
        let manifest_bytes = scan.blob_json(file, &d, &format!("image {shown}: manifest"))?;
        let manifest: ImageManifest = serde_json::from_slice(&manifest_bytes).map_err(|e| invalid(format!("image {shown}: manifest {}: {e}", d.digest())))?;
        let mut blobs = Vec::new();
        for blob in std::iter::once(manifest.config()).chain(manifest.layers()) {
            let path = blob_path(file, blob.digest())?;
            let at = scan.resolve(&path).ok_or_else(|| invalid(format!("image {shown}: blob {} is not in the archive", blob.digest())))?;
            blobs.push((at, blob.clone()));
        }
        out.push(Pending { names, manifest: d, manifest_bytes, repo_digest, indexes, blobs });
    }
    Ok(out)
}

/// The index a `repo-digest` annotation names, when the archive has it
/// and it lists `manifest` (an unverifiable claim is ignored).
fn repo_index(scan: &Scan, file: &str, claimed: Option<String>, manifest: &Digest) -> Option<(Descriptor, Vec<u8>)> {
    let digest = Digest::from_str(&claimed?).ok()?;
    let path = blob_path(file, &digest).ok()?;
    let bytes = scan.json_at(file, &path, "index").ok()?;
    if crate::digest::of(bytes) != digest {
        return None;
    }
    let index: ImageIndex = serde_json::from_slice(bytes).ok()?;
    index.manifests().iter().any(|m| m.digest() == manifest).then(|| (Descriptor::new(oci_spec::image::MediaType::ImageIndex, bytes.len() as u64, digest), bytes.to_vec()))
}

pub(super) fn wanted(pending: &[Pending]) -> HashMap<String, Want> {
    pending.iter().flat_map(|p| p.blobs.iter().map(|(at, d)| (at.clone(), Want::Blob(Box::new(d.clone()))))).collect()
}

/// Stores the manifests and indexes (the blobs are in) and sets the names.
pub(super) fn finish(store: &Store, file: &str, pending: Vec<Pending>) -> Result<Vec<Imported>, Error> {
    let mut out = Vec::new();
    for p in pending {
        let shown = p.names[0].to_string();
        let store_err = |source| Error::Store { file: file.to_string(), image: shown.clone(), source: Box::new(source) };
        for (d, bytes) in &p.indexes {
            store.put_bytes(bytes, Some(d.digest())).map_err(store_err)?;
        }
        store.put_bytes(&p.manifest_bytes, Some(p.manifest.digest())).map_err(store_err)?;
        for name in &p.names {
            store.set(name, &p.manifest, &p.repo_digest).map_err(store_err)?;
            out.push(Imported { image: Image { name: name.to_string(), manifest: p.manifest.clone(), repo_digest: p.repo_digest.clone() } });
        }
    }
    Ok(out)
}
