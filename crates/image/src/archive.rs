//! Image archives: `nubis image export` writes, and `nubis image import`
//! reads, the tar files images travel in without a registry.
//!
//! An export is an OCI image layout in a tar (`oci-layout`, `index.json`
//! with the names as the store annotates them, `blobs/sha256/...`) that
//! also carries a docker-save `manifest.json` pointing at the same blobs,
//! as containerd's export does, so readers of either kind (skopeo's
//! `oci-archive:` and `docker-archive:`) take it. A name ending in `.gz`
//! or `.tgz` is gzipped.
//!
//! An import reads an OCI archive (`index.json`; for an index, this
//! platform's manifest as a pull picks it) or a docker-save archive
//! (`manifest.json`, a config, layers as tar files, compressed or not),
//! gzipped or not. Archive paths are never trusted: nothing is extracted
//! to disk by path. The archive is read twice: first for its small JSON
//! files (held in memory, bounded) and a map of its paths and links
//! (resolved as strings, inside the archive); then for the blobs the
//! chosen images need, each streamed into the store through `Ingest`,
//! verified against its digest (and, for a docker layer, its diff id
//! against the config) before it lands. Only then are the names set.

mod docker;
mod oci;

use crate::gc;
use crate::name::ImageName;
use crate::store::{self, Image, Store};
use crate::unpack::{self, Compression};
use oci_spec::image::{Descriptor, Digest};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// A JSON file bigger than this is not metadata.
const MAX_JSON: u64 = 4 << 20;
/// All the JSON held from one archive.
const MAX_JSON_TOTAL: usize = 64 << 20;
/// Symlinks followed to a file, at most.
const MAX_LINKS: usize = 16;
/// Progress is reported this often (bytes).
const REPORT_EVERY: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("image {0:?} not found")]
    NotFound(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{file}: {why}")]
    Invalid { file: String, why: String },
    #[error("{file}: image {image}: {source}")]
    Store { file: String, image: String, source: Box<store::Error> },
    #[error("{file}: image {image}: layer {layer:?} uncompresses to diff id {actual}, but the image config says {expected}")]
    DiffId { file: String, image: String, layer: String, expected: String, actual: String },
}

/// What an export or import reports while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The first read of an archive: bytes of the file so far.
    Scanning { done: u64, total: u64 },
    /// The second read, storing blobs: bytes of the file so far.
    Importing { done: u64, total: u64 },
    /// Blob bytes written so far.
    Exporting { done: u64, total: u64 },
}

/// A finished export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub images: usize,
    pub blobs: usize,
    /// Bytes of the blobs written.
    pub bytes: u64,
}

/// One image named by an import.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub image: Image,
}

/// One image to export: its name, what it reaches, and the index its
/// repo digest names when the store has it.
struct Exporting {
    name: ImageName,
    image: Image,
    content: gc::Content,
    repo_index: Option<Descriptor>,
}

/// Writes an archive of `names` to `path` (gzipped for `.gz`, `.tgz`):
/// written beside it and renamed, so a failed export leaves no file.
pub fn export_file(store: &Store, names: &[ImageName], path: &Path, progress: &dyn Fn(Progress)) -> Result<Exported, Error> {
    let io_err = |source| Error::Io { path: path.to_path_buf(), source };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "archive".into());
    let temp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let file = File::create(&temp).map_err(io_err)?;
        let gzip = file_name.ends_with(".gz") || file_name.ends_with(".tgz");
        let exported = if gzip {
            let mut gz = flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::default());
            let exported = export(store, names, &mut gz, &path.display().to_string(), progress)?;
            let file = gz.finish().and_then(|w| w.into_inner().map_err(|e| e.into_error())).map_err(io_err)?;
            file.sync_all().map_err(io_err)?;
            exported
        } else {
            let mut w = BufWriter::new(file);
            let exported = export(store, names, &mut w, &path.display().to_string(), progress)?;
            let file = w.into_inner().map_err(|e| io_err(e.into_error()))?;
            file.sync_all().map_err(io_err)?;
            exported
        };
        std::fs::rename(&temp, path).map_err(io_err)?;
        Ok(exported)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Writes the archive of `names` to `out` (`file` names it in errors).
