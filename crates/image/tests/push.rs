//! Pushes to a real registry (Debian's `docker-registry` on loopback):
//! what is pushed pulls back with the same digest, blobs the registry has
//! are not sent again, an index goes with every manifest it lists, and
//! the errors a user sees.

mod support;

use image::platform::Platform;
use image::pull::{Progress, Puller};
use image::push::{Error, Pusher};
use image::registries::Credentials;
use image::Registries;
use parking_lot::Mutex;
use support::{Registry, busybox_image, marker, name, store};




#[tokio::test(flavor = "multi_thread")]
async fn image_push_then_pull_back_keeps_the_digest() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let src = store(&dir, "src");
    let image = busybox_image(&src, "v1", "pushed", &Platform::host());
    let manifest = src.manifest(&image).expect("manifest");
    let registries = Registries::new(std::slice::from_ref(&registry.host), &[]).expect("valid");
    let pusher = Pusher::new(src.clone(), &registries);
    let target = name(&format!("{}/tools/busybox:v1", registry.host));

    let events = Mutex::new(Vec::new());
    let pushed = pusher.push(&name("local/busybox:v1"), &target, &Credentials::default(), &|p| events.lock().push(p)).await.expect("pushes");
    assert_eq!(pushed.digest, *image.manifest.digest());
    assert_eq!(pushed.target, target.to_string());
    let blob_bytes = manifest.config().size() + manifest.layers()[0].size();
    assert_eq!(pushed.sent, blob_bytes, "config and layer sent");
    assert!(pushed.size > blob_bytes, "the size counts the manifest too");
    let events = events.into_inner();
    let Some(Progress::Resolved { manifest: root, blobs }) = events.first() else { panic!("resolved first: {events:?}") };
    assert_eq!(root, image.manifest.digest());
    assert_eq!(blobs.len(), 2);
    assert!(blobs.iter().all(|(_, _, present)| !present), "a new registry has nothing: {blobs:?}");
    assert_eq!(events.iter().filter(|e| matches!(e, Progress::Done { .. })).count(), 2);
    let layer = manifest.layers()[0].clone();
    assert!(events.iter().any(|e| matches!(e, Progress::Bytes { blob, done, total } if *blob == *layer.digest() && done == total && *total == layer.size())));

    // The registry keeps the manifest's exact bytes.
    let stored = std::fs::read(registry.blob_file(image.manifest.digest().as_ref())).expect("the registry has the manifest");
    assert_eq!(stored, src.read_blob(image.manifest.digest()).expect("ours"));

    let dst = store(&dir, "dst");
    let puller = Puller::new(dst.clone(), registries.clone());
    let pulled = puller.pull(&target, &Credentials::default(), &|_| {}).await.expect("pulls back");
    assert_eq!(pulled.image.manifest.digest(), image.manifest.digest());
    assert_eq!(pulled.image.repo_digest, *image.manifest.digest());
    assert_eq!(marker(&dst, &pulled.image), "pushed");

    // Again: the registry has every blob, so only the manifest goes.
    let events = Mutex::new(Vec::new());
    let again = pusher.push(&name("local/busybox:v1"), &target, &Credentials::default(), &|p| events.lock().push(p)).await.expect("pushes again");
    assert_eq!((again.sent, &again.digest), (0, image.manifest.digest()));
    let events = events.into_inner();
    assert!(matches!(events.first(), Some(Progress::Resolved { blobs, .. }) if blobs.iter().all(|(_, _, present)| *present)), "{events:?}");
    assert!(!events.iter().any(|e| matches!(e, Progress::Bytes { .. })));

    // Another repository of the same registry does not have them.
    let other = name(&format!("{}/team/copy:v2", registry.host));
    let copied = pusher.push(&name("local/busybox:v1"), &other, &Credentials::default(), &|_| {}).await.expect("pushes to another repository");
    assert_eq!((copied.sent, &copied.digest), (blob_bytes, image.manifest.digest()));
    let pulled = Puller::new(store(&dir, "dst2"), registries).pull(&other, &Credentials::default(), &|_| {}).await.expect("pulls the copy");
    assert_eq!(pulled.image.manifest.digest(), image.manifest.digest());
    assert_eq!(pulled.image.name, other.to_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn image_push_of_an_index_pushes_every_manifest() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let src = store(&dir, "src");
    let arm64 = Platform { os: "linux".into(), architecture: "arm64".into(), variant: Some("v8".into()) };
    let amd64 = Platform { os: "linux".into(), architecture: "amd64".into(), variant: None };
    let (_, index_digest) = support::multi_arch_image(&src, "local/busybox:multi", &[(&amd64, "amd64"), (&arm64, "arm64")]);
    let multi = name("local/busybox:multi");

    let registries = Registries::new(std::slice::from_ref(&registry.host), &[]).expect("valid");
    let target = name(&format!("{}/tools/multi:v1", registry.host));
    let pushed = Pusher::new(src, &registries).push(&multi, &target, &Credentials::default(), &|_| {}).await.expect("pushes the index");
    assert_eq!(pushed.digest, index_digest);
    for (platform, want) in [(&amd64, "amd64"), (&arm64, "arm64")] {
        let dst = store(&dir, want);
        let pulled = Puller::new(dst.clone(), registries.clone()).with_platform(platform.clone()).pull(&target, &Credentials::default(), &|_| {}).await.expect("pulls");
        assert_eq!(pulled.image.repo_digest, index_digest, "the registry has our index, byte for byte");
        assert_eq!(marker(&dst, &pulled.image), want);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn image_push_errors_name_the_image_and_what_failed() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let src = store(&dir, "src");
    let image = busybox_image(&src, "v1", "x", &Platform::host());
    let registries = Registries::new(std::slice::from_ref(&registry.host), &[]).expect("valid");
    let pusher = Pusher::new(src.clone(), &registries);
    let target = name(&format!("{}/tools/busybox:v1", registry.host));

    let err = pusher.push(&name("local/nope"), &target, &Credentials::default(), &|_| {}).await.expect_err("no such image");
    assert_eq!(err.to_string(), "image \"docker.io/local/nope:latest\" not found");

    let wrong = name(&format!("{}/tools/busybox@sha256:{}", registry.host, "0".repeat(64)));
    let err = pusher.push(&name("local/busybox:v1"), &wrong, &Credentials::default(), &|_| {}).await.expect_err("another digest");
    assert!(matches!(err, Error::Digest { .. }), "{err}");
    assert!(err.to_string().contains(&format!("the image is {}", image.manifest.digest())), "{err}");

    // Over HTTPS, which the registry does not speak, without --insecure-registry.
    let err = Pusher::new(src.clone(), &Registries::default()).push(&name("local/busybox:v1"), &target, &Credentials::default(), &|_| {}).await.expect_err("not HTTPS");
    assert!(err.to_string().starts_with(&format!("failed to push \"{target}\": checking for blob sha256:")), "{err}");

    // A layer missing from the store: nothing is pushed.
    let layer = src.manifest(&image).expect("manifest").layers()[0].clone();
    std::fs::remove_file(src.blob_path(layer.digest())).expect("removes the layer");
    let err = pusher.push(&name("local/busybox:v1"), &target, &Credentials::default(), &|_| {}).await.expect_err("incomplete");
    assert_eq!(err.to_string(), format!("failed to push \"docker.io/local/busybox:v1\": blob {} is not in the store", layer.digest()));
    assert!(!registry.blob_file(image.manifest.digest().as_ref()).exists(), "no manifest was pushed");
}
