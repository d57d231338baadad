//! One sync of a Deployment as a pure function (Kubernetes' `sync.go`,
//! `rolling.go`, `recreate.go`, `progress.go`): from the Deployment and the
//! ReplicaSets it owns, the writes to make in order ([`Step`]), the
//! Deployment's revision annotation and its new status. Each write is
//! applied to the in-memory ReplicaSets as if it succeeded, as Kubernetes
//! carries on with the objects its updates returned; the caller stops at the
//! first write that fails and syncs again.

use super::util::{self, *};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use std::collections::BTreeMap;
use std::time::Duration;

/// A write, or an Event recorded once the writes before it succeeded.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Create(ReplicaSet),
    /// Replace the ReplicaSet (guarded by its cached resourceVersion).
    Update(ReplicaSet),
    Delete { name: String, uid: String },
    Event { reason: &'static str, message: String },
}

#[derive(Debug)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// The Deployment's annotations, when the revision changed.
    pub annotations: Option<BTreeMap<String, String>>,
    pub status: DeploymentStatus,
    /// When to look again if nothing else happens (progress deadline, or
    /// minReadySeconds elapsing on a ReplicaSet).
    pub requeue: Option<Duration>,
}

struct Planner {
    d: Deployment,
    rses: Vec<ReplicaSet>,
    now: jiff::Timestamp,
    steps: Vec<Step>,
    annotations_changed: bool,
    status: DeploymentStatus,
}

/// Plans one sync of `d` over the ReplicaSets it controls.
pub fn plan(d: &Deployment, mut rses: Vec<ReplicaSet>, now: jiff::Timestamp) -> Plan {
    rses.sort_by(by_creation);
    let mut p = Planner {
        status: d.status.clone().unwrap_or_default(),
        d: d.clone(),
        rses,
        now,
        steps: Vec::new(),
        annotations_changed: false,
    };
    let spec = d.spec.clone().unwrap_or_default();
    if d.metadata.deletion_timestamp.is_some() {
        let new = p.get_all(false);
        p.status = p.calculate_status(new);
    } else {
        p.check_paused_conditions();
        let paused = spec.paused == Some(true);
        if paused || p.is_scaling_event() {
            p.sync(paused);
        } else if is_recreate(d) {
            p.rollout_recreate();
        } else {
            p.rollout_rolling();
        }
    }
    let requeue = p.requeue();
    Plan {
        annotations: p.annotations_changed.then(|| p.d.metadata.annotations.clone().unwrap_or_default()),
        steps: p.steps,
        status: p.status,
        requeue,
    }
}

impl Planner {
    fn replicas(&self) -> i32 {
        util::replicas(&self.d)
    }

    fn template(&self) -> k8s_openapi::api::core::v1::PodTemplateSpec {
        self.d.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default()
    }

    fn progress_deadline(&self) -> Option<i32> {
        self.d.spec.as_ref().and_then(|s| s.progress_deadline_seconds).filter(|s| *s != i32::MAX)
    }

    fn olds(&self, new: Option<usize>) -> Vec<usize> {
        (0..self.rses.len()).filter(|i| Some(*i) != new).collect()
    }

    fn active(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter().copied().filter(|i| rs_replicas(&self.rses[*i]) > 0).collect()
    }

    fn sum(&self, idx: &[usize], f: fn(&ReplicaSet) -> i32) -> i32 {
        idx.iter().map(|i| f(&self.rses[*i])).sum()
    }

    fn all(&self) -> Vec<usize> {
        (0..self.rses.len()).collect()
    }

    fn event(&mut self, reason: &'static str, message: String) {
        self.steps.push(Step::Event { reason, message });
    }

    fn set_revision(&mut self, revision: &str) {
        let a = self.d.metadata.annotations.get_or_insert_with(Default::default);
        if a.get(REVISION).map(String::as_str) != Some(revision) {
            a.insert(REVISION.to_string(), revision.to_string());
            self.annotations_changed = true;
        }
    }

