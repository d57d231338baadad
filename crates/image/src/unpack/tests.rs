//! Unpacking real tar streams (built here, some of them hostile) into
//! temporary directories. Ownership, devices and `trusted.*` attributes
//! need root: these tests are named `unpack_needs_root_*` and CI runs them
//! as root.

use super::*;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

/// One tar entry to build; `name` is written into the header verbatim, so
/// a test can say what `tar::Builder` would refuse (`..`).
struct E<'a> {
    name: &'a str,
    kind: tar::EntryType,
    data: &'a [u8],
    link: Option<&'a str>,
    mode: u32,
    uid: u64,
}

fn file<'a>(name: &'a str, data: &'a [u8]) -> E<'a> {
    E { name, kind: tar::EntryType::Regular, data, link: None, mode: 0o644, uid: 0 }
}

fn dir(name: &str) -> E<'_> {
    E { name, kind: tar::EntryType::Directory, data: b"", link: None, mode: 0o755, uid: 0 }
}

fn link<'a>(name: &'a str, kind: tar::EntryType, target: &'a str) -> E<'a> {
    E { name, kind, data: b"", link: Some(target), mode: 0o777, uid: 0 }
}

fn tar_of(entries: &[E]) -> Vec<u8> {
    let mut out = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        let name = h.as_old_mut().name.as_mut_slice();
        name[..e.name.len()].copy_from_slice(e.name.as_bytes());
        if let Some(target) = e.link {
            let l = h.as_old_mut().linkname.as_mut_slice();
            l[..target.len()].copy_from_slice(target.as_bytes());
        }
        h.set_entry_type(e.kind);
        h.set_mode(e.mode);
        h.set_uid(e.uid);
        h.set_gid(e.uid);
        h.set_mtime(1_700_000_000);
        h.set_size(e.data.len() as u64);
        h.set_cksum();
        out.append(&h, e.data).expect("appends");
    }
    out.into_inner().expect("a tar")
}

fn unpacked(tar: &[u8]) -> (tempfile::TempDir, Result<Unpacked, Error>) {
    let d = tempfile::tempdir().expect("tempdir");
    let layer = d.path().join("layer");
    std::fs::create_dir(&layer).expect("mkdir");
    let result = unpack(tar, &layer);
    (d, result)
}

#[test]
fn unpack_needs_root_keeps_files_links_modes_and_owners() {
    let tar = tar_of(&[
        dir("usr/"),
        dir("usr/bin/"),
        E { mode: 0o4755, uid: 1000, ..file("usr/bin/tool", b"#!/bin/sh\necho hi\n") },
        link("usr/bin/sh", tar::EntryType::Symlink, "/bin/busybox"),
        link("usr/bin/tool2", tar::EntryType::Link, "usr/bin/tool"),
        file("etc/deep/auto/parent", b"x"),
        E { name: "dev/null", kind: tar::EntryType::Char, data: b"", link: None, mode: 0o666, uid: 0 },
        E { name: "run/fifo", kind: tar::EntryType::Fifo, data: b"", link: None, mode: 0o600, uid: 0 },
    ]);
    let (d, result) = unpacked(&tar);
    let u = result.expect("unpacks");
    assert_eq!(u.diff_id, crate::digest::of(&tar), "the diff id is the digest of the tar");
    assert_eq!(u.size, tar.len() as u64);
    let root = d.path().join("layer");
    let tool = std::fs::metadata(root.join("usr/bin/tool")).expect("tool");
    assert_eq!(tool.permissions().mode() & 0o7777, 0o4755, "set-uid survives the chown");
    assert_eq!((tool.uid(), tool.gid()), (1000, 1000));
    assert_eq!(tool.mtime(), 1_700_000_000);
    assert_eq!(std::fs::read_link(root.join("usr/bin/sh")).expect("a symlink"), Path::new("/bin/busybox"));
    assert_eq!(std::fs::metadata(root.join("usr/bin/tool2")).expect("hard link").ino(), tool.ino());
    assert_eq!(std::fs::read(root.join("etc/deep/auto/parent")).expect("reads"), b"x");
    assert_eq!(std::fs::metadata(root.join("usr/bin")).expect("dir").mtime(), 1_700_000_000, "directory times are set last");
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(root.join("dev/null")).expect("device").file_type().is_char_device());
    assert!(std::fs::symlink_metadata(root.join("run/fifo")).expect("fifo").file_type().is_fifo());
}

#[test]
fn unpack_needs_root_reads_gzip_and_zstd() {
    let tar = tar_of(&[file("a", b"hello")]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).expect("compresses");
    let gz = gz.finish().expect("gzip");
    let zst = zstd::encode_all(&tar[..], 1).expect("zstd");
    for (what, blob) in [("gzip", gz), ("zstd", zst), ("plain", tar.clone())] {
        let (d, result) = unpacked(&blob);
        assert_eq!(result.expect(what).diff_id, crate::digest::of(&tar), "{what}");
        assert_eq!(std::fs::read(d.path().join("layer/a")).expect(what), b"hello");
    }
}

