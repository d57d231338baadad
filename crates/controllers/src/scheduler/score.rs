//! Scoring the nodes that passed the filters, with kube-scheduler's default
//! plugins and weights: NodeResourcesFit (least allocated, 1),
//! NodeResourcesBalancedAllocation (1), NodeAffinity preferred terms (2),
//! InterPodAffinity preferred terms (2), PodTopologySpread (2) and
//! TaintToleration's PreferNoSchedule count (3). Each plugin's scores are
//! normalized to 0..=100 before weighting.

use super::cache::{Cache, NodeInfo, PodInfo};
use super::filter::{node_term_matches, selector_matches, spread_counts, tolerates};

const MAX: i64 = 100;

/// The weighted score of each feasible node, in the order given.
pub fn score(pod: &PodInfo, nodes: &[&NodeInfo], cache: &Cache) -> Vec<i64> {
    let mut total = vec![0i64; nodes.len()];
    let mut add = |scores: Vec<i64>, weight: i64| {
        for (t, s) in total.iter_mut().zip(scores) {
            *t += s * weight;
        }
    };
    add(nodes.iter().map(|n| least_allocated(pod, n)).collect(), 1);
    add(nodes.iter().map(|n| balanced(pod, n)).collect(), 1);
    let spec = pod.pod.spec.as_ref();
    let affinity = spec.and_then(|s| s.affinity.as_ref());
    if let Some(preferred) = affinity
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref())
    {
        let raw = nodes
            .iter()
            .map(|n| preferred.iter().filter(|p| node_term_matches(&p.preference, n)).map(|p| i64::from(p.weight)).sum())
            .collect();
        add(normalize_max(raw), 2);
    }
    if affinity.is_some_and(|a| a.pod_affinity.is_some() || a.pod_anti_affinity.is_some()) {
        add(normalize_min_max(nodes.iter().map(|n| inter_pod(pod, n, cache)).collect()), 2);
    }
    let soft_spread: Vec<_> = spec
        .and_then(|s| s.topology_spread_constraints.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.when_unsatisfiable == "ScheduleAnyway" || c.when_unsatisfiable == "DoNotSchedule")
        .collect();
    if !soft_spread.is_empty() {
        // Fewer matching pods in the node's domains is better.
        let counts: Vec<_> = soft_spread.iter().map(|c| (c, spread_counts(c, pod, cache).0)).collect();
        let raw: Vec<i64> = nodes
            .iter()
            .map(|n| {
                counts
                    .iter()
                    .map(|(c, counts)| {
                        n.labels.get(&c.topology_key).and_then(|v| counts.get(v)).copied().unwrap_or(0) as i64
                    })
                    .sum()
            })
            .collect();
        add(normalize_reverse(raw), 2);
    }
    let tolerations = spec.and_then(|s| s.tolerations.clone()).unwrap_or_default();
    let raw = nodes
        .iter()
        .map(|n| {
            n.taints.iter().filter(|t| t.effect == "PreferNoSchedule" && !tolerates(&tolerations, t)).count() as i64
        })
        .collect();
    add(normalize_reverse(raw), 3);
    total
}

/// How much CPU and memory would stay free, on average, in percent.
pub fn least_allocated(pod: &PodInfo, node: &NodeInfo) -> i64 {
    let part = |requested: i64, allocatable: i64| {
        if allocatable <= 0 || requested > allocatable {
            return 0;
        }
        (allocatable - requested) * MAX / allocatable
    };
    let cpu = part(node.non_zero_requested.0 + pod.non_zero.0, node.allocatable.milli_cpu);
    let mem = part(node.non_zero_requested.1 + pod.non_zero.1, node.allocatable.memory);
    (cpu + mem) / 2
}

/// How evenly CPU and memory would be used (100 when equal fractions).
pub fn balanced(pod: &PodInfo, node: &NodeInfo) -> i64 {
    let fraction = |requested: i64, allocatable: i64| {
        if allocatable <= 0 { 1.0 } else { (requested as f64 / allocatable as f64).min(1.0) }
    };
    let cpu = fraction(node.requested.milli_cpu + pod.requests.milli_cpu, node.allocatable.milli_cpu);
    let mem = fraction(node.requested.memory + pod.requests.memory, node.allocatable.memory);
    // The standard deviation of two fractions is half their difference.
    let std = (cpu - mem).abs() / 2.0;
    ((1.0 - std) * MAX as f64) as i64
}

/// Preferred pod affinity weights minus preferred anti-affinity weights
/// for pods in the node's domains.
fn inter_pod(pod: &PodInfo, node: &NodeInfo, cache: &Cache) -> i64 {
    let Some(affinity) = pod.pod.spec.as_ref().and_then(|s| s.affinity.as_ref()) else { return 0 };
    let weighted = |terms: Option<&Vec<k8s_openapi::api::core::v1::WeightedPodAffinityTerm>>| {
        terms
            .into_iter()
            .flatten()
            .map(|w| {
                let t = &w.pod_affinity_term;
                let Some(domain) = node.labels.get(&t.topology_key) else { return 0 };
                let Some(selector) = t.label_selector.as_ref() else { return 0 };
                let namespaces = t.namespaces.clone().unwrap_or_default();
                let matching = cache
                    .pods
                    .values()
                    .filter(|(n, p)| {
                        cache.nodes.get(n).and_then(|n| n.labels.get(&t.topology_key)) == Some(domain)
                            && (if namespaces.is_empty() { p.namespace == pod.namespace } else { namespaces.contains(&p.namespace) })
                            && selector_matches(selector, &p.labels)
                    })
                    .count() as i64;
                matching * i64::from(w.weight)
            })
            .sum::<i64>()
    };
    let plus = weighted(affinity.pod_affinity.as_ref().and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref()));
    let minus = weighted(
        affinity.pod_anti_affinity.as_ref().and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref()),
    );
    plus - minus
}

/// Scales so the highest is 100.
fn normalize_max(raw: Vec<i64>) -> Vec<i64> {
    let max = raw.iter().copied().max().unwrap_or(0);
    if max <= 0 {
        return raw.into_iter().map(|_| 0).collect();
    }
    raw.into_iter().map(|s| s * MAX / max).collect()
}

/// Scales from the lowest (0) to the highest (100).
fn normalize_min_max(raw: Vec<i64>) -> Vec<i64> {
    let (min, max) = (raw.iter().copied().min().unwrap_or(0), raw.iter().copied().max().unwrap_or(0));
    if max == min {
        return raw.into_iter().map(|_| 0).collect();
    }
    raw.into_iter().map(|s| (s - min) * MAX / (max - min)).collect()
}

/// Scales so the lowest raw value gets 100 and the highest 0.
fn normalize_reverse(raw: Vec<i64>) -> Vec<i64> {
    let max = raw.iter().copied().max().unwrap_or(0);
    if max <= 0 {
        return raw.into_iter().map(|_| MAX).collect();
    }
    raw.into_iter().map(|s| MAX - s * MAX / max).collect()
}
