//! Stopping containers gracefully, as the kubelet's `killContainer`: a
//! `Killing` Event, the `preStop` hook within the grace period
//! (`FailedPreStopHook` when it fails), the container's turn (a sidecar
//! waits for the app containers and the sidecars after it to exit, so
//! sidecars stop in reverse order), SIGTERM, and SIGKILL once the grace
//! period is over, with at least 2 s between SIGTERM and SIGKILL.
//! Containers of one stop share the deadline and go concurrently.

use super::Ctx;
use super::events;
use super::lifecycle;
use crate::containers::Status;
use k8s_openapi::api::core::v1::{Container, Pod};
use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The shortest time between SIGTERM and SIGKILL (the kubelet's
/// `minimumGracePeriodInSeconds`).
const MINIMUM_GRACE: Duration = Duration::from_secs(2);

/// One container to stop.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    pub container: Container,
    /// Containers that must have exited before this one's stop signal.
    pub after: Vec<String>,
    /// The `Killing` Event's message.
    pub message: String,
    /// Whether its `preStop` hook runs (not when it already ran for it).
    pub pre_stop: bool,
}

/// The container ids being stopped in the background, so the worker
/// neither stops them twice nor counts them as ready.
#[derive(Debug, Clone, Default)]
pub struct Stopping(Arc<Mutex<HashSet<String>>>);

impl Stopping {
    pub fn contains(&self, id: &str) -> bool {
        self.0.lock().contains(id)
    }

    /// Marks `id`; false when it was marked already.
    fn begin(&self, id: &str) -> bool {
        self.0.lock().insert(id.to_string())
    }

    fn end(&self, id: &str) {
        self.0.lock().remove(id);
    }
}

/// Stops `targets` in the background; `wake` is told when they are done.
pub fn spawn(ctx: Arc<Ctx>, pod: Arc<Pod>, pod_ip: String, grace: Duration, targets: Vec<Target>, stopping: Stopping, wake: Arc<Notify>) {
    let targets: Vec<Target> = targets.into_iter().filter(|t| stopping.begin(&t.id)).collect();
    if targets.is_empty() {
        return;
    }
    tokio::spawn(async move {
        let ids: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
        stop(&ctx, &pod, &pod_ip, grace, targets).await;
        for id in &ids {
            stopping.end(id);
        }
        wake.notify_one();
    });
}

/// Stops `targets` and returns when all exited or were killed.
pub async fn stop(ctx: &Ctx, pod: &Pod, pod_ip: &str, grace: Duration, targets: Vec<Target>) {
    let deadline = Instant::now() + grace;
    futures::future::join_all(targets.into_iter().map(|t| stop_one(ctx, pod, pod_ip, deadline, t))).await;
}

async fn stop_one(ctx: &Ctx, pod: &Pod, pod_ip: &str, deadline: Instant, t: Target) {
    let name = t.container.name.clone();
    let object = events::reference(pod, Some(&name));
    events::record(ctx, &object, "Normal", "Killing", t.message.clone());
    let hook = t.container.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()).filter(|_| t.pre_stop);
    if let Some(hook) = hook {
        let left = deadline.saturating_duration_since(Instant::now());
        if !left.is_zero()
            && let Err(message) = lifecycle::run(ctx, pod, &t.container, &t.id, hook, pod_ip, left).await
        {
            tracing::warn!(container = %t.id, %message, "preStop hook failed");
            events::record(ctx, &object, "Warning", "FailedPreStopHook", "PreStopHook failed".into());
        }
    }
    for other in &t.after {
        wait_exit(ctx, other, deadline).await;
    }
    if !alive(ctx, &t.id).await {
        return;
    }
    let end = deadline.max(Instant::now() + MINIMUM_GRACE);
    if let Err(error) = ctx.containers.signal(&t.id, "TERM").await {
        tracing::debug!(%error, container = %t.id, "SIGTERM");
    }
    if !wait_exit(ctx, &t.id, end).await
        && let Err(error) = ctx.containers.signal(&t.id, "KILL").await
    {
        tracing::debug!(%error, container = %t.id, "SIGKILL");
    }
}

async fn alive(ctx: &Ctx, id: &str) -> bool {
    matches!(ctx.containers.status(id).await, Ok(Status::Running { .. } | Status::Created { .. }))
}

/// Waits until `id` exited (true) or `until` passed (false).
async fn wait_exit(ctx: &Ctx, id: &str, until: Instant) -> bool {
    tokio::time::timeout_at(until, ctx.containers.ended(id)).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_marks_containers_once() {
        let stopping = Stopping::default();
        assert!(stopping.begin("x") && !stopping.begin("x") && stopping.contains("x"));
        stopping.end("x");
        assert!(!stopping.contains("x"));
    }
}
