//! The registry of Pod Security checks: which check applies at which level
//! and version, in the order Kubernetes reports them, and the phrasing
//! helpers the checks share.

use serde_json::Value;

use super::level::{Level, LevelVersion};
use super::{baseline, profiles, restricted};
use crate::validation::json::{arr_at, field, s};

/// One failed check: `reason (detail)` in the messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// Kubernetes' check ID, e.g. `allowPrivilegeEscalation`.
    pub id: &'static str,
    /// Short, always printed: `allowPrivilegeEscalation != false`.
    pub reason: String,
    /// What exactly is wrong; may be empty.
    pub detail: String,
}

/// The pod being checked: its metadata and spec (a Pod's own, or a
/// workload's template).
pub(crate) struct Pod<'a> {
    pub meta: &'a Value,
    pub spec: &'a Value,
}

impl<'a> Pod<'a> {
    /// Init containers, containers, then ephemeral containers: the order
    /// names appear in details.
    pub fn containers(&self) -> impl Iterator<Item = &'a Value> + 'a {
        let spec = self.spec;
        arr_at(spec, &["initContainers"])
            .iter()
            .chain(arr_at(spec, &["containers"]))
            .chain(arr_at(spec, &["ephemeralContainers"]))
    }

    pub fn volumes(&self) -> &'a [Value] {
        arr_at(self.spec, &["volumes"])
    }

    /// Windows pods are exempt from the Linux-only restricted checks (1.25+).
    pub fn is_windows(&self) -> bool {
        s(self.spec, &["os", "name"]) == "windows"
    }

    /// The pod-level security context field, if set (not null).
    pub fn pod_sc(&self, path: &[&str]) -> Option<&'a Value> {
        let mut p = vec!["securityContext"];
        p.extend_from_slice(path);
        field(self.spec, &p)
    }
}

/// A container's security context field, if set (not null).
pub(crate) fn sc<'a>(c: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut p = vec!["securityContext"];
    p.extend_from_slice(path);
    field(c, &p)
}

pub(crate) fn name(c: &Value) -> String {
    s(c, &["name"]).to_string()
}

/// A check's verdict: `None` allows, `Some((reason, detail))` forbids.
pub(crate) type Verdict = Option<(String, String)>;

type CheckFn = fn(&Pod, u32) -> Verdict;

struct Check {
    id: &'static str,
    level: Level,
    /// The first policy minor version (1.x) the check belongs to.
    since: u32,
    /// The baseline check this restricted check replaces when it applies.
    overrides: Option<&'static str>,
    run: CheckFn,
}

const fn check(id: &'static str, level: Level, since: u32, run: CheckFn) -> Check {
    Check {
        id,
        level,
        since,
        overrides: None,
        run,
    }
}

const fn replacing(mut c: Check, id: &'static str) -> Check {
    c.overrides = Some(id);
    c
}

/// Baseline checks sorted by ID, then restricted checks sorted by ID: the
/// order Kubernetes evaluates them in, hence the order of the reasons.
const CHECKS: &[Check] = &[
    check("appArmorProfile", Level::Baseline, 0, profiles::app_armor),
    check(
        "capabilities_baseline",
        Level::Baseline,
        0,
        baseline::capabilities,
    ),
    check(
        "hostNamespaces",
        Level::Baseline,
        0,
        baseline::host_namespaces,
    ),
    check(
        "hostPathVolumes",
        Level::Baseline,
        0,
        baseline::host_path_volumes,
    ),
    check("hostPorts", Level::Baseline, 0, baseline::host_ports),
    check("privileged", Level::Baseline, 0, baseline::privileged),
    check("procMount", Level::Baseline, 0, baseline::proc_mount),
    check("seLinuxOptions", Level::Baseline, 0, profiles::se_linux),
    check(
        "seccompProfile_baseline",
        Level::Baseline,
        0,
        profiles::seccomp_baseline,
    ),
    check("sysctls", Level::Baseline, 0, baseline::sysctls),
    check(
        "windowsHostProcess",
        Level::Baseline,
        0,
        baseline::windows_host_process,
    ),
    check(
        "allowPrivilegeEscalation",
        Level::Restricted,
        8,
        restricted::privilege_escalation,
    ),
    replacing(
        check(
            "capabilities_restricted",
            Level::Restricted,
            22,
            restricted::capabilities,
        ),
        "capabilities_baseline",
    ),
    replacing(
        check(
            "restrictedVolumes",
            Level::Restricted,
            0,
            restricted::volumes,
        ),
        "hostPathVolumes",
    ),
    check(
        "runAsNonRoot",
        Level::Restricted,
        0,
        restricted::run_as_non_root,
    ),
    check("runAsUser", Level::Restricted, 23, restricted::run_as_user),
    replacing(
        check(
            "seccompProfile_restricted",
            Level::Restricted,
            19,
            restricted::seccomp,
        ),
        "seccompProfile_baseline",
    ),
];

