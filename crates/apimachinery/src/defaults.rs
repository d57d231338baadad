//! Defaulting of built-in kinds as a Kubernetes v1.33 API server does it, so
//! an object read back after create looks like the one a real cluster returns.
//!
//! [`apply_defaults`] reproduces the versioned defaulters
//! (`pkg/apis/*/v1/defaults.go` and the generated `SetObjectDefaults_*`
//! walks): pod specs and templates (restart and DNS policy, scheduler name,
//! grace period, container termination message fields, image pull policy,
//! probe timings, port protocols, volume modes, field-ref API versions),
//! workload strategies and history limits, Job and CronJob policies,
//! Service types and traffic policies, Secret type, PV/PVC reclaim policy and
//! volume mode, HPA behavior, NetworkPolicy policy types, StorageClass
//! policies, EndpointSlice port protocol. Quantities are rewritten in
//! canonical form, as Go's round trip through `resource.Quantity` does.
//!
//! It also reproduces serialization artifacts of Go structs that clients
//! see: `creationTimestamp: null` in embedded template metadata,
//! `resources: {}` and `securityContext: {}`, and status members that are
//! not `omitempty` (`status: {replicas: 0}` on a new ReplicaSet).
//!
//! Two values on pods come from admission, not defaulting, and are set
//! here anyway because every cluster runs those plugins: `priority` and
//! `preemptionPolicy` (Priority plugin, built-in classes only).
//!
//! Left to the REST layer, with helpers here: [`initial_status`] (status a
//! strategy sets on create, e.g. pod phase and QoS class),
//! [`prepare_namespace_for_create`] (the `kubernetes` finalizer),
//! [`admit_pod_create`] (default tolerations and the service account token
//! volume), [`generate_job_selector`], [`patch_allocated_service_values`].
//! Left to the REST layer without helpers: `metadata.generation`, cluster
//! IP, IP family and node port allocation, PVC default storage class and
//! anything else that needs cluster state.

mod apps;
mod autoscaling;
mod batch;
mod core_v1;
mod discovery;
mod networking;
mod pod;
mod quantities;
mod status;
mod storage;

use serde_json::{Map, Value, json};

pub use batch::generate_job_selector;
pub use status::{initial_status, pod_qos_class};

use crate::validation::json::{field, is_zero, items_mut, obj_mut, s, set_if_zero};

/// Applies the v1.33 defaults of `group`/`kind` to `obj` in place; kinds
/// without defaulters (ConfigMap, Lease, custom resources, ...) are left as
/// they are. Idempotent: defaulting a defaulted object changes nothing.
pub fn apply_defaults(group: &str, kind: &str, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    match (group, kind) {
        ("", "Pod") => pod::default_pod(obj),
        ("", "Service") => core_v1::default_service(obj),
        ("", "Secret") => core_v1::default_secret(obj),
        ("", "Namespace") => core_v1::default_namespace(obj),
        ("", "PersistentVolume") => core_v1::default_pv(obj),
        ("", "PersistentVolumeClaim") => core_v1::default_pvc(obj),
        ("", "Endpoints") => core_v1::default_endpoints(obj),
        ("", "Node") => core_v1::default_node(obj),
        ("", "LimitRange") => core_v1::default_limit_range(obj),
        ("", "ResourceQuota") => core_v1::default_resource_quota(obj),
        ("", "Event") => core_v1::default_core_event(obj),
        ("", "PodTemplate") => pod::default_pod_template(obj_mut(obj, "template")),
        ("apps", "Deployment") => apps::default_deployment(obj),
        ("apps", "ReplicaSet") => apps::default_replica_set(obj),
        ("apps", "StatefulSet") => apps::default_stateful_set(obj),
        ("apps", "DaemonSet") => apps::default_daemon_set(obj),
        ("apps", "ControllerRevision") => apps::default_controller_revision(obj),
        ("batch", "Job") => batch::default_job(obj),
        ("batch", "CronJob") => batch::default_cron_job(obj),
        ("autoscaling", "HorizontalPodAutoscaler") => autoscaling::default_hpa(obj),
        ("networking.k8s.io", "NetworkPolicy") => networking::default_network_policy(obj),
        ("networking.k8s.io", "IngressClass") => networking::default_ingress_class(obj),
        ("networking.k8s.io", "Ingress") => networking::default_ingress(obj),
        ("storage.k8s.io", "StorageClass") => storage::default_storage_class(obj),
        ("discovery.k8s.io", "EndpointSlice") => discovery::default_endpoint_slice(obj),
        ("events.k8s.io", "Event") => discovery::default_events_v1_event(obj),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crate::crd::default_crd(obj),
        ("policy", "PodDisruptionBudget") => {
            obj_mut(obj, "spec");
        }
        _ => {}
    }
    status::fill_status_skeleton(group, kind, obj);
}

