//! Shared informers: one watch and one cache of a kind for every controller
//! that reads it, as client-go's shared informer factory gives
//! kube-controller-manager. With ten controllers reading pods, separate
//! reflectors would decode every pod event ten times and keep ten copies of
//! every pod; here each pod is decoded once and held once (the subscribers
//! get the cache's own `Arc`), and `managedFields` never enter the cache,
//! as Kubernetes' informers drop them too.
//!
//! A subscriber sees the watcher's event protocol (`Init`, `InitApply`...,
//! `InitDone`, then `Apply`/`Delete`) over `Arc`s: on subscribing, after
//! every relist of the watch, and whenever it fell so far behind that
//! events were dropped for it, it gets the whole cache again as a relist,
//! so a slow subscriber resynchronises instead of missing a change.

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Container, Pod};
use kube::api::Api;
use kube::runtime::reflector::{ObjectRef, Store, store::Writer};
use kube::runtime::watcher::{self, Event, watcher};
use kube::runtime::WatchStreamExt;
use kube::Resource;
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Changes buffered per subscriber before it has to relist.
const BUFFER: usize = 4096;

#[derive(Debug)]
enum Change<K> {
    Apply(Arc<K>),
    Delete(Arc<K>),
    /// The watch listed again: the cache was replaced.
    Relisted,
}

impl<K> Clone for Change<K> {
    fn clone(&self) -> Self {
        match self {
            Change::Apply(k) => Change::Apply(k.clone()),
            Change::Delete(k) => Change::Delete(k.clone()),
            Change::Relisted => Change::Relisted,
        }
    }
}

/// One watched kind, shared. Cheap to clone.
pub struct Informer<K: Resource + 'static>
where
    K::DynamicType: Eq + Hash + Clone,
{
    store: Store<K>,
    tx: broadcast::Sender<Change<K>>,
}

impl<K: Resource + 'static> Clone for Informer<K>
where
    K::DynamicType: Eq + Hash + Clone,
{
    fn clone(&self) -> Self {
        Informer { store: self.store.clone(), tx: self.tx.clone() }
    }
}

/// Drops what no controller reads: `managedFields` (large, and only the API
/// server's apply logic uses them).
pub fn without_managed_fields<K: Resource>(object: &mut K) {
    object.meta_mut().managed_fields = None;
}

impl<K> Informer<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    /// The informer and the future that watches, keeping objects as `trim`
    /// leaves them, until the watch's server goes away; the caller spawns it.
    pub fn start(api: Api<K>, config: watcher::Config, trim: fn(&mut K)) -> (Informer<K>, impl std::future::Future<Output = ()> + Send + 'static) {
        let mut writer: Writer<K> = Writer::default();
        let store = writer.as_reader();
        let (tx, _) = broadcast::channel(BUFFER);
        let informer = Informer { store: store.clone(), tx: tx.clone() };
        let task = async move {
            let mut events = watcher(api, config).default_backoff().modify(trim).boxed();
            while let Some(event) = events.next().await {
                let event = match event {
                    Ok(event) => event,
                    Err(error) => {
                        tracing::debug!(%error, kind = %K::kind(&Default::default()), "shared informer watch");
                        continue;
                    }
                };
                writer.apply_watcher_event(&event);
                // No subscriber yet is fine: they start from the cache.
                let _ = match event {
                    Event::Apply(object) => {
                        let cached = store.get(&ObjectRef::from_obj(&object));
                        tx.send(Change::Apply(cached.unwrap_or_else(|| Arc::new(object))))
                    }
                    Event::Delete(object) => tx.send(Change::Delete(Arc::new(object))),
                    Event::InitDone => tx.send(Change::Relisted),
                    Event::Init | Event::InitApply(_) => continue,
                };
            }
        };
        (informer, task)
    }

    /// The shared cache.
    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }

    /// Every change from now on, starting with the whole cache as a relist
    /// once it has listed.
    pub fn subscribe(&self) -> impl Stream<Item = Event<Arc<K>>> + Send + 'static {
        struct State<K: Resource + 'static>
        where
            K::DynamicType: Eq + Hash + Clone,
        {
            rx: broadcast::Receiver<Change<K>>,
            store: Store<K>,
            pending: VecDeque<Event<Arc<K>>>,
            relist: bool,
        }
        // Subscribe before reading the cache, so nothing falls between.
        let state = State { rx: self.tx.subscribe(), store: self.store.clone(), pending: VecDeque::new(), relist: true };
        futures::stream::unfold(state, |mut s| async move {
            loop {
                if let Some(event) = s.pending.pop_front() {
                    return Some((event, s));
                }
                if s.relist {
                    s.relist = false;
                    if crate::cache_ready::ready(&s.store).await.is_err() {
                        return None;
                    }
                    s.pending.push_back(Event::Init);
                    s.pending.extend(s.store.state().into_iter().map(Event::InitApply));
                    s.pending.push_back(Event::InitDone);
                    continue;
                }
                match s.rx.recv().await {
                    Ok(Change::Apply(object)) => return Some((Event::Apply(object), s)),
                    Ok(Change::Delete(object)) => return Some((Event::Delete(object), s)),
                    Ok(Change::Relisted) => s.relist = true,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, kind = %K::kind(&Default::default()), "informer subscriber fell behind; relisting");
                        s.relist = true;
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
    }

    /// The objects changes concern (applied, deleted, or every object after
    /// a relist), for `Controller::watches_shared_stream`.
    pub fn touched(&self) -> impl Stream<Item = Arc<K>> + Send + 'static {
        self.subscribe().filter_map(|event| {
            futures::future::ready(match event {
                Event::Apply(object) | Event::Delete(object) | Event::InitApply(object) => Some(object),
                Event::Init | Event::InitDone => None,
            })
        })
    }
}

