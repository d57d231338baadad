//! Archives against real tools: what `nubis image export` writes, skopeo
//! reads as `oci-archive:` and as `docker-archive:`; what skopeo writes
//! (both kinds, gzipped or not, multi-arch) imports into the store and
//! unpacks to the same files; archives that lie are refused without a
//! file written outside the store.

mod support;

use image::archive::{self, Error, Progress};
use image::platform::Platform;
use image::{ImageName, Store};
use oci_spec::image::MediaType;
use parking_lot::Mutex;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{Registry, busybox_image, marker, name, store};




fn skopeo(args: &[&str]) -> String {
    let out = Command::new("skopeo").args(args).output().expect("skopeo runs (Debian package skopeo)");
    assert!(out.status.success(), "skopeo {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn import(store: &Store, file: &Path, name: Option<&ImageName>) -> Result<Vec<image::store::Image>, Error> {
    archive::import(store, file, name, &|_| {}).map(|v| v.into_iter().map(|i| i.image).collect())
}

/// The entries of a tar file, `(path, bytes)`, regular files only.
fn entries(file: &Path) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(std::fs::File::open(file).expect("opens"));
    let mut out = Vec::new();
    for entry in archive.entries().expect("a tar") {
        let mut entry = entry.expect("an entry");
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).expect("reads");
        out.push((path, bytes));
    }
    out
}

/// Writes a tar of `(path, bytes)` regular files and `(path, target)`
/// symlinks, paths written as given (even with `..`).
fn write_tar(file: &Path, files: &[(&str, &[u8])], symlinks: &[(&str, &str)]) {
    let mut builder = tar::Builder::new(std::fs::File::create(file).expect("creates"));
    let raw_name = |header: &mut tar::Header, path: &str| {
        let gnu = header.as_gnu_mut().expect("a GNU header");
        gnu.name[..path.len()].copy_from_slice(path.as_bytes());
    };
    for (path, bytes) in files {
        let mut header = tar::Header::new_gnu();
        raw_name(&mut header, path);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, *bytes).expect("appends");
    }
    for (path, target) in symlinks {
        let mut header = tar::Header::new_gnu();
        raw_name(&mut header, path);
        header.set_size(0);
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_link_name(target).expect("a link name");
        header.set_cksum();
        builder.append(&header, std::io::empty()).expect("appends");
    }
    builder.finish().expect("finishes");
}

fn gzip(from: &Path, to: &Path) {
    let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(to).expect("creates"), flate2::Compression::fast());
    gz.write_all(&std::fs::read(from).expect("reads")).expect("writes");
    gz.finish().expect("finishes");
}

fn no_ingest_left(store: &Store) {
    assert_eq!(std::fs::read_dir(store.root().join("ingest")).expect("lists").count(), 0, "nothing left in ingest");
}

