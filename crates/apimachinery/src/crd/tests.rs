//! Whole-CRD scenarios: a realistic CronTab CRD validated, broken in one
//! place at a time, and its custom resources defaulted, pruned, validated.

use serde_json::{Value, json};

use super::*;
use crate::validation::FieldError;

fn crontab() -> Value {
    let mut crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {"group": "stable.example.com", "scope": "Namespaced",
            "names": {"plural": "crontabs", "kind": "CronTab", "shortNames": ["ct"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["cronSpec"], "properties": {
                        "cronSpec": {"type": "string", "pattern": "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$"},
                        "image": {"type": "string", "default": "busybox"},
                        "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
                        "port": {"x-kubernetes-int-or-string": true},
                        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "env": {"type": "array", "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name"],
                            "items": {"type": "object", "required": ["name"],
                                "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}}}},
                    "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}}},
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                    "statusReplicasPath": ".status.replicas"}},
                "additionalPrinterColumns": [{"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"}]}]}});
    default_crd(&mut crd);
    prepare_for_create(&mut crd);
    crd
}

fn msgs(errs: &[FieldError]) -> Vec<String> {
    errs.iter().map(FieldError::message).collect()
}

fn broken(edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut crd = crontab();
    edit(&mut crd);
    msgs(&validate_crd(&crd, None))
}

#[test]
fn crd_crontab_is_valid() {
    assert_eq!(msgs(&validate_crd(&crontab(), None)), Vec::<String>::new());
    assert_eq!(crontab()["spec"]["names"]["listKind"], "CronTabList");
}

#[test]
fn crd_invalid_definitions() {
    assert_eq!(
        broken(|c| c["metadata"]["name"] = json!("crontabs.example.com")),
        vec![
            "metadata.name: Invalid value: \"crontabs.example.com\": must be spec.names.plural+\".\"+spec.group"
        ]
    );
    assert_eq!(
        broken(|c| {
            c["spec"]["group"] = json!("example");
            c["metadata"]["name"] = json!("crontabs.example");
        }),
        vec!["spec.group: Invalid value: \"example\": should be a domain with at least one dot"]
    );
    assert_eq!(
        broken(|c| c["spec"]["scope"] = json!("Global")),
        vec![
            "spec.scope: Unsupported value: \"Global\": supported values: \"Cluster\", \"Namespaced\""
        ]
    );
    assert_eq!(
        broken(|c| c["spec"]["versions"][0]["schema"] = Value::Null),
        vec!["spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"]
    );
    let two = broken(|c| {
        let mut v2 = c["spec"]["versions"][0].clone();
        v2["name"] = json!("v1");
        if let Some(a) = c["spec"]["versions"].as_array_mut() {
            a.push(v2);
        }
    });
    assert_eq!(two.len(), 2, "{two:?}");
    assert!(two[0].ends_with("must contain unique version names"));
    assert!(two[1].ends_with("must have exactly one version marked as storage version"));
    assert_eq!(
        broken(
            |c| c["spec"]["versions"][0]["subresources"]["scale"]["specReplicasPath"] =
                json!(".status.x")
        ),
        vec![
            "spec.subresources.scale.specReplicasPath: Invalid value: \".status.x\": should be a json path under .spec"
        ]
    );
    assert_eq!(
        broken(|c| c["spec"]["versions"][0]["additionalPrinterColumns"][0]["type"] = json!("time")),
        vec![
            "spec.additionalPrinterColumns[0].type: Invalid value: \"time\": must be one of boolean,date,integer,number,string"
        ]
    );
    assert_eq!(
        broken(|c| c["spec"]["conversion"] = json!({"strategy": "Webhook"})),
        vec![
            "spec.conversion.strategy: Unsupported value: \"Webhook\": supported values: \"None\" (conversion webhooks are not supported by this server (Nubis))"
        ]
    );
}

