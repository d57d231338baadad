//! Volume ownership by the pod's `fsGroup`, as the kubelet's
//! `SetVolumeOwnership`: every file and directory of the volume gets the
//! group, group read (and write, unless the volume is read-only) on top of
//! its mode, and directories the setgid bit and owner and group search, so
//! what containers create there later belongs to the group too. Symlinks
//! keep their mode (the group is still set on the link itself).

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

const RW: u32 = 0o660;
const RO: u32 = 0o440;
const SEARCH: u32 = 0o110;
const SETGID: u32 = 0o2000;

/// The mode a file or directory has under an `fsGroup`.
pub fn mode(mode: u32, dir: bool, read_only: bool) -> u32 {
    let mut mask = if read_only { RO } else { RW };
    if dir {
        mask |= SETGID | SEARCH;
    }
    (mode & 0o7777) | mask
}

/// Gives `path` and, for a directory, everything under it (without
/// crossing into another file system mounted there) to group `gid`.
///
/// A container may be writing in the volume meanwhile, so no symlink is
/// ever followed, not even one that replaced an entry after it was
/// looked at: every entry is opened with `O_PATH | O_NOFOLLOW` (a symlink
/// opens as itself), its group changed through that descriptor, its mode
/// through `/proc/self/fd` (which names the very inode opened), and
/// directories are read through descriptors of their own.
pub fn apply(path: &Path, gid: u32, read_only: bool) -> Result<(), String> {
    let err = |e: rustix::io::Errno| format!("setting the fsGroup of {}: {e}", path.display());
    let fd = rustix::fs::openat(rustix::fs::CWD, path, OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()).map_err(err)?;
    let dev = rustix::fs::fstat(&fd).map_err(err)?.st_dev;
    walk(fd, dev, gid, read_only).map_err(err)
}

fn walk(fd: OwnedFd, dev: u64, gid: u32, read_only: bool) -> rustix::io::Result<()> {
    let stat = rustix::fs::fstat(&fd)?;
    if stat.st_dev != dev {
        return Ok(());
    }
    rustix::fs::chownat(&fd, "", None, Some(rustix::process::Gid::from_raw(gid)), AtFlags::EMPTY_PATH)?;
    let kind = FileType::from_raw_mode(stat.st_mode);
    if kind == FileType::Symlink {
        return Ok(());
    }
    let wanted = mode(stat.st_mode, kind == FileType::Directory, read_only);
    rustix::fs::chmod(format!("/proc/self/fd/{}", fd.as_raw_fd()), Mode::from_raw_mode(wanted))?;
    if kind != FileType::Directory {
        return Ok(());
    }
    let dir = rustix::fs::openat(&fd, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    for entry in rustix::fs::Dir::new(dir.try_clone().map_err(|_| rustix::io::Errno::MFILE)?)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let child = rustix::fs::openat(&dir, name, OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
        walk(child, dev, gid, read_only)?;
    }
    Ok(())
}

/// The pod's `fsGroup`, if it has one.
pub fn fs_group(pod: &k8s_openapi::api::core::v1::Pod) -> Option<u32> {
    let gid = pod.spec.as_ref()?.security_context.as_ref()?.fs_group?;
    // -1 as a u32 means "no change" to chown.
    u32::try_from(gid).ok().filter(|g| *g != u32::MAX)
}

/// Whether a volume's root already looks owned by `gid` (the kubelet's
/// `fsGroupChangePolicy: OnRootMismatch` skips the walk then).
pub fn root_matches(path: &Path, gid: u32, read_only: bool) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.gid() == gid && m.permissions().mode() & 0o7777 == mode(m.permissions().mode(), true, read_only))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_modes_are_the_kubelets() {
        assert_eq!(mode(0o644, false, true), 0o644);
        assert_eq!(mode(0o600, false, true), 0o640);
        assert_eq!(mode(0o600, false, false), 0o660);
        assert_eq!(mode(0o755, true, false), 0o2775);
        assert_eq!(mode(0o777, true, false), 0o2777);
        assert_eq!(mode(0o700, true, true), 0o2750);
    }

    #[test]
    fn ownership_reaches_every_file_but_not_through_symlinks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let vol = dir.path().join("vol");
        std::fs::create_dir_all(vol.join("sub")).expect("mkdir");
        std::fs::write(vol.join("sub/f"), "x").expect("writes");
        std::fs::set_permissions(vol.join("sub/f"), std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "y").expect("writes");
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        std::os::unix::fs::symlink(&outside, vol.join("link")).expect("symlink");
        // This process's own group: changing to it needs no privilege.
        let gid = rustix::process::getegid().as_raw();
        apply(&vol, gid, false).expect("applies");
        let m = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o7777;
        assert_eq!(m(&vol.join("sub/f")), 0o660);
        assert_eq!(m(&vol.join("sub")) & SETGID, SETGID);
        assert_eq!(m(&outside), 0o600, "a symlink's target is not touched");
        assert!(root_matches(&vol, gid, false));
        assert!(!root_matches(&outside, gid, false));
    }
}
