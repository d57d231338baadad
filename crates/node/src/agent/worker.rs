//! One pod's worker: brings the pod's containers to what its spec says
//! (network first, then init containers one by one, then the app
//! containers), restarts them as its restart policy says with the
//! kubelet's back-off, reports its status, and when the pod is deleted
//! stops its containers gracefully (SIGTERM, the grace period, SIGKILL),
//! takes everything down and lets the pod go. Level-triggered: after a
//! restart of the agent it finds the pod's containers (named
//! `<pod uid>-<container>-<attempt>`) and network again.

use super::container_config;
use super::env;
use super::images::{self, NotReady};
use super::volumes;
use super::pod_status::{self, Ended, Observed, Seen, State};
use super::restart;
use super::Ctx;
use crate::containers::{Create, Status};
use crate::spec::ContainerConfig;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, ObjectReference, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::ResourceExt;
use net::Attachment;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How often a pod with live containers is looked at without a change.
const POLL: Duration = Duration::from_secs(1);
/// How often ConfigMap, Secret, downward API and projected volumes are
/// written again (the kubelet's sync period is a minute).
const VOLUME_REFRESH: Duration = Duration::from_secs(30);

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
    volumes_at: Option<Instant>,
    /// The last FailedMount message, recorded once.
    mount_error: Option<String>,
}

fn container_id(uid: &str, name: &str, attempt: u32) -> String {
    format!("{uid}-{name}-{attempt}")
}

fn reference(pod: &Pod, container: Option<&str>) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: pod.metadata.name.clone(),
        namespace: pod.metadata.namespace.clone(),
        uid: pod.metadata.uid.clone(),
        resource_version: pod.metadata.resource_version.clone(),
        field_path: container.map(|c| format!("spec.containers{{{c}}}")),
    }
}

/// A boxed future that owns what it uses, so an API call in flight
/// borrows nothing of the worker.
fn owned<T>(f: impl Future<Output = T> + Send + 'static) -> Pin<Box<dyn Future<Output = T> + Send>> {
    Box::pin(f)
}

