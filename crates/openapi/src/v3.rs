//! The OpenAPI 3.0 documents served under `/openapi/v3`: an index of group
//! versions and one document per group version. kubectl 1.27+ reads them to
//! learn whether the server validates fields (`fieldValidation` on PATCH),
//! for `explain`, and for the merge keys of client-side apply.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::definitions::{Catalog, Published, REF_PREFIX};
use crate::document::{self, TITLE, VERSION};
use crate::hash;
use crate::kinds;
use crate::operations::{self, Location, Operation, Param, PathItem};
use crate::resource::ResourceSpec;

const V3_REF_PREFIX: &str = "#/components/schemas/";

/// The OpenAPI 3.0 document of one group version (`""`/`v1` for the core
/// group), or `None` when no resource of `resources` is in it.
pub fn v3_group_version(resources: &[ResourceSpec], group: &str, version: &str) -> Option<Value> {
    let catalog = Catalog::new(resources);
    let members: Vec<&Published<'_>> = catalog
        .resources
        .iter()
        .filter(|r| r.spec.group == group && r.spec.version == version)
        .collect();
    if members.is_empty() {
        return None;
    }
    Some(render(&catalog, &members))
}

/// The index at `/openapi/v3`: each group version's path and the URL of its
/// document, whose `hash` changes whenever the document does.
pub fn v3_index(resources: &[ResourceSpec]) -> Value {
    index(&v3_documents(resources))
}

/// Every group version document of `resources`, serialized as served, keyed
/// by its index path (`api/v1`, `apis/apps/v1`).
pub(crate) fn v3_documents(resources: &[ResourceSpec]) -> BTreeMap<String, Vec<u8>> {
    let catalog = Catalog::new(resources);
    let mut groups: BTreeMap<String, Vec<&Published<'_>>> = BTreeMap::new();
    for resource in &catalog.resources {
        groups
            .entry(resource.spec.group_version_path())
            .or_default()
            .push(resource);
    }
    groups
        .into_iter()
        .map(|(path, members)| {
            // Serializing a Value cannot fail: its keys are strings.
            let bytes = serde_json::to_vec(&render(&catalog, &members)).unwrap_or_default();
            (path, bytes)
        })
        .collect()
}

/// The index of already serialized group version documents.
pub(crate) fn index(documents: &BTreeMap<String, Vec<u8>>) -> Value {
    let paths: Map<String, Value> = documents
        .iter()
        .map(|(path, bytes)| {
            let url = format!("/openapi/v3/{path}?hash={}", hash::digest(bytes));
            (path.clone(), json!({ "serverRelativeURL": url }))
        })
        .collect();
    json!({ "paths": paths })
}

fn render(catalog: &Catalog<'_>, members: &[&Published<'_>]) -> Value {
    let mut items: Vec<PathItem> = members
        .iter()
        .flat_map(|r| operations::path_items(r))
        .collect();
    items.sort_by(|a, b| a.path.cmp(&b.path));
    let mut paths = Map::new();
    for item in items {
        paths.insert(item.path.clone(), path_item(&item));
    }
    let served = document::group_versions(&catalog.resources);
    let definitions = catalog.closure(document::roots(members.iter().copied()), &served);
    let schemas: Map<String, Value> = definitions
        .into_iter()
        .map(|(name, definition)| {
            let schema = match name.as_str() {
                kinds::QUANTITY => quantity(&definition),
                kinds::INT_OR_STRING => int_or_string(&definition),
                _ => to_v3(definition),
            };
            (name, schema)
        })
        .collect();
    json!({
        "openapi": "3.0.0",
        "info": {"title": TITLE, "version": VERSION},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "BearerToken": {
                    "type": "apiKey",
                    "description": "Bearer Token authentication",
                    "name": "authorization",
                    "in": "header",
                },
            },
        },
        "security": [{"BearerToken": []}],
    })
}

/// A Quantity is a string or a number; without a `type`, kubectl explain
/// names fields of it `Quantity` as it does against Kubernetes.
fn quantity(definition: &Value) -> Value {
    json!({
        "description": definition.get("description").cloned().unwrap_or(Value::Null),
        "oneOf": [{"type": "string"}, {"type": "number"}],
    })
}

