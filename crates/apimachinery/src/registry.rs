//! The resource registry: every resource the API server serves, with the
//! facts discovery, routing and storage need (group, version, kind, plural,
//! scope, verbs, short names, categories, subresources).
//!
//! Built-in kinds come from a static table; custom resources will be added
//! at run time by the CRD machinery, which is why lookups go through
//! [`Registry`] rather than the table directly.

use std::collections::BTreeMap;
use std::sync::Arc;

/// Which subresources a resource serves besides the main one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Subresources {
    pub status: bool,
    pub scale: bool,
}

/// One served resource in one group version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// API group; empty for the legacy core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    /// The plural, lower-case resource name used in URLs (`deployments`).
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub namespaced: bool,
    pub subresources: Subresources,
    /// Kinds whose spec changes bump `metadata.generation`.
    pub has_generation: bool,
    /// Review resources (TokenReview, SubjectAccessReview ...): only
    /// `create`, answered without storing anything.
    pub create_only: bool,
    /// Resources read from outside the store (the resource metrics of
    /// `metrics.k8s.io`): only `get` and `list`.
    pub read_only: bool,
}

/// The verbs of an ordinary resource.
pub const ALL_VERBS: &[&str] = &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

impl Resource {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, or `pods` for the core group: the name Kubernetes
    /// uses in messages ("deployments.apps \"web\" not found").
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `Deployment.apps`, or `Pod`: the name used in `Invalid` messages.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// The verbs of the main resource as discovery reports them.
    pub fn verbs(&self) -> &'static [&'static str] {
        if self.create_only {
            &["create"]
        } else if self.read_only {
            &["get", "list"]
        } else {
            ALL_VERBS
        }
    }

    /// The storage key prefix of this resource: every object of the resource
    /// lives under it, so a list or watch is a prefix scan.
    pub fn key_prefix(&self) -> String {
        if let Some(shared) = crate::conversion::storage_alias(&self.group, &self.plural) {
            return shared.to_string();
        }
        let group = if self.group.is_empty() { "core" } else { &self.group };
        format!("/registry/{group}/{}/", self.plural)
    }

    /// The storage key of one object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        match namespace {
            Some(ns) if self.namespaced => format!("{}{ns}/{name}", self.key_prefix()),
            _ => format!("{}{name}", self.key_prefix()),
        }
    }

    /// The prefix of all objects of one namespace (or all, for `None`).
    pub fn namespace_prefix(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if self.namespaced => format!("{}{ns}/", self.key_prefix()),
            _ => self.key_prefix(),
        }
    }
}

struct Builtin {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    namespaced: bool,
    status: bool,
    scale: bool,
    generation: bool,
    create_only: bool,
    read_only: bool,
}

const ALL: &[&str] = &["all"];

// One argument a column of the table below, so each resource reads as a row.
#[allow(clippy::too_many_arguments)]
const fn b(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    namespaced: bool,
    (status, scale, generation): (bool, bool, bool),
) -> Builtin {
    Builtin { group, version, kind, plural, short_names, categories, namespaced, status, scale, generation, create_only: false, read_only: false }
}

/// A review resource: create-only, cluster- or namespace-scoped.
const fn review(group: &'static str, kind: &'static str, plural: &'static str, namespaced: bool) -> Builtin {
    Builtin {
        group,
        version: "v1",
        kind,
        plural,
        short_names: &[],
        categories: &[],
        namespaced,
        status: false,
        scale: false,
        generation: false,
        create_only: true,
        read_only: false,
    }
}

/// A resource metrics kind of `metrics.k8s.io/v1beta1` (served by the API
/// server from its nodes, where Kubernetes aggregates metrics-server).
const fn metrics(kind: &'static str, plural: &'static str, namespaced: bool) -> Builtin {
    Builtin {
        group: "metrics.k8s.io",
        version: "v1beta1",
        kind,
        plural,
        short_names: &[],
        categories: &[],
        namespaced,
        status: false,
        scale: false,
        generation: false,
        create_only: false,
        read_only: true,
    }
}

