//! Validation of built-in kinds on create and update, with Kubernetes v1.33's
//! field paths and messages (`pkg/apis/*/validation`).
//!
//! Objects are validated as JSON after defaulting ([`crate::defaults`]); the
//! API server turns the returned [`FieldError`]s into a 422 `Invalid` status
//! ([`invalid_message`] builds its message, [`FieldError::body`] each cause).
//!
//! What the caller (the REST layer) must have done first, as Kubernetes does:
//! generated `metadata.name` from `generateName`, filled `metadata.namespace`
//! from the URL, copied `resourceVersion` into unconditional updates, run
//! `strategy.PrepareForCreate/Update` (e.g. Job selector generation, Service
//! cluster IP allocation).
//!
//! Covered kinds: core/v1 Namespace, Pod, Service, Endpoints, ConfigMap,
//! Secret, ServiceAccount, Event, Node, PersistentVolume,
//! PersistentVolumeClaim, ResourceQuota, LimitRange; apps/v1 Deployment,
//! ReplicaSet, StatefulSet, DaemonSet, ControllerRevision; batch/v1 Job,
//! CronJob; autoscaling/v2 HorizontalPodAutoscaler; networking.k8s.io/v1
//! Ingress, IngressClass, NetworkPolicy; coordination.k8s.io/v1 Lease;
//! discovery.k8s.io/v1 EndpointSlice; events.k8s.io/v1 Event;
//! storage.k8s.io/v1 StorageClass; policy/v1 PodDisruptionBudget. Other
//! kinds pass unvalidated (custom resources go through [`validate_object_meta`]).
//!
//! Known gaps (checks Kubernetes makes that are not reproduced here):
//! - values Kubernetes prints with Go's `%#v` for structs (a whole pod
//!   template, a resource list, an owner reference list) are printed as JSON;
//!   the diff appended to "pod updates may not change fields" errors is a
//!   JSON diff, not `cmp.Diff` output;
//! - Windows-specific security options, AppArmor/seccomp annotations,
//!   pod-level resources, resource claims beyond names, the legacy in-tree
//!   volume plugins beyond their required fields, pod resize and ephemeral
//!   container subresources, and status-subresource validation;
//! - checks that need cluster state (node port allocation, existing
//!   PriorityClasses, quota) belong to the API server and admission;
//! - IP addresses are checked with Rust's parser, which refuses the
//!   leading-zero IPv4 forms Go's legacy parser accepts.

pub mod field;
pub mod format;
pub(crate) mod json;
pub(crate) mod label_selector;
pub mod meta;
pub mod quantity;

mod apps;
mod autoscaling;
mod batch;
mod coordination;
mod core_v1;
pub mod cron;
mod discovery;
mod events;
mod networking;
mod persistent_volume;
mod pod;
mod policy;
mod resources;
mod service;
mod storage;
mod volume;

pub use field::{invalid_message, FieldError, FieldErrorKind, Path};
pub use meta::{validate_object_meta, validate_object_meta_update};
pub use quantity::{parse_quantity, Quantity, QuantityError, QuantityFormat};

use serde_json::Value;

/// The naming rule a kind's `metadata.name` must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// Lower-case RFC 1123 subdomain (most kinds).
    Dns1123Subdomain,
    /// Lower-case RFC 1123 label (Namespace, StatefulSet).
    Dns1123Label,
    /// RFC 1035 label, starting with a letter (Service).
    Dns1035Label,
    /// Anything usable as a URL path segment: no `/` or `%`, not `.` or `..`
    /// (custom resources, core Events, PodDisruptionBudgets).
    PathSegment,
}

/// The naming rule of a kind; kinds not built in get [`NameRule::PathSegment`].
pub fn name_rule(group: &str, kind: &str) -> NameRule {
    match (group, kind) {
        ("", "Namespace") => NameRule::Dns1123Label,
        ("", "Service") => NameRule::Dns1035Label,
        ("", "Event") => NameRule::PathSegment,
        ("", _) if is_known(group, kind) => NameRule::Dns1123Subdomain,
        ("apps", "StatefulSet") => NameRule::Dns1123Label,
        ("policy", "PodDisruptionBudget") => NameRule::PathSegment,
        _ if is_known(group, kind) => NameRule::Dns1123Subdomain,
        _ => NameRule::PathSegment,
    }
}

