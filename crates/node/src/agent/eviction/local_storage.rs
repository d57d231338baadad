//! What a pod keeps on the node's disk (the kubelet's ephemeral storage):
//! its containers' writable layers and logs, and its emptyDir volumes on
//! disk (a `Memory` one is a tmpfs and counts as memory); and the limits
//! on it the kubelet enforces by eviction: an emptyDir's `sizeLimit`, a
//! container's `ephemeral-storage` limit, and the pod's (the sum of its
//! containers' limits).

use super::ranking::{self, ContainerUse, PodUse};
use crate::agent::volumes::quantity_bytes;
use k8s_openapi::api::core::v1::Pod;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where the node keeps what a pod writes.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// `<id>/upper` for each container id (`<pod uid>-<name>-<attempt>`).
    pub containers: PathBuf,
    /// `<namespace>_<name>_<uid>/<container>/` for each pod.
    pub logs: PathBuf,
    /// `<uid>/volumes/kubernetes.io~empty-dir/<volume>` for each pod.
    pub pods: PathBuf,
}

/// Bytes a directory tree takes on disk (allocated blocks, each inode
/// once), on its own filesystem only and without following links, so a
/// tmpfs or bind mount inside is not counted.
pub fn disk_bytes(dir: &Path) -> u64 {
    let mut seen = std::collections::HashSet::new();
    walkdir::WalkDir::new(dir)
        .same_file_system(true)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.nlink() <= 1 || seen.insert(m.ino()))
        .map(|m| m.blocks().saturating_mul(512))
        .sum()
}

/// What one pod keeps on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodDisk {
    /// By container name: every attempt's writable layer and log.
    pub containers: BTreeMap<String, u64>,
    /// By volume name: the emptyDir volumes on disk.
    pub volumes: BTreeMap<String, u64>,
}

impl PodDisk {
    pub fn total(&self) -> u64 {
        self.containers.values().chain(self.volumes.values()).sum()
    }

    /// The pod as the disk's eviction ranking sees it.
    pub fn usage(&self, pod: &Pod, uid: &str) -> PodUse {
        let spec = pod.spec.clone().unwrap_or_default();
        let containers: Vec<ContainerUse> = spec
            .containers
            .iter()
            .map(|c| ContainerUse { name: c.name.clone(), usage: self.containers.get(&c.name).copied().unwrap_or(0), request: ranking::container_request(c, "ephemeral-storage") })
            .collect();
        let request = containers.iter().map(|c| c.request).sum();
        PodUse { uid: uid.to_string(), priority: ranking::priority(pod), usage: self.total(), request, containers }
    }
}

/// Measures what the pod `uid` keeps on disk.
pub fn measure(dirs: &Dirs, pod: &Pod, uid: &str) -> PodDisk {
    let mut disk = PodDisk::default();
    let prefix = format!("{uid}-");
    for entry in std::fs::read_dir(&dirs.containers).into_iter().flatten().flatten() {
        let id = entry.file_name().to_string_lossy().into_owned();
        let Some((name, _attempt)) = id.strip_prefix(&prefix).and_then(|rest| rest.rsplit_once('-')) else { continue };
        *disk.containers.entry(name.to_string()).or_default() += disk_bytes(&entry.path().join("upper"));
    }
    let logs = dirs.logs.join(format!("{}_{}_{uid}", pod.metadata.namespace.as_deref().unwrap_or_default(), pod.metadata.name.as_deref().unwrap_or_default()));
    for entry in std::fs::read_dir(&logs).into_iter().flatten().flatten() {
        *disk.containers.entry(entry.file_name().to_string_lossy().into_owned()).or_default() += disk_bytes(&entry.path());
    }
    for v in pod.spec.as_ref().and_then(|s| s.volumes.as_ref()).into_iter().flatten() {
        if v.empty_dir.as_ref().is_some_and(|e| e.medium.as_deref() != Some("Memory")) {
            let dir = dirs.pods.join(uid).join("volumes/kubernetes.io~empty-dir").join(&v.name);
            disk.volumes.insert(v.name.clone(), disk_bytes(&dir));
        }
    }
    disk
}

/// Whether the pod sets any limit on its local storage.
pub fn has_limits(pod: &Pod) -> bool {
    let Some(spec) = pod.spec.as_ref() else { return false };
    spec.volumes.iter().flatten().any(|v| v.empty_dir.as_ref().is_some_and(|e| e.medium.as_deref() != Some("Memory") && e.size_limit.is_some()))
        || spec.containers.iter().any(|c| c.resources.as_ref().and_then(|r| r.limits.as_ref()).is_some_and(|l| l.contains_key("ephemeral-storage")))
}

