//! The host's device nodes, for a privileged container (containerd's
//! `WithDevices` of the host's `/dev`): every character and block device
//! except the host's terminals and the directories a container has its
//! own of (`pts`, `shm`, `mqueue`, `fd`).

use oci_spec::runtime::{LinuxDevice, LinuxDeviceBuilder, LinuxDeviceType};
use rustix::fs::FileType;
use std::path::Path;

/// Directories under `/dev` a container mounts its own of.
const SKIPPED_DIRS: [&str; 6] = ["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts"];

/// The device nodes under `dev`, as they are to appear in the container.
pub fn host_devices(dev: &Path) -> Vec<LinuxDevice> {
    let mut out = Vec::new();
    walk(dev, dev, &mut out);
    out.sort_by(|a, b| a.path().cmp(b.path()));
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<LinuxDevice>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().filter_map(Result::ok) {
        let path = entry.path();
        let Ok(stat) = rustix::fs::lstat(&path) else { continue };
        let name = entry.file_name();
        let typ = match FileType::from_raw_mode(stat.st_mode) {
            FileType::Directory => {
                if !SKIPPED_DIRS.iter().any(|d| name == *d) {
                    walk(root, &path, out);
                }
                continue;
            }
            // The host's console is not the container's.
            _ if name == "console" => continue,
            FileType::CharacterDevice => LinuxDeviceType::C,
            FileType::BlockDevice => LinuxDeviceType::B,
            _ => continue,
        };
        let Ok(relative) = path.strip_prefix(root) else { continue };
        let device = LinuxDeviceBuilder::default()
            .path(Path::new("/dev").join(relative))
            .typ(typ)
            .major(i64::from(rustix::fs::major(stat.st_rdev)))
            .minor(i64::from(rustix::fs::minor(stat.st_rdev)))
            .file_mode(stat.st_mode & 0o7777)
            .uid(stat.st_uid)
            .gid(stat.st_gid)
            .build();
        if let Ok(device) = device {
            out.push(device);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_of_the_host_are_device_nodes_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("pts")).expect("mkdir");
        std::fs::write(dir.path().join("not-a-device"), "").expect("writes");
        assert!(host_devices(dir.path()).is_empty());
        // The real /dev has /dev/null, as a character device 1:3.
        let null = host_devices(Path::new("/dev")).into_iter().find(|d| d.path() == Path::new("/dev/null"));
        assert_eq!(null.map(|d| (d.typ(), d.major(), d.minor())), Some((LinuxDeviceType::C, 1, 3)));
    }
}
