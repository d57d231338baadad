//! The effective requests and limits of a whole pod, computed as Kubernetes'
//! `PodRequests`/`PodLimits` do: app containers and sidecars (restartable
//! init containers) add up, and a regular init container counts only while it
//! runs, together with the sidecars started before it, so the pod needs the
//! larger of the two phases.

use serde_json::Value;

use super::{ResourceList, resource_list};
use crate::validation::json::{arr_at, get, s};

/// What to include beyond the containers' own declarations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PodResourcesOptions {
    /// Add `spec.overhead` (RuntimeClass overhead): quota charges it,
    /// LimitRanger does not.
    pub overhead: bool,
    /// Take resized containers' status resources into account (in-place
    /// resize): quota charges the larger of desired and actual.
    pub status: bool,
}

/// Requests, or limits: the two computations differ only in these fields.
#[derive(Clone, Copy)]
enum Kind {
    Requests,
    Limits,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Requests => "requests",
            Kind::Limits => "limits",
        }
    }
}

/// The pod's effective requests.
pub fn pod_requests(pod: &Value, opts: PodResourcesOptions) -> ResourceList {
    let mut reqs = aggregate(pod, Kind::Requests, opts);
    if opts.overhead {
        // Overhead is charged on every resource it names.
        add_into(&mut reqs, &resource_list(get(pod, &["spec", "overhead"])));
    }
    reqs
}

/// The pod's effective limits.
pub fn pod_limits(pod: &Value, opts: PodResourcesOptions) -> ResourceList {
    let mut limits = aggregate(pod, Kind::Limits, opts);
    if opts.overhead {
        // Overhead only raises limits that exist: an unlimited resource stays
        // unlimited.
        for (name, q) in resource_list(get(pod, &["spec", "overhead"])) {
            if let Some(v) = limits.get_mut(&name) {
                *v = v.add(&q);
            }
        }
    }
    limits
}

fn aggregate(pod: &Value, kind: Kind, opts: PodResourcesOptions) -> ResourceList {
    let mut total = ResourceList::new();
    for c in arr_at(pod, &["spec", "containers"]) {
        add_into(&mut total, &container_resources(pod, c, kind, opts));
    }
    let mut sidecars = ResourceList::new();
    let mut init_peak = ResourceList::new();
    for c in arr_at(pod, &["spec", "initContainers"]) {
        let own = resource_list(get(c, &["resources", kind.key()]));
        let running = if s(c, &["restartPolicy"]) == "Always" {
            // A sidecar keeps running beside the app containers.
            add_into(&mut total, &own);
            add_into(&mut sidecars, &own);
            sidecars.clone()
        } else {
            let mut tmp = own;
            add_into(&mut tmp, &sidecars);
            tmp
        };
        max_into(&mut init_peak, &running);
    }
    max_into(&mut total, &init_peak);
    total
}

/// A container's own resources, raised to what its status reports when the
/// pod is being resized in place.
fn container_resources(
    pod: &Value,
    c: &Value,
    kind: Kind,
    opts: PodResourcesOptions,
) -> ResourceList {
    let spec = resource_list(get(c, &["resources", kind.key()]));
    if !opts.status {
        return spec;
    }
    let name = s(c, &["name"]);
    let Some(cs) = arr_at(pod, &["status", "containerStatuses"])
        .iter()
        .find(|cs| s(cs, &["name"]) == name)
    else {
        return spec;
    };
    let Some(actual) = get(cs, &["resources"]).filter(|r| !r.is_null()) else {
        return spec;
    };
    let actual = resource_list(get(actual, &[kind.key()]));
    // An infeasible resize will not happen: only what runs counts.
    let mut out = if resize_infeasible(pod) {
        actual
    } else {
        max_of(&spec, &actual)
    };
    if let Kind::Requests = kind {
        max_into(&mut out, &resource_list(get(cs, &["allocatedResources"])));
    }
    out
}

