//! What the pod readers (scheduler, ReplicaSet, Job, endpoints, taint
//! eviction, pod GC) know of a pod: the shared informer decodes pods
//! straight into these types, so no field they never read is allocated.
//!
//! k8s-openapi's `Pod` is 2.2 KB and each `Container` 2.1 KB before any
//! field is set (every optional field of the API is inline), and a `Volume`
//! 3.2 KB; at 10,000 pods that fixed cost alone was over 40 MB of the
//! informer's cache. Field names and types follow k8s-openapi's so the
//! readers' code reads as it would over `Pod`; what is left out is named in
//! each type's doc. Unknown fields are skipped while decoding, so a pod
//! from any API server decodes.

use k8s_openapi::api::core::v1::{
    Affinity, ContainerPort, ContainerState, PersistentVolumeClaimVolumeSource, PodCondition, PodSchedulingGate, ResourceRequirements,
    Toleration, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// A pod as the controllers cache it. Without `managedFields` (only the
/// API server's apply logic reads them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CachedPod {
    pub metadata: ObjectMeta,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<CachedPodSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<CachedPodStatus>,
}

impl k8s_openapi::Resource for CachedPod {
    const API_VERSION: &'static str = "v1";
    const GROUP: &'static str = "";
    const KIND: &'static str = "Pod";
    const VERSION: &'static str = "v1";
    const URL_PATH_SEGMENT: &'static str = "pods";
    type Scope = k8s_openapi::NamespaceResourceScope;
}

impl k8s_openapi::Metadata for CachedPod {
    type Ty = ObjectMeta;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// The scheduling and lifecycle part of a pod's spec. Left out: the
/// containers' commands, environment and mounts, probes, security
/// contexts, and every volume but claims (the scheduler binds those).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CachedPodSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Box<Affinity>>,
    #[serde(deserialize_with = "null_as_default")]
    pub containers: Vec<CachedContainer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_containers: Option<Vec<CachedContainer>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overhead: Option<BTreeMap<String, Quantity>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduler_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduling_gates: Option<Vec<PodSchedulingGate>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topology_spread_constraints: Option<Vec<TopologySpreadConstraint>>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "claim_volumes")]
    pub volumes: Option<Vec<CachedVolume>>,
}

impl CachedPodSpec {
    /// Whether the pod's containers are restarted whatever their exit
    /// (restartPolicy Always, the default).
    pub fn restarts_forever(&self) -> bool {
        self.restart_policy.as_deref().is_none_or(|p| p == "Always")
    }
}

/// A container: its name, ports (endpoints resolve named ports, the
/// scheduler checks host ports), resources (the scheduler's requests) and
/// restart policy (sidecars).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CachedContainer {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<ContainerPort>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
}

/// A volume that is a claim (the scheduler binds claims).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CachedVolume {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim: Option<PersistentVolumeClaimVolumeSource>,
}

/// The status: phase, conditions, addresses and the containers' states.
/// Left out: the message, start time, QoS class, host addresses, resize and
/// resource status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CachedPodStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<PodCondition>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_statuses: Option<Vec<CachedContainerStatus>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_container_statuses: Option<Vec<CachedContainerStatus>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(rename = "podIP", skip_serializing_if = "Option::is_none")]
    pub pod_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A container's status: name, readiness, restarts, and its current state
/// (a Job's failure policy reads exit codes; boxed because a state is 200
/// bytes and most pods in the cache do not keep it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CachedContainerStatus {
    pub name: String,
    pub ready: bool,
    pub restart_count: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<Box<ContainerState>>,
}

/// A pod's conditions, from a full or a cached pod: the readiness helpers
/// serve controllers that cache either (the StatefulSet and DaemonSet
/// controllers keep their few pods whole, as they update them).
pub trait PodConditions {
    fn conditions(&self) -> &[PodCondition];
}

impl PodConditions for CachedPod {
    fn conditions(&self) -> &[PodCondition] {
        self.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or_default()
    }
}

impl<P: PodConditions + ?Sized> PodConditions for &P {
    fn conditions(&self) -> &[PodCondition] {
        (**self).conditions()
    }
}

impl<P: PodConditions + ?Sized> PodConditions for std::sync::Arc<P> {
    fn conditions(&self) -> &[PodCondition] {
        (**self).conditions()
    }
}

impl PodConditions for k8s_openapi::api::core::v1::Pod {
    fn conditions(&self) -> &[PodCondition] {
        self.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or_default()
    }
}

