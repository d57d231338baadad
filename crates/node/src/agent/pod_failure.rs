//! Why the node ends a pod whose containers would otherwise run on: the
//! kubelet's eviction (a node under pressure, or a pod over its local
//! storage limits) and a pod's `activeDeadlineSeconds`. Either way its
//! containers are stopped, it is taken down, and its phase is `Failed`
//! for good with the reason and message below.

/// A pod's end decided by the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `Evicted` or `DeadlineExceeded`, as the kubelet says.
    pub reason: String,
    pub message: String,
    /// The pod gets the `DisruptionTarget` condition (evictions).
    pub disruption: bool,
    /// The grace its containers get; `None`: the pod's own.
    pub grace_seconds: Option<i64>,
}

impl Failure {
    /// An eviction: a hard eviction threshold gives no grace.
    pub fn evicted(message: String) -> Failure {
        Failure { reason: "Evicted".into(), message, disruption: true, grace_seconds: Some(0) }
    }

    /// The pod ran longer than its `activeDeadlineSeconds`.
    pub fn deadline_exceeded() -> Failure {
        Failure { reason: "DeadlineExceeded".into(), message: "Pod was active on the node longer than the specified deadline".into(), disruption: false, grace_seconds: None }
    }

    /// The type of the Event about it: an eviction is a warning.
    pub fn event_type(&self) -> &'static str {
        if self.disruption { "Warning" } else { "Normal" }
    }
}