pub fn export(store: &Store, names: &[ImageName], out: &mut impl Write, file: &str, progress: &dyn Fn(Progress)) -> Result<Exported, Error> {
    let mut images = Vec::new();
    for name in names {
        let full = name.to_string();
        let store_err = |source| Error::Store { file: file.to_string(), image: full.clone(), source: Box::new(source) };
        let image = store.get(&full).map_err(store_err)?.ok_or_else(|| Error::NotFound(full.clone()))?;
        let content = gc::content(store, &image.manifest, false).map_err(store_err)?;
        let repo_index = (image.repo_digest != *image.manifest.digest())
            .then(|| std::fs::metadata(store.blob_path(&image.repo_digest)).ok())
            .flatten()
            .map(|m| Descriptor::new(oci_spec::image::MediaType::ImageIndex, m.len(), image.repo_digest.clone()));
        images.push(Exporting { name: name.clone(), image, content, repo_index });
    }
    let index_json = oci::index_json(&images).map_err(|e| Error::Invalid { file: file.to_string(), why: format!("encoding index.json: {e}") })?;
    let manifest_json = docker::manifest_json(&images).map_err(|e| Error::Invalid { file: file.to_string(), why: format!("encoding manifest.json: {e}") })?;

    let mut blobs: Vec<&Descriptor> = Vec::new();
    let mut seen = HashSet::new();
    for e in &images {
        let all = e.content.manifests.iter().map(|(d, _)| d).chain(&e.content.blobs).chain(&e.repo_index);
        for d in all {
            if seen.insert(d.digest().clone()) {
                blobs.push(d);
            }
        }
    }
    let total: u64 = blobs.iter().map(|d| d.size()).sum();
    let io_err = |source| Error::Io { path: PathBuf::from(file), source };
    let mut tar = tar::Builder::new(out);
    add_file(&mut tar, "oci-layout", OCI_LAYOUT.len() as u64, OCI_LAYOUT.as_bytes()).map_err(io_err)?;
    add_file(&mut tar, "index.json", index_json.len() as u64, index_json.as_slice()).map_err(io_err)?;
    add_file(&mut tar, "manifest.json", manifest_json.len() as u64, manifest_json.as_slice()).map_err(io_err)?;
    let mut dirs = HashSet::new();
    let mut done = 0u64;
    let mut last = 0u64;
    for d in &blobs {
        let alg = d.digest().algorithm().as_ref().to_string();
        if dirs.is_empty() {
            add_dir(&mut tar, "blobs/").map_err(io_err)?;
        }
        if dirs.insert(alg.clone()) {
            add_dir(&mut tar, &format!("blobs/{alg}/")).map_err(io_err)?;
        }
        let path = store.blob_path(d.digest());
        let blob = File::open(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
        let size = blob.metadata().map_err(|source| Error::Io { path: path.clone(), source })?.len();
        let mut counted = Counting { inner: blob, done: &mut done, last: &mut last, total, report: &|done, total| progress(Progress::Exporting { done, total }) };
        add_file(&mut tar, &format!("blobs/{alg}/{}", d.digest().digest()), size, &mut counted).map_err(io_err)?;
    }
    tar.into_inner().and_then(|w| w.flush()).map_err(io_err)?;
    progress(Progress::Exporting { done: total, total });
    Ok(Exported { images: images.len(), blobs: blobs.len(), bytes: total })
}

/// Appends a directory, as `add_file` does a file.
fn add_dir<W: Write>(tar: &mut tar::Builder<W>, path: &str) -> io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_size(0);
    header.set_mode(0o755);
    header.set_mtime(0);
    tar.append_data(&mut header, path, io::empty())
}

/// Appends a regular file, owned by root and dated 1970: nothing of the
/// exporting machine's users or clock goes into the archive.
fn add_file<W: Write>(tar: &mut tar::Builder<W>, path: &str, size: u64, data: impl Read) -> io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    tar.append_data(&mut header, path, data)
}

const OCI_LAYOUT: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;

/// Counts bytes read through it, reporting every `REPORT_EVERY`.
struct Counting<'a, R> {
    inner: R,
    done: &'a mut u64,
    last: &'a mut u64,
    total: u64,
    report: &'a dyn Fn(u64, u64),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        *self.done += n as u64;
        if *self.done - *self.last >= REPORT_EVERY {
            *self.last = *self.done;
            (self.report)(*self.done, self.total);
        }
        Ok(n)
    }
}

