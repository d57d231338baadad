//! Liveness, readiness and startup probes of a pod's containers (the
//! kubelet's prober and probe manager). Each probe of each container
//! attempt runs as a task of its own (`task`), on its own timer, until
//! the attempt stops; the results land in `Results`, which wakes the
//! pod's worker when one changes. The worker asks here whether a
//! container started and is ready, and whether a liveness or startup
//! probe failed, and acts on it (kills, restarts, status).

pub mod action;
pub mod check;
pub mod grpc;
mod task;
pub mod threshold;

use super::Ctx;
use k8s_openapi::api::core::v1::{Container, Pod, Probe};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::AbortHandle;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Liveness,
    Readiness,
    Startup,
}

impl Kind {
    /// As Events name it (`Liveness probe failed: ...`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Liveness => "Liveness",
            Kind::Readiness => "Readiness",
            Kind::Startup => "Startup",
        }
    }
}

/// The published results, by container id and kind; `wake` tells the
/// worker one changed.
pub struct Results {
    map: Mutex<HashMap<(String, Kind), bool>>,
    wake: Arc<Notify>,
}

impl Results {
    pub fn new(wake: Arc<Notify>) -> Results {
        Results { map: Mutex::new(HashMap::new()), wake }
    }

    pub fn set(&self, id: &str, kind: Kind, ok: bool) {
        let old = self.map.lock().insert((id.to_string(), kind), ok);
        if old != Some(ok) {
            self.wake.notify_one();
        }
    }

    pub fn get(&self, id: &str, kind: Kind) -> Option<bool> {
        self.map.lock().get(&(id.to_string(), kind)).copied()
    }

    fn forget(&self, id: &str) {
        self.map.lock().retain(|(i, _), _| i != id);
    }
}

/// The probes of one container attempt; dropping it stops them.
struct Probing {
    tasks: Vec<AbortHandle>,
    startup: bool,
    readiness: bool,
    /// Its failed liveness or startup probe was acted on.
    failure_taken: bool,
}

impl Drop for Probing {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The probes of one pod.
pub struct Manager {
    results: Arc<Results>,
    probing: HashMap<String, Probing>,
}

impl Manager {
    pub fn new(wake: Arc<Notify>) -> Manager {
        Manager { results: Arc::new(Results::new(wake)), probing: HashMap::new() }
    }

    /// Starts the probes of the running container attempt `id` (running
    /// for `running_for`) unless they run already.
    pub fn watch(&mut self, ctx: &Arc<Ctx>, pod: &Pod, c: &Container, id: &str, running_for: Duration, pod_ip: &str) {
        if self.probing.contains_key(id) {
            return;
        }
        let started_at = Instant::now().checked_sub(running_for).unwrap_or_else(Instant::now);
        let trigger = Arc::new(Notify::new());
        let object = super::events::reference(pod, Some(&c.name));
        let probes: [(Kind, Option<&Probe>); 3] = [(Kind::Startup, c.startup_probe.as_ref()), (Kind::Liveness, c.liveness_probe.as_ref()), (Kind::Readiness, c.readiness_probe.as_ref())];
        let mut tasks = Vec::new();
        for (kind, probe) in probes {
            let Some(probe) = probe else { continue };
            if kind == Kind::Readiness {
                // Not ready until the readiness probe says so.
                self.results.set(id, kind, false);
            }
            let p = task::Probe {
                ctx: ctx.clone(),
                object: object.clone(),
                id: id.to_string(),
                kind,
                timing: action::Timing::of(probe),
                action: action::of_probe(probe, c, pod_ip),
                results: self.results.clone(),
                started_at,
                has_startup: c.startup_probe.is_some(),
                trigger: trigger.clone(),
            };
            tasks.push(tokio::spawn(task::run(p)).abort_handle());
        }
        self.probing.insert(id.to_string(), Probing { tasks, startup: c.startup_probe.is_some(), readiness: c.readiness_probe.is_some(), failure_taken: false });
    }

    /// Stops the probes of every attempt not in `running`.
    pub fn keep_only(&mut self, running: &HashSet<String>) {
        let gone: Vec<String> = self.probing.keys().filter(|id| !running.contains(*id)).cloned().collect();
        for id in gone {
            self.probing.remove(&id);
            self.results.forget(&id);
        }
    }

    /// Whether the running attempt `id` started: its startup probe
    /// passed, or it has none.
    pub fn started(&self, id: &str) -> bool {
        match self.probing.get(id) {
            Some(p) if p.startup => self.results.get(id, Kind::Startup) == Some(true),
            _ => true,
        }
    }

    /// Whether the started attempt `id` is ready: its readiness probe
    /// passes, or it has none.
    pub fn ready(&self, id: &str) -> bool {
        match self.probing.get(id) {
            Some(p) if p.readiness => self.results.get(id, Kind::Readiness) == Some(true),
            _ => true,
        }
    }

    /// The probe whose failure means the attempt `id` must be killed,
    /// answered once per attempt (the kill takes a while, and the attempt
    /// is killed once).
    pub fn take_failure(&mut self, id: &str) -> Option<Kind> {
        let probing = self.probing.get_mut(id).filter(|p| !p.failure_taken)?;
        let kind = [Kind::Startup, Kind::Liveness].into_iter().find(|k| self.results.get(id, *k) == Some(false))?;
        probing.failure_taken = true;
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn probes_results_wake_the_worker_only_on_change() {
        let wake = Arc::new(Notify::new());
        let results = Results::new(wake.clone());
        results.set("c-1", Kind::Readiness, false);
        wake.notified().await;
        results.set("c-1", Kind::Readiness, false);
        let woken = tokio::time::timeout(Duration::from_millis(20), wake.notified()).await;
        assert!(woken.is_err(), "the same result again does not wake");
        results.set("c-1", Kind::Readiness, true);
        wake.notified().await;
        assert_eq!(results.get("c-1", Kind::Readiness), Some(true));
        results.forget("c-1");
        assert_eq!(results.get("c-1", Kind::Readiness), None);
    }

    #[test]
    fn probes_gate_started_and_ready_on_their_probes() {
        let mut m = Manager::new(Arc::new(Notify::new()));
        m.probing.insert("a-0".into(), Probing { tasks: Vec::new(), startup: true, readiness: true, failure_taken: false });
        assert!(!m.started("a-0") && !m.ready("a-0"));
        m.results.set("a-0", Kind::Startup, true);
        m.results.set("a-0", Kind::Readiness, true);
        assert!(m.started("a-0") && m.ready("a-0"));
        assert!(m.started("no-probes") && m.ready("no-probes"));
        assert_eq!(m.take_failure("a-0"), None);
        m.results.set("a-0", Kind::Liveness, false);
        assert_eq!((m.take_failure("a-0"), m.take_failure("a-0")), (Some(Kind::Liveness), None), "killed once");
        m.keep_only(&HashSet::new());
        assert_eq!((m.results.get("a-0", Kind::Liveness), m.probing.len()), (None, 0));
    }
}
