//! This machine as a Node: capacity and allocatable from the machine (CPUs,
//! memory less the kubelet's 100Mi eviction threshold, the data dir's disk,
//! 110 pods), conditions, addresses, node info; registered (or refreshed
//! after a restart) and kept alive with a Lease in `kube-node-lease`, as
//! the kubelet does.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::Client;
use super::eviction::signals::Pressure;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// The kubelet's `nodeLeaseDurationSeconds`; renewed every quarter of it.
pub const LEASE_SECONDS: i32 = 40;
const LEASE_NAMESPACE: &str = "kube-node-lease";
/// The kubelet's memory eviction threshold, held back from allocatable.
const EVICTION_RESERVE_KI: u64 = super::eviction::signals::DEFAULT_MEMORY_RESERVE / 1024;

/// What is measured of this machine.
#[derive(Debug, Clone)]
pub struct Machine {
    pub cpus: usize,
    pub memory_ki: u64,
    pub disk_bytes: u64,
    pub host_ip: String,
    pub kernel: String,
    pub os_image: String,
    pub machine_id: String,
    pub boot_id: String,
    pub architecture: String,
    /// The most pods the node runs (the kubelet's `--max-pods`).
    pub max_pods: u64,
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or_default()
}

impl Machine {
    /// What pods may ask of the node: its CPUs, its memory less the
    /// eviction threshold, its pod slots.
    pub fn allocatable(&self) -> super::admission::Allocatable {
        super::admission::Allocatable {
            pods: self.max_pods,
            cpu_milli: i64::try_from(self.cpus).unwrap_or(i64::MAX).saturating_mul(1000),
            memory_bytes: i64::try_from(self.memory_ki.saturating_sub(EVICTION_RESERVE_KI).saturating_mul(1024)).unwrap_or(i64::MAX),
        }
    }

    pub fn measure(data_dir: &Path, max_pods: u64) -> Machine {
        let memory_ki = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| m.lines().find(|l| l.starts_with("MemTotal:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()))
            .unwrap_or(0);
        let disk_bytes = rustix::fs::statvfs(data_dir).map(|s| s.f_blocks * s.f_frsize).unwrap_or(0);
        let os_image = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|o| o.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string())))
            .unwrap_or_else(|| "Linux".into());
        Machine {
            cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            memory_ki,
            disk_bytes,
            host_ip: host_ip(),
            kernel: rustix::system::uname().release().to_string_lossy().into_owned(),
            os_image,
            machine_id: read_trimmed("/etc/machine-id"),
            boot_id: read_trimmed("/proc/sys/kernel/random/boot_id"),
            architecture: image::platform::Platform::host().architecture,
            max_pods,
        }
    }
}

/// The address other machines reach this one at: the source address of
/// the default route (a connected UDP socket sends nothing), else loopback.
pub fn host_ip() -> String {
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("10.255.255.255:9").and_then(|_| s.local_addr()))
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| "127.0.0.1".into())
}

/// The Node object of this machine.
pub fn node_object(name: &str, m: &Machine, runtime_version: &str, pod_cidr: &str) -> Value {
    let now = jiff::Timestamp::now().to_string();
    let condition = |type_: &str, status: &str, reason: &str, message: &str| {
        json!({"type": type_, "status": status, "reason": reason, "message": message, "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    let capacity = json!({"cpu": m.cpus.to_string(), "memory": format!("{}Ki", m.memory_ki), "pods": m.max_pods.to_string(), "ephemeral-storage": m.disk_bytes.to_string()});
    let allocatable = json!({"cpu": m.cpus.to_string(), "memory": format!("{}Ki", m.memory_ki.saturating_sub(EVICTION_RESERVE_KI)), "pods": m.max_pods.to_string(), "ephemeral-storage": m.disk_bytes.to_string()});
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": m.architecture,
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": m.architecture,
            },
        },
        "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]},
        "status": {
            "capacity": capacity,
            "allocatable": allocatable,
            "conditions": Pressure::default().conditions().iter().map(|(t, s, r, m)| condition(t, s, r, m)).collect::<Vec<_>>(),
            "addresses": [{"type": "InternalIP", "address": m.host_ip}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": m.machine_id, "systemUUID": m.machine_id, "bootID": m.boot_id,
                "kernelVersion": m.kernel, "osImage": m.os_image,
                "containerRuntimeVersion": runtime_version, "kubeletVersion": "v1.33.0",
                "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": m.architecture,
            },
        },
    })
}

impl Pressure {
    /// The node's four conditions (status, reason, message) by type.
    pub fn conditions(&self) -> [(&'static str, &'static str, &'static str, &'static str); 4] {
        [
            if self.memory {
                ("MemoryPressure", "True", "KubeletHasInsufficientMemory", "kubelet has insufficient memory available")
            } else {
                ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available")
            },
            if self.disk {
                ("DiskPressure", "True", "KubeletHasDiskPressure", "kubelet has disk pressure")
            } else {
                ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure")
            },
            ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]
    }
}

/// The conditions as the status lists them, each with its heartbeat now
/// and its transition time kept from `previous` while its status holds.
fn condition_list(pressure: &Pressure, previous: &[Value], now: &str) -> Value {
    let list: Vec<Value> = pressure
        .conditions()
        .iter()
        .map(|(type_, status, reason, message)| {
            let since = previous
                .iter()
                .find(|c| c["type"] == *type_ && c["status"] == *status)
                .and_then(|c| c["lastTransitionTime"].as_str())
                .unwrap_or(now);
            json!({"type": type_, "status": status, "reason": reason, "message": message, "lastHeartbeatTime": now, "lastTransitionTime": since})
        })
        .collect();
    Value::Array(list)
}