    /// `getAllReplicaSetsAndSyncRevision`: the new ReplicaSet's index (made
    /// if `create`), its annotations and minReadySeconds brought up to date.
    fn get_all(&mut self, create: bool) -> Option<usize> {
        let template = self.template();
        let found = self
            .rses
            .iter()
            .position(|rs| rs.spec.as_ref().and_then(|s| s.template.as_ref()).is_some_and(|t| equal_ignore_hash(t, &template)));
        let max_old = self.olds(found).iter().map(|i| revision(&self.rses[*i])).max().unwrap_or(0);
        let new_revision = max_old + 1;
        let min_ready = self.d.spec.as_ref().and_then(|s| s.min_ready_seconds);
        if let Some(i) = found {
            let mut rs = self.rses[i].clone();
            let annotated = set_new_rs_annotations(&self.d, &mut rs, new_revision, true);
            let spec = rs.spec.get_or_insert_with(Default::default);
            let min_ready_changed = spec.min_ready_seconds.unwrap_or(0) != min_ready.unwrap_or(0);
            if annotated || min_ready_changed {
                spec.min_ready_seconds = min_ready;
                self.steps.push(Step::Update(rs.clone()));
                self.rses[i] = rs;
            }
            let rev = revision(&self.rses[i]).to_string();
            self.set_revision(&rev);
            if get_condition(&self.status, PROGRESSING).is_none() {
                let name = self.rses[i].metadata.name.clone().unwrap_or_default();
                set_condition(&mut self.status, condition(PROGRESSING, "True", FOUND_NEW_RS, format!("Found new replica set {name:?}"), self.now));
            }
            return Some(i);
        }
        if !create {
            return None;
        }
        let hash = pod_template_hash(&template, self.status.collision_count);
        let mut new_template = template;
        new_template.metadata.get_or_insert_with(Default::default).labels.get_or_insert_with(Default::default).insert(HASH_LABEL.into(), hash.clone());
        let mut selector = self.d.spec.as_ref().map(|s| s.selector.clone()).unwrap_or_default();
        selector.match_labels.get_or_insert_with(Default::default).insert(HASH_LABEL.into(), hash.clone());
        let d_name = self.d.metadata.name.clone().unwrap_or_default();
        let name = format!("{d_name}-{hash}");
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: self.d.metadata.namespace.clone(),
                labels: new_template.metadata.as_ref().and_then(|m| m.labels.clone()),
                owner_references: Some(vec![crate::replicaset::claim::controller_ref(
                    "apps/v1",
                    "Deployment",
                    &d_name,
                    self.d.metadata.uid.as_deref().unwrap_or_default(),
                )]),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec { replicas: Some(0), min_ready_seconds: min_ready, selector, template: Some(new_template) }),
            status: None,
        };
        self.rses.push(rs.clone());
        let i = self.rses.len() - 1;
        let count = self.new_rs_new_replicas(i);
        rs.spec.get_or_insert_with(Default::default).replicas = Some(count);
        set_new_rs_annotations(&self.d, &mut rs, new_revision, false);
        self.steps.push(Step::Create(rs.clone()));
        // Only in memory: the newest ReplicaSet sorts last.
        rs.metadata.creation_timestamp = Some(Time(self.now));
        self.rses[i] = rs;
        if count > 0 {
            self.event("ScalingReplicaSet", format!("Scaled up replica set {name} from 0 to {count}"));
        }
        self.set_revision(&new_revision.to_string());
        set_condition(&mut self.status, condition(PROGRESSING, "True", NEW_RS_CREATED, format!("Created new replica set {name:?}"), self.now));
        Some(i)
    }

    /// `NewRSNewReplicas`.
    fn new_rs_new_replicas(&self, new: usize) -> i32 {
        let desired = self.replicas();
        if is_recreate(&self.d) {
            return desired;
        }
        let current = self.sum(&self.all(), rs_replicas);
        let max_total = desired + max_surge(&self.d);
        let new_count = rs_replicas(&self.rses[new]);
        if current >= max_total {
            return new_count;
        }
        new_count + (max_total - current).min(desired - new_count)
    }

    /// `scaleReplicaSetAndRecordEvent` / `scaleReplicaSet`: true if written.
    fn scale(&mut self, i: usize, to: i32) -> bool {
        let from = rs_replicas(&self.rses[i]);
        let op = if from < to { "up" } else { "down" };
        let mut rs = self.rses[i].clone();
        let desired = self.replicas();
        let annotated = set_replicas_annotations(&mut rs, desired, desired + max_surge(&self.d));
        if from == to && !annotated {
            return false;
        }
        rs.spec.get_or_insert_with(Default::default).replicas = Some(to);
        self.steps.push(Step::Update(rs.clone()));
        let name = rs.metadata.name.clone().unwrap_or_default();
        self.rses[i] = rs;
        if from != to {
            self.event("ScalingReplicaSet", format!("Scaled {op} replica set {name} from {from} to {to}"));
        }
        true
    }

    fn scale_if_changed(&mut self, i: usize, to: i32) -> bool {
        rs_replicas(&self.rses[i]) != to && self.scale(i, to)
    }

    fn rollout_rolling(&mut self) {
        let new = self.get_all(true);
        if let Some(n) = new
            && (self.reconcile_new(n) || self.reconcile_old(n)) {
                return self.sync_rollout_status(new);
            }
        let current = self.d.status.clone().unwrap_or_default();
        if self.complete(&current) {
            self.cleanup(new);
        }
        self.sync_rollout_status(new);
    }

    fn reconcile_new(&mut self, new: usize) -> bool {
        let desired = self.replicas();
        let current = rs_replicas(&self.rses[new]);
        if current == desired {
            return false;
        }
        if current > desired {
            return self.scale_if_changed(new, desired);
        }
        let count = self.new_rs_new_replicas(new);
        self.scale_if_changed(new, count)
    }

    fn reconcile_old(&mut self, new: usize) -> bool {
        let olds = self.active(&self.olds(Some(new)));
        if self.sum(&olds, rs_replicas) == 0 {
            return false;
        }
        let all = self.all();
        let all_pods = self.sum(&all, rs_replicas);
        let min_available = self.replicas() - max_unavailable(&self.d);
        let new_unavailable = rs_replicas(&self.rses[new]) - rs_available(&self.rses[new]);
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return false;
        }
        // Unhealthy old replicas go first: they cost no availability.
        let mut cleaned = 0;
        for &i in &olds {
            if cleaned >= max_scaled_down {
                break;
            }
            let (count, available) = (rs_replicas(&self.rses[i]), rs_available(&self.rses[i]));
            if count == 0 || count == available {
                continue;
            }
            let down = (max_scaled_down - cleaned).min(count - available);
            self.scale_if_changed(i, count - down);
            cleaned += down;
        }
        // Then healthy ones, as far as availability allows.
        let available = self.sum(&self.all(), rs_available);
        let mut scaled = 0;
        if available > min_available {
            let total = available - min_available;
            for &i in &olds {
                if scaled >= total {
                    break;
                }
                let count = rs_replicas(&self.rses[i]);
                if count == 0 {
                    continue;
                }
                let down = count.min(total - scaled);
                self.scale_if_changed(i, count - down);
                scaled += down;
            }
        }
        cleaned + scaled > 0
    }

    fn rollout_recreate(&mut self) {
        let mut new = self.get_all(false);
        let olds = self.active(&self.olds(new));
        let mut scaled_down = false;
        for i in olds {
            scaled_down |= self.scale_if_changed(i, 0);
        }
        if scaled_down {
            return self.sync_rollout_status(new);
        }
        // Kubernetes waits for old pods to be gone by listing them; the
        // ReplicaSets' own pod counts say the same without a pod cache.
        if self.olds(new).iter().any(|i| rs_status_replicas(&self.rses[*i]) > 0) {
            return self.sync_rollout_status(new);
        }
        if new.is_none() {
            new = self.get_all(true);
        }
        if let Some(n) = new {
            let desired = self.replicas();
            self.scale_if_changed(n, desired);
        }
        let current = self.d.status.clone().unwrap_or_default();
        if self.complete(&current) {
            self.cleanup(new);
        }
        self.sync_rollout_status(new);
    }

    /// `isScalingEvent`: an active ReplicaSet was sized for another replica
    /// count than the Deployment asks now.
    fn is_scaling_event(&mut self) -> bool {
        self.get_all(false);
        let desired = self.replicas();
        self.active(&self.all()).iter().any(|i| desired_annotation(&self.rses[*i]).is_some_and(|a| a != desired))
    }

    /// `sync`: scaling (proportionally while a rollout is in flight) and
    /// paused Deployments.
    fn sync(&mut self, paused: bool) {
        let new = self.get_all(false);
        self.scale_all(new);
        if paused {
            self.cleanup(new);
        }
        self.status = self.calculate_status(new);
    }

    fn scale_all(&mut self, new: Option<usize>) {
        let desired = self.replicas();
        let mut olds = self.olds(new);
        olds.sort_by(|a, b| by_creation(&self.rses[*b], &self.rses[*a]));
        let mut candidates = olds.clone();
        candidates.extend(new);
        let active = self.active(&candidates);
        let active_or_latest = match active.len() {
            0 => new.or_else(|| olds.first().copied()),
            1 => Some(active[0]),
            _ => None,
        };
        if let Some(i) = active_or_latest {
            if rs_replicas(&self.rses[i]) != desired {
                self.scale(i, desired);
            }
            return;
        }
        if let Some(n) = new.filter(|n| self.is_saturated(*n)) {
            for i in self.active(&self.olds(Some(n))) {
                self.scale_if_changed(i, 0);
            }
            return;
        }
        if is_recreate(&self.d) {
            return;
        }
        let mut all = active;
        let total: i32 = self.sum(&all, rs_replicas);
        let allowed = if desired > 0 { desired + max_surge(&self.d) } else { 0 };
        let to_add = allowed - total;
        if to_add > 0 {
            all.sort_by(|a, b| by_size_newer(&self.rses[*a], &self.rses[*b]));
        } else if to_add < 0 {
            all.sort_by(|a, b| by_size_older(&self.rses[*a], &self.rses[*b]));
        }
        let mut added = 0;
        let mut sizes: Vec<(usize, i32)> = Vec::new();
        for &i in &all {
            let size = rs_replicas(&self.rses[i]);
            if to_add != 0 {
                let p = self.proportion(i, to_add, added);
                sizes.push((i, size + p));
                added += p;
            } else {
                sizes.push((i, size));
            }
        }
        // Rounding leftovers go to the largest ReplicaSet.
        if to_add != 0
            && let Some(first) = sizes.first_mut() {
                first.1 = (first.1 + to_add - added).max(0);
            }
        for (i, size) in sizes {
            self.scale(i, size);
        }
    }

    /// `IsSaturated`.
    fn is_saturated(&self, new: usize) -> bool {
        let rs = &self.rses[new];
        let desired = self.replicas();
        rs_replicas(rs) == desired && desired_annotation(rs) == Some(desired) && rs_available(rs) == desired
    }

    /// `GetProportion`.
    fn proportion(&self, i: usize, to_add: i32, added: i32) -> i32 {
        let rs = &self.rses[i];
        if rs_replicas(rs) == 0 || to_add == 0 || to_add == added {
            return 0;
        }
        let fraction = self.fraction(rs);
        let allowed = to_add - added;
        if to_add > 0 { fraction.min(allowed) } else { fraction.max(allowed) }
    }

    /// `getReplicaSetFraction`.
    fn fraction(&self, rs: &ReplicaSet) -> i32 {
        let desired = self.replicas();
        if desired == 0 {
            return -rs_replicas(rs);
        }
        let target = desired + max_surge(&self.d);
        let annotated = max_replicas_annotation(rs).unwrap_or_else(|| self.d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0));
        if annotated == 0 {
            return 0;
        }
        let size = f64::from(rs_replicas(rs) * target) / f64::from(annotated);
        size.round() as i32 - rs_replicas(rs)
    }

    /// `cleanupDeployment`: old ReplicaSets beyond revisionHistoryLimit that
    /// have nothing left, oldest revisions first.
    fn cleanup(&mut self, new: Option<usize>) {
        let Some(limit) = self.d.spec.as_ref().and_then(|s| s.revision_history_limit) else { return };
        let mut cleanable: Vec<usize> = self.olds(new).into_iter().filter(|i| self.rses[*i].metadata.deletion_timestamp.is_none()).collect();
        let diff = cleanable.len() as i32 - limit;
        if diff <= 0 {
            return;
        }
        cleanable.sort_by(|a, b| by_revision(&self.rses[*a], &self.rses[*b]));
        for &i in cleanable.iter().take(diff as usize) {
            let rs = &self.rses[i];
            let observed = rs.status.as_ref().and_then(|s| s.observed_generation).unwrap_or(0);
            if rs_status_replicas(rs) != 0 || rs_replicas(rs) != 0 || rs.metadata.generation.unwrap_or(0) > observed {
                continue;
            }
            self.steps.push(Step::Delete {
                name: rs.metadata.name.clone().unwrap_or_default(),
                uid: rs.metadata.uid.clone().unwrap_or_default(),
            });
        }
    }

    /// `DeploymentComplete`.
    fn complete(&self, st: &DeploymentStatus) -> bool {
        let desired = self.replicas();
        st.updated_replicas.unwrap_or(0) == desired
            && st.replicas.unwrap_or(0) == desired
            && st.available_replicas.unwrap_or(0) == desired
            && st.observed_generation.unwrap_or(0) >= self.d.metadata.generation.unwrap_or(0)
    }

    fn check_paused_conditions(&mut self) {
        if self.progress_deadline().is_none() {
            return;
        }
        let reason = get_condition(&self.status, PROGRESSING).and_then(|c| c.reason.clone());
        if reason.as_deref() == Some(TIMED_OUT) {
            return;
        }
        let paused = self.d.spec.as_ref().and_then(|s| s.paused) == Some(true);
        let paused_condition = reason.as_deref() == Some(PAUSED);
        if paused && !paused_condition {
            set_condition(&mut self.status, condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused".into(), self.now));
        } else if !paused && paused_condition {
            set_condition(&mut self.status, condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed".into(), self.now));
        }
    }

    /// `calculateStatus`: counts from the ReplicaSets and the Available
    /// condition; other conditions carried over.
    fn calculate_status(&self, new: Option<usize>) -> DeploymentStatus {
        let all = self.all();
        let available = self.sum(&all, rs_available);
        let total = self.sum(&all, rs_replicas);
        let nonzero = |v: i32| if v == 0 { None } else { Some(v) };
        let mut st = DeploymentStatus {
            observed_generation: self.d.metadata.generation,
            replicas: nonzero(self.sum(&all, rs_status_replicas)),
            updated_replicas: nonzero(new.map(|n| rs_status_replicas(&self.rses[n])).unwrap_or(0)),
            ready_replicas: nonzero(self.sum(&all, rs_ready)),
            available_replicas: nonzero(available),
            unavailable_replicas: nonzero((total - available).max(0)),
            collision_count: self.status.collision_count,
            conditions: self.status.conditions.clone(),
            terminating_replicas: None,
        };
        if available >= self.replicas() - max_unavailable(&self.d) {
            set_condition(&mut st, condition(AVAILABLE, "True", MIN_AVAILABLE, "Deployment has minimum availability.".into(), self.now));
        } else {
            set_condition(&mut st, condition(AVAILABLE, "False", MIN_UNAVAILABLE, "Deployment does not have minimum availability.".into(), self.now));
        }
        st
    }

    /// `syncRolloutStatus`: the status plus the Progressing condition.
    fn sync_rollout_status(&mut self, new: Option<usize>) {
        let mut st = self.calculate_status(new);
        let old = self.d.status.clone().unwrap_or_default();
        let new_name = new.and_then(|n| self.rses[n].metadata.name.clone());
        let d_name = self.d.metadata.name.clone().unwrap_or_default();
        if self.progress_deadline().is_none() {
            remove_condition(&mut st, PROGRESSING);
        }
        let current = get_condition(&st, PROGRESSING).cloned();
        let finished = st.replicas == st.updated_replicas && current.as_ref().and_then(|c| c.reason.as_deref()) == Some(NEW_RS_AVAILABLE);
        if self.progress_deadline().is_some() && !finished {
            let what = match &new_name {
                Some(n) => format!("ReplicaSet {n:?}"),
                None => format!("Deployment {d_name:?}"),
            };
            let g = |v: Option<i32>| v.unwrap_or(0);
            let progressing = g(st.updated_replicas) > g(old.updated_replicas)
                || g(st.replicas) - g(st.updated_replicas) < g(old.replicas) - g(old.updated_replicas)
                || g(st.ready_replicas) > g(old.ready_replicas)
                || g(st.available_replicas) > g(old.available_replicas);
            if self.complete(&st) {
                let c = condition(PROGRESSING, "True", NEW_RS_AVAILABLE, format!("{what} has successfully progressed."), self.now);
                set_condition(&mut st, c);
            } else if progressing {
                let mut c = condition(PROGRESSING, "True", RS_UPDATED, format!("{what} is progressing."), self.now);
                if let Some(cur) = current.as_ref().filter(|c| c.status == "True") {
                    c.last_transition_time = cur.last_transition_time.clone();
                }
                remove_condition(&mut st, PROGRESSING);
                set_condition(&mut st, c);
            } else if self.timed_out(&st) {
                let c = condition(PROGRESSING, "False", TIMED_OUT, format!("{what} has timed out progressing."), self.now);
                set_condition(&mut st, c);
            }
        }
        // A ReplicaSet's failure to make pods (quota) is the Deployment's.
        let mut order: Vec<usize> = new.into_iter().collect();
        order.extend(self.olds(new));
        let failure = order.iter().find_map(|i| {
            self.rses[*i].status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|cs| cs.iter().find(|c| c.type_ == "ReplicaFailure" && c.status == "True")).cloned()
        });
        match failure {
            Some(f) => set_condition(
                &mut st,
                condition(REPLICA_FAILURE, &f.status, f.reason.as_deref().unwrap_or_default(), f.message.unwrap_or_default(), self.now),
            ),
            None => remove_condition(&mut st, REPLICA_FAILURE),
        }
        self.status = st;
    }

    /// `DeploymentTimedOut`.
    fn timed_out(&self, st: &DeploymentStatus) -> bool {
        let Some(deadline) = self.progress_deadline() else { return false };
        let Some(c) = get_condition(st, PROGRESSING) else { return false };
        match c.reason.as_deref() {
            Some(NEW_RS_AVAILABLE) => false,
            Some(TIMED_OUT) => true,
            _ => c.last_update_time.as_ref().is_some_and(|t| t.0 + jiff::SignedDuration::from_secs(i64::from(deadline)) < self.now),
        }
    }

    /// `requeueStuckDeployment`: look again when the progress deadline
    /// passes, since nothing else will trigger a sync then.
    fn requeue(&self) -> Option<Duration> {
        let deadline = self.progress_deadline()?;
        let c = get_condition(&self.status, PROGRESSING)?;
        if matches!(c.reason.as_deref(), Some(NEW_RS_AVAILABLE) | Some(TIMED_OUT)) || self.timed_out(&self.status) {
            return None;
        }
        let at = c.last_update_time.as_ref()?.0 + jiff::SignedDuration::from_secs(i64::from(deadline));
        let after = at.duration_since(self.now);
        Some(Duration::from_secs(after.as_secs().max(1) as u64))
    }
}

#[cfg(test)]
mod tests;
