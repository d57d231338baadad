//! Scenarios of non-apply writes (`update_managed_fields`) and of moving an
//! object from client-side apply to `kubectl apply --server-side`.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure

use serde_json::{Value, json};

use super::tests::{T1, deploy, deployment, owned, ssa, write};
use super::*;

const CSA: &str = "kubectl-client-side-apply";

/// An object as `kubectl apply` (client side) leaves it.
fn csa_created(replicas: i64) -> Value {
    let config = deployment(replicas, json!([{"name": "c", "image": "nginx"}]));
    let mut obj = config.clone();
    let annotation = format!("{}\n", serde_json::to_string(&config).unwrap());
    obj["metadata"]["annotations"] = json!({ LAST_APPLIED_ANNOTATION: annotation });
    write(None, &obj, CSA)
}

#[test]
fn apply_migration_from_client_side_apply_takes_over_without_conflicts() {
    let live = csa_created(3);
    assert!(
        owned(&live, CSA)
            .unwrap()
            .contains("f:kubectl.kubernetes.io/last-applied-configuration")
    );
    let config = deployment(5, json!([{"name": "c", "image": "nginx:2"}]));
    let out = ssa(Some(&live), &config, KUBECTL_MANAGER, false).unwrap();
    assert_eq!(out["spec"]["replicas"], 5);
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:2"
    );
    let csa = owned(&out, CSA).unwrap();
    assert!(
        !csa.contains("f:replicas") && !csa.contains("f:image"),
        "{csa}"
    );
    assert!(owned(&out, KUBECTL_MANAGER).unwrap().contains("f:replicas"));
    // The annotation now records what kubectl applied server-side.
    assert_eq!(
        out["metadata"]["annotations"][LAST_APPLIED_ANNOTATION],
        concat!(
            r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"#,
            r#""spec":{"replicas":5,"template":{"spec":{"containers":[{"image":"nginx:2","name":"c"}]}}}}"#,
            "\n"
        )
    );
}

#[test]
fn apply_migration_only_for_kubectl_and_only_for_last_applied_values() {
    let live = csa_created(3);
    let config = deployment(5, json!([{"name": "c", "image": "nginx"}]));
    let err = ssa(Some(&live), &config, "other", false).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas"#
    );

    // Someone scaled the object after the client-side apply: its replicas
    // no longer match the annotation, so that conflict stands.
    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(4);
    let scaled = write(Some(&live), &scaled, "scaler");
    let err = ssa(Some(&scaled), &config, KUBECTL_MANAGER, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "scaler" using apps/v1: .spec.replicas"#
    );
}

#[test]
fn apply_update_takes_changed_fields_from_others() {
    let created = write(
        None,
        &deployment(1, json!([{"name": "c", "image": "x"}])),
        "creator",
    );
    assert_eq!(
        owned(&created, "creator").unwrap(),
        concat!(
            r#"{"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"#,
            r#""k:{\"name\":\"c\"}":{".":{},"f:image":{},"f:name":{}}}}}}}"#
        )
    );
    let mut new = created.clone();
    new["spec"]["replicas"] = json!(2);
    let out = write(Some(&created), &new, "scaler");
    assert_eq!(
        owned(&out, "scaler").unwrap(),
        r#"{"f:spec":{"f:replicas":{}}}"#
    );
    assert!(!owned(&out, "creator").unwrap().contains("f:replicas"));
    // A write that changes nothing leaves the entries alone.
    assert_eq!(write(Some(&out), &out, "noop"), out);
}

#[test]
fn apply_update_honours_managed_fields_in_the_request() {
    let created = write(None, &deployment(1, json!([])), "creator");
    let mut reset = created.clone();
    reset["metadata"]["managedFields"] = json!([{}]);
    let out = write(Some(&created), &reset, "any");
    assert_eq!(out["metadata"].get("managedFields"), None);

    let mut replaced = created.clone();
    replaced["metadata"]["managedFields"] = json!([{"manager": "someone", "operation": "Update",
        "apiVersion": "apps/v1", "time": T1, "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}]);
    let out = write(Some(&created), &replaced, "any");
    let names: Vec<&str> = out["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["manager"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["someone"]);

    // Unreadable entries in the request fall back to the live ones.
    let mut broken = created.clone();
    broken["metadata"]["managedFields"] = json!([{"operation": "Bad"}]);
    assert_eq!(write(Some(&created), &broken, "any"), created);
}

#[test]
fn apply_update_caps_update_entries() {
    let mut obj = write(
        None,
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"}, "spec": {"replicas": 0}}),
        "m00",
    );
    for i in 1..=11 {
        let mut new = obj.clone();
        if new["metadata"]["labels"].is_null() {
            new["metadata"]["labels"] = json!({});
        }
        new["metadata"]["labels"][format!("l{i}")] = json!("x");
        let none = FieldSet::new();
        let time = format!("2024-05-01T10:00:{i:02}Z");
        let opts = UpdateOptions {
            manager: &format!("m{i:02}"),
            subresource: "",
            time: &time,
            ignored: &none,
        };
        obj = update_managed_fields(Some(&obj), &new, &deploy(), &opts).unwrap();
    }
    let entries = obj["metadata"]["managedFields"].as_array().unwrap();
    assert!(entries.len() <= MAX_UPDATE_MANAGERS, "{}", entries.len());
    assert!(entries.iter().any(|e| e["manager"] == ANCIENT_CHANGES));
}