/// Kubernetes' messages for an invalid name (empty when the name is valid).
pub fn validate_name(name: &str, rule: NameRule) -> Vec<String> {
    meta::validate_name_with_prefix(name, rule, false)
}

const KNOWN: &[(&str, &str, bool)] = &[
    ("", "Namespace", false),
    ("", "Pod", true),
    ("", "Service", true),
    ("", "Endpoints", true),
    ("", "ConfigMap", true),
    ("", "Secret", true),
    ("", "ServiceAccount", true),
    ("", "Event", true),
    ("", "Node", false),
    ("", "PersistentVolume", false),
    ("", "PersistentVolumeClaim", true),
    ("", "ResourceQuota", true),
    ("", "LimitRange", true),
    ("apps", "Deployment", true),
    ("apps", "ReplicaSet", true),
    ("apps", "StatefulSet", true),
    ("apps", "DaemonSet", true),
    ("apps", "ControllerRevision", true),
    ("batch", "Job", true),
    ("batch", "CronJob", true),
    ("autoscaling", "HorizontalPodAutoscaler", true),
    ("networking.k8s.io", "Ingress", true),
    ("networking.k8s.io", "IngressClass", false),
    ("networking.k8s.io", "NetworkPolicy", true),
    ("coordination.k8s.io", "Lease", true),
    ("discovery.k8s.io", "EndpointSlice", true),
    ("events.k8s.io", "Event", true),
    ("storage.k8s.io", "StorageClass", false),
    ("policy", "PodDisruptionBudget", true),
];

fn is_known(group: &str, kind: &str) -> bool {
    KNOWN.iter().any(|(g, k, _)| *g == group && *k == kind)
}

/// Whether a built-in kind is namespaced (`None` for kinds not covered here).
pub fn is_namespaced(group: &str, kind: &str) -> Option<bool> {
    KNOWN.iter().find(|(g, k, _)| *g == group && *k == kind).map(|(_, _, n)| *n)
}

/// Validates a new object of a built-in kind (already defaulted). Kinds not
/// covered here return no errors.
pub fn validate_create(group: &str, kind: &str, obj: &Value) -> Vec<FieldError> {
    match (group, kind) {
        ("", "Pod") => pod::validate_pod_create(obj),
        ("", "Service") => service::validate_service_create(obj),
        ("", "Namespace") => core_v1::validate_namespace_create(obj),
        ("", "ConfigMap") => core_v1::validate_config_map_create(obj),
        ("", "Secret") => core_v1::validate_secret_create(obj),
        ("", "ServiceAccount") => core_v1::validate_service_account_create(obj),
        ("", "Endpoints") => core_v1::validate_endpoints_create(obj),
        ("", "Event") => core_v1::validate_core_event_create(obj),
        ("", "Node") => core_v1::validate_node_create(obj),
        ("", "ResourceQuota") => core_v1::validate_resource_quota_create(obj),
        ("", "LimitRange") => core_v1::validate_limit_range_create(obj),
        ("", "PersistentVolume") => persistent_volume::validate_pv_create(obj),
        ("", "PersistentVolumeClaim") => persistent_volume::validate_pvc_create(obj),
        ("apps", "Deployment") => apps::validate_deployment_create(obj),
        ("apps", "ReplicaSet") => apps::validate_replica_set_create(obj),
        ("apps", "StatefulSet") => apps::validate_stateful_set_create(obj),
        ("apps", "DaemonSet") => apps::validate_daemon_set_create(obj),
        ("apps", "ControllerRevision") => apps::validate_controller_revision_create(obj),
        ("batch", "Job") => batch::validate_job_create(obj),
        ("batch", "CronJob") => batch::validate_cron_job_create(obj),
        ("autoscaling", "HorizontalPodAutoscaler") => autoscaling::validate_hpa_create(obj),
        ("networking.k8s.io", "Ingress") => networking::validate_ingress_create(obj),
        ("networking.k8s.io", "IngressClass") => networking::validate_ingress_class_create(obj),
        ("networking.k8s.io", "NetworkPolicy") => networking::validate_network_policy_create(obj),
        ("coordination.k8s.io", "Lease") => coordination::validate_lease_create(obj),
        ("discovery.k8s.io", "EndpointSlice") => discovery::validate_endpoint_slice_create(obj),
        ("events.k8s.io", "Event") => events::validate_event_create(obj),
        ("storage.k8s.io", "StorageClass") => storage::validate_storage_class_create(obj),
        ("policy", "PodDisruptionBudget") => policy::validate_pdb_create(obj),
        _ => Vec::new(),
    }
}

