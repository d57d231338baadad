//! One pod's worker: brings the pod's containers to what its spec says
//! (network first, then init containers one by one, sidecars started
//! before the next, then the app containers), restarts them as its
//! restart policy says with the kubelet's back-off (sidecars whatever it
//! says), kills those whose liveness or startup probe failed, runs
//! `postStart` hooks, reports its status with what the probes found, stops
//! the sidecars once the app containers of a pod that does not restart
//! them are done, and when the pod is deleted stops its containers
//! gracefully (`stop`: preStop, SIGTERM, the grace period, SIGKILL,
//! sidecars last), takes everything down and lets the pod go.
//! Level-triggered: after a restart of the agent it finds the pod's
//! containers (named `<pod uid>-<container>-<attempt>`) and network again.
//! Between passes it sleeps until something happens: a new version of
//! the pod, the end of one of its containers (its shim's pidfd), a changed
//! probe result, a finished stop, a back-off's end, or the volume refresh.

use super::admission;
use super::container_config;
use super::env;
use super::events;
use super::host_ports;
use super::images::{self, NotReady};
use super::lifecycle;
use super::pod_failure::Failure;
use super::pod_status::{self, Ended, Observed, Seen, State};
use super::probes::{self, Kind};
use super::restart;
use super::sidecars;
use super::stop::{self, Stopping, Target};
use super::termination_message;
use super::volumes;
use super::Ctx;
use crate::containers::{Create, Status};
use crate::spec::ContainerConfig;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::ResourceExt;
use net::Attachment;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio::task::AbortHandle;
use tokio::time::Instant;

/// How soon a pod whose network or volumes failed to set up is tried again.
const RETRY: Duration = Duration::from_secs(1);
/// How soon a failed refresh of the volumes of running containers is.
const REFRESH_RETRY: Duration = Duration::from_secs(10);
/// How often ConfigMap, Secret, downward API and projected volumes are
/// written again (the kubelet's sync period is a minute); also the
/// longest a pod with live containers goes without a pass.
const VOLUME_REFRESH: Duration = Duration::from_secs(30);
/// The longest a `postStart` hook may take. The kubelet gives exec hooks
/// no limit, but the worker waits for the hook (as the kubelet's sync
/// does, so the next container starts after it), and a hook that never
/// ends would hold up the pod for good, its deletion too.
const POST_START_LIMIT: Duration = Duration::from_secs(120);

/// How long the end of a killed container is waited for, to report it.
const KILLED_EXIT_WAIT: Duration = Duration::from_secs(10);

/// What the worker keeps of one container between passes.
#[derive(Debug, Default, Clone)]
struct Track {
    attempt: u32,
    image_id: String,
    waiting: Option<(String, Option<String>)>,
    last: Option<Ended>,
    retry_at: Option<Instant>,
    /// Pull failures in a row (ImagePullBackOff after the first).
    pull_failures: u32,
}

pub struct Worker {
    ctx: Arc<Ctx>,
    uid: String,
    sandbox: Option<Attachment>,
    start_time: Timestamp,
    tracks: HashMap<String, Track>,
    reported: Option<serde_json::Value>,
    volumes: Option<volumes::Prepared>,
    /// When the volumes are next written again (`None`: at the next pass).
    volumes_due: Option<Instant>,
    /// Volumes already given to the pod's fsGroup by this worker.
    owned_volumes: HashSet<String>,
    /// The last FailedMount message, recorded once.
    mount_error: Option<String>,
    probes: probes::Manager,
    /// Containers being stopped in the background (a failed liveness or
    /// startup probe or postStart hook; sidecars after the app containers).
    stopping: Stopping,
    /// Told when a probe result changed or a stop finished.
    wake: Arc<Notify>,
    /// Every init container succeeded or (a sidecar) started once: a
    /// sidecar restarting later holds nothing up.
    initialized: bool,
    /// The app containers are done for good (restartPolicy Never or
    /// OnFailure): the sidecars are stopped and not restarted.
    finishing: bool,
    /// Termination messages of ended attempts, read once.
    messages: HashMap<String, Option<String>>,
    /// A task per running container that wakes the worker at its end.
    exits: HashMap<String, AbortHandle>,
    /// The node ended the pod (an eviction, its deadline): nothing of it
    /// runs again.
    failure: Option<Failure>,
    /// The failure is carried out and the final status written.
    failed: bool,
    /// The pod ended for good on its own (Succeeded or Failed): its
    /// network and memory-backed volumes went, as the kubelet stops a
    /// finished pod's sandbox; the address it had, still reported.
    released: Option<String>,
}

/// What the agent tells a pod's worker.
#[derive(Debug)]
pub enum Update {
    /// A newer version of the pod.
    Pod(Arc<Pod>),
    /// The pod is gone from the API.
    Gone,
    /// The node ends the pod (the eviction manager).
    Fail(Failure),
}

impl Drop for Worker {
    fn drop(&mut self) {
        for (_, watch) in self.exits.drain() {
            watch.abort();
        }
    }
}

fn container_id(uid: &str, name: &str, attempt: u32) -> String {
    format!("{uid}-{name}-{attempt}")
}

/// A boxed future that owns what it uses, so an API call in flight
/// borrows nothing of the worker.
fn owned<T>(f: impl Future<Output = T> + Send + 'static) -> Pin<Box<dyn Future<Output = T> + Send>> {
    Box::pin(f)
}

impl Worker {
    /// Records an Event about the pod (or one of its containers).
    fn event(&self, pod: &Pod, container: Option<&str>, type_: &'static str, reason: &'static str, message: String) {
        events::record(&self.ctx, &events::reference(pod, container), type_, reason, message);
    }

