//! Garbage collection on real stores: a prune deletes exactly what no
//! name reaches (blobs, unpacked layers, abandoned ingest files) and
//! nothing young; the kubelet's policy removes unused images least
//! recently used first until the disk would be under its low threshold.

mod support;

use image::gc::{self, DiskUsage, Policy, Pruned};
use image::layers::Layers;
use image::platform::Platform;
use image::store::Image;
use image::{ImageName, Store};
use jiff::Timestamp;
use oci_spec::image::{ImageIndexBuilder, MediaType};
use std::collections::HashSet;
use std::time::Duration;
use support::busybox_image;

fn files_of(store: &Store, image: &Image) -> Vec<std::path::PathBuf> {
    let manifest = store.manifest(image).expect("manifest");
    [image.manifest.digest(), manifest.config().digest(), manifest.layers()[0].digest()].into_iter().map(|d| store.blob_path(d)).collect()
}

fn marker(store: &Store, image: &Image) -> String {
    let layers = Layers::new(store).for_image(image).expect("unpacks");
    std::fs::read_to_string(layers[0].join("etc/marker")).expect("the marker")
}

#[test]
fn image_gc_prune_deletes_only_what_no_name_reaches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("images")).expect("opens");
    let gone = busybox_image(&store, "gone", "gone", &Platform::host());
    let kept = busybox_image(&store, "kept", "kept", &Platform::host());
    // `kept` came from an index, as a multi-arch pull names it.
    let index = ImageIndexBuilder::default().schema_version(2u32).media_type(MediaType::ImageIndex).manifests(vec![kept.manifest.clone()]).build().expect("an index");
    let index_digest = store.put_bytes(&serde_json::to_vec(&index).expect("JSON"), None).expect("stored");
    let kept_name = ImageName::parse("local/busybox:kept").expect("a name");
    store.set(&kept_name, &kept.manifest, &index_digest).expect("named");
    let kept = store.get(&kept_name.to_string()).expect("reads").expect("named");
    let gone_layer_dir = Layers::new(&store).for_image(&gone).expect("unpacks")[0].clone();
    let kept_layer_dir = Layers::new(&store).for_image(&kept).expect("unpacks")[0].clone();
    let stray = store.root().join("ingest/12345-0");
    std::fs::write(&stray, b"a crashed pull").expect("writes");
    let gone_files = files_of(&store, &gone);
    let gone_bytes: u64 = gone_files.iter().map(|f| std::fs::metadata(f).expect("a blob").len()).sum();

    store.remove(&gone.name).expect("removed");
    // Everything is young: a prune with the default grace keeps it all.
    assert_eq!(gc::prune(&store, gc::GRACE).expect("prunes"), Pruned::default());
    assert!(gone_files.iter().all(|f| f.exists()) && gone_layer_dir.is_dir() && stray.exists());

    let pruned = gc::prune(&store, Duration::ZERO).expect("prunes");
    assert_eq!((pruned.blobs, pruned.layers), (4, 1), "three blobs and the ingest file; one layer: {pruned:?}");
    assert!(pruned.bytes > gone_bytes, "blobs and the unpacked layer: {pruned:?}");
    assert!(gone_files.iter().all(|f| !f.exists()), "the removed image's blobs are gone");
    assert!(!gone_layer_dir.exists() && !stray.exists());
    assert!(files_of(&store, &kept).iter().all(|f| f.exists()), "the named image's blobs stay");
    assert!(store.blob_path(&index_digest).exists(), "the index its repo digest names stays");
    assert!(kept_layer_dir.is_dir());
    assert_eq!(marker(&store, &kept), "kept");

    // Nothing left to delete.
    assert_eq!(gc::prune(&store, Duration::ZERO).expect("prunes"), Pruned::default());
}

#[test]
fn image_gc_records_use_beside_the_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("images")).expect("opens");
    let a = busybox_image(&store, "a", "a", &Platform::host());
    let t = Timestamp::from_second(1_800_000_000).expect("a time");
    gc::record_use(&store, &[a.name.clone(), "docker.io/library/not-here:latest".into()], t).expect("records");
    let used = gc::last_used(&store).expect("reads");
    assert_eq!(used.into_iter().collect::<Vec<_>>(), [(a.name.clone(), t)], "names the store lacks are not kept");
    let on_disk: serde_json::Value = serde_json::from_slice(&std::fs::read(store.root().join(gc::USAGE_FILE)).expect("usage.json")).expect("JSON");
    assert_eq!(on_disk[&a.name], "2027-01-15T08:00:00Z");
    std::fs::write(store.root().join(gc::USAGE_FILE), b"[1, 2]").expect("writes");
    let err = gc::last_used(&store).expect_err("not a map");
    assert!(err.to_string().contains("usage.json: expected a JSON object of image names to times"), "{err}");
}

