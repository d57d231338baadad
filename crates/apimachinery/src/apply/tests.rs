//! Scenarios of server-side apply between several managers on built-in
//! kinds, checked against the objects and `managedFields` Kubernetes writes.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure

use serde_json::{Value, json};

use super::*;

pub(super) const T1: &str = "2024-05-01T10:00:00Z";
pub(super) const T2: &str = "2024-05-01T11:00:00Z";

pub(super) fn deploy() -> BuiltinSchema {
    BuiltinSchema::new("apps", "Deployment")
}

pub(super) fn ssa(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
) -> Result<Value, ApplyError> {
    let none = FieldSet::new();
    let opts = ApplyOptions {
        manager,
        force,
        subresource: "",
        time: T2,
        ignored: &none,
    };
    apply(live, config, &deploy(), &opts)
}

pub(super) fn write(live: Option<&Value>, new: &Value, manager: &str) -> Value {
    let none = FieldSet::new();
    let opts = UpdateOptions {
        manager,
        subresource: "",
        time: T1,
        ignored: &none,
    };
    update_managed_fields(live, new, &deploy(), &opts).unwrap()
}

/// The `fieldsV1` of `manager`'s entry, as compact JSON.
pub(super) fn owned(object: &Value, manager: &str) -> Option<String> {
    object["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager)
        .map(|e| e["fieldsV1"].to_string())
}

pub(super) fn deployment(replicas: i64, containers: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": containers}}}
    })
}

#[test]
fn apply_create_records_applier() {
    let cfg = deployment(1, json!([{"name": "c", "image": "nginx"}]));
    let obj = ssa(None, &cfg, "mgr", false).unwrap();
    assert_eq!(obj["spec"]["replicas"], 1);
    let entries = obj["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0],
        json!({
            "manager": "mgr", "operation": "Apply", "apiVersion": "apps/v1", "time": T2,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"c\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}
        })
    );
}

#[test]
fn apply_conflict_on_replicas_has_kubernetes_message() {
    let created = write(
        None,
        &deployment(3, json!([{"name": "c", "image": "nginx"}])),
        "kubectl-client-side-apply",
    );
    let err = ssa(
        Some(&created),
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"}, "spec": {"replicas": 5}}),
        "mgr",
        false,
    )
    .unwrap_err();
    assert_eq!(err.status_code(), 409);
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas"#
    );
    let ApplyError::Conflicts(c) = err else {
        panic!("not a conflict")
    };
    assert_eq!(
        c.causes(),
        vec![json!({
            "reason": "FieldManagerConflict",
            "message": "conflict with \"kubectl-client-side-apply\" using apps/v1",
            "field": ".spec.replicas"
        })]
    );
}

#[test]
fn apply_same_value_shares_ownership_and_force_moves_it() {
    let created = write(
        None,
        &deployment(3, json!([{"name": "c", "image": "nginx"}])),
        "creator",
    );
    let same = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 3}});
    let shared = ssa(Some(&created), &same, "mgr", false).unwrap();
    assert!(owned(&shared, "creator").unwrap().contains("f:replicas"));
    assert_eq!(
        owned(&shared, "mgr").unwrap(),
        r#"{"f:spec":{"f:replicas":{}}}"#
    );
    // A no-op apply does not stamp a time (Kubernetes only does on change).
    let entry = shared["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "mgr")
        .unwrap()
        .clone();
    assert!(entry.get("time").is_none());

    let five = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 5}});
    let forced = ssa(Some(&created), &five, "mgr", true).unwrap();
    assert_eq!(forced["spec"]["replicas"], 5);
    assert!(!owned(&forced, "creator").unwrap().contains("f:replicas"));
    assert!(owned(&forced, "creator").unwrap().contains("f:image"));
    assert_eq!(
        owned(&forced, "mgr").unwrap(),
        r#"{"f:spec":{"f:replicas":{}}}"#
    );
}

#[test]
fn apply_multiple_conflicts_are_listed_by_manager() {
    let a = ssa(
        None,
        &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "paused": false}}),
        "alpha",
        false,
    )
    .unwrap();
    let b = write(
        Some(&a),
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"x": "1"}, "managedFields": a["metadata"]["managedFields"]},
        "spec": {"replicas": 1, "paused": false, "minReadySeconds": 4}}),
        "beta",
    );
    let err = ssa(
        Some(&b),
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"x": "2"}},
        "spec": {"replicas": 2, "paused": true, "minReadySeconds": 5}}),
        "gamma",
        false,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        concat!(
            "Apply failed with 4 conflicts: conflicts with \"alpha\":\n",
            "- .spec.paused\n- .spec.replicas\n",
            "conflicts with \"beta\" using apps/v1:\n",
            "- .metadata.labels.x\n- .spec.minReadySeconds"
        )
    );
}