impl Worker {
    /// Records an Event about the pod (or one of its containers).
    fn event(&self, pod: &Pod, container: Option<&str>, type_: &'static str, reason: &'static str, message: String) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let (ctx, r) = (self.ctx.clone(), reference(pod, container));
        owned(async move { ctx.recorder.record(&r, type_, reason, message).await })
    }

    /// Runs the worker of the pod with `uid` on the versions `updates`
    /// brings (`None`: the pod is gone from the API).
    pub async fn run(ctx: Arc<Ctx>, uid: String, mut updates: mpsc::UnboundedReceiver<Option<Arc<Pod>>>) {
        let mut w = Worker { ctx, uid, sandbox: None, start_time: Timestamp::now(), tracks: HashMap::new(), reported: None, volumes: None, volumes_at: None, mount_error: None };
        let mut pod: Option<Arc<Pod>> = None;
        loop {
            let next = match &pod {
                Some(p) => match w.pass(p.clone()).await {
                    Next::Done => return,
                    Next::Poll => tokio::time::timeout(POLL, updates.recv()).await.ok(),
                    Next::Idle => Some(updates.recv().await),
                },
                None => Some(updates.recv().await),
            };
            match next {
                // A newer version, or the pod's removal from the API.
                Some(Some(Some(p))) => pod = Some(p),
                Some(Some(None)) | Some(None) => {
                    w.teardown().await;
                    return;
                }
                // The poll interval passed.
                None => {}
            }
            // Only the newest of several queued versions matters.
            while let Ok(more) = updates.try_recv() {
                match more {
                    Some(p) => pod = Some(p),
                    None => {
                        w.teardown().await;
                        return;
                    }
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
        let policy = spec.restart_policy.clone().unwrap_or_else(|| "Always".into());
        if let Some(start) = pod.status.as_ref().and_then(|s| s.start_time.as_ref()) {
            self.start_time = start.0;
        }
        if self.sandbox.is_none() {
            let (network, id) = (self.ctx.network.clone(), self.uid.clone());
            match tokio::task::spawn_blocking(move || network.setup(&id)).await {
                Ok(Ok(a)) => self.sandbox = Some(a),
                Ok(Err(e)) => {
                    self.event(&pod, None, "Warning", "FailedCreatePodSandBox", format!("Failed to create pod sandbox: {e}")).await;
                    return Next::Poll;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "pod network setup panicked");
                    return Next::Poll;
                }
            }
        }

        // Volumes, set up before any container and refreshed every 30 s
        // (ConfigMaps and Secrets change in place).
        if self.volumes_at.is_none_or(|at| at.elapsed() >= VOLUME_REFRESH) {
            let ip = self.sandbox.as_ref().map(|a| a.ip.to_string()).unwrap_or_default();
            match volumes::prepare(&self.ctx, &pod, &self.uid, &ip).await {
                Ok(prepared) => {
                    self.volumes = Some(prepared);
                    self.volumes_at = Some(Instant::now());
                    self.mount_error = None;
                }
                Err(message) => {
                    if self.mount_error.as_deref() != Some(message.as_str()) {
                        self.event(&pod, None, "Warning", "FailedMount", message.clone()).await;
                        self.mount_error = Some(message);
                    }
                    if self.volumes.is_none() {
                        let waiting: Vec<Seen> = spec.containers.iter().map(|c| waiting_seen(c, "ContainerCreating")).collect();
                        let status = {
                            let observed = Observed { init: &[], app: &waiting, init_done: false, sandbox_ready: true, pod_ip: Some(ip), host_ip: self.ctx.host_ip.clone(), start_time: self.start_time };
                            pod_status::status(&pod, &observed, Timestamp::now())
                        };
                        self.report(pod.namespace().unwrap_or_default(), pod.name_any(), status).await;
                        return Next::Poll;
                    }
                }
            }
        }

        // Init containers, one at a time, each to a successful end.
        let mut init_seen = Vec::new();
        let mut init_done = true;
        let mut init_failed = false;
        for c in spec.init_containers.clone().unwrap_or_default() {
            let seen = self.container(pod.clone(), c, policy.clone(), true).await;
            let done = matches!(&seen.state, State::Terminated(e) if e.exit_code == 0);
            if let State::Terminated(e) = &seen.state
                && e.exit_code != 0
                && !restart::should_restart(&policy, e.exit_code)
            {
                init_failed = true;
            }
            init_seen.push(seen);
            if !done {
                init_done = false;
                break;
            }
        }
        let mut app_seen = Vec::new();
        for c in spec.containers.clone() {
            app_seen.push(if init_done { self.container(pod.clone(), c, policy.clone(), false).await } else { waiting_seen(&c, "PodInitializing") });
        }
        let mut status = {
            let observed = Observed {
                init: &init_seen,
                app: &app_seen,
                init_done,
                sandbox_ready: self.sandbox.is_some(),
                pod_ip: self.sandbox.as_ref().map(|a| a.ip.to_string()),
                host_ip: self.ctx.host_ip.clone(),
                start_time: self.start_time,
            };
            pod_status::status(&pod, &observed, Timestamp::now())
        };
        if init_failed {
            status["phase"] = serde_json::json!("Failed");
        }
        let terminal = matches!(status["phase"].as_str(), Some("Succeeded" | "Failed"));
        self.report(pod.namespace().unwrap_or_default(), pod.name_any(), status).await;
        if terminal { Next::Idle } else { Next::Poll }
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
            let track = self.recover(&c.name);
            self.tracks.insert(c.name.clone(), track);
        }
        let attempt = self.tracks.get(&c.name).map(|t| t.attempt).unwrap_or(0);
        let id = container_id(&uid, &c.name, attempt);
        let status = if self.ctx.containers.dir(&id).exists() { self.ctx.containers.status(&id).await.ok() } else { None };
        match status {
            Some(Status::Running { .. }) | Some(Status::Created { .. }) => self.seen(&c, &id, attempt),
            Some(Status::Exited(exit)) => {
                let ended = Ended::from_exit(exit, format!("runc://{id}"));
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
                            self.event(&pod, Some(&c.name), "Warning", "BackOff", format!("Back-off restarting failed container {} in pod {}_{}({})", c.name, pod.name_any(), pod.namespace().unwrap_or_default(), uid)).await;
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
                        let _ = self.ctx.containers.remove(&container_id(&uid, &c.name, attempt - 1)).await;
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
    fn recover(&self, name: &str) -> Track {
        let prefix = format!("{}-{name}-", self.uid);
        let attempt = self.ctx.containers.list().iter().filter_map(|id| id.strip_prefix(&prefix)).filter_map(|a| a.parse::<u32>().ok()).max().unwrap_or(0);
        let last = attempt.checked_sub(1).and_then(|prev| {
            let id = container_id(&self.uid, name, prev);
            crate::shim::read_exit(&self.ctx.containers.dir(&id).join("exit.json")).map(|e| Ended::from_exit(e, format!("runc://{id}")))
        });
        Track { attempt, last, ..Track::default() }
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
            self.event(&pod, Some(&c.name), "Normal", "Pulling", format!("Pulling image \"{image_ref}\"")).await;
        }
        let ready = match images::ensure(&self.ctx.puller, &image_ref, c.image_pull_policy.as_deref(), &creds).await {
            Ok(ready) => ready,
            Err(NotReady { reason, message }) => {
                let track = self.tracks.entry(c.name.clone()).or_default();
                track.pull_failures += 1;
                let backoff = restart::backoff(track.pull_failures);
                track.retry_at = Some(Instant::now() + backoff.max(Duration::from_secs(1)));
                let shown = if track.pull_failures > 1 && reason == "ErrImagePull" { "ImagePullBackOff" } else { reason };
                track.waiting = Some((shown.to_string(), Some(if shown == "ImagePullBackOff" { format!("Back-off pulling image \"{image_ref}\": {message}") } else { message.clone() })));
                self.event(&pod, Some(&c.name), "Warning", "Failed", format!("Failed to pull image \"{image_ref}\": {message}")).await;
                self.event(&pod, Some(&c.name), "Warning", "Failed", format!("Error: {reason}")).await;
                let mut seen = self.seen(&c, &id, attempt);
                seen.state = State::Waiting { reason: shown.to_string(), message: track_message(&self.tracks[&c.name]) };
                return seen;
            }
        };
        if let Some(p) = &ready.pulled {
            let took = started_pull.elapsed().as_secs_f64();
            self.event(&pod, Some(&c.name), "Normal", "Pulled", format!("Successfully pulled image \"{image_ref}\" in {took:.3}s. Image size: {} bytes.", p.size)).await;
        } else if !needs_pull {
            self.event(&pod, Some(&c.name), "Normal", "Pulled", format!("Container image \"{image_ref}\" already present on machine")).await;
        }
        let track = self.tracks.entry(c.name.clone()).or_default();
        track.image_id = ready.image_id.clone();
        track.pull_failures = 0;
        let config = match self.config(&pod, &c, &ready).await {
            Ok(config) => config,
            Err(message) => return self.failed_start(pod, c, &id, attempt, "CreateContainerConfigError", message).await,
        };
        let log = self.ctx.logs.join(format!("{}_{}_{}", pod.namespace().unwrap_or_default(), pod.name_any(), self.uid)).join(&c.name).join(format!("{attempt}.log"));
        let create = Create { id: id.clone(), config, layers: ready.layers.clone(), log };
        match self.ctx.containers.start(create).await {
            Ok(_) => {
                self.event(&pod, Some(&c.name), "Normal", "Created", format!("Created container: {}", c.name)).await;
                self.event(&pod, Some(&c.name), "Normal", "Started", format!("Started container {}", c.name)).await;
                let track = self.tracks.entry(c.name.clone()).or_default();
                track.waiting = None;
                track.retry_at = None;
                self.seen(&c, &id, attempt)
            }
            Err(e) => self.failed_start(pod, c, &id, attempt, "RunContainerError", e.to_string()).await,
        }
    }

    async fn failed_start(&mut self, pod: Arc<Pod>, c: Container, id: &str, attempt: u32, reason: &str, message: String) -> Seen {
        self.event(&pod, Some(&c.name), "Warning", "Failed", format!("Error: {message}")).await;
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
            self.event(pod, None, "Warning", "InvalidEnvironmentVariableNames", skipped.message()).await;
        }
        let env = environment.vars;
        let pod_dir = self.ctx.pods_dir.join(&self.uid);
        let inputs = container_config::Inputs { pod, uid: &self.uid, image: ready, sandbox, volumes: prepared, pod_dir: &pod_dir, env };
        container_config::build(inputs, c)
    }

    /// The pod is being deleted: its containers stop (SIGTERM, then
    /// SIGKILL after the grace period), everything goes, then the pod.
    async fn terminate(&mut self, pod: Arc<Pod>) {
        let grace = pod.metadata.deletion_grace_period_seconds.or(pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds)).unwrap_or(30).max(0) as u64;
        let prefix = format!("{}-", self.uid);
        let ids: Vec<String> = self.ctx.containers.list().into_iter().filter(|id| id.starts_with(&prefix)).collect();
        let mut running = Vec::new();
        for id in &ids {
            if matches!(self.ctx.containers.status(id).await, Ok(Status::Running { .. } | Status::Created { .. })) {
                let name = id.strip_prefix(&prefix).and_then(|rest| rest.rsplit_once('-')).map(|(n, _)| n.to_string()).unwrap_or_default();
                self.event(&pod, Some(&name), "Normal", "Killing", format!("Stopping container {name}")).await;
                let _ = self.ctx.containers.signal(id, "TERM").await;
                running.push(id.clone());
            }
        }
        let deadline = Instant::now() + Duration::from_secs(grace);
        while !running.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut still = Vec::new();
            for id in running {
                if matches!(self.ctx.containers.status(&id).await, Ok(Status::Running { .. } | Status::Created { .. })) {
                    still.push(id);
                }
            }
            running = still;
        }
        for id in &running {
            let _ = self.ctx.containers.signal(id, "KILL").await;
        }
        self.teardown().await;
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

    /// Removes every container of the pod and its network and files.
    async fn teardown(&mut self) {
        let prefix = format!("{}-", self.uid);
        let ids: Vec<String> = self.ctx.containers.list().into_iter().filter(|id| id.starts_with(&prefix)).collect();
        for id in ids {
            if let Err(error) = self.ctx.containers.remove(&id).await {
                tracing::warn!(%error, container = %id, "removing a container");
            }
        }
        let (network, uid) = (self.ctx.network.clone(), self.uid.clone());
        match tokio::task::spawn_blocking(move || network.teardown(&uid)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, pod = %self.uid, "taking the pod off the network"),
            Err(error) => tracing::warn!(%error, "pod network teardown panicked"),
        }
        volumes::unmount_all(&self.ctx, &self.uid);
        let _ = std::fs::remove_dir_all(self.ctx.pods_dir.join(&self.uid));
        crate::cgroups::remove_tree(&crate::cgroups::pod_path(&self.uid));
        self.sandbox = None;
    }
}

enum Next {
    /// Look again soon: containers run.
    Poll,
    /// Wait for a change of the pod.
    Idle,
    /// The pod is gone.
    Done,
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
    }
}
