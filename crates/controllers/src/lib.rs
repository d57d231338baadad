//! The built-in controllers of the embedded kernel (kube-controller-manager's
//! work), written with kube-runtime against the Kubernetes API only.
//!
//! **Architecture Invariant:** nothing here knows the embedded API server:
//! every controller gets a [`kube::Client`] and nothing else, so the same
//! code runs inside `nubis up` (over the in-process transport) and against
//! any cluster (`nubis controllers --kubeconfig`).

pub mod namespace;
pub mod scheduler;
pub mod simulated_nodes;

use futures::future::join_all;

/// Runs every controller until the client's server goes away or `stop`
/// resolves.
pub async fn run(client: kube::Client, stop: impl std::future::Future<Output = ()> + Send + 'static) {
    let controllers = vec![tokio::spawn(namespace::run(client.clone())), tokio::spawn(scheduler::run(client.clone()))];
    tokio::select! {
        _ = join_all(controllers) => tracing::warn!("the controllers stopped"),
        _ = stop => {}
    }
}
