//! The garbage collector: deletes objects whose owners are gone, orphans
//! the dependents of owners deleted with the `orphan` finalizer, and
//! deletes dependents before owners deleted in the foreground
//! (`foregroundDeletion`, waiting for those with `blockOwnerDeletion`).
//!
//! It watches the metadata of every resource discovery lists with `list`,
//! `watch` and `delete` (custom resources included, rediscovered when CRDs
//! change), keeps the ownership [`graph`], and acts on the objects a change
//! concerns. As in Kubernetes, a dependent is deleted only after a live GET
//! of each owner confirms it is gone, and nothing is acted on before every
//! watch has listed its resource once (an unlisted dependent would be
//! missed by an orphaning owner).

mod actions;
pub mod graph;
pub mod plan;

use futures::StreamExt;
use graph::{Graph, Node};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::discovery::{ApiResource, Discovery, verbs};
use kube::runtime::watcher::{self, Event, watcher};
use kube::api::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How often discovery runs again without a CRD change (Kubernetes: 30 s;
/// in process a discovery pass is cheap, and a shorter period bounds how
/// long a resource served after a missed CRD event goes unwatched).
const REDISCOVER: Duration = Duration::from_secs(5);
/// How long a watch that has not listed yet holds the collector back (a
/// resource that cannot be watched must not stop collection for good).
const SYNC_GRACE: Duration = Duration::from_secs(10);
/// When to look again at an object whose owner is not settled yet.
const RETRY: Duration = Duration::from_secs(2);

/// How soon a failed discovery is tried again.
const DISCOVERY_RETRY: Duration = Duration::from_millis(500);

/// Resources the collector leaves alone, as Kubernetes does: Events are
/// many, short-lived and never owners.
const IGNORED: &[(&str, &str)] = &[("", "events"), ("events.k8s.io", "events")];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API call failed.
    #[error("{what}: {source}")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
    /// The owner reference names no resource discovery knows.
    #[error("no resource serves {api_version} {kind}")]
    UnknownKind { api_version: String, kind: String },
}

/// A watched resource: `group/plural`.
type ResourceKey = (String, String);

fn key_of(ar: &ApiResource) -> ResourceKey {
    (ar.group.clone(), ar.plural.clone())
}

/// Every trigger of the collector's loop.
#[derive(Debug)]
enum Input {
    /// A watch (re)started listing its resource.
    ListStart(ResourceKey),
    /// An object was listed, added or changed.
    Apply(Arc<ApiResource>, Box<Node>),
    /// An object was deleted.
    Delete(String),
    /// A watch finished listing.
    ListDone(ResourceKey),
    /// CRDs changed: run discovery again.
    Rediscover,
}

struct Watch {
    task: JoinHandle<()>,
    started: Instant,
    synced: bool,
    /// Uids seen since the current list began (a relist drops the others).
    listing: Option<BTreeSet<String>>,
}

/// The collector's state, owned by its one loop.
struct Collector {
    client: Client,
    tx: mpsc::UnboundedSender<Input>,
    graph: Graph,
    watches: HashMap<ResourceKey, Watch>,
    discovery: Option<Arc<Discovery>>,
    dirty: BTreeSet<String>,
    retry: HashMap<String, Instant>,
}

/// Runs the collector until the client's server goes away.
pub async fn run(client: Client) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    spawn_crd_watch(client.clone(), tx.clone());
    let mut gc = Collector {
        client,
        tx,
        graph: Graph::default(),
        watches: HashMap::new(),
        discovery: None,
        dirty: BTreeSet::new(),
        retry: HashMap::new(),
    };
    gc.rediscover().await;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut last_discovery = Instant::now();
    loop {
        tokio::select! {
            input = rx.recv() => match input {
                Some(input) => gc.handle(input).await,
                None => return,
            },
            _ = tick.tick() => {
                let now = Instant::now();
                let due: Vec<String> = gc.retry.iter().filter(|(_, at)| **at <= now).map(|(u, _)| u.clone()).collect();
                for uid in due {
                    gc.retry.remove(&uid);
                    gc.dirty.insert(uid);
                }
                if last_discovery.elapsed() >= REDISCOVER {
                    last_discovery = now;
                    gc.rediscover().await;
                }
            }
        }
        while let Ok(input) = rx.try_recv() {
            gc.handle(input).await;
        }
        if gc.synced() {
            gc.process_dirty().await;
        }
    }
}

