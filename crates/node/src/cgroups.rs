//! The cgroups Nubis makes: containers' cgroups live under `/nubis/pods/
//! <pod uid>/<container>` in every hierarchy (cgroup v1 has one per
//! controller, v2 one in all). The runtime makes a container's own cgroup
//! and removes it when it deletes the container; the pod's cgroup gets
//! the pod's limits here (`set_pod`, the kubelet's pod cgroup), and the
//! pod's and Nubis's parents are removed here, so a deleted pod or `nubis
//! reset` leaves none behind. `oom_kills` reads how many of a cgroup's
//! processes the kernel's OOM killer ended.

use std::path::{Path, PathBuf};

/// Where the cgroup hierarchies are mounted.
const ROOT: &str = "/sys/fs/cgroup";

/// The cgroup path (inside each hierarchy) of a pod's containers.
pub fn pod_path(pod_uid: &str) -> String {
    format!("/nubis/pods/{pod_uid}")
}

#[derive(Debug, thiserror::Error)]
#[error("setting the pod cgroup: {path}: {source}")]
pub struct Error {
    path: PathBuf,
    source: std::io::Error,
}

/// The limits of a pod's cgroup (the kubelet's `ResourceConfigForPod`);
/// `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PodLimits {
    pub cpu_shares: u64,
    pub cpu_quota: Option<i64>,
    pub cpu_period: u64,
    pub memory_limit: Option<i64>,
}

/// Whether the machine has only the unified hierarchy (cgroup v2); with
/// v1 controllers mounted the runtime uses those.
pub fn is_unified() -> bool {
    is_unified_under(Path::new(ROOT))
}

fn is_unified_under(root: &Path) -> bool {
    root.join("cgroup.controllers").exists()
}

/// Whether memory plus swap can be limited (so a memory limit can also
/// keep a container off swap, as containerd does).
pub fn swap_limit_supported() -> bool {
    let root = Path::new(ROOT);
    // On v2 the runtime tolerates a missing `memory.swap.max` when asked
    // for no swap.
    is_unified_under(root) || root.join("memory/memory.memsw.limit_in_bytes").exists()
}

/// Makes the pod's cgroup (before its containers' cgroups, which the
/// runtime makes under it) and sets its limits.
pub fn set_pod(pod_uid: &str, limits: &PodLimits) -> Result<(), Error> {
    set_pod_under(Path::new(ROOT), &pod_path(pod_uid), limits)
}

/// cgroup v2's `cpu.weight` for v1 `cpu.shares` (runc's and the kubelet's
/// mapping of [2, 262144] onto [1, 10000]).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 { 0 } else { 1 + (shares.saturating_sub(2) * 9999) / 262142 }
}

fn set_pod_under(root: &Path, path: &str, limits: &PodLimits) -> Result<(), Error> {
    let relative = path.trim_start_matches('/');
    let write = |dir: &Path, file: &str, value: String| {
        let path = dir.join(file);
        std::fs::write(&path, value).map_err(|source| Error { path, source })
    };
    let mkdir = |dir: &Path| std::fs::create_dir_all(dir).map_err(|source| Error { path: dir.to_path_buf(), source });
    let memory = limits.memory_limit.map_or("max".to_string(), |m| m.to_string());
    if is_unified_under(root) {
        // A controller's files exist in a cgroup only when every ancestor
        // delegates it (`cgroup.subtree_control`).
        let mut dir = root.to_path_buf();
        for part in relative.split('/') {
            write(&dir, "cgroup.subtree_control", "+cpu +memory".into())?;
            dir.push(part);
            mkdir(&dir)?;
        }
        write(&dir, "cpu.weight", shares_to_weight(limits.cpu_shares).to_string())?;
        let quota = limits.cpu_quota.map_or("max".to_string(), |q| q.to_string());
        write(&dir, "cpu.max", format!("{quota} {}", limits.cpu_period))?;
        return write(&dir, "memory.max", memory);
    }
    let cpu = root.join("cpu").join(relative);
    mkdir(&cpu)?;
    write(&cpu, "cpu.shares", limits.cpu_shares.to_string())?;
    write(&cpu, "cpu.cfs_period_us", limits.cpu_period.to_string())?;
    write(&cpu, "cpu.cfs_quota_us", limits.cpu_quota.unwrap_or(-1).to_string())?;
    let mem = root.join("memory").join(relative);
    mkdir(&mem)?;
    write(&mem, "memory.limit_in_bytes", limits.memory_limit.unwrap_or(-1).to_string())
}

