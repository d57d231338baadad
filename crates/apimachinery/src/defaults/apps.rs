//! apps/v1 defaults (`SetDefaults_Deployment`, `_ReplicaSet`, `_StatefulSet`,
//! `_DaemonSet`) and their pod templates.

use serde_json::{Value, json};

use super::core_v1::default_pvc_spec;
use super::pod::default_pod_template;
use crate::validation::json::{member_mut, obj_mut, s, set_if_absent, set_if_zero};

pub(crate) fn default_deployment(d: &mut Value) {
    let spec = obj_mut(d, "spec");
    set_if_absent(spec, "replicas", Value::from(1));
    let strategy = obj_mut(spec, "strategy");
    set_if_zero(strategy, "type", Value::from("RollingUpdate"));
    if s(strategy, &["type"]) == "RollingUpdate" {
        let ru = obj_mut(strategy, "rollingUpdate");
        set_if_absent(ru, "maxUnavailable", Value::from("25%"));
        set_if_absent(ru, "maxSurge", Value::from("25%"));
    }
    set_if_absent(spec, "revisionHistoryLimit", Value::from(10));
    set_if_absent(spec, "progressDeadlineSeconds", Value::from(600));
    default_pod_template(obj_mut(spec, "template"));
}

pub(crate) fn default_replica_set(rs: &mut Value) {
    let spec = obj_mut(rs, "spec");
    set_if_absent(spec, "replicas", Value::from(1));
    default_pod_template(obj_mut(spec, "template"));
}

pub(crate) fn default_daemon_set(ds: &mut Value) {
    let spec = obj_mut(ds, "spec");
    let strategy = obj_mut(spec, "updateStrategy");
    set_if_zero(strategy, "type", Value::from("RollingUpdate"));
    if s(strategy, &["type"]) == "RollingUpdate" {
        let ru = obj_mut(strategy, "rollingUpdate");
        set_if_absent(ru, "maxUnavailable", Value::from(1));
        set_if_absent(ru, "maxSurge", Value::from(0));
    }
    set_if_absent(spec, "revisionHistoryLimit", Value::from(10));
    default_pod_template(obj_mut(spec, "template"));
}

pub(crate) fn default_stateful_set(sts: &mut Value) {
    let spec = obj_mut(sts, "spec");
    set_if_zero(spec, "podManagementPolicy", Value::from("OrderedReady"));
    let strategy = obj_mut(spec, "updateStrategy");
    if s(strategy, &["type"]).is_empty() {
        set_if_zero(strategy, "type", Value::from("RollingUpdate"));
        obj_mut(strategy, "rollingUpdate");
    }
    if s(strategy, &["type"]) == "RollingUpdate"
        && let Some(ru) = member_mut(strategy, "rollingUpdate")
    {
        set_if_absent(ru, "partition", Value::from(0));
    }
    let retention = obj_mut(spec, "persistentVolumeClaimRetentionPolicy");
    set_if_zero(retention, "whenDeleted", Value::from("Retain"));
    set_if_zero(retention, "whenScaled", Value::from("Retain"));
    set_if_absent(spec, "replicas", Value::from(1));
    set_if_absent(spec, "revisionHistoryLimit", Value::from(10));
    default_pod_template(obj_mut(spec, "template"));
    if let Some(templates) = spec
        .get_mut("volumeClaimTemplates")
        .and_then(Value::as_array_mut)
    {
        for t in templates {
            if !t.is_object() {
                continue;
            }
            set_if_absent(t, "apiVersion", Value::from("v1"));
            set_if_absent(t, "kind", Value::from("PersistentVolumeClaim"));
            set_if_absent(obj_mut(t, "metadata"), "creationTimestamp", Value::Null);
            default_pvc_spec(obj_mut(t, "spec"));
            set_if_zero(obj_mut(t, "status"), "phase", Value::from("Pending"));
        }
    }
}

pub(crate) fn default_controller_revision(cr: &mut Value) {
    set_if_absent(cr, "revision", json!(0));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_statefulset_claim_templates() {
        let mut sts = json!({"spec": {"selector": {"matchLabels": {"app": "db"}}, "serviceName": "db",
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "pg", "image": "postgres:16"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1024Mi"}}}}]}});
        default_stateful_set(&mut sts);
        assert_eq!(
            sts["spec"]["volumeClaimTemplates"][0],
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "creationTimestamp": null},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeMode": "Filesystem"},
                "status": {"phase": "Pending"}})
        );
        assert_eq!(
            sts["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        );
        assert_eq!(
            sts["spec"]["persistentVolumeClaimRetentionPolicy"],
            json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
        );
        assert_eq!(sts["spec"]["podManagementPolicy"], "OrderedReady");
    }

    #[test]
    fn defaults_daemonset_strategy() {
        let mut ds = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "a:1"}]}}}});
        default_daemon_set(&mut ds);
        assert_eq!(
            ds["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );
        assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);
        let mut on_delete = json!({"spec": {"updateStrategy": {"type": "OnDelete"}}});
        default_daemon_set(&mut on_delete);
        assert_eq!(
            on_delete["spec"]["updateStrategy"],
            json!({"type": "OnDelete"})
        );
    }
}