// (status, scale, generation)
const NONE: (bool, bool, bool) = (false, false, false);
const STATUS: (bool, bool, bool) = (true, false, false);
const STATUS_GEN: (bool, bool, bool) = (true, false, true);
const SCALE_GEN: (bool, bool, bool) = (true, true, true);

const BUILTINS: &[Builtin] = &[
    b("", "v1", "Namespace", "namespaces", &["ns"], &[], false, STATUS),
    b("", "v1", "Pod", "pods", &["po"], ALL, true, STATUS),
    b("", "v1", "Service", "services", &["svc"], ALL, true, STATUS),
    b("", "v1", "Endpoints", "endpoints", &["ep"], &[], true, NONE),
    b("", "v1", "ConfigMap", "configmaps", &["cm"], &[], true, NONE),
    b("", "v1", "Secret", "secrets", &[], &[], true, NONE),
    b("", "v1", "ServiceAccount", "serviceaccounts", &["sa"], &[], true, NONE),
    b("", "v1", "Event", "events", &["ev"], &[], true, NONE),
    b("", "v1", "Node", "nodes", &["no"], &[], false, STATUS),
    b("", "v1", "PersistentVolume", "persistentvolumes", &["pv"], &[], false, STATUS),
    b("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", &["pvc"], &[], true, STATUS),
    b("", "v1", "ResourceQuota", "resourcequotas", &["quota"], &[], true, STATUS),
    b("", "v1", "LimitRange", "limitranges", &["limits"], &[], true, NONE),
    b("apps", "v1", "Deployment", "deployments", &["deploy"], ALL, true, SCALE_GEN),
    b("apps", "v1", "ReplicaSet", "replicasets", &["rs"], ALL, true, SCALE_GEN),
    b("apps", "v1", "StatefulSet", "statefulsets", &["sts"], ALL, true, SCALE_GEN),
    b("apps", "v1", "DaemonSet", "daemonsets", &["ds"], ALL, true, STATUS_GEN),
    b("apps", "v1", "ControllerRevision", "controllerrevisions", &[], &[], true, NONE),
    b("batch", "v1", "Job", "jobs", &[], ALL, true, STATUS_GEN),
    b("batch", "v1", "CronJob", "cronjobs", &["cj"], ALL, true, STATUS_GEN),
    b("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", &["hpa"], ALL, true, STATUS),
    b("networking.k8s.io", "v1", "Ingress", "ingresses", &["ing"], &[], true, STATUS),
    b("networking.k8s.io", "v1", "IngressClass", "ingressclasses", &[], &[], false, NONE),
    b("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", &["netpol"], &[], true, (false, false, true)),
    b("coordination.k8s.io", "v1", "Lease", "leases", &[], &[], true, NONE),
    b("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", &[], &[], true, NONE),
    b("events.k8s.io", "v1", "Event", "events", &["ev"], &[], true, NONE),
    b("storage.k8s.io", "v1", "StorageClass", "storageclasses", &["sc"], &[], false, NONE),
    b("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", &["pdb"], &[], true, STATUS_GEN),
    b("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", &["crd", "crds"], &[], false, STATUS_GEN),
    b("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", &[], &[], false, NONE),
    b("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", &[], &[], false, NONE),
    b("rbac.authorization.k8s.io", "v1", "Role", "roles", &[], &[], true, NONE),
    b("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", &[], &[], true, NONE),
    review("authentication.k8s.io", "TokenReview", "tokenreviews", false),
    review("authentication.k8s.io", "SelfSubjectReview", "selfsubjectreviews", false),
    review("authorization.k8s.io", "SubjectAccessReview", "subjectaccessreviews", false),
    review("authorization.k8s.io", "SelfSubjectAccessReview", "selfsubjectaccessreviews", false),
    review("authorization.k8s.io", "SelfSubjectRulesReview", "selfsubjectrulesreviews", false),
    review("authorization.k8s.io", "LocalSubjectAccessReview", "localsubjectaccessreviews", true),
    metrics("NodeMetrics", "nodes", false),
    metrics("PodMetrics", "pods", true),
];

