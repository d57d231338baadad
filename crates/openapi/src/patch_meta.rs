//! Where Kubernetes marks list and map fields for merging: the
//! `x-kubernetes-patch-strategy`/`x-kubernetes-patch-merge-key` pair that
//! client-side `kubectl apply` reads for strategic merge patches, and the
//! `x-kubernetes-list-type`/`x-kubernetes-list-map-keys` pair of server-side
//! apply. k8s-openapi's schemas do not carry them, so this table adds them to
//! the fields that have them in Kubernetes v1.33 (the common ones; a field
//! missing here merges as a plain list).

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// How one list (or map) field merges.
struct FieldMeta {
    /// Definition name without the package prefix (`PodSpec`).
    type_name: &'static str,
    field: &'static str,
    strategy: Option<&'static str>,
    merge_key: Option<&'static str>,
    list_type: Option<&'static str>,
    map_keys: &'static [&'static str],
}

const CORE: &str = "io.k8s.api.core.v1.";
const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.";
const APPS: &str = "io.k8s.api.apps.v1.";
const BATCH: &str = "io.k8s.api.batch.v1.";
const AUTOSCALING_V2: &str = "io.k8s.api.autoscaling.v2.";
const NETWORKING: &str = "io.k8s.api.networking.v1.";
const DISCOVERY: &str = "io.k8s.api.discovery.v1.";
const POLICY: &str = "io.k8s.api.policy.v1.";

/// A list merged by key: both the patch pair and a `map` list type.
const fn keyed(
    type_name: &'static str,
    field: &'static str,
    strategy: &'static str,
    key: &'static str,
    map_keys: &'static [&'static str],
) -> FieldMeta {
    FieldMeta {
        type_name,
        field,
        strategy: Some(strategy),
        merge_key: Some(key),
        list_type: Some("map"),
        map_keys,
    }
}

/// A list replaced as a whole.
const fn atomic(type_name: &'static str, field: &'static str) -> FieldMeta {
    FieldMeta {
        type_name,
        field,
        strategy: None,
        merge_key: None,
        list_type: Some("atomic"),
        map_keys: &[],
    }
}

/// Conditions keyed by `type`, as nearly every status has them.
const fn conditions(type_name: &'static str) -> FieldMeta {
    keyed(type_name, "conditions", "merge", "type", &["type"])
}

const NAME: &[&str] = &["name"];

