//! Shared informers: one watch and one cache of a kind for every controller
//! that reads it, as client-go's shared informer factory gives
//! kube-controller-manager. With ten controllers reading pods, separate
//! reflectors would decode every pod event ten times and keep ten copies of
//! every pod; here each pod is decoded once and held once (the subscribers
//! get the cache's own `Arc`), and `managedFields` never enter the cache,
//! as Kubernetes' informers drop them too.
//!
//! A subscriber sees the watcher's event protocol (`Init`, `InitApply`...,
//! `InitDone`, then `Apply`/`Delete`) over `Arc`s: on subscribing, and
//! whenever it fell so far behind that changes were dropped for it, it gets
//! the whole cache as a relist, so a slow subscriber resynchronises instead
//! of missing a change. A relist of the watch itself reaches subscribers as
//! the changes it found.

use futures::{Stream, StreamExt};
use kube::api::Api;
use kube::runtime::watcher::{self, Event, watcher};
use kube::runtime::WatchStreamExt;
use kube::{Resource, ResourceExt};
use parking_lot::RwLock;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt::Debug;
use std::ops::Bound;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};

/// Changes buffered per subscriber before it has to relist.
const BUFFER: usize = 4096;

/// An object's place in the cache: namespace (empty for cluster-scoped
/// kinds), then name, so one namespace is one contiguous range.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    namespace: String,
    name: String,
}

impl Key {
    fn of<K: Resource>(object: &K) -> Key {
        Key { namespace: object.namespace().unwrap_or_default(), name: object.name_any() }
    }
}

/// What subscribers are told. An applied object travels as its key and is
/// read from the cache when the subscriber gets to it, so a slow subscriber
/// never keeps superseded versions alive; a deleted one travels as its
/// last cached version.
#[derive(Debug)]
enum Change<K> {
    Apply(Key),
    Delete(Arc<K>),
}

impl<K> Clone for Change<K> {
    fn clone(&self) -> Self {
        match self {
            Change::Apply(k) => Change::Apply(k.clone()),
            Change::Delete(k) => Change::Delete(k.clone()),
        }
    }
}

/// The informer stopped (its watch's server went away) before the cache
/// listed.
#[derive(Debug, thiserror::Error)]
#[error("the shared informer stopped before its cache listed")]
pub struct Stopped;

/// The shared cache of one kind, read by every subscriber. Cheap to clone.
///
/// Unlike kube-runtime's reflector store, a relist updates the cache in
/// place (objects whose resourceVersion did not change keep their `Arc`,
/// vanished ones are removed at the end) instead of building a second full
/// copy and swapping it in, so a relist of 10,000 pods does not double the
/// memory they take; readers may see the relist half applied, which a
/// level-triggered controller handles as it handles any other staleness.
pub struct Cache<K> {
    objects: Arc<RwLock<BTreeMap<Key, Arc<K>>>>,
    listed: watch::Receiver<bool>,
}

impl<K> Clone for Cache<K> {
    fn clone(&self) -> Self {
        Cache { objects: self.objects.clone(), listed: self.listed.clone() }
    }
}