    /// Runs the worker of the pod with `uid` on what `updates` brings.
    pub async fn run(ctx: Arc<Ctx>, uid: String, mut updates: mpsc::UnboundedReceiver<Update>) {
        let wake = Arc::new(Notify::new());
        let mut w = Worker {
            ctx,
            uid,
            sandbox: None,
            start_time: Timestamp::now(),
            tracks: HashMap::new(),
            reported: None,
            volumes: None,
            volumes_due: None,
            owned_volumes: HashSet::new(),
            mount_error: None,
            probes: probes::Manager::new(wake.clone()),
            stopping: Stopping::default(),
            wake: wake.clone(),
            initialized: false,
            finishing: false,
            messages: HashMap::new(),
            exits: HashMap::new(),
            failure: None,
            failed: false,
            released: None,
        };
        let mut pod: Option<Arc<Pod>> = None;
        loop {
            let next = match &pod {
                // Boxed: a pass's state (pulls, starts, API calls) is
                // tens of KiB, held only while it runs, not by every
                // idle worker.
                Some(p) => match Box::pin(w.pass(p.clone())).await {
                    Next::Done => return,
                    Next::Until(at) => tokio::select! {
                        update = tokio::time::timeout_at(at, updates.recv()) => update.ok(),
                        _ = wake.notified() => None,
                    },
                    Next::Idle => tokio::select! {
                        update = updates.recv() => Some(update),
                        _ = wake.notified() => None,
                    },
                },
                None => Some(updates.recv().await),
            };
            // `None`: the poll interval passed, or something woke the
            // worker. Only the newest of several queued versions matters.
            let mut pending = next;
            loop {
                let update = match pending.take() {
                    Some(update) => update,
                    None => match updates.try_recv() {
                        Ok(update) => Some(update),
                        Err(_) => break,
                    },
                };
                match update {
                    Some(Update::Pod(p)) => pod = Some(p),
                    Some(Update::Fail(failure)) => {
                        w.failure.get_or_insert(failure);
                    }
                    Some(Update::Gone) => {
                        Box::pin(w.teardown()).await;
                        return;
                    }
                    // The agent is stopping (its channel closed): the
                    // pod's containers outlive it and are found again at
                    // its start.
                    None => return,
                }
            }
        }
    }

    async fn pass(&mut self, pod: Arc<Pod>) -> Next {
        if pod.metadata.deletion_timestamp.is_some() {
            self.terminate(pod.clone()).await;
            return Next::Done;
        }
        let Some(spec) = pod.spec.clone() else { return Next::Idle };
        // A final phase is final: a pod refused at admission, or one
        // whose containers were done before a restart of the agent, runs
        // nothing again; what still runs of it (a stop the restart cut
        // short) is stopped.
        if self.tracks.is_empty() && admission::is_terminal(&pod) {
            let targets = self.stop_everything(&pod).await;
            if targets.is_empty() && self.released.is_none() {
                self.release().await;
            }
            self.stop_in_background(&pod, pod_grace(&pod), targets);
            return Next::Idle;
        }
        let policy = spec.restart_policy.clone().unwrap_or_else(|| "Always".into());
        if let Some(start) = pod.status.as_ref().and_then(|s| s.start_time.as_ref()) {
            self.start_time = start.0;
        }
        if self.failure.is_none() && self.deadline(&pod).is_some_and(|at| Timestamp::now() >= at) {
            self.failure = Some(Failure::deadline_exceeded());
        }
        if let Some(failure) = self.failure.clone() {
            if !self.failed {
                self.fail(pod, failure).await;
            }
            return Next::Idle;
        }
        if self.released.is_some() {
            return Next::Idle;
        }
        // A new pod's first pass (its network, volumes and first
        // containers) waits for its turn among a few (`Ctx::first_starts`).
        let ctx = self.ctx.clone();
        let turn = if self.sandbox.is_none() && self.tracks.is_empty() && self.takes_turns(&spec).await { ctx.first_starts.acquire().await.ok() } else { None };
        if self.sandbox.is_none() {
            let (network, id) = (self.ctx.network.clone(), self.uid.clone());
            // The pod's address, then its host ports (a port another pod
            // holds fails the sandbox, which is tried again).
            let ports_of = {
                let pod = pod.clone();
                move |a: &net::Attachment| host_ports::of(&pod, a.ip)
            };
            let setup = move || -> Result<net::Attachment, net::pod_network::Error> {
                let a = network.setup(&id)?;
                network.set_host_ports(&id, ports_of(&a))?;
                Ok(a)
            };
            match tokio::task::spawn_blocking(setup).await {
                Ok(Ok(a)) => self.sandbox = Some(a),
                Ok(Err(e)) => {
                    self.event(&pod, None, "Warning", "FailedCreatePodSandBox", format!("Failed to create pod sandbox: {e}"));
                    return Next::Until(Instant::now() + RETRY);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "pod network setup panicked");
                    return Next::Until(Instant::now() + RETRY);
                }
            }
        }

