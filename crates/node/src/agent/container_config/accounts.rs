//! The image's users and groups (`/etc/passwd`, `/etc/group`, read through
//! its unpacked layers as the overlay would show them), for resolving a
//! container's user as containerd does: a user name to its uid and primary
//! group, a numeric uid to the primary group its entry gives (0 without
//! one), a group name to its gid, and the groups that list the user as a
//! member added (Kubernetes' default `supplementalGroupsPolicy: Merge`).

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// How much of each file is read: account files are small.
const MAX_FILE: u64 = 1 << 20;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    passwd: String,
    group: String,
}

/// One `/etc/passwd` entry: name, uid, gid.
fn passwd_entries(text: &str) -> impl Iterator<Item = (&str, u32, u32)> {
    text.lines().filter_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        Some((*f.first()?, f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?))
    })
}

/// One `/etc/group` entry: name, gid, members.
fn group_entries(text: &str) -> impl Iterator<Item = (&str, u32, Vec<&str>)> {
    text.lines().filter_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        let members = f.get(3).map(|m| m.split(',').map(str::trim).filter(|m| !m.is_empty()).collect()).unwrap_or_default();
        Some((*f.first()?, f.get(2)?.parse().ok()?, members))
    })
}

impl Accounts {
    pub fn new(passwd: &str, group: &str) -> Accounts {
        Accounts { passwd: passwd.to_string(), group: group.to_string() }
    }

    /// Reads the account files of an image from its layers (bottom first).
    pub fn read(layers: &[PathBuf]) -> Accounts {
        let read = |rel: &str| image_file(layers, rel).unwrap_or_default();
        Accounts { passwd: read("etc/passwd"), group: read("etc/group") }
    }

    /// The uid and primary gid of user `name`.
    pub fn user(&self, name: &str) -> Option<(u32, u32)> {
        passwd_entries(&self.passwd).find(|(n, _, _)| *n == name).map(|(_, u, g)| (u, g))
    }

    /// The name and primary gid of the entry for `uid`.
    pub fn by_uid(&self, uid: u32) -> Option<(&str, u32)> {
        passwd_entries(&self.passwd).find(|(_, u, _)| *u == uid).map(|(n, _, g)| (n, g))
    }

    pub fn group(&self, name: &str) -> Option<u32> {
        group_entries(&self.group).find(|(n, _, _)| *n == name).map(|(_, g, _)| g)
    }

    /// The groups that list `user` as a member.
    pub fn member_of(&self, user: &str) -> Vec<u32> {
        group_entries(&self.group).filter(|(_, _, members)| members.contains(&user)).map(|(_, g, _)| g).collect()
    }
}

/// How many symlinks a lookup follows (the kernel's limit is 40).
const MAX_LINKS: usize = 40;

/// A regular file of the image as its merged root shows it: each
/// component from the topmost layer that has it, unless a whiteout or an
/// opaque directory above hides it (`image::unpack` writes them in
/// overlayfs' form); symlinks on the way are followed inside the image
/// (`/etc/passwd -> ../usr/share/passwd`, or an absolute target), never
/// out of it.
fn image_file(layers: &[PathBuf], rel: &str) -> Option<String> {
    let mut pending: Vec<String> = components(rel).into_iter().rev().collect();
    let mut at: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            at.pop();
            continue;
        }
        at.push(part);
        let (path, meta) = merged(layers, &at)?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > MAX_LINKS {
                return None;
            }
            let target = std::fs::read_link(&path).ok()?;
            let target = target.to_str()?;
            at.pop();
            if target.starts_with('/') {
                at.clear();
            }
            pending.extend(components(target).into_iter().rev());
        } else if pending.is_empty() {
            use std::io::Read;
            if !meta.is_file() {
                return None;
            }
            let mut text = String::new();
            std::fs::File::open(path).ok()?.take(MAX_FILE).read_to_string(&mut text).ok()?;
            return Some(text);
        } else if !meta.is_dir() {
            return None;
        }
    }
    None
}

/// The path's names, without empty ones and `.`.
fn components(path: &str) -> Vec<String> {
    path.split('/').filter(|p| !p.is_empty() && *p != ".").map(str::to_string).collect()
}

