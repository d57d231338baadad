//! Unpacked layers that an overlay mount on this machine uses as a lower
//! directory: a running container's root file system. Garbage collection
//! keeps them whatever names the store still has (an image removed by
//! name while its containers run must not lose their files).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The names of the directories under `layers_dir` that a mount in this
/// process's mount namespace has as a lower directory.
pub fn mounted_layers(layers_dir: &Path) -> HashSet<String> {
    let Ok(table) = std::fs::read_to_string("/proc/self/mountinfo") else { return HashSet::new() };
    let root = std::fs::canonicalize(layers_dir).unwrap_or_else(|_| layers_dir.to_path_buf());
    lower_dirs(&table).iter().filter_map(|dir| layer_of(&root, dir)).collect()
}

/// Every overlay mount's lower directories, as the table shows them.
fn lower_dirs(mountinfo: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        // `... - <type> <source> <super options>`
        let Some((_, tail)) = line.split_once(" - ") else { continue };
        let mut fields = tail.split(' ');
        if fields.next() != Some("overlay") {
            continue;
        }
        let Some(options) = fields.nth(1) else { continue };
        for option in options.split(',') {
            if let Some(value) = option.strip_prefix("lowerdir=") {
                out.extend(unescape(value).split(':').filter(|d| !d.is_empty()).map(PathBuf::from));
            }
        }
    }
    out
}

/// The layer a lower directory is (or lies in) under `root`.
fn layer_of(root: &Path, dir: &Path) -> Option<String> {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let rest = dir.strip_prefix(root).ok()?;
    rest.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned())
}

/// The kernel writes space, tab, newline, backslash and comma in mount
/// options as `\ooo` octal escapes.
fn unescape(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounted_layers_are_the_overlay_lower_directories_under_the_store() {
        let table = "\
21 1 0:20 / / rw - ext4 /dev/vda rw
90 21 0:51 / /data/containers/c1/bundle/rootfs rw - overlay overlay rw,lowerdir=/data/images/layers/bbb:/data/images/layers/aaa,upperdir=/data/containers/c1/upper,workdir=/data/containers/c1/work
91 21 0:52 / /elsewhere rw - overlay overlay rw,lowerdir=/other/lower,upperdir=/u,workdir=/w
92 21 0:53 / /spaced rw - overlay overlay rw,lowerdir=/data/images/layers/with\\040space,upperdir=/u,workdir=/w
93 21 0:54 / /tmp rw - tmpfs tmpfs rw,lowerdir=/data/images/layers/not-overlay
";
        let dirs = lower_dirs(table);
        assert_eq!(dirs, ["/data/images/layers/bbb", "/data/images/layers/aaa", "/other/lower", "/data/images/layers/with space"].map(PathBuf::from));
        let root = Path::new("/data/images/layers");
        let layers: HashSet<String> = dirs.iter().filter_map(|d| layer_of(root, d)).collect();
        assert_eq!(layers, ["bbb", "aaa", "with space"].map(String::from).into());
    }
}
