//! The PersistentVolume binder (kube-controller-manager's
//! `persistentvolume-binder`): claims bind to matching volumes, released
//! volumes follow their reclaim policy, claims of a class with a
//! provisioner are handed to it, claims whose volume went are Lost.
//!
//! One task watches claims, volumes and classes and, on every change (and
//! every 15 s, Kubernetes' resync period), runs `sync::plan` over all of
//! them and carries out the writes. Its own writes are remembered until
//! the watches show them, so a pass never decides on a stale view of
//! something it just wrote.

pub mod matching;
pub mod sync;

use crate::events::Recorder;
use futures::{FutureExt, Stream, StreamExt};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use matching::claim_key;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use sync::{Action, View};
use tokio::time::Instant;

/// The component Kubernetes' binder records Events as.
pub const COMPONENT: &str = "persistentvolume-controller";
/// How often every claim and volume is looked at even without changes.
const RESYNC: Duration = Duration::from_secs(15);

/// Caches of the three kinds storage controllers read, and a stream that
/// yields whenever any of them changes (it must be polled for the caches
/// to move).
pub(crate) struct Stores {
    pub claims: Store<PersistentVolumeClaim>,
    pub volumes: Store<PersistentVolume>,
    pub classes: Store<StorageClass>,
}

pub(crate) fn watch(client: &Client) -> (Stores, impl Stream<Item = ()> + Send + 'static) {
    fn one<K>(api: Api<K>) -> (Store<K>, impl Stream<Item = ()> + Send + 'static)
    where
        K: kube::Resource<DynamicType = ()> + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        let (reader, writer) = reflector::store();
        let stream = watcher(api, watcher::Config::default()).default_backoff().reflect(writer).map(|e| {
            if let Err(error) = e {
                tracing::debug!(%error, "storage watch");
            }
        });
        (reader, stream)
    }
    let (claims, a) = one(Api::<PersistentVolumeClaim>::all(client.clone()));
    let (volumes, b) = one(Api::<PersistentVolume>::all(client.clone()));
    let (classes, c) = one(Api::<StorageClass>::all(client.clone()));
    (Stores { claims, volumes, classes }, futures::stream::select(futures::stream::select(a, b), c))
}

impl Stores {
    pub async fn ready(&self) -> bool {
        crate::cache_ready::ready(&self.claims).await.is_ok()
            && crate::cache_ready::ready(&self.volumes).await.is_ok()
            && crate::cache_ready::ready(&self.classes).await.is_ok()
    }
}

/// Waits for the next change or `timeout`, then takes every change
/// already waiting, so one pass answers a burst. False when the watches
/// ended.
pub(crate) async fn next_change(changes: &mut (impl Stream<Item = ()> + Unpin), timeout: Duration) -> bool {
    tokio::select! {
        c = changes.next() => if c.is_none() { return false },
        _ = tokio::time::sleep(timeout) => {}
    }
    while let Some(c) = changes.next().now_or_never() {
        if c.is_none() {
            return false;
        }
    }
    true
}

/// Objects this controller wrote, kept until the cache has them.
#[derive(Default)]
struct Written {
    claims: HashMap<String, PersistentVolumeClaim>,
    volumes: HashMap<String, PersistentVolume>,
}