/// What the Namespace strategy does on create: the `kubernetes` finalizer in
/// `spec.finalizers` and phase `Active`.
pub fn prepare_namespace_for_create(ns: &mut Value) {
    let spec = obj_mut(ns, "spec");
    if let Some(finalizers) = list_mut(spec, "finalizers")
        && !finalizers.iter().any(|f| f.as_str() == Some("kubernetes"))
    {
        finalizers.push(Value::from("kubernetes"));
    }
    if let Some(m) = ns.as_object_mut() {
        m.insert("status".into(), json!({"phase": "Active"}));
    }
}

/// Mount path of the service account token volume.
const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// What the admission plugins every cluster runs do to a new pod, beyond the
/// priority [`apply_defaults`] already set: `DefaultTolerationSeconds` (300 s
/// NoExecute tolerations for not-ready and unreachable nodes) and
/// `ServiceAccount` (`serviceAccountName: default` and, unless
/// `automountServiceAccountToken` is false, the projected
/// `kube-api-access-<suffix>` volume mounted read-only into every container).
/// `token_volume_suffix` is the 5 random characters Kubernetes' name
/// generator would append. `sa_automount` is the service account's own
/// `automountServiceAccountToken` (the pod's wins over it; unset means mount).
pub fn admit_pod_create(pod: &mut Value, token_volume_suffix: &str, sa_automount: Option<bool>) {
    let spec = obj_mut(pod, "spec");
    pod::add_default_tolerations(spec);
    set_if_zero(spec, "serviceAccountName", Value::from("default"));
    let sa = s(spec, &["serviceAccountName"]).to_string();
    if let Some(m) = spec.as_object_mut() {
        m.insert("serviceAccount".into(), Value::from(sa));
    }
    let automount = field(spec, &["automountServiceAccountToken"]).and_then(Value::as_bool).or(sa_automount);
    if automount == Some(false) {
        return;
    }
    let existing = spec
        .get("volumes")
        .and_then(Value::as_array)
        .and_then(|vs| {
            vs.iter().find(|v| {
                s(v, &["name"]).starts_with("kube-api-access-")
                    && field(v, &["projected"]).is_some()
            })
        })
        .map(|v| s(v, &["name"]).to_string());
    let volume_name = existing
        .clone()
        .unwrap_or_else(|| format!("kube-api-access-{token_volume_suffix}"));
    let mut mounted = false;
    for list in ["initContainers", "containers"] {
        for c in items_mut(spec, list) {
            let has_mount = c
                .get("volumeMounts")
                .and_then(Value::as_array)
                .is_some_and(|ms| ms.iter().any(|m| s(m, &["mountPath"]) == TOKEN_MOUNT_PATH));
            if has_mount {
                continue;
            }
            if let Some(mounts) = list_mut(c, "volumeMounts") {
                mounts.push(
                    json!({"name": volume_name, "readOnly": true, "mountPath": TOKEN_MOUNT_PATH}),
                );
                mounted = true;
            }
        }
    }
    let volumes = if mounted && existing.is_none() {
        list_mut(spec, "volumes")
    } else {
        None
    };
    if let Some(volumes) = volumes {
        volumes.push(json!({
            "name": volume_name,
            "projected": {
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
                ],
                "defaultMode": 420
            }
        }));
    }
}