/// (package prefix, fields of types in that package).
const TABLE: &[(&str, &[FieldMeta])] = &[
    (
        CORE,
        &[
            keyed("PodSpec", "containers", "merge", "name", NAME),
            keyed("PodSpec", "initContainers", "merge", "name", NAME),
            keyed("PodSpec", "ephemeralContainers", "merge", "name", NAME),
            keyed("PodSpec", "volumes", "merge,retainKeys", "name", NAME),
            keyed("PodSpec", "imagePullSecrets", "merge", "name", NAME),
            keyed("PodSpec", "hostAliases", "merge", "ip", &["ip"]),
            keyed(
                "PodSpec",
                "topologySpreadConstraints",
                "merge",
                "topologyKey",
                &["topologyKey", "whenUnsatisfiable"],
            ),
            keyed(
                "PodSpec",
                "resourceClaims",
                "merge,retainKeys",
                "name",
                NAME,
            ),
            keyed("PodSpec", "schedulingGates", "merge", "name", NAME),
            atomic("PodSpec", "tolerations"),
            atomic("PodSpec", "readinessGates"),
            keyed(
                "Container",
                "ports",
                "merge",
                "containerPort",
                &["containerPort", "protocol"],
            ),
            keyed("Container", "env", "merge", "name", NAME),
            keyed(
                "Container",
                "volumeMounts",
                "merge",
                "mountPath",
                &["mountPath"],
            ),
            keyed(
                "Container",
                "volumeDevices",
                "merge",
                "devicePath",
                &["devicePath"],
            ),
            atomic("Container", "envFrom"),
            atomic("Container", "args"),
            atomic("Container", "command"),
            atomic("Container", "resizePolicy"),
            keyed(
                "EphemeralContainer",
                "ports",
                "merge",
                "containerPort",
                &["containerPort", "protocol"],
            ),
            keyed("EphemeralContainer", "env", "merge", "name", NAME),
            keyed(
                "EphemeralContainer",
                "volumeMounts",
                "merge",
                "mountPath",
                &["mountPath"],
            ),
            keyed(
                "EphemeralContainer",
                "volumeDevices",
                "merge",
                "devicePath",
                &["devicePath"],
            ),
            atomic("EphemeralContainer", "envFrom"),
            atomic("EphemeralContainer", "args"),
            atomic("EphemeralContainer", "command"),
            conditions("PodStatus"),
            keyed("PodStatus", "podIPs", "merge", "ip", &["ip"]),
            FieldMeta {
                type_name: "PodStatus",
                field: "hostIPs",
                strategy: Some("merge"),
                merge_key: Some("ip"),
                list_type: Some("atomic"),
                map_keys: &[],
            },
            keyed(
                "PodStatus",
                "resourceClaimStatuses",
                "merge,retainKeys",
                "name",
                NAME,
            ),
            atomic("PodStatus", "containerStatuses"),
            atomic("PodStatus", "initContainerStatuses"),
            atomic("PodStatus", "ephemeralContainerStatuses"),
            keyed(
                "ServiceSpec",
                "ports",
                "merge",
                "port",
                &["port", "protocol"],
            ),
            atomic("ServiceSpec", "clusterIPs"),
            atomic("ServiceSpec", "externalIPs"),
            atomic("ServiceSpec", "ipFamilies"),
            atomic("ServiceSpec", "loadBalancerSourceRanges"),
            conditions("ServiceStatus"),
            FieldMeta {
                type_name: "NodeSpec",
                field: "podCIDRs",
                strategy: Some("merge"),
                merge_key: None,
                list_type: Some("set"),
                map_keys: &[],
            },
            atomic("NodeSpec", "taints"),
            conditions("NodeStatus"),
            keyed("NodeStatus", "addresses", "merge", "type", &["type"]),
            atomic("NodeStatus", "images"),
            atomic("NodeStatus", "volumesInUse"),
            atomic("NodeStatus", "volumesAttached"),
            conditions("NamespaceStatus"),
            conditions("PersistentVolumeClaimStatus"),
            atomic("PersistentVolumeClaimSpec", "accessModes"),
            atomic("PersistentVolumeSpec", "accessModes"),
            keyed("ServiceAccount", "secrets", "merge", "name", NAME),
            atomic("ServiceAccount", "imagePullSecrets"),
            conditions("ReplicationControllerStatus"),
            FieldMeta {
                type_name: "ResourceRequirements",
                field: "claims",
                strategy: None,
                merge_key: None,
                list_type: Some("map"),
                map_keys: NAME,
            },
            atomic("EndpointSubset", "addresses"),
            atomic("EndpointSubset", "notReadyAddresses"),
            atomic("EndpointSubset", "ports"),
            atomic("Endpoints", "subsets"),
        ],
    ),
    (
        META,
        &[
            FieldMeta {
                type_name: "ObjectMeta",
                field: "finalizers",
                strategy: Some("merge"),
                merge_key: None,
                list_type: Some("set"),
                map_keys: &[],
            },
            keyed("ObjectMeta", "ownerReferences", "merge", "uid", &["uid"]),
            atomic("ObjectMeta", "managedFields"),
            atomic("LabelSelector", "matchExpressions"),
        ],
    ),
    (
        APPS,
        &[
            conditions("DeploymentStatus"),
            conditions("ReplicaSetStatus"),
            conditions("StatefulSetStatus"),
            conditions("DaemonSetStatus"),
            atomic("StatefulSetSpec", "volumeClaimTemplates"),
        ],
    ),
    (
        BATCH,
        &[
            FieldMeta {
                type_name: "JobStatus",
                field: "conditions",
                strategy: Some("merge"),
                merge_key: Some("type"),
                list_type: Some("atomic"),
                map_keys: &[],
            },
            atomic("CronJobStatus", "active"),
        ],
    ),
    (
        AUTOSCALING_V2,
        &[
            conditions("HorizontalPodAutoscalerStatus"),
            atomic("HorizontalPodAutoscalerStatus", "currentMetrics"),
            atomic("HorizontalPodAutoscalerSpec", "metrics"),
        ],
    ),
    (
        NETWORKING,
        &[
            atomic("IngressSpec", "rules"),
            atomic("IngressSpec", "tls"),
            atomic("NetworkPolicySpec", "ingress"),
            atomic("NetworkPolicySpec", "egress"),
            atomic("NetworkPolicySpec", "policyTypes"),
        ],
    ),
    (
        DISCOVERY,
        &[
            atomic("EndpointSlice", "endpoints"),
            atomic("EndpointSlice", "ports"),
        ],
    ),
    (POLICY, &[conditions("PodDisruptionBudgetStatus")]),
];

/// Adds the table's extensions to the fields of `definitions` it names;
/// entries whose definition or field is absent are skipped.
pub(crate) fn annotate(definitions: &mut BTreeMap<String, Value>) {
    for (package, fields) in TABLE {
        for meta in *fields {
            let name = format!("{package}{}", meta.type_name);
            let Some(field) = definitions
                .get_mut(&name)
                .and_then(|definition| definition.get_mut("properties"))
                .and_then(|properties| properties.get_mut(meta.field))
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            if !meta.map_keys.is_empty() {
                field.insert("x-kubernetes-list-map-keys".into(), json!(meta.map_keys));
            }
            if let Some(list_type) = meta.list_type {
                field.insert("x-kubernetes-list-type".into(), json!(list_type));
            }
            if let Some(key) = meta.merge_key {
                field.insert("x-kubernetes-patch-merge-key".into(), json!(key));
            }
            if let Some(strategy) = meta.strategy {
                field.insert("x-kubernetes-patch-strategy".into(), json!(strategy));
            }
        }
    }
}
