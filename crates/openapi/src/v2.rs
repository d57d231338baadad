//! The Swagger 2.0 document served at `/openapi/v2`: what kubectl before
//! 1.27 reads for `explain` and every kubectl reads for client-side
//! validation when the server does not validate fields itself.

use serde_json::{Map, Value, json};

use crate::definitions::{Catalog, reference};
use crate::document::{self, TITLE, VERSION};
use crate::operations::{self, Location, Operation, Param, PathItem};
use crate::resource::ResourceSpec;

/// The Swagger 2.0 document of `resources`.
pub fn v2(resources: &[ResourceSpec]) -> Value {
    let catalog = Catalog::new(resources);
    let mut paths = Map::new();
    let mut items: Vec<PathItem> = catalog
        .resources
        .iter()
        .flat_map(operations::path_items)
        .collect();
    items.sort_by(|a, b| a.path.cmp(&b.path));
    for item in items {
        paths.insert(item.path.clone(), path_item(&item));
    }
    let served = document::group_versions(&catalog.resources);
    let mut definitions = catalog.closure(document::roots(&catalog.resources), &served);
    for definition in definitions.values_mut() {
        strip_v3_only(definition);
    }
    json!({
        "swagger": "2.0",
        "info": {"title": TITLE, "version": VERSION},
        "paths": paths,
        "definitions": definitions,
        "securityDefinitions": {
            "BearerToken": {
                "description": "Bearer Token authentication",
                "type": "apiKey",
                "name": "authorization",
                "in": "header",
            },
        },
        "security": [{"BearerToken": []}],
    })
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
        "description": param.description,
        "in": match param.location {
            Location::Path => "path",
            Location::Query => "query",
        },
        "name": param.name,
        "type": param.kind.name(),
        "uniqueItems": true,
    });
    if param.location == Location::Path {
        out["required"] = json!(true);
    }
    out
}

fn status_text(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        _ => "Unauthorized",
    }
}