#[test]
fn unpack_needs_root_never_writes_outside_the_layer() {
    // `..` is refused outright.
    let (d, result) = unpacked(&tar_of(&[file("../escaped", b"x")]));
    assert!(matches!(result, Err(Error::Entry { ref why, .. }) if why.contains("..")), "{result:?}");
    assert!(!d.path().join("escaped").exists());

    // Absolute paths and paths through symlinks (absolute or climbing)
    // land inside, as they would resolve inside the container.
    let (d, result) = unpacked(&tar_of(&[
        file("/abs", b"1"),
        link("root", tar::EntryType::Symlink, "/"),
        file("root/through-root", b"2"),
        link("up", tar::EntryType::Symlink, "../../../.."),
        file("up/through-up", b"3"),
        link("hosts", tar::EntryType::Symlink, "/etc/hosts"),
    ]));
    result.expect("unpacks");
    let layer = d.path().join("layer");
    for (name, content) in [("abs", "1"), ("through-root", "2"), ("through-up", "3")] {
        assert_eq!(std::fs::read_to_string(layer.join(name)).expect(name), content);
    }
    assert!(!d.path().join("through-up").exists() && !Path::new("/through-root").exists());

    // A regular file over a symlink replaces the symlink, never writes to
    // what it points at.
    let outside = d.path().join("outside");
    std::fs::write(&outside, "keep").expect("writes");
    let (d2, result) = unpacked(&tar_of(&[link("f", tar::EntryType::Symlink, outside.to_str().expect("utf-8")), file("f", b"new")]));
    result.expect("unpacks");
    assert_eq!(std::fs::read_to_string(&outside).expect("reads"), "keep");
    assert_eq!(std::fs::read_to_string(d2.path().join("layer/f")).expect("reads"), "new");

    // A hard link cannot reach out either.
    let (_d, result) = unpacked(&tar_of(&[link("pw", tar::EntryType::Link, "../../../../etc/passwd")]));
    assert!(result.is_err(), "a hard link leaving the layer is refused");
    let (d3, result) = unpacked(&tar_of(&[link("etc", tar::EntryType::Symlink, "/etc"), link("pw", tar::EntryType::Link, "etc/passwd")]));
    assert!(result.is_err(), "a hard link through a symlink resolves inside the layer, where there is no passwd");
    assert!(!d3.path().join("layer/pw").exists());
}

#[test]
fn unpack_needs_root_turns_whiteouts_into_overlay_form() {
    let (d, result) = unpacked(&tar_of(&[dir("etc/"), file("etc/.wh.gone", b""), dir("var/cache/"), file("var/cache/.wh..wh..opq", b""), file("var/cache/kept", b"k")]));
    result.expect("unpacks");
    let layer = d.path().join("layer");
    let gone = std::fs::symlink_metadata(layer.join("etc/gone")).expect("a whiteout");
    use std::os::unix::fs::FileTypeExt;
    assert!(gone.file_type().is_char_device() && gone.rdev() == 0, "a 0/0 character device");
    assert!(!layer.join("etc/.wh.gone").exists());
    let mut value = [0u8; 4];
    let n = rfs::getxattr(layer.join("var/cache"), OPAQUE_XATTR, &mut value).expect("the opaque attribute");
    assert_eq!(&value[..n], b"y");
    assert_eq!(std::fs::read(layer.join("var/cache/kept")).expect("reads"), b"k");
    let (_d, result) = unpacked(&tar_of(&[file(".wh.", b"")]));
    assert!(result.is_err(), "a whiteout of nothing");
}

#[test]
fn unpack_needs_root_refuses_layers_over_the_limit_before_writing_them() {
    // A decompression bomb: 64 MiB of zeros gzip to a few dozen KiB.
    let zeros = vec![0u8; 64 << 20];
    let bomb = tar_of(&[file("bomb", &zeros)]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&bomb).expect("compresses");
    let compressed = gz.finish().expect("compresses");
    assert!(compressed.len() < 1 << 20, "{} bytes compressed", compressed.len());
    let d = tempfile::tempdir().expect("tempdir");
    let layer = d.path().join("layer");
    std::fs::create_dir(&layer).expect("mkdir");
    let err = unpack_limited(&compressed[..], &layer, 1 << 20).err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(err, "the layer unpacks to more than 1048576 bytes, the limit of this node");
    assert!(!layer.join("bomb").exists(), "nothing of the bomb was written");

    // Many small files add up the same way.
    let small = vec![7u8; 300 << 10];
    let names: Vec<String> = (0..5).map(|i| format!("f{i}")).collect();
    let entries: Vec<E> = names.iter().map(|n| file(n, &small)).collect();
    let layer2 = d.path().join("layer2");
    std::fs::create_dir(&layer2).expect("mkdir");
    assert!(matches!(unpack_limited(&tar_of(&entries)[..], &layer2, 1 << 20), Err(Error::TooLarge { limit: 1048576 })));
    // Under the limit, all is well.
    let layer3 = d.path().join("layer3");
    std::fs::create_dir(&layer3).expect("mkdir");
    assert!(unpack_limited(&tar_of(&entries[..2])[..], &layer3, 1 << 20).is_ok());
}