/// Validates an update of a built-in kind, including its immutability rules.
pub fn validate_update(group: &str, kind: &str, obj: &Value, old: &Value) -> Vec<FieldError> {
    match (group, kind) {
        ("", "Pod") => pod::validate_pod_update(obj, old),
        ("", "Service") => service::validate_service_update(obj, old),
        ("", "Namespace") => core_v1::validate_namespace_update(obj, old),
        ("", "ConfigMap") => core_v1::validate_config_map_update(obj, old),
        ("", "Secret") => core_v1::validate_secret_update(obj, old),
        ("", "ServiceAccount") => core_v1::validate_simple_update(obj, old, core_v1::validate_service_account_create),
        ("", "Endpoints") => core_v1::validate_simple_update(obj, old, core_v1::validate_endpoints_create),
        ("", "Event") => core_v1::validate_core_event_update(obj, old),
        ("", "Node") => core_v1::validate_node_update(obj, old),
        ("", "ResourceQuota") => core_v1::validate_resource_quota_update(obj, old),
        ("", "LimitRange") => core_v1::validate_simple_update(obj, old, core_v1::validate_limit_range_create),
        ("", "PersistentVolume") => persistent_volume::validate_pv_update(obj, old),
        ("", "PersistentVolumeClaim") => persistent_volume::validate_pvc_update(obj, old),
        ("apps", "Deployment") => apps::validate_deployment_update(obj, old),
        ("apps", "ReplicaSet") => apps::validate_replica_set_update(obj, old),
        ("apps", "StatefulSet") => apps::validate_stateful_set_update(obj, old),
        ("apps", "DaemonSet") => apps::validate_daemon_set_update(obj, old),
        ("apps", "ControllerRevision") => apps::validate_controller_revision_update(obj, old),
        ("batch", "Job") => batch::validate_job_update(obj, old),
        ("batch", "CronJob") => batch::validate_cron_job_update(obj, old),
        ("autoscaling", "HorizontalPodAutoscaler") => autoscaling::validate_hpa_update(obj, old),
        ("networking.k8s.io", "Ingress") => networking::validate_ingress_update(obj, old),
        ("networking.k8s.io", "IngressClass") => networking::validate_ingress_class_update(obj, old),
        ("networking.k8s.io", "NetworkPolicy") => networking::validate_network_policy_update(obj, old),
        ("coordination.k8s.io", "Lease") => core_v1::validate_simple_update(obj, old, coordination::validate_lease_create),
        ("discovery.k8s.io", "EndpointSlice") => discovery::validate_endpoint_slice_update(obj, old),
        ("events.k8s.io", "Event") => events::validate_event_update(obj, old),
        ("storage.k8s.io", "StorageClass") => storage::validate_storage_class_update(obj, old),
        ("policy", "PodDisruptionBudget") => policy::validate_pdb_update(obj, old),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation_name_rules_per_kind() {
        assert_eq!(name_rule("", "Namespace"), NameRule::Dns1123Label);
        assert_eq!(name_rule("", "Service"), NameRule::Dns1035Label);
        assert_eq!(name_rule("", "ConfigMap"), NameRule::Dns1123Subdomain);
        assert_eq!(name_rule("apps", "Deployment"), NameRule::Dns1123Subdomain);
        assert_eq!(name_rule("example.com", "Widget"), NameRule::PathSegment);
        assert_eq!(
            validate_name("1svc", NameRule::Dns1035Label),
            vec!["a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"]
        );
        assert_eq!(validate_name("a/b", NameRule::PathSegment), vec!["may not contain '/'"]);
        assert_eq!(validate_name("..", NameRule::PathSegment), vec!["may not be '..'"]);
        assert_eq!(is_namespaced("", "Node"), Some(false));
        assert_eq!(is_namespaced("x", "Y"), None);
    }

    #[test]
    fn validation_unknown_kinds_pass() {
        assert!(validate_create("example.com", "Widget", &json!({})).is_empty());
        assert!(validate_update("example.com", "Widget", &json!({}), &json!({})).is_empty());
    }
}