        // Volumes, set up before any container and refreshed every 30 s
        // (ConfigMaps and Secrets change in place).
        if self.volumes_due.is_none_or(|at| Instant::now() >= at) {
            let ip = self.sandbox.as_ref().map(|a| a.ip.to_string()).unwrap_or_default();
            match volumes::prepare(&self.ctx, &pod, &self.uid, &ip, &mut self.owned_volumes).await {
                Ok(prepared) => {
                    self.volumes = Some(prepared);
                    self.volumes_due = Some(Instant::now() + VOLUME_REFRESH);
                    self.mount_error = None;
                }
                Err(message) => {
                    // Running containers keep the volumes they have: a
                    // failed refresh is tried again less eagerly.
                    self.volumes_due = Some(Instant::now() + if self.volumes.is_none() { RETRY } else { REFRESH_RETRY });
                    if self.mount_error.as_deref() != Some(message.as_str()) {
                        self.event(&pod, None, "Warning", "FailedMount", message.clone());
                        self.mount_error = Some(message);
                    }
                    if self.volumes.is_none() {
                        let waiting: Vec<Seen> = spec.containers.iter().map(|c| waiting_seen(c, "ContainerCreating")).collect();
                        let status = {
                            let observed = Observed { init: &[], app: &waiting, init_done: false, sandbox_ready: true, pod_ip: Some(ip), host_ip: self.ctx.host_ip.clone(), start_time: self.start_time };
                            pod_status::status(&pod, &observed, Timestamp::now())
                        };
                        self.report(pod.namespace().unwrap_or_default(), pod.name_any(), status).await;
                        return Next::Until(Instant::now() + RETRY);
                    }
                }
            }
        }