/// How often the conditions are posted when nothing changed (the
/// kubelet's `nodeStatusReportFrequency`), and how soon a failed post is
/// tried again.
const STATUS_REPORT: Duration = Duration::from_secs(5 * 60);
const STATUS_RETRY: Duration = Duration::from_secs(10);

/// Keeps the Node's conditions current: posted when the eviction manager
/// finds the pressure changed, and every five minutes anyway, until the
/// manager ends.
pub async fn keep_status(client: Client, name: String, mut pressure: tokio::sync::watch::Receiver<Pressure>) {
    let nodes: Api<Node> = Api::all(client);
    loop {
        let current = *pressure.borrow_and_update();
        let previous = match nodes.get_status(&name).await {
            Ok(node) => serde_json::to_value(node.status.and_then(|s| s.conditions).unwrap_or_default()).unwrap_or(Value::Null),
            Err(error) => {
                tracing::warn!(%error, node = %name, "reading the node's status");
                tokio::time::sleep(STATUS_RETRY).await;
                continue;
            }
        };
        let now = jiff::Timestamp::now().to_string();
        let conditions = condition_list(&current, previous.as_array().map(Vec::as_slice).unwrap_or_default(), &now);
        if let Err(error) = nodes.patch_status(&name, &PatchParams::default(), &Patch::Strategic(json!({"status": {"conditions": conditions}}))).await {
            tracing::warn!(%error, node = %name, "posting the node's status");
            tokio::time::sleep(STATUS_RETRY).await;
            continue;
        }
        if let Ok(Err(_)) = tokio::time::timeout(STATUS_REPORT, pressure.changed()).await {
            return;
        }
    }
}

/// Creates the Node, or refreshes its labels and status (a restart).
pub async fn register(client: &Client, object: &Value) -> Result<(), kube::Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
    let node: Node = serde_json::from_value(object.clone()).map_err(kube::Error::SerdeError)?;
    match nodes.create(&PostParams::default(), &node).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            nodes.patch(&name, &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": object["metadata"]["labels"].clone()}}))).await?;
            nodes.patch_status(&name, &PatchParams::default(), &Patch::Merge(json!({"status": object["status"].clone()}))).await?;
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Renews the node's Lease every quarter of its duration, forever.
pub async fn renew_lease(client: Client, name: String) {
    let leases: Api<Lease> = Api::namespaced(client, LEASE_NAMESPACE);
    let every = Duration::from_secs((LEASE_SECONDS / 4) as u64);
    loop {
        let now = MicroTime(jiff::Timestamp::now());
        let patch = json!({"spec": {"holderIdentity": name, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": now}});
        match leases.patch(&name, &PatchParams::default(), &Patch::Merge(patch)).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {
                let lease = Lease {
                    metadata: kube::api::ObjectMeta { name: Some(name.clone()), ..Default::default() },
                    spec: Some(LeaseSpec { holder_identity: Some(name.clone()), lease_duration_seconds: Some(LEASE_SECONDS), renew_time: Some(now), ..LeaseSpec::default() }),
                };
                if let Err(error) = leases.create(&PostParams::default(), &lease).await {
                    tracing::warn!(%error, node = %name, "creating the node lease");
                }
            }
            Err(error) => tracing::warn!(%error, node = %name, "renewing the node lease"),
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_object_describes_the_machine() {
        let m = Machine {
            cpus: 2,
            memory_ki: 16 * 1024 * 1024,
            disk_bytes: 100 << 30,
            host_ip: "192.168.1.5".into(),
            kernel: "6.1.0".into(),
            os_image: "Debian GNU/Linux 12 (bookworm)".into(),
            machine_id: "m".into(),
            boot_id: "b".into(),
            architecture: "amd64".into(),
            max_pods: 110,
        };
        let n = node_object("box", &m, "runc://1.1.5", "10.88.0.0/16");
        assert_eq!(n["status"]["capacity"], json!({"cpu": "2", "memory": "16777216Ki", "pods": "110", "ephemeral-storage": "107374182400"}));
        assert_eq!(n["status"]["allocatable"]["memory"], "16674816Ki", "less the 100Mi eviction threshold");
        assert_eq!(n["status"]["conditions"][3]["type"], "Ready");
        assert_eq!(n["status"]["addresses"][0], json!({"type": "InternalIP", "address": "192.168.1.5"}));
        assert_eq!(n["status"]["nodeInfo"]["containerRuntimeVersion"], "runc://1.1.5");
        assert_eq!(n["metadata"]["labels"]["kubernetes.io/hostname"], "box");
        assert!(serde_json::from_value::<Node>(n).is_ok());
        let pressed = Pressure { memory: true, disk: false };
        let before = vec![json!({"type": "MemoryPressure", "status": "False", "lastTransitionTime": "t0"}), json!({"type": "DiskPressure", "status": "False", "lastTransitionTime": "t0"})];
        let list = condition_list(&pressed, &before, "t1");
        assert_eq!((list[0]["status"].as_str(), list[0]["reason"].as_str(), list[0]["lastTransitionTime"].as_str()), (Some("True"), Some("KubeletHasInsufficientMemory"), Some("t1")));
        assert_eq!((list[1]["status"].as_str(), list[1]["lastTransitionTime"].as_str(), list[1]["lastHeartbeatTime"].as_str()), (Some("False"), Some("t0"), Some("t1")));
        let measured = Machine::measure(Path::new("/"), 110);
        assert!(measured.cpus >= 1 && measured.memory_ki > 0 && measured.disk_bytes > 0, "{measured:?}");
    }
}
