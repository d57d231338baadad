//! Resource names (`cpu`, `example.com/gpu`, `requests.memory`) and resource
//! quantities in container requirements, quotas and limit ranges.

use serde_json::Value;

use super::field::{FieldError, Path};
use super::format::is_qualified_name;
use super::quantity::{Quantity, quantity_from_json};

const STANDARD_CONTAINER_RESOURCES: &[&str] = &["cpu", "memory", "ephemeral-storage"];
const STANDARD_RESOURCES: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "storage",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
];
const STANDARD_QUOTA_RESOURCES: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.storage",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "persistentvolumeclaims",
    "configmaps",
    "services.nodeports",
    "services.loadbalancers",
];
const INTEGER_RESOURCES: &[&str] = &[
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];

pub(crate) fn is_hugepage(name: &str) -> bool {
    name.starts_with("hugepages-")
}

fn is_quota_hugepage(name: &str) -> bool {
    name.starts_with("hugepages-") || name.starts_with("requests.hugepages-")
}

/// Unprefixed names and `kubernetes.io/` names are native.
pub(crate) fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

pub(crate) fn is_extended(name: &str) -> bool {
    if is_native(name) || name.starts_with("requests.") {
        return false;
    }
    is_qualified_name(&format!("requests.{name}")).is_empty()
}

/// Resources whose requests may be below their limits.
pub(crate) fn is_overcommit_allowed(name: &str) -> bool {
    is_native(name) && !is_hugepage(name)
}

fn is_integer_resource(name: &str) -> bool {
    INTEGER_RESOURCES.contains(&name) || is_extended(name)
}

/// Parses a quantity field, reporting Kubernetes' decoding error as an `Invalid` error.
// The error is built once per bad field; boxing it would only burden the callers.
#[allow(clippy::result_large_err)]
pub(crate) fn parse_quantity_field(v: &Value, path: &Path) -> Result<Quantity, FieldError> {
    quantity_from_json(v).map_err(|e| {
        let shown = match v {
            Value::String(s) => Value::String(s.clone()),
            other => other.clone(),
        };
        FieldError::invalid(path, shown, e.to_string())
    })
}

/// `validateResourceName`: a qualified name; unprefixed names must be standard.
pub(crate) fn validate_resource_name(name: &str, path: &Path) -> Vec<FieldError> {
    let errs: Vec<FieldError> = is_qualified_name(name)
        .into_iter()
        .map(|m| FieldError::invalid(path, name, m))
        .collect();
    if !errs.is_empty() {
        return errs;
    }
    if !name.contains('/') && !STANDARD_RESOURCES.contains(&name) && !is_quota_hugepage(name) {
        return vec![FieldError::invalid(
            path,
            name,
            "must be a standard resource type or fully qualified",
        )];
    }
    errs
}

pub(crate) fn validate_container_resource_name(name: &str, path: &Path) -> Vec<FieldError> {
    let mut errs = validate_resource_name(name, path);
    if !name.contains('/') {
        if !STANDARD_CONTAINER_RESOURCES.contains(&name) && !is_hugepage(name) {
            errs.push(FieldError::invalid(
                path,
                name,
                "must be a standard resource for containers",
            ));
        }
    } else if !is_native(name) && !is_extended(name) {
        errs.push(FieldError::invalid(
            path,
            name,
            "doesn't follow extended resource name standard",
        ));
    }
    errs
}

pub(crate) fn validate_quota_resource_name(name: &str, path: &Path) -> Vec<FieldError> {
    let mut errs = validate_resource_name(name, path);
    if !name.contains('/') && !STANDARD_QUOTA_RESOURCES.contains(&name) && !is_quota_hugepage(name)
    {
        errs.push(FieldError::invalid(
            path,
            name,
            "must be a standard resource for quota",
        ));
    }
    errs
}

/// Non-negative, and whole for countable resources.
pub(crate) fn validate_resource_quantity_value(
    name: &str,
    q: &Quantity,
    path: &Path,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if q.sign() < 0 {
        errs.push(FieldError::invalid(
            path,
            q.canonical(),
            "must be greater than or equal to 0",
        ));
    }
    if is_integer_resource(name) && q.milli_value() % 1000 != 0 {
        errs.push(FieldError::invalid(
            path,
            q.canonical(),
            "must be an integer",
        ));
    }
    errs
}

/// Parses the members of a resource list, sorted by name, reporting the
/// ones that are not quantities.
pub(crate) fn resource_list(
    list: Option<&Value>,
    path: &Path,
    errs: &mut Vec<FieldError>,
) -> Vec<(String, Quantity)> {
    let mut out = Vec::new();
    let Some(m) = list.and_then(Value::as_object) else {
        return out;
    };
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    for k in keys {
        match parse_quantity_field(&m[k], &path.key(k)) {
            Ok(q) => out.push((k.clone(), q)),
            Err(e) => errs.push(e),
        }
    }
    out
}

fn hugepage_divisible(name: &str, q: &Quantity) -> bool {
    let Ok(size) = Quantity::parse(&name["hugepages-".len()..]) else {
        return false;
    };
    size.nano_value() > 0 && q.nano_value() >= 0 && q.nano_value() % size.nano_value() == 0
}