fn int_or_string(definition: &Value) -> Value {
    json!({
        "description": definition.get("description").cloned().unwrap_or(Value::Null),
        "format": "int-or-string",
        "oneOf": [{"type": "integer"}, {"type": "string"}],
        "x-kubernetes-int-or-string": true,
    })
}

/// Points references at `#/components/schemas/` and moves a reference that
/// has siblings (a field's description, its merge keys) under `allOf`, since
/// OpenAPI 3.0 ignores the siblings of `$ref`.
fn to_v3(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            let mut target = None;
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => {
                        let name = reference.strip_prefix(REF_PREFIX).unwrap_or(&reference);
                        target = Some(format!("{V3_REF_PREFIX}{name}"));
                    }
                    (_, value) => {
                        out.insert(key, to_v3(value));
                    }
                }
            }
            match target {
                Some(target) if out.is_empty() => json!({ "$ref": target }),
                Some(target) => {
                    let mut wrapped = Map::new();
                    wrapped.insert("allOf".into(), json!([{ "$ref": target }]));
                    wrapped.extend(out);
                    Value::Object(wrapped)
                }
                None => Value::Object(out),
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(to_v3).collect()),
        other => other,
    }
}

fn reference(definition: &str) -> Value {
    json!({ "$ref": format!("{V3_REF_PREFIX}{definition}") })
}

fn path_item(item: &PathItem) -> Value {
    let mut out = Map::new();
    for operation in &item.operations {
        out.insert(operation.method.to_string(), operation_json(operation));
    }
    out.insert("parameters".into(), item.params.iter().map(param).collect());
    Value::Object(out)
}

fn param(param: &Param) -> Value {
    let mut out = json!({
        "name": param.name,
        "in": match param.location {
            Location::Path => "path",
            Location::Query => "query",
        },
        "description": param.description,
        "schema": {"type": param.kind.name(), "uniqueItems": true},
    });
    if param.location == Location::Path {
        out["required"] = json!(true);
    }
    out
}

fn content(types: &[&str], definition: &str) -> Value {
    let content: Map<String, Value> = types
        .iter()
        .map(|t| (t.to_string(), json!({ "schema": reference(definition) })))
        .collect();
    Value::Object(content)
}

