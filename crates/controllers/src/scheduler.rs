//! The scheduler (kube-scheduler's work): pods with no node and the
//! default scheduler name are placed on a node by filters and scores over
//! an in-memory cache of nodes and placed pods, and bound through
//! `pods/binding`. A pod that fits nowhere gets `PodScheduled=False`
//! (`Unschedulable`) and a `FailedScheduling` event in Kubernetes' words,
//! and is tried again when nodes or pods change.
//!
//! One task owns the cache and the queues and decides; bindings, status
//! writes and events run in spawned tasks and report back, so deciding
//! never waits on the API.

pub(crate) mod cache;
mod decide;
pub(crate) mod filter;
pub(crate) mod resources;
mod score;
mod volumes;

use crate::cached_pod::CachedPod;
use crate::informer::Informer;
use cache::{Cache, PodInfo};
use decide::FitError;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::{
    Binding, Event as CoreEvent, EventSource, Node, ObjectReference, PersistentVolume, PersistentVolumeClaim, Pod,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

/// The scheduler name pods get by default, and the events' source.
pub const SCHEDULER_NAME: &str = "default-scheduler";

/// Concurrent binding requests: enough to keep the API server's group
/// commit busy without unbounded tasks.
const BIND_CONCURRENCY: usize = 256;
/// Decisions per turn before looking at new input again.
const BATCH: usize = 512;
/// Back-off of a pod that did not fit, doubling from the first to the last
/// (kube-scheduler's defaults: 1 s to 10 s).
const BACKOFF_INITIAL: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// Unschedulable pods are retried at least this often even when nothing
/// seems to change (Kubernetes: 5 minutes).
const UNSCHEDULABLE_FLUSH: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// binding a pod failed
    #[error("binding pod {pod} to node {node}: {source}")]
    Bind {
        pod: String,
        node: String,
        #[source]
        source: kube::Error,
    },
}

/// Everything that moves the scheduler, in one place.
enum Input {
    CachedPod(Box<watcher::Event<Arc<CachedPod>>>),
    Node(Box<watcher::Event<Node>>),
    Claim(Box<watcher::Event<PersistentVolumeClaim>>),
    Volume(Box<watcher::Event<PersistentVolume>>),
    Class(Box<watcher::Event<StorageClass>>),
    /// A binding request finished.
    Bound { key: String, node: String, ok: bool },
    /// The pod and node watches ended.
    Closed,
}

/// A pod waiting for a node.
struct Pending {
    pod: Arc<CachedPod>,
    attempts: u32,
    /// The message last recorded in its condition and event.
    last_failure: Option<String>,
    failed_at: Option<Instant>,
}

struct Scheduler {
    client: Client,
    cache: Cache,
    volumes: volumes::Volumes,
    pending: HashMap<String, Pending>,
    /// Pods to try now, in arrival order.
    active: VecDeque<String>,
    queued: HashSet<String>,
    /// Pods that did not fit, waiting for a change in the cluster.
    unschedulable: HashSet<String>,
    /// Pods waiting out their back-off before going active.
    backoff: HashMap<String, Instant>,
    /// Pods assumed on a node until the watch shows them bound.
    assumed: HashSet<String>,
    pods_synced: bool,
    nodes_synced: bool,
    /// Keys seen during a watch restart, to drop what has gone meanwhile.
    relist_pods: Option<HashSet<String>>,
    relist_nodes: Option<HashSet<String>>,
    tie: usize,
    binds: Arc<Semaphore>,
    results: mpsc::UnboundedSender<Input>,
    last_flush: Instant,
}

