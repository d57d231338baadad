//! Strategic merge patch on realistic Deployments, Pods and Services.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure

use super::*;
use serde_json::json;

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "labels": {"app": "web", "tier": "front"},
            "finalizers": ["example.com/a", "example.com/b"],
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "u-1"}
            ]
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.25",
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "env": [{"name": "MODE", "value": "prod"}, {"name": "LOG", "value": "info"}],
                            "args": ["--a", "--b"]
                        },
                        {"name": "sidecar", "image": "envoy:1.30"}
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "tolerations": [{"key": "k1", "operator": "Exists"}]
                }
            }
        },
        "status": {"conditions": [
            {"type": "Available", "status": "True"},
            {"type": "Progressing", "status": "True"}
        ]}
    })
}

fn smp(original: &Value, patch: Value) -> Value {
    apply_strategic_merge_patch(original, &patch, "apps", "Deployment").unwrap()
}

fn containers(d: &Value) -> &Value {
    &d["spec"]["template"]["spec"]["containers"]
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

#[test]
fn patch_strategic_changes_one_container_image_by_name() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "envoy:1.31"}]}}}}),
    );
    assert_eq!(names(containers(&out)), ["web", "sidecar"]);
    assert_eq!(
        containers(&out)[1],
        json!({"name": "sidecar", "image": "envoy:1.31"})
    );
    assert_eq!(containers(&out)[0], containers(&deployment())[0]);
    // Nothing else moved.
    let mut expected = deployment();
    expected["spec"]["template"]["spec"]["containers"][1]["image"] = json!("envoy:1.31");
    assert_eq!(out, expected);
}

#[test]
fn patch_strategic_adds_and_changes_env_by_name() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "env": [{"name": "LOG", "value": "debug"}, {"name": "NEW", "value": "1"}]}
        ]}}}}),
    );
    // Patch items come first in patch order, then the server's others in
    // their old order, interleaved by the server's order.
    assert_eq!(
        containers(&out)[0]["env"],
        json!([
            {"name": "MODE", "value": "prod"},
            {"name": "LOG", "value": "debug"},
            {"name": "NEW", "value": "1"}
        ])
    );
    assert_eq!(containers(&out)[0]["image"], "nginx:1.25");
}

#[test]
fn patch_strategic_new_list_items_go_before_server_items() {
    // Without $setElementOrder, Kubernetes puts an item the server does not
    // know ahead of the server's items.
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "log", "image": "busybox"}]}}}}),
    );
    assert_eq!(names(containers(&out)), ["log", "web", "sidecar"]);
}

#[test]
fn patch_strategic_deletes_container_with_patch_delete() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}),
    );
    assert_eq!(names(containers(&out)), ["web"]);
    // Deleting an item that is not there is not an error.
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "nope", "$patch": "delete"}]}}}}),
    );
    assert_eq!(names(containers(&out)), ["web", "sidecar"]);
}

#[test]
fn patch_strategic_set_element_order_reorders() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "log"}, {"name": "web"}],
            "containers": [{"name": "log", "image": "busybox"}]
        }}}}),
    );
    assert_eq!(names(containers(&out)), ["sidecar", "log", "web"]);
    assert!(
        out["spec"]["template"]["spec"]
            .get("$setElementOrder/containers")
            .is_none()
    );
    // Ordering only, no list in the patch.
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "web"}]
        }}}}),
    );
    assert_eq!(names(containers(&out)), ["sidecar", "web"]);
    assert_eq!(containers(&out)[1], containers(&deployment())[0]);
}

#[test]
fn patch_strategic_set_element_order_keeps_server_only_items_in_place() {
    // Upstream cases "set elements order in a list with server-only items"
    // (1 and 3): items only the server has stay after the listed item
    // they followed.
    let pod = |names: &[&str]| {
        let list: Vec<Value> = names
            .iter()
            .map(|n| json!({"name": n, "image": format!("img-{n}")}))
            .collect();
        json!({"metadata": {"name": "p"}, "spec": {"containers": list}})
    };
    let order = |names: &[&str]| {
        let list: Vec<Value> = names.iter().map(|n| json!({"name": n})).collect();
        json!({"spec": {"$setElementOrder/containers": list}})
    };
    let out = apply_strategic_merge_patch(
        &pod(&["1", "3", "4", "2", "9"]),
        &order(&["4", "2", "3", "1"]),
        "",
        "Pod",
    )
    .unwrap();
    assert_eq!(names(&out["spec"]["containers"]), ["4", "2", "3", "1", "9"]);
    let out = apply_strategic_merge_patch(
        &pod(&["1", "2", "7", "9", "8", "3", "4"]),
        &order(&["2", "1", "4", "3"]),
        "",
        "Pod",
    )
    .unwrap();
    assert_eq!(
        names(&out["spec"]["containers"]),
        ["2", "1", "7", "9", "8", "4", "3"]
    );
    assert_eq!(
        out["spec"]["containers"][1],
        json!({"name": "1", "image": "img-1"})
    );
}