fn resize_infeasible(pod: &Value) -> bool {
    arr_at(pod, &["status", "conditions"])
        .iter()
        .any(|c| s(c, &["type"]) == "PodResizePending" && s(c, &["reason"]) == "Infeasible")
}

/// `list += other`, per resource.
pub(crate) fn add_into(list: &mut ResourceList, other: &ResourceList) {
    for (k, q) in other {
        let sum = list.get(k).map_or(*q, |v| v.add(q));
        list.insert(k.clone(), sum);
    }
}

/// `list = max(list, other)`, per resource.
pub(crate) fn max_into(list: &mut ResourceList, other: &ResourceList) {
    for (k, q) in other {
        if list.get(k).is_none_or(|v| q > v) {
            list.insert(k.clone(), *q);
        }
    }
}

fn max_of(a: &ResourceList, b: &ResourceList) -> ResourceList {
    let mut out = a.clone();
    max_into(&mut out, b);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use crate::policy::resource_list_json;
    use serde_json::json;

    fn c(name: &str, req: Value, lim: Value) -> Value {
        json!({"name": name, "resources": {"requests": req, "limits": lim}})
    }

    #[test]
    fn policy_pod_resources_sum_and_init_peak() {
        let pod = json!({"spec": {
            "containers": [c("a", json!({"cpu": "100m"}), json!({"cpu": "1"})),
                           c("b", json!({"cpu": "200m", "memory": "1Gi"}), json!({}))],
            "initContainers": [c("i", json!({"cpu": "500m", "memory": "100Mi"}), json!({"cpu": "2"}))]
        }});
        let o = PodResourcesOptions::default();
        assert_eq!(
            resource_list_json(&pod_requests(&pod, o)),
            json!({"cpu": "500m", "memory": "1Gi"})
        );
        assert_eq!(
            resource_list_json(&pod_limits(&pod, o)),
            json!({"cpu": "2"})
        );
    }

    #[test]
    fn policy_pod_resources_sidecars_and_overhead() {
        let mut side = c("s", json!({"cpu": "300m"}), json!({}));
        side["restartPolicy"] = json!("Always");
        let pod = json!({"spec": {
            "containers": [c("a", json!({"cpu": "100m"}), json!({"memory": "1Gi"}))],
            // The sidecar starts first, so the later init container runs beside it.
            "initContainers": [side, c("i", json!({"cpu": "350m"}), json!({}))],
            "overhead": {"cpu": "10m", "memory": "64Mi"}
        }});
        let plain = PodResourcesOptions::default();
        // app 100m + sidecar 300m = 400m; init phase 350m + 300m = 650m.
        assert_eq!(
            resource_list_json(&pod_requests(&pod, plain)),
            json!({"cpu": "650m"})
        );
        let with = PodResourcesOptions {
            overhead: true,
            status: false,
        };
        assert_eq!(
            resource_list_json(&pod_requests(&pod, with)),
            json!({"cpu": "660m", "memory": "64Mi"})
        );
        // Overhead raises only limits that exist.
        assert_eq!(
            resource_list_json(&pod_limits(&pod, with)),
            json!({"memory": "1088Mi"})
        );
    }

    #[test]
    fn policy_pod_resources_resize_status() {
        let mut pod = json!({"spec": {"containers": [c("a", json!({"cpu": "1"}), json!({}))]},
            "status": {"containerStatuses": [{"name": "a", "resources": {"requests": {"cpu": "2"}}}]}});
        let st = PodResourcesOptions {
            overhead: false,
            status: true,
        };
        assert_eq!(
            resource_list_json(&pod_requests(&pod, st)),
            json!({"cpu": "2"})
        );
        assert_eq!(
            resource_list_json(&pod_requests(&pod, PodResourcesOptions::default())),
            json!({"cpu": "1"})
        );
        pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] = json!("3");
        pod["status"]["conditions"] = json!([{"type": "PodResizePending", "reason": "Infeasible"}]);
        assert_eq!(
            resource_list_json(&pod_requests(&pod, st)),
            json!({"cpu": "2"})
        );
    }
}