/// Runs the scheduler until its watches end.
pub async fn run(client: Client, pods: Informer<CachedPod>) {
    let pods = pods.subscribe().map(|e| Some(Input::CachedPod(Box::new(e))));
    let nodes = watcher(Api::<Node>::all(client.clone()), watcher::Config::default()).map(|e| match e {
        Ok(e) => Some(Input::Node(Box::new(e))),
        Err(error) => {
            tracing::debug!(%error, "scheduler node watch");
            None
        }
    });
    let storage = storage_watches(&client);
    let (tx, rx) = mpsc::unbounded_channel();
    let results = tokio_stream_of(rx);
    let watches = futures::stream::select(futures::stream::select(pods, nodes), storage).filter_map(futures::future::ready).chain(futures::stream::once(async { Input::Closed }));
    let mut inputs = futures::stream::select(watches, results).boxed();
    let mut s = Scheduler {
        client,
        cache: Cache::default(),
        volumes: volumes::Volumes::default(),
        pending: HashMap::new(),
        active: VecDeque::new(),
        queued: HashSet::new(),
        unschedulable: HashSet::new(),
        backoff: HashMap::new(),
        assumed: HashSet::new(),
        pods_synced: false,
        nodes_synced: false,
        relist_pods: None,
        relist_nodes: None,
        tie: 0,
        binds: Arc::new(Semaphore::new(BIND_CONCURRENCY)),
        results: tx,
        last_flush: Instant::now(),
    };
    // Inputs handled since the last batch of decisions: a busy stream of
    // pod updates must not starve deciding.
    let mut handled = 0;
    loop {
        let ready = s.pods_synced && s.nodes_synced && s.volumes.synced() && !s.active.is_empty();
        if ready && handled >= BATCH {
            s.schedule_batch();
            handled = 0;
            continue;
        }
        let input = if ready {
            match inputs.next().now_or_never() {
                Some(i) => i,
                None => {
                    s.schedule_batch();
                    handled = 0;
                    continue;
                }
            }
        } else {
            let wake = s.next_wake();
            tokio::select! {
                i = inputs.next() => i,
                _ = tokio::time::sleep_until(wake) => {
                    s.release_backoff();
                    continue;
                }
            }
        };
        match input {
            None | Some(Input::Closed) => {
                tracing::warn!("the scheduler's watches ended");
                return;
            }
            Some(i) => {
                handled += 1;
                s.handle(i);
            }
        }
    }
}

/// Claims, volumes and classes, for volume binding.
fn storage_watches(client: &Client) -> impl futures::Stream<Item = Option<Input>> + Send + 'static {
    fn log<K>(e: Result<watcher::Event<K>, watcher::Error>, wrap: fn(Box<watcher::Event<K>>) -> Input) -> Option<Input> {
        match e {
            Ok(e) => Some(wrap(Box::new(e))),
            Err(error) => {
                tracing::debug!(%error, "scheduler storage watch");
                None
            }
        }
    }
    let config = watcher::Config::default;
    let claims = watcher(Api::<PersistentVolumeClaim>::all(client.clone()), config()).map(|e| log(e, Input::Claim));
    let volumes = watcher(Api::<PersistentVolume>::all(client.clone()), config()).map(|e| log(e, Input::Volume));
    let classes = watcher(Api::<StorageClass>::all(client.clone()), config()).map(|e| log(e, Input::Class));
    futures::stream::select(futures::stream::select(claims, volumes), classes)
}

/// An unbounded receiver as a stream.
fn tokio_stream_of(mut rx: mpsc::UnboundedReceiver<Input>) -> impl futures::Stream<Item = Input> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

fn is_terminal(pod: &CachedPod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"))
}

fn node_name(pod: &CachedPod) -> Option<&str> {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).filter(|n| !n.is_empty())
}

/// Whether this scheduler should place the pod.
fn wants_scheduling(pod: &CachedPod) -> bool {
    let spec = pod.spec.as_ref();
    let name = spec.and_then(|s| s.scheduler_name.as_deref()).unwrap_or(SCHEDULER_NAME);
    name == SCHEDULER_NAME
        && pod.metadata.deletion_timestamp.is_none()
        && !is_terminal(pod)
        && spec.and_then(|s| s.scheduling_gates.as_ref()).is_none_or(Vec::is_empty)
}

fn pod_key(pod: &CachedPod) -> String {
    format!("{}/{}", pod.namespace().unwrap_or_default(), pod.name_any())
}

