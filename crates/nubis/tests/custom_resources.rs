//! Custom resources end to end: a CRD applied with kubectl is served at
//! once (discovery, OpenAPI, Tables, short names, category `all`), its
//! schema validates, defaults and prunes objects, `status` and `scale`
//! subresources work, versions share storage, deleting it removes its
//! objects; and a kube `#[derive(CustomResource)]` type round-trips.

mod support;

use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::WatchStreamExt;
use kube::{CustomResource, CustomResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use support::{Nubis, kube_client};

const V: &str = "1.33";

const CRONTAB_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct], categories: [all]}
  versions:
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas, labelSelectorPath: .status.selector}
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [cronSpec]
            properties:
              cronSpec: {type: string, pattern: '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'}
              image: {type: string, maxLength: 20}
              replicas: {type: integer, minimum: 1, maximum: 10, default: 1}
              size: {type: string, enum: [small, large]}
              port: {x-kubernetes-int-or-string: true}
              labels:
                type: object
                additionalProperties: {type: string}
              tags: {type: array, maxItems: 2, items: {type: string}}
          status:
            type: object
            properties:
              replicas: {type: integer}
              selector: {type: string}
"#;

fn crontab(name: &str, spec: &str) -> String {
    format!("apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {{name: {name}}}\nspec: {spec}\n")
}