/// Watches CRDs so new custom resources are watched soon after they are
/// served.
fn spawn_crd_watch(client: Client, tx: mpsc::UnboundedSender<Input>) {
    tokio::spawn(async move {
        let crds: Api<PartialObjectMeta<CustomResourceDefinition>> = Api::all(client);
        let mut events = watcher(crds, watcher::Config::default()).default_backoff().boxed();
        while let Some(event) = events.next().await {
            match event {
                Ok(Event::Apply(_) | Event::Delete(_) | Event::InitDone) => {
                    if tx.send(Input::Rediscover).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(error) => tracing::debug!(%error, "garbage collector: CRD watch"),
            }
        }
    });
}

/// Watches one resource's metadata, feeding the loop.
fn spawn_watch(client: Client, ar: Arc<ApiResource>, tx: mpsc::UnboundedSender<Input>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let api: Api<PartialObjectMeta<DynamicObject>> = Api::all_with(client, &*ar);
        let key = key_of(&ar);
        let mut events = watcher(api, watcher::Config::default()).default_backoff().boxed();
        while let Some(event) = events.next().await {
            let input = match event {
                Ok(Event::Init) => Input::ListStart(key.clone()),
                Ok(Event::InitDone) => Input::ListDone(key.clone()),
                Ok(Event::Apply(obj) | Event::InitApply(obj)) => match Node::from_meta(ar.clone(), &obj.metadata) {
                    Some(node) => Input::Apply(ar.clone(), Box::new(node)),
                    None => continue,
                },
                Ok(Event::Delete(obj)) => match obj.metadata.uid {
                    Some(uid) => Input::Delete(uid),
                    None => continue,
                },
                Err(error) => {
                    tracing::debug!(%error, resource = %ar.plural, "garbage collector: watch");
                    continue;
                }
            };
            if tx.send(input).is_err() {
                return;
            }
        }
    })
}

impl Collector {
    async fn handle(&mut self, input: Input) {
        match input {
            Input::ListStart(key) => {
                if let Some(w) = self.watches.get_mut(&key) {
                    w.listing = Some(BTreeSet::new());
                }
            }
            Input::Apply(ar, node) => {
                if let Some(Some(seen)) = self.watches.get_mut(&key_of(&ar)).map(|w| w.listing.as_mut()) {
                    seen.insert(node.uid.clone());
                }
                let dirty = self.graph.upsert(*node);
                self.dirty.extend(dirty);
            }
            Input::Delete(uid) => {
                let dirty = self.graph.remove(&uid);
                self.dirty.extend(dirty);
            }
            Input::ListDone(key) => {
                let Some(w) = self.watches.get_mut(&key) else { return };
                w.synced = true;
                // Objects deleted while the watch was down are gone.
                if let Some(seen) = w.listing.take() {
                    for uid in self.graph.uids_of(&key.0, &key.1) {
                        if !seen.contains(&uid) {
                            let dirty = self.graph.remove(&uid);
                            self.dirty.extend(dirty);
                        }
                    }
                }
            }
            Input::Rediscover => self.rediscover().await,
        }
    }

    /// Whether every watch has listed its resource (or had its chance).
    fn synced(&self) -> bool {
        self.watches.values().all(|w| w.synced || w.started.elapsed() >= SYNC_GRACE)
    }

