//! The environment rules on recorded objects: no API, no container.

use super::*;
use serde_json::{Value, json};

fn pod(container: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {
            "name": "web", "namespace": "shop", "uid": "0f9a-uid",
            "labels": {"app": "web", "tier": "front"},
            "annotations": {"example.com/owner": "team-a", "note": "say \"hi\"\n"},
        },
        "spec": {"nodeName": "box", "serviceAccountName": "builder", "containers": [container]},
    }))
    .expect("a pod")
}

fn container_of(p: &Pod) -> Container {
    p.spec.as_ref().expect("spec").containers[0].clone()
}

fn config_map(name: &str, data: Value) -> (String, Lookup<ConfigMap>) {
    (name.to_string(), Lookup::Found(serde_json::from_value(json!({"metadata": {"name": name, "namespace": "shop"}, "data": data})).expect("a ConfigMap")))
}

/// A Secret as the API returns it: `data` base64-encoded.
fn secret(name: &str, data: Value) -> (String, Lookup<Secret>) {
    (name.to_string(), Lookup::Found(serde_json::from_value(json!({"metadata": {"name": name, "namespace": "shop"}, "data": data})).expect("a Secret")))
}

fn inputs() -> Inputs<'static> {
    Inputs {
        node: downward::Node { name: "box", host_ip: "192.0.2.7", pod_ips: vec!["10.88.0.5".into()] },
        allocatable: Ok(Allocatable { cpu_millis: Some(4000), memory_bytes: Some(8 << 30), ephemeral_storage_bytes: Some(100 << 30) }),
    }
}

fn objects() -> Objects {
    Objects {
        config_maps: [
            config_map("app", json!({"MODE": "prod", "PORT": "8080", "config.yaml": "a: 1", "1st": "one"})),
            config_map("more", json!({"PORT": "9090", "EXTRA": "x"})),
        ]
        .into_iter()
        .collect(),
        // "czNjcjN0" is "s3cr3t", "dXNlcg==" is "user".
        secrets: [secret("db", json!({"password": "czNjcjN0", "user": "dXNlcg=="}))].into_iter().collect(),
        allocatable: None,
    }
}

fn env_of(container: Value, objects: &Objects) -> Result<Environment, Error> {
    let p = pod(container);
    compose(&inputs(), &p, &container_of(&p), objects)
}

fn vars(container: Value) -> Vec<String> {
    env_of(container, &objects()).expect("an environment").vars
}

fn error(container: Value, objects: &Objects) -> String {
    env_of(container, objects).expect_err("no environment").to_string()
}

fn value_of(field: Value) -> String {
    let v = vars(json!({"name": "c", "env": [{"name": "V", "valueFrom": field}]}));
    assert_eq!(v.len(), 1, "{v:?}");
    v[0].strip_prefix("V=").expect("V").to_string()
}

fn field_error(field: Value) -> String {
    error(json!({"name": "c", "env": [{"name": "V", "valueFrom": field}]}), &objects())
}

#[test]
fn env_from_in_order_with_prefixes_then_env_overriding() {
    let got = vars(json!({
        "name": "c",
        "envFrom": [
            {"configMapRef": {"name": "app"}, "prefix": "APP_"},
            {"configMapRef": {"name": "more"}, "prefix": "APP_"},
            {"secretRef": {"name": "db"}},
        ],
        "env": [{"name": "APP_MODE", "value": "dev"}, {"name": "LATE", "value": "1"}],
    }));
    // ConfigMap keys come in key order; a later source or `env` entry
    // replaces a value where the name first appeared.
    assert_eq!(
        got,
        [
            "APP_1st=one",
            "APP_MODE=dev",
            "APP_PORT=9090",
            "APP_config.yaml=a: 1",
            "APP_EXTRA=x",
            "password=s3cr3t",
            "user=user",
            "LATE=1"
        ]
    );
}

#[test]
fn env_from_passes_unusual_names_on_and_skips_only_unwritable_ones() {
    let e = env_of(json!({"name": "c", "envFrom": [{"configMapRef": {"name": "app"}}, {"secretRef": {"name": "db"}, "prefix": "X="}]}), &objects()).expect("an environment");
    assert!(e.vars.contains(&"1st=one".to_string()) && e.vars.contains(&"config.yaml=a: 1".to_string()), "{:?}", e.vars);
    assert!(!e.vars.iter().any(|v| v.starts_with("X=")), "{:?}", e.vars);
    assert_eq!(e.skipped, [Skipped { kind: "secret", namespace: "shop".into(), name: "db".into(), keys: vec!["X=password".into(), "X=user".into()] }]);
    assert_eq!(
        e.skipped[0].message(),
        "Keys [X=password, X=user] from the EnvFrom secret shop/db were skipped since they are considered invalid environment variable names."
    );
}

