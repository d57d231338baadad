//! What the caller (the API server's registry) tells this crate about one
//! served resource: enough to write its paths and find its schema, and no
//! routing knowledge beyond that.

use std::sync::Arc;

use serde_json::Value;

/// Which subresources a resource serves besides the main one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Subresources {
    pub status: bool,
    pub scale: bool,
}

/// The verbs a full read-write resource serves, as discovery names them.
pub const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// One served resource in one group version.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSpec {
    /// API group; empty for the legacy core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    /// The plural, lower-case resource name used in URLs (`deployments`).
    pub plural: String,
    pub namespaced: bool,
    pub subresources: Subresources,
    /// Discovery verbs of the main resource (`get`, `list`, `watch`, `create`,
    /// `update`, `patch`, `delete`, `deletecollection`); unknown verbs are ignored.
    pub verbs: Vec<String>,
    /// The kind's OpenAPI v3 schema when it is not a built-in kind (a custom
    /// resource's `openAPIV3Schema`). `None` takes the schema from this crate's
    /// table of built-in kinds.
    pub custom_schema: Option<Arc<Value>>,
}

impl ResourceSpec {
    /// A resource serving [`ALL_VERBS`] and no subresources.
    pub fn new(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        ResourceSpec {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            plural: plural.to_string(),
            namespaced,
            subresources: Subresources::default(),
            verbs: ALL_VERBS.iter().map(|v| v.to_string()).collect(),
            custom_schema: None,
        }
    }

    pub fn with_subresources(mut self, status: bool, scale: bool) -> Self {
        self.subresources = Subresources { status, scale };
        self
    }

    pub fn with_verbs(mut self, verbs: &[&str]) -> Self {
        self.verbs = verbs.iter().map(|v| v.to_string()).collect();
        self
    }

    /// Publishes `schema` (an OpenAPI v3 schema without `$ref`s, as custom
    /// resources declare them) for this kind instead of a built-in one.
    pub fn with_custom_schema(mut self, schema: Arc<Value>) -> Self {
        self.custom_schema = Some(schema);
        self
    }

    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// `api/v1` or `apis/<group>/<version>`: the key of the group version in
    /// the OpenAPI v3 index and the URL prefix of its paths.
    pub fn group_version_path(&self) -> String {
        group_version_path(&self.group, &self.version)
    }
}

/// `api/v1` for the core group, `apis/<group>/<version>` otherwise.
pub fn group_version_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The built-in resources as the API server's registry serves them.
    pub(crate) fn builtin_resources() -> Vec<ResourceSpec> {
        let r = ResourceSpec::new;
        vec![
            r("", "v1", "Namespace", "namespaces", false).with_subresources(true, false),
            r("", "v1", "Pod", "pods", true).with_subresources(true, false),
            r("", "v1", "Service", "services", true).with_subresources(true, false),
            r("", "v1", "Endpoints", "endpoints", true),
            r("", "v1", "ConfigMap", "configmaps", true),
            r("", "v1", "Secret", "secrets", true),
            r("", "v1", "ServiceAccount", "serviceaccounts", true),
            r("", "v1", "Event", "events", true),
            r("", "v1", "Node", "nodes", false).with_subresources(true, false),
            r("", "v1", "PersistentVolume", "persistentvolumes", false)
                .with_subresources(true, false),
            r(
                "",
                "v1",
                "PersistentVolumeClaim",
                "persistentvolumeclaims",
                true,
            )
            .with_subresources(true, false),
            r("", "v1", "ResourceQuota", "resourcequotas", true).with_subresources(true, false),
            r("", "v1", "LimitRange", "limitranges", true),
            r("apps", "v1", "Deployment", "deployments", true).with_subresources(true, true),
            r("apps", "v1", "ReplicaSet", "replicasets", true).with_subresources(true, true),
            r("apps", "v1", "StatefulSet", "statefulsets", true).with_subresources(true, true),
            r("apps", "v1", "DaemonSet", "daemonsets", true).with_subresources(true, false),
            r(
                "apps",
                "v1",
                "ControllerRevision",
                "controllerrevisions",
                true,
            ),
            r("batch", "v1", "Job", "jobs", true).with_subresources(true, false),
            r("batch", "v1", "CronJob", "cronjobs", true).with_subresources(true, false),
            r(
                "autoscaling",
                "v2",
                "HorizontalPodAutoscaler",
                "horizontalpodautoscalers",
                true,
            )
            .with_subresources(true, false),
            r("networking.k8s.io", "v1", "Ingress", "ingresses", true)
                .with_subresources(true, false),
            r(
                "networking.k8s.io",
                "v1",
                "IngressClass",
                "ingressclasses",
                false,
            ),
            r(
                "networking.k8s.io",
                "v1",
                "NetworkPolicy",
                "networkpolicies",
                true,
            ),
            r("coordination.k8s.io", "v1", "Lease", "leases", true),
            r(
                "discovery.k8s.io",
                "v1",
                "EndpointSlice",
                "endpointslices",
                true,
            ),
            r("events.k8s.io", "v1", "Event", "events", true),
            r(
                "storage.k8s.io",
                "v1",
                "StorageClass",
                "storageclasses",
                false,
            ),
            r(
                "policy",
                "v1",
                "PodDisruptionBudget",
                "poddisruptionbudgets",
                true,
            )
            .with_subresources(true, false),
        ]
    }
}
