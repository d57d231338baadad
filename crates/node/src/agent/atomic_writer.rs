//! Writing a volume's files the way the kubelet's AtomicWriter does, so a
//! reader never sees half an update: the files go into a new hidden
//! directory (`..2026_11_25_10_00_00.123`), the symlink `..data` is
//! switched to it by a rename, and each top-level name is a symlink
//! through `..data`. The previous directory is removed afterwards.

use super::ownership;
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

const DATA: &str = "..data";

/// A file of the volume: its bytes and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub bytes: Vec<u8>,
    pub mode: u32,
}

/// A path inside the volume, refused when it could leave it.
fn checked(path: &str) -> Result<PathBuf, String> {
    let p = Path::new(path);
    if path.is_empty() || p.is_absolute() || p.components().any(|c| !matches!(c, Component::Normal(_))) || path.starts_with("..") {
        return Err(format!("invalid path {path:?} in the volume: it must be relative, without '..', and not start with '..'"));
    }
    Ok(p.to_path_buf())
}

/// Makes `dir` hold exactly `files`, switching atomically; a volume that
/// holds them already is left alone (as the kubelet's writer does: the
/// worker refreshes every volume of every pod every 30 s). With a `group`
/// (the pod's fsGroup) everything is that group's, read-only for it
/// (`ownership`).
pub fn write(dir: &Path, files: &BTreeMap<String, File>, group: Option<u32>) -> Result<(), String> {
    for path in files.keys() {
        checked(path)?;
    }
    let owned: BTreeMap<String, File>;
    let files = match group {
        Some(_) => {
            owned = files.iter().map(|(p, f)| (p.clone(), File { bytes: f.bytes.clone(), mode: ownership::mode(f.mode, false, true) })).collect();
            &owned
        }
        None => files,
    };
    if holds(dir, files, group) {
        return Ok(());
    }
    let io = |what: &Path, e: std::io::Error| format!("{}: {e}", what.display());
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let stamp = jiff::Timestamp::now().strftime("..%Y_%m_%d_%H_%M_%S.%f").to_string();
    let fresh = dir.join(&stamp);
    std::fs::create_dir(&fresh).map_err(|e| io(&fresh, e))?;
    let mut top: Vec<String> = Vec::new();
    for (path, file) in files {
        let rel = checked(path)?;
        let target = fresh.join(&rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&target, &file.bytes).map_err(|e| io(&target, e))?;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(file.mode & 0o7777)).map_err(|e| io(&target, e))?;
        if let Some(Component::Normal(first)) = rel.components().next() {
            top.push(first.to_string_lossy().into_owned());
        }
    }
    let data = dir.join(DATA);
    let old = std::fs::read_link(&data).ok();
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&stamp, &tmp).map_err(|e| io(&tmp, e))?;
    if let Some(gid) = group {
        // The new version (modes already set) and the volume's root; the
        // links are made below, before anyone resolves through them.
        ownership::apply(&fresh, gid, true)?;
        ownership::apply(&tmp, gid, true)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(ownership::mode(0o755, true, true))).map_err(|e| io(dir, e))?;
        rustix::fs::chown(dir, None, Some(rustix::process::Gid::from_raw(gid))).map_err(|e| io(dir, e.into()))?;
    }
    std::fs::rename(&tmp, &data).map_err(|e| io(&data, e))?;
    top.sort();
    top.dedup();
    for name in &top {
        let link = dir.join(name);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(Path::new(DATA).join(name), &link).map_err(|e| io(&link, e))?;
        }
    }
    // Names the new data no longer has go, then the old directory.
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))?.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("..") && !top.contains(&name) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    if let Some(old) = old.filter(|o| o.as_os_str() != stamp.as_str()) {
        let _ = std::fs::remove_dir_all(dir.join(old));
    }
    Ok(())
}

