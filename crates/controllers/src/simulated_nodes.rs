//! Simulated nodes, a test and benchmark tool (like the kwok project):
//! `sim-0..` Nodes labelled `nubis.io/simulated=true` that register,
//! renew their heartbeat Lease, and run the pods bound to them without
//! containers: each pod gets an IP from the node's reserved range and goes
//! Running and Ready; Job-like pods (restartPolicy Never or OnFailure) end
//! after a while, Succeeded or, with `nubis.io/simulated-exit-code`,
//! Failed. The real node agent is a separate component.

mod pod_status;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use pod_status::Outcome;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

/// The label that names a node as simulated in `kubectl get nodes`.
pub const SIMULATED_LABEL: &str = "nubis.io/simulated";
/// How long a Job-like pod runs (`5s`, `500ms`, `2m`).
pub const DURATION_ANNOTATION: &str = "nubis.io/simulated-duration";
/// A non-zero exit code makes a Job-like pod fail.
pub const EXIT_CODE_ANNOTATION: &str = "nubis.io/simulated-exit-code";

const DEFAULT_DURATION: Duration = Duration::from_secs(1);
/// Kubelet's default `nodeLeaseDurationSeconds`; it renews every quarter
/// of that.
pub const DEFAULT_LEASE_SECONDS: i32 = 40;
const LEASE_NAMESPACE: &str = "kube-node-lease";
/// Concurrent pod status writes.
const WRITE_CONCURRENCY: usize = 128;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Options {
    pub count: usize,
    pub cpu: String,
    pub memory: String,
    pub pods: String,
    /// Node names are this prefix and an index.
    pub prefix: String,
    /// The Leases' `leaseDurationSeconds`; they are renewed every quarter
    /// of it (as kubelets do), so a short node monitor grace period can
    /// be used without the nodes going NotReady.
    pub lease_seconds: i32,
}

impl Default for Options {
    fn default() -> Self {
        Options { count: 0, cpu: "4".into(), memory: "16Gi".into(), pods: "110".into(), prefix: "sim-".into(), lease_seconds: DEFAULT_LEASE_SECONDS }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// registering a node failed
    #[error("registering node {node}: {source}")]
    Register {
        node: String,
        #[source]
        source: kube::Error,
    },
}

/// Registers the nodes, then keeps their leases and runs their pods until
/// the pod watch ends.
pub async fn run(client: Client, options: Options) -> Result<(), Error> {
    let names: Vec<String> = (0..options.count).map(|i| format!("{}{i}", options.prefix)).collect();
    for (i, name) in names.iter().enumerate() {
        register(&client, &options, name, i).await?;
    }
    tracing::info!(count = names.len(), "simulated nodes registered");
    let renew = Duration::from_millis(u64::try_from(options.lease_seconds.max(1)).unwrap_or(1) * 250);
    // Dropped (and so stopped) with this future.
    let mut helpers = tokio::task::JoinSet::new();
    helpers.spawn(renew_leases(client.clone(), names.clone(), options.lease_seconds, renew));
    helpers.spawn(keep_ready(client.clone(), options.clone(), names.clone()));
    run_pods(client, names).await;
    Ok(())
}

fn node_object(options: &Options, name: &str, index: usize) -> serde_json::Value {
    let now = jiff::Timestamp::now().to_string();
    let condition = |type_: &str, status: &str, reason: &str, message: &str| {
        json!({"type": type_, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    let resources = json!({"cpu": options.cpu, "memory": options.memory, "pods": options.pods, "ephemeral-storage": "100Gi"});
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": "amd64",
                SIMULATED_LABEL: "true",
            },
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {"podCIDR": pod_cidr(index), "podCIDRs": [pod_cidr(index)]},
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "simulated node is posting ready status"),
            ],
            "addresses": [
                {"type": "InternalIP", "address": node_ip(index).to_string()},
                {"type": "Hostname", "address": name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": "", "systemUUID": "", "bootID": "",
                "kernelVersion": "simulated", "osImage": "Nubis simulated node",
                "containerRuntimeVersion": "simulated://1.0", "kubeletVersion": "v1.33.0-nubis-sim",
                "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64",
            },
        },
    })
}

/// Each node's pods take addresses from their own /24 of 10.244.0.0/14.
fn pod_cidr(index: usize) -> String {
    let base = pod_ip(index, 0);
    format!("{base}/24")
}

fn pod_ip(index: usize, host: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 244 + ((index / 256) % 4) as u8, (index % 256) as u8, host)
}