/// What the Service REST update does before validation so that clients may
/// omit allocated values: cluster IPs, IP families, node ports (matched by
/// port name) and the health check node port are copied from `old` when
/// `new` leaves them empty and both services still need them; then
/// `clusterIP` and `clusterIPs` are brought in step.
pub fn patch_allocated_service_values(new: &mut Value, old: &Value) {
    let ty = |v: &Value| {
        let t = s(v, &["spec", "type"]);
        if t.is_empty() {
            "ClusterIP".to_string()
        } else {
            t.to_string()
        }
    };
    let (new_ty, old_ty) = (ty(new), ty(old));
    let old_spec = old.get("spec").cloned().unwrap_or_else(|| json!({}));
    let spec = obj_mut(new, "spec");
    if new_ty != "ExternalName" && old_ty != "ExternalName" {
        for key in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            if field(spec, &[key]).is_none_or(is_zero)
                && let Some(v) = field(&old_spec, &[key]).filter(|v| !is_zero(v))
                && let Some(m) = spec.as_object_mut()
            {
                m.insert(key.into(), v.clone());
            }
        }
    }
    let needs_node_port = |t: &str| t == "NodePort" || t == "LoadBalancer";
    if needs_node_port(&new_ty) && needs_node_port(&old_ty) {
        let node_ports = |v: &Value| -> Vec<i64> {
            v.get("ports")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
                        .filter(|n| *n != 0)
                        .collect()
                })
                .unwrap_or_default()
        };
        let old_ports = node_ports(&old_spec);
        let new_ports = node_ports(spec);
        let by_name: Map<String, Value> = old_spec
            .get("ports")
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        (
                            s(p, &["name"]).to_string(),
                            p.get("nodePort").cloned().unwrap_or(json!(0)),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        for port in items_mut(spec, "ports") {
            if port.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0 {
                continue;
            }
            let Some(old_val) = by_name.get(s(port, &["name"])).and_then(Value::as_i64) else {
                continue;
            };
            let used_by_both = old_ports.contains(&old_val) && new_ports.contains(&old_val);
            if old_val != 0
                && !used_by_both
                && let Some(m) = port.as_object_mut()
            {
                m.insert("nodePort".into(), Value::from(old_val));
            }
        }
    }
    let needs_hc =
        |v: &Value, t: &str| t == "LoadBalancer" && s(v, &["externalTrafficPolicy"]) == "Local";
    if needs_hc(spec, &new_ty)
        && needs_hc(&old_spec, &old_ty)
        && let Some(hc) = old_spec
            .get("healthCheckNodePort")
            .filter(|v| v.as_i64().unwrap_or(0) != 0)
    {
        set_if_zero(spec, "healthCheckNodePort", hc.clone());
    }
    let ip = s(spec, &["clusterIP"]).to_string();
    let ips_empty = spec
        .get("clusterIPs")
        .and_then(Value::as_array)
        .is_none_or(|a| a.is_empty());
    if let Some(m) = spec.as_object_mut() {
        if ips_empty && !ip.is_empty() {
            m.insert("clusterIPs".into(), json!([ip]));
        } else if ip.is_empty() && !ips_empty {
            let first = m
                .get("clusterIPs")
                .and_then(|a| a.get(0))
                .cloned()
                .unwrap_or(Value::Null);
            m.insert("clusterIP".into(), first);
        }
    }
}