#[test]
fn image_archive_export_reads_as_oci_and_docker_archives_and_imports_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = store(&dir, "src");
    let image = busybox_image(&src, "v1", "exported", &Platform::host());
    busybox_image(&src, "v2", "second", &Platform::host());
    let manifest = src.manifest(&image).expect("manifest");
    let config: serde_json::Value = src.read_json(manifest.config().digest()).expect("config");
    let diff_id = config["rootfs"]["diff_ids"][0].as_str().expect("a diff id").to_string();
    let file = dir.path().join("busybox.tar");

    let events = Mutex::new(Vec::new());
    let exported = archive::export_file(&src, &[name("local/busybox:v1")], &file, &|p| events.lock().push(p)).expect("exports");
    assert_eq!((exported.images, exported.blobs), (1, 3));
    assert_eq!(events.into_inner().last(), Some(&Progress::Exporting { done: exported.bytes, total: exported.bytes }));
    let layout: Vec<String> = entries(&file).into_iter().map(|(p, _)| p).collect();
    assert!(layout.starts_with(&["oci-layout".into(), "index.json".into(), "manifest.json".into()]), "{layout:?}");
    assert_eq!(layout.len(), 6, "only v1's blobs: {layout:?}");

    // skopeo reads it as an OCI archive...
    let inspect: serde_json::Value = serde_json::from_str(&skopeo(&["inspect", &format!("oci-archive:{}", file.display())])).expect("JSON");
    assert_eq!(inspect["Digest"], image.manifest.digest().to_string());
    assert_eq!(inspect["Layers"], serde_json::json!([manifest.layers()[0].digest().to_string()]));
    // ... and as a docker-save archive, decompressing the layer to its diff id.
    let copied = dir.path().join("copied");
    skopeo(&["copy", "--quiet", &format!("docker-archive:{}", file.display()), &format!("dir:{}", copied.display())]);
    let diff_hex = diff_id.trim_start_matches("sha256:");
    assert!(copied.join(diff_hex).is_file(), "the uncompressed layer is in {}", copied.display());
    let docker_manifest: serde_json::Value = serde_json::from_slice(&entries(&file).into_iter().find(|(p, _)| p == "manifest.json").expect("manifest.json").1).expect("JSON");
    let blob = |d: &oci_spec::image::Digest| format!("blobs/sha256/{}", d.digest());
    assert_eq!(
        docker_manifest,
        serde_json::json!([{"Config": blob(manifest.config().digest()), "RepoTags": ["local/busybox:v1"], "Layers": [blob(manifest.layers()[0].digest())]}]),
        "as docker save spells the tag"
    );

    // Back in: the same manifest under the same name.
    let dst = store(&dir, "dst");
    let imported = import(&dst, &file, None).expect("imports");
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0].name, "docker.io/local/busybox:v1");
    assert_eq!(imported[0].manifest.digest(), image.manifest.digest());
    assert_eq!(dst.get("docker.io/local/busybox:v1").expect("reads"), Some(imported[0].clone()));
    assert_eq!(marker(&dst, &imported[0]), "exported");
    assert!(image::gc::last_used(&dst).expect("usage").contains_key("docker.io/local/busybox:v1"), "an import counts as a use");

    // Gzipped.
    let gz = dir.path().join("busybox.tar.gz");
    gzip(&file, &gz);
    let dst = store(&dir, "gz");
    let imported = import(&dst, &gz, None).expect("imports a gzipped archive");
    assert_eq!(imported[0].manifest.digest(), image.manifest.digest());
    assert_eq!(marker(&dst, &imported[0]), "exported");

    // Its docker side alone (index.json taken out): the gzipped layer is
    // kept as it is, the config as it is.
    let docker_only = dir.path().join("docker-only.tar");
    let kept: Vec<(String, Vec<u8>)> = entries(&file).into_iter().filter(|(p, _)| p != "index.json").collect();
    write_tar(&docker_only, &kept.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect::<Vec<_>>(), &[]);
    let dst = store(&dir, "docker");
    let imported = import(&dst, &docker_only, None).expect("imports the docker side");
    assert_eq!(imported[0].name, "docker.io/local/busybox:v1");
    let imported_manifest = dst.manifest(&imported[0]).expect("manifest");
    assert_eq!(imported_manifest.config().digest(), manifest.config().digest());
    assert_eq!(imported_manifest.layers()[0].digest(), manifest.layers()[0].digest());
    assert_eq!(imported_manifest.layers()[0].media_type(), &MediaType::ImageLayerGzip);
    assert_eq!(marker(&dst, &imported[0]), "exported");
    no_ingest_left(&dst);

    // Two images, one export; the gzip is chosen by the file's name.
    let both = dir.path().join("both.tgz");
    let exported = archive::export_file(&src, &[name("local/busybox:v1"), name("local/busybox:v2")], &both, &|_| {}).expect("exports");
    assert_eq!((exported.images, exported.blobs), (2, 6));
    let dst = store(&dir, "both");
    let names: Vec<String> = import(&dst, &both, None).expect("imports").into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["docker.io/local/busybox:v1", "docker.io/local/busybox:v2"]);

    let err = archive::export_file(&src, &[name("local/nope")], &dir.path().join("nope.tar"), &|_| {}).expect_err("no such image");
    assert_eq!(err.to_string(), "image \"docker.io/local/nope:latest\" not found");
    assert!(!dir.path().join("nope.tar").exists(), "a failed export leaves no file");
}