/// Nodes' own addresses, from a range pods never use.
fn node_ip(index: usize) -> Ipv4Addr {
    let i = index + 1;
    Ipv4Addr::new(172, 30 + ((i / 65536) % 2) as u8, ((i / 256) % 256) as u8, (i % 256) as u8)
}

/// Creates the node, or refreshes its status when it exists (a restart).
async fn register(client: &Client, options: &Options, name: &str, index: usize) -> Result<(), Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    let object = node_object(options, name, index);
    let err = |source| Error::Register { node: name.to_string(), source };
    let node: Node = serde_json::from_value(object.clone()).map_err(|e| err(kube::Error::SerdeError(e)))?;
    match nodes.create(&PostParams::default(), &node).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let status = json!({"status": object["status"].clone()});
            nodes.patch(name, &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": object["metadata"]["labels"].clone()}}))).await.map_err(err)?;
            nodes.patch_status(name, &PatchParams::default(), &Patch::Merge(status)).await.map_err(err)?;
            Ok(())
        }
        Err(e) => Err(err(e)),
    }
}

/// Renews every node's Lease in `kube-node-lease`, as kubelets do.
async fn renew_leases(client: Client, names: Vec<String>, lease_seconds: i32, every: Duration) {
    let leases: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    loop {
        for name in &names {
            let now = MicroTime(jiff::Timestamp::now());
            let patch = json!({"spec": {"holderIdentity": name, "leaseDurationSeconds": lease_seconds, "renewTime": now}});
            match leases.patch(name, &PatchParams::default(), &Patch::Merge(patch)).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {
                    let lease = Lease {
                        metadata: kube::api::ObjectMeta { name: Some(name.clone()), ..Default::default() },
                        spec: Some(LeaseSpec {
                            holder_identity: Some(name.clone()),
                            lease_duration_seconds: Some(lease_seconds),
                            renew_time: Some(now),
                            ..LeaseSpec::default()
                        }),
                    };
                    if let Err(error) = leases.create(&PostParams::default(), &lease).await {
                        tracing::debug!(%error, node = %name, "creating the node lease");
                    }
                }
                Err(error) => tracing::debug!(%error, node = %name, "renewing the node lease"),
            }
        }
        tokio::time::sleep(every).await;
    }
}

/// Posts healthy conditions again when something (the node lifecycle
/// controller, after a missed heartbeat) says one of these nodes is not
/// Ready, as a kubelet's next status update would.
async fn keep_ready(client: Client, options: Options, names: Vec<String>) {
    let index: HashMap<String, usize> = names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
    let nodes: Api<Node> = Api::all(client);
    let config = watcher::Config::default().labels(&format!("{SIMULATED_LABEL}=true"));
    let mut stream = watcher(nodes.clone(), config).default_backoff().boxed();
    while let Some(event) = stream.next().await {
        let node = match event {
            Ok(watcher::Event::Apply(n) | watcher::Event::InitApply(n)) => n,
            Ok(_) => continue,
            Err(error) => {
                tracing::debug!(%error, "simulated nodes node watch");
                continue;
            }
        };
        let name = node.name_any();
        let Some(&i) = index.get(&name) else { continue };
        let ready = node.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|cs| cs.iter().find(|c| c.type_ == "Ready")).map(|c| c.status.as_str());
        if ready == Some("True") || node.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let status = json!({"status": {"conditions": node_object(&options, &name, i)["status"]["conditions"].clone()}});
        if let Err(error) = nodes.patch_status(&name, &PatchParams::default(), &Patch::Merge(status)).await {
            tracing::debug!(%error, node = %name, "posting simulated node status");
        }
    }
}

/// What the simulator remembers of a pod on one of its nodes.
struct Running {
    uid: String,
    node: usize,
    host: u8,
    /// When the simulated containers started.
    started: jiff::Timestamp,
    /// Set once its Running status is sent, so it is sent once.
    running: bool,
    /// Set once the pod's end is scheduled, so it is scheduled once.
    ending: bool,
    deleting: bool,
    /// Set once an ended pod gave its address back.
    released: bool,
}

