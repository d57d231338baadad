//! `metadata.managedFields` on the write paths, as Kubernetes' field
//! manager keeps them: the manager of a request (`fieldManager`, else the
//! User-Agent's prefix), the write options Kubernetes validates, the merge
//! schema of a resource, the fields a write through an endpoint does not
//! own, and the `Update` entries of create, update and patch.

use crate::codec::{self, BodyFormat};
use crate::error::ApiError;
use crate::request_info::Verb;
use crate::rest::{Ctx, Target};
use apimachinery::apply::{self, ApplySchema, BuiltinSchema, FieldSet, UpdateOptions};
use apimachinery::object::{ObjectExt, meta_mut, now_string};
use apimachinery::registry::Resource;
use apimachinery::validation::{FieldError, Path};
use serde_json::Value;

mod scale;

/// The longest `fieldManager` Kubernetes accepts, in bytes.
pub const FIELD_MANAGER_MAX_LENGTH: usize = 128;

/// Whether the request is a server-side apply.
pub fn is_apply(ctx: &Ctx) -> bool {
    ctx.req.verb == Verb::Patch
        && matches!(codec::body_format(ctx.content_type.as_deref()), Ok(BodyFormat::ApplyPatch))
}

/// The field manager of a write: `fieldManager`, else the User-Agent up to
/// its first `/` (`kubectl-create/v1.33.0 (linux/amd64)` → `kubectl-create`)
/// without unprintable characters and cut at 128 bytes, as Kubernetes'
/// `prefixFromUserAgent`.
pub fn manager(ctx: &Ctx) -> String {
    match &ctx.query.field_manager {
        Some(m) => m.clone(),
        None => prefix_from_user_agent(ctx.user_agent.as_deref().unwrap_or_default()),
    }
}

fn prefix_from_user_agent(user_agent: &str) -> String {
    let prefix = user_agent.split('/').next().unwrap_or_default();
    let mut out = String::new();
    for c in prefix.chars().filter(|c| is_print(*c)) {
        if out.len() + c.len_utf8() > FIELD_MANAGER_MAX_LENGTH {
            break;
        }
        out.push(c);
    }
    out
}

/// Go's `unicode.IsPrint`, near enough: no control, format or separator
/// characters other than the ASCII space.
fn is_print(c: char) -> bool {
    const FORMAT: &[char] = &['\u{ad}', '\u{200b}', '\u{200c}', '\u{200d}', '\u{200e}', '\u{200f}', '\u{2060}', '\u{feff}'];
    c == ' ' || !(c.is_control() || c.is_whitespace() || FORMAT.contains(&c))
}

/// Kubernetes' checks of `CreateOptions`, `UpdateOptions` and
/// `PatchOptions`: `fieldManager` at most 128 printable bytes and required
/// for apply, `force` only for apply.
pub fn validate_options(ctx: &Ctx) -> Result<(), ApiError> {
    let kind = match ctx.req.verb {
        Verb::Create => "CreateOptions",
        Verb::Update => "UpdateOptions",
        Verb::Patch => "PatchOptions",
        _ => return Ok(()),
    };
    let manager = ctx.query.field_manager.as_deref().unwrap_or_default();
    let path = Path::new("fieldManager");
    let mut causes = Vec::new();
    if ctx.req.verb == Verb::Patch {
        if !is_apply(ctx) {
            if ctx.query.force.is_some() {
                causes.push(FieldError::forbidden(&Path::new("force"), "may not be specified for non-apply patch"));
            }
        } else if manager.is_empty() {
            causes.push(FieldError::required(&path, "is required for apply patch"));
        }
    }
    if manager.len() > FIELD_MANAGER_MAX_LENGTH {
        causes.push(FieldError::too_long(&path, FIELD_MANAGER_MAX_LENGTH));
    }
    for (i, c) in manager.char_indices().filter(|(_, c)| !is_print(*c)) {
        let detail = format!("invalid character U+{:04X} (at position {i})", u32::from(c));
        causes.push(FieldError::invalid(&path, manager, detail));
    }
    if causes.is_empty() { Ok(()) } else { Err(ApiError::InvalidOptions { kind, causes }) }
}

/// How lists and maps of a resource's objects merge.
pub fn schema(ctx: &Ctx) -> Box<dyn ApplySchema + Send + Sync> {
    match ctx.custom.as_ref().and_then(|c| c.openapi_schema.as_ref()) {
        // Custom resources: list and map semantics from the CRD's schema
        // (`x-kubernetes-list-type` and friends).
        Some(schema) => Box::new(apimachinery::apply::OpenApiSchema::new(schema.as_ref().clone())),
        None => Box::new(BuiltinSchema::new(&ctx.resource.group, &ctx.resource.kind)),
    }
}