/// What the first read of an archive found.
#[derive(Debug, Default)]
struct Scan {
    /// Regular files by their cleaned path, with their sizes.
    files: HashMap<String, u64>,
    /// Links: their cleaned path to the cleaned path they point at.
    links: HashMap<String, String>,
    /// Small files that look like JSON.
    json: HashMap<String, Vec<u8>>,
    json_bytes: usize,
}

impl Scan {
    /// The regular file `path` is, following links inside the archive.
    fn resolve(&self, path: &str) -> Option<String> {
        let mut at = clean("", path);
        for _ in 0..=MAX_LINKS {
            if self.files.contains_key(&at) {
                return Some(at);
            }
            at = self.links.get(&at)?.clone();
        }
        None
    }

    /// The JSON file at `path`.
    fn json_at(&self, file: &str, path: &str, what: &str) -> Result<&[u8], Error> {
        let invalid = |why| Error::Invalid { file: file.to_string(), why };
        let at = self.resolve(path).ok_or_else(|| invalid(format!("{what} {path:?} is not in the archive")))?;
        self.json.get(&at).map(Vec::as_slice).ok_or_else(|| invalid(format!("{what} {path:?} is not a JSON file of at most {MAX_JSON} bytes")))
    }

    /// The bytes of the blob `d`, checked against its digest and size.
    fn blob_json(&self, file: &str, d: &Descriptor, what: &str) -> Result<Vec<u8>, Error> {
        let path = blob_path(file, d.digest())?;
        let bytes = self.json_at(file, &path, what)?;
        let actual = crate::digest::of(bytes);
        if actual != *d.digest() || bytes.len() as u64 != d.size() {
            return Err(Error::Invalid { file: file.to_string(), why: format!("{what} {path}: expected {} of {} bytes, got {actual} of {} bytes", d.digest(), d.size(), bytes.len()) });
        }
        Ok(bytes.to_vec())
    }
}

/// Where an OCI layout keeps blob `digest` (sha256 only).
fn blob_path(file: &str, digest: &Digest) -> Result<String, Error> {
    if digest.algorithm().as_ref() != "sha256" {
        return Err(Error::Invalid { file: file.to_string(), why: format!("blob {digest}: expected a sha256 digest") });
    }
    Ok(format!("blobs/sha256/{}", digest.digest()))
}

/// `path` made relative to the archive's root, lexically: `.` and empty
/// components dropped, `..` going up but never above the root, relative
/// to `base` unless absolute. Only ever a key into the archive's map.
fn clean(base: &str, path: &str) -> String {
    let mut parts: Vec<&str> = if path.starts_with('/') { Vec::new() } else { base.split('/').filter(|c| !c.is_empty() && *c != ".").collect() };
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

/// The archive's uncompressed tar stream, counting the file's bytes read.
fn open<'a>(path: &Path, done: &'a mut u64, last: &'a mut u64, total: u64, report: &'a dyn Fn(u64, u64)) -> Result<Box<dyn Read + 'a>, Error> {
    let file = File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let counted = BufReader::with_capacity(256 << 10, Counting { inner: file, done, last, total, report });
    unpack::decompress(counted).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