    /// Runs discovery and starts or stops watches to match it.
    async fn rediscover(&mut self) {
        let discovery = match Discovery::new(self.client.clone()).run().await {
            Ok(d) => d,
            Err(error) => {
                // A group can vanish between listing groups and reading its
                // resources (a CRD deleted meanwhile): try again shortly
                // rather than at the next periodic pass.
                tracing::debug!(%error, "garbage collector: discovery failed; retrying");
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(DISCOVERY_RETRY).await;
                    let _ = tx.send(Input::Rediscover);
                });
                return;
            }
        };
        let mut wanted: HashMap<ResourceKey, ApiResource> = HashMap::new();
        for group in discovery.groups() {
            for (ar, caps) in group.recommended_resources() {
                let deletable = [verbs::LIST, verbs::WATCH, verbs::DELETE].iter().all(|v| caps.supports_operation(v));
                if deletable && !IGNORED.contains(&(ar.group.as_str(), ar.plural.as_str())) {
                    wanted.insert(key_of(&ar), ar);
                }
            }
        }
        let gone: Vec<ResourceKey> = self.watches.keys().filter(|k| !wanted.contains_key(*k)).cloned().collect();
        for key in gone {
            if let Some(w) = self.watches.remove(&key) {
                w.task.abort();
            }
            for uid in self.graph.uids_of(&key.0, &key.1) {
                let dirty = self.graph.remove(&uid);
                self.dirty.extend(dirty);
            }
            tracing::debug!(group = %key.0, resource = %key.1, "garbage collector: resource no longer served");
        }
        for (key, ar) in wanted {
            if self.watches.contains_key(&key) {
                continue;
            }
            let task = spawn_watch(self.client.clone(), Arc::new(ar), self.tx.clone());
            self.watches.insert(key, Watch { task, started: Instant::now(), synced: false, listing: None });
        }
        self.discovery = Some(Arc::new(discovery));
    }

    async fn process_dirty(&mut self) {
        while let Some(uid) = self.dirty.pop_first() {
            match self.process(&uid).await {
                Ok(true) => {}
                Ok(false) => {
                    self.retry.insert(uid, Instant::now() + RETRY);
                }
                Err(error) => {
                    tracing::warn!(%error, uid = %uid, "garbage collector: will retry");
                    self.retry.insert(uid, Instant::now() + RETRY);
                }
            }
        }
    }

    /// Acts on one object; `Ok(false)` asks for another look later.
    async fn process(&mut self, uid: &str) -> Result<bool, Error> {
        let Some(node) = self.graph.get(uid).cloned() else { return Ok(true) };
        let dependents: Vec<Node> = self.graph.dependents_of(&node).into_iter().cloned().collect();
        let refs: Vec<&Node> = dependents.iter().collect();
        match plan::owner_work(&node, &refs) {
            plan::OwnerWork::Orphan { dependents } => {
                for dep in dependents.iter().filter_map(|u| self.graph.get(u)) {
                    actions::remove_references(&self.client, dep, std::slice::from_ref(&node.uid)).await?;
                }
                actions::remove_finalizer(&self.client, &node, graph::ORPHAN).await?;
                tracing::info!(resource = %node.resource.plural, name = %node.name, "garbage collector: dependents orphaned");
                return Ok(true);
            }
            plan::OwnerWork::Foreground { delete, remove_finalizer } => {
                if remove_finalizer {
                    actions::remove_finalizer(&self.client, &node, graph::FOREGROUND).await?;
                    tracing::info!(resource = %node.resource.plural, name = %node.name, "garbage collector: dependents deleted first");
                }
                self.dirty.extend(delete);
                // The owner may itself be a dependent of a waiting owner.
                if node.owners.is_empty() {
                    return Ok(true);
                }
            }
            plan::OwnerWork::None => {}
        }
        if node.owners.is_empty() {
            return Ok(true);
        }
        self.attempt_to_delete(&node).await
    }

    /// Looks up a dependent's owners live and deletes it, or drops some of
    /// its references, as [`plan::dependent_verdict`] says.
    async fn attempt_to_delete(&mut self, node: &Node) -> Result<bool, Error> {
        // The graph may lag: act on the object as it is now.
        let Some(latest) = actions::get(&self.client, &node.resource, node.namespace.as_deref(), &node.name).await? else {
            return Ok(true);
        };
        if latest.metadata.uid.as_deref() != Some(node.uid.as_str()) {
            return Ok(true);
        }
        let Some(latest) = Node::from_meta(node.resource.clone(), &latest.metadata) else { return Ok(true) };
        let Some(discovery) = self.discovery.clone() else { return Ok(false) };
        let mut states = Vec::new();
        let mut settled = true;
        for r in &latest.owners {
            let state = actions::owner_state(&self.client, &discovery, &latest, r).await?;
            // An owner that exists but no watch has shown yet (a resource
            // discovered late): its deletion would go unseen, so look
            // again until a watch reports it.
            if state == plan::OwnerState::Solid && !self.graph.observed_owner_of(&r.uid, &latest) {
                settled = false;
            }
            // The uid is an object of another namespace: the reference can
            // never be valid; say so on the dependent as Kubernetes does.
            if state == plan::OwnerState::Dangling
                && let Some(elsewhere) = self.graph.get(&r.uid)
                && elsewhere.namespace.is_some()
                && elsewhere.namespace != latest.namespace
            {
                actions::invalid_namespace_event(&self.client, &latest, r).await;
            }
            states.push((r.uid.clone(), state));
        }
        let has_dependents = !self.graph.dependents_of(&latest).is_empty();
        match plan::dependent_verdict(&states, &latest.finalizers, has_dependents) {
            plan::Verdict::Keep => Ok(settled),
            plan::Verdict::Retry => Ok(false),
            plan::Verdict::Invalid => {
                tracing::warn!(
                    resource = %latest.resource.plural,
                    name = %latest.name,
                    "garbage collector: cluster-scoped object refers to a namespaced owner; left alone"
                );
                Ok(true)
            }
            plan::Verdict::RemoveReferences(uids) => {
                actions::remove_references(&self.client, &latest, &uids).await?;
                Ok(settled)
            }
            plan::Verdict::Delete(policy) => {
                actions::delete(&self.client, &latest, policy).await?;
                tracing::info!(resource = %latest.resource.plural, name = %latest.name, ?policy, "garbage collector: deleted an object whose owners are gone");
                Ok(true)
            }
        }
    }
}