/// Watches pods and plays the kubelet for those on simulated nodes.
async fn run_pods(client: Client, names: Vec<String>) {
    let index: HashMap<String, usize> = names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
    let mut used: Vec<HashSet<u8>> = vec![HashSet::new(); names.len()];
    let mut pods: HashMap<String, Running> = HashMap::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(WRITE_CONCURRENCY));
    // Pods wait here for a status write; without managedFields they are
    // a third smaller.
    let mut stream = watcher(Api::<Pod>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .modify(crate::informer::without_managed_fields)
        .boxed();
    while let Some(event) = stream.next().await {
        let pod = match event {
            Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) => p,
            Ok(watcher::Event::Delete(p)) => {
                if let Some(r) = pods.remove(&key(&p))
                    && !r.released
                {
                    used[r.node].remove(&r.host);
                }
                continue;
            }
            Ok(watcher::Event::Init | watcher::Event::InitDone) => continue,
            Err(error) => {
                tracing::debug!(%error, "simulated nodes pod watch");
                continue;
            }
        };
        let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.as_ref()).and_then(|n| index.get(n)).copied() else {
            continue;
        };
        let k = key(&pod);
        let uid = pod.uid().unwrap_or_default();
        if pods.get(&k).is_some_and(|r| r.uid != uid)
            && let Some(old) = pods.remove(&k)
            && !old.released
        {
            used[old.node].remove(&old.host);
        }
        let phase = pod.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
        if !pods.contains_key(&k) {
            // A pod already running (after a restart) keeps its address.
            let existing = pod
                .status
                .as_ref()
                .and_then(|s| s.pod_ip.as_ref())
                .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
                .filter(|ip| ip.octets()[..3] == pod_ip(node, 0).octets()[..3])
                .map(|ip| ip.octets()[3]);
            let host = match existing.or_else(|| (2..=254u8).find(|h| !used[node].contains(h))) {
                Some(h) => h,
                None => {
                    tracing::warn!(pod = %k, node = %names[node], "no pod address left on the simulated node");
                    continue;
                }
            };
            used[node].insert(host);
            pods.insert(k.clone(), Running {
                uid: uid.clone(),
                node,
                host,
                started: jiff::Timestamp::now(),
                running: false,
                ending: false,
                deleting: false,
                released: false,
            });
        }
        let Some(r) = pods.get_mut(&k) else { continue };
        let pod = Arc::new(pod);
        if pod.metadata.deletion_timestamp.is_some() {
            if !r.deleting {
                r.deleting = true;
                tokio::spawn(finalize(client.clone(), pod.clone()));
            }
            continue;
        }
        let ip = pod_ip(node, r.host);
        let host_ip = node_ip(node);
        if phase == "Succeeded" || phase == "Failed" {
            // An ended pod gives its address back, as its sandbox goes;
            // its status keeps showing it.
            if !r.released {
                r.released = true;
                used[node].remove(&r.host);
            }
            continue;
        }
        let has_ip = pod.status.as_ref().and_then(|s| s.pod_ip.as_ref()).is_some();
        if (phase != "Running" || !has_ip) && !r.running {
            r.running = true;
            tokio::spawn(write_status(client.clone(), limit.clone(), pod.clone(), (ip, host_ip), r.started, None));
        }
        let restart = pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()).unwrap_or("Always");
        if restart != "Always" && !r.ending {
            r.ending = true;
            let outcome = Outcome::of(&pod);
            let client = client.clone();
            let (limit, pod, started) = (limit.clone(), pod.clone(), r.started);
            tokio::spawn(async move {
                tokio::time::sleep(outcome.after).await;
                write_status(client, limit, pod, (ip, host_ip), started, Some(outcome)).await;
            });
        }
    }
    tracing::warn!("the simulated nodes' pod watch ended");
}

fn key(pod: &Pod) -> String {
    format!("{}/{}", pod.namespace().unwrap_or_default(), pod.name_any())
}

/// Writes the pod's status through `pods/status`: running, or ended.
async fn write_status(
    client: Client,
    limit: Arc<tokio::sync::Semaphore>,
    pod: Arc<Pod>,
    (ip, host_ip): (Ipv4Addr, Ipv4Addr),
    started: jiff::Timestamp,
    end: Option<Outcome>,
) {
    let _permit = limit.acquire_owned().await;
    let status = pod_status::status(&pod, ip, host_ip, started, end.as_ref(), jiff::Timestamp::now());
    let pods: Api<Pod> = Api::namespaced(client, &pod.namespace().unwrap_or_default());
    if let Err(error) = pods.patch_status(&pod.name_any(), &PatchParams::default(), &Patch::Merge(json!({"status": status}))).await {
        tracing::debug!(%error, pod = %key(&pod), "writing simulated pod status");
    }
}

/// Deletes a terminating pod at once, as a kubelet does once its
/// containers have stopped.
async fn finalize(client: Client, pod: Arc<Pod>) {
    let pods: Api<Pod> = Api::namespaced(client, &pod.namespace().unwrap_or_default());
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions { uid: pod.uid(), resource_version: None }),
        ..DeleteParams::default()
    };
    if let Err(error) = pods.delete(&pod.name_any(), &params).await {
        tracing::debug!(%error, pod = %key(&pod), "finalizing a simulated pod");
    }
}
