//! One scheduling decision: filter every node, score the feasible ones,
//! pick the best; or, when none fits, the diagnosis in kube-scheduler's
//! words (`0/3 nodes are available: 3 Insufficient cpu. preemption: ...`).

use super::cache::{Cache, NodeInfo, PodInfo};
use super::filter::{Reason, filter, prefilter};
use super::score::score;
use std::collections::BTreeMap;

/// Why a pod fits nowhere: each node's reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitError {
    pub nodes: usize,
    pub reasons: Vec<Vec<Reason>>,
    /// A reason that rules out every node before any is filtered
    /// (Kubernetes' PreFilter rejection, e.g. a missing claim).
    pub prefilter: Option<String>,
}

impl std::fmt::Display for FitError {
    /// Kubernetes' `FitError.Error()`: the reasons as a sorted histogram,
    /// then what preemption found. Without lower-priority pods to evict
    /// (Nubis does not preempt yet), every node where preemption could
    /// help has no victims.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.nodes == 0 {
            return write!(f, "no nodes available to schedule pods");
        }
        if let Some(reason) = &self.prefilter {
            let n = self.nodes;
            return write!(
                f,
                "0/{n} nodes are available: {reason}. preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling."
            );
        }
        let mut histogram: BTreeMap<&str, usize> = BTreeMap::new();
        for reasons in &self.reasons {
            for r in reasons {
                *histogram.entry(r.text.as_str()).or_default() += 1;
            }
        }
        write!(f, "0/{} nodes are available: {}.", self.nodes, sorted(histogram))?;
        let mut preemption: BTreeMap<&str, usize> = BTreeMap::new();
        for reasons in &self.reasons {
            let text = if reasons.iter().any(|r| r.unresolvable) {
                "Preemption is not helpful for scheduling"
            } else {
                "No preemption victims found for incoming pod"
            };
            *preemption.entry(text).or_default() += 1;
        }
        write!(f, " preemption: 0/{} nodes are available: {}.", self.nodes, sorted(preemption))
    }
}

/// "3 Insufficient cpu, 1 Too many pods", sorted as strings as Kubernetes
/// sorts them.
fn sorted(histogram: BTreeMap<&str, usize>) -> String {
    let mut parts: Vec<String> = histogram.into_iter().map(|(r, n)| format!("{n} {r}")).collect();
    parts.sort();
    parts.join(", ")
}

/// Picks a node for the pod. `tie` rotates the choice among equally good
/// nodes (Kubernetes picks one at random).
pub fn decide(pod: &PodInfo, cache: &Cache, tie: usize) -> Result<String, FitError> {
    decide_with(pod, cache, tie, &|_| Ok(()))
}

/// [`decide`] with one more filter after the built-in ones (volume
/// binding).
pub fn decide_with(
    pod: &PodInfo,
    cache: &Cache,
    tie: usize,
    more: &dyn Fn(&NodeInfo) -> Result<(), Vec<Reason>>,
) -> Result<String, FitError> {
    let state = prefilter(pod, cache);
    let mut feasible = Vec::new();
    let mut reasons = Vec::new();
    for node in cache.nodes.values() {
        match filter(pod, node, &state).and_then(|()| more(node)) {
            Ok(()) => feasible.push(node),
            Err(r) => reasons.push(r),
        }
    }
    if feasible.is_empty() {
        return Err(FitError { nodes: cache.nodes.len(), reasons, prefilter: None });
    }
    if feasible.len() == 1 {
        return Ok(feasible[0].name.clone());
    }
    let scores = score(pod, &feasible, cache);
    let best = scores.iter().copied().max().unwrap_or(0);
    let top: Vec<usize> = (0..feasible.len()).filter(|i| scores[*i] == best).collect();
    Ok(feasible[top[tie % top.len()]].name.clone())
}
