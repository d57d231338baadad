//! The built-in controllers of the embedded kernel (kube-controller-manager's
//! work), written with kube-runtime against the Kubernetes API only.
//!
//! **Architecture Invariant:** nothing here knows the embedded API server:
//! every controller gets a [`kube::Client`] and nothing else, so the same
//! code runs inside `nubis up` (over the in-process transport) and against
//! any cluster (`nubis controllers --kubeconfig`).

pub mod autoscaler;
pub mod cache_ready;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod disruption;
pub mod endpoints;
pub mod events;
pub mod garbage_collector;
pub mod history;
pub mod informer;
pub mod job;
pub mod local_provisioner;
pub mod namespace;
pub mod node_lifecycle;
pub mod persistent_volume;
pub mod pod_gc;
pub mod replicaset;
pub mod resource_quota;
pub mod scheduler;
pub mod service_accounts;
pub mod simulated_nodes;
pub mod statefulset;
pub mod taint_eviction;
pub mod ttl_after_finished;

use futures::future::join_all;

/// What the controllers need besides a client.
#[derive(Debug, Clone)]
pub struct Options {
    /// The cluster CA (PEM) published in every namespace's
    /// `kube-root-ca.crt`; `None` leaves those ConfigMaps alone.
    pub root_ca: Option<String>,
    /// How long a node may be silent before it is marked Unknown
    /// (kube-controller-manager's `--node-monitor-grace-period`).
    pub node_monitor_grace_period: std::time::Duration,
    /// Ended pods kept before the oldest are deleted; 0 keeps all
    /// (`--terminated-pod-gc-threshold`).
    pub terminated_pod_gc_threshold: usize,
    /// Where the local provisioner (`nubis.io/local`, the default
    /// StorageClass `local`) makes volume directories; `None` runs no
    /// provisioner and creates no default class.
    pub volume_dir: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            root_ca: None,
            node_monitor_grace_period: node_lifecycle::DEFAULT_GRACE_PERIOD,
            terminated_pod_gc_threshold: pod_gc::DEFAULT_TERMINATED_THRESHOLD,
            volume_dir: None,
        }
    }
}

/// Runs every controller until the client's server goes away or `stop`
/// resolves.
pub async fn run(client: kube::Client, options: Options, stop: impl std::future::Future<Output = ()> + Send + 'static) {
    // One pod watch and cache for every controller that reads pods.
    let (pods, pod_informer) = informer::Informer::start(kube::Api::all(client.clone()), kube::runtime::watcher::Config::default(), informer::trim_pod);
    let mut controllers = vec![
        pod_informer,
        tokio::spawn(service_accounts::run(client.clone(), options.root_ca.clone())),
        tokio::spawn(namespace::run(client.clone())),
        tokio::spawn(garbage_collector::run(client.clone())),
        tokio::spawn(endpoints::run(client.clone(), pods.clone())),
        tokio::spawn(autoscaler::run(client.clone())),
        tokio::spawn(replicaset::run(client.clone(), pods.clone())),
        tokio::spawn(deployment::run(client.clone())),
        tokio::spawn(statefulset::run(client.clone())),
        tokio::spawn(daemonset::run(client.clone())),
        tokio::spawn(scheduler::run(client.clone(), pods.clone())),
        tokio::spawn(node_lifecycle::run(client.clone(), options.node_monitor_grace_period)),
        tokio::spawn(taint_eviction::run(client.clone(), pods.clone())),
        tokio::spawn(pod_gc::run(client.clone(), pods.clone(), options.terminated_pod_gc_threshold)),
        tokio::spawn(resource_quota::run(client.clone())),
        tokio::spawn(persistent_volume::run(client.clone())),
        tokio::spawn(job::run(client.clone(), pods.clone())),
        tokio::spawn(cronjob::run(client.clone())),
        tokio::spawn(ttl_after_finished::run(client.clone())),
    ];
    if let Some(root) = options.volume_dir.clone() {
        controllers.push(tokio::spawn(local_provisioner::run(client.clone(), root)));
    }
    tokio::select! {
        _ = join_all(controllers) => tracing::warn!("the controllers stopped"),
        _ = stop => {}
    }
}