impl<K: Resource> Cache<K> {
    /// The object `name` in `namespace` (empty for cluster-scoped kinds).
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        self.objects.read().get(&Key { namespace: namespace.to_string(), name: name.to_string() }).cloned()
    }

    /// Every cached object.
    pub fn state(&self) -> Vec<Arc<K>> {
        self.objects.read().values().cloned().collect()
    }

    /// The cached objects of one namespace, without visiting the others.
    pub fn in_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        let from = Key { namespace: namespace.to_string(), name: String::new() };
        self.objects
            .read()
            .range((Bound::Included(from), Bound::Unbounded))
            .take_while(|(k, _)| k.namespace == namespace)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Resolves once the cache holds its first full list. Any number of
    /// tasks may wait at once (kube-runtime's `wait_until_ready` wakes only
    /// one of them; see `cache_ready`).
    pub async fn ready(&self) -> Result<(), Stopped> {
        let mut listed = self.listed.clone();
        listed.wait_for(|l| *l).await.map(|_| ()).map_err(|_| Stopped)
    }

    fn resolve(&self, key: &Key) -> Option<Arc<K>> {
        self.objects.read().get(key).cloned()
    }

    fn keys(&self) -> Vec<Key> {
        self.objects.read().keys().cloned().collect()
    }

    /// Stores `object` unless the cache already holds this very version;
    /// answers whether it changed anything. What is stored is a clone: a
    /// decoded object's vectors keep the spare capacity decoding grew them
    /// to, and trimming empties some without freeing them (a pod's emptied
    /// `volumes` still holds a ~1.8 KB allocation), while a clone allocates
    /// exactly what is left, which for 10,000 pods is tens of megabytes.
    fn apply(&self, object: K) -> Option<Key>
    where
        K: Clone,
    {
        let key = Key::of(&object);
        let mut objects = self.objects.write();
        if let Some(held) = objects.get(&key) {
            let version = held.meta().resource_version.as_deref();
            if version.is_some() && version == object.meta().resource_version.as_deref() {
                return None;
            }
        }
        objects.insert(key.clone(), Arc::new(object.clone()));
        Some(key)
    }

    fn remove(&self, key: &Key) -> Option<Arc<K>> {
        self.objects.write().remove(key)
    }
}

/// One watched kind, shared. Cheap to clone.
pub struct Informer<K> {
    cache: Cache<K>,
    tx: broadcast::Sender<Change<K>>,
}

impl<K> Clone for Informer<K> {
    fn clone(&self) -> Self {
        Informer { cache: self.cache.clone(), tx: self.tx.clone() }
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
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    /// The informer and the future that watches, keeping objects as `trim`
    /// leaves them, until the watch's server goes away; the caller spawns it.
    pub fn start(api: Api<K>, config: watcher::Config, trim: fn(&mut K)) -> (Informer<K>, impl std::future::Future<Output = ()> + Send + 'static) {
        let (informer, mut feed) = Informer::fed();
        let task = async move {
            let mut events = watcher(api, config).default_backoff().modify(trim).boxed();
            while let Some(event) = events.next().await {
                match event {
                    Ok(event) => feed.absorb(event),
                    Err(error) => tracing::debug!(%error, kind = %K::kind(&Default::default()), "shared informer watch"),
                }
            }
        };
        (informer, task)
    }
}

impl<K: Resource> Informer<K> {
    /// An informer and the feed its watch events go into.
    fn fed() -> (Informer<K>, Feed<K>) {
        let (listed_tx, listed) = watch::channel(false);
        let cache = Cache { objects: Arc::default(), listed };
        let (tx, _) = broadcast::channel(BUFFER);
        let informer = Informer { cache: cache.clone(), tx: tx.clone() };
        (informer, Feed { cache, relist: None, listed: listed_tx, tx })
    }
}

/// Applies watch events to the cache and tells subscribers what changed.
struct Feed<K> {
    cache: Cache<K>,
    /// Keys seen since the current (re)list began.
    relist: Option<HashSet<Key>>,
    listed: watch::Sender<bool>,
    tx: broadcast::Sender<Change<K>>,
}

impl<K: Resource + Clone> Feed<K> {
    fn absorb(&mut self, event: Event<K>) {
        match event {
            Event::Init => self.relist = Some(HashSet::new()),
            Event::InitApply(object) => {
                let key = Key::of(&object);
                if let Some(changed) = self.cache.apply(object) {
                    self.send(Change::Apply(changed));
                }
                if let Some(seen) = self.relist.as_mut() {
                    seen.insert(key);
                }
            }
            Event::InitDone => {
                if let Some(seen) = self.relist.take() {
                    for key in self.cache.keys().into_iter().filter(|k| !seen.contains(k)) {
                        if let Some(gone) = self.cache.remove(&key) {
                            self.send(Change::Delete(gone));
                        }
                    }
                }
                self.listed.send_replace(true);
            }
            Event::Apply(object) => {
                if let Some(changed) = self.cache.apply(object) {
                    self.send(Change::Apply(changed));
                }
            }
            Event::Delete(object) => {
                let gone = self.cache.remove(&Key::of(&object)).unwrap_or_else(|| Arc::new(object));
                self.send(Change::Delete(gone));
            }
        }
    }

