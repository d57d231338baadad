//! `nubis image` against a real registry (Debian's `docker-registry` on
//! loopback, fed by `skopeo`; the registry and the busybox image come from
//! the image crate's test support).

#[path = "../../image/tests/support/mod.rs"]
mod registry;

use image::Store;
use image::platform::Platform;
use registry::{Registry, busybox_image};
use std::process::{Command, Output};

fn nubis(data: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nubis")).arg("image").arg("--data-dir").arg(data).args(args).output().expect("runs nubis")
}

fn ok(data: &std::path::Path, args: &[&str]) -> String {
    let out = nubis(data, args);
    assert!(out.status.success(), "nubis image {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn image_cli_pulls_lists_inspects_and_removes() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let src = Store::open(dir.path().join("src")).expect("opens");
    busybox_image(&src, "v1", "cli", &Platform::host());
    registry.push(&src, "v1", "tools/busybox:v1");
    let data = dir.path().join("data");
    let name = format!("{}/tools/busybox:v1", registry.host);

    let out = ok(&data, &["pull", "--insecure-registry", &registry.host, &name]);
    assert!(out.starts_with(&format!("pulled {name} (sha256:")), "{out}");
    assert!(out.contains(&format!("from {}", registry.host)), "{out}");

    let list = ok(&data, &["list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(lines[0].starts_with("IMAGE") && lines[0].contains("DIGEST") && lines[0].ends_with("SIZE"), "{list}");
    assert!(lines[1].starts_with(&name) && lines[1].contains("sha256:") && lines[1].contains("iB"), "{list}");

    let inspect: serde_json::Value = serde_json::from_str(&ok(&data, &["inspect", &name])).expect("JSON");
    assert_eq!(inspect["name"], name.as_str());
    assert_eq!(inspect["config"]["config"]["Cmd"], serde_json::json!(["/bin/sh"]));
    assert_eq!(inspect["manifest"]["layers"].as_array().map(Vec::len), Some(1));

    // Pulling again fetches nothing.
    let again = ok(&data, &["pull", "--insecure-registry", &registry.host, &name]);
    assert!(again.contains("0 B fetched"), "{again}");

    assert_eq!(ok(&data, &["rm", &name]).trim(), format!("removed {name}"));
    assert_eq!(ok(&data, &["list"]).lines().count(), 1);
}

#[test]
fn image_cli_errors_say_what_is_wrong() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let cases: [(&[&str], &str); 4] = [
        (&["pull", "Bad/Name"], "invalid image name \"Bad/Name\""),
        (&["inspect", "nginx"], "image \"docker.io/library/nginx:latest\" not found"),
        (&["rm", "nginx"], "image \"docker.io/library/nginx:latest\" not found"),
        (&["pull", "--registry-mirror", "docker.io", "nginx"], "invalid registry mirror \"docker.io\""),
    ];
    for (args, want) in cases {
        let out = nubis(&data, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(want), "nubis image {args:?}: {stderr}");
    }
}

fn skopeo(args: &[&str]) -> String {
    let out = Command::new("skopeo").args(args).output().expect("skopeo runs (Debian package skopeo)");
    assert!(out.status.success(), "skopeo {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn image_cli_pushes_exports_imports_and_prunes() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let store = Store::open(data.join("images")).expect("opens");
    let image = busybox_image(&store, "v1", "cli", &Platform::host());
    let digest = image.manifest.digest().to_string();

    let target = format!("{}/tools/busybox:pushed", registry.host);
    let out = ok(&data, &["push", "--insecure-registry", &registry.host, "local/busybox:v1", &target]);
    assert!(out.starts_with(&format!("pushed docker.io/local/busybox:v1 to {target} ({digest}): ")), "{out}");
    assert!(!out.contains(" 0 B sent"), "{out}");
    let again = ok(&data, &["push", "--insecure-registry", &registry.host, "local/busybox:v1", &target]);
    assert!(again.contains(" 0 B sent"), "the registry has the blobs: {again}");

    // What was pushed pulls back, the same image; the pull counts as a use.
    let other = dir.path().join("other");
    let out = ok(&other, &["pull", "--insecure-registry", &registry.host, &target]);
    assert!(out.starts_with(&format!("pulled {target} ({digest})")), "{out}");
    let usage: serde_json::Value = serde_json::from_slice(&std::fs::read(other.join("images/usage.json")).expect("usage.json")).expect("JSON");
    assert!(usage.get(&target).is_some(), "{usage}");

    // Exported, skopeo reads it; imported elsewhere, the same image.
    let file = dir.path().join("busybox.tar");
    let out = ok(&data, &["export", "-o", file.to_str().expect("UTF-8"), "local/busybox:v1"]);
    assert!(out.starts_with("exported 1 images (") && out.trim_end().ends_with(&format!("to {}", file.display())), "{out}");
    let inspect: serde_json::Value = serde_json::from_str(&skopeo(&["inspect", &format!("oci-archive:{}", file.display())])).expect("JSON");
    assert_eq!(inspect["Digest"], digest.as_str());
    let third = dir.path().join("third");
    let out = ok(&third, &["import", file.to_str().expect("UTF-8")]);
    assert_eq!(out.trim(), format!("imported docker.io/local/busybox:v1 ({digest})"));
    let inspect: serde_json::Value = serde_json::from_str(&ok(&third, &["inspect", "local/busybox:v1"])).expect("JSON");
    assert_eq!(inspect["manifestDigest"], digest.as_str());

    // Removed, its blobs go at a prune, once older than the grace period.
    ok(&third, &["rm", "local/busybox:v1"]);
    assert_eq!(ok(&third, &["prune"]).trim(), "pruned 0 blobs and 0 unpacked layers: freed 0 B");
    let out = ok(&third, &["prune", "--grace-period", "0s"]);
    assert!(out.starts_with("pruned 3 blobs and 0 unpacked layers: freed ") && out.contains("iB"), "{out}");
    assert_eq!(std::fs::read_dir(third.join("images/blobs/sha256")).expect("lists").count(), 0);
}

#[test]
fn image_cli_push_import_export_errors_say_what_is_wrong() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let missing = dir.path().join("missing.tar");
    let not_an_archive = dir.path().join("hello.tar");
    // An empty tar: two zero blocks.
    std::fs::write(&not_an_archive, [0u8; 1024]).expect("writes");
    let out_file = dir.path().join("out.tar");
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec!["push", "local/nope", "127.0.0.1:1/x"], "image \"docker.io/local/nope:latest\" not found".into()),
        (vec!["push", "Bad/Name"], "invalid image name \"Bad/Name\"".into()),
        (vec!["export", "-o", out_file.to_str().expect("UTF-8"), "local/nope"], "image \"docker.io/local/nope:latest\" not found".into()),
        (vec!["import", missing.to_str().expect("UTF-8")], format!("{}: No such file or directory", missing.display())),
        (vec!["import", not_an_archive.to_str().expect("UTF-8")], format!("{}: expected an OCI archive (index.json) or a docker-save archive (manifest.json), found neither", not_an_archive.display())),
        (vec!["prune", "--grace-period", "ten"], "expected a duration such as 600s, 10m or 1h, got \"ten\"".into()),
    ];
    for (args, want) in cases {
        let out = nubis(&data, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(&want), "nubis image {args:?}: {stderr}");
    }
    assert!(!out_file.exists());
}
