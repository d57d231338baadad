//! The built-in controllers of the embedded kernel (kube-controller-manager's
//! work), written with kube-runtime against the Kubernetes API only.
//!
//! **Architecture Invariant:** nothing here knows the embedded API server:
//! every controller gets a [`kube::Client`] and nothing else, so the same
//! code runs inside `nubis up` (over the in-process transport) and against
//! any cluster (`nubis controllers --kubeconfig`).

pub mod autoscaler;
pub mod daemonset;
pub mod deployment;
pub mod endpoints;
pub mod events;
pub mod garbage_collector;
pub mod history;
pub mod namespace;
pub mod replicaset;
pub mod scheduler;
pub mod service_accounts;
pub mod simulated_nodes;
pub mod statefulset;

use futures::future::join_all;

/// What the controllers need besides a client.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The cluster CA (PEM) published in every namespace's
    /// `kube-root-ca.crt`; `None` leaves those ConfigMaps alone.
    pub root_ca: Option<String>,
}

/// Runs every controller until the client's server goes away or `stop`
/// resolves.
pub async fn run(client: kube::Client, options: Options, stop: impl std::future::Future<Output = ()> + Send + 'static) {
    let controllers = vec![
        tokio::spawn(service_accounts::run(client.clone(), options.root_ca.clone())),
        tokio::spawn(namespace::run(client.clone())),
        tokio::spawn(garbage_collector::run(client.clone())),
        tokio::spawn(endpoints::run(client.clone())),
        tokio::spawn(autoscaler::run(client.clone())),
        tokio::spawn(replicaset::run(client.clone())),
        tokio::spawn(deployment::run(client.clone())),
        tokio::spawn(statefulset::run(client.clone())),
        tokio::spawn(daemonset::run(client.clone())),
        tokio::spawn(scheduler::run(client.clone())),
    ];
    tokio::select! {
        _ = join_all(controllers) => tracing::warn!("the controllers stopped"),
        _ = stop => {}
    }
}
