//! The table of built-in kinds: which k8s-openapi type describes each
//! (group, version, kind). Everything else about a kind's schema is derived
//! from that type's schemars impl, whose descriptions are Kubernetes' own.

use k8s_openapi::api;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use k8s_openapi::schemars::generate::SchemaGenerator;
use k8s_openapi::schemars::{JsonSchema, Schema};

/// One built-in kind and the generator of its schema.
pub(crate) struct BuiltinKind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// Whether a `<Kind>List` definition is published beside the kind
    /// (false for kinds that only travel as request or response bodies).
    pub listed: bool,
    /// Adds the kind's schema (and all it refers to) to the generator's
    /// definitions and returns a `$ref` to it.
    pub schema: fn(&mut SchemaGenerator) -> Schema,
}

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

const fn listed(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    schema: fn(&mut SchemaGenerator) -> Schema,
) -> BuiltinKind {
    BuiltinKind {
        group,
        version,
        kind,
        listed: true,
        schema,
    }
}

const fn single(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    schema: fn(&mut SchemaGenerator) -> Schema,
) -> BuiltinKind {
    BuiltinKind {
        group,
        version,
        kind,
        listed: false,
        schema,
    }
}

pub(crate) const BUILTIN_KINDS: &[BuiltinKind] = &[
    listed("", "v1", "Namespace", schema_of::<api::core::v1::Namespace>),
    listed("", "v1", "Pod", schema_of::<api::core::v1::Pod>),
    listed("", "v1", "Service", schema_of::<api::core::v1::Service>),
    listed("", "v1", "Endpoints", schema_of::<api::core::v1::Endpoints>),
    listed("", "v1", "ConfigMap", schema_of::<api::core::v1::ConfigMap>),
    listed("", "v1", "Secret", schema_of::<api::core::v1::Secret>),
    listed(
        "",
        "v1",
        "ServiceAccount",
        schema_of::<api::core::v1::ServiceAccount>,
    ),
    listed("", "v1", "Event", schema_of::<api::core::v1::Event>),
    listed("", "v1", "Node", schema_of::<api::core::v1::Node>),
    listed(
        "",
        "v1",
        "PersistentVolume",
        schema_of::<api::core::v1::PersistentVolume>,
    ),
    listed(
        "",
        "v1",
        "PersistentVolumeClaim",
        schema_of::<api::core::v1::PersistentVolumeClaim>,
    ),
    listed(
        "",
        "v1",
        "ResourceQuota",
        schema_of::<api::core::v1::ResourceQuota>,
    ),
    listed(
        "",
        "v1",
        "LimitRange",
        schema_of::<api::core::v1::LimitRange>,
    ),
    listed(
        "",
        "v1",
        "PodTemplate",
        schema_of::<api::core::v1::PodTemplate>,
    ),
    listed(
        "",
        "v1",
        "ReplicationController",
        schema_of::<api::core::v1::ReplicationController>,
    ),
    single("", "v1", "Binding", schema_of::<api::core::v1::Binding>),
    listed(
        "apps",
        "v1",
        "Deployment",
        schema_of::<api::apps::v1::Deployment>,
    ),
    listed(
        "apps",
        "v1",
        "ReplicaSet",
        schema_of::<api::apps::v1::ReplicaSet>,
    ),
    listed(
        "apps",
        "v1",
        "StatefulSet",
        schema_of::<api::apps::v1::StatefulSet>,
    ),
    listed(
        "apps",
        "v1",
        "DaemonSet",
        schema_of::<api::apps::v1::DaemonSet>,
    ),
    listed(
        "apps",
        "v1",
        "ControllerRevision",
        schema_of::<api::apps::v1::ControllerRevision>,
    ),
    listed("batch", "v1", "Job", schema_of::<api::batch::v1::Job>),
    listed(
        "batch",
        "v1",
        "CronJob",
        schema_of::<api::batch::v1::CronJob>,
    ),
    listed(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        schema_of::<api::autoscaling::v2::HorizontalPodAutoscaler>,
    ),
    listed(
        "autoscaling",
        "v1",
        "HorizontalPodAutoscaler",
        schema_of::<api::autoscaling::v1::HorizontalPodAutoscaler>,
    ),
    single(
        "autoscaling",
        "v1",
        "Scale",
        schema_of::<api::autoscaling::v1::Scale>,
    ),
    listed(
        "networking.k8s.io",
        "v1",
        "Ingress",
        schema_of::<api::networking::v1::Ingress>,
    ),
    listed(
        "networking.k8s.io",
        "v1",
        "IngressClass",
        schema_of::<api::networking::v1::IngressClass>,
    ),
    listed(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        schema_of::<api::networking::v1::NetworkPolicy>,
    ),
    listed(
        "coordination.k8s.io",
        "v1",
        "Lease",
        schema_of::<api::coordination::v1::Lease>,
    ),
    listed(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        schema_of::<api::discovery::v1::EndpointSlice>,
    ),
    listed(
        "events.k8s.io",
        "v1",
        "Event",
        schema_of::<api::events::v1::Event>,
    ),
    listed(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        schema_of::<api::storage::v1::StorageClass>,
    ),
    listed(
        "storage.k8s.io",
        "v1",
        "CSIDriver",
        schema_of::<api::storage::v1::CSIDriver>,
    ),
    listed(
        "storage.k8s.io",
        "v1",
        "CSINode",
        schema_of::<api::storage::v1::CSINode>,
    ),
    listed(
        "storage.k8s.io",
        "v1",
        "VolumeAttachment",
        schema_of::<api::storage::v1::VolumeAttachment>,
    ),
    listed(
        "policy",
        "v1",
        "PodDisruptionBudget",
        schema_of::<api::policy::v1::PodDisruptionBudget>,
    ),
    single(
        "policy",
        "v1",
        "Eviction",
        schema_of::<api::policy::v1::Eviction>,
    ),
    listed(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        schema_of::<api::rbac::v1::Role>,
    ),
    listed(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        schema_of::<api::rbac::v1::RoleBinding>,
    ),
    listed(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        schema_of::<api::rbac::v1::ClusterRole>,
    ),
    listed(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        schema_of::<api::rbac::v1::ClusterRoleBinding>,
    ),
    listed(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        schema_of::<api::scheduling::v1::PriorityClass>,
    ),
    listed(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        schema_of::<apiextensions::CustomResourceDefinition>,
    ),
    single("", "v1", "Status", schema_of::<meta::Status>),
];

/// Schemas every document carries whatever its resources: request and
/// response bodies shared by all operations. Their GVK lists depend on the
/// served group versions, so the documents add them.
pub(crate) fn common_schemas(generator: &mut SchemaGenerator) -> Vec<Schema> {
    vec![
        generator.subschema_for::<meta::DeleteOptions>(),
        generator.subschema_for::<meta::WatchEvent<RawExtension>>(),
        generator.subschema_for::<meta::Patch>(),
        generator.subschema_for::<meta::Status>(),
    ]
}

pub(crate) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub(crate) const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
pub(crate) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
pub(crate) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub(crate) const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
pub(crate) const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
pub(crate) const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
pub(crate) const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
pub(crate) const SCALE: &str = "io.k8s.api.autoscaling.v1.Scale";
