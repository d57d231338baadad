//! A real registry for tests: Debian's `docker-registry` on a loopback
//! port with its storage in a temporary directory, fed with images packed
//! from Debian's `busybox-static` and pushed with `skopeo` (packages
//! `docker-registry`, `skopeo`, `busybox-static`; `.ci/run` installs them).

#![allow(dead_code)]

use image::pack::{RunConfig, pack_dir};
use image::platform::Platform;
use image::{ImageName, Store};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::time::Instant;

/// A registry serving plain HTTP on 127.0.0.1; stopped when dropped.
pub struct Registry {
    pub host: String,
    /// Where the registry keeps its blobs.
    pub data: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Registry {
    pub fn start() -> Registry {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let host = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
                dir.path().join("data").display()
            ),
        )
        .expect("writes the config");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry runs (Debian package docker-registry)");
        let registry = Registry { host, child, data: dir.path().join("data"), _dir: dir };
        let t0 = Instant::now();
        while std::net::TcpStream::connect(&registry.host).is_err() {
            assert!(t0.elapsed() < Duration::from_secs(20), "the registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    /// The file the registry serves blob `digest` from.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.data.join("docker/registry/v2/blobs/sha256").join(&hex[..2]).join(hex).join("data")
    }

    /// Pushes what `name` names in `store` to `repo:tag` here (skopeo
    /// reads the store as the OCI layout it is).
    pub fn push(&self, store: &Store, tag: &str, repo_tag: &str) {
        let out = Command::new("skopeo")
            .args(["copy", "--quiet", "--all", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:{tag}", store.root().display()))
            .arg(format!("docker://{}/{repo_tag}", self.host))
            .output()
            .expect("skopeo runs (Debian package skopeo)");
        assert!(out.status.success(), "skopeo copy: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A root filesystem with Debian's static busybox as `/bin/busybox` and
/// `sh`, `echo`, `cat`, `sleep`, `httpd` linked to it, plus `marker`.
pub fn busybox_rootfs(dir: &Path, marker: &str) -> PathBuf {
    let root = dir.join("rootfs");
    for d in ["bin", "etc", "tmp"] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("copies /bin/busybox (Debian package busybox-static)");
    for applet in ["sh", "echo", "cat", "sleep", "httpd", "ls", "tar", "stty"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).expect("symlink");
    }
    std::fs::write(root.join("etc/marker"), marker).expect("writes");
    root
}

/// Packs a busybox image named `local/busybox:<tag>` into `store`, for
/// `platform`, with `marker` in `/etc/marker`.
pub fn busybox_image(store: &Store, tag: &str, marker: &str, platform: &Platform) -> image::store::Image {
    let dir = tempfile::tempdir().expect("tempdir");
    let rootfs = busybox_rootfs(dir.path(), marker);
    let name = ImageName::parse(&format!("local/busybox:{tag}")).expect("a name");
    let run = RunConfig { cmd: vec!["/bin/sh".into()], ..RunConfig::default() };
    pack_dir(store, &name, &rootfs, &run, platform).expect("packs")
}

/// A multi-arch image named `name` in `store`: one busybox image per
/// `(platform, tag)` (the tag is also its marker), listed in an OCI
/// index with their platforms; the entries and the index's digest.
pub fn multi_arch_image(store: &Store, name: &str, platforms: &[(&Platform, &str)]) -> (Vec<image::oci_spec::image::Descriptor>, image::oci_spec::image::Digest) {
    use image::oci_spec::image::{Descriptor, ImageIndexBuilder, MediaType, PlatformBuilder};
    let entries: Vec<Descriptor> = platforms
        .iter()
        .map(|(p, tag)| {
            let mut d = busybox_image(store, tag, tag, p).manifest;
            let mut platform = PlatformBuilder::default().os(p.os.as_str()).architecture(p.architecture.as_str());
            if let Some(v) = &p.variant {
                platform = platform.variant(v.clone());
            }
            d.set_platform(Some(platform.build().expect("a platform")));
            d
        })
        .collect();
    let index = ImageIndexBuilder::default().schema_version(2u32).media_type(MediaType::ImageIndex).manifests(entries.clone()).build().expect("an index");
    let bytes = serde_json::to_vec(&index).expect("encodes");
    let digest = store.put_bytes(&bytes, None).expect("stored");
    let named = ImageName::parse(name).expect("a name");
    store.set(&named, &Descriptor::new(MediaType::ImageIndex, bytes.len() as u64, digest.clone()), &digest).expect("named");
    (entries, digest)
}

/// A store named `name` in the test's directory.
pub fn store(dir: &tempfile::TempDir, name: &str) -> Store {
    Store::open(dir.path().join(name)).expect("opens a store")
}

pub fn name(s: &str) -> ImageName {
    ImageName::parse(s).expect("a name")
}

/// The `/etc/marker` of a busybox image, from its unpacked layer.
pub fn marker(store: &Store, image: &image::store::Image) -> String {
    let layers = image::layers::Layers::new(store).for_image(image).expect("unpacks");
    std::fs::read_to_string(layers[0].join("etc/marker")).expect("the marker")
}
