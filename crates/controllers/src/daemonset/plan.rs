//! One DaemonSet sync decided as a pure function of the DaemonSet, the
//! nodes and its pods (Kubernetes' `manage`, `rollingUpdate` and
//! `updateDaemonSetStatus`): a pod for every node that should run one,
//! none elsewhere, failed pods replaced; then, when nothing else was to
//! do, old pods replaced within maxUnavailable (or new ones surged within
//! maxSurge); and the status.

use super::placement::{is_updated, should_run, target_node, template_generation};
use crate::deployment::util::scaled_value;
use crate::history::POD_REVISION_LABEL;
use crate::replicaset::pods::{is_available, is_ready};
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{Node, Pod};
use std::collections::BTreeMap;

/// A pod to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doomed {
    pub name: String,
    pub uid: String,
}

#[derive(Debug, Default)]
pub struct Plan {
    /// Nodes to create a pod for.
    pub create_on: Vec<String>,
    pub delete: Vec<Doomed>,
    /// `FailedDaemonPod` Warning messages.
    pub warnings: Vec<String>,
    pub status: DaemonSetStatus,
}

fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

fn doomed(pod: &Pod) -> Doomed {
    Doomed { name: pod.metadata.name.clone().unwrap_or_default(), uid: pod.metadata.uid.clone().unwrap_or_default() }
}

/// Scheduled pods first, then oldest first (`podByCreationTimestampAndPhase`).
fn oldest_first(pods: &mut [&Pod]) {
    let bound = |p: &Pod| p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some_and(|n| !n.is_empty());
    let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
    pods.sort_by(|a, b| bound(b).cmp(&bound(a)).then_with(|| created(a).cmp(&created(b))).then_with(|| a.metadata.name.cmp(&b.metadata.name)));
}

/// The daemon pods by the node they are for, leaving out ended pods
/// being deleted (`getNodesToDaemonPods`).
pub fn pods_by_node<'a>(pods: &[&'a Pod]) -> BTreeMap<String, Vec<&'a Pod>> {
    let mut by_node: BTreeMap<String, Vec<&Pod>> = BTreeMap::new();
    for pod in pods {
        let ended = matches!(phase(pod), "Succeeded" | "Failed");
        if ended && pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        if let Some(node) = target_node(pod) {
            by_node.entry(node).or_default().push(pod);
        }
    }
    for list in by_node.values_mut() {
        oldest_first(list);
    }
    by_node
}

/// (maxSurge, maxUnavailable) in pods for `desired` nodes; both zero
/// would stall, so maxUnavailable becomes 1 (`updatedDesiredNodeCounts`).
pub fn fenceposts(ds: &DaemonSet, desired: i32) -> (i32, i32) {
    let ru = ds
        .spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .filter(|u| u.type_.as_deref().is_none_or(|t| t == "RollingUpdate"))
        .and_then(|u| u.rolling_update.as_ref());
    let surge = ru.and_then(|r| r.max_surge.as_ref()).map(|v| scaled_value(v, desired, true)).unwrap_or(0);
    let unavailable = ru.and_then(|r| r.max_unavailable.as_ref()).map(|v| scaled_value(v, desired, true)).unwrap_or(1);
    if desired > 0 && surge == 0 && unavailable == 0 {
        return (0, 1);
    }
    (surge, unavailable)
}

fn allows_surge(ds: &DaemonSet) -> bool {
    fenceposts(ds, 1).0 > 0
}

