//! Writes objects and lists in the form the client negotiated: the object
//! itself (JSON or YAML), a `Table`, or `PartialObjectMetadata`.

use super::Ctx;
use crate::body::{self, Body, full};
use crate::codec::Output;
use crate::error::ApiError;
use apimachinery::registry::Resource;
use apimachinery::table::{self, IncludeObject, TableOptions};
use http::{Response, StatusCode};
use serde_json::{Map, Value, json};

/// `PartialObjectMetadata` of an object: its type and metadata only.
pub fn partial_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// The Table options of a request; an unknown `includeObject` is refused
/// by the query parser before we get here.
pub fn table_options(ctx: &Ctx) -> TableOptions {
    TableOptions {
        include_object: ctx
            .query
            .include_object
            .as_deref()
            .and_then(|s| IncludeObject::parse(s).ok())
            .unwrap_or_default(),
        no_headers: false,
        version: Default::default(),
    }
}

pub fn table_of(ctx: &Ctx, objs: &[Value], list_meta: Value) -> Value {
    if let Some(custom) = &ctx.custom {
        return custom.table.build_table(objs, &table_options(ctx), jiff::Timestamp::now(), &list_meta);
    }
    table::build_table(
        &ctx.resource.group,
        &ctx.resource.kind,
        objs,
        &table_options(ctx),
        jiff::Timestamp::now(),
        &list_meta,
    )
}

fn encode(output: Output, value: &Value) -> Response<Body> {
    match output {
        Output::Yaml => match serde_yaml_ng::to_string(value) {
            Ok(s) => Response::builder()
                .status(StatusCode::OK)
                .header(http::header::CONTENT_TYPE, "application/yaml")
                .body(full(s))
                .unwrap_or_else(|_| Response::new(body::empty())),
            Err(e) => {
                let err = ApiError::Internal(format!("cannot encode YAML: {e}"));
                body::json(err.code(), &err.status())
            }
        },
        _ => body::json(StatusCode::OK, value),
    }
}

fn with_status(mut resp: Response<Body>, code: StatusCode) -> Response<Body> {
    *resp.status_mut() = code;
    resp
}

/// Answers with one object in the negotiated form.
pub fn object_response(ctx: &Ctx, code: StatusCode, obj: Value) -> Result<Response<Body>, ApiError> {
    let value = match ctx.output {
        Output::Json | Output::Yaml => obj,
        Output::Table => table_of(ctx, std::slice::from_ref(&obj), json!({
            "resourceVersion": obj.get("metadata").and_then(|m| m.get("resourceVersion")).cloned().unwrap_or(Value::Null)
        })),
        Output::PartialObjectMetadata => partial_metadata(&obj),
        Output::PartialObjectMetadataList => return Err(ApiError::NotAcceptable),
    };
    Ok(with_status(encode(ctx.output, &value), code))
}

/// The `<Kind>List` object of a list of items.
pub fn list_object(resource: &Resource, items: Vec<Value>, list_meta: Map<String, Value>) -> Value {
    json!({
        "kind": format!("{}List", resource.kind),
        "apiVersion": resource.api_version(),
        "metadata": list_meta,
        "items": items,
    })
}

/// Answers with a list in the negotiated form.
pub fn list_response(ctx: &Ctx, items: Vec<Value>, list_meta: Map<String, Value>) -> Result<Response<Body>, ApiError> {
    let value = match ctx.output {
        Output::Json | Output::Yaml => list_object(&ctx.resource, items, list_meta),
        Output::Table => table_of(ctx, &items, Value::Object(list_meta)),
        Output::PartialObjectMetadataList => json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": list_meta,
            "items": items.iter().map(partial_metadata).collect::<Vec<_>>(),
        }),
        Output::PartialObjectMetadata => return Err(ApiError::NotAcceptable),
    };
    Ok(encode(ctx.output, &value))
}