/// Evaluates a pod's metadata and spec against a level and version and
/// returns the failed checks in Kubernetes' order. `privileged` allows all.
pub fn evaluate(lv: LevelVersion, meta: &Value, spec: &Value) -> Vec<CheckResult> {
    if lv.level == Level::Privileged {
        return Vec::new();
    }
    let minor = lv.version.minor();
    let applies = |c: &&Check| {
        c.since <= minor && (c.level == Level::Baseline || lv.level == Level::Restricted)
    };
    let overridden: Vec<&str> = CHECKS
        .iter()
        .filter(applies)
        .filter_map(|c| c.overrides)
        .collect();
    let pod = Pod { meta, spec };
    CHECKS
        .iter()
        .filter(applies)
        .filter(|c| !overridden.contains(&c.id))
        .filter_map(|c| {
            (c.run)(&pod, minor).map(|(reason, detail)| CheckResult {
                id: c.id,
                reason,
                detail,
            })
        })
        .collect()
}

/// `AggregateCheckResult.ForbiddenDetail()`: `reason (detail), reason`.
pub fn forbidden_detail(results: &[CheckResult]) -> String {
    results
        .iter()
        .map(|r| {
            if r.detail.is_empty() {
                r.reason.clone()
            } else {
                format!("{} ({})", r.reason, r.detail)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `AggregateCheckResult.ForbiddenReason()`: the reasons alone.
pub fn forbidden_reason(results: &[CheckResult]) -> String {
    results
        .iter()
        .map(|r| r.reason.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn pluralize<'s>(singular: &'s str, plural: &'s str, n: usize) -> &'s str {
    if n == 1 { singular } else { plural }
}

/// `"a", "b"`.
pub(crate) fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let inner: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("\"{}\"", inner.join("\", \""))
}

/// `container "a"` or `containers "a", "b"`.
pub(crate) fn containers_phrase(names: &[String]) -> String {
    format!(
        "{} {}",
        pluralize("container", "containers", names.len()),
        join_quote(names)
    )
}

/// The setters phrase: `pod`, `containers "a", "b"`, or both joined by
/// ` and `; empty when nothing is wrong.
pub(crate) fn setters(pod: bool, containers: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if pod {
        out.push("pod".to_string());
    }
    if !containers.is_empty() {
        out.push(containers_phrase(containers));
    }
    out
}

/// Sorted and deduplicated, like Go's `sets.String.List()`.
pub(crate) fn sorted_set(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_psa_checks_are_in_kubernetes_order() {
        let ids = |level| -> Vec<&str> {
            CHECKS
                .iter()
                .filter(|c| c.level == level)
                .map(|c| c.id)
                .collect()
        };
        for level in [Level::Baseline, Level::Restricted] {
            let got = ids(level);
            let mut sorted = got.clone();
            sorted.sort();
            assert_eq!(got, sorted, "{level:?} checks must be sorted by ID");
        }
        let first_restricted = CHECKS.iter().position(|c| c.level == Level::Restricted);
        assert!(
            CHECKS[..first_restricted.unwrap_or(0)]
                .iter()
                .all(|c| c.level == Level::Baseline)
        );
    }

    #[test]
    fn policy_psa_phrases() {
        assert_eq!(join_quote(&["a", "b"]), "\"a\", \"b\"");
        assert_eq!(join_quote::<&str>(&[]), "");
        assert_eq!(containers_phrase(&["c".into()]), "container \"c\"");
        assert_eq!(
            setters(true, &["a".into(), "b".into()]).join(" and "),
            "pod and containers \"a\", \"b\""
        );
    }
}