#[test]
fn apply_removed_field_is_deleted_when_unowned_and_kept_when_shared() {
    let cfg = |labels: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": labels}})
    };
    let one = ssa(None, &cfg(json!({"a": "1", "b": "2"})), "m1", false).unwrap();
    let dropped = ssa(Some(&one), &cfg(json!({"a": "1"})), "m1", false).unwrap();
    assert_eq!(dropped["metadata"]["labels"], json!({"a": "1"}));

    let shared = ssa(Some(&one), &cfg(json!({"b": "2"})), "m2", false).unwrap();
    let kept = ssa(Some(&shared), &cfg(json!({"a": "1"})), "m1", false).unwrap();
    assert_eq!(kept["metadata"]["labels"], json!({"a": "1", "b": "2"}));
    assert_eq!(
        owned(&kept, "m1").unwrap(),
        r#"{"f:metadata":{"f:labels":{"f:a":{}}}}"#
    );
    assert_eq!(
        owned(&kept, "m2").unwrap(),
        r#"{"f:metadata":{"f:labels":{"f:b":{}}}}"#
    );

    // Dropping the last label drops the now empty map, and the applier's
    // entry when it owns nothing any more.
    let none = ssa(Some(&dropped), &cfg(json!({})), "m1", false).unwrap();
    assert_eq!(none["metadata"]["labels"], Value::Null);
    assert_eq!(
        owned(&none, "m1").unwrap(),
        r#"{"f:metadata":{"f:labels":{}}}"#
    );
    let gone = ssa(
        Some(&dropped),
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"}}),
        "m1",
        false,
    )
    .unwrap();
    assert_eq!(gone["metadata"], json!({"name": "web"}));
}

#[test]
fn apply_items_added_by_updaters_survive_an_appliers_removal() {
    let one = ssa(
        None,
        &deployment(2, json!([{"name": "c", "image": "x"}])),
        "m1",
        false,
    )
    .unwrap();
    let mut edited = one.clone();
    edited["spec"]["template"]["spec"]["containers"][0]["image"] = json!("y");
    edited["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "side", "image": "s"}));
    let updated = write(Some(&one), &edited, "editor");
    assert_eq!(
        owned(&updated, "editor").unwrap(),
        concat!(
            r#"{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{"f:image":{}},"#,
            r#""k:{\"name\":\"side\"}":{".":{},"f:image":{},"f:name":{}}}}}}}"#
        )
    );
    let cfg = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2}});
    let out = ssa(Some(&updated), &cfg, "m1", false).unwrap();
    // m1 owned container c itself: it goes whole, although the editor set
    // its image (owning a field of an item does not keep the item, as in
    // Kubernetes); the editor's own container stays.
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"],
        json!([{"name": "side", "image": "s"}])
    );
    assert_eq!(out["spec"]["replicas"], 2);
}

#[test]
fn apply_merges_containers_by_name_with_per_container_ownership() {
    let c1 = deployment(1, json!([{"name": "c1", "image": "x"}]));
    let one = ssa(None, &c1, "m1", false).unwrap();
    let c2 = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "c2", "image": "y"}]}}}});
    let two = ssa(Some(&one), &c2, "m2", false).unwrap();
    assert_eq!(
        two["spec"]["template"]["spec"]["containers"],
        json!([{"name": "c1", "image": "x"}, {"name": "c2", "image": "y"}])
    );
    assert_eq!(
        owned(&two, "m2").unwrap(),
        r#"{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"c2\"}":{".":{},"f:image":{},"f:name":{}}}}}}}"#
    );
    assert!(
        owned(&two, "m1")
            .unwrap()
            .contains(r#"k:{\"name\":\"c1\"}"#)
    );

    let steal = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "c1", "image": "z"}]}}}});
    let err = ssa(Some(&two), &steal, "m2", false).unwrap_err();
    assert_eq!(err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "m2": .spec.template.spec.containers[name="c1"].image"#
            .replace("\"m2\"", "\"m1\""));
    // m2 stops applying c2: its container goes, m1's stays.
    let back = ssa(
        Some(&two),
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"}, "spec": {"template": {"spec": {"containers": []}}}}),
        "m2",
        false,
    )
    .unwrap();
    assert_eq!(
        back["spec"]["template"]["spec"]["containers"],
        json!([{"name": "c1", "image": "x"}])
    );
}