impl Scheduler {
    fn handle(&mut self, input: Input) {
        match input {
            Input::CachedPod(e) => self.pod_event(*e),
            Input::Node(e) => self.node_event(*e),
            Input::Claim(e) => {
                if self.volumes.claims.apply(*e) {
                    self.retry_unschedulable(false);
                }
            }
            Input::Volume(e) => {
                if self.volumes.volumes.apply(*e) {
                    self.retry_unschedulable(false);
                }
            }
            Input::Class(e) => {
                if self.volumes.classes.apply(*e) {
                    self.retry_unschedulable(false);
                }
            }
            Input::Bound { key, node, ok } => {
                self.volumes.release(&key);
                if !ok && self.assumed.remove(&key) {
                    // The binding did not happen: give the room back and
                    // try again later unless the pod has gone or been bound.
                    self.cache.unplace(&key);
                    if let Some(p) = self.pending.get_mut(&key) {
                        p.attempts += 1;
                        p.failed_at = Some(Instant::now());
                        self.backoff.insert(key, Instant::now() + backoff(p.attempts));
                    }
                } else if ok {
                    tracing::debug!(pod = %key, %node, "bound");
                }
            }
            Input::Closed => {}
        }
    }

    fn pod_event(&mut self, event: watcher::Event<Arc<CachedPod>>) {
        match event {
            watcher::Event::Init => self.relist_pods = Some(HashSet::new()),
            watcher::Event::InitApply(pod) => {
                if let Some(seen) = self.relist_pods.as_mut() {
                    seen.insert(pod_key(&pod));
                }
                self.pod_changed(pod);
            }
            watcher::Event::InitDone => {
                if let Some(seen) = self.relist_pods.take() {
                    let gone: Vec<String> = self
                        .cache
                        .pods
                        .keys()
                        .chain(self.pending.keys())
                        .filter(|k| !seen.contains(*k))
                        .cloned()
                        .collect();
                    for k in gone {
                        self.pod_gone(&k);
                    }
                }
                self.pods_synced = true;
            }
            watcher::Event::Apply(pod) => self.pod_changed(pod),
            watcher::Event::Delete(pod) => self.pod_gone(&pod_key(&pod)),
        }
    }

    fn node_event(&mut self, event: watcher::Event<Node>) {
        match event {
            watcher::Event::Init => self.relist_nodes = Some(HashSet::new()),
            watcher::Event::InitApply(node) => {
                if let Some(seen) = self.relist_nodes.as_mut() {
                    seen.insert(node.name_any());
                }
                self.node_changed(&node);
            }
            watcher::Event::InitDone => {
                if let Some(seen) = self.relist_nodes.take() {
                    let gone: Vec<String> = self.cache.nodes.keys().filter(|k| !seen.contains(*k)).cloned().collect();
                    for k in gone {
                        self.cache.remove_node(&k);
                    }
                }
                self.nodes_synced = true;
                self.retry_unschedulable(false);
            }
            watcher::Event::Apply(node) => self.node_changed(&node),
            watcher::Event::Delete(node) => self.cache.remove_node(&node.name_any()),
        }
    }

    fn node_changed(&mut self, node: &Node) {
        if self.cache.upsert_node(node) {
            self.retry_unschedulable(false);
        }
    }

    fn pod_changed(&mut self, pod: Arc<CachedPod>) {
        let key = pod_key(&pod);
        if is_terminal(&pod) {
            self.pod_gone(&key);
            return;
        }
        if let Some(node) = node_name(&pod) {
            let node = node.to_string();
            self.assumed.remove(&key);
            self.forget_pending(&key);
            let had_affinity_waiters = !self.unschedulable.is_empty();
            let known = self.cache.pods.get(&key).is_some_and(|(n, _)| *n == node);
            self.cache.place(PodInfo::new(pod), &node);
            if !known && had_affinity_waiters {
                self.retry_unschedulable(true);
            }
            return;
        }
        if self.assumed.contains(&key) {
            // A stale view of a pod whose binding is in flight.
            return;
        }
        if !wants_scheduling(&pod) {
            self.forget_pending(&key);
            return;
        }
        match self.pending.get_mut(&key) {
            Some(p) => {
                let changed = p.pod.spec != pod.spec || p.pod.metadata.labels != pod.metadata.labels;
                p.pod = pod;
                if changed && self.unschedulable.remove(&key) {
                    self.enqueue(key);
                }
            }
            None => {
                self.pending.insert(key.clone(), Pending { pod, attempts: 0, last_failure: None, failed_at: None });
                self.enqueue(key);
            }
        }
    }