    /// Subscribers read the whole cache once it first listed, so changes
    /// before then are not sent (10,000 of them would only overflow every
    /// subscriber's buffer). No subscriber yet is fine: they start from the
    /// cache.
    fn send(&self, change: Change<K>) {
        if *self.listed.borrow() {
            let _ = self.tx.send(change);
        }
    }
}

impl<K: Resource + Send + Sync + 'static> Informer<K> {
    /// The shared cache.
    pub fn cache(&self) -> Cache<K> {
        self.cache.clone()
    }

    /// Every change from now on, starting with the whole cache as a relist
    /// once it has listed (and again whenever this subscriber fell so far
    /// behind that changes were dropped for it).
    pub fn subscribe(&self) -> impl Stream<Item = Event<Arc<K>>> + Send + 'static {
        enum Pending {
            Init,
            Object(Key),
            Done,
        }
        struct State<K> {
            rx: broadcast::Receiver<Change<K>>,
            cache: Cache<K>,
            pending: VecDeque<Pending>,
            relist: bool,
        }
        // Subscribe before reading the cache, so nothing falls between.
        let state = State { rx: self.tx.subscribe(), cache: self.cache.clone(), pending: VecDeque::new(), relist: true };
        futures::stream::unfold(state, |mut s| async move {
            loop {
                if let Some(next) = s.pending.pop_front() {
                    match next {
                        Pending::Init => return Some((Event::Init, s)),
                        Pending::Done => return Some((Event::InitDone, s)),
                        // Read now, not at the snapshot: gone since means
                        // it is not part of the state any more.
                        Pending::Object(key) => match s.cache.resolve(&key) {
                            Some(object) => return Some((Event::InitApply(object), s)),
                            None => continue,
                        },
                    }
                }
                if s.relist {
                    s.relist = false;
                    if s.cache.ready().await.is_err() {
                        return None;
                    }
                    s.pending.push_back(Pending::Init);
                    s.pending.extend(s.cache.keys().into_iter().map(Pending::Object));
                    s.pending.push_back(Pending::Done);
                    continue;
                }
                match s.rx.recv().await {
                    Ok(Change::Apply(key)) => {
                        if let Some(object) = s.cache.resolve(&key) {
                            return Some((Event::Apply(object), s));
                        }
                    }
                    Ok(Change::Delete(object)) => return Some((Event::Delete(object), s)),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "informer subscriber fell behind; relisting");
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

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};

    fn config_map(namespace: &str, name: &str, version: &str) -> k8s_openapi::api::core::v1::ConfigMap {
        k8s_openapi::api::core::v1::ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(namespace.into()),
                resource_version: Some(version.into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn names<K: Resource>(objects: &[Arc<K>]) -> Vec<String> {
        objects.iter().map(|o| o.name_any()).collect()
    }

    #[test]
    fn informer_relist_updates_the_cache_in_place() {
        let (informer, mut feed) = Informer::fed();
        feed.absorb(Event::Init);
        feed.absorb(Event::InitApply(config_map("a", "same", "1")));
        feed.absorb(Event::InitApply(config_map("a", "changed", "2")));
        feed.absorb(Event::InitApply(config_map("b", "gone", "3")));
        feed.absorb(Event::InitDone);
        let cache = informer.cache();
        let before = cache.get("a", "same").expect("cached");

        feed.absorb(Event::Init);
        feed.absorb(Event::InitApply(config_map("a", "same", "1")));
        feed.absorb(Event::InitApply(config_map("a", "changed", "5")));
        // Half applied: the relist's changes show at once, removals at the end.
        assert_eq!(cache.get("a", "changed").and_then(|c| c.metadata.resource_version.clone()).as_deref(), Some("5"));
        assert!(cache.get("b", "gone").is_some());
        feed.absorb(Event::InitDone);

        assert!(Arc::ptr_eq(&before, &cache.get("a", "same").expect("still cached")), "an unchanged object keeps its Arc");
        assert!(cache.get("b", "gone").is_none());
        assert_eq!(names(&cache.state()), ["changed", "same"]);
    }

    #[test]
    fn informer_in_namespace_reads_one_namespace() {
        let (informer, mut feed) = Informer::fed();
        for (ns, name) in [("a", "x"), ("ab", "y"), ("b", "z"), ("a", "w"), ("", "cluster")] {
            feed.absorb(Event::Apply(config_map(ns, name, "1")));
        }
        let cache = informer.cache();
        assert_eq!(names(&cache.in_namespace("a")), ["w", "x"]);
        assert_eq!(names(&cache.in_namespace("ab")), ["y"]);
        assert_eq!(names(&cache.in_namespace("")), ["cluster"]);
        assert!(cache.in_namespace("c").is_empty());
    }

    #[tokio::test]
    async fn informer_subscribers_get_the_cache_then_changes_read_when_delivered() {
        let (informer, mut feed) = Informer::fed();
        let mut events = Box::pin(informer.subscribe());
        let mut waiters: Vec<_> = (0..3).map(|_| { let c = informer.cache(); tokio::spawn(async move { c.ready().await }) }).collect();
        feed.absorb(Event::Init);
        feed.absorb(Event::InitApply(config_map("a", "x", "1")));
        feed.absorb(Event::InitDone);
        for w in waiters.drain(..) {
            w.await.expect("joins").expect("every waiter wakes");
        }
        assert!(matches!(events.next().await, Some(Event::Init)));
        assert!(matches!(events.next().await, Some(Event::InitApply(o)) if o.name_any() == "x"));
        assert!(matches!(events.next().await, Some(Event::InitDone)));

        // Two versions queued: both deliveries read the newest; the same
        // version again is no change and is not sent.
        feed.absorb(Event::Apply(config_map("a", "x", "2")));
        feed.absorb(Event::Apply(config_map("a", "x", "3")));
        feed.absorb(Event::Apply(config_map("a", "x", "3")));
        let version = |e: Option<Event<Arc<k8s_openapi::api::core::v1::ConfigMap>>>| match e {
            Some(Event::Apply(o)) => o.metadata.resource_version.clone(),
            other => panic!("expected an Apply, got {other:?}"),
        };
        assert_eq!(version(events.next().await).as_deref(), Some("3"));
        assert_eq!(version(events.next().await).as_deref(), Some("3"));
        // Deleted by the time it is read: the Apply is skipped, the Delete
        // carries the last cached version.
        feed.absorb(Event::Apply(config_map("a", "x", "4")));
        feed.absorb(Event::Delete(config_map("a", "x", "4")));
        let next = events.next().await;
        assert!(matches!(&next, Some(Event::Delete(o)) if o.metadata.resource_version.as_deref() == Some("4")), "{next:?}");
    }

    #[tokio::test]
    async fn informer_ready_fails_when_the_feed_stops_before_listing() {
        let (informer, feed) = Informer::<k8s_openapi::api::core::v1::ConfigMap>::fed();
        drop(feed);
        assert!(informer.cache().ready().await.is_err());
    }

    #[test]
    fn informer_drops_managed_fields() {
        let mut pod = k8s_openapi::api::core::v1::Pod {
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
}
