//! The node agent's loop (the kubelet's): registers this machine as a Node
//! and keeps its Lease, watches the pods bound to it, admits each new one
//! when the node has room (`admission`) and gives it a worker (`worker`)
//! that runs it. After a restart it finds its pods'
//! containers and network again; containers and networks of pods that no
//! longer exist are removed once the first list is in.

pub mod admission;
pub mod rejected_pods;
pub mod atomic_writer;
pub mod container_config;
pub mod env;
pub mod etc_files;
pub mod events;
pub mod eviction;
pub mod exec_sync;
pub mod final_status;
pub mod host_ports;
pub mod http_get;
pub mod image_gc;
pub mod images;
pub mod lifecycle;
pub mod node_object;
pub mod ownership;
pub mod pod_failure;
pub mod pod_status;
pub mod probes;
pub mod restart;
pub mod sidecars;
pub mod stop;
pub mod termination_message;
pub mod tokens;
pub mod volumes;
pub mod worker;

use crate::containers::Containers;
use crate::runtime::Runtime;
use controllers::events::Recorder;
use futures::StreamExt;
use image::layers::Layers;
use image::pull::Puller;
use image::{Registries, Store};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::watcher::{self, Event, watcher};
use kube::runtime::WatchStreamExt;
use kube::Client;
use net::{Cidr, PodNetwork};
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;
use worker::Update;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the node agent needs root (it mounts, makes network namespaces and runs runc); run nubis up as root or without --node-agent")]
    NotRoot,
    #[error("the node agent: {0}")]
    Runtime(#[from] crate::runtime::Error),
    #[error("the node agent: {0}")]
    Images(#[from] image::store::Error),
    #[error("the node agent: {0}")]
    Network(#[from] net::pod_network::Error),
    #[error("the node agent: registering node {node:?}: {source}")]
    Register { node: String, source: kube::Error },
    #[error("the node agent: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Node's name (the host name).
    pub node: String,
    pub data_dir: PathBuf,
    /// The OCI runtime binary (`runc`).
    pub runtime: String,
    pub pod_cidr: Cidr,
    pub registries: Registries,
    /// How shims are started: the program and its leading arguments.
    pub shim: Vec<OsString>,
    /// Containers' logs rotate at this size (the kubelet's
    /// `containerLogMaxSize`), keeping this many files
    /// (`containerLogMaxFiles`).
    pub container_log_max_size: u64,
    pub container_log_max_files: u32,
    /// When unused images go (`imageGCHighThresholdPercent` and the like).
    pub image_gc: image::gc::Policy,
    /// The hard eviction thresholds (`--eviction-hard`).
    pub eviction_hard: eviction::signals::Thresholds,
    /// The most one image layer may unpack to (decompression bombs).
    pub max_layer_size: u64,
    /// The most pods the node runs (the kubelet's `--max-pods`).
    pub max_pods: u64,
}

/// What every pod worker shares.
pub struct Ctx {
    pub client: Client,
    pub node: String,
    pub host_ip: String,
    /// The machine's memory in bytes.
    pub memory_capacity: u64,
    pub containers: Containers,
    pub network: Arc<PodNetwork>,
    pub puller: Puller,
    pub layers: Layers,
    pub logs: PathBuf,
    pub pods_dir: PathBuf,
    /// The kubelet's Events, written in the background.
    pub events: events::Sink,
    /// Service account tokens of projected volumes, while fresh.
    pub tokens: tokens::Tokens,
    /// Turns for new pods' first passes (`first_start_turns`).
    pub first_starts: tokio::sync::Semaphore,
}

/// Runs the agent until its pod watch ends.
pub async fn run(client: Client, options: Options) -> Result<(), Error> {
    if !rustix::process::geteuid().is_root() {
        return Err(Error::NotRoot);
    }
    raise_open_files_limit();
    let runtime = Runtime::new(&options.runtime, options.data_dir.join("runtime"));
    runtime.check()?;
    let runtime_version = runtime_version(&options.runtime);
    let store = Store::open(options.data_dir.join("images"))?;
    let network = {
        let (cidr, state, netns) = (options.pod_cidr, options.data_dir.join("network"), options.data_dir.join("netns"));
        tokio::task::spawn_blocking(move || PodNetwork::open(cidr, "nubis0", &state, &netns)).await??
    };
    let machine = node_object::Machine::measure(&options.data_dir, options.max_pods);
    let object = node_object::node_object(&options.node, &machine, &runtime_version, &options.pod_cidr.to_string());
    node_object::register(&client, &object).await.map_err(|source| Error::Register { node: options.node.clone(), source })?;
    tokio::spawn(node_object::renew_lease(client.clone(), options.node.clone()));
    let (pressure_tx, pressure) = tokio::sync::watch::channel(eviction::signals::Pressure::default());
    tokio::spawn(node_object::keep_status(client.clone(), options.node.clone(), pressure.clone()));
    tracing::info!(node = %options.node, runtime = %runtime_version, pod_cidr = %options.pod_cidr, "node agent registered this machine");

    let ctx = Arc::new(Ctx {
        client: client.clone(),
        node: options.node.clone(),
        host_ip: machine.host_ip.clone(),
        memory_capacity: machine.memory_ki.saturating_mul(1024),
        containers: Containers::new(options.data_dir.join("containers"), runtime, options.shim.clone())
            .with_log_rotation(options.container_log_max_size, options.container_log_max_files),
        network: Arc::new(network),
        puller: Puller::new(store.clone(), options.registries.clone()),
        layers: Layers::new(&store).with_max_unpacked(options.max_layer_size),
        logs: options.data_dir.join("logs"),
        pods_dir: options.data_dir.join("pods"),
        events: events::Sink::spawn(Recorder::new(client.clone(), "kubelet")),
        tokens: tokens::Tokens::default(),
        first_starts: tokio::sync::Semaphore::new(first_start_turns(machine.cpus)),
    });
    let in_use = Arc::new(image_gc::InUse::default());
    image_gc::spawn(store.clone(), options.image_gc.clone(), in_use.clone());
    let workers: Workers = Arc::default();
    let manager = eviction::Manager {
        ctx: ctx.clone(),
        data_dir: options.data_dir.clone(),
        containers_dir: options.data_dir.join("containers"),
        thresholds: options.eviction_hard,
        workers: workers.clone(),
        pressure: pressure_tx,
        images: store.clone(),
        image_gc: options.image_gc.clone(),
        in_use: in_use.clone(),
    };
    tokio::spawn(manager.run());
    let pods: Api<Pod> = Api::all(client);
    let config = watcher::Config::default().fields(&format!("spec.nodeName={}", options.node));
    let mut events = watcher(pods, config).default_backoff().boxed();
    let allocatable = machine.allocatable();
    // Pods refused at admission: they never get a worker.
    let mut rejected: HashSet<String> = HashSet::new();
    let mut relist: Option<HashSet<String>> = None;
    let mut cleaned = false;
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(e) => e,
            Err(error) => {
                tracing::warn!(%error, "node agent pod watch");
                continue;
            }
        };
        // The first complete list: what is left of pods gone meanwhile
        // is cleaned once it is in (outside the lock).
        let mut clean: Option<HashSet<String>> = None;
        {
            let mut workers = workers.lock();
            match event {
                Event::Init => relist = Some(HashSet::new()),
                Event::InitApply(mut pod) | Event::Apply(mut pod) => {
                    // Nothing here reads them, and they are a good part of
                    // every pod kept in memory.
                    pod.metadata.managed_fields = None;
                    let uid = pod.metadata.uid.clone().unwrap_or_default();
                    in_use.set(&pod);
                    if let Some(seen) = relist.as_mut() {
                        seen.insert(uid.clone());
                    }
                    let pod = Arc::new(pod);
                    if let Some(admitted) = workers.get_mut(&uid) {
                        admitted.pod = pod.clone();
                        let _ = admitted.tx.send(Update::Pod(pod));
                    } else if rejected.contains(&uid) {
                        if pod.metadata.deletion_timestamp.is_some() {
                            tokio::spawn(rejected_pods::finish(ctx.clone(), pod));
                        }
                    } else if let Err(rejection) = admit(&pod, &workers, &allocatable, &pressure.borrow()) {
                        tracing::info!(pod = %pod.metadata.name.as_deref().unwrap_or_default(), reason = %rejection.reason, "pod refused at admission");
                        rejected.insert(uid);
                        tokio::spawn(rejected_pods::reject(ctx.clone(), pod, rejection));
                    } else {
                        let (tx, rx) = mpsc::unbounded_channel();
                        tokio::spawn(worker::Worker::run(ctx.clone(), uid.clone(), rx));
                        let _ = tx.send(Update::Pod(pod.clone()));
                        workers.insert(uid, Admitted { tx, pod });
                    }
                }
                Event::Delete(pod) => {
                    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
                    in_use.forget(uid);
                    rejected.remove(uid);
                    if let Some(admitted) = workers.remove(uid) {
                        let _ = admitted.tx.send(Update::Gone);
                    }
                }
                Event::InitDone => {
                    let seen = relist.take().unwrap_or_default();
                    in_use.retain(&seen);
                    rejected.retain(|uid| seen.contains(uid));
                    workers.retain(|uid, admitted| {
                        let keep = seen.contains(uid);
                        if !keep {
                            let _ = admitted.tx.send(Update::Gone);
                        }
                        keep
                    });
                    if !cleaned {
                        cleaned = true;
                        clean = Some(seen);
                    }
                }
            }
            workers.retain(|_, admitted| !admitted.tx.is_closed());
        }
        if let Some(known) = clean {
            clean_orphans(&ctx, &known).await;
        }
    }
    Ok(())
}