#[test]
fn crd_invalid_schemas() {
    let schema = "/spec/versions/0/schema/openAPIV3Schema";
    let edit = |f: fn(&mut Value)| {
        broken(move |c| {
            if let Some(s) = c.pointer_mut(schema) {
                f(s)
            }
        })
    };
    assert_eq!(
        edit(|s| s["properties"]["spec"]["properties"]["x"] = json!({"description": "untyped"})),
        vec![
            "spec.validation.openAPIV3Schema.properties[spec].properties[x].type: Required value: must not be empty for specified object fields"
        ]
    );
    assert_eq!(
        edit(|s| s["properties"]["spec"]["x-kubernetes-validations"] =
            json!([{"rule": "self.replicas > 0"}])),
        vec![format!(
            "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations: Forbidden: {CEL_UNSUPPORTED}"
        )]
    );
    assert_eq!(
        edit(|s| s["properties"]["spec"]["properties"]["tags"] =
            json!({"type": "array", "uniqueItems": true, "items": {"type": "string"}})),
        vec![
            "spec.validation.openAPIV3Schema.properties[spec].properties[tags].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic"
        ]
    );
    assert_eq!(
        edit(|s| s["properties"]["spec"]["properties"]["r"] = json!({"$ref": "#/definitions/x"})),
        vec![
            "spec.validation.openAPIV3Schema.properties[spec].properties[r].type: Required value: must not be empty for specified object fields",
            "spec.validation.openAPIV3Schema.properties[spec].properties[r].$ref: Forbidden: $ref is not supported",
        ]
    );
    assert_eq!(
        edit(|s| s["properties"]["spec"]["additionalProperties"] = json!({"type": "string"})),
        vec![
            "spec.validation.openAPIV3Schema.properties[spec].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive"
        ]
    );
    assert_eq!(
        edit(|s| s["properties"]["metadata"] = json!({"type": "object", "default": {"name": "x"}})),
        vec![
            "spec.validation.openAPIV3Schema.properties[metadata].default: Forbidden: must not be set in top-level metadata"
        ]
    );
    assert_eq!(
        edit(|s| s["properties"]["spec"]["properties"]["replicas"]["default"] = json!("one")),
        vec![
            "spec.validation.openAPIV3Schema.properties[spec].properties[replicas].default: Invalid value: \"string\":  in body must be of type integer: \"string\""
        ]
    );
    assert_eq!(
        edit(|s| s["properties"]["spec"]["properties"]["env"]["items"]["required"] = json!([])),
        vec![
            "spec.validation.openAPIV3Schema.properties[spec].properties[env].items.properties[name].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"
        ]
    );
    let root = edit(|s| s["type"] = json!("array"));
    assert!(root.contains(&"spec.validation.openAPIV3Schema.type: Invalid value: \"array\": only \"object\" is allowed as the type at the root of the schema if the status subresource is enabled".to_string()), "{root:?}");
    assert!(root.contains(&"spec.validation.openAPIV3Schema.type: Invalid value: \"array\": must be object at the root".to_string()));
}

#[test]
fn crd_update_rules() {
    let mut old = crontab();
    old["metadata"]["resourceVersion"] = json!("5");
    old["status"]["conditions"] = json!([{"type": "Established", "status": "True"}]);
    let mut new = old.clone();
    new["spec"]["scope"] = json!("Cluster");
    new["spec"]["names"]["plural"] = json!("crons");
    let got = msgs(&validate_crd(&new, Some(&old)));
    assert!(
        got.contains(&"spec.scope: Invalid value: \"Cluster\": field is immutable".to_string()),
        "{got:?}"
    );
    assert!(
        got.contains(
            &"spec.names.plural: Invalid value: \"crons\": field is immutable".to_string()
        )
    );
    let mut dropped = old.clone();
    dropped["spec"]["versions"][0]["name"] = json!("v2");
    prepare_for_update(&mut dropped, &old);
    let got = msgs(&validate_crd(&dropped, Some(&old)));
    assert!(got.iter().any(|m| m.starts_with("status.storedVersions[0]: Invalid value: \"v1\": missing from spec.versions; v1 was previously a storage version")), "{got:?}");
}

#[test]
fn crd_crontab_resources() {
    let crd = crontab();
    let schema = structural_schema(&crd, "v1").expect("schema");
    let mut obj = json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
        "metadata": {"name": "c"},
        "spec": {"cronSpec": "* * * * */5", "port": "http", "extra": {"free": [1]}, "unknown": true,
            "env": [{"name": "A"}, {"name": "A", "value": "x"}]}});
    let pruned = schema.prune(&mut obj);
    assert_eq!(pruned, vec!["unknown field \"spec.unknown\""]);
    schema.apply_defaults(&mut obj);
    assert_eq!(obj["spec"]["image"], "busybox");
    assert_eq!(obj["spec"]["replicas"], 1);
    assert_eq!(
        msgs(&schema.validate(&obj)),
        vec!["spec.env[1]: Duplicate value: map[string]interface {}{\"name\":\"A\"}"]
    );
    let bad = json!({"spec": {"cronSpec": "every minute", "replicas": 20, "port": 1.5}});
    assert_eq!(
        msgs(&schema.validate(&bad)),
        vec![
            "spec.cronSpec: Invalid value: \"every minute\": spec.cronSpec in body should match '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'",
            "spec.replicas: Invalid value: 20: spec.replicas in body should be less than or equal to 10",
            "spec.port: Invalid value: \"number\": spec.port in body must be of type integer,string: \"number\"",
        ]
    );
    assert_eq!(
        msgs(&schema.validate(&json!({"spec": {}}))),
        vec!["spec.cronSpec: Required value"]
    );
    let status = schema.at_path(&["status"]).expect("status schema");
    assert_eq!(
        msgs(&status.validate_subtree("status", &json!({"replicas": "x"}))),
        vec![
            "status.replicas: Invalid value: \"string\": replicas in body must be of type integer: \"string\""
        ]
    );
}
