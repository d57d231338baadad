//! `nubis reset`: everything the node agent made on this machine for one
//! data dir goes (its containers, stopped and deleted; their root
//! filesystem mounts and volume mounts; the pods' network namespaces; the
//! bridge and the nftables table; its pods' cgroups, and `/nubis` once no
//! other data dir's pods are in it), so the host is as before. The data dir's
//! store and images stay; removing the directory removes them.

use crate::containers::Containers;
use crate::runtime::Runtime;
use std::path::Path;

/// What was removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub containers: usize,
    pub namespaces: usize,
    pub cgroups: usize,
    pub network: bool,
}

/// Resets what the agent of `data_dir` made, with runtime `runtime`; runs
/// in the calling thread's network namespace.
pub async fn reset(data_dir: &Path, runtime: &str, bridge: &str) -> Report {
    let mut report = Report::default();
    let containers = Containers::new(data_dir.join("containers"), Runtime::new(runtime, data_dir.join("runtime")), Vec::new());
    // The pods of this data dir, whose cgroups go at the end: another
    // data dir's agent on the machine keeps its own.
    let mut pods: std::collections::BTreeSet<String> = containers.list().iter().filter_map(|id| id.get(..36)).map(str::to_string).collect();
    pods.extend(std::fs::read_dir(data_dir.join("pods")).into_iter().flatten().filter_map(Result::ok).filter_map(|e| e.file_name().into_string().ok()));
    for id in containers.list() {
        match containers.remove(&id).await {
            Ok(()) => report.containers += 1,
            Err(error) => tracing::warn!(%error, container = %id, "removing a container"),
        }
    }
    for ns in std::fs::read_dir(data_dir.join("netns")).into_iter().flatten().filter_map(Result::ok) {
        match net::netns::delete(&ns.path()) {
            Ok(()) => report.namespaces += 1,
            Err(error) => tracing::warn!(%error, "removing a pod network namespace"),
        }
    }
    let bridge = bridge.to_string();
    let removed = tokio::task::spawn_blocking(move || -> Result<bool, String> {
        // Said removed only when there was a bridge to remove (the table
        // comes and goes with it).
        let existed = net::link::with_netlink(async move |h| {
            let existed = net::link::index_of(&h, &bridge).await?.is_some();
            net::link::delete(&h, &bridge).await.map(|_| existed)
        })
        .map_err(|e| e.to_string())?;
        net::nat::remove().map_err(|e| e.to_string())?;
        Ok(existed)
    })
    .await;
    match removed {
        Ok(Ok(existed)) => report.network = existed,
        Ok(Err(error)) => tracing::warn!(%error, "removing the pod network"),
        Err(error) => tracing::warn!(%error, "removing the pod network"),
    }
    // Every address and host port is free again.
    let _ = std::fs::remove_file(data_dir.join("network/ipam.json"));
    let _ = std::fs::remove_file(data_dir.join("network/hostports.json"));
    for pod in std::fs::read_dir(data_dir.join("pods")).into_iter().flatten().filter_map(Result::ok) {
        crate::agent::volumes::unmount_pod_volumes(&pod.path());
    }
    let _ = std::fs::remove_dir_all(data_dir.join("pods"));
    for uid in &pods {
        report.cgroups += crate::cgroups::remove_tree(&crate::cgroups::pod_path(uid));
    }
    report.cgroups += crate::cgroups::remove_if_empty("/nubis/pods") + crate::cgroups::remove_if_empty("/nubis");
    report
}
