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

pub use field::{FieldError, FieldErrorKind, Path, go_quote, invalid_message};
pub use meta::{validate_object_meta, validate_object_meta_update};
pub use quantity::{Quantity, QuantityError, QuantityFormat, parse_quantity};

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
    KNOWN
        .iter()
        .find(|(g, k, _)| *g == group && *k == kind)
        .map(|(_, _, n)| *n)
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
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crate::crd::validate_crd(obj, None),
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
        ("", "ServiceAccount") => {
            core_v1::validate_simple_update(obj, old, core_v1::validate_service_account_create)
        }
        ("", "Endpoints") => {
            core_v1::validate_simple_update(obj, old, core_v1::validate_endpoints_create)
        }
        ("", "Event") => core_v1::validate_core_event_update(obj, old),
        ("", "Node") => core_v1::validate_node_update(obj, old),
        ("", "ResourceQuota") => core_v1::validate_resource_quota_update(obj, old),
        ("", "LimitRange") => {
            core_v1::validate_simple_update(obj, old, core_v1::validate_limit_range_create)
        }
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
        ("networking.k8s.io", "IngressClass") => {
            networking::validate_ingress_class_update(obj, old)
        }
        ("networking.k8s.io", "NetworkPolicy") => {
            networking::validate_network_policy_update(obj, old)
        }
        ("coordination.k8s.io", "Lease") => {
            core_v1::validate_simple_update(obj, old, coordination::validate_lease_create)
        }
        ("discovery.k8s.io", "EndpointSlice") => {
            discovery::validate_endpoint_slice_update(obj, old)
        }
        ("events.k8s.io", "Event") => events::validate_event_update(obj, old),
        ("storage.k8s.io", "StorageClass") => storage::validate_storage_class_update(obj, old),
        ("policy", "PodDisruptionBudget") => policy::validate_pdb_update(obj, old),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crate::crd::validate_crd(obj, Some(old)),
        _ => Vec::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
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
            vec![
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
            ]
        );
        assert_eq!(
            validate_name("a/b", NameRule::PathSegment),
            vec!["may not contain '/'"]
        );
        assert_eq!(
            validate_name("..", NameRule::PathSegment),
            vec!["may not be '..'"]
        );
        assert_eq!(is_namespaced("", "Node"), Some(false));
        assert_eq!(is_namespaced("x", "Y"), None);
    }

    #[test]
    fn validation_unknown_kinds_pass() {
        assert!(validate_create("example.com", "Widget", &json!({})).is_empty());
        assert!(validate_update("example.com", "Widget", &json!({}), &json!({})).is_empty());
    }

    fn messages_after_defaults(group: &str, kind: &str, mut obj: Value) -> Vec<String> {
        crate::defaults::apply_defaults(group, kind, &mut obj);
        validate_create(group, kind, &obj)
            .iter()
            .map(FieldError::message)
            .collect()
    }

    #[test]
    fn validation_common_messages_match_kubernetes() {
        let deployment = |name: &str, selector: Value, labels: Value, image: Value| {
            json!({"metadata": {"name": name, "namespace": "default"}, "spec": {
                "selector": {"matchLabels": selector},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "web", "image": image}]}}}})
        };
        let cases: Vec<(&str, &str, Value, Vec<&str>)> = vec![
            (
                "",
                "ConfigMap",
                json!({"metadata": {"name": "Foo", "namespace": "default"}}),
                vec![
                    r#"metadata.name: Invalid value: "Foo": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#,
                ],
            ),
            (
                "",
                "Namespace",
                json!({"metadata": {"name": "My_NS"}}),
                vec![
                    r#"metadata.name: Invalid value: "My_NS": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"#,
                ],
            ),
            (
                "",
                "ConfigMap",
                json!({"metadata": {"name": "cfg", "namespace": "default", "labels": {"tier": "-x"}}, "data": {"a/b": "1"}}),
                vec![
                    r#"metadata.labels: Invalid value: "-x": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"#,
                    r#"data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"#,
                ],
            ),
            (
                "",
                "Pod",
                json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": [{"name": "c"}]}}),
                vec!["spec.containers[0].image: Required value"],
            ),
            (
                "apps",
                "Deployment",
                deployment(
                    "web",
                    json!({"app": "web"}),
                    json!({"app": "other"}),
                    json!("nginx"),
                ),
                vec![
                    r#"spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`"#,
                ],
            ),
            (
                "apps",
                "Deployment",
                deployment(
                    "web",
                    json!({"app": "web"}),
                    json!({"app": "web"}),
                    json!(""),
                ),
                vec!["spec.template.spec.containers[0].image: Required value"],
            ),
            (
                "apps",
                "Deployment",
                deployment(
                    "web",
                    json!({"app": "web"}),
                    json!({"app": "web"}),
                    json!("nginx"),
                ),
                vec![],
            ),
        ];
        for (group, kind, obj, want) in cases {
            assert_eq!(messages_after_defaults(group, kind, obj), want, "{kind}");
        }
    }

    #[test]
    fn validation_immutable_fields_on_update() {
        let mut old = json!({"metadata": {"name": "web", "namespace": "default", "resourceVersion": "1"}, "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}});
        crate::defaults::apply_defaults("apps", "Deployment", &mut old);
        let mut new = old.clone();
        new["spec"]["selector"]["matchLabels"]["app"] = json!("web2");
        new["spec"]["template"]["metadata"]["labels"]["app"] = json!("web2");
        new["metadata"]["name"] = json!("web2");
        let msgs: Vec<String> = validate_update("apps", "Deployment", &new, &old)
            .iter()
            .map(FieldError::message)
            .collect();
        assert_eq!(
            msgs,
            vec![
                r#"metadata.name: Invalid value: "web2": field is immutable"#,
                r#"spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"#,
            ]
        );
    }

    #[test]
    fn validation_typical_objects_pass() {
        let meta = json!({"name": "web", "namespace": "default", "labels": {"app": "web"}});
        let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
            "name": "web", "image": "nginx:1.27",
            "ports": [{"name": "http", "containerPort": 80}],
            "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}, {"name": "MODE", "value": "prod"}],
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
            "readinessProbe": {"httpGet": {"path": "/", "port": "http"}},
            "livenessProbe": {"tcpSocket": {"port": 80}, "initialDelaySeconds": 5},
            "volumeMounts": [{"name": "cfg", "mountPath": "/etc/nginx/conf.d", "readOnly": true}, {"name": "tmp", "mountPath": "/tmp"}],
            "securityContext": {"runAsNonRoot": true, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}
        }], "volumes": [{"name": "cfg", "configMap": {"name": "web-config"}}, {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}],
            "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {
                "labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}, "topologyKey": "kubernetes.io/hostname"}}]}}}});
        let selector = json!({"matchLabels": {"app": "web"}});
        let mut job = json!({"metadata": {"name": "migrate", "namespace": "default", "uid": "0b6a3f0e-8d3c-4b8e-9d55-6f1c9c2f1a10"},
            "spec": {"template": {"spec": {"containers": [{"name": "m", "image": "busybox", "command": ["sh", "-c", "true"]}], "restartPolicy": "Never"}}}});
        crate::defaults::apply_defaults("batch", "Job", &mut job);
        crate::defaults::generate_job_selector(&mut job);
        let cases: Vec<(&str, &str, Value)> = vec![
            (
                "",
                "Pod",
                json!({"metadata": meta, "spec": template["spec"]}),
            ),
            (
                "apps",
                "Deployment",
                json!({"metadata": meta, "spec": {"replicas": 3, "selector": selector, "template": template}}),
            ),
            (
                "apps",
                "ReplicaSet",
                json!({"metadata": meta, "spec": {"selector": selector, "template": template}}),
            ),
            (
                "apps",
                "DaemonSet",
                json!({"metadata": meta, "spec": {"selector": selector, "template": template}}),
            ),
            (
                "apps",
                "StatefulSet",
                json!({"metadata": meta, "spec": {"serviceName": "web", "selector": selector, "template": template,
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}),
            ),
            (
                "batch",
                "CronJob",
                json!({"metadata": {"name": "nightly", "namespace": "default"}, "spec": {"schedule": "0 3 * * *", "timeZone": "Europe/Paris",
                "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "OnFailure"}}}}}}),
            ),
            (
                "",
                "Service",
                json!({"metadata": meta, "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}, {"name": "https", "port": 443}]}}),
            ),
            (
                "",
                "Service",
                json!({"metadata": {"name": "ext", "namespace": "default"}, "spec": {"type": "ExternalName", "externalName": "db.example.com"}}),
            ),
            (
                "",
                "ConfigMap",
                json!({"metadata": {"name": "web-config", "namespace": "default"}, "data": {"default.conf": "server {}", "MODE": "prod"}}),
            ),
            (
                "",
                "Secret",
                json!({"metadata": {"name": "tls", "namespace": "default"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "Y3J0", "tls.key": "a2V5"}}),
            ),
            ("", "Namespace", json!({"metadata": {"name": "team-a"}})),
            (
                "",
                "ServiceAccount",
                json!({"metadata": {"name": "builder", "namespace": "default"}}),
            ),
            (
                "",
                "PersistentVolumeClaim",
                json!({"metadata": {"name": "data", "namespace": "default"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}, "storageClassName": "standard"}}),
            ),
            (
                "",
                "PersistentVolume",
                json!({"metadata": {"name": "pv1"}, "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/data/pv1"}}}),
            ),
            (
                "",
                "ResourceQuota",
                json!({"metadata": {"name": "q", "namespace": "default"}, "spec": {"hard": {"pods": "10", "requests.cpu": "4", "limits.memory": "8Gi"}}}),
            ),
            (
                "",
                "LimitRange",
                json!({"metadata": {"name": "lr", "namespace": "default"}, "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}, "defaultRequest": {"cpu": "100m"}}]}}),
            ),
            (
                "autoscaling",
                "HorizontalPodAutoscaler",
                json!({"metadata": meta, "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 10}}),
            ),
            (
                "networking.k8s.io",
                "Ingress",
                json!({"metadata": meta, "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["web.example.com"], "secretName": "tls"}],
                "rules": [{"host": "web.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"name": "http"}}}}]}}]}}),
            ),
            (
                "networking.k8s.io",
                "NetworkPolicy",
                json!({"metadata": meta, "spec": {"podSelector": {"matchLabels": {"app": "web"}},
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}}, {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}], "ports": [{"port": 80}]}]}}),
            ),
            (
                "networking.k8s.io",
                "IngressClass",
                json!({"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}}),
            ),
            (
                "policy",
                "PodDisruptionBudget",
                json!({"metadata": meta, "spec": {"minAvailable": "50%", "selector": selector}}),
            ),
            (
                "coordination.k8s.io",
                "Lease",
                json!({"metadata": {"name": "leader", "namespace": "default"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}),
            ),
            (
                "storage.k8s.io",
                "StorageClass",
                json!({"metadata": {"name": "standard"}, "provisioner": "rancher.io/local-path"}),
            ),
            (
                "discovery.k8s.io",
                "EndpointSlice",
                json!({"metadata": {"name": "web-abc", "namespace": "default"}, "addressType": "IPv4",
                "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": true}}], "ports": [{"name": "http", "port": 80}]}),
            ),
            ("batch", "Job", job),
        ];
        for (group, kind, mut obj) in cases {
            crate::defaults::apply_defaults(group, kind, &mut obj);
            let msgs: Vec<String> = validate_create(group, kind, &obj)
                .iter()
                .map(FieldError::message)
                .collect();
            assert!(msgs.is_empty(), "{kind}: {msgs:?}");
        }
    }

    #[test]
    fn validation_allowed_updates_pass() {
        let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}});
        let meta = json!({"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "5", "creationTimestamp": "2025-01-01T00:00:00Z"});
        // (group, kind, old object, JSON-pointer edits that make the new one)
        type Case<'a> = (&'a str, &'a str, Value, Vec<(&'a str, Value)>);
        let cases: Vec<Case> = vec![
            (
                "apps",
                "Deployment",
                json!({"metadata": meta, "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template}}),
                vec![
                    ("/spec/replicas", json!(5)),
                    (
                        "/spec/template/spec/containers/0/image",
                        json!("nginx:1.28"),
                    ),
                ],
            ),
            (
                "apps",
                "StatefulSet",
                json!({"metadata": meta, "spec": {"serviceName": "web", "selector": {"matchLabels": {"app": "web"}}, "template": template}}),
                vec![
                    ("/spec/replicas", json!(3)),
                    (
                        "/spec/template/spec/containers/0/image",
                        json!("nginx:1.28"),
                    ),
                ],
            ),
            (
                "",
                "Pod",
                json!({"metadata": meta, "spec": template["spec"]}),
                vec![
                    ("/spec/containers/0/image", json!("nginx:1.28")),
                    ("/metadata/labels", json!({"x": "y"})),
                ],
            ),
            (
                "",
                "Service",
                json!({"metadata": meta, "spec": {"clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"], "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "ports": [{"port": 80}]}}),
                vec![("/spec/ports/0/port", json!(8080))],
            ),
            (
                "",
                "ConfigMap",
                json!({"metadata": meta, "data": {"a": "1"}}),
                vec![("/data/a", json!("2"))],
            ),
        ];
        for (group, kind, mut old, changes) in cases {
            crate::defaults::apply_defaults(group, kind, &mut old);
            let mut new = old.clone();
            for (ptr, v) in &changes {
                if let Some(slot) = new.pointer_mut(ptr) {
                    *slot = v.clone();
                } else {
                    let (parent, key) = ptr.rsplit_once('/').unwrap();
                    new.pointer_mut(parent).unwrap()[key] = v.clone();
                }
            }
            let msgs: Vec<String> = validate_update(group, kind, &new, &old)
                .iter()
                .map(FieldError::message)
                .collect();
            assert!(msgs.is_empty(), "{kind}: {msgs:?}");
        }
    }
}