fn rv(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> u64 {
    meta.resource_version.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The cached object, or what this controller wrote if that is newer.
fn fresher<K: kube::Resource + Clone>(cached: &K, written: &mut HashMap<String, K>, key: &str) -> K {
    match written.get(key) {
        Some(w) if rv(w.meta()) > rv(cached.meta()) => w.clone(),
        Some(_) => {
            written.remove(key);
            cached.clone()
        }
        None => cached.clone(),
    }
}

fn view(stores: &Stores, written: &mut Written) -> View {
    let mut v = View::default();
    let mut seen_claims = HashSet::new();
    for c in stores.claims.state() {
        let key = claim_key(&c);
        v.claims.insert(key.clone(), fresher(&c, &mut written.claims, &key));
        seen_claims.insert(key);
    }
    written.claims.retain(|k, _| seen_claims.contains(k));
    let mut seen_volumes = HashSet::new();
    for pv in stores.volumes.state() {
        let name = pv.name_any();
        v.volumes.insert(name.clone(), fresher(&pv, &mut written.volumes, &name));
        seen_volumes.insert(name);
    }
    written.volumes.retain(|k, _| seen_volumes.contains(k));
    for c in stores.classes.state() {
        v.classes.insert(c.name_any(), (*c).clone());
    }
    v
}

/// Runs the binder until its watches end.
pub async fn run(client: Client) {
    let (stores, changes) = watch(&client);
    let mut changes = changes.boxed();
    let recorder = Recorder::new(client.clone(), COMPONENT);
    let mut written = Written::default();
    let mut recent_events: HashMap<(String, &'static str, String), Instant> = HashMap::new();
    // Poll the watches until every cache has listed.
    let ready = stores.ready();
    tokio::pin!(ready);
    loop {
        tokio::select! {
            ok = &mut ready => { if !ok { return; } break; }
            c = changes.next() => if c.is_none() { return },
        }
    }
    loop {
        let mut v = view(&stores, &mut written);
        let actions = sync::plan(&mut v, jiff::Timestamp::now());
        let ok = execute(&client, &recorder, actions, &mut written, &mut recent_events).await;
        // A failed write (usually a conflict) is retried soon on a fresher view.
        let wait = if ok { RESYNC } else { Duration::from_secs(1) };
        if !next_change(&mut changes, wait).await {
            tracing::warn!("the persistent volume binder's watches ended");
            return;
        }
    }
}

/// Carries out a pass's actions in order; stops at the first failed write
/// (later ones build on it). Returns whether all succeeded.
async fn execute(
    client: &Client,
    recorder: &Recorder,
    actions: Vec<Action>,
    written: &mut Written,
    recent_events: &mut HashMap<(String, &'static str, String), Instant>,
) -> bool {
    // Resource versions of objects written earlier in this pass.
    let mut latest: HashMap<String, String> = HashMap::new();
    recent_events.retain(|_, at| at.elapsed() < RESYNC);
    for action in actions {
        let result = match action {
            Action::UpdateVolume(pv) => put_volume(client, pv, false, &mut latest, written).await,
            Action::UpdateVolumeStatus(pv) => put_volume(client, pv, true, &mut latest, written).await,
            Action::UpdateClaim(c) => put_claim(client, c, false, &mut latest, written).await,
            Action::UpdateClaimStatus(c) => put_claim(client, c, true, &mut latest, written).await,
            Action::Event { object, type_, reason, message } => {
                let key = (object.uid.clone().unwrap_or_default(), reason, message.clone());
                if let std::collections::hash_map::Entry::Vacant(e) = recent_events.entry(key) {
                    e.insert(Instant::now());
                    recorder.record(&object, type_, reason, message).await;
                }
                Ok(())
            }
        };
        if let Err(error) = result {
            tracing::debug!(%error, "persistent volume binder write");
            return false;
        }
    }
    true
}

async fn put_claim(
    client: &Client,
    mut claim: PersistentVolumeClaim,
    status: bool,
    latest: &mut HashMap<String, String>,
    written: &mut Written,
) -> Result<(), kube::Error> {
    let key = claim_key(&claim);
    if let Some(v) = latest.get(&format!("pvc/{key}")) {
        claim.metadata.resource_version = Some(v.clone());
    }
    let api = Api::<PersistentVolumeClaim>::namespaced(client.clone(), &claim.namespace().unwrap_or_default());
    let post = PostParams::default();
    let name = claim.name_any();
    let stored = if status { api.replace_status(&name, &post, &claim).await? } else { api.replace(&name, &post, &claim).await? };
    latest.insert(format!("pvc/{key}"), stored.resource_version().unwrap_or_default());
    written.claims.insert(key, stored);
    Ok(())
}

async fn put_volume(
    client: &Client,
    mut volume: PersistentVolume,
    status: bool,
    latest: &mut HashMap<String, String>,
    written: &mut Written,
) -> Result<(), kube::Error> {
    let name = volume.name_any();
    if let Some(v) = latest.get(&format!("pv/{name}")) {
        volume.metadata.resource_version = Some(v.clone());
    }
    let api = Api::<PersistentVolume>::all(client.clone());
    let post = PostParams::default();
    let stored = if status { api.replace_status(&name, &post, &volume).await? } else { api.replace(&name, &post, &volume).await? };
    latest.insert(format!("pv/{name}"), stored.resource_version().unwrap_or_default());
    written.volumes.insert(name, stored);
    Ok(())
}