/// The kubelet's message when the pod is over one of its local storage
/// limits (checked as the kubelet does: its emptyDir volumes, the pod,
/// then each container), or `None`.
pub fn over_limit(pod: &Pod, disk: &PodDisk) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    for v in spec.volumes.iter().flatten() {
        let Some(limit) = v.empty_dir.as_ref().filter(|e| e.medium.as_deref() != Some("Memory")).and_then(|e| e.size_limit.as_ref()) else { continue };
        if let Some(bytes) = quantity_bytes(&limit.0)
            && disk.volumes.get(&v.name).is_some_and(|used| *used > bytes)
        {
            return Some(format!("Usage of EmptyDir volume \"{}\" exceeds the limit \"{}\". ", v.name, limit.0));
        }
    }
    let limit_of = |c: &k8s_openapi::api::core::v1::Container| c.resources.as_ref().and_then(|r| r.limits.as_ref()).and_then(|l| l.get("ephemeral-storage")).map(|q| q.0.clone());
    let pod_limit: u64 = spec.containers.iter().filter_map(|c| limit_of(c).and_then(|q| quantity_bytes(&q))).sum();
    if pod_limit > 0 && disk.total() > pod_limit {
        return Some(format!("Pod ephemeral local storage usage exceeds the total limit of containers {}. ", ranking::bytes(pod_limit)));
    }
    for c in &spec.containers {
        if let Some(limit) = limit_of(c)
            && let Some(bytes) = quantity_bytes(&limit)
            && disk.containers.get(&c.name).is_some_and(|used| *used > bytes)
        {
            return Some(format!("Container {} exceeded its local ephemeral storage limit \"{limit}\". ", c.name));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": spec})).expect("a pod")
    }

    #[test]
    fn local_storage_is_measured_per_container_and_volume() {
        let root = tempfile::tempdir().expect("tempdir");
        let dirs = Dirs { containers: root.path().join("containers"), logs: root.path().join("logs"), pods: root.path().join("pods") };
        let write = |path: PathBuf, size: usize| {
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(path, vec![1u8; size]).expect("writes");
        };
        write(dirs.containers.join("u1-web-0/upper/tmp/a"), 64 << 10);
        write(dirs.containers.join("u1-web-1/upper/tmp/b"), 64 << 10);
        write(dirs.containers.join("u2-web-0/upper/c"), 1 << 20);
        write(dirs.logs.join("ns_p_u1/web/1.log"), 32 << 10);
        write(dirs.pods.join("u1/volumes/kubernetes.io~empty-dir/scratch/data"), 256 << 10);
        let p = pod(serde_json::json!({
            "containers": [{"name": "web", "resources": {"limits": {"ephemeral-storage": "100Ki"}}}],
            "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}}, {"name": "fast", "emptyDir": {"medium": "Memory"}}],
        }));
        let disk = measure(&dirs, &p, "u1");
        let web = disk.containers["web"];
        assert!((160 << 10..200 << 10).contains(&web), "two layers and a log: {web}");
        assert!((256 << 10..300 << 10).contains(&disk.volumes["scratch"]), "{disk:?}");
        assert!(!disk.volumes.contains_key("fast"), "a Memory emptyDir is not on disk");
        assert!(has_limits(&p));
        assert_eq!(over_limit(&p, &disk).as_deref(), Some("Pod ephemeral local storage usage exceeds the total limit of containers 100Ki. "));
        let use_ = disk.usage(&p, "u1");
        assert_eq!((use_.usage, use_.request), (disk.total(), 100 << 10));

        let only_volume = PodDisk { containers: BTreeMap::new(), volumes: [("scratch".to_string(), 2 << 20)].into() };
        assert_eq!(over_limit(&p, &only_volume).as_deref(), Some("Usage of EmptyDir volume \"scratch\" exceeds the limit \"1Mi\". "));
        let two = pod(serde_json::json!({"containers": [
            {"name": "a", "resources": {"limits": {"ephemeral-storage": "1Mi"}}},
            {"name": "b", "resources": {"limits": {"ephemeral-storage": "1Mi"}}},
        ]}));
        let a_over = PodDisk { containers: [("a".to_string(), 3 << 19), ("b".to_string(), 0)].into(), volumes: BTreeMap::new() };
        assert_eq!(over_limit(&two, &a_over).as_deref(), Some("Container a exceeded its local ephemeral storage limit \"1Mi\". "));
        assert_eq!(over_limit(&two, &PodDisk::default()), None);
        assert!(!has_limits(&pod(serde_json::json!({"containers": [{"name": "a"}]}))));
    }
}