#[test]
fn apply_set_lists_merge_by_value() {
    let cfg = |f: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "finalizers": f}})
    };
    let one = ssa(None, &cfg(json!(["a"])), "m1", false).unwrap();
    let two = ssa(Some(&one), &cfg(json!(["b"])), "m2", false).unwrap();
    assert_eq!(two["metadata"]["finalizers"], json!(["a", "b"]));
    assert_eq!(
        owned(&two, "m2").unwrap(),
        r#"{"f:metadata":{"f:finalizers":{"v:\"b\"":{}}}}"#
    );
    let three = ssa(Some(&two), &cfg(json!([])), "m1", false).unwrap();
    assert_eq!(three["metadata"]["finalizers"], json!(["b"]));
}

#[test]
fn apply_atomic_lists_are_replaced_whole() {
    let args = |a: Value| deployment(1, json!([{"name": "c", "args": a}]));
    let one = ssa(None, &args(json!(["x", "y"])), "m1", false).unwrap();
    assert!(owned(&one, "m1").unwrap().contains(r#""f:args":{}"#));
    let err = ssa(Some(&one), &args(json!(["z"])), "m2", false).unwrap_err();
    assert!(
        err.to_string()
            .contains(r#".spec.template.spec.containers[name="c"].args"#)
    );
    let forced = ssa(Some(&one), &args(json!(["z"])), "m2", true).unwrap();
    assert_eq!(
        forced["spec"]["template"]["spec"]["containers"][0]["args"],
        json!(["z"])
    );
    // The selector is an atomic struct: one field, replaced whole.
    let sel = |m: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"}, "spec": {"selector": {"matchLabels": m}}})
    };
    let s1 = ssa(None, &sel(json!({"a": "1"})), "m1", false).unwrap();
    let s2 = ssa(Some(&s1), &sel(json!({"b": "2"})), "m1", false).unwrap();
    assert_eq!(s2["spec"]["selector"], json!({"matchLabels": {"b": "2"}}));
    assert_eq!(owned(&s2, "m1").unwrap(), r#"{"f:spec":{"f:selector":{}}}"#);
}

#[test]
fn apply_ports_are_keyed_by_port_and_defaulted_protocol() {
    let svc = BuiltinSchema::new("", "Service");
    let none = FieldSet::new();
    let opts = ApplyOptions {
        manager: "m",
        force: false,
        subresource: "",
        time: T1,
        ignored: &none,
    };
    let cfg = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}]}});
    let obj = apply(None, &cfg, &svc, &opts).unwrap();
    assert_eq!(
        owned(&obj, "m").unwrap(),
        r#"{"f:spec":{"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:port":{},"f:targetPort":{}}}}}"#
    );
}

#[test]
fn apply_status_is_not_owned_through_the_main_resource() {
    let ignored = reset_fields("");
    let opts = ApplyOptions {
        manager: "m",
        force: false,
        subresource: "",
        time: T1,
        ignored: &ignored,
    };
    let cfg = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1}, "status": {"replicas": 7}});
    let obj = apply(None, &cfg, &deploy(), &opts).unwrap();
    assert_eq!(owned(&obj, "m").unwrap(), r#"{"f:spec":{"f:replicas":{}}}"#);
    let live = obj.clone();
    let stat = reset_fields("status");
    let sopts = UpdateOptions {
        manager: "ctrl",
        subresource: "status",
        time: T2,
        ignored: &stat,
    };
    let mut new = live.clone();
    new["status"]["replicas"] = json!(1);
    let out = update_managed_fields(Some(&live), &new, &deploy(), &sopts).unwrap();
    let e = out["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "ctrl")
        .unwrap()
        .clone();
    assert_eq!(e["subresource"], "status");
    assert_eq!(e["fieldsV1"], json!({"f:status": {"f:replicas": {}}}));
}

#[test]
fn apply_rejects_managed_fields_in_body_and_broken_live_entries() {
    let cfg = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "managedFields": []}});
    assert_eq!(
        ssa(None, &cfg, "m", false),
        Err(ApplyError::ManagedFieldsInApply)
    );
    let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "managedFields": [{"operation": "Nope"}]}});
    let err = ssa(Some(&live), &deployment(1, json!([])), "m", false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid managedFields: operation must be `Apply` or `Update`"
    );
}
