//! The cgroups Nubis makes: containers' cgroups live under `/nubis/pods/
//! <pod uid>/<container>` in every hierarchy (cgroup v1 has one per
//! controller, v2 one in all). The runtime removes a container's own
//! cgroup when it deletes it; the pod's and Nubis's parents are removed
//! here, so a deleted pod or `nubis reset` leaves none behind.

use std::path::{Path, PathBuf};

/// Where the cgroup hierarchies are mounted.
const ROOT: &str = "/sys/fs/cgroup";

/// The cgroup path (inside each hierarchy) of a pod's containers.
pub fn pod_path(pod_uid: &str) -> String {
    format!("/nubis/pods/{pod_uid}")
}

/// The directories of `path` in every mounted hierarchy.
fn in_hierarchies(root: &Path, path: &str) -> Vec<PathBuf> {
    let relative = path.trim_start_matches('/');
    let mut out = vec![root.join(relative)];
    for e in std::fs::read_dir(root).into_iter().flatten().filter_map(Result::ok) {
        if e.path().is_dir() && e.path().join("cgroup.procs").exists() {
            out.push(e.path().join(relative));
        }
    }
    out.retain(|p| p.is_dir());
    out
}

/// Removes the cgroup `path` and those under it in every hierarchy,
/// deepest first; a cgroup with processes still in it stays (and its
/// parents), as the kernel refuses to remove it.
pub fn remove_tree(path: &str) -> usize {
    remove_tree_under(Path::new(ROOT), path)
}

fn remove_tree_under(root: &Path, path: &str) -> usize {
    let mut removed = 0;
    for dir in in_hierarchies(root, path) {
        removed += remove_dir_tree(&dir);
    }
    removed
}

/// Cgroup directories cannot be removed recursively (their files are not
/// files): each is `rmdir`ed after its children.
fn remove_dir_tree(dir: &Path) -> usize {
    let mut removed = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().filter_map(Result::ok) {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            removed += remove_dir_tree(&e.path());
        }
    }
    if std::fs::remove_dir(dir).is_ok() {
        removed += 1;
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroups_trees_go_deepest_first() {
        // Ordinary directories stand in for a hierarchy here: the order of
        // removal is what is tested.
        let dir = tempfile::tempdir().expect("tempdir");
        let memory = dir.path().join("memory");
        std::fs::create_dir_all(memory.join("nubis/pods/u1/web")).expect("mkdir");
        std::fs::write(memory.join("cgroup.procs"), "").expect("writes");
        std::fs::create_dir_all(dir.path().join("nubis/pods/u1")).expect("mkdir");
        assert_eq!(in_hierarchies(dir.path(), "/nubis/pods/u1").len(), 2);
        assert_eq!(remove_tree_under(dir.path(), &pod_path("u1")), 3);
        assert!(!memory.join("nubis/pods/u1").exists() && memory.join("nubis/pods").exists());
    }
}