/// Pod creations and deletions that make every node run what it should
/// (`manage` and `podsShouldBeOnNode`). Pods for nodes that no longer
/// exist are deleted too.
pub fn manage(ds: &DaemonSet, nodes: &[&Node], by_node: &BTreeMap<String, Vec<&Pod>>, hash: &str) -> (Vec<String>, Vec<Doomed>, Vec<String>) {
    let (mut create, mut delete, mut warnings) = (Vec::new(), Vec::new(), Vec::new());
    for node in nodes {
        let node_name = node.metadata.name.clone().unwrap_or_default();
        let (run, keep) = should_run(ds, node);
        let pods = by_node.get(&node_name);
        match pods {
            None if run => create.push(node_name),
            Some(pods) if keep => {
                let mut running: Vec<&Pod> = Vec::new();
                for pod in pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()) {
                    match phase(pod) {
                        "Failed" => {
                            let ns = pod.metadata.namespace.clone().unwrap_or_default();
                            let name = pod.metadata.name.clone().unwrap_or_default();
                            warnings.push(format!("Found failed daemon pod {ns}/{name} on node {node_name}, will try to kill it"));
                            delete.push(doomed(pod));
                        }
                        "Succeeded" => delete.push(doomed(pod)),
                        _ => running.push(pod),
                    }
                }
                if !allows_surge(ds) {
                    // One pod per node: the oldest stays.
                    delete.extend(running.iter().skip(1).map(|p| doomed(p)));
                    continue;
                }
                // Surging: an old and a new pod may share a node while the
                // new one is not Ready and the old one is.
                let (mut oldest_new, mut oldest_old): (Option<&Pod>, Option<&Pod>) = (None, None);
                for pod in running {
                    let new = pod.metadata.labels.as_ref().and_then(|l| l.get(POD_REVISION_LABEL)).map(String::as_str) == Some(hash);
                    let slot = if new { &mut oldest_new } else { &mut oldest_old };
                    if slot.is_none() {
                        *slot = Some(pod);
                    } else {
                        delete.push(doomed(pod));
                    }
                }
                if let (Some(new), Some(old)) = (oldest_new, oldest_old)
                    && (!is_ready(old) || is_ready(new))
                {
                    delete.push(doomed(old));
                }
            }
            Some(pods) if !keep => delete.extend(pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).map(|p| doomed(p))),
            _ => {}
        }
    }
    for (node_name, pods) in by_node {
        if !nodes.iter().any(|n| n.metadata.name.as_ref() == Some(node_name)) {
            delete.extend(pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).map(|p| doomed(p)));
        }
    }
    (create, delete, warnings)
}

/// The one new and one old pod on a node, or `None` when there are more
/// (`findUpdatedPodsOnNode`); pods being deleted do not count.
fn new_and_old<'a>(pods: &[&'a Pod], hash: &str, generation: Option<i64>) -> Option<(Option<&'a Pod>, Option<&'a Pod>)> {
    let (mut new, mut old) = (None, None);
    for pod in pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()) {
        let slot = if is_updated(pod, hash, generation) { &mut new } else { &mut old };
        if slot.is_some() {
            return None;
        }
        *slot = Some(*pod);
    }
    Some((new, old))
}

/// Rolling update (`rollingUpdate`): old pods to delete and nodes to
/// surge onto, in node name order.
pub fn rolling_update(ds: &DaemonSet, nodes: &[&Node], by_node: &BTreeMap<String, Vec<&Pod>>, hash: &str, now: jiff::Timestamp) -> (Vec<String>, Vec<Doomed>) {
    let min_ready = ds.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let generation = template_generation(ds);
    let mut candidates: BTreeMap<String, Vec<&Pod>> = by_node.clone();
    let mut desired = 0;
    let mut runs: BTreeMap<String, bool> = BTreeMap::new();
    for node in nodes {
        let name = node.metadata.name.clone().unwrap_or_default();
        let (run, _) = should_run(ds, node);
        runs.insert(name.clone(), run);
        if run {
            desired += 1;
            candidates.entry(name).or_default();
        }
    }
    let (max_surge, max_unavailable) = fenceposts(ds, desired);
    let available = |p: &Pod| is_available(p, min_ready, now);

    if max_surge == 0 {
        let mut unavailable = 0;
        let (mut allowed, mut doomed_old) = (Vec::new(), Vec::new());
        for pods in candidates.values() {
            match new_and_old(pods, hash, generation) {
                None | Some((None, None)) | Some((Some(_), Some(_))) => unavailable += 1,
                Some((Some(new), None)) => {
                    if !available(new) {
                        unavailable += 1;
                    }
                }
                Some((None, Some(old))) => {
                    if !available(old) {
                        // Down anyway: replace it now.
                        allowed.push(doomed(old));
                        unavailable += 1;
                    } else if unavailable < max_unavailable {
                        doomed_old.push(doomed(old));
                    }
                }
            }
        }
        let room = (max_unavailable - unavailable).max(0) as usize;
        allowed.extend(doomed_old.into_iter().take(room));
        return (Vec::new(), allowed);
    }

    let (mut delete, mut not_running_old, mut candidate_nodes, mut allowed_nodes) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut surge, mut num_available) = (0, 0);
    for (node, pods) in &candidates {
        let Some((new, old)) = new_and_old(pods, hash, generation) else {
            surge += 1;
            continue;
        };
        if old.or(new).is_some_and(available) {
            num_available += 1;
        }
        match (new, old) {
            (_, None) => {}
            (None, Some(old)) => {
                let run = runs.get(node).copied().unwrap_or(false);
                if !available(old) {
                    if run {
                        allowed_nodes.push(node.clone());
                    } else {
                        delete.push(doomed(old));
                    }
                } else if !run {
                    not_running_old.push(doomed(old));
                } else if surge < max_surge {
                    candidate_nodes.push(node.clone());
                }
            }
            (Some(new), Some(old)) => {
                if available(new) {
                    delete.push(doomed(old));
                } else {
                    surge += 1;
                }
            }
        }
    }
    // Pods on nodes the DaemonSet left go only once others are available.
    let deletable = (num_available - desired).max(0) as usize;
    delete.extend(not_running_old.into_iter().take(deletable));
    let room = (max_surge - surge).max(0) as usize;
    allowed_nodes.extend(candidate_nodes.into_iter().take(room));
    (allowed_nodes, delete)
}