/// What the pod readers never look at, dropped from the shared pod cache:
/// `managedFields`; volumes other than claims (the scheduler binds
/// claims); and of each container everything but its name, image, ports
/// (endpoints resolve named ports, the scheduler checks host ports),
/// resources and restart policy (the scheduler's requests, sidecars). A
/// pod's projected token volume and environment are most of its size.
pub fn trim_pod(pod: &mut Pod) {
    without_managed_fields(pod);
    let Some(spec) = pod.spec.as_mut() else { return };
    if let Some(volumes) = spec.volumes.as_mut() {
        volumes.retain(|v| v.persistent_volume_claim.is_some() || v.ephemeral.is_some());
    }
    let slim = |c: &mut Container| {
        *c = Container {
            name: std::mem::take(&mut c.name),
            image: c.image.take(),
            ports: c.ports.take(),
            resources: c.resources.take(),
            restart_policy: c.restart_policy.take(),
            ..Container::default()
        }
    };
    spec.containers.iter_mut().for_each(slim);
    spec.init_containers.iter_mut().flatten().for_each(slim);
    spec.ephemeral_containers = None;
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};

    #[test]
    fn informer_drops_managed_fields() {
        let mut pod = Pod {
            metadata: ObjectMeta {
                name: Some("p".into()),
                managed_fields: Some(vec![ManagedFieldsEntry { manager: Some("kubectl".into()), ..Default::default() }]),
                ..Default::default()
            },
            ..Default::default()
        };
        without_managed_fields(&mut pod);
        assert_eq!(pod.metadata.managed_fields, None);
        assert_eq!(pod.metadata.name.as_deref(), Some("p"));
    }

    #[test]
    fn informer_trimmed_pod_keeps_what_controllers_read() {
        let mut pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "labels": {"app": "web"}, "managedFields": [{"manager": "kubectl"}]},
            "spec": {
                "nodeName": "n1",
                "tolerations": [{"key": "k", "operator": "Exists"}],
                "containers": [{
                    "name": "c", "image": "nginx", "env": [{"name": "A", "value": "1"}],
                    "command": ["sh"], "volumeMounts": [{"name": "token", "mountPath": "/var/run"}],
                    "ports": [{"name": "http", "containerPort": 80, "hostPort": 8080}],
                    "resources": {"requests": {"cpu": "100m"}},
                }],
                "initContainers": [{"name": "side", "image": "envoy", "restartPolicy": "Always", "args": ["-v"]}],
                "volumes": [
                    {"name": "token", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}},
                    {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
                ],
            },
            "status": {"phase": "Running", "podIP": "10.0.0.1", "containerStatuses": [{"name": "c", "image": "nginx", "imageID": "", "ready": true, "restartCount": 2}]},
        }))
        .expect("a pod");
        trim_pod(&mut pod);
        let v = serde_json::to_value(&pod).expect("serializes");
        assert!(v["metadata"].get("managedFields").is_none());
        assert_eq!(v["metadata"]["labels"]["app"], "web");
        assert_eq!(v["spec"]["nodeName"], "n1");
        assert_eq!(v["spec"]["tolerations"][0]["key"], "k");
        assert_eq!(v["spec"]["volumes"], serde_json::json!([{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]));
        let c = &v["spec"]["containers"][0];
        assert_eq!(c["ports"][0]["hostPort"], 8080);
        assert_eq!(c["resources"]["requests"]["cpu"], "100m");
        assert!(c.get("env").is_none() && c.get("command").is_none() && c.get("volumeMounts").is_none());
        assert_eq!(v["spec"]["initContainers"][0]["restartPolicy"], "Always");
        assert!(v["spec"]["initContainers"][0].get("args").is_none());
        assert_eq!(v["status"]["containerStatuses"][0]["restartCount"], 2);
    }
}
