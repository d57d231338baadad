//! Server-side apply of a workload's `scale` subresource: the applied
//! `autoscaling/v1 Scale` is merged into the Scale view of the workload,
//! whose entries map back onto the workload's `managedFields`.

use super::Ctx;
use crate::body::Body;
use crate::error::ApiError;
use crate::managed_fields;
use apimachinery::apply::{self, ApplyOptions, FieldSet, Path, UntypedSchema};
use apimachinery::object::{ObjectExt, now_string};
use bytes::Bytes;
use http::Response;
use serde_json::Value;

/// Applies the Scale in `body`.
pub async fn apply(ctx: Ctx, body: Bytes) -> Result<Response<Body>, ApiError> {
    let name = ctx.name()?.to_string();
    let config = super::apply::decode(&body)?;
    let api_version = config.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = config.get("kind").and_then(Value::as_str).unwrap_or_default();
    if api_version != "autoscaling/v1" || kind != "Scale" {
        let (group, version) = apimachinery::registry::split_api_version(api_version);
        return Err(ApiError::BadRequest(format!("invalid object type: {group}/{version}, Kind={kind}")));
    }
    let manager = managed_fields::manager(&ctx);
    let ignored = FieldSet::from_paths(&[Path::fields(&["status"])]);
    let time = now_string();
    let opts = ApplyOptions {
        manager: &manager,
        force: ctx.query.force.unwrap_or(false),
        subresource: "scale",
        time: &time,
        ignored: &ignored,
    };
    let merge = move |current: &Value| -> Result<Value, ApiError> {
        let merged = apply::apply(Some(current), &config, &UntypedSchema, &opts)?;
        let got = merged.name().unwrap_or_default();
        if got != name {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({got}) does not match the name on the URL ({name})"
            )));
        }
        Ok(merged)
    };
    super::scale::apply(ctx, merge).await
}