        // Init containers in order, each to a successful end, or (a
        // sidecar) started before the next one runs.
        if !self.initialized {
            self.initialized = self.app_containers_exist(&spec.containers);
            // After a restart of the agent, the stopped sidecars of a pod
            // whose app containers are done stay stopped.
            self.finishing = self.initialized && self.app_done_on_disk(&spec.containers, &policy);
        }
        let mut init_seen = Vec::new();
        let mut blocked = false;
        let mut init_failed = false;
        for c in spec.init_containers.clone().unwrap_or_default() {
            if blocked {
                init_seen.push(waiting_seen(&c, "PodInitializing"));
                continue;
            }
            let seen = if sidecars::is_sidecar(&c) {
                // Restarted whatever the pod's policy, until the app
                // containers are done for good.
                let sidecar_policy = if self.finishing { "Never" } else { "Always" };
                let mut seen = self.container(pod.clone(), c.clone(), sidecar_policy.into(), false).await;
                self.observe(&pod, &c, &mut seen, true);
                seen
            } else {
                let mut seen = self.container(pod.clone(), c.clone(), policy.clone(), true).await;
                seen.ready = matches!(&seen.state, State::Terminated(e) if e.exit_code == 0);
                seen.started = matches!(seen.state, State::Running { .. });
                if let State::Terminated(e) = &seen.state
                    && e.exit_code != 0
                    && !restart::should_restart(&policy, e.exit_code)
                {
                    init_failed = true;
                }
                seen
            };
            // Once initialized, a restarting sidecar holds nothing up.
            blocked = sidecars::holds_up(&c, &seen) && !self.initialized;
            init_seen.push(seen);
        }
        self.initialized |= !blocked;
        let init_done = self.initialized;
        let mut app_seen = Vec::new();
        for c in spec.containers.clone() {
            if !init_done {
                app_seen.push(waiting_seen(&c, "PodInitializing"));
                continue;
            }
            let mut seen = self.container(pod.clone(), c.clone(), policy.clone(), false).await;
            self.observe(&pod, &c, &mut seen, false);
            app_seen.push(seen);
        }
        // Probes run for running attempts only.
        let running: HashSet<String> =
            init_seen.iter().chain(&app_seen).filter(|s| matches!(s.state, State::Running { .. })).filter_map(|s| s.container_id.strip_prefix("runc://")).map(str::to_string).collect();
        self.probes.keep_only(&running);
        self.watch_exits(&running);
        // The pod is done (or failed to initialize): its sidecars stop.
        if !self.finishing && (init_failed || sidecars::app_done(&policy, &app_seen)) {
            self.finishing = true;
            self.stop_sidecars(&pod, &init_seen);
        }
        let status_now = |w: &Worker| {
            let observed = Observed {
                init: &init_seen,
                app: &app_seen,
                init_done,
                sandbox_ready: w.sandbox.is_some(),
                pod_ip: w.sandbox.as_ref().map(|a| a.ip.to_string()).or_else(|| w.released.clone()),
                host_ip: w.ctx.host_ip.clone(),
                start_time: w.start_time,
            };
            let mut status = pod_status::status(&pod, &observed, Timestamp::now());
            if init_failed {
                status["phase"] = serde_json::json!("Failed");
            }
            status
        };
        let mut status = status_now(self);
        let terminal = matches!(status["phase"].as_str(), Some("Succeeded" | "Failed"));
        // The containers are started: the next pod's turn comes.
        drop(turn);
        if terminal {
            self.release().await;
            status = status_now(self);
        }
        self.report(pod.namespace().unwrap_or_default(), pod.name_any(), status).await;
        if terminal { Next::Idle } else { Next::Until(self.next_pass(&pod)) }
    }

    /// Whether the pod's first pass waits for its turn: not when it pulls
    /// an image first or has a `postStart` hook (either may take long).
    async fn takes_turns(&self, spec: &k8s_openapi::api::core::v1::PodSpec) -> bool {
        for c in spec.init_containers.iter().flatten().chain(&spec.containers) {
            if c.lifecycle.as_ref().is_some_and(|l| l.post_start.is_some()) || images::will_pull(&self.ctx.puller, c.image.as_deref().unwrap_or_default(), c.image_pull_policy.as_deref()).await {
                return false;
            }
        }
        true
    }

    /// When the pod's `activeDeadlineSeconds` (counted from its start
    /// time, as the kubelet counts it) runs out.
    fn deadline(&self, pod: &Pod) -> Option<Timestamp> {
        let seconds = pod.spec.as_ref()?.active_deadline_seconds?;
        self.start_time.checked_add(jiff::SignedDuration::from_secs(seconds)).ok()
    }

    /// When the pod must be looked at without being woken: the end of
    /// the nearest back-off, the volume refresh, or the pod's deadline.
    fn next_pass(&self, pod: &Pod) -> Instant {
        let now = Instant::now();
        let mut refresh = self.volumes_due.unwrap_or(now + RETRY);
        if let Some(at) = self.deadline(pod) {
            let left = Duration::try_from(at.duration_since(Timestamp::now())).unwrap_or_default();
            refresh = refresh.min(now + left);
        }
        self.tracks.values().filter_map(|t| t.retry_at).filter(|at| *at > now).fold(refresh, Instant::min).max(now + Duration::from_millis(10))
    }

    /// Keeps one task per running container that wakes the worker when
    /// the container ends. A watch that has fired stays until its
    /// container is no longer running, so it never fires twice.
    fn watch_exits(&mut self, running: &HashSet<String>) {
        self.exits.retain(|id, watch| {
            let keep = running.contains(id);
            if !keep {
                watch.abort();
            }
            keep
        });
        for id in running {
            if self.exits.contains_key(id) {
                continue;
            }
            let (ctx, wake, owned) = (self.ctx.clone(), self.wake.clone(), id.clone());
            let watch = tokio::spawn(async move {
                ctx.containers.ended(&owned).await;
                wake.notify_one();
            });
            self.exits.insert(id.clone(), watch.abort_handle());
        }
    }

    /// Writes the status when it changed.
    async fn report(&mut self, namespace: String, name: String, status: serde_json::Value) {
        if self.reported.as_ref() == Some(&status) {
            return;
        }
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &namespace);
        let patch = Patch::Merge(serde_json::json!({"status": status}));
        let pod_name = name.clone();
        let written = owned(async move { api.patch_status(&pod_name, &PatchParams::default(), &patch).await }).await;
        match written {
            Ok(_) => self.reported = Some(status),
            Err(error) => tracing::warn!(%error, pod = %name, "writing the pod status"),
        }
    }

    /// One container brought along: created when missing, restarted when
    /// it ended and the policy says so (after the back-off); what it is.
    async fn container(&mut self, pod: Arc<Pod>, c: Container, policy: String, init: bool) -> Seen {
        let uid = self.uid.clone();
        if !self.tracks.contains_key(&c.name) {
            let track = self.recover(&pod, &c).await;
            self.tracks.insert(c.name.clone(), track);
        }
        let attempt = self.tracks.get(&c.name).map(|t| t.attempt).unwrap_or(0);
        let id = container_id(&uid, &c.name, attempt);
        let status = if self.ctx.containers.dir(&id).exists() { self.ctx.containers.status(&id).await.ok() } else { None };
        match status {
            Some(Status::Running { .. }) | Some(Status::Created { .. }) => self.seen(&c, &id, attempt),
            Some(Status::Exited(exit)) => {
                let ended = self.ended(&pod, &c, attempt, exit).await;
                let restarts = !init || ended.exit_code != 0;
                if restarts && restart::should_restart(&policy, ended.exit_code) {
                    let (wait, due, first_backoff) = {
                        let track = self.tracks.entry(c.name.clone()).or_default();
                        let wait = restart::backoff(track.attempt);
                        let due = *track.retry_at.get_or_insert_with(|| Instant::now() + wait);
                        let first = track.waiting.as_ref().is_none_or(|(r, _)| r != "CrashLoopBackOff");
                        if Instant::now() < due && !wait.is_zero() {
                            let message = format!("back-off {}s restarting failed container={} pod={}_{}({})", wait.as_secs(), c.name, pod.name_any(), pod.namespace().unwrap_or_default(), uid);
                            track.waiting = Some(("CrashLoopBackOff".to_string(), Some(message)));
                        }
                        (wait, due, first)
                    };
                    if Instant::now() < due {
                        if !wait.is_zero() && first_backoff {
                            self.event(&pod, Some(&c.name), "Warning", "BackOff", format!("Back-off restarting failed container {} in pod {}_{}({})", c.name, pod.name_any(), pod.namespace().unwrap_or_default(), uid));
                        }
                        let mut seen = self.seen(&c, &id, attempt);
                        seen.last = Some(ended);
                        seen.state = match &self.tracks[&c.name].waiting {
                            Some((reason, message)) => State::Waiting { reason: reason.clone(), message: message.clone() },
                            None => State::Waiting { reason: "ContainerCreating".into(), message: None },
                        };
                        return seen;
                    }
                    // Start the next attempt; the one before the ended one goes.
                    if attempt > 0 {
                        let previous = container_id(&uid, &c.name, attempt - 1);
                        let _ = self.ctx.containers.remove(&previous).await;
                        self.messages.remove(&previous);
                    }
                    let track = self.tracks.entry(c.name.clone()).or_default();
                    track.attempt += 1;
                    track.retry_at = None;
                    track.last = Some(ended);
                    return self.start(pod, c).await;
                }
                let mut seen = self.seen(&c, &id, attempt);
                seen.state = State::Terminated(ended);
                seen
            }
            Some(Status::Lost) => {
                // Its shim died without a record: start it again.
                let _ = self.ctx.containers.remove(&id).await;
                self.start(pod, c).await
            }
            None => {
                let track = self.tracks.entry(c.name.clone()).or_default();
                if track.retry_at.is_some_and(|t| Instant::now() < t) {
                    let mut seen = self.seen(&c, &id, attempt);
                    if let Some((reason, message)) = &self.tracks[&c.name].waiting {
                        seen.state = State::Waiting { reason: reason.clone(), message: message.clone() };
                    }
                    return seen;
                }
                self.start(pod, c).await
            }
        }
    }

    /// The container's last attempt found among this node's containers
    /// (after a restart of the agent), with how the one before ended.
    async fn recover(&mut self, pod: &Pod, c: &Container) -> Track {
        let prefix = format!("{}-{}-", self.uid, c.name);
        let attempt = self.ctx.containers.list().iter().filter_map(|id| id.strip_prefix(&prefix)).filter_map(|a| a.parse::<u32>().ok()).max().unwrap_or(0);
        let mut last = None;
        if let Some(prev) = attempt.checked_sub(1)
            && let Some(exit) = crate::shim::read_exit(&self.ctx.containers.dir(&container_id(&self.uid, &c.name, prev)).join("exit.json"))
        {
            last = Some(self.ended(pod, c, prev, exit).await);
        }
        Track { attempt, last, ..Track::default() }
    }

    /// Whether an app container was ever created: the pod initialized
    /// before a restart of the agent.
    fn app_containers_exist(&self, containers: &[Container]) -> bool {
        let ids = self.ctx.containers.list();
        containers.iter().any(|c| {
            let prefix = format!("{}-{}-", self.uid, c.name);
            ids.iter().any(|id| id.strip_prefix(&prefix).is_some_and(|a| a.parse::<u32>().is_ok()))
        })
    }

    /// Whether every app container's last attempt ended and will not
    /// run again, as the containers' records say.
    fn app_done_on_disk(&self, containers: &[Container], policy: &str) -> bool {
        let ids = self.ctx.containers.list();
        policy != "Always"
            && containers.iter().all(|c| {
                let prefix = format!("{}-{}-", self.uid, c.name);
                let last = ids.iter().filter_map(|id| id.strip_prefix(&prefix)).filter_map(|a| a.parse::<u32>().ok()).max();
                last.and_then(|a| crate::shim::read_exit(&self.ctx.containers.dir(&container_id(&self.uid, &c.name, a)).join("exit.json")))
                    .is_some_and(|exit| !restart::should_restart(policy, exit.exit_code))
            })
    }

    /// How attempt `attempt` of `c` ended, with its termination message.
    async fn ended(&mut self, pod: &Pod, c: &Container, attempt: u32, exit: crate::shim::Exit) -> Ended {
        let id = container_id(&self.uid, &c.name, attempt);
        let mut ended = Ended::from_exit(exit, format!("runc://{id}"));
        if !self.messages.contains_key(&id) {
            let message = termination_message::read(&self.pod_dir(), c, attempt, ended.exit_code, &self.log_path(pod, &c.name, attempt)).await;
            self.messages.insert(id.clone(), message);
        }
        ended.message = self.messages.get(&id).cloned().flatten();
        ended
    }

    fn pod_dir(&self) -> PathBuf {
        self.ctx.pods_dir.join(&self.uid)
    }

    fn pod_ip(&self) -> String {
        self.sandbox.as_ref().map(|a| a.ip.to_string()).unwrap_or_default()
    }

    /// The pod's logs, where the kubelet keeps them.
    fn pod_logs(&self, pod: &Pod) -> PathBuf {
        self.ctx.logs.join(format!("{}_{}_{}", pod.namespace().unwrap_or_default(), pod.name_any(), self.uid))
    }

    /// The CRI log of an attempt.
    fn log_path(&self, pod: &Pod, name: &str, attempt: u32) -> PathBuf {
        self.pod_logs(pod).join(name).join(format!("{attempt}.log"))
    }

    /// `started` and `ready` of a sidecar or app container from its
    /// probes (started for a new attempt here), and the kill of an
    /// attempt whose liveness or startup probe failed.
    fn observe(&mut self, pod: &Arc<Pod>, c: &Container, seen: &mut Seen, sidecar: bool) {
        let (State::Running { started_at }, Some(id)) = (&seen.state, seen.container_id.strip_prefix("runc://")) else {
            seen.started = false;
            seen.ready = false;
            return;
        };
        let id = id.to_string();
        let running_for = started_at.parse::<Timestamp>().ok().and_then(|t| Duration::try_from(Timestamp::now().duration_since(t)).ok()).unwrap_or_default();
        self.probes.watch(&self.ctx, pod, c, &id, running_for, &self.pod_ip());
        let stopping = self.stopping.contains(&id);
        seen.started = !stopping && self.probes.started(&id);
        seen.ready = seen.started && self.probes.ready(&id);
        if !stopping && let Some(kind) = self.probes.take_failure(&id) {
            self.kill_unhealthy(pod, c, &id, kind, sidecar);
        }
    }

    /// Stops an attempt whose liveness or startup probe failed; the
    /// restart policy then decides whether it runs again.
    fn kill_unhealthy(&mut self, pod: &Arc<Pod>, c: &Container, id: &str, kind: Kind, sidecar: bool) {
        let probe = if kind == Kind::Startup { c.startup_probe.as_ref() } else { c.liveness_probe.as_ref() };
        let what = kind.name().to_lowercase();
        let message = if sidecar {
            format!("Init container {} failed {what} probe", c.name)
        } else if pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()) == Some("Never") {
            format!("Container {} failed {what} probe", c.name)
        } else {
            format!("Container {} failed {what} probe, will be restarted", c.name)
        };
        let grace = probe.and_then(|p| p.termination_grace_period_seconds).unwrap_or_else(|| pod_grace(pod));
        let target = Target { id: id.to_string(), container: c.clone(), after: Vec::new(), message, pre_stop: true };
        self.stop_in_background(pod, grace, vec![target]);
    }

    /// The app containers of a pod that does not restart them are done:
    /// its running sidecars stop, the last one first.
    fn stop_sidecars(&mut self, pod: &Arc<Pod>, init: &[Seen]) {
        let specs: HashMap<&str, &Container> = pod.spec.iter().flat_map(|s| s.init_containers.iter().flatten()).filter(|c| sidecars::is_sidecar(c)).map(|c| (c.name.as_str(), c)).collect();
        let running: Vec<(String, String)> = init
            .iter()
            .filter(|s| specs.contains_key(s.name.as_str()) && matches!(s.state, State::Running { .. }))
            .filter_map(|s| s.container_id.strip_prefix("runc://").map(|id| (s.name.clone(), id.to_string())))
            .collect();
        let targets = sidecars::stop_order(pod, &running)
            .into_iter()
            .filter_map(|(name, id, after)| {
                let container = (*specs.get(name.as_str())?).clone();
                Some(Target { id, container, after, message: format!("Stopping container {name}"), pre_stop: true })
            })
            .collect();
        self.stop_in_background(pod, pod_grace(pod), targets);
    }

    fn stop_in_background(&self, pod: &Arc<Pod>, grace_seconds: i64, targets: Vec<Target>) {
        let grace = Duration::from_secs(u64::try_from(grace_seconds).unwrap_or(0));
        stop::spawn(self.ctx.clone(), pod.clone(), self.pod_ip(), grace, targets, self.stopping.clone(), self.wake.clone());
    }

    fn seen(&self, c: &Container, id: &str, attempt: u32) -> Seen {
        let track = self.tracks.get(&c.name).cloned().unwrap_or_default();
        let exists = self.ctx.containers.dir(id).exists();
        let started_at = crate::shim::read_exit(&self.ctx.containers.dir(id).join("exit.json")).map(|e| e.started_at);
        Seen {
            name: c.name.clone(),
            image: c.image.clone().unwrap_or_default(),
            image_id: track.image_id.clone(),
            container_id: if exists { format!("runc://{id}") } else { String::new() },
            restart_count: attempt,
            state: if exists {
                State::Running { started_at: started_at.unwrap_or_else(|| self.started_at(id)) }
            } else {
                State::Waiting { reason: "ContainerCreating".into(), message: None }
            },
            last: track.last.clone(),
            started: false,
            ready: false,
        }
    }

    /// When the container's process started (its directory's bundle was
    /// written just before).
    fn started_at(&self, id: &str) -> String {
        std::fs::metadata(self.ctx.containers.dir(id).join("bundle/config.json"))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| Timestamp::try_from(t).ok())
            .unwrap_or_else(Timestamp::now)
            .to_string()
    }

    /// Pulls the image and starts the container's current attempt.
    async fn start(&mut self, pod: Arc<Pod>, c: Container) -> Seen {
        let attempt = self.tracks.get(&c.name).map(|t| t.attempt).unwrap_or(0);
        let id = container_id(&self.uid, &c.name, attempt);
        let image_ref = c.image.clone().unwrap_or_default();
        let secrets: Vec<String> = pod.spec.as_ref().and_then(|s| s.image_pull_secrets.as_ref()).into_iter().flatten().map(|s| s.name.clone()).collect();
        let creds = images::credentials(&self.ctx.client, &pod.namespace().unwrap_or_default(), &secrets).await;
        let started_pull = Instant::now();
        let needs_pull = images::will_pull(&self.ctx.puller, &image_ref, c.image_pull_policy.as_deref()).await;
        if needs_pull {
            self.event(&pod, Some(&c.name), "Normal", "Pulling", format!("Pulling image \"{image_ref}\""));
        }
        let ready = match images::ensure(&self.ctx.puller, &self.ctx.layers, &image_ref, c.image_pull_policy.as_deref(), &creds).await {
            Ok(ready) => ready,
            Err(NotReady { reason, message }) => {
                let track = self.tracks.entry(c.name.clone()).or_default();
                track.pull_failures += 1;
                let backoff = restart::backoff(track.pull_failures);
                track.retry_at = Some(Instant::now() + backoff.max(Duration::from_secs(1)));
                let shown = if track.pull_failures > 1 && reason == "ErrImagePull" { "ImagePullBackOff" } else { reason };
                track.waiting = Some((shown.to_string(), Some(if shown == "ImagePullBackOff" { format!("Back-off pulling image \"{image_ref}\": {message}") } else { message.clone() })));
                self.event(&pod, Some(&c.name), "Warning", "Failed", format!("Failed to pull image \"{image_ref}\": {message}"));
                self.event(&pod, Some(&c.name), "Warning", "Failed", format!("Error: {reason}"));
                let mut seen = self.seen(&c, &id, attempt);
                seen.state = State::Waiting { reason: shown.to_string(), message: track_message(&self.tracks[&c.name]) };
                return seen;
            }
        };
        if let Some(p) = &ready.pulled {
            let took = started_pull.elapsed().as_secs_f64();
            self.event(&pod, Some(&c.name), "Normal", "Pulled", format!("Successfully pulled image \"{image_ref}\" in {took:.3}s. Image size: {} bytes.", p.size));
        } else if !needs_pull {
            self.event(&pod, Some(&c.name), "Normal", "Pulled", format!("Container image \"{image_ref}\" already present on machine"));
        }
        let track = self.tracks.entry(c.name.clone()).or_default();
        track.image_id = ready.image_id.clone();
        track.pull_failures = 0;
        let config = match self.config(&pod, &c, &ready).await {
            Ok(config) => config,
            Err(message) => return self.failed_start(pod, c, &id, attempt, "CreateContainerConfigError", message).await,
        };
        let mut config = config;
        match termination_message::prepare(&self.pod_dir(), &c, attempt) {
            Ok(mount) => config.mounts.extend(mount),
            Err(message) => return self.failed_start(pod, c, &id, attempt, "CreateContainerConfigError", message).await,
        }
        let log = self.log_path(&pod, &c.name, attempt);
        let create = Create { id: id.clone(), config, layers: ready.layers.clone(), log };
        match self.ctx.containers.start(create).await {
            Ok(_) => {
                self.event(&pod, Some(&c.name), "Normal", "Created", format!("Created container: {}", c.name));
                self.event(&pod, Some(&c.name), "Normal", "Started", format!("Started container {}", c.name));
                let track = self.tracks.entry(c.name.clone()).or_default();
                track.waiting = None;
                track.retry_at = None;
                self.post_start(&pod, &c, &id).await;
                self.seen(&c, &id, attempt)
            }
            Err(e) => self.failed_start(pod, c, &id, attempt, "RunContainerError", e.to_string()).await,
        }
    }

    /// Runs the container's postStart hook; when it fails, the container
    /// is killed (and restarted as its policy says), as the kubelet does.
    async fn post_start(&mut self, pod: &Arc<Pod>, c: &Container, id: &str) {
        let Some(hook) = c.lifecycle.as_ref().and_then(|l| l.post_start.as_ref()) else { return };
        if let Err(message) = lifecycle::run(&self.ctx, pod, c, id, hook, &self.pod_ip(), POST_START_LIMIT).await {
            tracing::warn!(pod = %pod.name_any(), container = %c.name, %message, "postStart hook failed");
            // The message stays out of the Event: a command line may hold secrets.
            self.event(pod, Some(&c.name), "Warning", "FailedPostStartHook", "PostStartHook failed".into());
            let target = Target { id: id.to_string(), container: c.clone(), after: Vec::new(), message: "FailedPostStartHook".into(), pre_stop: true };
            self.stop_in_background(pod, pod_grace(pod), vec![target]);
        }
    }

    async fn failed_start(&mut self, pod: Arc<Pod>, c: Container, id: &str, attempt: u32, reason: &str, message: String) -> Seen {
        self.event(&pod, Some(&c.name), "Warning", "Failed", format!("Error: {message}"));
        let track = self.tracks.entry(c.name.clone()).or_default();
        track.retry_at = Some(Instant::now() + restart::backoff(attempt + 1));
        track.waiting = Some((reason.to_string(), Some(message)));
        let mut seen = self.seen(&c, id, attempt);
        seen.container_id = String::new();
        seen.state = State::Waiting { reason: reason.to_string(), message: track_message(&self.tracks[&c.name]) };
        seen
    }

    /// The runtime config of the container: the image's and the pod's.
    async fn config(&self, pod: &Pod, c: &Container, ready: &images::Ready) -> Result<ContainerConfig, String> {
        let sandbox = self.sandbox.as_ref().ok_or("the pod has no network yet")?;
        let prepared = self.volumes.as_ref().ok_or("the pod's volumes are not ready")?;
        let sources = env::Sources { client: &self.ctx.client, node: &self.ctx.node, host_ip: &self.ctx.host_ip, pod_ip: Some(sandbox.ip.into()), allocatable: None };
        let environment = env::environment(&sources, pod, c).await?;
        for skipped in &environment.skipped {
            self.event(pod, None, "Warning", "InvalidEnvironmentVariableNames", skipped.message());
        }
        let env = environment.vars;
        let pod_dir = self.ctx.pods_dir.join(&self.uid);
        let inputs = container_config::Inputs { pod, uid: &self.uid, image: ready, sandbox, volumes: prepared, pod_dir: &pod_dir, env, memory_capacity: self.ctx.memory_capacity };
        container_config::build(inputs, c)
    }

    /// The pod is being deleted: its containers stop (preStop, SIGTERM,
    /// SIGKILL after the grace period; sidecars after the app
    /// containers), everything goes, then the pod.
    async fn terminate(&mut self, pod: Arc<Pod>) {
        let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or_else(|| pod_grace(&pod));
        self.probes.keep_only(&HashSet::new());
        let targets = self.stop_everything(&pod).await;
        let grace = Duration::from_secs(u64::try_from(grace).unwrap_or(0));
        stop::stop(&self.ctx, &pod, &self.pod_ip(), grace, targets).await;
        self.teardown().await;
        // The logs outlive the containers (`kubectl logs` of an ended
        // pod), not the pod.
        let _ = std::fs::remove_dir_all(self.pod_logs(&pod));
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &pod.namespace().unwrap_or_default());
        let params = DeleteParams { grace_period_seconds: Some(0), preconditions: Some(Preconditions { uid: pod.uid(), resource_version: None }), ..DeleteParams::default() };
        let name = pod.name_any();
        let pod_name = name.clone();
        let deleted = owned(async move { api.delete(&pod_name, &params).await.map(|_| ()) }).await;
        match deleted {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
            Err(error) => tracing::warn!(%error, pod = %name, "deleting the terminated pod"),
        }
    }

    /// The node ends the pod for good (`failure`): its containers stop
    /// (with the failure's grace, or the pod's), the pod is taken down
    /// (its volumes, writable layers and network go, its logs stay) and
    /// its final status says why.
    async fn fail(&mut self, pod: Arc<Pod>, failure: Failure) {
        tracing::info!(pod = %pod.name_any(), namespace = %pod.namespace().unwrap_or_default(), reason = %failure.reason, message = %failure.message, "ending the pod");
        self.event(&pod, None, failure.event_type(), if failure.reason == "Evicted" { "Evicted" } else { "DeadlineExceeded" }, failure.message.clone());
        self.probes.keep_only(&HashSet::new());
        let targets = self.stop_everything(&pod).await;
        let ids: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
        let grace = failure.grace_seconds.unwrap_or_else(|| pod_grace(&pod));
        stop::stop(&self.ctx, &pod, &self.pod_ip(), Duration::from_secs(u64::try_from(grace).unwrap_or(0)), targets).await;
        // A SIGKILL was the last word: its end is recorded just after.
        for id in ids {
            let _ = tokio::time::timeout(KILLED_EXIT_WAIT, self.ctx.containers.ended(&id)).await;
        }
        let spec = pod.spec.clone().unwrap_or_default();
        let mut init = Vec::new();
        for c in spec.init_containers.iter().flatten() {
            init.push(self.last_state(&pod, c).await);
        }
        let mut app = Vec::new();
        for c in &spec.containers {
            app.push(self.last_state(&pod, c).await);
        }
        let status = {
            let observed = Observed { init: &init, app: &app, init_done: self.initialized, sandbox_ready: false, pod_ip: self.sandbox.as_ref().map(|a| a.ip.to_string()), host_ip: self.ctx.host_ip.clone(), start_time: self.start_time };
            pod_status::failed(&pod, &observed, &failure, Timestamp::now())
        };
        self.teardown().await;
        super::final_status::write(&self.ctx.client, &pod, &status).await;
        self.reported = Some(status);
        self.failed = true;
    }

    /// A container as its last attempt left it (after the pod's stop).
    async fn last_state(&mut self, pod: &Pod, c: &Container) -> Seen {
        let attempt = self.tracks.get(&c.name).map(|t| t.attempt).unwrap_or(0);
        let id = container_id(&self.uid, &c.name, attempt);
        let mut seen = if self.tracks.contains_key(&c.name) { self.seen(c, &id, attempt) } else { waiting_seen(c, "ContainerCreating") };
        if let Some(exit) = crate::shim::read_exit(&self.ctx.containers.dir(&id).join("exit.json")) {
            seen.state = State::Terminated(self.ended(pod, c, attempt, exit).await);
        }
        seen
    }

    /// Every running container of the pod, in the order they stop
    /// (sidecars last).
    async fn stop_everything(&self, pod: &Pod) -> Vec<Target> {
        let prefix = format!("{}-", self.uid);
        let ids: Vec<String> = self.ctx.containers.list().into_iter().filter(|id| id.starts_with(&prefix)).collect();
        let mut running = Vec::new();
        for id in ids {
            if matches!(self.ctx.containers.status(&id).await, Ok(Status::Running { .. } | Status::Created { .. })) {
                let name = id.strip_prefix(&prefix).and_then(|rest| rest.rsplit_once('-')).map(|(n, _)| n.to_string()).unwrap_or_default();
                running.push((name, id));
            }
        }
        let spec = pod.spec.clone().unwrap_or_default();
        sidecars::stop_order(pod, &running)
            .into_iter()
            .map(|(name, id, after)| {
                let container = spec.containers.iter().chain(spec.init_containers.iter().flatten()).find(|c| c.name == name).cloned().unwrap_or_else(|| Container { name: name.clone(), ..Container::default() });
                // A container stopping already had its preStop hook.
                Target { pre_stop: !self.stopping.contains(&id), id, container, after, message: format!("Stopping container {name}") }
            })
            .collect()
    }

    /// Removes every container of the pod and its network and files.
    async fn teardown(&mut self) {
        self.probes.keep_only(&HashSet::new());
        self.watch_exits(&HashSet::new());
        self.messages.clear();
        let prefix = format!("{}-", self.uid);
        let ids: Vec<String> = self.ctx.containers.list().into_iter().filter(|id| id.starts_with(&prefix)).collect();
        for id in ids {
            if let Err(error) = self.ctx.containers.remove(&id).await {
                tracing::warn!(%error, container = %id, "removing a container");
            }
        }
        self.leave_network().await;
        let _ = std::fs::remove_dir_all(self.ctx.pods_dir.join(&self.uid));
        crate::cgroups::remove_tree(&crate::cgroups::pod_path(&self.uid));
    }

    /// A pod that ended for good gives back its network (address, host
    /// ports, namespace) and its memory-backed volumes; its containers'
    /// records, writable layers and logs stay until the pod is deleted.
    async fn release(&mut self) {
        self.probes.keep_only(&HashSet::new());
        self.watch_exits(&HashSet::new());
        let ip = self.sandbox.as_ref().map(|a| a.ip.to_string()).unwrap_or_default();
        self.leave_network().await;
        self.released = Some(ip);
    }

    /// Takes the pod off the network and unmounts its tmpfs volumes.
    async fn leave_network(&mut self) {
        let (network, uid) = (self.ctx.network.clone(), self.uid.clone());
        match tokio::task::spawn_blocking(move || network.teardown(&uid)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, pod = %self.uid, "taking the pod off the network"),
            Err(error) => tracing::warn!(%error, "pod network teardown panicked"),
        }
        volumes::unmount_all(&self.ctx, &self.uid);
        self.ctx.tokens.forget_pod(&self.uid);
        self.sandbox = None;
    }
}

enum Next {
    /// Look again at this time at the latest: containers run, or
    /// something is to be tried again.
    Until(Instant),
    /// Wait for a change of the pod.
    Idle,
    /// The pod is gone.
    Done,
}

/// The pod's `terminationGracePeriodSeconds` (30 unless set).
fn pod_grace(pod: &Pod) -> i64 {
    pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30).max(0)
}

fn track_message(t: &Track) -> Option<String> {
    t.waiting.as_ref().and_then(|(_, m)| m.clone())
}

fn waiting_seen(c: &Container, reason: &str) -> Seen {
    Seen {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        image_id: String::new(),
        container_id: String::new(),
        restart_count: 0,
        state: State::Waiting { reason: reason.into(), message: None },
        last: None,
        started: false,
        ready: false,
    }
}