/// Whether the volume's current version is `files`: the same bytes and
/// modes (and group), nothing more, and every top-level name linked.
fn holds(dir: &Path, files: &BTreeMap<String, File>, group: Option<u32>) -> bool {
    let data = dir.join(DATA);
    if std::fs::read_link(&data).is_err() {
        return false;
    }
    let same = files.iter().all(|(path, file)| {
        let target = data.join(path);
        let meta = std::fs::metadata(&target);
        meta.is_ok_and(|m| m.permissions().mode() & 0o7777 == file.mode & 0o7777 && group.is_none_or(|g| m.gid() == g)) && std::fs::read(&target).is_ok_and(|b| b == file.bytes)
    });
    let linked = files.keys().filter_map(|p| Path::new(p).components().next()).all(|first| std::fs::symlink_metadata(dir.join(first)).is_ok());
    same && linked && count_files(&data) == files.len()
}

/// The regular files under `dir`, at any depth.
fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => count_files(&e.path()),
            Ok(_) => 1,
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(entries: &[(&str, &str, u32)]) -> BTreeMap<String, File> {
        entries.iter().map(|(p, b, m)| (p.to_string(), File { bytes: b.as_bytes().to_vec(), mode: *m })).collect()
    }

    #[test]
    fn atomic_writer_switches_whole_versions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let vol = dir.path().join("vol");
        write(&vol, &files(&[("a", "1", 0o644), ("sub/b", "2", 0o600)]), None).expect("writes");
        assert_eq!(std::fs::read_to_string(vol.join("a")).expect("reads"), "1");
        assert_eq!(std::fs::read_to_string(vol.join("sub/b")).expect("reads"), "2");
        assert_eq!(std::fs::metadata(vol.join("sub/b")).expect("stat").permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_link(vol.join("a")).expect("a symlink"), Path::new("..data/a"));
        let first = std::fs::read_link(vol.join("..data")).expect("..data");

        write(&vol, &files(&[("a", "1", 0o644), ("sub/b", "2", 0o600)]), None).expect("writes the same");
        assert_eq!(std::fs::read_link(vol.join("..data")).expect("..data"), first, "the same content is not written again");
        write(&vol, &files(&[("a", "1", 0o644), ("sub/b", "2", 0o640)]), None).expect("writes a new mode");
        assert_ne!(std::fs::read_link(vol.join("..data")).expect("..data"), first, "a changed mode is a new version");
        let first = std::fs::read_link(vol.join("..data")).expect("..data");

        write(&vol, &files(&[("a", "changed", 0o644)]), None).expect("writes again");
        assert_eq!(std::fs::read_to_string(vol.join("a")).expect("reads"), "changed");
        assert!(!vol.join("sub").exists(), "a name the update dropped goes");
        assert!(!vol.join(first).exists(), "the previous version goes");
        for bad in ["../x", "/etc/x", "..data/x", "a/../../x", ""] {
            assert!(write(&vol, &files(&[(bad, "x", 0o644)]), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn atomic_writer_gives_the_files_to_the_fs_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let vol = dir.path().join("vol");
        // This process's own group: changing to it needs no privilege.
        let gid = rustix::process::getegid().as_raw();
        write(&vol, &files(&[("token", "t", 0o600), ("ca.crt", "c", 0o644)]), Some(gid)).expect("writes");
        let meta = |p: &str| std::fs::metadata(vol.join(p)).expect("stat");
        assert_eq!(meta("token").permissions().mode() & 0o7777, 0o640, "group read on top of 0600");
        assert_eq!(meta("ca.crt").permissions().mode() & 0o7777, 0o644);
        assert_eq!(meta("token").gid(), gid);
        assert_eq!(meta("..data").permissions().mode() & 0o2000, 0o2000, "directories are setgid");
        let first = std::fs::read_link(vol.join("..data")).expect("..data");
        write(&vol, &files(&[("token", "t", 0o600), ("ca.crt", "c", 0o644)]), Some(gid)).expect("writes the same");
        assert_eq!(std::fs::read_link(vol.join("..data")).expect("..data"), first, "owned files are the same version");
    }
}