/// The first read: paths, links and small JSON files.
fn scan(path: &Path, file: &str, progress: &dyn Fn(Progress)) -> Result<Scan, Error> {
    let io_err = |source| Error::Io { path: path.to_path_buf(), source };
    let total = std::fs::metadata(path).map_err(io_err)?.len();
    let (mut done, mut last) = (0, 0);
    let report = |done, total| progress(Progress::Scanning { done, total });
    let mut scan = Scan::default();
    {
        let reader = open(path, &mut done, &mut last, total, &report)?;
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().map_err(io_err)? {
            let mut entry = entry.map_err(io_err)?;
            let at = clean("", &String::from_utf8_lossy(&entry.path_bytes()));
            if at.is_empty() || scan.files.contains_key(&at) || scan.links.contains_key(&at) {
                continue;
            }
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                    let size = entry.size();
                    scan.files.insert(at.clone(), size);
                    if size <= MAX_JSON {
                        let mut bytes = Vec::with_capacity(size as usize);
                        entry.read_to_end(&mut bytes).map_err(io_err)?;
                        if bytes.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| *b == b'{' || *b == b'[') {
                            scan.json_bytes += bytes.len();
                            if scan.json_bytes > MAX_JSON_TOTAL {
                                return Err(Error::Invalid { file: file.to_string(), why: format!("expected at most {MAX_JSON_TOTAL} bytes of JSON files, got more") });
                            }
                            scan.json.insert(at, bytes);
                        }
                    }
                }
                tar::EntryType::Symlink => {
                    let target = entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned()).unwrap_or_default();
                    let to = clean(parent(&at), &target);
                    scan.links.insert(at, to);
                }
                tar::EntryType::Link => {
                    let target = entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned()).unwrap_or_default();
                    scan.links.insert(at, clean("", &target));
                }
                _ => {}
            }
        }
    }
    progress(Progress::Scanning { done: total, total });
    Ok(scan)
}

/// A file the second read stores.
#[derive(Debug, Clone)]
enum Want {
    /// A blob of an OCI layout, verified against its descriptor.
    Blob(Box<Descriptor>),
    /// A docker-save layer: its digest, compression and diff id are
    /// learnt as it is stored.
    Layer,
}

/// A file the second read stored.
#[derive(Debug, Clone)]
struct Stored {
    digest: Digest,
    size: u64,
    compression: Compression,
    /// The digest of the uncompressed tar (layers only).
    diff_id: Option<Digest>,
}

/// Copies what it reads into `copy`.
struct Tee<'a, R, W> {
    inner: R,
    copy: &'a mut W,
}

impl<R: Read, W: Write> Read for Tee<'_, R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// The second read: the wanted files into the store.
fn fetch(store: &Store, path: &Path, file: &str, wanted: &HashMap<String, Want>, progress: &dyn Fn(Progress)) -> Result<HashMap<String, Stored>, Error> {
    let io_err = |source| Error::Io { path: path.to_path_buf(), source };
    let total = std::fs::metadata(path).map_err(io_err)?.len();
    let (mut done, mut last) = (0, 0);
    let report = |done, total| progress(Progress::Importing { done, total });
    let mut stored: HashMap<String, Stored> = HashMap::new();
    {
        let reader = open(path, &mut done, &mut last, total, &report)?;
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().map_err(io_err)? {
            let mut entry = entry.map_err(io_err)?;
            if !matches!(entry.header().entry_type(), tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse) {
                continue;
            }
            let at = clean("", &String::from_utf8_lossy(&entry.path_bytes()));
            let Some(want) = wanted.get(&at) else { continue };
            if stored.contains_key(&at) {
                continue;
            }
            let size = entry.size();
            let store_err = |source| Error::Invalid { file: file.to_string(), why: format!("storing {at}: {source}") };
            let got = match want {
                Want::Blob(d) => {
                    if !store.has_blob(d) {
                        store.put_reader(&mut entry, Some(d.digest()), Some(d.size())).map_err(|source| Error::Invalid { file: file.to_string(), why: format!("blob {at}: {source}") })?;
                    }
                    Stored { digest: d.digest().clone(), size: d.size(), compression: Compression::None, diff_id: None }
                }
                Want::Layer => {
                    let mut ingest = store.ingest().map_err(store_err)?;
                    let (compression, diff_id) = {
                        let mut tee = Tee { inner: &mut entry, copy: &mut ingest };
                        let mut head = [0u8; 4];
                        let mut got = 0;
                        while got < head.len() {
                            match tee.read(&mut head[got..]).map_err(io_err)? {
                                0 => break,
                                n => got += n,
                            }
                        }
                        let compression = Compression::sniff(&head[..got]);
                        let mut diff = crate::digest::HashingWriter::new(io::sink());
                        {
                            let mut tar = unpack::decompress(io::Cursor::new(head[..got].to_vec()).chain(&mut tee))
                                .map_err(|e| Error::Invalid { file: file.to_string(), why: format!("layer {at}: {e}") })?;
                            io::copy(&mut tar, &mut diff).map_err(|e| Error::Invalid { file: file.to_string(), why: format!("layer {at}: decompressing: {e}") })?;
                        }
                        // Whatever follows the compressed stream is the blob's too.
                        io::copy(&mut tee, &mut io::sink()).map_err(io_err)?;
                        (compression, diff.hasher.finish())
                    };
                    let digest = ingest.commit(None, Some(size)).map_err(store_err)?;
                    Stored { digest, size, compression, diff_id: Some(diff_id) }
                }
            };
            stored.insert(at, got);
        }
    }
    progress(Progress::Importing { done: total, total });
    if let Some(missing) = wanted.keys().find(|p| !stored.contains_key(*p)) {
        return Err(Error::Invalid { file: file.to_string(), why: format!("{missing:?} was listed in the first read but not found in the second") });
    }
    Ok(stored)
}