#[test]
fn image_archive_imports_what_skopeo_writes() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let src = store(&dir, "src");
    busybox_image(&src, "v1", "from skopeo", &Platform::host());
    registry.push(&src, "v1", "tools/busybox:v1");
    let from = format!("docker://{}/tools/busybox:v1", registry.host);

    // An OCI archive with a full name in its ref.
    let oci = dir.path().join("oci.tar");
    skopeo(&["copy", "--quiet", "--src-tls-verify=false", &from, &format!("oci-archive:{}:tools/busybox:v1", oci.display())]);
    let dst = store(&dir, "oci");
    let imported = import(&dst, &oci, None).expect("imports the OCI archive");
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0].name, "docker.io/tools/busybox:v1");
    assert_eq!(marker(&dst, &imported[0]), "from skopeo");
    let oci_layer = dst.manifest(&imported[0]).expect("manifest").layers()[0].clone();

    // An OCI archive without a name needs --name.
    let unnamed = dir.path().join("unnamed.tar");
    skopeo(&["copy", "--quiet", "--src-tls-verify=false", &from, &format!("oci-archive:{}", unnamed.display())]);
    let dst = store(&dir, "unnamed");
    let err = import(&dst, &unnamed, None).expect_err("no name");
    assert_eq!(err.to_string(), format!("{}: index.json entry 0 ({}) has no name; give one with --name", unnamed.display(), imported[0].manifest.digest()));
    assert!(dst.images().expect("lists").is_empty());
    let imported = import(&dst, &unnamed, Some(&name("mine:v9"))).expect("imports under --name");
    assert_eq!(imported[0].name, "docker.io/library/mine:v9");
    assert_eq!(marker(&dst, &imported[0]), "from skopeo");

    // A docker-save archive: skopeo writes its layers uncompressed.
    let docker = dir.path().join("docker.tar");
    skopeo(&["copy", "--quiet", "--src-tls-verify=false", &from, &format!("docker-archive:{}:tools/busybox:v1", docker.display())]);
    let dst = store(&dir, "docker");
    let imported = import(&dst, &docker, None).expect("imports the docker archive");
    assert_eq!(imported[0].name, "docker.io/tools/busybox:v1");
    let layer = dst.manifest(&imported[0]).expect("manifest").layers()[0].clone();
    assert_eq!(layer.media_type(), &MediaType::ImageLayer);
    assert_ne!(layer.digest(), oci_layer.digest(), "stored as the archive has it: uncompressed");
    assert_eq!(marker(&dst, &imported[0]), "from skopeo");

    // Gzipped, as `docker save | gzip` makes them.
    let gz = dir.path().join("docker.tar.gz");
    gzip(&docker, &gz);
    let dst = store(&dir, "docker-gz");
    let imported = import(&dst, &gz, None).expect("imports the gzipped docker archive");
    assert_eq!(dst.manifest(&imported[0]).expect("manifest").layers()[0].digest(), layer.digest());
    assert_eq!(marker(&dst, &imported[0]), "from skopeo");
}

#[test]
fn image_archive_import_of_an_index_picks_this_platform() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let src = store(&dir, "src");
    let host = Platform::host();
    let other = if host.architecture == "amd64" {
        Platform { os: "linux".into(), architecture: "arm64".into(), variant: Some("v8".into()) }
    } else {
        Platform { os: "linux".into(), architecture: "amd64".into(), variant: None }
    };
    let (entries, index_digest) = support::multi_arch_image(&src, "local/busybox:multi", &[(&host, "host"), (&other, "other")]);
    registry.push(&src, "multi", "tools/multi:v1");

    let file = dir.path().join("multi.tar");
    skopeo(&["copy", "--quiet", "--all", "--src-tls-verify=false", &format!("docker://{}/tools/multi:v1", registry.host), &format!("oci-archive:{}:multi", file.display())]);
    let dst = store(&dir, "dst");
    let imported = import(&dst, &file, Some(&name("local/multi:v1"))).expect("imports");
    assert_eq!(imported[0].name, "docker.io/local/multi:v1");
    assert_eq!(imported[0].repo_digest, index_digest, "the image id names the index");
    assert_eq!(imported[0].manifest.digest(), entries[0].digest(), "this platform's manifest");
    assert_eq!(marker(&dst, &imported[0]), "host");
    let other_layer = src.manifest(&image::store::Image { name: String::new(), manifest: entries[1].clone(), repo_digest: index_digest.clone() }).expect("manifest").layers()[0].clone();
    assert!(!dst.has_blob(&other_layer), "the other platform's layer was not stored");

    // Exported from our store, the name points at the index: every
    // platform goes, and the docker side has this platform's.
    let exported = dir.path().join("ours.tar");
    archive::export_file(&src, &[name("local/busybox:multi")], &exported, &|_| {}).expect("exports an index");
    let dst = store(&dir, "ours");
    let imported = import(&dst, &exported, None).expect("imports");
    assert_eq!((imported[0].manifest.digest(), &imported[0].repo_digest), (entries[0].digest(), &index_digest));
    assert_eq!(marker(&dst, &imported[0]), "host");
    let inspect: serde_json::Value = serde_json::from_str(&skopeo(&["inspect", &format!("docker-archive:{}", exported.display())])).expect("JSON");
    assert_eq!(inspect["Architecture"], host.architecture.as_str());
}

