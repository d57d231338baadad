//! A slim pod cache for controllers that only look at where a pod runs and
//! how it is doing (taint eviction, pod garbage collection): the watch
//! keeps metadata, `nodeName`, tolerations, phase and conditions, and drops
//! the rest, so a cache of every pod in a large cluster stays small.

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Pod, PodSpec, PodStatus};
use kube::Client;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};

/// Keeps only what [`watch`]'s users read.
pub fn slim(pod: &mut Pod) {
    pod.metadata.managed_fields = None;
    pod.metadata.annotations = None;
    if let Some(spec) = pod.spec.take() {
        pod.spec = Some(PodSpec {
            node_name: spec.node_name,
            tolerations: spec.tolerations,
            containers: Vec::new(),
            ..PodSpec::default()
        });
    }
    if let Some(status) = pod.status.take() {
        pod.status = Some(PodStatus {
            phase: status.phase,
            conditions: status.conditions,
            reason: status.reason,
            ..PodStatus::default()
        });
    }
}

/// A reflector of slim pods and the stream that drives it (each item a
/// change); the caller polls the stream.
pub fn watch(client: &Client) -> (Store<Pod>, impl Stream<Item = ()> + Send + 'static) {
    let (store, writer) = reflector::store();
    let stream = watcher(Api::<Pod>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .modify(slim)
        .reflect(writer)
        .map(|_| ());
    (store, stream)
}
