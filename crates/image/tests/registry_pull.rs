//! Pulls from a real registry (Debian's `docker-registry` on loopback, fed
//! by `skopeo`): plain HTTP, mirrors for Docker Hub names, multi-arch
//! indexes, verification, and the errors a user sees.

mod support;

use image::layers::Layers;
use image::platform::Platform;
use image::pull::{Progress, Puller};
use image::registries::Credentials;
use image::{ImageName, Registries, Store};
use parking_lot::Mutex;
use support::{Registry, busybox_image, marker, store};


/// A registry serving a busybox image (`marker` in `/etc/marker`) as
/// `repo_tag`, and the directory the test's stores go in.
fn serving(repo_tag: &str, marker: &str) -> (Registry, tempfile::TempDir, Store, image::store::Image) {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let src = store(&dir, "src");
    let image = busybox_image(&src, "v1", marker, &Platform::host());
    registry.push(&src, "v1", repo_tag);
    (registry, dir, src, image)
}


#[tokio::test(flavor = "multi_thread")]
async fn image_pull_from_a_plain_http_registry_verifies_and_unpacks() {
    let (registry, dir, _, _) = serving("tools/busybox:v1", "one");
    let dst = store(&dir, "dst");
    let puller = Puller::new(dst.clone(), Registries::new(std::slice::from_ref(&registry.host), &[]).expect("valid"));
    let name = ImageName::parse(&format!("{}/tools/busybox:v1", registry.host)).expect("a name");
    let events = Mutex::new(Vec::new());
    let pulled = puller.pull(&name, &Credentials::default(), &|p| events.lock().push(p)).await.expect("pulls");
    assert_eq!(pulled.from, registry.host);
    assert!(pulled.size > 500_000, "busybox is in the layer: {} bytes", pulled.size);
    assert_eq!(pulled.fetched, pulled.size, "everything was fetched");
    let events = events.into_inner();
    let Some(Progress::Resolved { blobs, .. }) = events.first() else { panic!("resolved first: {events:?}") };
    assert_eq!(blobs.len(), 2, "a config and a layer");
    assert!(blobs.iter().all(|(_, _, present)| !present));
    assert_eq!(events.iter().filter(|e| matches!(e, Progress::Done { .. })).count(), 2);
    assert!(events.iter().any(|e| matches!(e, Progress::Bytes { done, total, .. } if done == total && *total > 500_000)));

    assert_eq!(dst.get(&name.to_string()).expect("reads").map(|i| i.manifest.digest().clone()), Some(pulled.image.manifest.digest().clone()));
    assert_eq!(marker(&dst, &pulled.image), "one");
    let layers = Layers::new(&dst).for_image(&pulled.image).expect("unpacked");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(layers[0].join("bin/busybox")).expect("busybox").permissions().mode() & 0o111, 0o111);

    // Present blobs are not fetched again.
    let again = puller.pull(&name, &Credentials::default(), &|_| {}).await.expect("pulls again");
    assert_eq!((again.fetched, again.image.manifest.digest()), (0, pulled.image.manifest.digest()));
}

#[tokio::test(flavor = "multi_thread")]
async fn image_pull_through_a_mirror_serves_docker_hub_names_offline() {
    let (registry, dir, _, _) = serving("library/busybox:mirrored", "from the mirror");
    let dst = store(&dir, "dst");
    let registries = Registries::new(&[], &[format!("docker.io=http://{}", registry.host)]).expect("valid");
    let name = ImageName::parse("busybox:mirrored").expect("a name");
    let pulled = Puller::new(dst.clone(), registries).pull(&name, &Credentials::default(), &|_| {}).await.expect("pulls from the mirror");
    assert_eq!(pulled.from, registry.host);
    assert_eq!(pulled.image.name, "docker.io/library/busybox:mirrored");
    assert_eq!(marker(&dst, &pulled.image), "from the mirror");
}

