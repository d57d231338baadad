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

/// A regular file of the image as its merged root shows it: the topmost
/// layer that has it, unless a whiteout or an opaque directory above
/// hides it (`image::unpack` writes them in overlayfs' form).
fn image_file(layers: &[PathBuf], rel: &str) -> Option<String> {
    for layer in layers.iter().rev() {
        match lookup(layer, Path::new(rel)) {
            Found::File(path) => {
                use std::io::Read;
                let mut text = String::new();
                std::fs::File::open(path).ok()?.take(MAX_FILE).read_to_string(&mut text).ok()?;
                return Some(text);
            }
            Found::Hidden => return None,
            Found::Absent => {}
        }
    }
    None
}

enum Found {
    File(PathBuf),
    /// Whited out, or not a regular file, or below an opaque directory.
    Hidden,
    Absent,
}

fn lookup(layer: &Path, rel: &Path) -> Found {
    let mut at = layer.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let Ok(meta) = std::fs::symlink_metadata(&at) else {
            // Not in this layer; an opaque parent hides the lower ones.
            return if i > 0 && opaque(at.parent().unwrap_or(layer)) { Found::Hidden } else { Found::Absent };
        };
        if meta.file_type().is_char_device() && meta.rdev() == 0 {
            return Found::Hidden;
        }
        let last = i + 1 == parts.len();
        if last {
            return if meta.is_file() { Found::File(at) } else { Found::Hidden };
        }
        if !meta.is_dir() {
            return Found::Hidden;
        }
    }
    Found::Absent
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
    }
}