/// The list at `key`, created empty when absent or not a list; `None` only
/// when `v` is not an object.
fn list_mut<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Vec<Value>> {
    let entry = v
        .as_object_mut()?
        .entry(key.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !entry.is_array() {
        *entry = Value::Array(Vec::new());
    }
    entry.as_array_mut()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    fn defaulted(group: &str, kind: &str, mut obj: Value) -> Value {
        apply_defaults(group, kind, &mut obj);
        obj
    }

    #[test]
    fn defaults_deployment_minimal_matches_cluster() {
        let got = defaulted(
            "apps",
            "Deployment",
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}
                    }
                }
            }),
        );
        let want = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "progressDeadlineSeconds": 600,
                "replicas": 1,
                "revisionHistoryLimit": 10,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                    "type": "RollingUpdate"
                },
                "template": {
                    "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                    "spec": {
                        "containers": [{
                            "image": "nginx:1.27",
                            "imagePullPolicy": "IfNotPresent",
                            "name": "nginx",
                            "resources": {},
                            "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "File"
                        }],
                        "dnsPolicy": "ClusterFirst",
                        "restartPolicy": "Always",
                        "schedulerName": "default-scheduler",
                        "securityContext": {},
                        "terminationGracePeriodSeconds": 30
                    }
                }
            },
            "status": {}
        });
        assert_eq!(
            got,
            want,
            "{}",
            serde_json::to_string_pretty(&got).unwrap_or_default()
        );
    }

    #[test]
    fn defaults_pod_matches_cluster() {
        let got = defaulted(
            "",
            "Pod",
            json!({
                "metadata": {"name": "p"},
                "spec": {
                    "containers": [{
                        "name": "app",
                        "image": "busybox",
                        "ports": [{"containerPort": 8080}],
                        "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
                        "resources": {"limits": {"cpu": "0.5", "memory": "128Mi"}},
                        "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"}]
                    }],
                    "volumes": [
                        {"name": "cfg", "configMap": {"name": "app-config"}},
                        {"name": "scratch", "emptyDir": {}},
                        {"name": "host", "hostPath": {"path": "/var/log"}}
                    ]
                }
            }),
        );
        let want = json!({
            "metadata": {"name": "p"},
            "spec": {
                "containers": [{
                    "name": "app",
                    "image": "busybox",
                    "imagePullPolicy": "Always",
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}}],
                    "livenessProbe": {
                        "httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                        "timeoutSeconds": 1,
                        "periodSeconds": 10,
                        "successThreshold": 1,
                        "failureThreshold": 3
                    },
                    "resources": {
                        "limits": {"cpu": "500m", "memory": "128Mi"},
                        "requests": {"cpu": "500m", "memory": "128Mi"}
                    },
                    "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"}],
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File"
                }],
                "volumes": [
                    {"name": "cfg", "configMap": {"name": "app-config", "defaultMode": 420}},
                    {"name": "scratch", "emptyDir": {}},
                    {"name": "host", "hostPath": {"path": "/var/log", "type": ""}}
                ],
                "dnsPolicy": "ClusterFirst",
                "enableServiceLinks": true,
                "preemptionPolicy": "PreemptLowerPriority",
                "priority": 0,
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "terminationGracePeriodSeconds": 30
            },
            "status": {}
        });
        assert_eq!(
            got,
            want,
            "{}",
            serde_json::to_string_pretty(&got).unwrap_or_default()
        );
    }

    #[test]
    fn defaults_are_idempotent() {
        let cases = [
            (
                "apps",
                "StatefulSet",
                json!({"spec": {"serviceName": "db", "selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}, "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}),
            ),
            (
                "apps",
                "DaemonSet",
                json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}),
            ),
            (
                "batch",
                "CronJob",
                json!({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}], "restartPolicy": "Never"}}}}}}),
            ),
            (
                "",
                "Service",
                json!({"spec": {"type": "NodePort", "ports": [{"port": 80}]}}),
            ),
            (
                "autoscaling",
                "HorizontalPodAutoscaler",
                json!({"spec": {"maxReplicas": 3, "scaleTargetRef": {"kind": "Deployment", "name": "w"}}}),
            ),
        ];
        for (group, kind, obj) in cases {
            let once = defaulted(group, kind, obj);
            let twice = defaulted(group, kind, once.clone());
            assert_eq!(once, twice, "{kind}");
        }
    }

    #[test]
    fn defaults_stateful_set_and_status_skeletons() {
        let sts = defaulted(
            "apps",
            "StatefulSet",
            json!({"spec": {"serviceName": "db", "template": {"spec": {"containers": []}},
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1024Mi"}}}}]}}),
        );
        assert_eq!(sts["spec"]["podManagementPolicy"], "OrderedReady");
        assert_eq!(
            sts["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        );
        assert_eq!(
            sts["spec"]["persistentVolumeClaimRetentionPolicy"],
            json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
        );
        assert_eq!(sts["spec"]["replicas"], 1);
        assert_eq!(sts["spec"]["revisionHistoryLimit"], 10);
        assert_eq!(
            sts["spec"]["volumeClaimTemplates"][0],
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "creationTimestamp": null},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeMode": "Filesystem"},
                "status": {"phase": "Pending"}})
        );
        assert_eq!(
            sts["status"],
            json!({"replicas": 0, "availableReplicas": 0})
        );
        let ds = defaulted(
            "apps",
            "DaemonSet",
            json!({"spec": {"template": {"spec": {"containers": []}}}}),
        );
        assert_eq!(
            ds["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );
        assert_eq!(
            ds["status"],
            json!({"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0})
        );
        let pdb = defaulted(
            "policy",
            "PodDisruptionBudget",
            json!({"spec": {"minAvailable": 1}}),
        );
        assert_eq!(pdb["status"]["expectedPods"], 0);
        let hpa = defaulted(
            "autoscaling",
            "HorizontalPodAutoscaler",
            json!({"spec": {"maxReplicas": 2}}),
        );
        assert_eq!(
            hpa["status"],
            json!({"currentMetrics": null, "desiredReplicas": 0})
        );
        let cm = defaulted("", "ConfigMap", json!({"data": {"a": "b"}}));
        assert_eq!(cm, json!({"data": {"a": "b"}}));
    }

    #[test]
    fn defaults_job_and_cron_job() {
        let job = defaulted(
            "batch",
            "Job",
            json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "perl:5.34"}], "restartPolicy": "Never"}}}}),
        );
        let spec = &job["spec"];
        assert_eq!(
            (
                spec["completions"].clone(),
                spec["parallelism"].clone(),
                spec["backoffLimit"].clone()
            ),
            (json!(1), json!(1), json!(6))
        );
        assert_eq!(spec["completionMode"], "NonIndexed");
        assert_eq!(spec["suspend"], false);
        assert_eq!(spec["podReplacementPolicy"], "TerminatingOrFailed");
        assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");
        assert_eq!(job["status"], json!({}));
        let cj = defaulted(
            "batch",
            "CronJob",
            json!({"spec": {"schedule": "@hourly", "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}}),
        );
        let spec = &cj["spec"];
        assert_eq!(spec["concurrencyPolicy"], "Allow");
        assert_eq!(spec["suspend"], false);
        assert_eq!(spec["successfulJobsHistoryLimit"], 3);
        assert_eq!(spec["failedJobsHistoryLimit"], 1);
        assert_eq!(
            spec["jobTemplate"]["metadata"],
            json!({"creationTimestamp": null})
        );
    }

    #[test]
    fn defaults_storage_pv_pvc_secret() {
        let sc = defaulted(
            "storage.k8s.io",
            "StorageClass",
            json!({"provisioner": "x"}),
        );
        assert_eq!(
            sc,
            json!({"provisioner": "x", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"})
        );
        let pvc = defaulted(
            "",
            "PersistentVolumeClaim",
            json!({"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
        );
        assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
        assert_eq!(pvc["status"], json!({"phase": "Pending"}));
        let pv = defaulted(
            "",
            "PersistentVolume",
            json!({"spec": {"capacity": {"storage": "5Gi"}, "hostPath": {"path": "/d"}}}),
        );
        assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
        assert_eq!(pv["spec"]["volumeMode"], "Filesystem");
        let secret = defaulted("", "Secret", json!({"data": {}}));
        assert_eq!(secret["type"], "Opaque");
    }

    #[test]
    fn defaults_namespace_and_pod_admission_helpers() {
        let mut ns = json!({"metadata": {"name": "team"}});
        apply_defaults("", "Namespace", &mut ns);
        prepare_namespace_for_create(&mut ns);
        assert_eq!(
            ns,
            json!({"metadata": {"name": "team", "labels": {"kubernetes.io/metadata.name": "team"}},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
        );
        let mut pod = defaulted(
            "",
            "Pod",
            json!({"spec": {"containers": [{"name": "c", "image": "i:1"}]}}),
        );
        admit_pod_create(&mut pod, "x7k2p", None);
        let spec = &pod["spec"];
        assert_eq!(spec["serviceAccountName"], "default");
        assert_eq!(spec["serviceAccount"], "default");
        assert_eq!(spec["tolerations"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            spec["tolerations"][1]["key"],
            "node.kubernetes.io/unreachable"
        );
        assert_eq!(
            spec["containers"][0]["volumeMounts"],
            json!([{"name": "kube-api-access-x7k2p", "readOnly": true, "mountPath": TOKEN_MOUNT_PATH}])
        );
        assert_eq!(
            spec["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
            3607
        );
        // A second admission (e.g. a retried create) adds nothing.
        let before = pod.clone();
        admit_pod_create(&mut pod, "other", None);
        assert_eq!(pod, before);
        // The ServiceAccount may opt out; the pod's own choice wins over it.
        let plain = json!({"spec": {"containers": [{"name": "c", "image": "i:1"}]}});
        let mut opted_out = defaulted("", "Pod", plain.clone());
        admit_pod_create(&mut opted_out, "x7k2p", Some(false));
        assert_eq!(opted_out["spec"].get("volumes"), None);
        let mut pod_wins = defaulted("", "Pod", plain);
        pod_wins["spec"]["automountServiceAccountToken"] = json!(true);
        admit_pod_create(&mut pod_wins, "x7k2p", Some(false));
        assert_eq!(pod_wins["spec"]["volumes"][0]["name"], "kube-api-access-x7k2p");
    }

    #[test]
    fn defaults_service_update_keeps_allocations() {
        let old = json!({"spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "ports": [{"name": "http", "port": 80, "nodePort": 30080}, {"name": "https", "port": 443, "nodePort": 30443}]}});
        let mut new = json!({"spec": {"type": "NodePort", "ports": [{"name": "http", "port": 8080}, {"name": "https", "port": 443, "nodePort": 30080}]}});
        patch_allocated_service_values(&mut new, &old);
        assert_eq!(new["spec"]["clusterIP"], "10.96.0.10");
        assert_eq!(new["spec"]["clusterIPs"], json!(["10.96.0.10"]));
        assert_eq!(new["spec"]["ipFamilies"], json!(["IPv4"]));
        // 30080 is now taken by the https port, so http stays unallocated.
        assert_eq!(new["spec"]["ports"][0].get("nodePort"), None);
        let mut to_external =
            json!({"spec": {"type": "ExternalName", "externalName": "x.example.com"}});
        patch_allocated_service_values(&mut to_external, &old);
        assert_eq!(to_external["spec"].get("clusterIP"), None);
    }
}