#[tokio::test(flavor = "multi_thread")]
async fn image_pull_picks_this_platform_from_an_index() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let src = store(&dir, "src");
    let arm64 = Platform { os: "linux".into(), architecture: "arm64".into(), variant: Some("v8".into()) };
    let amd64 = Platform { os: "linux".into(), architecture: "amd64".into(), variant: None };
    let (entries, index_digest) = support::multi_arch_image(&src, "local/busybox:multi", &[(&amd64, "amd64"), (&arm64, "arm64")]);
    registry.push(&src, "multi", "tools/multi:v1");

    let name = ImageName::parse(&format!("{}/tools/multi:v1", registry.host)).expect("a name");
    let registries = Registries::new(std::slice::from_ref(&registry.host), &[]).expect("valid");
    for (platform, want) in [(&amd64, "amd64"), (&arm64, "arm64")] {
        let dst = store(&dir, want);
        let pulled = Puller::new(dst.clone(), registries.clone()).with_platform(platform.clone()).pull(&name, &Credentials::default(), &|_| {}).await.expect("pulls");
        assert_eq!(marker(&dst, &pulled.image), want);
        assert_eq!(pulled.image.repo_digest, index_digest, "the image id names the index");
        let chosen = entries.iter().find(|e| e.platform().as_ref().is_some_and(|p| p.architecture().to_string() == want)).expect("an entry");
        assert_eq!(pulled.image.manifest.digest(), chosen.digest());
    }
    let s390x = Platform { os: "linux".into(), architecture: "s390x".into(), variant: None };
    let err = Puller::new(store(&dir, "s390x"), registries).with_platform(s390x).pull(&name, &Credentials::default(), &|_| {}).await.expect_err("no such platform");
    assert_eq!(err.to_string(), format!("failed to pull \"{name}\": no manifest for linux/s390x in its index"));
}

#[tokio::test(flavor = "multi_thread")]
async fn image_pull_refuses_corrupt_blobs_and_names_what_failed() {
    let (registry, dir, src, image) = serving("tools/busybox:v1", "one");
    let registries = Registries::new(std::slice::from_ref(&registry.host), &[]).expect("valid");

    // A tag the registry does not have.
    let missing = ImageName::parse(&format!("{}/tools/busybox:nope", registry.host)).expect("a name");
    let err = Puller::new(store(&dir, "a"), registries.clone()).pull(&missing, &Credentials::default(), &|_| {}).await.expect_err("no such tag");
    assert!(err.to_string().starts_with(&format!("failed to resolve reference \"{missing}\"")), "{err}");

    // The registry over HTTPS, which it does not speak, without --insecure-registry.
    let name = ImageName::parse(&format!("{}/tools/busybox:v1", registry.host)).expect("a name");
    let err = Puller::new(store(&dir, "b"), Registries::default()).pull(&name, &Credentials::default(), &|_| {}).await.expect_err("not HTTPS");
    assert!(err.to_string().starts_with(&format!("failed to resolve reference \"{name}\"")), "{err}");

    // A layer changed in the registry's storage: the pull fails and
    // nothing of it lands in the store.
    let layer = src.manifest(&image).expect("manifest").layers()[0].clone();
    let file = registry.blob_file(layer.digest().as_ref());
    let mut bytes = std::fs::read(&file).expect("the registry's blob");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, bytes).expect("corrupts");
    let dst = store(&dir, "c");
    let err = Puller::new(dst.clone(), registries).pull(&name, &Credentials::default(), &|_| {}).await.expect_err("corrupt");
    // oci-client checks the stream's digest as it ends; the store checks
    // it again before a blob lands.
    let message = err.to_string();
    assert!(message.contains(&layer.digest().to_string()) && message.contains("got sha256:"), "{message}");
    assert!(!dst.has_blob(&layer));
    assert!(dst.images().expect("lists").is_empty(), "no name for a partial image");
    assert_eq!(std::fs::read_dir(dst.root().join("ingest")).expect("lists").count(), 0);
}