/// How many processes of the cgroup `path` the OOM killer ended (v2
/// `memory.events`, v1 `memory.oom_control` on kernels from 4.13);
/// `None` when neither can be read.
pub fn oom_kills(path: &str) -> Option<u64> {
    oom_kills_under(Path::new(ROOT), path)
}

fn oom_kills_under(root: &Path, path: &str) -> Option<u64> {
    let relative = path.trim_start_matches('/');
    let file = if is_unified_under(root) { root.join(relative).join("memory.events") } else { root.join("memory").join(relative).join("memory.oom_control") };
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| l.strip_prefix("oom_kill ")).and_then(|n| n.trim().parse().ok())
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

/// Removes the cgroup `path` in every hierarchy if nothing is in it (no
/// child cgroup: the kernel refuses otherwise); how many went.
pub fn remove_if_empty(path: &str) -> usize {
    in_hierarchies(Path::new(ROOT), path).iter().filter(|dir| std::fs::remove_dir(dir).is_ok()).count()
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

    fn read(path: PathBuf) -> String {
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn cgroups_pod_limits_in_v1_hierarchies() {
        let dir = tempfile::tempdir().expect("tempdir");
        let limits = PodLimits { cpu_shares: 256, cpu_quota: Some(50_000), cpu_period: 100_000, memory_limit: Some(64 << 20) };
        set_pod_under(dir.path(), &pod_path("u1"), &limits).expect("sets");
        let cpu = dir.path().join("cpu/nubis/pods/u1");
        assert_eq!((read(cpu.join("cpu.shares")), read(cpu.join("cpu.cfs_quota_us")), read(cpu.join("cpu.cfs_period_us"))), ("256".into(), "50000".into(), "100000".into()));
        assert_eq!(read(dir.path().join("memory/nubis/pods/u1/memory.limit_in_bytes")), "67108864");
        let unlimited = PodLimits { cpu_shares: 2, cpu_period: 100_000, ..PodLimits::default() };
        set_pod_under(dir.path(), &pod_path("u1"), &unlimited).expect("sets");
        assert_eq!((read(cpu.join("cpu.cfs_quota_us")), read(dir.path().join("memory/nubis/pods/u1/memory.limit_in_bytes"))), ("-1".into(), "-1".into()));
    }

    #[test]
    fn cgroups_pod_limits_in_the_unified_hierarchy() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("cgroup.controllers"), "cpu memory").expect("writes");
        let limits = PodLimits { cpu_shares: 1024, cpu_quota: Some(150_000), cpu_period: 100_000, memory_limit: None };
        set_pod_under(dir.path(), &pod_path("u1"), &limits).expect("sets");
        let pod = dir.path().join("nubis/pods/u1");
        assert_eq!((read(pod.join("cpu.weight")), read(pod.join("cpu.max")), read(pod.join("memory.max"))), ("39".into(), "150000 100000".into(), "max".into()));
        for delegating in ["", "nubis", "nubis/pods"] {
            assert_eq!(read(dir.path().join(delegating).join("cgroup.subtree_control")), "+cpu +memory", "{delegating}");
        }
        assert_eq!((shares_to_weight(2), shares_to_weight(262144)), (1, 10000));
    }

    #[test]
    fn cgroups_oom_kills_from_either_version() {
        let v1 = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(v1.path().join("memory/nubis/pods/u1/c")).expect("mkdir");
        std::fs::write(v1.path().join("memory/nubis/pods/u1/c/memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n").expect("writes");
        assert_eq!(oom_kills_under(v1.path(), "/nubis/pods/u1/c"), Some(2));
        assert_eq!(oom_kills_under(v1.path(), "/nubis/pods/u1/gone"), None);
        let v2 = tempfile::tempdir().expect("tempdir");
        std::fs::write(v2.path().join("cgroup.controllers"), "memory").expect("writes");
        std::fs::create_dir_all(v2.path().join("nubis/c")).expect("mkdir");
        std::fs::write(v2.path().join("nubis/c/memory.events"), "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n").expect("writes");
        assert_eq!(oom_kills_under(v2.path(), "/nubis/c"), Some(1));
    }
}