/// A pod this node took on: its worker's channel and its newest version.
pub struct Admitted {
    pub tx: mpsc::UnboundedSender<Update>,
    pub pod: Arc<Pod>,
}

/// The pods this node took on, by uid: the agent's loop keeps them, the
/// eviction manager reads them.
pub type Workers = Arc<parking_lot::Mutex<HashMap<String, Admitted>>>;

/// Admits a pod new to this agent beside the active pods it runs (and
/// not while the node is under pressure); a pod it took on before (a
/// restart of the agent) or one being deleted is not checked again.
fn admit(pod: &Pod, workers: &HashMap<String, Admitted>, node: &admission::Allocatable, pressure: &eviction::signals::Pressure) -> Result<(), admission::Rejection> {
    if admission::was_admitted(pod) || pod.metadata.deletion_timestamp.is_some() {
        return Ok(());
    }
    admission::admit_under_pressure(pod, pressure)?;
    let running = workers.values().map(|a| a.pod.as_ref()).filter(|p| !admission::is_terminal(p));
    admission::admit(pod, running, node)
}

/// Containers and networks of pods that are not bound here any more
/// (deleted while the agent was down) go.
async fn clean_orphans(ctx: &Ctx, known: &HashSet<String>) {
    for id in ctx.containers.list() {
        // Container ids start with their pod's uid (36 characters).
        let uid = id.get(..36).map(str::to_string);
        if uid.is_none_or(|uid| !known.contains(&uid)) {
            tracing::info!(container = %id, "removing the container of a pod that is gone");
            let _ = ctx.containers.remove(&id).await;
        }
    }
    for pod in ctx.network.pods() {
        if !known.contains(&pod) {
            let network = ctx.network.clone();
            let _ = tokio::task::spawn_blocking(move || network.teardown(&pod)).await;
        }
    }
    // Log directories are `<namespace>_<name>_<uid>`.
    for entry in std::fs::read_dir(&ctx.logs).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.rsplit('_').next().is_none_or(|uid| !known.contains(uid)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// How many new pods' first passes run at once: one per CPU and one
/// more for the time each spends waiting (on the API, the runtime). Pods
/// created together then start in turn instead of all sharing the CPUs
/// until the last is done: in batches of 10 on 2 CPUs the median start
/// went from 211–241 ms to 168–176 ms (2 turns: 205–224 ms, 4: 189–210 ms).
fn first_start_turns(cpus: usize) -> usize {
    cpus + 1
}

/// Raises the soft limit of open files to the hard one (as Go programs,
/// the kubelet among them, do at start): the agent holds a pidfd or two
/// per running container, and the usual soft limit of 1024 would end a
/// node of a few hundred pods.
fn raise_open_files_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = rustix::process::Rlimit { current: limit.maximum, maximum: limit.maximum };
        if let Err(error) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(%error, "raising the open files limit");
        }
    }
}

/// `runc://1.1.5`, as `containerRuntimeVersion` reads.
fn runtime_version(binary: &str) -> String {
    let out = std::process::Command::new(binary).arg("--version").output().ok();
    let version = out
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().and_then(|l| l.split_whitespace().nth(2).map(|v| v.split('+').next().unwrap_or(v).to_string())))
        .unwrap_or_else(|| "unknown".into());
    format!("{binary}://{version}")
}