#[test]
fn crd_kubectl_scenario() {
    let nubis = Nubis::start();
    let k = nubis.kubectl(V);
    k.ok_stdin(&["apply", "-f", "-"], CRONTAB_CRD);
    // Served when the create is answered: no waiting needed, and the
    // conditions say so.
    k.ok(&["wait", "--for=condition=Established", "--timeout=5s", "crd/crontabs.stable.example.com"]);
    let crd = k.json(&["get", "crd", "crontabs.stable.example.com"]);
    let conditions = crd["status"]["conditions"].as_array().cloned().unwrap_or_default();
    for (type_, reason) in [("NamesAccepted", "NoConflicts"), ("Established", "InitialNamesAccepted")] {
        assert!(
            conditions.iter().any(|c| c["type"] == type_ && c["status"] == "True" && c["reason"] == reason),
            "{type_}: {conditions:?}"
        );
    }
    assert_eq!(crd["status"]["acceptedNames"]["shortNames"], serde_json::json!(["ct"]));
    assert_eq!(crd["status"]["storedVersions"], serde_json::json!(["v1"]));

    // A valid object: defaults applied, unknown fields refused (kubectl
    // validates strictly) or pruned (--validate=false).
    k.ok_stdin(&["apply", "-f", "-"], &crontab("tick", r#"{cronSpec: "* * * * */5", image: cron:1}"#));
    let tick = k.json(&["get", "crontab", "tick"]);
    assert_eq!(tick["spec"]["replicas"], 1, "schema default: {tick}");
    assert!(tick.get("status").is_none(), "no status on create with a status subresource: {tick}");
    let err = k.fails_stdin(&["apply", "-f", "-"], &crontab("x", r#"{cronSpec: "* * * * *", color: red}"#));
    assert!(err.contains(r#"strict decoding error: unknown field "spec.color""#), "{err}");
    k.ok_stdin(&["apply", "--validate=false", "-f", "-"], &crontab("pruned", r#"{cronSpec: "* * * * *", color: red}"#));
    let pruned = k.json(&["get", "ct", "pruned"]);
    assert!(pruned["spec"].get("color").is_none(), "pruned: {pruned}");

    // Invalid objects, each refused with its field causes.
    let err = k.fails_stdin(
        &["create", "-f", "-"],
        &crontab("bad", r#"{cronSpec: "nope", replicas: 20, size: medium, image: 5, tags: [a, b, c]}"#),
    );
    for expected in [
        r#"The CronTab "bad" is invalid"#,
        r#"spec.cronSpec: Invalid value: "nope": spec.cronSpec in body should match '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'"#,
        r#"spec.replicas: Invalid value: 20: spec.replicas in body should be less than or equal to 10"#,
        r#"spec.size: Unsupported value: "medium": supported values: "small", "large""#,
        r#"spec.image: Invalid value: "integer": spec.image in body must be of type string: "integer""#,
        r#"spec.tags: Too many: 3: must have at most 2 items"#,
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    let err = k.fails_stdin(&["create", "-f", "-"], &crontab("bad2", "{image: x}"));
    assert!(err.contains(r#"The CronTab "bad2" is invalid: spec.cronSpec: Required value"#), "{err}");
    let err = k.fails_stdin(&["create", "-f", "-"], &crontab("Bad_Name", r#"{cronSpec: "* * * * *"}"#));
    assert!(err.contains("metadata.name: Invalid value: \"Bad_Name\""), "{err}");
    k.ok_stdin(&["create", "-f", "-"], &crontab("port", r#"{cronSpec: "* * * * *", port: http, labels: {a: b}}"#));

    // Short name, printer columns, category all.
    let table = k.ok(&["get", "ct"]);
    let header: Vec<&str> = table.lines().next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(header, ["NAME", "SPEC", "REPLICAS", "AGE"], "{table}");
    assert!(table.lines().any(|l| l.starts_with("tick") && l.contains("* * * * */5") && l.contains(" 1 ")), "{table}");
    let wide = k.ok(&["get", "crontabs.stable.example.com", "tick", "-o", "custom-columns=IMG:.spec.image"]);
    assert!(wide.contains("cron:1"), "{wide}");
    let all = k.ok(&["get", "all"]);
    assert!(all.contains("crontab.stable.example.com/tick"), "{all}");
    let resources = k.ok(&["api-resources", "--api-group=stable.example.com"]);
    assert!(resources.contains("crontabs") && resources.contains("ct") && resources.contains("CronTab"), "{resources}");
    let explain = k.ok(&["explain", "crontab.spec.replicas"]);
    assert!(explain.contains("integer"), "{explain}");

    // Status only through its subresource; scale through the CRD's paths.
    k.ok(&["patch", "ct", "tick", "--type=merge", "-p", r#"{"status":{"replicas":9}}"#]);
    assert!(k.json(&["get", "ct", "tick"]).get("status").is_none());
    k.ok(&["patch", "ct", "tick", "--subresource=status", "--type=merge", "-p", r#"{"status":{"replicas":2,"selector":"app=tick"}}"#]);
    k.ok(&["scale", "ct", "tick", "--replicas=3"]);
    let tick = k.json(&["get", "ct", "tick"]);
    assert_eq!(tick["spec"]["replicas"], 3);
    assert_eq!(tick["status"]["replicas"], 2);
    assert_eq!(tick["metadata"]["generation"], 2, "scale changed the spec: {tick}");
    let scale: Value = serde_json::from_str(&k.ok(&["get", "--raw", "/apis/stable.example.com/v1/namespaces/default/crontabs/tick/scale"]))
        .expect("scale json");
    assert_eq!(scale["status"]["selector"], "app=tick");

    // Versions share storage (conversion None): written as v1beta1, read as v1.
    k.ok_stdin(&["create", "-f", "-"], "apiVersion: stable.example.com/v1beta1\nkind: CronTab\nmetadata: {name: old}\nspec: {cronSpec: '* * * * *', anything: goes}\n");
    let old_as_v1: Value = serde_json::from_str(&k.ok(&["get", "--raw", "/apis/stable.example.com/v1/namespaces/default/crontabs/old"])).expect("json");
    assert_eq!(old_as_v1["apiVersion"], "stable.example.com/v1");
    let tick_as_beta: Value = serde_json::from_str(&k.ok(&["get", "--raw", "/apis/stable.example.com/v1beta1/namespaces/default/crontabs/tick"])).expect("json");
    assert_eq!(tick_as_beta["apiVersion"], "stable.example.com/v1beta1");

    // CEL rules are refused, not ignored.
    let cel = CRONTAB_CRD
        .replace("crontabs.stable.example.com", "celtabs.stable.example.com")
        .replace("plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]", "plural: celtabs, singular: celtab, kind: CelTab")
        .replace("required: [cronSpec]", "required: [cronSpec]\n            x-kubernetes-validations: [{rule: 'self.replicas > 0'}]");
    let err = k.fails_stdin(&["apply", "-f", "-"], &cel);
    assert!(err.contains("x-kubernetes-validations") && err.contains("not supported"), "{err}");

    // Deleting the CRD removes the resource and its objects.
    k.ok(&["delete", "crd", "crontabs.stable.example.com", "--timeout=10s"]);
    let gone = k.run(&["get", "--raw", "/apis/stable.example.com/v1/namespaces/default/crontabs"]);
    assert!(!gone.status.success());
    k.ok_stdin(&["apply", "-f", "-"], CRONTAB_CRD);
    let again = k.ok(&["get", "crontabs", "-A"]);
    assert!(!again.contains("tick"), "objects outlived their CRD: {again}");
}

/// A type as a Rust operator would declare it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(group = "nubis.example.com", version = "v1", kind = "Database", namespaced, status = "DatabaseStatus")]
#[kube(shortname = "db", printcolumn = r#"{"name":"Engine","type":"string","jsonPath":".spec.engine"}"#)]
pub struct DatabaseSpec {
    engine: String,
    version: Option<String>,
    replicas: i32,
    #[serde(default)]
    extensions: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct DatabaseStatus {
    ready: bool,
}

#[tokio::test]
async fn crd_kube_derive_round_trips_through_api_and_watcher() {
    let nubis = Nubis::start();
    let client = kube_client(&nubis.kubeconfig()).await;
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    crds.create(&PostParams::default(), &Database::crd()).await.expect("the schemars-made CRD is accepted");

    let dbs: Api<Database> = Api::namespaced(client.clone(), "default");
    let events = kube::runtime::watcher(dbs.clone(), kube::runtime::watcher::Config::default())
        .applied_objects()
        .boxed();
    let db = Database::new(
        "orders",
        DatabaseSpec { engine: "postgres".into(), version: Some("16".into()), replicas: 1, extensions: vec!["pgcrypto".into()] },
    );
    let created = dbs.create(&PostParams::default(), &db).await.expect("create Database");
    assert_eq!(created.spec, db.spec);
    let fetched = dbs.get("orders").await.expect("get Database");
    assert_eq!(fetched.spec, db.spec);

    let status = serde_json::json!({"status": {"ready": true}});
    let patched = dbs
        .patch_status("orders", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("patch status");
    assert_eq!(patched.status, Some(DatabaseStatus { ready: true }));

    let seen = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        events.try_filter(|d| futures::future::ready(d.status.as_ref().is_some_and(|s| s.ready))).next(),
    )
    .await
    .expect("the watcher saw the status change in time");
    let seen = seen.expect("a watch event").expect("no watch error");
    assert_eq!(seen.spec.engine, "postgres");

    // Server-side apply with two managers, merging by the CRD's schema.
    let config = |replicas: i32| {
        serde_json::json!({
            "apiVersion": "nubis.example.com/v1", "kind": "Database", "metadata": {"name": "orders"},
            "spec": {"engine": "postgres", "replicas": replicas}
        })
    };
    dbs.patch("orders", &PatchParams::apply("team-a").force(), &Patch::Apply(config(2)))
        .await
        .expect("team-a applies");
    let err = dbs
        .patch("orders", &PatchParams::apply("team-b"), &Patch::Apply(config(3)))
        .await
        .expect_err("team-b conflicts with team-a");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409, "{s:?}");
            assert!(s.message.contains(r#"conflict with "team-a""#) && s.message.contains(".spec.replicas"), "{}", s.message);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let forced = dbs
        .patch("orders", &PatchParams::apply("team-b").force(), &Patch::Apply(config(3)))
        .await
        .expect("team-b forces");
    assert_eq!(forced.spec.replicas, 3);
    assert_eq!(forced.spec.version.as_deref(), Some("16"), "fields nobody applied are kept");

    dbs.delete("orders", &DeleteParams::default()).await.expect("delete Database");
    assert!(dbs.get_opt("orders").await.expect("get_opt").is_none());
}

#[test]
fn crd_python_client() {
    let nubis = Nubis::start();
    support::run_python("custom_resources.py", &nubis.kubeconfig(), &[], "python custom resources ok");
}