/// The status (`updateDaemonSetStatus`); `observed` raises
/// observedGeneration (only a sync that acted on this generation does).
pub fn status(ds: &DaemonSet, nodes: &[&Node], by_node: &BTreeMap<String, Vec<&Pod>>, hash: &str, observed: bool, now: jiff::Timestamp) -> DaemonSetStatus {
    let min_ready = ds.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let generation = template_generation(ds);
    let mut st = ds.status.clone().unwrap_or_default();
    let (mut desired, mut current, mut misscheduled, mut ready, mut available, mut updated) = (0, 0, 0, 0, 0, 0);
    for node in nodes {
        let name = node.metadata.name.clone().unwrap_or_default();
        let pods = by_node.get(&name).filter(|p| !p.is_empty());
        let (run, _) = should_run(ds, node);
        match pods {
            Some(pods) if run => {
                desired += 1;
                current += 1;
                let pod = pods[0];
                if is_ready(pod) {
                    ready += 1;
                    if is_available(pod, min_ready, now) {
                        available += 1;
                    }
                }
                if is_updated(pod, hash, generation) {
                    updated += 1;
                }
            }
            None if run => desired += 1,
            Some(_) => misscheduled += 1,
            None => {}
        }
    }
    let nonzero = |n: i32| (n != 0).then_some(n);
    st.desired_number_scheduled = desired;
    st.current_number_scheduled = current;
    st.number_misscheduled = misscheduled;
    st.number_ready = ready;
    st.number_available = nonzero(available);
    st.updated_number_scheduled = nonzero(updated);
    st.number_unavailable = nonzero(desired - available);
    if observed {
        st.observed_generation = ds.metadata.generation;
    }
    st
}

/// Decides one sync. `synced`: the pod cache shows this controller's
/// earlier creates and deletes, so it may act.
pub fn plan(ds: &DaemonSet, nodes: &[&Node], pods: &[&Pod], hash: &str, synced: bool, now: jiff::Timestamp) -> Plan {
    let by_node = pods_by_node(pods);
    let acting = synced && ds.metadata.deletion_timestamp.is_none();
    let mut plan = Plan { status: status(ds, nodes, &by_node, hash, acting, now), ..Default::default() };
    if !acting {
        return plan;
    }
    let (create, delete, warnings) = manage(ds, nodes, &by_node, hash);
    let rolling = ds.spec.as_ref().and_then(|s| s.update_strategy.as_ref()).and_then(|u| u.type_.as_deref()).is_none_or(|t| t == "RollingUpdate");
    if create.is_empty() && delete.is_empty() && rolling {
        let (create, delete) = rolling_update(ds, nodes, &by_node, hash, now);
        plan.create_on = create;
        plan.delete = delete;
    } else {
        plan.create_on = create;
        plan.delete = delete;
    }
    plan.warnings = warnings;
    plan
}

#[cfg(test)]
mod tests;
