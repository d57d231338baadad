//! Baseline checks on security profiles: AppArmor, SELinux options and
//! seccomp (the field since 1.19, the alpha annotations before).

use serde_json::Value;

use super::checks::{
    Pod, Verdict, containers_phrase, join_quote, name, pluralize, sc, setters, sorted_set,
};
use crate::validation::field::go_quote;
use crate::validation::json::{s, string_map};

const APPARMOR_ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

/// AppArmor may be the runtime default or a localhost profile, never
/// `Unconfined`, through the field or the deprecated annotations.
pub(crate) fn app_armor(pod: &Pod, _minor: u32) -> Verdict {
    let allowed = |t: &str| t == "RuntimeDefault" || t == "Localhost";
    let mut values = Vec::new();
    let pod_bad = match pod.pod_sc(&["appArmorProfile"]) {
        Some(p) if !allowed(s(p, &["type"])) => {
            values.push(s(p, &["type"]).to_string());
            true
        }
        _ => false,
    };
    let mut bad = Vec::new();
    for c in pod.containers() {
        if let Some(p) = sc(c, &["appArmorProfile"])
            && !allowed(s(p, &["type"]))
        {
            bad.push(name(c));
            values.push(s(p, &["type"]).to_string());
        }
    }
    let mut who = setters(pod_bad, &bad);
    let mut values = sorted_set(values);
    let annotations: Vec<String> = sorted_set(
        string_map(pod.meta.get("annotations"))
            .into_iter()
            .filter(|(k, v)| {
                k.starts_with(APPARMOR_ANNOTATION_PREFIX)
                    && !(v.is_empty() || *v == "runtime/default" || v.starts_with("localhost/"))
            })
            .map(|(k, v)| format!("{k}={}", go_quote(v)))
            .collect(),
    );
    if !annotations.is_empty() {
        who.push(pluralize("annotation", "annotations", annotations.len()).to_string());
        values.extend(annotations);
    }
    if who.is_empty() {
        return None;
    }
    Some((
        pluralize(
            "forbidden AppArmor profile",
            "forbidden AppArmor profiles",
            values.len(),
        )
        .to_string(),
        format!(
            "{} must not set AppArmor profile type to {}",
            who.join(" and "),
            join_quote(&values)
        ),
    ))
}

/// SELinux may only use the container types, and never set user or role.
pub(crate) fn se_linux(pod: &Pod, minor: u32) -> Verdict {
    let mut types = Vec::new();
    let (mut user, mut role) = (false, false);
    let mut valid = |opts: &Value| {
        let t = s(opts, &["type"]);
        let type_ok = matches!(
            t,
            "" | "container_t" | "container_init_t" | "container_kvm_t"
        ) || (minor >= 31 && t == "container_engine_t");
        if !type_ok {
            types.push(t.to_string());
        }
        let user_set = !s(opts, &["user"]).is_empty();
        let role_set = !s(opts, &["role"]).is_empty();
        user |= user_set;
        role |= role_set;
        type_ok && !user_set && !role_set
    };
    let pod_bad = pod.pod_sc(&["seLinuxOptions"]).is_some_and(|o| !valid(o));
    let bad: Vec<String> = pod
        .containers()
        .filter(|c| sc(c, &["seLinuxOptions"]).is_some_and(|o| !valid(o)))
        .map(name)
        .collect();
    let who = setters(pod_bad, &bad);
    if who.is_empty() {
        return None;
    }
    let types = sorted_set(types);
    let mut data = Vec::new();
    if !types.is_empty() {
        data.push(format!(
            "{} {}",
            pluralize("type", "types", types.len()),
            join_quote(&types)
        ));
    }
    if user {
        data.push("user may not be set".to_string());
    }
    if role {
        data.push("role may not be set".to_string());
    }
    Some((
        "seLinuxOptions".to_string(),
        format!(
            "{} set forbidden securityContext.seLinuxOptions: {}",
            who.join(" and "),
            data.join("; ")
        ),
    ))
}

pub(crate) fn valid_seccomp(t: &str) -> bool {
    t == "RuntimeDefault" || t == "Localhost"
}

/// Explicit seccomp profiles must be the runtime default or localhost.
pub(crate) fn seccomp_baseline(pod: &Pod, minor: u32) -> Verdict {
    if minor < 19 {
        return seccomp_annotations(pod);
    }
    let (pod_bad, bad, values) = explicit_seccomp(pod);
    let who = setters(pod_bad, &bad);
    if who.is_empty() {
        return None;
    }
    Some(seccomp_explicit_verdict(&who, &values))
}

/// The pod-level and per-container seccomp types that are set and invalid:
/// (pod is bad, bad containers, sorted bad values).
pub(crate) fn explicit_seccomp(pod: &Pod) -> (bool, Vec<String>, Vec<String>) {
    let mut values = Vec::new();
    let pod_bad = match pod.pod_sc(&["seccompProfile"]) {
        Some(p) if !valid_seccomp(s(p, &["type"])) => {
            values.push(s(p, &["type"]).to_string());
            true
        }
        _ => false,
    };
    let mut bad = Vec::new();
    for c in pod.containers() {
        if let Some(p) = sc(c, &["seccompProfile"])
            && !valid_seccomp(s(p, &["type"]))
        {
            bad.push(name(c));
            values.push(s(p, &["type"]).to_string());
        }
    }
    (pod_bad, bad, sorted_set(values))
}

pub(crate) fn seccomp_explicit_verdict(who: &[String], values: &[String]) -> (String, String) {
    (
        "seccompProfile".to_string(),
        format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            who.join(" and "),
            join_quote(values)
        ),
    )
}

/// Policy versions before 1.19 read the alpha annotations.
fn seccomp_annotations(pod: &Pod) -> Verdict {
    const POD_KEY: &str = "seccomp.security.alpha.kubernetes.io/pod";
    const CONTAINER_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";
    let annotations = string_map(pod.meta.get("annotations"));
    let get = |key: &str| annotations.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let valid =
        |v: &str| v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/");
    let mut keys = vec![POD_KEY.to_string()];
    keys.extend(
        pod.containers()
            .map(|c| format!("{CONTAINER_PREFIX}{}", name(c))),
    );
    let forbidden = sorted_set(
        keys.iter()
            .filter_map(|k| {
                get(k)
                    .filter(|v| !valid(v))
                    .map(|v| format!("{k}={}", go_quote(v)))
            })
            .collect(),
    );
    if forbidden.is_empty() {
        return None;
    }
    Some((
        "seccompProfile".to_string(),
        format!(
            "forbidden {} {}",
            pluralize("annotation", "annotations", forbidden.len()),
            forbidden.join(", ")
        ),
    ))
}

/// Used by the restricted seccomp check for containers with nothing set.
pub(crate) fn implicit_seccomp_detail(missing: &[String]) -> String {
    format!(
        "pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
        containers_phrase(missing)
    )
}
