//! Hostile images on the node agent: a layer with `..` in a path, one
//! whose symlink points at a host directory, and a decompression bomb over
//! the node's `--max-layer-size` are pulled from a real registry for pods;
//! the first and the last are refused with a clear event, none writes
//! anything on the host. Needs root, runc, nft, docker-registry,
//! skopeo and busybox-static, as node_agent.rs.

#[path = "../../image/tests/support/mod.rs"]
mod registry;
#[path = "support/node_cluster.rs"]
mod node_cluster;

use image::Store;
use image::pack::RunConfig;
use image::platform::Platform;
use node_cluster::{Cluster, in_netns};
use std::time::Duration;

/// A tar entry as a hostile tool would write it: the name and link target
/// go into the header verbatim (tar::Builder refuses `..`).
fn entry(out: &mut tar::Builder<Vec<u8>>, name: &str, kind: tar::EntryType, link: Option<&str>, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(target) = link {
        h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_mode(0o755);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(data.len() as u64);
    h.set_mtime(1_700_000_000);
    h.set_cksum();
    out.append(&h, data).expect("appends");
}

/// Packs `tar` as `hostile/<name>:v1` and pushes it to the cluster's registry.
fn push(c: &Cluster, name: &str, tar: &[u8]) -> String {
    let store = Store::open(c.dir.path().join(format!("src-{name}"))).expect("opens");
    let image_name = image::ImageName::parse(&format!("local/{name}:v1")).expect("a name");
    image::pack::pack_tar(&store, &image_name, tar, &RunConfig { cmd: vec!["/bin/sh".into()], ..RunConfig::default() }, &Platform::host()).expect("packs");
    let target = format!("{}/hostile/{name}:v1", c.registry);
    let out = in_netns(&c.netns, "skopeo")
        .args(["copy", "--quiet", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:v1", store.root().display()))
        .arg(format!("docker://{target}"))
        .output()
        .expect("skopeo runs");
    assert!(out.status.success(), "skopeo: {}", String::from_utf8_lossy(&out.stderr));
    target
}

fn events(c: &Cluster, pod: &str) -> String {
    c.ok(&["get", "events", "--field-selector", &format!("involvedObject.name={pod}"), "-o", "custom-columns=REASON:.reason,MESSAGE:.message", "--no-headers"])
}

#[test]
fn node_hostile_images_are_refused_or_contained_needs_root() {
    let c = Cluster::start_with(&["--max-layer-size", "8Mi"]);
    let host_dir = c.dir.path().join("host-target");
    std::fs::create_dir(&host_dir).expect("mkdir");

    // `..` in a path: refused, with the entry named in the event.
    let mut dotdot = tar::Builder::new(Vec::new());
    entry(&mut dotdot, "bin/", tar::EntryType::Directory, None, b"");
    entry(&mut dotdot, "../../escaped-by-dotdot", tar::EntryType::Regular, None, b"owned\n");
    let dotdot_image = push(&c, "dotdot", &dotdot.into_inner().expect("a tar"));
    c.ok(&["run", "dotdot", &format!("--image={dotdot_image}"), "--restart=Never"]);
    let mut seen = String::new();
    c.until("the dotdot image to be refused", Duration::from_secs(60), || {
        seen = events(&c, "dotdot");
        seen.contains("Failed to pull image")
    });
    assert!(seen.contains("layer entry \"../../escaped-by-dotdot\""), "{seen}");
    let waiting = &c.json(&["get", "pod", "dotdot"])["status"]["containerStatuses"][0]["state"]["waiting"]["reason"];
    assert!(waiting == "ErrImagePull" || waiting == "ImagePullBackOff", "{waiting}");

    // A symlink to a host directory, then a file through it: resolved
    // inside the layer, never on the host.
    let mut symlink = tar::Builder::new(Vec::new());
    let target = host_dir.display().to_string();
    entry(&mut symlink, "escape", tar::EntryType::Symlink, Some(&target), b"");
    entry(&mut symlink, "escape/owned", tar::EntryType::Regular, None, b"owned\n");
    let symlink_image = push(&c, "symlink", &symlink.into_inner().expect("a tar"));
    c.ok(&["run", "symlink", &format!("--image={symlink_image}"), "--restart=Never"]);
    c.until("the symlink image to be unpacked or refused", Duration::from_secs(60), || {
        let e = events(&c, "symlink");
        e.contains("Failed") || e.contains("Pulled")
    });
    assert_eq!(std::fs::read_dir(&host_dir).expect("reads").count(), 0, "nothing was written through the symlink");
    assert!(!c.dir.path().join("escaped-by-dotdot").exists() && !std::path::Path::new("/escaped-by-dotdot").exists());

    // A decompression bomb: 64 MiB of zeros that gzip to a few dozen
    // KiB, over this node's 8 MiB limit.
    let zeros = vec![0u8; 64 << 20];
    let mut bomb = tar::Builder::new(Vec::new());
    entry(&mut bomb, "bomb", tar::EntryType::Regular, None, &zeros);
    let bomb_image = push(&c, "bomb", &bomb.into_inner().expect("a tar"));
    c.ok(&["run", "bomb", &format!("--image={bomb_image}"), "--restart=Never"]);
    let mut seen = String::new();
    c.until("the bomb to be refused", Duration::from_secs(60), || {
        seen = events(&c, "bomb");
        seen.contains("Failed to pull image")
    });
    assert!(seen.contains("the layer unpacks to more than 8388608 bytes, the limit of this node"), "{seen}");
    let layers = c.data().join("images/layers");
    let unpacked: u64 = walk_size(&layers);
    assert!(unpacked < 16 << 20, "at most the limit reached the disk: {unpacked} bytes under {}", layers.display());
}

/// Bytes of the regular files under `dir`.
fn walk_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => walk_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}
