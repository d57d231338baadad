//! Which fields each built-in kind can be selected by, and their values for
//! one object: Kubernetes v1.33's field label conversion functions
//! (`pkg/apis/*/v1/conversion.go`, which decide what a request may ask for)
//! and `GetAttrs`/`ToSelectableFields` (`pkg/registry/*/strategy.go`, which
//! fill the values).
//!
//! Kinds without a conversion function (every apps/v1 kind, CronJob,
//! ConfigMap, custom resources, ...) accept only `metadata.name` and
//! `metadata.namespace`. Field sets here are keyed by the names a client of
//! that API group sends: events.k8s.io Events use `regarding.kind`, not the
//! core `involvedObject.kind` Kubernetes converts them to internally.

use serde_json::Value;

/// How a kind refuses an unknown field, in Kubernetes' words.
#[derive(Clone, Copy)]
enum Refusal {
    /// `field label not supported: <f>`
    NotSupported,
    /// `field label "<f>" not supported for batchv1.Job`
    BatchJob,
    /// `"<f>" is not a known field selector: only "metadata.name", "metadata.namespace"`
    Default,
}

struct Conversion {
    accepted: &'static [&'static str],
    /// Legacy spellings and what they mean.
    aliases: &'static [(&'static str, &'static str)],
    refusal: Refusal,
}

const NAME_AND_NAMESPACE: &[&str] = &["metadata.name", "metadata.namespace"];

const DEFAULT: Conversion = Conversion {
    accepted: NAME_AND_NAMESPACE,
    aliases: &[],
    refusal: Refusal::Default,
};

fn conversion(group: &str, kind: &str) -> Conversion {
    let (accepted, aliases, refusal): (&'static [&'static str], &'static [(&str, &str)], Refusal) =
        match (group, kind) {
            ("", "Pod") => (
                &[
                    "metadata.name",
                    "metadata.namespace",
                    "spec.nodeName",
                    "spec.restartPolicy",
                    "spec.schedulerName",
                    "spec.serviceAccountName",
                    "spec.hostNetwork",
                    "status.phase",
                    "status.podIP",
                    "status.podIPs",
                    "status.nominatedNodeName",
                ],
                &[("spec.host", "spec.nodeName")],
                Refusal::NotSupported,
            ),
            ("", "Node") => (
                &["metadata.name", "spec.unschedulable"],
                &[],
                Refusal::NotSupported,
            ),
            ("", "ReplicationController") => (
                &["metadata.name", "metadata.namespace", "status.replicas"],
                &[],
                Refusal::NotSupported,
            ),
            ("", "Event") => (
                &[
                    "involvedObject.kind",
                    "involvedObject.namespace",
                    "involvedObject.name",
                    "involvedObject.uid",
                    "involvedObject.apiVersion",
                    "involvedObject.resourceVersion",
                    "involvedObject.fieldPath",
                    "reason",
                    "reportingComponent",
                    "source",
                    "type",
                    "metadata.namespace",
                    "metadata.name",
                ],
                &[],
                Refusal::NotSupported,
            ),
            ("", "Namespace") => (
                &["status.phase", "metadata.name"],
                &[],
                Refusal::NotSupported,
            ),
            ("", "Secret") => (
                &["type", "metadata.namespace", "metadata.name"],
                &[],
                Refusal::NotSupported,
            ),
            ("", "Service") => (
                &[
                    "metadata.namespace",
                    "metadata.name",
                    "spec.clusterIP",
                    "spec.type",
                ],
                &[],
                Refusal::NotSupported,
            ),
            ("batch", "Job") => (
                &["metadata.name", "metadata.namespace", "status.successful"],
                &[],
                Refusal::BatchJob,
            ),
            ("events.k8s.io", "Event") => (
                &[
                    "reason",
                    "regarding.kind",
                    "regarding.namespace",
                    "regarding.name",
                    "regarding.uid",
                    "regarding.apiVersion",
                    "regarding.resourceVersion",
                    "regarding.fieldPath",
                    "reportingController",
                    "source",
                    "type",
                    "metadata.namespace",
                    "metadata.name",
                ],
                &[],
                Refusal::NotSupported,
            ),
            ("certificates.k8s.io", "CertificateSigningRequest") => (
                &["metadata.name", "spec.signerName"],
                &[],
                Refusal::NotSupported,
            ),
            _ => return DEFAULT,
        };
    Conversion {
        accepted,
        aliases,
        refusal,
    }
}