/// The entry `parts` names in the merged view: in the topmost layer that
/// has it, unless that layer whites it out, or a layer above has its
/// parent as an opaque directory. Its parents were resolved already.
fn merged(layers: &[PathBuf], parts: &[String]) -> Option<(PathBuf, std::fs::Metadata)> {
    let rel: PathBuf = parts.iter().collect();
    for layer in layers.iter().rev() {
        let path = layer.join(&rel);
        if let Ok(meta) = std::fs::symlink_metadata(&path) {
            let whiteout = meta.file_type().is_char_device() && meta.rdev() == 0;
            return if whiteout { None } else { Some((path, meta)) };
        }
        if parts.len() > 1 && path.parent().is_some_and(opaque) {
            return None;
        }
    }
    None
}

fn opaque(dir: &Path) -> bool {
    let mut value = [0u8; 1];
    rustix::fs::getxattr(dir, "trusted.overlay.opaque", &mut value).is_ok_and(|n| n == 1 && value[0] == b'y')
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\napp:x:1000:1001::/home/app:/bin/sh\nbroken line\n";
    const GROUP: &str = "root:x:0:\nnogroup:x:65534:\napp:x:1001:\naudio:x:29:app,other\nvideo:x:44: app \n";

    #[test]
    fn accounts_resolve_names_uids_and_memberships() {
        let a = Accounts::new(PASSWD, GROUP);
        assert_eq!(a.user("app"), Some((1000, 1001)));
        assert_eq!(a.user("ghost"), None);
        assert_eq!(a.by_uid(65534), Some(("nobody", 65534)));
        assert_eq!(a.by_uid(4242), None);
        assert_eq!(a.group("nogroup"), Some(65534));
        assert_eq!(a.member_of("app"), [29, 44]);
        assert!(a.member_of("nobody").is_empty());
    }

    #[test]
    fn accounts_are_read_through_the_layers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (low, high) = (dir.path().join("low"), dir.path().join("high"));
        std::fs::create_dir_all(low.join("etc")).expect("mkdir");
        std::fs::create_dir_all(high.join("etc")).expect("mkdir");
        std::fs::write(low.join("etc/passwd"), "low:x:1:1::/:/bin/sh\n").expect("writes");
        std::fs::write(low.join("etc/group"), "low:x:1:\n").expect("writes");
        std::fs::write(high.join("etc/passwd"), PASSWD).expect("writes");
        let a = Accounts::read(&[low.clone(), high.clone()]);
        assert_eq!(a.user("app"), Some((1000, 1001)), "the upper layer's passwd");
        assert_eq!(a.group("low"), Some(1), "the lower layer's group, not hidden");
        assert_eq!(Accounts::read(&[dir.path().join("none")]), Accounts::default());

        // Symlinks are followed inside the image: a relative one in the
        // upper layer to a file in the lower, an absolute one, and none
        // out of the image.
        let linked = dir.path().join("linked");
        std::fs::create_dir_all(linked.join("etc")).expect("mkdir");
        std::fs::create_dir_all(low.join("usr/share")).expect("mkdir");
        std::fs::write(low.join("usr/share/group"), "shared:x:7:\n").expect("writes");
        std::os::unix::fs::symlink("../usr/share/group", linked.join("etc/group")).expect("symlink");
        std::os::unix::fs::symlink("/../../../../usr/share/group", linked.join("etc/passwd")).expect("symlink");
        let a = Accounts::read(&[low.clone(), linked.clone()]);
        assert_eq!(a.group("shared"), Some(7));
        assert_eq!(image_file(&[low.clone(), linked.clone()], "etc/passwd").as_deref(), Some("shared:x:7:\n"), "'..' stops at the image's root");
        std::os::unix::fs::symlink("passwd", linked.join("etc/loop")).expect("symlink");
        std::fs::remove_file(linked.join("etc/passwd")).expect("rm");
        std::os::unix::fs::symlink("loop", linked.join("etc/passwd")).expect("symlink");
        assert_eq!(image_file(&[low, linked], "etc/passwd"), None, "a loop ends");
    }
}