fn operation_json(operation: &Operation) -> Value {
    let mut params: Vec<Value> = Vec::new();
    if let Some(body) = &operation.body {
        params.push(json!({
            "in": "body",
            "name": "body",
            "required": true,
            "schema": reference(&body.definition),
        }));
    }
    params.extend(operation.params.iter().map(param));
    let mut responses = Map::new();
    for (code, definition) in &operation.responses {
        responses.insert(
            code.to_string(),
            json!({"description": status_text(*code), "schema": reference(definition)}),
        );
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    let consumes: Vec<&str> = match &operation.body {
        Some(body) if operation.method == "patch" => body.content_types.to_vec(),
        _ => vec!["*/*"],
    };
    let mut out = json!({
        "consumes": consumes,
        "description": operation.description,
        "operationId": operation.id,
        "produces": operation.produces,
        "responses": responses,
        "schemes": ["https"],
        "tags": [operation.tag],
        "x-kubernetes-action": operation.action,
        "x-kubernetes-group-version-kind": operation.gvk.to_json(),
    });
    if !params.is_empty() {
        out["parameters"] = Value::Array(params);
    }
    out
}

/// Drops the OpenAPI v3 keywords Swagger 2.0 lacks, which only custom
/// schemas carry, from a schema and its subschemas (and never from the
/// names of properties).
fn strip_v3_only(schema: &mut Value) {
    let Value::Object(map) = schema else {
        return;
    };
    for keyword in ["nullable", "oneOf", "anyOf", "not"] {
        map.remove(keyword);
    }
    for keyword in ["properties", "patternProperties"] {
        if let Some(Value::Object(properties)) = map.get_mut(keyword) {
            properties.values_mut().for_each(strip_v3_only);
        }
    }
    for keyword in ["items", "additionalProperties"] {
        if let Some(subschema) = map.get_mut(keyword) {
            strip_v3_only(subschema);
        }
    }
    if let Some(Value::Array(all)) = map.get_mut("allOf") {
        all.iter_mut().for_each(strip_v3_only);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::tests::builtin_resources;

    fn document() -> Value {
        v2(&builtin_resources())
    }

    #[test]
    fn openapi_v2_deployment_has_gvk_and_field_descriptions() {
        let doc = document();
        assert_eq!(doc["swagger"], "2.0");
        let deployment = &doc["definitions"]["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );
        assert_eq!(
            deployment["properties"]["spec"]["$ref"],
            "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"
        );
        let template =
            &doc["definitions"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["template"];
        assert_eq!(
            template["$ref"],
            "#/definitions/io.k8s.api.core.v1.PodTemplateSpec"
        );
        assert_eq!(
            template["description"],
            "Template describes the pods that will be created. The only allowed template.spec.restartPolicy value is \"Always\"."
        );
        assert_eq!(
            doc["definitions"]["io.k8s.api.apps.v1.DeploymentList"]["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "kind": "DeploymentList", "version": "v1"}])
        );
    }

    #[test]
    fn openapi_v2_special_types_are_strings() {
        let doc = document();
        let definitions = &doc["definitions"];
        let quantity = &definitions["io.k8s.apimachinery.pkg.api.resource.Quantity"];
        assert_eq!(quantity["type"], "string");
        assert!(quantity.get("format").is_none());
        let int_or_string = &definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
        assert_eq!(
            (&int_or_string["type"], &int_or_string["format"]),
            (&json!("string"), &json!("int-or-string"))
        );
        let time = &definitions["io.k8s.apimachinery.pkg.apis.meta.v1.Time"];
        assert_eq!(
            (&time["type"], &time["format"]),
            (&json!("string"), &json!("date-time"))
        );
        assert_eq!(
            definitions["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["type"],
            "object"
        );
        // Every reference resolves inside the document.
        let mut refs = Vec::new();
        crate::definitions::tests::refs(&doc, &mut refs);
        let dangling: Vec<&String> = refs
            .iter()
            .filter(|r| {
                let name = r.strip_prefix("#/definitions/").unwrap_or(r);
                definitions.get(name).is_none()
            })
            .collect();
        assert_eq!(dangling, Vec::<&String>::new());
    }

    #[test]
    fn openapi_v2_merge_keys_on_list_fields() {
        let doc = document();
        let definitions = &doc["definitions"];
        let containers = &definitions["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(containers["x-kubernetes-list-type"], "map");
        assert_eq!(containers["x-kubernetes-list-map-keys"], json!(["name"]));
        let ports = &definitions["io.k8s.api.core.v1.Container"]["properties"]["ports"];
        assert_eq!(ports["x-kubernetes-patch-merge-key"], "containerPort");
        assert_eq!(
            ports["x-kubernetes-list-map-keys"],
            json!(["containerPort", "protocol"])
        );
        let volumes = &definitions["io.k8s.api.core.v1.PodSpec"]["properties"]["volumes"];
        assert_eq!(volumes["x-kubernetes-patch-strategy"], "merge,retainKeys");
        let finalizers = &definitions["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]
            ["finalizers"];
        assert_eq!(finalizers["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(finalizers["x-kubernetes-list-type"], "set");
        let service_ports = &definitions["io.k8s.api.core.v1.ServiceSpec"]["properties"]["ports"];
        assert_eq!(service_ports["x-kubernetes-patch-merge-key"], "port");
    }

    #[test]
    fn openapi_v2_paths_carry_actions_and_write_parameters() {
        let doc = document();
        let item = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
        let patch = &item["patch"];
        assert_eq!(patch["operationId"], "patchAppsV1NamespacedDeployment");
        assert_eq!(patch["x-kubernetes-action"], "patch");
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!({"group": "apps", "kind": "Deployment", "version": "v1"})
        );
        let names: Vec<&str> = patch["parameters"]
            .as_array()
            .map(|params| params.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            names,
            ["body", "dryRun", "fieldManager", "fieldValidation", "force"]
        );
        assert!(
            patch["consumes"]
                .as_array()
                .is_some_and(|c| c.contains(&json!("application/strategic-merge-patch+json")))
        );
        let path_params: Vec<&str> = item["parameters"]
            .as_array()
            .map(|params| params.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(path_params, ["name", "namespace", "pretty"]);
        let create = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]["post"];
        assert_eq!(create["x-kubernetes-action"], "post");
        assert_eq!(
            create["parameters"][0]["schema"]["$ref"],
            "#/definitions/io.k8s.api.apps.v1.Deployment"
        );
        let scale =
            &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["put"];
        assert_eq!(
            scale["x-kubernetes-group-version-kind"],
            json!({"group": "autoscaling", "kind": "Scale", "version": "v1"})
        );
        let nodes = &doc["paths"]["/api/v1/nodes/{name}/status"]["patch"];
        assert_eq!(nodes["operationId"], "patchCoreV1NodeStatus");
        let watch = &doc["paths"]["/api/v1/watch/namespaces/{namespace}/pods"]["get"];
        assert_eq!(watch["x-kubernetes-action"], "watchlist");
    }
}