#[test]
fn patch_strategic_set_element_order_must_match_the_patch() {
    let e = apply_strategic_merge_patch(
        &deployment(),
        &json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
            "containers": [{"name": "sidecar", "image": "x"}, {"name": "web", "image": "y"}]
        }}}}),
        "apps",
        "Deployment",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("the order in patch list [{\"name\":\"sidecar\""),
        "{e}"
    );
    assert_eq!(e.status_code(), 422);
}

#[test]
fn patch_strategic_retain_keys_switches_deployment_strategy() {
    // What kubectl apply sends to switch to Recreate: rollingUpdate must go.
    let out = smp(
        &deployment(),
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
    );
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    // A key the patch sets must be listed.
    let e = apply_strategic_merge_patch(
        &deployment(),
        &json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": {}}}}),
        "apps",
        "Deployment",
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "invalid patch format of retainKeys");
    assert_eq!(e.status_code(), 400);
    let e = apply_strategic_merge_patch(
        &deployment(),
        &json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
        "apps",
        "Deployment",
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "invalid patch format of retainKeys");
}

#[test]
fn patch_strategic_retain_keys_in_volume_items() {
    // Volumes merge by name with retainKeys: switching a volume's source.
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {"volumes": [
            {"name": "data", "$retainKeys": ["name", "configMap"], "configMap": {"name": "cfg"}}
        ]}}}}),
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["volumes"],
        json!([{"name": "data", "configMap": {"name": "cfg"}}])
    );
}

#[test]
fn patch_strategic_finalizers_merge_and_delete_from_primitive_list() {
    let out = smp(
        &deployment(),
        json!({"metadata": {"finalizers": ["example.com/c", "example.com/a"]}}),
    );
    // The patch's items in its order, ahead of the server's others.
    assert_eq!(
        out["metadata"]["finalizers"],
        json!(["example.com/c", "example.com/a", "example.com/b"])
    );
    let out = smp(
        &deployment(),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/a"]}}),
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["example.com/b"]));
    // Adding and deleting in one patch.
    let out = smp(
        &deployment(),
        json!({"metadata": {
            "$deleteFromPrimitiveList/finalizers": ["example.com/b"],
            "finalizers": ["example.com/z"]
        }}),
    );
    assert_eq!(
        out["metadata"]["finalizers"],
        json!(["example.com/z", "example.com/a"])
    );
    // A deletion list never creates the list.
    let mut bare = deployment();
    bare["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("finalizers");
    let out = smp(
        &bare,
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/a"]}}),
    );
    assert!(out["metadata"].get("finalizers").is_none());
    let e = apply_strategic_merge_patch(
        &deployment(),
        &json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["x"]}}),
        "apps",
        "Deployment",
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "invalid patch format of primitive list");
}

#[test]
fn patch_strategic_replaces_a_map_with_patch_replace() {
    let out = smp(
        &deployment(),
        json!({"metadata": {"labels": {"$patch": "replace", "app": "api"}}}),
    );
    assert_eq!(out["metadata"]["labels"], json!({"app": "api"}));
    // `$patch: delete` empties a map.
    let out = smp(
        &deployment(),
        json!({"spec": {"selector": {"$patch": "delete"}}}),
    );
    assert_eq!(out["spec"]["selector"], json!({}));
}

#[test]
fn patch_strategic_null_deletes_labels() {
    let out = smp(
        &deployment(),
        json!({"metadata": {"labels": {"tier": null, "env": "prod"}}}),
    );
    assert_eq!(
        out["metadata"]["labels"],
        json!({"app": "web", "env": "prod"})
    );
    let out = smp(
        &deployment(),
        json!({"metadata": {"annotations": {"a": null, "b": "1"}}}),
    );
    assert_eq!(out["metadata"]["annotations"], json!({"b": "1"}));
}

#[test]
fn patch_strategic_container_ports_merge_by_container_port() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443}]}
        ]}}}}),
    );
    assert_eq!(
        containers(&out)[0]["ports"],
        json!([{"containerPort": 80, "protocol": "TCP", "name": "http"}, {"containerPort": 443}])
    );
}

