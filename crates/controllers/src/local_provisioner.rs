//! The local provisioner (`nubis.io/local`), an external provisioner in
//! Kubernetes' sense: it creates the default StorageClass `local` when
//! absent, makes a hostPath volume in a directory `<root>/<volume>` for
//! each claim the binder hands it once the scheduler has chosen the node,
//! and removes the directory and the volume when a Delete volume is
//! released.
//!
//! Simulated nodes all live on this machine, so the directory is made here
//! whatever the node; the volume's node affinity still pins its pods to
//! the chosen node.

pub mod plan;

use crate::events::{NORMAL, Recorder, WARNING};
use crate::persistent_volume::matching::claim_key;
use crate::persistent_volume::sync::{View, claim_ref};
use crate::persistent_volume::{Stores, next_change, watch};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ObjectReference, PersistentVolume};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Client, ResourceExt};
use plan::Work;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::time::Instant;

/// How long a volume this provisioner created or deleted is not acted on
/// again while the watch catches up.
const SETTLE: Duration = Duration::from_secs(30);

/// Event source as Kubernetes' external-provisioner names itself:
/// `<provisioner>_<host>_<id>`.
fn component() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    let host = if host.is_empty() { "nubis".to_string() } else { host };
    let n = jiff::Timestamp::now().as_nanosecond() as u128 ^ (u128::from(std::process::id()) << 64);
    let hex = format!("{n:032x}");
    format!("{}_{host}_{}-{}-{}-{}-{}", plan::PROVISIONER, &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// Runs the provisioner over `root` until its watches end.
pub async fn run(client: Client, root: PathBuf) {
    ensure_default_class(&client).await;
    let (stores, changes) = watch(&client);
    let mut changes = changes.boxed();
    let recorder = Recorder::new(client.clone(), &component());
    let ready = stores.ready();
    tokio::pin!(ready);
    loop {
        tokio::select! {
            ok = &mut ready => { if !ok { return; } break; }
            c = changes.next() => if c.is_none() { return },
        }
    }
    let mut recent: HashMap<String, Instant> = HashMap::new();
    loop {
        recent.retain(|_, at| at.elapsed() < SETTLE);
        let view = view(&stores);
        for work in plan::plan(&view, &root) {
            act(&client, &recorder, work, &mut recent).await;
        }
        if !next_change(&mut changes, Duration::from_secs(15)).await {
            tracing::warn!("the local provisioner's watches ended");
            return;
        }
    }
}

fn view(stores: &Stores) -> View {
    let mut v = View::default();
    for c in stores.claims.state() {
        v.claims.insert(claim_key(&c), (*c).clone());
    }
    for pv in stores.volumes.state() {
        v.volumes.insert(pv.name_any(), (*pv).clone());
    }
    for c in stores.classes.state() {
        v.classes.insert(c.name_any(), (*c).clone());
    }
    v
}

/// Creates the default class unless a class of that name exists; retried
/// until the API answers.
async fn ensure_default_class(client: &Client) {
    let classes: Api<StorageClass> = Api::all(client.clone());
    let mut delay = Duration::from_millis(200);
    loop {
        match classes.get_opt(plan::DEFAULT_CLASS).await {
            Ok(Some(_)) => return,
            Ok(None) => match classes.create(&PostParams::default(), &plan::default_class()).await {
                Ok(_) => {
                    tracing::info!(class = plan::DEFAULT_CLASS, "created the default storage class");
                    return;
                }
                Err(kube::Error::Api(s)) if s.code == 409 => return,
                Err(error) => tracing::debug!(%error, "creating the default storage class"),
            },
            Err(error) => tracing::debug!(%error, "reading the default storage class"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

async fn act(client: &Client, recorder: &Recorder, work: Work, recent: &mut HashMap<String, Instant>) {
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    match work {
        Work::Provision { claim, volume, dir } => {
            let name = volume.name_any();
            let key = format!("provisioned/{name}");
            if recent.contains_key(&key) {
                return;
            }
            let object = claim_ref(&claim);
            recorder
                .record(
                    &object,
                    NORMAL,
                    "Provisioning",
                    format!("External provisioner is provisioning volume for claim \"{}\"", claim_key(&claim)),
                )
                .await;
            if let Err(error) = create_dir(&dir).await {
                let class = crate::persistent_volume::matching::claim_class(&claim);
                let message = format!("failed to provision volume with StorageClass \"{class}\": creating {}: {error}", dir.display());
                recorder.record(&object, WARNING, "ProvisioningFailed", message).await;
                return;
            }
            match volumes.create(&PostParams::default(), &volume).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(error) => {
                    let class = crate::persistent_volume::matching::claim_class(&claim);
                    let message = format!("failed to provision volume with StorageClass \"{class}\": {error}");
                    recorder.record(&object, WARNING, "ProvisioningFailed", message).await;
                    return;
                }
            }
            recent.insert(key, Instant::now());
            recorder.record(&object, NORMAL, "ProvisioningSucceeded", format!("Successfully provisioned volume {name}")).await;
        }
        Work::Fail { claim, message } => {
            let key = format!("fail/{}", claim_key(&claim));
            if let std::collections::hash_map::Entry::Vacant(e) = recent.entry(key) {
                e.insert(Instant::now());
                recorder.record(&claim_ref(&claim), WARNING, "ProvisioningFailed", message).await;
            }
        }
        Work::Delete { volume, dir } => {
            let key = format!("deleted/{volume}");
            if recent.contains_key(&key) {
                return;
            }
            if let Some(dir) = dir
                && let Err(error) = remove_dir(&dir).await
            {
                let object = ObjectReference {
                    kind: Some("PersistentVolume".into()),
                    api_version: Some("v1".into()),
                    name: Some(volume.clone()),
                    ..ObjectReference::default()
                };
                recorder.record(&object, WARNING, "VolumeFailedDelete", format!("removing {}: {error}", dir.display())).await;
                return;
            }
            match volumes.delete(&volume, &DeleteParams::default()).await {
                Ok(_) => {
                    recent.insert(key, Instant::now());
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(error) => tracing::debug!(%error, %volume, "deleting a released volume"),
            }
        }
    }
}

async fn create_dir(dir: &Path) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await
}

async fn remove_dir(dir: &Path) -> std::io::Result<()> {
    match tokio::fs::remove_dir_all(dir).await {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