#[test]
fn env_from_missing_objects() {
    let optional = json!({"name": "c", "envFrom": [{"configMapRef": {"name": "gone", "optional": true}}, {"secretRef": {"name": "gone", "optional": true}}]});
    assert_eq!(vars(optional), Vec::<String>::new());
    assert_eq!(error(json!({"name": "c", "envFrom": [{"configMapRef": {"name": "gone"}}]}), &objects()), "configmap \"gone\" not found");
    assert_eq!(error(json!({"name": "c", "envFrom": [{"secretRef": {"name": "gone"}}]}), &objects()), "secret \"gone\" not found");
    // An object that could not be read is an error even when optional.
    let mut failing = objects();
    failing.config_maps.insert("denied".into(), Lookup::Failed("configmaps \"denied\" is forbidden".into()));
    let c = json!({"name": "c", "envFrom": [{"configMapRef": {"name": "denied", "optional": true}}]});
    assert_eq!(error(c, &failing), "configmaps \"denied\" is forbidden");
}

#[test]
fn config_map_and_secret_keys() {
    let got = vars(json!({"name": "c", "env": [
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "MODE"}}},
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {"name": "NO_KEY", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "nope", "optional": true}}},
        {"name": "NO_MAP", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k", "optional": true}}},
        {"name": "NO_SECRET_KEY", "valueFrom": {"secretKeyRef": {"name": "db", "key": "nope", "optional": true}}},
        {"name": "NO_SECRET", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k", "optional": true}}},
    ]}));
    assert_eq!(got, ["MODE=prod", "PASSWORD=s3cr3t"]);

    let one = |from: Value| json!({"name": "c", "env": [{"name": "V", "valueFrom": from}]});
    assert_eq!(error(one(json!({"configMapKeyRef": {"name": "app", "key": "nope"}})), &objects()), "couldn't find key nope in ConfigMap shop/app");
    assert_eq!(error(one(json!({"configMapKeyRef": {"name": "gone", "key": "k"}})), &objects()), "configmap \"gone\" not found");
    assert_eq!(error(one(json!({"secretKeyRef": {"name": "db", "key": "nope"}})), &objects()), "couldn't find key nope in Secret shop/db");
    assert_eq!(error(one(json!({"secretKeyRef": {"name": "gone", "key": "k"}})), &objects()), "secret \"gone\" not found");
}

#[test]
fn an_absent_optional_key_keeps_an_earlier_definition() {
    let got = vars(json!({"name": "c", "envFrom": [{"configMapRef": {"name": "app"}}], "env": [
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "nope", "optional": true}}},
    ]}));
    assert!(got.contains(&"MODE=prod".to_string()), "{got:?}");
}

#[test]
fn binary_data_is_never_an_environment() {
    let mut objects = objects();
    let bin: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "bin"}, "data": {"TEXT": "t"}, "binaryData": {"BLOB": "AAEC"}})).expect("a ConfigMap");
    objects.config_maps.insert("bin".into(), Lookup::Found(bin));
    let got = env_of(json!({"name": "c", "envFrom": [{"configMapRef": {"name": "bin"}}]}), &objects).expect("an environment").vars;
    assert_eq!(got, ["TEXT=t"]);
    let c = json!({"name": "c", "env": [{"name": "V", "valueFrom": {"configMapKeyRef": {"name": "bin", "key": "BLOB"}}}]});
    assert_eq!(error(c, &objects), "couldn't find key BLOB in ConfigMap shop/bin");
}

#[test]
fn secret_bytes_that_are_not_utf8() {
    let mut objects = objects();
    // "/w==" is the single byte 0xff.
    objects.secrets.extend([secret("raw", json!({"k": "/w=="}))]);
    let c = json!({"name": "c", "env": [{"name": "V", "valueFrom": {"secretKeyRef": {"name": "raw", "key": "k"}}}]});
    assert_eq!(env_of(c, &objects).expect("an environment").vars, ["V=\u{fffd}"]);
}