    fn pod_gone(&mut self, key: &str) {
        self.forget_pending(key);
        self.assumed.remove(key);
        if self.cache.unplace(key) {
            self.retry_unschedulable(false);
        }
    }

    fn forget_pending(&mut self, key: &str) {
        if self.pending.remove(key).is_some() {
            self.queued.remove(key);
            self.unschedulable.remove(key);
            self.backoff.remove(key);
        }
    }

    fn enqueue(&mut self, key: String) {
        if self.queued.insert(key.clone()) {
            self.active.push_back(key);
        }
    }

    /// Moves unschedulable pods to their back-off (all of them, or only
    /// those with pod affinity when a placed pod appeared).
    fn retry_unschedulable(&mut self, affinity_only: bool) {
        let now = Instant::now();
        let keys: Vec<String> = self.unschedulable.iter().cloned().collect();
        for key in keys {
            let Some(p) = self.pending.get(&key) else {
                self.unschedulable.remove(&key);
                continue;
            };
            let has_affinity = p.pod.spec.as_ref().and_then(|s| s.affinity.as_ref()).is_some_and(|a| a.pod_affinity.is_some())
                || p.pod.spec.as_ref().is_some_and(|s| s.topology_spread_constraints.is_some());
            if affinity_only && !has_affinity {
                continue;
            }
            self.unschedulable.remove(&key);
            let at = p.failed_at.map_or(now, |t| t + backoff(p.attempts));
            self.backoff.insert(key, at);
        }
        self.last_flush = now;
    }

    /// When the loop must wake without input: the next back-off to end, or
    /// the periodic retry of unschedulable pods.
    fn next_wake(&self) -> Instant {
        let flush = self.last_flush + UNSCHEDULABLE_FLUSH;
        self.backoff.values().copied().min().map_or(flush, |b| b.min(flush))
    }

    fn release_backoff(&mut self) {
        let now = Instant::now();
        if self.last_flush + UNSCHEDULABLE_FLUSH <= now {
            self.retry_unschedulable(false);
        }
        let due: Vec<String> = self.backoff.iter().filter(|(_, t)| **t <= now).map(|(k, _)| k.clone()).collect();
        for key in due {
            self.backoff.remove(&key);
            self.enqueue(key);
        }
    }

    fn schedule_batch(&mut self) {
        for _ in 0..BATCH {
            let Some(key) = self.active.pop_front() else { break };
            self.queued.remove(&key);
            self.schedule_one(key);
        }
        self.release_backoff();
    }

    fn schedule_one(&mut self, key: String) {
        let Some(p) = self.pending.get_mut(&key) else { return };
        let info = PodInfo::new(p.pod.clone());
        self.tie = self.tie.wrapping_add(1);
        let claims = self.volumes.prefilter(&p.pod);
        let decision = match &claims {
            Err(reason) => Err(FitError { nodes: self.cache.nodes.len(), reasons: Vec::new(), prefilter: Some(reason.clone()) }),
            Ok(None) => decide::decide(&info, &self.cache, self.tie),
            Ok(Some(claims)) => {
                let volumes = &self.volumes;
                decide::decide_with(&info, &self.cache, self.tie, &|node| volumes.filter(&key, claims, node))
            }
        };
        match decision {
            Ok(node) => {
                // The pod stays pending (and is retried if the binding
                // fails) until the watch shows it bound.
                let pod = p.pod.clone();
                let steps = match (&claims, self.cache.nodes.get(&node)) {
                    (Ok(Some(claims)), Some(n)) => self.volumes.steps(&key, claims, n).unwrap_or_default(),
                    _ => Vec::new(),
                };
                self.assumed.insert(key.clone());
                self.cache.place(info, &node);
                if steps.is_empty() {
                    tokio::spawn(bind(self.client.clone(), self.binds.clone(), pod, node, self.results.clone()));
                } else {
                    self.volumes.reserve(&key, &steps);
                    let task = bind_volumes_then_pod(self.client.clone(), self.binds.clone(), pod, node, steps, self.results.clone());
                    tokio::spawn(task);
                }
            }
            Err(fit) => {
                p.attempts += 1;
                p.failed_at = Some(Instant::now());
                let message = fit.to_string();
                tracing::debug!(pod = %key, %message, "unschedulable");
                if p.last_failure.as_deref() != Some(message.as_str()) {
                    p.last_failure = Some(message);
                    tokio::spawn(record_failure(self.client.clone(), p.pod.clone(), fit));
                }
                self.unschedulable.insert(key);
            }
        }
    }
}

