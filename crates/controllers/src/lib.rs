//! The built-in controllers of the embedded kernel (kube-controller-manager's
//! work), written with kube-runtime against the Kubernetes API only.
//!
//! **Architecture Invariant:** nothing here knows the embedded API server:
//! every controller gets a [`kube::Client`] and nothing else, so the same
//! code runs inside `nubis up` (over the in-process transport) and against
//! any cluster (`nubis controllers --kubeconfig`).

pub mod autoscaler;
pub mod cache_ready;
pub mod cached_pod;
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
pub mod selection;
pub mod service_accounts;
pub mod simulated_nodes;
pub mod statefulset;
pub mod taint_eviction;
pub mod ttl_after_finished;


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
    /// Which controllers run (`--controllers`).
    pub controllers: selection::Selection,
    /// How often every HPA is synced
    /// (`--horizontal-pod-autoscaler-sync-period`).
    pub hpa_sync_period: std::time::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            root_ca: None,
            node_monitor_grace_period: node_lifecycle::DEFAULT_GRACE_PERIOD,
            terminated_pod_gc_threshold: pod_gc::DEFAULT_TERMINATED_THRESHOLD,
            volume_dir: None,
            controllers: selection::Selection::default(),
            hpa_sync_period: autoscaler::DEFAULT_SYNC_PERIOD,
        }
    }
}

/// Runs the selected controllers until the client's server goes away or
/// `stop` resolves.
pub async fn run(client: kube::Client, options: Options, stop: impl std::future::Future<Output = ()> + Send + 'static) {
    let on = |name: &str| options.controllers.runs(name);
    let c = || client.clone();
    // One pod watch and cache for every controller that reads pods, started
    // only if one of them runs.
    let pod_readers = ["endpoints-controller", "replicaset-controller", "scheduler", "taint-eviction-controller", "pod-garbage-collector-controller", "job-controller"];
    // Every controller's task, stopped when this future is dropped.
    let mut controllers = tokio::task::JoinSet::new();
    let pods = pod_readers.iter().any(|n| on(n)).then(|| {
        let (pods, task) = informer::Informer::<cached_pod::CachedPod>::start(kube::Api::all(c()), kube::runtime::watcher::Config::default(), cached_pod::CachedPod::trim);
        controllers.spawn(task);
        pods
    });
    let pod = |name: &str| if on(name) { pods.clone() } else { None };
    let l = &mut controllers;
    if on("serviceaccount-controller") {
        l.spawn(service_accounts::run(c(), options.root_ca.clone()));
    }
    if on("namespace-controller") {
        l.spawn(namespace::run(c()));
    }
    if on("garbage-collector-controller") {
        l.spawn(garbage_collector::run(c()));
    }
    if let Some(p) = pod("endpoints-controller") {
        l.spawn(endpoints::run(c(), p));
    }
    if on("horizontal-pod-autoscaler-controller") {
        l.spawn(autoscaler::run(c(), options.hpa_sync_period));
    }
    if let Some(p) = pod("replicaset-controller") {
        l.spawn(replicaset::run(c(), p));
    }
    if on("deployment-controller") {
        l.spawn(deployment::run(c()));
    }
    if on("statefulset-controller") {
        l.spawn(statefulset::run(c()));
    }
    if on("daemonset-controller") {
        l.spawn(daemonset::run(c()));
    }
    if let Some(p) = pod("scheduler") {
        l.spawn(scheduler::run(c(), p));
    }
    if on("node-lifecycle-controller") {
        l.spawn(node_lifecycle::run(c(), options.node_monitor_grace_period));
    }
    if let Some(p) = pod("taint-eviction-controller") {
        l.spawn(taint_eviction::run(c(), p));
    }
    if let Some(p) = pod("pod-garbage-collector-controller") {
        l.spawn(pod_gc::run(c(), p, options.terminated_pod_gc_threshold));
    }
    if on("resourcequota-controller") {
        l.spawn(resource_quota::run(c()));
    }
    if on("persistentvolume-binder-controller") {
        l.spawn(persistent_volume::run(c()));
    }
    if let Some(p) = pod("job-controller") {
        l.spawn(job::run(c(), p));
    }
    if on("cronjob-controller") {
        l.spawn(cronjob::run(c()));
    }
    if on("ttl-after-finished-controller") {
        l.spawn(ttl_after_finished::run(c()));
    }
    if let Some(root) = options.volume_dir.clone().filter(|_| on("local-provisioner")) {
        l.spawn(local_provisioner::run(c(), root));
    }
    tracing::info!(controllers = %options.controllers.names().collect::<Vec<_>>().join(","), "controllers running");
    if controllers.is_empty() {
        stop.await;
        return;
    }
    tokio::select! {
        _ = controllers.join_all() => tracing::warn!("the controllers stopped"),
        _ = stop => {}
    }
}