#[test]
fn image_gc_collect_removes_least_recently_used_unused_images() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("images")).expect("opens");
    let t0 = Timestamp::from_second(1_800_000_000).expect("a time");
    let at = |minutes: i64| t0.checked_add(jiff::SignedDuration::from_mins(minutes)).expect("a time");
    let mut images = Vec::new();
    // "running" is the least recently used, but a container runs it.
    for (tag, used) in [("running", 0), ("old", 10), ("older-than-new", 20), ("new", 30)] {
        let image = busybox_image(&store, tag, tag, &Platform::host());
        Layers::new(&store).for_image(&image).expect("unpacks");
        gc::record_use(&store, std::slice::from_ref(&image.name), at(used)).expect("records");
        images.push(image);
    }
    let files: Vec<Vec<std::path::PathBuf>> = images.iter().map(|i| files_of(&store, i)).collect();
    let in_use: HashSet<String> = ["local/busybox:running".to_string()].into();
    let candidates = gc::candidates(&store, &in_use).expect("candidates");
    let size = |tag: &str| -> u64 { candidates.iter().find(|c| c.name.ends_with(tag)).expect("a candidate").holds.iter().map(|(_, b)| b).sum() };
    assert!(candidates.iter().find(|c| c.name.ends_with(":running")).is_some_and(|c| c.in_use), "names are normalised");
    let (old, next) = (size(":old"), size(":older-than-new"));
    assert!(old > 1_000_000, "a layer and its unpacked copy: {old}");

    let policy = Policy { min_age: Duration::ZERO, grace: Duration::ZERO, ..Policy::default() };
    let now = at(60);
    // Over the high threshold by enough that "old" alone is not enough.
    let capacity = 20 * old;
    let usage = DiskUsage { capacity, available: capacity / 5 - old - next / 2 };
    assert!(usage.percent() >= 85, "{usage:?}");
    // Under the high threshold: nothing happens.
    let calm = gc::collect_with_usage(&store, &policy, DiskUsage { capacity, available: capacity / 5 - 1 }, &in_use, now).expect("collects");
    assert!(calm.plan.remove.is_empty() && calm.pruned == Pruned::default(), "{calm:?}");
    assert_eq!(store.images().expect("lists").len(), 4);

    let collected = gc::collect_with_usage(&store, &policy, usage, &in_use, now).expect("collects");
    assert_eq!(collected.plan.remove, ["docker.io/local/busybox:old", "docker.io/local/busybox:older-than-new"]);
    assert_eq!(collected.plan.to_free, old + next / 2);
    assert_eq!(collected.plan.frees, old + next);
    let left: Vec<String> = store.images().expect("lists").into_iter().map(|i| i.name).collect();
    assert_eq!(left, ["docker.io/local/busybox:running", "docker.io/local/busybox:new"]);
    for i in [1, 2] {
        assert!(files[i].iter().all(|f| !f.exists()), "{} was pruned", images[i].name);
    }
    for i in [0, 3] {
        assert!(files[i].iter().all(|f| f.exists()), "{} stays", images[i].name);
        assert_eq!(marker(&store, &images[i]), images[i].name.rsplit(':').next().expect("a tag"));
    }
    assert_eq!(collected.pruned.blobs, 6);
    assert_eq!(collected.pruned.bytes, old + next, "what the plan expected is what was freed");
    assert_eq!(gc::last_used(&store).expect("reads").len(), 2, "the removed images' records go too");

    // The real disk: far under 85% in a test machine, or not; either way
    // the wrapper reads statvfs and follows the same rule.
    let usage = DiskUsage::of(store.root()).expect("statvfs");
    let real = gc::collect(&store, &Policy { high_threshold_percent: 100, ..policy }, &in_use).expect("collects");
    assert_eq!(real.usage.capacity, usage.capacity);
    assert!(real.plan.remove.is_empty(), "a high threshold of 100% turns GC off");
}