fn backoff(attempts: u32) -> Duration {
    let factor = 1u32 << attempts.saturating_sub(1).min(4);
    (BACKOFF_INITIAL * factor).min(BACKOFF_MAX)
}

/// Posts the binding, then the `Scheduled` event.
async fn bind(client: Client, limit: Arc<Semaphore>, pod: Arc<CachedPod>, node: String, results: mpsc::UnboundedSender<Input>) {
    let key = pod_key(&pod);
    let ok = {
        let _permit = limit.acquire_owned().await;
        match post_binding(&client, &pod, &node).await {
            Ok(()) => true,
            Err(error) => {
                tracing::info!(%error, "binding failed");
                false
            }
        }
    };
    let _ = results.send(Input::Bound { key: key.clone(), node: node.clone(), ok });
    if ok {
        let message = format!("Successfully assigned {key} to {node}");
        emit(&client, &pod, "Normal", "Scheduled", "Binding", message).await;
    }
}

/// Kubernetes' VolumeBinding PreBind: reserve the chosen volumes and
/// tell provisioners the node, wait (without holding up other decisions)
/// until every claim is bound, then bind the pod.
async fn bind_volumes_then_pod(
    client: Client,
    limit: Arc<Semaphore>,
    pod: Arc<CachedPod>,
    node: String,
    steps: Vec<volumes::Step>,
    results: mpsc::UnboundedSender<Input>,
) {
    if let Err(error) = bind_volumes(&client, &steps).await {
        let key = pod_key(&pod);
        tracing::info!(pod = %key, %error, "binding volumes failed");
        let _ = results.send(Input::Bound { key, node, ok: false });
        let message = format!("running PreBind plugin \"VolumeBinding\": binding volumes: {error}");
        emit(&client, &pod, "Warning", "FailedScheduling", "Scheduling", message).await;
        return;
    }
    bind(client, limit, pod, node, results).await;
}

/// How long a pod waits for its claims to be bound (kube-scheduler's
/// `bindTimeoutSeconds`).
const VOLUME_BIND_TIMEOUT: Duration = Duration::from_secs(600);