/// The field a label means for the kind (itself, or what a legacy alias
/// stands for), or Kubernetes' message refusing it.
pub(super) fn convert_label(group: &str, kind: &str, label: &str) -> Result<&'static str, String> {
    let c = conversion(group, kind);
    if let Some(f) = c.accepted.iter().find(|f| **f == label) {
        return Ok(f);
    }
    if let Some((_, to)) = c.aliases.iter().find(|(from, _)| *from == label) {
        return Ok(to);
    }
    Err(match c.refusal {
        Refusal::NotSupported => format!("field label not supported: {label}"),
        Refusal::BatchJob => format!("field label {label:?} not supported for batchv1.Job"),
        Refusal::Default => {
            format!(
                "{label:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
            )
        }
    })
}

/// Whether a field selector may name `field` for this kind (what a v1.33
/// API server accepts; anything else is a 400 BadRequest). Unknown kinds,
/// custom resources included, accept `metadata.name` and `metadata.namespace`.
pub fn is_supported_field(group: &str, kind: &str, field: &str) -> bool {
    convert_label(group, kind, field).is_ok()
}

/// Kinds stored without a namespace; their field sets have no
/// `metadata.namespace`.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "ComponentStatus"),
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("node.k8s.io", "RuntimeClass"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"),
];

/// The fields and values an object can be selected by, as a v1.33 API
/// server computes them for its kind; every kind has `metadata.name`, and
/// namespaced ones `metadata.namespace`. Missing fields read as "" (numbers
/// as "0", booleans as "false"), as they do on a typed Go object.
pub fn selectable_fields(group: &str, kind: &str, obj: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |field: &str, value: String| out.push((field.to_string(), value));
    add("metadata.name", text(obj, &["metadata", "name"]));
    if !CLUSTER_SCOPED.contains(&(group, kind)) {
        add("metadata.namespace", text(obj, &["metadata", "namespace"]));
    }
    match (group, kind) {
        ("", "Pod") => {
            add("spec.nodeName", text(obj, &["spec", "nodeName"]));
            add("spec.restartPolicy", text(obj, &["spec", "restartPolicy"]));
            add("spec.schedulerName", text(obj, &["spec", "schedulerName"]));
            // The deprecated `serviceAccount` fills in for an empty `serviceAccountName`.
            let mut account = text(obj, &["spec", "serviceAccountName"]);
            if account.is_empty() {
                account = text(obj, &["spec", "serviceAccount"]);
            }
            add("spec.serviceAccountName", account);
            add("spec.hostNetwork", boolean(obj, &["spec", "hostNetwork"]));
            add("status.phase", text(obj, &["status", "phase"]));
            // The first of `podIPs` is authoritative; `podIP` is its legacy mirror.
            let mut ip = obj
                .pointer("/status/podIPs/0/ip")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if ip.is_empty() {
                ip = text(obj, &["status", "podIP"]);
            }
            add("status.podIP", ip);
            add(
                "status.nominatedNodeName",
                text(obj, &["status", "nominatedNodeName"]),
            );
        }
        ("", "Node") => add(
            "spec.unschedulable",
            boolean(obj, &["spec", "unschedulable"]),
        ),
        ("", "ReplicationController") => {
            add("status.replicas", integer(obj, &["status", "replicas"]))
        }
        ("", "Event") => {
            for f in [
                "kind",
                "namespace",
                "name",
                "uid",
                "apiVersion",
                "resourceVersion",
                "fieldPath",
            ] {
                add(
                    &format!("involvedObject.{f}"),
                    text(obj, &["involvedObject", f]),
                );
            }
            add("reason", text(obj, &["reason"]));
            let reporting = text(obj, &["reportingComponent"]);
            let mut source = text(obj, &["source", "component"]);
            if source.is_empty() {
                source = reporting.clone();
            }
            add("reportingComponent", reporting);
            add("source", source);
            add("type", text(obj, &["type"]));
        }
        ("events.k8s.io", "Event") => {
            for f in [
                "kind",
                "namespace",
                "name",
                "uid",
                "apiVersion",
                "resourceVersion",
                "fieldPath",
            ] {
                add(&format!("regarding.{f}"), text(obj, &["regarding", f]));
            }
            add("reason", text(obj, &["reason"]));
            let reporting = text(obj, &["reportingController"]);
            let mut source = text(obj, &["deprecatedSource", "component"]);
            if source.is_empty() {
                source = reporting.clone();
            }
            add("reportingController", reporting);
            add("source", source);
            add("type", text(obj, &["type"]));
        }
        ("", "Namespace") => add("status.phase", text(obj, &["status", "phase"])),
        ("", "Secret") => add("type", text(obj, &["type"])),
        ("", "Service") => {
            add("spec.clusterIP", text(obj, &["spec", "clusterIP"]));
            add("spec.type", text(obj, &["spec", "type"]));
        }
        ("batch", "Job") => add("status.successful", integer(obj, &["status", "succeeded"])),
        ("certificates.k8s.io", "CertificateSigningRequest") => {
            add("spec.signerName", text(obj, &["spec", "signerName"]))
        }
        _ => {}
    }
    out
}