impl From<&Builtin> for Resource {
    fn from(b: &Builtin) -> Self {
        Resource {
            group: b.group.to_string(),
            version: b.version.to_string(),
            kind: b.kind.to_string(),
            plural: b.plural.to_string(),
            singular: b.kind.to_ascii_lowercase(),
            short_names: b.short_names.iter().map(|s| s.to_string()).collect(),
            categories: b.categories.iter().map(|s| s.to_string()).collect(),
            namespaced: b.namespaced,
            subresources: Subresources { status: b.status, scale: b.scale },
            has_generation: b.generation,
            create_only: b.create_only,
            read_only: b.read_only,
        }
    }
}

/// The preferred order of groups in discovery, as a real cluster lists them.
const GROUP_ORDER: &[&str] = &[
    "",
    "apps",
    "events.k8s.io",
    "autoscaling",
    "batch",
    "networking.k8s.io",
    "policy",
    "storage.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "rbac.authorization.k8s.io",
    "apiextensions.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "metrics.k8s.io",
];

/// All served resources, looked up by group, version and plural.
#[derive(Debug, Clone)]
pub struct Registry {
    by_gvr: BTreeMap<(String, String, String), Arc<Resource>>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Registry {
    /// The registry of the built-in kinds.
    pub fn builtin() -> Self {
        let by_gvr = BUILTINS
            .iter()
            .map(|b| {
                let r = Resource::from(b);
                ((r.group.clone(), r.version.clone(), r.plural.clone()), Arc::new(r))
            })
            .collect();
        Registry { by_gvr }
    }

    /// The built-in kinds plus `custom` resources (one per served version
    /// of each established CRD). A custom resource never shadows a built-in
    /// one.
    pub fn with_custom(custom: impl IntoIterator<Item = Resource>) -> Self {
        let mut registry = Self::builtin();
        for r in custom {
            let key = (r.group.clone(), r.version.clone(), r.plural.clone());
            registry.by_gvr.entry(key).or_insert_with(|| Arc::new(r));
        }
        registry
    }

    /// The resource served at `/apis/{group}/{version}/{plural}`.
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<Resource>> {
        self.by_gvr
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .cloned()
    }

    /// The resource of a kind in a group version (`apps/v1`, `Deployment`).
    pub fn by_kind(&self, group: &str, version: &str, kind: &str) -> Option<Arc<Resource>> {
        self.by_gvr
            .values()
            .find(|r| r.group == group && r.version == version && r.kind == kind)
            .cloned()
    }

    /// Every resource, in discovery order (groups as a real cluster orders
    /// them, then by plural).
    pub fn all(&self) -> Vec<Arc<Resource>> {
        let mut all: Vec<_> = self.by_gvr.values().cloned().collect();
        all.sort_by_key(|r| (group_rank(&r.group), r.group.clone(), r.plural.clone()));
        all
    }

    /// Every group with its versions, in discovery order; the first version
    /// is the preferred one (Kubernetes' version priority: GA before beta
    /// before alpha, higher numbers first).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for r in self.all() {
            match groups.iter_mut().find(|(g, _)| *g == r.group) {
                Some((_, versions)) if !versions.contains(&r.version) => versions.push(r.version.clone()),
                Some(_) => {}
                None => groups.push((r.group.clone(), vec![r.version.clone()])),
            }
        }
        for (_, versions) in &mut groups {
            versions.sort_by(|a, b| version_priority(a).cmp(&version_priority(b)).then_with(|| a.cmp(b)));
        }
        groups
    }

    /// The resources of one group version.
    pub fn resources_of(&self, group: &str, version: &str) -> Vec<Arc<Resource>> {
        self.all()
            .into_iter()
            .filter(|r| r.group == group && r.version == version)
            .collect()
    }

    /// Whether the group version is served at all.
    pub fn serves(&self, group: &str, version: &str) -> bool {
        self.by_gvr.keys().any(|(g, v, _)| g == group && v == version)
    }
}