impl CachedPod {
    /// Drops what no reader needs of a pod that restarts its containers
    /// forever (Deployments', StatefulSets', DaemonSets' pods): of its
    /// conditions only `Ready` (availability, endpoints) and `PodScheduled`
    /// (taint eviction), and its containers' states. A Job's pods keep
    /// them: its pod failure policy may match any condition and reads exit
    /// codes and finish times.
    pub fn trim(&mut self) {
        self.trim_inner();
    }

    /// The pod, trimmed as [`CachedPod::trim`] does.
    pub fn trimmed(mut self) -> CachedPod {
        self.trim();
        self
    }

    fn trim_inner(&mut self) {
        self.metadata.managed_fields = None;
        let Some(spec) = self.spec.as_ref() else { return };
        if !spec.restarts_forever() {
            return;
        }
        let Some(status) = self.status.as_mut() else { return };
        if let Some(conditions) = status.conditions.as_mut() {
            conditions.retain(|c| c.type_ == "Ready" || c.type_ == "PodScheduled");
        }
        for c in status.container_statuses.iter_mut().chain(status.init_container_statuses.iter_mut()).flatten() {
            c.state = None;
        }
    }
}

/// A pod's volumes, keeping only claims (other kinds decode to a bare name
/// first and are dropped here).
fn claim_volumes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<CachedVolume>>, D::Error> {
    let volumes = Option::<Vec<CachedVolume>>::deserialize(d)?;
    Ok(volumes.map(|mut v| {
        v.retain(|v| v.persistent_volume_claim.is_some());
        v.shrink_to_fit();
        v
    }))
}

