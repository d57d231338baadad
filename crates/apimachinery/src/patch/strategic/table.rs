//! The patch strategies and merge keys of the built-in types, as Kubernetes
//! v1.33's Go types declare them (`patchStrategy` / `patchMergeKey` struct
//! tags of k8s.io/api v0.33, apimachinery's meta/v1, apiextensions/v1 and
//! apiregistration/v1; embedded structs flattened), and the type of each
//! kind's object.
//!
//! Only the fields that carry a tag, or lead to a type that has one, are
//! listed: every other field is merged as a plain map or replaced as a list,
//! which is what an untagged field gets. Types are sorted by id for lookup;
//! ids are `<group>.<version>.<Type>`, the tail of their OpenAPI definition
//! names.

use super::schema::{LIST, ONE, TypeDef, f};

pub(super) static TYPES: &[TypeDef] = &[
    TypeDef {
        id: "admissionregistration.v1.MutatingWebhook",
        fields: &[f("matchConditions", "", LIST, "merge", "name")],
    },
    TypeDef {
        id: "admissionregistration.v1.MutatingWebhookConfiguration",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f(
                "webhooks",
                "admissionregistration.v1.MutatingWebhook",
                LIST,
                "merge",
                "name",
            ),
        ],
    },
    TypeDef {
        id: "admissionregistration.v1.ValidatingAdmissionPolicy",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f(
                "spec",
                "admissionregistration.v1.ValidatingAdmissionPolicySpec",
                ONE,
                "",
                "",
            ),
        ],
    },
    TypeDef {
        id: "admissionregistration.v1.ValidatingAdmissionPolicyBinding",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "admissionregistration.v1.ValidatingAdmissionPolicySpec",
        fields: &[
            f("matchConditions", "", LIST, "merge", "name"),
            f("variables", "", LIST, "merge", "name"),
        ],
    },
    TypeDef {
        id: "admissionregistration.v1.ValidatingWebhook",
        fields: &[f("matchConditions", "", LIST, "merge", "name")],
    },
    TypeDef {
        id: "admissionregistration.v1.ValidatingWebhookConfiguration",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f(
                "webhooks",
                "admissionregistration.v1.ValidatingWebhook",
                LIST,
                "merge",
                "name",
            ),
        ],
    },
    TypeDef {
        id: "apiextensions.v1.CustomResourceDefinition",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "apiregistration.v1.APIService",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("status", "apiregistration.v1.APIServiceStatus", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "apiregistration.v1.APIServiceStatus",
        fields: &[f("conditions", "", LIST, "merge", "type")],
    },
    TypeDef {
        id: "apps.v1.ControllerRevision",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "apps.v1.DaemonSet",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("spec", "apps.v1.DaemonSetSpec", ONE, "", ""),
            f("status", "apps.v1.DaemonSetStatus", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "apps.v1.DaemonSetSpec",
        fields: &[f("template", "core.v1.PodTemplateSpec", ONE, "", "")],
    },
    TypeDef {
        id: "apps.v1.DaemonSetStatus",
        fields: &[f("conditions", "", LIST, "merge", "type")],
    },
    TypeDef {
        id: "apps.v1.Deployment",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("spec", "apps.v1.DeploymentSpec", ONE, "", ""),
            f("status", "apps.v1.DeploymentStatus", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "apps.v1.DeploymentSpec",
        fields: &[
            f("template", "core.v1.PodTemplateSpec", ONE, "", ""),
            f("strategy", "", ONE, "retainKeys", ""),
        ],
    },
    TypeDef {
        id: "apps.v1.DeploymentStatus",
        fields: &[f("conditions", "", LIST, "merge", "type")],
    },
    TypeDef {
        id: "apps.v1.ReplicaSet",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("spec", "apps.v1.ReplicaSetSpec", ONE, "", ""),
            f("status", "apps.v1.ReplicaSetStatus", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "apps.v1.ReplicaSetSpec",
        fields: &[f("template", "core.v1.PodTemplateSpec", ONE, "", "")],
    },
    TypeDef {
        id: "apps.v1.ReplicaSetStatus",
        fields: &[f("conditions", "", LIST, "merge", "type")],
    },
    TypeDef {
        id: "apps.v1.StatefulSet",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("spec", "apps.v1.StatefulSetSpec", ONE, "", ""),
            f("status", "apps.v1.StatefulSetStatus", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "apps.v1.StatefulSetSpec",
        fields: &[
            f("template", "core.v1.PodTemplateSpec", ONE, "", ""),
            f(
                "volumeClaimTemplates",
                "core.v1.PersistentVolumeClaim",
                LIST,
                "",
                "",
            ),
        ],
    },
    TypeDef {
        id: "apps.v1.StatefulSetStatus",
        fields: &[f("conditions", "", LIST, "merge", "type")],
    },
    TypeDef {
        id: "autoscaling.v2.HorizontalPodAutoscaler",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f(
                "status",
                "autoscaling.v2.HorizontalPodAutoscalerStatus",
                ONE,
                "",
                "",
            ),
        ],
    },
    TypeDef {
        id: "autoscaling.v2.HorizontalPodAutoscalerStatus",
        fields: &[f("conditions", "", LIST, "merge", "type")],
    },
    TypeDef {
        id: "batch.v1.CronJob",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("spec", "batch.v1.CronJobSpec", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "batch.v1.CronJobSpec",
        fields: &[f("jobTemplate", "batch.v1.JobTemplateSpec", ONE, "", "")],
    },
    TypeDef {
        id: "batch.v1.Job",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("spec", "batch.v1.JobSpec", ONE, "", ""),
            f("status", "batch.v1.JobStatus", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "batch.v1.JobSpec",
        fields: &[f("template", "core.v1.PodTemplateSpec", ONE, "", "")],
    },
    TypeDef {
        id: "batch.v1.JobStatus",
        fields: &[f("conditions", "", LIST, "merge", "type")],
    },
    TypeDef {
        id: "batch.v1.JobTemplateSpec",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("spec", "batch.v1.JobSpec", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "certificates.v1.CertificateSigningRequest",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "coordination.v1.Lease",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "core.v1.ComponentStatus",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("conditions", "", LIST, "merge", "type"),
        ],
    },
    TypeDef {
        id: "core.v1.ConfigMap",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "core.v1.Container",
        fields: &[
            f("ports", "", LIST, "merge", "containerPort"),
            f("env", "", LIST, "merge", "name"),
            f("volumeMounts", "", LIST, "merge", "mountPath"),
            f("volumeDevices", "", LIST, "merge", "devicePath"),
        ],
    },
    TypeDef {
        id: "core.v1.ContainerStatus",
        fields: &[
            f("volumeMounts", "", LIST, "merge", "mountPath"),
            f("allocatedResourcesStatus", "", LIST, "merge", "name"),
        ],
    },
    TypeDef {
        id: "core.v1.Endpoints",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "core.v1.EphemeralContainer",
        fields: &[
            f("ports", "", LIST, "merge", "containerPort"),
            f("env", "", LIST, "merge", "name"),
            f("volumeMounts", "", LIST, "merge", "mountPath"),
            f("volumeDevices", "", LIST, "merge", "devicePath"),
        ],
    },
    TypeDef {
        id: "core.v1.EphemeralVolumeSource",
        fields: &[f(
            "volumeClaimTemplate",
            "core.v1.PersistentVolumeClaimTemplate",
            ONE,
            "",
            "",
        )],
    },
    TypeDef {
        id: "core.v1.Event",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "core.v1.LimitRange",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "core.v1.Namespace",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("status", "core.v1.NamespaceStatus", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "core.v1.NamespaceStatus",
        fields: &[f("conditions", "", LIST, "merge", "type")],
    },
    TypeDef {
        id: "core.v1.Node",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("spec", "core.v1.NodeSpec", ONE, "", ""),
            f("status", "core.v1.NodeStatus", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "core.v1.NodeSpec",
        fields: &[f("podCIDRs", "", LIST, "merge", "")],
    },
    TypeDef {
        id: "core.v1.NodeStatus",
        fields: &[
            f("conditions", "", LIST, "merge", "type"),
            f("addresses", "", LIST, "merge", "type"),
        ],
    },
    TypeDef {
        id: "core.v1.PersistentVolume",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "core.v1.PersistentVolumeClaim",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("status", "core.v1.PersistentVolumeClaimStatus", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "core.v1.PersistentVolumeClaimStatus",
        fields: &[f("conditions", "", LIST, "merge", "type")],
    },
    TypeDef {
        id: "core.v1.PersistentVolumeClaimTemplate",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "core.v1.Pod",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("spec", "core.v1.PodSpec", ONE, "", ""),
            f("status", "core.v1.PodStatus", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "core.v1.PodSpec",
        fields: &[
            f(
                "volumes",
                "core.v1.Volume",
                LIST,
                "merge,retainKeys",
                "name",
            ),
            f("initContainers", "core.v1.Container", LIST, "merge", "name"),
            f("containers", "core.v1.Container", LIST, "merge", "name"),
            f(
                "ephemeralContainers",
                "core.v1.EphemeralContainer",
                LIST,
                "merge",
                "name",
            ),
            f("imagePullSecrets", "", LIST, "merge", "name"),
            f("hostAliases", "", LIST, "merge", "ip"),
            f(
                "topologySpreadConstraints",
                "",
                LIST,
                "merge",
                "topologyKey",
            ),
            f("schedulingGates", "", LIST, "merge", "name"),
            f("resourceClaims", "", LIST, "merge,retainKeys", "name"),
        ],
    },
    TypeDef {
        id: "core.v1.PodStatus",
        fields: &[
            f("conditions", "", LIST, "merge", "type"),
            f("hostIPs", "", LIST, "merge", "ip"),
            f("podIPs", "", LIST, "merge", "ip"),
            f(
                "initContainerStatuses",
                "core.v1.ContainerStatus",
                LIST,
                "",
                "",
            ),
            f("containerStatuses", "core.v1.ContainerStatus", LIST, "", ""),
            f(
                "ephemeralContainerStatuses",
                "core.v1.ContainerStatus",
                LIST,
                "",
                "",
            ),
            f(
                "resourceClaimStatuses",
                "",
                LIST,
                "merge,retainKeys",
                "name",
            ),
        ],
    },
    TypeDef {
        id: "core.v1.PodTemplate",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("template", "core.v1.PodTemplateSpec", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "core.v1.PodTemplateSpec",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("spec", "core.v1.PodSpec", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "core.v1.ReplicationController",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("spec", "core.v1.ReplicationControllerSpec", ONE, "", ""),
            f("status", "core.v1.ReplicationControllerStatus", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "core.v1.ReplicationControllerSpec",
        fields: &[f("template", "core.v1.PodTemplateSpec", ONE, "", "")],
    },
    TypeDef {
        id: "core.v1.ReplicationControllerStatus",
        fields: &[f("conditions", "", LIST, "merge", "type")],
    },
    TypeDef {
        id: "core.v1.ResourceQuota",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "core.v1.Secret",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "core.v1.Service",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("spec", "core.v1.ServiceSpec", ONE, "", ""),
            f("status", "core.v1.ServiceStatus", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "core.v1.ServiceAccount",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("secrets", "", LIST, "merge", "name"),
        ],
    },
    TypeDef {
        id: "core.v1.ServiceSpec",
        fields: &[f("ports", "", LIST, "merge", "port")],
    },
    TypeDef {
        id: "core.v1.ServiceStatus",
        fields: &[f("conditions", "", LIST, "merge", "type")],
    },
    TypeDef {
        id: "core.v1.Volume",
        fields: &[f("ephemeral", "core.v1.EphemeralVolumeSource", ONE, "", "")],
    },
    TypeDef {
        id: "discovery.v1.EndpointSlice",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "events.v1.Event",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "flowcontrol.v1.FlowSchema",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("status", "flowcontrol.v1.FlowSchemaStatus", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "flowcontrol.v1.FlowSchemaStatus",
        fields: &[f("conditions", "", LIST, "merge", "type")],
    },
    TypeDef {
        id: "flowcontrol.v1.PriorityLevelConfiguration",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f(
                "status",
                "flowcontrol.v1.PriorityLevelConfigurationStatus",
                ONE,
                "",
                "",
            ),
        ],
    },
    TypeDef {
        id: "flowcontrol.v1.PriorityLevelConfigurationStatus",
        fields: &[f("conditions", "", LIST, "merge", "type")],
    },
    TypeDef {
        id: "meta.v1.ObjectMeta",
        fields: &[
            f("ownerReferences", "", LIST, "merge", "uid"),
            f("finalizers", "", LIST, "merge", ""),
        ],
    },
    TypeDef {
        id: "networking.v1.IPAddress",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "networking.v1.Ingress",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "networking.v1.IngressClass",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "networking.v1.NetworkPolicy",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "networking.v1.ServiceCIDR",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("status", "networking.v1.ServiceCIDRStatus", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "networking.v1.ServiceCIDRStatus",
        fields: &[f("conditions", "", LIST, "merge", "type")],
    },
    TypeDef {
        id: "node.v1.RuntimeClass",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "policy.v1.PodDisruptionBudget",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("spec", "policy.v1.PodDisruptionBudgetSpec", ONE, "", ""),
            f("status", "policy.v1.PodDisruptionBudgetStatus", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "policy.v1.PodDisruptionBudgetSpec",
        fields: &[f("selector", "", ONE, "replace", "")],
    },
    TypeDef {
        id: "policy.v1.PodDisruptionBudgetStatus",
        fields: &[f("conditions", "", LIST, "merge", "type")],
    },
    TypeDef {
        id: "rbac.v1.ClusterRole",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "rbac.v1.ClusterRoleBinding",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "rbac.v1.Role",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "rbac.v1.RoleBinding",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "scheduling.v1.PriorityClass",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "storage.v1.CSIDriver",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "storage.v1.CSINode",
        fields: &[
            f("metadata", "meta.v1.ObjectMeta", ONE, "", ""),
            f("spec", "storage.v1.CSINodeSpec", ONE, "", ""),
        ],
    },
    TypeDef {
        id: "storage.v1.CSINodeSpec",
        fields: &[f("drivers", "", LIST, "merge", "name")],
    },
    TypeDef {
        id: "storage.v1.CSIStorageCapacity",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "storage.v1.StorageClass",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
    TypeDef {
        id: "storage.v1.VolumeAttachment",
        fields: &[f("metadata", "meta.v1.ObjectMeta", ONE, "", "")],
    },
];

pub(super) static KINDS: &[(&str, &str, &str)] = &[
    ("", "ComponentStatus", "core.v1.ComponentStatus"),
    ("", "ConfigMap", "core.v1.ConfigMap"),
    ("", "Endpoints", "core.v1.Endpoints"),
    ("", "Event", "core.v1.Event"),
    ("", "LimitRange", "core.v1.LimitRange"),
    ("", "Namespace", "core.v1.Namespace"),
    ("", "Node", "core.v1.Node"),
    ("", "PersistentVolume", "core.v1.PersistentVolume"),
    ("", "PersistentVolumeClaim", "core.v1.PersistentVolumeClaim"),
    ("", "Pod", "core.v1.Pod"),
    ("", "PodTemplate", "core.v1.PodTemplate"),
    ("", "ReplicationController", "core.v1.ReplicationController"),
    ("", "ResourceQuota", "core.v1.ResourceQuota"),
    ("", "Secret", "core.v1.Secret"),
    ("", "Service", "core.v1.Service"),
    ("", "ServiceAccount", "core.v1.ServiceAccount"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
        "admissionregistration.v1.MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicy",
        "admissionregistration.v1.ValidatingAdmissionPolicy",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
        "admissionregistration.v1.ValidatingAdmissionPolicyBinding",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
        "admissionregistration.v1.ValidatingWebhookConfiguration",
    ),
    (
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        "apiextensions.v1.CustomResourceDefinition",
    ),
    (
        "apiregistration.k8s.io",
        "APIService",
        "apiregistration.v1.APIService",
    ),
    ("apps", "ControllerRevision", "apps.v1.ControllerRevision"),
    ("apps", "DaemonSet", "apps.v1.DaemonSet"),
    ("apps", "Deployment", "apps.v1.Deployment"),
    ("apps", "ReplicaSet", "apps.v1.ReplicaSet"),
    ("apps", "StatefulSet", "apps.v1.StatefulSet"),
    (
        "autoscaling",
        "HorizontalPodAutoscaler",
        "autoscaling.v2.HorizontalPodAutoscaler",
    ),
    ("batch", "CronJob", "batch.v1.CronJob"),
    ("batch", "Job", "batch.v1.Job"),
    (
        "certificates.k8s.io",
        "CertificateSigningRequest",
        "certificates.v1.CertificateSigningRequest",
    ),
    ("coordination.k8s.io", "Lease", "coordination.v1.Lease"),
    (
        "discovery.k8s.io",
        "EndpointSlice",
        "discovery.v1.EndpointSlice",
    ),
    ("events.k8s.io", "Event", "events.v1.Event"),
    (
        "flowcontrol.apiserver.k8s.io",
        "FlowSchema",
        "flowcontrol.v1.FlowSchema",
    ),
    (
        "flowcontrol.apiserver.k8s.io",
        "PriorityLevelConfiguration",
        "flowcontrol.v1.PriorityLevelConfiguration",
    ),
    ("networking.k8s.io", "IPAddress", "networking.v1.IPAddress"),
    ("networking.k8s.io", "Ingress", "networking.v1.Ingress"),
    (
        "networking.k8s.io",
        "IngressClass",
        "networking.v1.IngressClass",
    ),
    (
        "networking.k8s.io",
        "NetworkPolicy",
        "networking.v1.NetworkPolicy",
    ),
    (
        "networking.k8s.io",
        "ServiceCIDR",
        "networking.v1.ServiceCIDR",
    ),
    ("node.k8s.io", "RuntimeClass", "node.v1.RuntimeClass"),
    (
        "policy",
        "PodDisruptionBudget",
        "policy.v1.PodDisruptionBudget",
    ),
    (
        "rbac.authorization.k8s.io",
        "ClusterRole",
        "rbac.v1.ClusterRole",
    ),
    (
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        "rbac.v1.ClusterRoleBinding",
    ),
    ("rbac.authorization.k8s.io", "Role", "rbac.v1.Role"),
    (
        "rbac.authorization.k8s.io",
        "RoleBinding",
        "rbac.v1.RoleBinding",
    ),
    (
        "scheduling.k8s.io",
        "PriorityClass",
        "scheduling.v1.PriorityClass",
    ),
    ("storage.k8s.io", "CSIDriver", "storage.v1.CSIDriver"),
    ("storage.k8s.io", "CSINode", "storage.v1.CSINode"),
    (
        "storage.k8s.io",
        "CSIStorageCapacity",
        "storage.v1.CSIStorageCapacity",
    ),
    ("storage.k8s.io", "StorageClass", "storage.v1.StorageClass"),
    (
        "storage.k8s.io",
        "VolumeAttachment",
        "storage.v1.VolumeAttachment",
    ),
];