fn operation_json(operation: &Operation) -> Value {
    let mut responses = Map::new();
    for (code, definition) in &operation.responses {
        let description = match code {
            200 => "OK",
            201 => "Created",
            _ => "Accepted",
        };
        responses.insert(
            code.to_string(),
            json!({"description": description, "content": content(operation.produces, definition)}),
        );
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    let mut out = json!({
        "tags": [operation.tag],
        "description": operation.description,
        "operationId": operation.id,
    });
    if !operation.params.is_empty() {
        out["parameters"] = operation.params.iter().map(param).collect();
    }
    if let Some(body) = &operation.body {
        out["requestBody"] = json!({
            "content": content(body.content_types, &body.definition),
            "required": true,
        });
    }
    out["responses"] = Value::Object(responses);
    out["x-kubernetes-action"] = json!(operation.action);
    out["x-kubernetes-group-version-kind"] = operation.gvk.to_json();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::tests::builtin_resources;

    fn apps() -> Value {
        v3_group_version(&builtin_resources(), "apps", "v1").unwrap_or_default()
    }

    fn names(params: &Value) -> Vec<&str> {
        params
            .as_array()
            .map(|p| p.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn openapi_v3_index_lists_group_versions_with_hashes() {
        let resources = builtin_resources();
        let index = v3_index(&resources);
        let paths = index["paths"]
            .as_object()
            .map(|p| p.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        assert_eq!(
            paths,
            [
                "api/v1",
                "apis/apps/v1",
                "apis/autoscaling/v2",
                "apis/batch/v1",
                "apis/coordination.k8s.io/v1",
                "apis/discovery.k8s.io/v1",
                "apis/events.k8s.io/v1",
                "apis/networking.k8s.io/v1",
                "apis/policy/v1",
                "apis/storage.k8s.io/v1",
            ]
        );
        let bytes = serde_json::to_vec(&apps()).unwrap_or_default();
        assert_eq!(
            index["paths"]["apis/apps/v1"]["serverRelativeURL"],
            format!("/openapi/v3/apis/apps/v1?hash={}", hash::digest(&bytes))
        );
        assert_eq!(v3_group_version(&resources, "apps", "v2"), None);
    }

    #[test]
    fn openapi_v3_deployment_patch_has_field_validation() {
        let doc = apps();
        assert_eq!(doc["openapi"], "3.0.0");
        let patch =
            &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!({"group": "apps", "kind": "Deployment", "version": "v1"})
        );
        assert_eq!(
            names(&patch["parameters"]),
            ["dryRun", "fieldManager", "fieldValidation", "force"]
        );
        assert_eq!(patch["parameters"][2]["in"], "query");
        assert_eq!(patch["parameters"][2]["schema"]["type"], "string");
        let content = patch["requestBody"]["content"]
            .as_object()
            .map(|c| c.keys().cloned().collect::<Vec<_>>());
        assert_eq!(
            content.unwrap_or_default(),
            [
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/strategic-merge-patch+json",
                "application/apply-patch+yaml",
            ]
        );
        assert_eq!(
            patch["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/io.k8s.api.apps.v1.Deployment"
        );
        let create = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]["post"];
        assert_eq!(
            names(&create["parameters"]),
            ["dryRun", "fieldManager", "fieldValidation"]
        );
        assert_eq!(
            create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/io.k8s.api.apps.v1.Deployment"
        );
        // Every status PATCH of the kind carries the parameter too: kubectl
        // checks the first PATCH with the GVK that it meets.
        let status = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"]
            ["patch"];
        assert_eq!(
            names(&status["parameters"]),
            ["dryRun", "fieldManager", "fieldValidation", "force"]
        );
    }

    #[test]
    fn openapi_v3_schemas_wrap_described_refs_and_keep_extensions() {
        let doc = apps();
        let schemas = &doc["components"]["schemas"];
        let deployment = &schemas["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );
        let template = &schemas["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["template"];
        assert_eq!(
            template["allOf"],
            json!([{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec"}])
        );
        assert!(
            template["description"]
                .as_str()
                .is_some_and(|d| d.starts_with("Template describes the pods"))
        );
        let containers = &schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(
            containers["items"],
            json!({"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"})
        );
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert!(
            schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"]
                .get("type")
                .is_none()
        );
        // Only what the group version reaches: no Pod, but Scale and Status.
        assert!(schemas.get("io.k8s.api.core.v1.Pod").is_none());
        assert!(schemas.get("io.k8s.api.autoscaling.v1.Scale").is_some());
        assert!(
            schemas
                .get("io.k8s.apimachinery.pkg.apis.meta.v1.Status")
                .is_some()
        );
        let mut refs = Vec::new();
        crate::definitions::tests::refs(&doc, &mut refs);
        let dangling: Vec<&String> = refs
            .iter()
            .filter(|r| {
                let name = r.strip_prefix(V3_REF_PREFIX);
                name.is_none_or(|name| schemas.get(name).is_none())
            })
            .collect();
        assert_eq!(dangling, Vec::<&String>::new());
    }

    #[test]
    fn openapi_v3_custom_resources_take_no_strategic_merge_patch() {
        let schema = std::sync::Arc::new(
            json!({"type": "object", "properties": {"spec": {"type": "object"}}}),
        );
        let resources = vec![
            ResourceSpec::new("stable.example.com", "v1", "CronTab", "crontabs", true)
                .with_custom_schema(schema),
        ];
        let doc = v3_group_version(&resources, "stable.example.com", "v1").unwrap_or_default();
        let patch = &doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"]
            ["patch"];
        assert_eq!(
            patch["operationId"],
            "patchStableExampleComV1NamespacedCronTab"
        );
        assert!(
            patch["requestBody"]["content"]
                .get("application/strategic-merge-patch+json")
                .is_none()
        );
        assert!(
            patch["requestBody"]["content"]
                .get("application/merge-patch+json")
                .is_some()
        );
        let crontab = &doc["components"]["schemas"]["com.example.stable.v1.CronTab"];
        assert_eq!(
            crontab["properties"]["metadata"]["allOf"],
            json!([{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}])
        );
    }
}