#[test]
fn image_archive_refuses_archives_that_lie() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = store(&dir, "src");
    busybox_image(&src, "v1", "honest", &Platform::host());
    let file = dir.path().join("good.tar");
    archive::export_file(&src, &[name("local/busybox:v1")], &file, &|_| {}).expect("exports");
    let good = entries(&file);
    type Change<'a> = &'a dyn Fn(&str, &[u8]) -> Option<Vec<u8>>;
    let rewrite = |to: &str, change: Change, symlinks: &[(&str, &str)]| -> PathBuf {
        let path = dir.path().join(to);
        let files: Vec<(String, Vec<u8>)> = good.iter().filter_map(|(p, b)| change(p, b).map(|b| (p.clone(), b))).collect();
        write_tar(&path, &files.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect::<Vec<_>>(), symlinks);
        path
    };
    let docker_manifest: serde_json::Value = serde_json::from_slice(&good.iter().find(|(p, _)| p == "manifest.json").expect("manifest.json").1).expect("JSON");
    let layer_path = docker_manifest[0]["Layers"][0].as_str().expect("a layer").to_string();

    // A layer whose bytes do not hash to its name.
    let corrupt = rewrite(
        "corrupt.tar",
        &|p, b| {
            let mut b = b.to_vec();
            if p == layer_path {
                let last = b.len() - 1;
                b[last] ^= 0xff;
            }
            Some(b)
        },
        &[],
    );
    let dst = store(&dir, "corrupt");
    let err = import(&dst, &corrupt, None).expect_err("corrupt");
    let message = err.to_string();
    assert!(message.starts_with(&format!("{}: blob {layer_path}: blob sha256:", corrupt.display())) && message.contains("its content hashes to sha256:"), "{message}");
    assert!(dst.images().expect("lists").is_empty(), "no name for a partial image");
    no_ingest_left(&dst);

    // The docker side, its layer a symlink out of the archive: the link
    // resolves inside the archive, to nothing.
    let escaping = rewrite("escaping.tar", &|p, b| (p != "index.json" && p != layer_path).then(|| b.to_vec()), &[(&layer_path, "/etc/passwd")]);
    let err = import(&store(&dir, "escaping"), &escaping, None).expect_err("the layer is not there");
    assert_eq!(err.to_string(), format!("{}: image docker.io/local/busybox:v1: layer {layer_path:?} is not in the archive", escaping.display()));

    // A layer named `../../evil.tar` is a name in the archive, nothing
    // more: the import reads it and writes nothing outside the store.
    let sneaky_manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": docker_manifest[0]["Config"], "RepoTags": ["local/sneaky:v1"], "Layers": ["../../evil.tar"],
    }]))
    .expect("JSON");
    let layer_bytes = good.iter().find(|(p, _)| *p == layer_path).expect("the layer").1.clone();
    let config_path = docker_manifest[0]["Config"].as_str().expect("a config").to_string();
    let config_bytes = good.iter().find(|(p, _)| *p == config_path).expect("the config").1.clone();
    let sneaky = dir.path().join("sneaky.tar");
    write_tar(&sneaky, &[("manifest.json", &sneaky_manifest), (&config_path, &config_bytes), ("../../evil.tar", &layer_bytes)], &[]);
    let dst = store(&dir, "sneaky");
    let imported = import(&dst, &sneaky, None).expect("imports");
    assert_eq!(marker(&dst, &imported[0]), "honest");
    for up in [dir.path().join("evil.tar"), dir.path().join("../evil.tar"), dst.root().join("../evil.tar"), PathBuf::from("evil.tar")] {
        assert!(!up.exists(), "{} was written", up.display());
    }

    // A layer that is not the one the config's diff id names.
    let other = store(&dir, "other");
    let other_image = busybox_image(&other, "v1", "other", &Platform::host());
    let other_layer = other.read_blob(other.manifest(&other_image).expect("manifest").layers()[0].digest()).expect("the layer");
    let swapped = dir.path().join("swapped.tar");
    write_tar(&swapped, &[("manifest.json", &sneaky_manifest), (&config_path, &config_bytes), ("../../evil.tar", &other_layer)], &[]);
    let dst = store(&dir, "swapped");
    let err = import(&dst, &swapped, None).expect_err("wrong diff id");
    assert!(matches!(err, Error::DiffId { .. }), "{err}");
    assert!(err.to_string().contains("image docker.io/local/sneaky:v1: layer \"evil.tar\" uncompresses to diff id sha256:"), "{err}");
    assert!(dst.images().expect("lists").is_empty());

    // Neither kind of archive.
    let neither = dir.path().join("neither.tar");
    write_tar(&neither, &[("hello.txt", b"hi")], &[]);
    let err = import(&store(&dir, "neither"), &neither, None).expect_err("not an image archive");
    assert_eq!(err.to_string(), format!("{}: expected an OCI archive (index.json) or a docker-save archive (manifest.json), found neither", neither.display()));
}