/// Container `resources`: names, quantities, requests ≤ limits, limits for
/// non-overcommitable resources, hugepages need cpu or memory, and claims
/// naming entries of `spec.resourceClaims`.
pub(crate) fn validate_container_resources(
    res: Option<&Value>,
    claim_names: &[String],
    path: &Path,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let res = res.unwrap_or(&Value::Null);
    let lim_path = path.child("limits");
    let req_path = path.child("requests");
    let limits = resource_list(res.get("limits"), &lim_path, &mut errs);
    let requests = resource_list(res.get("requests"), &req_path, &mut errs);
    let (mut lim_cpu_mem, mut req_cpu_mem, mut lim_huge, mut req_huge) =
        (false, false, false, false);
    for (name, q) in &limits {
        let p = lim_path.key(name);
        errs.extend(validate_container_resource_name(name, &p));
        errs.extend(validate_resource_quantity_value(name, q, &p));
        if is_hugepage(name) {
            lim_huge = true;
            if !hugepage_divisible(name, q) {
                errs.push(FieldError::invalid(
                    &p,
                    q.canonical(),
                    format!(
                        "{} is not positive integer multiple of {name}",
                        q.canonical()
                    ),
                ));
            }
        }
        if name == "cpu" || name == "memory" {
            lim_cpu_mem = true;
        }
    }
    for (name, q) in &requests {
        let p = req_path.key(name);
        errs.extend(validate_container_resource_name(name, &p));
        errs.extend(validate_resource_quantity_value(name, q, &p));
        match limits.iter().find(|(n, _)| n == name) {
            Some((_, limit)) => {
                if q != limit && !is_overcommit_allowed(name) {
                    errs.push(FieldError::invalid(
                        &req_path,
                        q.canonical(),
                        format!("must be equal to {name} limit of {}", limit.canonical()),
                    ));
                } else if q > limit {
                    errs.push(FieldError::invalid(
                        &req_path,
                        q.canonical(),
                        format!(
                            "must be less than or equal to {name} limit of {}",
                            limit.canonical()
                        ),
                    ));
                }
            }
            None if !is_overcommit_allowed(name) => {
                errs.push(FieldError::required(
                    &lim_path,
                    "Limit must be set for non overcommitable resources",
                ));
            }
            None => {}
        }
        if is_hugepage(name) {
            req_huge = true;
            if !hugepage_divisible(name, q) {
                errs.push(FieldError::invalid(
                    &p,
                    q.canonical(),
                    format!(
                        "{} is not positive integer multiple of {name}",
                        q.canonical()
                    ),
                ));
            }
        }
        if name == "cpu" || name == "memory" {
            req_cpu_mem = true;
        }
    }
    if !lim_cpu_mem && !req_cpu_mem && (lim_huge || req_huge) {
        errs.push(FieldError::forbidden(
            path,
            "HugePages require cpu or memory",
        ));
    }
    let mut seen: Vec<String> = Vec::new();
    for (i, claim) in res
        .get("claims")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let p = path.child("claims").index(i);
        let name = claim.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            errs.push(FieldError::required(&p, ""));
            continue;
        }
        if seen.iter().any(|n| n == name) {
            errs.push(FieldError::duplicate(&p, name));
        } else {
            seen.push(name.to_string());
        }
        if !claim_names.iter().any(|n| n == name) {
            let mut e = FieldError::not_found(&p, name);
            e.detail = if claim_names.is_empty() {
                "must be one of the names in pod.spec.resourceClaims which is empty".to_string()
            } else {
                let mut names = claim_names.to_vec();
                names.sort();
                format!(
                    "must be one of the names in pod.spec.resourceClaims: {}",
                    names.join(", ")
                )
            };
            errs.push(e);
        }
    }
    errs
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: Vec<FieldError>) -> Vec<String> {
        errs.iter().map(FieldError::message).collect()
    }

    #[test]
    fn validation_resources_requests_above_limits() {
        let res = json!({"limits": {"cpu": "1"}, "requests": {"cpu": "2", "memory": "x"}});
        let p = Path::new("spec")
            .child("containers")
            .index(0)
            .child("resources");
        assert_eq!(
            msgs(validate_container_resources(Some(&res), &[], &p)),
            vec![
                "spec.containers[0].resources.requests[memory]: Invalid value: \"x\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
            ]
        );
    }

    #[test]
    fn validation_resources_names() {
        let p = Path::new("r");
        assert!(validate_container_resource_name("cpu", &p).is_empty());
        assert!(validate_container_resource_name("example.com/gpu", &p).is_empty());
        assert_eq!(
            msgs(validate_container_resource_name("gpu", &p)),
            vec![
                "r: Invalid value: \"gpu\": must be a standard resource type or fully qualified",
                "r: Invalid value: \"gpu\": must be a standard resource for containers",
            ]
        );
        assert_eq!(
            msgs(validate_quota_resource_name("storage", &p)),
            vec!["r: Invalid value: \"storage\": must be a standard resource for quota"]
        );
        let q = Quantity::parse("1500m").unwrap();
        assert_eq!(
            msgs(validate_resource_quantity_value("pods", &q, &p)),
            vec!["r: Invalid value: \"1500m\": must be an integer"]
        );
        let res = json!({"limits": {"example.com/gpu": "1"}, "requests": {"example.com/gpu": "2"}});
        assert_eq!(
            msgs(validate_container_resources(
                Some(&res),
                &[],
                &Path::new("res")
            )),
            vec!["res.requests: Invalid value: \"2\": must be equal to example.com/gpu limit of 1"]
        );
    }
}