/// Imports the images of the archive at `path` into the store and names
/// them. `name` names an image the archive leaves unnamed.
pub fn import(store: &Store, path: &Path, name: Option<&ImageName>, progress: &dyn Fn(Progress)) -> Result<Vec<Imported>, Error> {
    let file = path.display().to_string();
    let scan = scan(path, &file, progress)?;
    let oci_index = scan.json.get("index.json").filter(|_| scan.files.contains_key("index.json"));
    let plan = match oci_index {
        Some(bytes) if oci::has_manifests(bytes) => Plan::Oci(oci::plan(&scan, &file, name)?),
        _ if scan.files.contains_key("manifest.json") => Plan::Docker(docker::plan(&scan, &file, name)?),
        Some(_) => return Err(Error::Invalid { file, why: "expected images in index.json, found none".into() }),
        None => return Err(Error::Invalid { file, why: "expected an OCI archive (index.json) or a docker-save archive (manifest.json), found neither".into() }),
    };
    let wanted = match &plan {
        Plan::Oci(p) => oci::wanted(p),
        Plan::Docker(p) => docker::wanted(p),
    };
    let stored = fetch(store, path, &file, &wanted, progress)?;
    let imported = match plan {
        Plan::Oci(p) => oci::finish(store, &file, p)?,
        Plan::Docker(p) => docker::finish(store, &file, p, &stored)?,
    };
    let names: Vec<String> = imported.iter().map(|i| i.image.name.clone()).collect();
    // The images are in and named; a lost record only makes them look
    // as old as their manifests to the image GC.
    if let Err(error) = gc::record_use(store, &names, jiff::Timestamp::now()) {
        tracing::warn!(%error, file, "could not record the imported images' use");
    }
    Ok(imported)
}

enum Plan {
    Oci(Vec<oci::Pending>),
    Docker(Vec<docker::Pending>),
}

/// The names of images the archive leaves unnamed: `name`, once.
fn fallback_name(file: &str, name: Option<&ImageName>, used: &mut bool, what: &str) -> Result<ImageName, Error> {
    match name {
        Some(n) if !*used => {
            *used = true;
            Ok(n.clone())
        }
        Some(_) => Err(Error::Invalid { file: file.to_string(), why: format!("{what} has no name, and --name names only one image") }),
        None => Err(Error::Invalid { file: file.to_string(), why: format!("{what} has no name; give one with --name") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_paths_stay_inside_the_archive() {
        assert_eq!(clean("", "./blobs//sha256/abc"), "blobs/sha256/abc");
        assert_eq!(clean("", "../../etc/passwd"), "etc/passwd");
        assert_eq!(clean("a/b", "../c/layer.tar"), "a/c/layer.tar");
        assert_eq!(clean("a", "/etc/shadow"), "etc/shadow");
        assert_eq!(clean("a", "../../../x"), "x");
        let mut scan = Scan::default();
        scan.files.insert("b/layer.tar".into(), 1);
        scan.links.insert("a/layer.tar".into(), clean("a", "../b/layer.tar"));
        scan.links.insert("loop1".into(), "loop2".into());
        scan.links.insert("loop2".into(), "loop1".into());
        assert_eq!(scan.resolve("./a/layer.tar").as_deref(), Some("b/layer.tar"));
        assert_eq!(scan.resolve("loop1"), None, "a link loop resolves to nothing");
        assert_eq!(scan.resolve("etc/passwd"), None);
    }
}