/// `null` where a list is required decodes as empty, as Go's decoder does.
fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl From<&k8s_openapi::api::core::v1::Pod> for CachedPod {
    /// The cached form of a full pod, as the informer would have decoded it.
    fn from(pod: &k8s_openapi::api::core::v1::Pod) -> CachedPod {
        // Both sides are the same JSON shape; a pod always encodes.
        serde_json::to_value(pod).and_then(serde_json::from_value).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(v: serde_json::Value) -> CachedPod {
        let mut pod: CachedPod = serde_json::from_value(v).expect("a pod decodes");
        pod.trim();
        pod
    }

    #[test]
    fn cached_pod_keeps_what_controllers_read() {
        let pod = decode(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"app": "web"}, "managedFields": [{"manager": "kubectl"}]},
            "spec": {
                "nodeName": "n1",
                "tolerations": [{"key": "k", "operator": "Exists"}],
                "containers": [{
                    "name": "c", "image": "nginx", "env": [{"name": "A", "value": "1"}],
                    "command": ["sh"], "volumeMounts": [{"name": "token", "mountPath": "/var/run"}],
                    "ports": [{"name": "http", "containerPort": 80, "hostPort": 8080}],
                    "resources": {"requests": {"cpu": "100m"}},
                }],
                "initContainers": [{"name": "side", "image": "envoy", "restartPolicy": "Always", "args": ["-v"]}],
                "volumes": [
                    {"name": "token", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}},
                    {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
                    {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}},
                ],
            },
            "status": {"phase": "Running", "podIP": "10.0.0.1", "containerStatuses": [{"name": "c", "image": "nginx", "imageID": "", "ready": true, "restartCount": 2}]},
        }));
        let v = serde_json::to_value(&pod).expect("serializes");
        assert!(v["metadata"].get("managedFields").is_none());
        assert_eq!(v["metadata"]["labels"]["app"], "web");
        assert_eq!(v["spec"]["nodeName"], "n1");
        assert_eq!(v["spec"]["tolerations"][0]["key"], "k");
        let volumes: Vec<&str> = v["spec"]["volumes"].as_array().into_iter().flatten().filter_map(|v| v["name"].as_str()).collect();
        assert_eq!(volumes, ["data"]);
        assert_eq!(v["spec"]["volumes"][0], serde_json::json!({"name": "data", "persistentVolumeClaim": {"claimName": "data"}}));
        let c = &v["spec"]["containers"][0];
        assert_eq!(c["ports"][0]["hostPort"], 8080);
        assert_eq!(c["resources"]["requests"]["cpu"], "100m");
        assert!(c.get("env").is_none() && c.get("command").is_none() && c.get("volumeMounts").is_none());
        assert_eq!(v["spec"]["initContainers"][0]["restartPolicy"], "Always");
        assert!(v["spec"]["initContainers"][0].get("args").is_none());
        assert_eq!(v["status"]["containerStatuses"], serde_json::json!([{"name": "c", "ready": true, "restartCount": 2}]));
        assert_eq!(v["status"]["podIP"], "10.0.0.1");
    }

    #[test]
    fn cached_pod_status_of_a_pod_that_restarts_forever_is_slim() {
        let status = serde_json::json!({
            "phase": "Running",
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "True"},
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                {"type": "ContainersReady", "status": "True"},
                {"type": "PodScheduled", "status": "True"},
                {"type": "DisruptionTarget", "status": "True"},
            ],
            "containerStatuses": [{
                "name": "c", "ready": true, "restartCount": 3,
                "state": {"terminated": {"exitCode": 2, "finishedAt": "2026-01-01T00:00:01Z"}},
            }],
        });
        let pod = |restart_policy: Option<&str>| {
            decode(serde_json::json!({
                "metadata": {"name": "p"},
                "spec": {"restartPolicy": restart_policy, "containers": [{"name": "c"}]},
                "status": status,
            }))
        };
        for policy in [None, Some("Always")] {
            let v = serde_json::to_value(pod(policy)).expect("serializes");
            let types: Vec<&str> = v["status"]["conditions"].as_array().into_iter().flatten().filter_map(|c| c["type"].as_str()).collect();
            assert_eq!(types, ["Ready", "PodScheduled"], "{policy:?}");
            assert_eq!(v["status"]["conditions"][0]["lastTransitionTime"], "2026-01-01T00:00:00Z");
            assert_eq!(v["status"]["containerStatuses"], serde_json::json!([{"name": "c", "ready": true, "restartCount": 3}]));
            assert_eq!(v["status"]["phase"], "Running");
        }
        // A Job's pod keeps its conditions and container states.
        for policy in ["Never", "OnFailure"] {
            let v = serde_json::to_value(pod(Some(policy))).expect("serializes");
            assert_eq!(v["status"], status, "{policy}");
        }
    }

    #[test]
    fn cached_pod_decodes_nulls_and_converts_from_a_full_pod() {
        let pod = decode(serde_json::json!({"metadata": {"name": "p"}, "spec": {"containers": null, "volumes": null, "nodeName": null}}));
        assert_eq!(pod.spec, Some(CachedPodSpec::default()));
        let full: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "a"},
            "spec": {"nodeName": "n", "containers": [{"name": "c", "image": "x", "env": [{"name": "A"}]}]},
        }))
        .expect("a pod");
        let cached = CachedPod::from(&full);
        assert_eq!(cached.metadata.namespace.as_deref(), Some("a"));
        assert_eq!(cached.spec.as_ref().and_then(|s| s.node_name.as_deref()), Some("n"));
        assert_eq!(cached.spec.map(|s| s.containers), Some(vec![CachedContainer { name: "c".into(), ..Default::default() }]));
    }

    #[test]
    fn cached_pod_field_names_are_the_api_names() {
        // Every field set: one the API calls differently would not survive
        // the trip through k8s-openapi's Pod.
        let cached = decode(serde_json::json!({
            "metadata": {"name": "p", "namespace": "a", "labels": {"x": "y"}},
            "spec": {
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}},
                "containers": [{"name": "c", "ports": [{"containerPort": 80}], "resources": {"requests": {"cpu": "1"}}, "restartPolicy": "Always"}],
                "initContainers": [{"name": "i"}],
                "nodeName": "n", "nodeSelector": {"k": "v"}, "overhead": {"cpu": "10m"}, "restartPolicy": "Never",
                "schedulerName": "s", "schedulingGates": [{"name": "g"}], "tolerations": [{"key": "t"}],
                "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "k", "whenUnsatisfiable": "DoNotSchedule"}],
                "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "c"}}],
            },
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "c", "ready": true, "restartCount": 1, "image": "", "imageID": "", "state": {"running": {}}}],
                "initContainerStatuses": [{"name": "i", "ready": false, "restartCount": 0, "image": "", "imageID": ""}],
                "phase": "Running", "podIP": "10.0.0.1", "reason": "r",
            },
        }));
        let json = serde_json::to_value(&cached).expect("serializes");
        let full: k8s_openapi::api::core::v1::Pod = serde_json::from_value(json.clone()).expect("a pod");
        assert_eq!(CachedPod::from(&full), cached);
        let spec = serde_json::to_value(&full.spec).expect("serializes");
        for key in json["spec"].as_object().into_iter().flat_map(|o| o.keys()) {
            assert!(spec.get(key).is_some(), "spec.{key}");
        }
    }

    #[test]
    fn cached_pod_is_a_fraction_of_a_full_pod() {
        use k8s_openapi::api::core::v1::{Container, Pod};
        let cached = std::mem::size_of::<CachedPod>() + std::mem::size_of::<CachedContainer>();
        let full = std::mem::size_of::<Pod>() + std::mem::size_of::<Container>();
        assert!(cached * 4 < full, "a cached pod with one container takes {cached} bytes inline, a full one {full}");
    }
}