#[test]
fn patch_strategic_service_ports_merge_by_port() {
    let svc = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app": "web"},
            "ports": [
                {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}
            ]
        }
    });
    let out = apply_strategic_merge_patch(
        &svc,
        &json!({"spec": {"ports": [{"port": 443, "targetPort": 9443}, {"port": 80, "$patch": "delete"}]}}),
        "",
        "Service",
    )
    .unwrap();
    assert_eq!(
        out["spec"]["ports"],
        json!([{"name": "https", "port": 443, "targetPort": 9443, "protocol": "TCP"}])
    );
    // The selector is a plain map: merged, not replaced.
    let out = apply_strategic_merge_patch(
        &svc,
        &json!({"spec": {"selector": {"tier": "front"}}}),
        "",
        "Service",
    )
    .unwrap();
    assert_eq!(
        out["spec"]["selector"],
        json!({"app": "web", "tier": "front"})
    );
}

#[test]
fn patch_strategic_untagged_lists_are_replaced() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {
            "tolerations": [{"key": "k2", "operator": "Equal", "value": "v"}],
            "containers": [{"name": "web", "args": ["--c"]}]
        }}}}),
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["tolerations"],
        json!([{"key": "k2", "operator": "Equal", "value": "v"}])
    );
    assert_eq!(containers(&out)[0]["args"], json!(["--c"]));
}

#[test]
fn patch_strategic_replaces_a_whole_list_with_patch_replace() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {"containers": [
            {"$patch": "replace"},
            {"name": "only", "image": "alpine", "env": null}
        ]}}}}),
    );
    assert_eq!(
        containers(&out),
        &json!([{"name": "only", "image": "alpine"}])
    );
}

#[test]
fn patch_strategic_new_items_lose_nulls_and_directives() {
    let mut original = deployment();
    original["spec"]["template"]["spec"]
        .as_object_mut()
        .unwrap()
        .remove("volumes");
    let out = smp(
        &original,
        json!({"spec": {"template": {"spec": {
            "volumes": [{"name": "cache", "emptyDir": {"medium": null}}, {"name": "gone", "$patch": "delete"}],
            "containers": [{"name": "log", "image": "busybox", "command": null,
                            "$setElementOrder/env": [{"name": "A"}], "env": [{"name": "A", "value": "1"}]}]
        }}}}),
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["volumes"],
        json!([{"name": "cache", "emptyDir": {}}])
    );
    assert_eq!(
        containers(&out)[0],
        json!({"name": "log", "image": "busybox", "env": [{"name": "A", "value": "1"}]})
    );
}

#[test]
fn patch_strategic_conditions_merge_by_type() {
    let out = smp(
        &deployment(),
        json!({"status": {"conditions": [{"type": "Progressing", "status": "False", "reason": "Stuck"}]}}),
    );
    assert_eq!(
        out["status"]["conditions"],
        json!([
            {"type": "Available", "status": "True"},
            {"type": "Progressing", "status": "False", "reason": "Stuck"}
        ])
    );
}

#[test]
fn patch_strategic_owner_references_merge_by_uid() {
    let out = smp(
        &deployment(),
        json!({"metadata": {"ownerReferences": [
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "u-1", "controller": true},
            {"apiVersion": "v1", "kind": "Secret", "name": "other", "uid": "u-2"}
        ]}}),
    );
    let refs = out["metadata"]["ownerReferences"].as_array().unwrap();
    assert_eq!(refs.len(), 2);
    assert_eq!(refs[0]["controller"], true);
    assert_eq!(refs[1]["uid"], "u-2");
}

#[test]
fn patch_strategic_reaches_pod_specs_of_every_workload() {
    let template = json!({"spec": {"containers": [{"name": "c", "image": "a", "env": [{"name": "X", "value": "1"}]}]}});
    let patch_for = |path: &[&str]| {
        let mut p = json!({"containers": [{"name": "c", "env": [{"name": "Y", "value": "2"}]}]});
        for key in path.iter().rev() {
            p = json!({ *key: p });
        }
        p
    };
    let cases: [(&str, &str, Vec<&str>); 6] = [
        ("", "Pod", vec!["spec"]),
        ("", "PodTemplate", vec!["template", "spec"]),
        ("apps", "StatefulSet", vec!["spec", "template", "spec"]),
        ("apps", "DaemonSet", vec!["spec", "template", "spec"]),
        ("batch", "Job", vec!["spec", "template", "spec"]),
        (
            "batch",
            "CronJob",
            vec!["spec", "jobTemplate", "spec", "template", "spec"],
        ),
    ];
    for (group, kind, path) in cases {
        let mut original = template["spec"].clone();
        for key in path.iter().rev() {
            original = json!({ *key: original });
        }
        let out = apply_strategic_merge_patch(&original, &patch_for(&path), group, kind).unwrap();
        let mut at = &out;
        for key in &path {
            at = &at[*key];
        }
        assert_eq!(
            at["containers"][0]["env"],
            json!([{"name": "Y", "value": "2"}, {"name": "X", "value": "1"}]),
            "{kind}"
        );
    }
}

