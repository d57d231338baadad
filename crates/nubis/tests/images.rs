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