#[test]
fn values_expand_references_to_earlier_variables() {
    let got = vars(json!({"name": "c", "envFrom": [{"configMapRef": {"name": "app"}, "prefix": "CM_"}], "env": [
        {"name": "HOST", "value": "db.local"},
        {"name": "URL", "value": "postgres://$(HOST):$(CM_PORT)/$(LATER)"},
        {"name": "LATER", "value": "x"},
        {"name": "SELF", "value": "$(SELF)-$(HOST)"},
        {"name": "ESCAPED", "value": "$$(HOST) costs $$5"},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "FROM_POD", "value": "$(POD)"},
        {"name": "NOT_EXPANDED", "valueFrom": {"configMapKeyRef": {"name": "more", "key": "EXTRA"}}},
        {"name": "EMPTY", "value": ""},
        {"name": "HOST", "value": "$(HOST).example"},
    ]}));
    let get = |name: &str| got.iter().find_map(|v| v.strip_prefix(&format!("{name}="))).map(str::to_string);
    assert_eq!(get("URL").as_deref(), Some("postgres://db.local:8080/$(LATER)"));
    assert_eq!(get("SELF").as_deref(), Some("$(SELF)-db.local"));
    assert_eq!(get("ESCAPED").as_deref(), Some("$(HOST) costs $5"));
    assert_eq!(get("FROM_POD").as_deref(), Some("web"));
    assert_eq!(get("EMPTY").as_deref(), Some(""));
    assert_eq!(get("HOST").as_deref(), Some("db.local.example"));
    // A value that is not empty wins over `valueFrom`.
    let both = vars(json!({"name": "c", "env": [{"name": "V", "value": "plain", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}));
    assert_eq!(both, ["V=plain"]);
}

#[test]
fn resolved_values_are_not_expanded_again() {
    let mut objects = objects();
    objects.config_maps.extend([config_map("refs", json!({"R": "$(HOST)"}))]);
    let c = json!({"name": "c", "envFrom": [{"configMapRef": {"name": "refs"}}], "env": [
        {"name": "HOST", "value": "h"},
        {"name": "V", "valueFrom": {"configMapKeyRef": {"name": "refs", "key": "R"}}},
    ]});
    assert_eq!(env_of(c, &objects).expect("an environment").vars, ["R=$(HOST)", "HOST=h", "V=$(HOST)"]);
}

#[test]
fn field_refs() {
    let f = |path: &str| value_of(json!({"fieldRef": {"fieldPath": path}}));
    assert_eq!(f("metadata.name"), "web");
    assert_eq!(f("metadata.namespace"), "shop");
    assert_eq!(f("metadata.uid"), "0f9a-uid");
    assert_eq!(f("metadata.labels['tier']"), "front");
    assert_eq!(f("metadata.labels['missing']"), "");
    assert_eq!(f("metadata.annotations['example.com/owner']"), "team-a");
    assert_eq!(f("metadata.labels"), "app=\"web\"\ntier=\"front\"");
    assert_eq!(f("metadata.annotations"), "example.com/owner=\"team-a\"\nnote=\"say \\\"hi\\\"\\n\"");
    assert_eq!(f("spec.nodeName"), "box");
    assert_eq!(f("spec.host"), "box");
    assert_eq!(f("spec.serviceAccountName"), "builder");
    assert_eq!(f("status.hostIP"), "192.0.2.7");
    assert_eq!(f("status.hostIPs"), "192.0.2.7");
    assert_eq!(f("status.podIP"), "10.88.0.5");
    assert_eq!(f("status.podIPs"), "10.88.0.5");
    assert_eq!(value_of(json!({"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}})), "web");
}

#[test]
fn field_ref_errors() {
    let e = |path: &str| field_error(json!({"fieldRef": {"fieldPath": path}}));
    assert_eq!(e("spec.containers"), "field label not supported: spec.containers");
    assert_eq!(e("metadata.name['x']"), "field label does not support subscript: metadata.name['x']");
    assert_eq!(e("status.phase"), "unsupported fieldPath: status.phase");
    assert!(e("metadata.labels['bad key']").starts_with("invalid key subscript in metadata.labels['bad key']: name part must consist of"), "{}", e("metadata.labels['bad key']"));
    assert_eq!(field_error(json!({"fieldRef": {"apiVersion": "v2", "fieldPath": "metadata.name"}})), "unsupported pod version: v2");
}

fn with_resources(resources: Value, rs: Value) -> String {
    let v = vars(json!({"name": "c", "resources": resources, "env": [{"name": "V", "valueFrom": {"resourceFieldRef": rs}}]}));
    v[0].strip_prefix("V=").expect("V").to_string()
}

#[test]
fn resource_field_refs_divide_and_round_up() {
    let r = json!({"limits": {"cpu": "250m", "memory": "129M", "ephemeral-storage": "1Gi", "hugepages-2Mi": "4Mi"}, "requests": {"cpu": "1500m", "memory": "64Mi", "hugepages-2Mi": "2Mi"}});
    let v = |resource: &str, divisor: Option<&str>| {
        let mut rs = json!({"resource": resource});
        if let Some(d) = divisor {
            rs["divisor"] = json!(d);
        }
        with_resources(r.clone(), rs)
    };
    assert_eq!(v("limits.cpu", None), "1");
    assert_eq!(v("limits.cpu", Some("1m")), "250");
    assert_eq!(v("limits.cpu", Some("0")), "1", "a zero divisor is 1");
    assert_eq!(v("requests.cpu", None), "2");
    assert_eq!(v("limits.memory", None), "129000000");
    assert_eq!(v("limits.memory", Some("1Mi")), "124", "123.02 Mi rounds up");
    assert_eq!(v("requests.memory", Some("1Mi")), "64");
    assert_eq!(v("requests.memory", Some("1k")), "67109");
    assert_eq!(v("limits.ephemeral-storage", Some("1Mi")), "1024");
    assert_eq!(v("requests.ephemeral-storage", None), "0");
    assert_eq!(v("limits.hugepages-2Mi", Some("1Mi")), "4");
    assert_eq!(v("requests.hugepages-2Mi", Some("1Mi")), "2");
}

#[test]
fn unset_limits_are_the_nodes_allocatable() {
    let none = json!({});
    assert_eq!(with_resources(none.clone(), json!({"resource": "limits.cpu", "divisor": "1m"})), "4000");
    assert_eq!(with_resources(none.clone(), json!({"resource": "limits.memory", "divisor": "1Mi"})), "8192");
    assert_eq!(with_resources(none.clone(), json!({"resource": "limits.ephemeral-storage", "divisor": "1Gi"})), "100");
    assert_eq!(with_resources(json!({"limits": {"memory": "0"}}), json!({"resource": "limits.memory", "divisor": "1Gi"})), "8", "a zero limit is unset");
    assert_eq!(with_resources(none.clone(), json!({"resource": "requests.cpu"})), "0", "requests are not defaulted");
    assert_eq!(with_resources(none, json!({"resource": "limits.hugepages-2Mi"})), "0");
}

#[test]
fn resource_field_ref_errors() {
    let one = |resources: Value, rs: Value| json!({"name": "c", "resources": resources, "env": [{"name": "V", "valueFrom": {"resourceFieldRef": rs}}]});
    assert_eq!(error(one(json!({}), json!({"resource": "limits.pods"})), &objects()), "unsupported container resource : limits.pods");
    assert!(error(one(json!({}), json!({"resource": "limits.cpu", "divisor": "lots"})), &objects()).starts_with("quantity \"lots\": quantities must match"));
    // Without the node, a limit that is set still works; one that is not fails.
    let p = pod(one(json!({"limits": {"memory": "1Mi"}}), json!({"resource": "limits.memory"})));
    let no_node = Inputs { allocatable: Err("nodes \"box\" not found".into()), ..inputs() };
    assert_eq!(compose(&no_node, &p, &container_of(&p), &objects()).expect("an environment").vars, ["V=1048576"]);
    let p = pod(one(json!({}), json!({"resource": "limits.memory"})));
    let e = compose(&no_node, &p, &container_of(&p), &objects()).expect_err("no node").to_string();
    assert_eq!(e, "failed to find node object, expected a node: nodes \"box\" not found");
}

#[test]
fn each_object_is_wanted_once() {
    let p = pod(json!({"name": "c",
        "envFrom": [{"configMapRef": {"name": "app"}}, {"configMapRef": {"name": "app"}, "prefix": "P_"}, {"secretRef": {"name": "db"}}],
        "env": [
            {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "MODE"}}},
            {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "other", "key": "k"}}},
            {"name": "C", "valueFrom": {"secretKeyRef": {"name": "db", "key": "user"}}},
            {"name": "D", "value": "set", "valueFrom": {"secretKeyRef": {"name": "unused", "key": "k"}}},
            {"name": "E", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ]}));
    let w = Wanted::of(&container_of(&p), Some("box"));
    assert_eq!(w.config_maps.into_iter().collect::<Vec<_>>(), ["app", "other"]);
    assert_eq!(w.secrets.into_iter().collect::<Vec<_>>(), ["db"]);
    assert_eq!(w.node, None, "no resourceFieldRef, no node");

    let p = pod(json!({"name": "c", "env": [{"name": "M", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}}}]}));
    assert_eq!(Wanted::of(&container_of(&p), Some("box")).node.as_deref(), Some("box"));
    assert_eq!(Wanted::of(&container_of(&p), None).node, None, "the caller gave the allocatable amounts");
}

#[test]
fn allocatable_from_a_node() {
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": "box"},
        "status": {"allocatable": {"cpu": "2", "memory": "16674816Ki", "ephemeral-storage": "1000", "pods": "110"}},
    }))
    .expect("a Node");
    assert_eq!(Allocatable::from_node(&node), Allocatable { cpu_millis: Some(2000), memory_bytes: Some(16674816 * 1024), ephemeral_storage_bytes: Some(1000) });
    assert_eq!(Allocatable::from_node(&Node::default()), Allocatable::default());
}