/// What writes through `subresource` do not own: for kinds with a status
/// subresource, `status` through the main resource and the rest through
/// `status` (Kubernetes' reset fields).
pub fn ignored(resource: &Resource, subresource: &str) -> FieldSet {
    let has_status = resource.subresources.status || (resource.group.is_empty() && resource.plural == "namespaces");
    if has_status { apply::reset_fields(subresource) } else { FieldSet::new() }
}

/// The subresource name of a write target, as managedFields record it.
pub fn subresource(target: Target) -> &'static str {
    match target {
        Target::Main => "",
        Target::Status => "status",
        Target::Finalize => "finalize",
    }
}

/// Records a create (not an apply, which records its own entry).
pub fn track_create(ctx: &Ctx, obj: &mut Value) {
    if !is_apply(ctx) {
        track(ctx, None, obj, "");
    }
}

/// The `metadata.managedFields` a write asks for, taken before the
/// strategy keeps only what the target may change.
pub fn requested(new: &Value) -> Option<Value> {
    new.pointer("/metadata/managedFields").cloned()
}

/// Records an update or patch of `live` into `new`. An apply computed its
/// entries already (`requested`): they are put back, as a write to
/// `status` keeps the live metadata otherwise.
pub fn track_update(ctx: &Ctx, live: &Value, new: &mut Value, target: Target, requested: Option<Value>) {
    if !is_apply(ctx) {
        track(ctx, Some(live), new, subresource(target));
        return;
    }
    match requested {
        Some(entries) => meta_mut(new).insert("managedFields".into(), entries),
        None => meta_mut(new).remove("managedFields"),
    };
}

/// Shows the parent's entries on its Scale (`spec.replicas`' owners).
pub fn scale_view(parent: &Value, scale: &mut Value) {
    let entries = scale::to_scale(parent);
    if !entries.entries.is_empty() {
        meta_mut(scale).insert("managedFields".into(), entries.encode());
    }
}

/// Records a write through the `scale` subresource of `live` into `new`:
/// an update's manager takes `spec.replicas`; an apply's entries come from
/// the `wanted` Scale it computed.
pub fn track_scale(ctx: &Ctx, live: &Value, new: &mut Value, wanted: &Value) {
    if !is_apply(ctx) {
        track(ctx, Some(live), new, "scale");
        return;
    }
    match scale::to_parent(live, wanted, &ctx.resource.api_version()) {
        Ok(managed) => managed.write_to(new),
        Err(error) => tracing::error!(%error, "failed to map the Scale's managedFields; kept the live ones"),
    }
}

/// Computes the entries of `new`. When that fails (an object its schema
/// cannot describe), the live entries are kept and the failure logged, as
/// Kubernetes does.
fn track(ctx: &Ctx, live: Option<&Value>, new: &mut Value, subresource: &str) {
    let manager = manager(ctx);
    let schema = schema(ctx);
    let ignored = ignored(&ctx.resource, subresource);
    let time = now_string();
    let opts = UpdateOptions { manager: &manager, subresource, time: &time, ignored: &ignored };
    match apply::update_managed_fields(live, new, schema.as_ref(), &opts) {
        Ok(obj) => *new = obj,
        Err(error) => {
            tracing::error!(
                %error,
                resource = %ctx.resource.qualified_plural(),
                name = new.name().unwrap_or_default(),
                "failed to update managedFields; kept the live ones"
            );
            match live.and_then(|l| l.pointer("/metadata/managedFields")) {
                Some(entries) => {
                    meta_mut(new).insert("managedFields".into(), entries.clone());
                }
                None => {
                    meta_mut(new).remove("managedFields");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_fields_manager_from_user_agent() {
        assert_eq!(prefix_from_user_agent("kubectl-create/v1.33.0 (linux/amd64) kubernetes/abc"), "kubectl-create");
        assert_eq!(prefix_from_user_agent("OpenAPI-Generator/31.0.0/python"), "OpenAPI-Generator");
        assert_eq!(prefix_from_user_agent("a\u{7}b"), "ab");
        assert_eq!(prefix_from_user_agent(&"x".repeat(200)).len(), FIELD_MANAGER_MAX_LENGTH);
        assert_eq!(prefix_from_user_agent(""), "");
    }
}