fn get<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, k| v.get(k))
}

fn text(obj: &Value, path: &[&str]) -> String {
    get(obj, path)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn boolean(obj: &Value, path: &[&str]) -> String {
    get(obj, path)
        .and_then(Value::as_bool)
        .unwrap_or(false)
        .to_string()
}

fn integer(obj: &Value, path: &[&str]) -> String {
    get(obj, path)
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(group: &str, kind: &str, obj: Value) -> Vec<(String, String)> {
        selectable_fields(group, kind, &obj)
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn selector_field_pod_set() {
        let pod = json!({
            "metadata": {"name": "web-1", "namespace": "shop"},
            "spec": {"nodeName": "n1", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                     "serviceAccount": "legacy", "hostNetwork": true},
            "status": {"phase": "Running", "podIP": "10.0.0.9", "podIPs": [{"ip": "10.0.0.5"}],
                       "nominatedNodeName": ""}
        });
        assert_eq!(
            fields("", "Pod", pod),
            pairs(&[
                ("metadata.name", "web-1"),
                ("metadata.namespace", "shop"),
                ("spec.nodeName", "n1"),
                ("spec.restartPolicy", "Always"),
                ("spec.schedulerName", "default-scheduler"),
                ("spec.serviceAccountName", "legacy"),
                ("spec.hostNetwork", "true"),
                ("status.phase", "Running"),
                ("status.podIP", "10.0.0.5"),
                ("status.nominatedNodeName", ""),
            ])
        );
        let bare = fields(
            "",
            "Pod",
            json!({"metadata": {"name": "p"}, "status": {"podIP": "10.1.1.1"}}),
        );
        assert!(bare.contains(&("spec.hostNetwork".to_string(), "false".to_string())));
        assert!(bare.contains(&("status.podIP".to_string(), "10.1.1.1".to_string())));
    }

    #[test]
    fn selector_field_node_namespace_secret_service_sets() {
        assert_eq!(
            fields(
                "",
                "Node",
                json!({"metadata": {"name": "n1"}, "spec": {"unschedulable": true}})
            ),
            pairs(&[("metadata.name", "n1"), ("spec.unschedulable", "true")])
        );
        assert_eq!(
            fields(
                "",
                "Namespace",
                json!({"metadata": {"name": "shop"}, "status": {"phase": "Active"}})
            ),
            pairs(&[("metadata.name", "shop"), ("status.phase", "Active")])
        );
        assert_eq!(
            fields(
                "",
                "Secret",
                json!({"metadata": {"name": "s", "namespace": "a"}, "type": "Opaque"})
            ),
            pairs(&[
                ("metadata.name", "s"),
                ("metadata.namespace", "a"),
                ("type", "Opaque")
            ])
        );
        assert_eq!(
            fields(
                "",
                "Service",
                json!({"metadata": {"name": "web", "namespace": "a"},
                                         "spec": {"clusterIP": "None", "type": "ClusterIP"}})
            ),
            pairs(&[
                ("metadata.name", "web"),
                ("metadata.namespace", "a"),
                ("spec.clusterIP", "None"),
                ("spec.type", "ClusterIP")
            ])
        );
        assert_eq!(
            fields(
                "",
                "ConfigMap",
                json!({"metadata": {"name": "c", "namespace": "a"}})
            ),
            pairs(&[("metadata.name", "c"), ("metadata.namespace", "a")])
        );
        assert_eq!(
            fields(
                "rbac.authorization.k8s.io",
                "ClusterRole",
                json!({"metadata": {"name": "admin"}})
            ),
            pairs(&[("metadata.name", "admin")])
        );
    }

    #[test]
    fn selector_field_workload_sets() {
        assert_eq!(
            fields(
                "",
                "ReplicationController",
                json!({"metadata": {"name": "rc", "namespace": "a"},
                                                        "status": {"replicas": 3}})
            ),
            pairs(&[
                ("metadata.name", "rc"),
                ("metadata.namespace", "a"),
                ("status.replicas", "3")
            ])
        );
        assert_eq!(
            fields(
                "batch",
                "Job",
                json!({"metadata": {"name": "j", "namespace": "a"}, "status": {}})
            ),
            pairs(&[
                ("metadata.name", "j"),
                ("metadata.namespace", "a"),
                ("status.successful", "0")
            ])
        );
        assert_eq!(
            fields(
                "batch",
                "Job",
                json!({"metadata": {"name": "j"}, "status": {"succeeded": 2}})
            )[2],
            ("status.successful".to_string(), "2".to_string())
        );
        // apps/v1 has no field label conversions: only name and namespace.
        assert_eq!(
            fields(
                "apps",
                "ReplicaSet",
                json!({"metadata": {"name": "r", "namespace": "a"}, "status": {"replicas": 2}})
            ),
            pairs(&[("metadata.name", "r"), ("metadata.namespace", "a")])
        );
    }

    #[test]
    fn selector_field_event_sets() {
        let core = json!({
            "metadata": {"name": "e1", "namespace": "a"},
            "involvedObject": {"kind": "Pod", "namespace": "a", "name": "web", "uid": "u1",
                               "apiVersion": "v1", "resourceVersion": "7", "fieldPath": "spec.containers{web}"},
            "reason": "Pulled", "type": "Normal", "reportingComponent": "kubelet"
        });
        let f = fields("", "Event", core);
        assert_eq!(f.len(), 13);
        assert!(f.contains(&(
            "involvedObject.fieldPath".into(),
            "spec.containers{web}".into()
        )));
        assert!(f.contains(&("involvedObject.uid".into(), "u1".into())));
        // With no source component, `source` falls back to the reporting controller.
        assert!(f.contains(&("source".into(), "kubelet".into())));
        assert!(f.contains(&("reportingComponent".into(), "kubelet".into())));
        let with_source = fields(
            "",
            "Event",
            json!({"source": {"component": "scheduler"}, "reportingComponent": "x"}),
        );
        assert!(with_source.contains(&("source".into(), "scheduler".into())));

        let ev = json!({
            "metadata": {"name": "e2", "namespace": "a"},
            "regarding": {"kind": "Deployment", "name": "web"},
            "reason": "ScalingReplicaSet", "type": "Normal", "reportingController": "deployment-controller"
        });
        let f = fields("events.k8s.io", "Event", ev);
        assert_eq!(f.len(), 13);
        assert!(f.contains(&("regarding.kind".into(), "Deployment".into())));
        assert!(f.contains(&("reportingController".into(), "deployment-controller".into())));
        assert!(f.contains(&("source".into(), "deployment-controller".into())));
        for (name, _) in &f {
            assert!(is_supported_field("events.k8s.io", "Event", name), "{name}");
        }
    }

    #[test]
    fn selector_field_supported_fields_per_kind() {
        for (group, kind, field, ok) in [
            ("", "Pod", "spec.nodeName", true),
            ("", "Pod", "spec.host", true),
            ("", "Pod", "status.podIPs", true),
            ("", "Pod", "spec.containers", false),
            ("", "Node", "spec.unschedulable", true),
            ("", "Node", "metadata.namespace", false),
            ("", "Namespace", "status.phase", true),
            ("", "Namespace", "metadata.namespace", false),
            ("", "Secret", "type", true),
            ("", "ConfigMap", "metadata.namespace", true),
            ("", "ConfigMap", "data", false),
            ("", "Event", "involvedObject.kind", true),
            ("", "Event", "regarding.kind", false),
            ("events.k8s.io", "Event", "regarding.kind", true),
            ("events.k8s.io", "Event", "involvedObject.kind", false),
            ("apps", "Deployment", "metadata.name", true),
            ("apps", "ReplicaSet", "status.replicas", false),
            ("batch", "Job", "status.successful", true),
            ("batch", "CronJob", "status.successful", false),
            (
                "certificates.k8s.io",
                "CertificateSigningRequest",
                "spec.signerName",
                true,
            ),
            ("example.com", "Widget", "metadata.name", true),
            ("example.com", "Widget", "spec.size", false),
        ] {
            assert_eq!(
                is_supported_field(group, kind, field),
                ok,
                "{group}/{kind} {field}"
            );
        }
    }

    #[test]
    fn selector_field_every_set_entry_is_selectable() {
        let kinds = [
            ("", "Pod"),
            ("", "Node"),
            ("", "Namespace"),
            ("", "Secret"),
            ("", "Service"),
            ("", "Event"),
            ("", "ReplicationController"),
            ("batch", "Job"),
            ("certificates.k8s.io", "CertificateSigningRequest"),
            ("apps", "Deployment"),
        ];
        for (group, kind) in kinds {
            for (field, _) in selectable_fields(group, kind, &json!({})) {
                assert!(is_supported_field(group, kind, &field), "{kind} {field}");
            }
        }
    }
}