#[test]
fn patch_strategic_pdb_selector_is_replaced() {
    let pdb = json!({"metadata": {"name": "p"}, "spec": {"selector": {"matchLabels": {"app": "web", "tier": "x"}}}});
    let out = apply_strategic_merge_patch(
        &pdb,
        &json!({"spec": {"selector": {"matchLabels": {"app": "api"}}}}),
        "policy",
        "PodDisruptionBudget",
    )
    .unwrap();
    assert_eq!(
        out["spec"]["selector"],
        json!({"matchLabels": {"app": "api"}})
    );
}

#[test]
fn patch_strategic_unknown_kinds_are_unsupported() {
    let e =
        apply_strategic_merge_patch(&json!({}), &json!({}), "example.com", "Widget").unwrap_err();
    assert_eq!(
        e,
        PatchError::UnsupportedKind {
            group: "example.com".into(),
            kind: "Widget".into()
        }
    );
    assert_eq!(e.status_code(), 415);
    assert!(
        e.to_string()
            .starts_with("the body of the request was in an unknown format")
    );
}

#[test]
fn patch_strategic_error_messages() {
    let err = |patch: Value| {
        apply_strategic_merge_patch(&deployment(), &patch, "apps", "Deployment").unwrap_err()
    };
    let e = err(json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}));
    assert_eq!(
        e.to_string(),
        "map: {\"image\":\"x\"} does not contain declared merge key: name"
    );
    assert_eq!(e.status_code(), 422);
    let e = err(json!({"spec": {"template": {"spec": {"containers": [{"$patch": "merge"}]}}}}));
    assert_eq!(
        e.to_string(),
        "merging lists cannot yet be specified in the patch"
    );
    let e = err(json!({"metadata": {"labels": {"$patch": "frobnicate"}}}));
    assert_eq!(
        e.to_string(),
        "unknown patch type: \"frobnicate\" in map: {\"$patch\":\"frobnicate\"} (expected replace, delete or, in lists, merge)"
    );
    assert_eq!(e.status_code(), 400);
    let e = err(json!({"metadata": {"finalizers": [["a"]]}}));
    assert_eq!(
        e.to_string(),
        "list element types are not identical: [\"example.com/a\",\"example.com/b\"] and [[\"a\"]]"
    );
    let e = err(json!({"metadata": {"finalizers": [{"a": 1}]}}));
    assert!(
        e.to_string()
            .starts_with("list element types are not identical"),
        "{e}"
    );
    let mut no_finalizers = deployment();
    no_finalizers["metadata"]["finalizers"] = json!([]);
    let e = apply_strategic_merge_patch(
        &no_finalizers,
        &json!({"metadata": {"finalizers": [["a"]]}}),
        "apps",
        "Deployment",
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "lists of lists are not supported");
    let e = err(json!([1]));
    assert_eq!(
        e.to_string(),
        "a strategic merge patch must be a JSON object, got a list"
    );
    let e = err(json!({"spec": {"$setElementOrder/x": {}}}));
    assert_eq!(
        e.to_string(),
        "invalid patch format of setElementOrder list: expected a list, got an object"
    );
}

#[test]
fn patch_strategic_type_changes_and_scalars() {
    let out = smp(
        &deployment(),
        json!({"spec": {"replicas": 5, "paused": true, "selector": "oops"}}),
    );
    assert_eq!(out["spec"]["replicas"], 5);
    assert_eq!(out["spec"]["paused"], true);
    assert_eq!(out["spec"]["selector"], "oops");
    // Key order of the original is kept; new keys go last.
    let keys: Vec<&str> = out["spec"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["replicas", "selector", "strategy", "template", "paused"]
    );
}

#[test]
fn patch_strategic_root_directives() {
    let out = smp(
        &deployment(),
        json!({"$patch": "replace", "kind": "Deployment"}),
    );
    assert_eq!(out, json!({"kind": "Deployment"}));
    let out = smp(&deployment(), json!({"$patch": "delete"}));
    assert_eq!(out, json!({}));
}

#[test]
fn patch_strategic_input_untouched_on_success_and_failure() {
    let original = deployment();
    let _ = smp(&original, json!({"metadata": {"labels": null}}));
    let _ = apply_strategic_merge_patch(
        &original,
        &json!({"spec": {"template": {"spec": {"containers": [{}]}}}}),
        "apps",
        "Deployment",
    );
    assert_eq!(original, deployment());
}