/// Sort key of Kubernetes' version priority: `v2` < `v1` < `v1beta2` <
/// `v1beta1` < `v1alpha1` < anything else (then alphabetical).
fn version_priority(v: &str) -> (u8, std::cmp::Reverse<u64>, std::cmp::Reverse<u64>) {
    use std::cmp::Reverse;
    let parse = || -> Option<(u8, u64, u64)> {
        let rest = v.strip_prefix('v')?;
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let major: u64 = rest.get(..digits)?.parse().ok()?;
        let tail = rest.get(digits..)?;
        if tail.is_empty() {
            return Some((0, major, 0));
        }
        let (stage, n) = if let Some(n) = tail.strip_prefix("beta") {
            (1, n)
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (2, n)
        } else {
            return None;
        };
        Some((stage, major, n.parse().ok()?))
    };
    match parse() {
        Some((stage, major, minor)) => (stage, Reverse(major), Reverse(minor)),
        None => (3, Reverse(0), Reverse(0)),
    }
}

fn group_rank(group: &str) -> usize {
    GROUP_ORDER.iter().position(|g| *g == group).unwrap_or(GROUP_ORDER.len())
}

/// Splits an `apiVersion` into group and version (`apps/v1` -> (`apps`, `v1`)).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_versions_sorted_by_kubernetes_priority() {
        let mut v = vec!["v1alpha1", "foo", "v1beta1", "v2", "v1", "v1beta2", "v10"];
        v.sort_by_key(|x| version_priority(x));
        assert_eq!(v, ["v10", "v2", "v1", "v1beta2", "v1beta1", "v1alpha1", "foo"]);
    }

    #[test]
    fn registry_custom_resources_join_builtins_without_shadowing() {
        let mut widget = Resource::from(&BUILTINS[0]);
        widget.group = "example.com".into();
        widget.kind = "Widget".into();
        widget.plural = "widgets".into();
        let mut v2 = widget.clone();
        v2.version = "v2beta1".into();
        let mut fake_ns = Resource::from(&BUILTINS[0]);
        fake_ns.kind = "Fake".into();
        let r = Registry::with_custom([widget, v2, fake_ns]);
        assert!(r.get("example.com", "v1", "widgets").is_some());
        assert_eq!(r.get("", "v1", "namespaces").map(|n| n.kind.clone()).as_deref(), Some("Namespace"));
        let versions = r.groups().into_iter().find(|(g, _)| g == "example.com").map(|(_, v)| v);
        assert_eq!(versions, Some(vec!["v1".to_string(), "v2beta1".to_string()]));
    }

    #[test]
    fn registry_lookup_by_plural_and_kind() {
        let reg = Registry::builtin();
        let d = reg.get("apps", "v1", "deployments").expect("deployments served");
        assert_eq!(d.kind, "Deployment");
        assert_eq!(d.qualified_plural(), "deployments.apps");
        assert!(d.subresources.scale);
        assert_eq!(reg.by_kind("", "v1", "Pod").map(|r| r.plural.clone()).as_deref(), Some("pods"));
        assert!(reg.get("apps", "v1", "pods").is_none());
    }

    #[test]
    fn registry_keys_are_prefix_scannable() {
        let reg = Registry::builtin();
        let cm = reg.get("", "v1", "configmaps").expect("configmaps served");
        assert_eq!(cm.key(Some("shop"), "cfg"), "/registry/core/configmaps/shop/cfg");
        assert!(cm.key(Some("shop"), "cfg").starts_with(&cm.namespace_prefix(Some("shop"))));
        let ns = reg.get("", "v1", "namespaces").expect("namespaces served");
        assert_eq!(ns.key(Some("ignored"), "shop"), "/registry/core/namespaces/shop");
    }

    #[test]
    fn registry_groups_start_with_core() {
        let groups = Registry::builtin().groups();
        assert_eq!(groups[0], (String::new(), vec!["v1".to_string()]));
        assert!(groups.iter().any(|(g, v)| g == "autoscaling" && v == &vec!["v2".to_string()]));
    }
}