async fn bind_volumes(client: &Client, steps: &[volumes::Step]) -> Result<(), String> {
    let claims_api = |c: &PersistentVolumeClaim| Api::<PersistentVolumeClaim>::namespaced(client.clone(), &c.namespace().unwrap_or_default());
    for step in steps {
        match step {
            volumes::Step::Reserve { volume, claim } => {
                let api = Api::<PersistentVolume>::all(client.clone());
                let pv = api.get(volume).await.map_err(|e| e.to_string())?;
                let taken = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).is_some_and(|r| {
                    r.name.as_deref() != Some(claim.name_any().as_str()) || r.namespace != claim.namespace()
                });
                if taken {
                    return Err(format!("persistentvolume \"{volume}\" is already bound to another claim"));
                }
                let reserved = volumes::reserved_volume(&pv, claim);
                api.replace(volume, &PostParams::default(), &reserved).await.map_err(|e| e.to_string())?;
            }
            volumes::Step::SelectNode { claim, node } => {
                let patch = serde_json::json!({"metadata": {"annotations": {crate::persistent_volume::matching::ANN_SELECTED_NODE: node}}});
                claims_api(claim).patch(&claim.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(|e| e.to_string())?;
            }
        }
    }
    let deadline = Instant::now() + VOLUME_BIND_TIMEOUT;
    for step in steps {
        let claim = step.claim();
        loop {
            let current = claims_api(claim).get_opt(&claim.name_any()).await.map_err(|e| e.to_string())?;
            match current {
                None => return Err(format!("persistentvolumeclaim \"{}\" not found", claim.name_any())),
                Some(c) if volumes::is_bound(&c) => break,
                Some(_) if Instant::now() >= deadline => return Err("context deadline exceeded".into()),
                Some(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
    Ok(())
}

async fn post_binding(client: &Client, pod: &CachedPod, node: &str) -> Result<(), Error> {
    let namespace = pod.namespace().unwrap_or_default();
    let name = pod.name_any();
    let binding = Binding {
        metadata: ObjectMeta { name: Some(name.clone()), namespace: Some(namespace.clone()), uid: pod.metadata.uid.clone(), ..ObjectMeta::default() },
        target: ObjectReference { kind: Some("Node".into()), api_version: Some("v1".into()), name: Some(node.to_string()), ..ObjectReference::default() },
    };
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    pods.create_subresource::<Binding, serde_json::Value>("binding", &name, &PostParams::default(), &binding)
        .await
        .map(|_| ())
        .map_err(|source| Error::Bind { pod: format!("{namespace}/{name}"), node: node.to_string(), source })
}

/// Marks the pod `PodScheduled=False` with the reasons and emits
/// `FailedScheduling`.
async fn record_failure(client: Client, pod: Arc<CachedPod>, fit: FitError) {
    let message = fit.to_string();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
    let already = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"))
        .is_some_and(|c| c.status == "False" && c.message.as_deref() == Some(message.as_str()));
    if !already {
        let patch = serde_json::json!({"status": {"conditions": [{
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": message,
            "lastProbeTime": null,
            "lastTransitionTime": jiff::Timestamp::now().to_string(),
        }]}});
        if let Err(error) = pods.patch_status(&pod.name_any(), &PatchParams::default(), &Patch::Strategic(patch)).await {
            tracing::debug!(%error, pod = %pod_key(&pod), "recording the PodScheduled condition");
        }
    }
    emit(&client, &pod, "Warning", "FailedScheduling", "Scheduling", message).await;
}

/// Creates a core/v1 Event about a pod from the default scheduler.
async fn emit(client: &Client, pod: &CachedPod, type_: &str, reason: &str, action: &str, message: String) {
    let namespace = pod.namespace().unwrap_or_default();
    let now = jiff::Timestamp::now();
    let event = CoreEvent {
        metadata: ObjectMeta {
            name: Some(format!("{}.{:x}", pod.name_any(), now.as_nanosecond())),
            namespace: Some(namespace.clone()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            kind: Some("Pod".into()),
            api_version: Some("v1".into()),
            namespace: Some(namespace.clone()),
            name: Some(pod.name_any()),
            uid: pod.metadata.uid.clone(),
            resource_version: pod.metadata.resource_version.clone(),
            ..ObjectReference::default()
        },
        reason: Some(reason.into()),
        message: Some(message),
        type_: Some(type_.into()),
        action: Some(action.into()),
        source: Some(EventSource { component: Some(SCHEDULER_NAME.into()), host: None }),
        reporting_component: Some(SCHEDULER_NAME.into()),
        reporting_instance: Some(format!("{SCHEDULER_NAME}-nubis")),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        event_time: Some(MicroTime(now)),
        count: Some(1),
        ..CoreEvent::default()
    };
    let events: Api<CoreEvent> = Api::namespaced(client.clone(), &namespace);
    if let Err(error) = events.create(&PostParams::default(), &event).await {
        tracing::debug!(%error, reason, "emitting a scheduler event");
    }
}

#[cfg(test)]
mod tests;
