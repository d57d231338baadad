//! The LimitRanger admission plugin over `policy::limit_range`: a new pod's
//! containers get the namespace LimitRanges' default requests and limits
//! (mutating, before validation), then pods and PersistentVolumeClaims must
//! stay within the ranges (validating; 403 Forbidden as in Kubernetes).

use super::chain::{core_objects, is_core};
use crate::error::ApiError;
use crate::rest::Ctx;
use apimachinery::object::ObjectExt;
use apimachinery::policy::{Operation, limit_range};
use serde_json::Value;

fn limit_ranges(ctx: &Ctx) -> Vec<Value> {
    ctx.namespace().map(|ns| core_objects(&ctx.server, "limitranges", ns)).unwrap_or_default()
}

/// Pod create: fill in missing container requests and limits.
pub(super) fn default(ctx: &Ctx, obj: &mut Value) {
    if !is_core(ctx, "pods") {
        return;
    }
    let ranges = limit_ranges(ctx);
    if !ranges.is_empty() {
        limit_range::apply_pod_defaults(obj, &ranges);
    }
}

/// Pod creates and claim writes must respect min, max and ratios.
pub(super) fn validate(ctx: &Ctx, obj: &mut Value, old: Option<&Value>) -> Result<(), ApiError> {
    let op = if old.is_some() { Operation::Update } else { Operation::Create };
    let sub = ctx.req.subresource.as_deref().unwrap_or_default();
    if !limit_range::applies(&ctx.resource.group, &ctx.resource.plural, sub, op) {
        return Ok(());
    }
    let ranges = limit_ranges(ctx);
    if ranges.is_empty() {
        return Ok(());
    }
    let name = obj.name().unwrap_or_default().to_string();
    limit_range::admit(&ctx.resource.plural, obj, old, &ranges, &name).map_err(|e| ApiError::Forbidden(e.to_string()))
}
