//! One probe of one container attempt, on its own timer (the kubelet's
//! probe worker): every `periodSeconds` from the container's start, once
//! `initialDelaySeconds` passed, liveness and readiness only after the
//! startup probe succeeded; each failure is an `Unhealthy` Event, and a
//! result is published once its threshold is met. A failed liveness or
//! startup probe stops probing (the attempt will be killed; the next one
//! gets new probes), and so does a passed startup probe, which also
//! asks readiness to probe at once.

use super::action::{Action, Timing};
use super::check::{self, Outcome};
use super::threshold::Threshold;
use super::{Kind, Results};
use crate::agent::{Ctx, events};
use k8s_openapi::api::core::v1::ObjectReference;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio::time::{Instant, MissedTickBehavior};

/// How often an erroring probe is tried again within one period.
const RETRIES: usize = 3;

pub struct Probe {
    pub ctx: Arc<Ctx>,
    pub object: ObjectReference,
    pub id: String,
    pub kind: Kind,
    pub timing: Timing,
    pub action: Result<Action, String>,
    pub results: Arc<Results>,
    /// When the container started.
    pub started_at: Instant,
    pub has_startup: bool,
    /// Runs the readiness probe now (the startup probe just passed).
    pub trigger: Arc<Notify>,
}

pub async fn run(p: Probe) {
    let mut ticker = tokio::time::interval(p.timing.period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut threshold = Threshold::new(p.timing.success, p.timing.failure);
    loop {
        if p.kind == Kind::Readiness {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = p.trigger.notified() => {}
            }
        } else {
            ticker.tick().await;
        }
        if p.kind != Kind::Startup && p.has_startup && p.results.get(&p.id, Kind::Startup) != Some(true) {
            continue;
        }
        if p.started_at.elapsed() < p.timing.initial_delay {
            continue;
        }
        let Some(ok) = probe_once(&p).await else { continue };
        let Some(result) = threshold.observe(ok) else { continue };
        p.results.set(&p.id, p.kind, result);
        match (p.kind, result) {
            (Kind::Liveness | Kind::Startup, false) => return,
            (Kind::Startup, true) => {
                p.trigger.notify_one();
                return;
            }
            _ => {}
        }
    }
}

/// One probe with its Events: whether it passed, or `None` when it could
/// not run.
async fn probe_once(p: &Probe) -> Option<bool> {
    let kind = p.kind.name();
    let outcome = match &p.action {
        Ok(action) => {
            let mut outcome = Outcome::Error(String::new());
            for _ in 0..RETRIES {
                outcome = check::run(p.ctx.containers.runtime(), &p.id, action, p.timing.timeout).await;
                if !matches!(outcome, Outcome::Error(_)) {
                    break;
                }
            }
            outcome
        }
        Err(e) => Outcome::Error(e.clone()),
    };
    match outcome {
        Outcome::Success(_) => Some(true),
        Outcome::Warning(message) => {
            events::record(&p.ctx, &p.object, "Warning", "ProbeWarning", format!("{kind} probe warning: {message}"));
            Some(true)
        }
        Outcome::Failure(message) => {
            tracing::debug!(container = %p.id, probe = kind, %message, "probe failed");
            events::record(&p.ctx, &p.object, "Warning", "Unhealthy", format!("{kind} probe failed: {message}"));
            Some(false)
        }
        Outcome::Error(error) => {
            events::record(&p.ctx, &p.object, "Warning", "Unhealthy", format!("{kind} probe errored and resulted in unknown state: {error}"));
            None
        }
    }
}
