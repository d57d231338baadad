//! `spec.podFailurePolicy`: the first rule matching a failed pod's exit
//! codes or conditions decides whether the failure fails the Job
//! (`FailJob`), is not counted (`Ignore`) or counts toward
//! `backoffLimit` (`Count`, also the verdict when no rule matches).
//! `FailIndex` needs `backoffLimitPerIndex`, which is not implemented, so
//! such rules are skipped.

use k8s_openapi::api::batch::v1::{
    PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyRule,
};
use crate::cached_pod::{CachedContainerStatus, CachedPod};

/// What a failed pod means for its Job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Fail the Job with this message (reason `PodFailurePolicy`).
    FailJob(String),
    /// Do not count the failure.
    Ignore,
    /// Count it toward `backoffLimit`.
    Count,
}

impl Verdict {
    pub fn counts(&self) -> bool {
        !matches!(self, Verdict::Ignore)
    }
}

/// The verdict of `policy` on a failed `pod`.
pub fn evaluate(policy: &PodFailurePolicy, pod: &CachedPod) -> Verdict {
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    for (index, rule) in policy.rules.iter().enumerate() {
        let Some(what) = matching(rule, pod) else {
            continue;
        };
        return match rule.action.as_str() {
            "FailJob" => Verdict::FailJob(match what {
                Match::ExitCode(container, code) => {
                    format!(
                        "Container {container} for pod {ns}/{name} failed with exit code {code} matching FailJob rule at index {index}"
                    )
                }
                Match::Condition(type_) => format!(
                    "Pod {ns}/{name} has condition {type_} matching FailJob rule at index {index}"
                ),
            }),
            "Ignore" => Verdict::Ignore,
            "Count" => Verdict::Count,
            _ => continue,
        };
    }
    Verdict::Count
}

enum Match {
    ExitCode(String, i32),
    Condition(String),
}

fn matching(rule: &PodFailurePolicyRule, pod: &CachedPod) -> Option<Match> {
    if rule.action == "FailIndex" {
        return None;
    }
    let status = pod.status.as_ref()?;
    if let Some(req) = &rule.on_exit_codes {
        let statuses = status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten());
        return statuses.filter_map(|c| exit_code_match(c, req)).next();
    }
    let conditions = status.conditions.as_deref().unwrap_or_default();
    rule.on_pod_conditions.iter().flatten().find_map(|pattern| {
        let wanted = if pattern.status.is_empty() {
            "True"
        } else {
            pattern.status.as_str()
        };
        conditions
            .iter()
            .find(|c| c.type_ == pattern.type_ && c.status == wanted)
            .map(|c| Match::Condition(c.type_.clone()))
    })
}

fn exit_code_match(
    c: &CachedContainerStatus,
    req: &PodFailurePolicyOnExitCodesRequirement,
) -> Option<Match> {
    let code = c.state.as_ref()?.terminated.as_ref()?.exit_code;
    if req.container_name.as_deref().is_some_and(|n| n != c.name) || code == 0 {
        return None;
    }
    let listed = req.values.contains(&code);
    let hit = match req.operator.as_str() {
        "In" => listed,
        "NotIn" => !listed,
        _ => false,
    };
    hit.then(|| Match::ExitCode(c.name.clone(), code))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    fn pod(exit: i32, conditions: serde_json::Value) -> CachedPod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "status": {"phase": "Failed", "conditions": conditions, "containerStatuses": [
                {"name": "main", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                 "state": {"terminated": {"exitCode": exit}}}]}
        }))
        .unwrap()
    }

    fn policy(rules: serde_json::Value) -> PodFailurePolicy {
        serde_json::from_value(serde_json::json!({ "rules": rules })).unwrap()
    }

    #[test]
    fn job_failure_policy_rules_in_order() {
        let p = policy(serde_json::json!([
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
            {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}},
            {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [1]}},
        ]));
        assert_eq!(
            evaluate(&p, &pod(42, serde_json::json!([]))),
            Verdict::FailJob("Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1".into())
        );
        let disrupted = pod(
            42,
            serde_json::json!([{"type": "DisruptionTarget", "status": "True"}]),
        );
        assert_eq!(evaluate(&p, &disrupted), Verdict::Ignore);
        assert_eq!(evaluate(&p, &pod(1, serde_json::json!([]))), Verdict::Count);
        assert_eq!(evaluate(&p, &pod(0, serde_json::json!([]))), Verdict::Count);
        let fail_on_condition = policy(
            serde_json::json!([{"action": "FailJob", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]),
        );
        assert_eq!(
            evaluate(&fail_on_condition, &disrupted),
            Verdict::FailJob(
                "Pod ns/p has condition DisruptionTarget matching FailJob rule at index 0".into()
            )
        );
        assert!(!Verdict::Ignore.counts());
    }
}
