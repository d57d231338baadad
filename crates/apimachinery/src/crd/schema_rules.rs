//! The rules a CRD's `openAPIV3Schema` must follow beyond being structural
//! (apiextensions' `ValidateCustomResourceDefinitionOpenAPISchema`):
//! unsupported JSON-Schema keywords, list and map types, defaults only
//! where allowed and valid; and Nubis' own rule that CEL validation rules
//! (`x-kubernetes-validations`) are refused rather than silently ignored.

use serde_json::{Map, Value};

use super::pruning::prune_default;
use super::schema::StructuralSchema;
use super::structural::validate_structural_schema;
use crate::validation::field::{go_repr, go_string_slice_text};
use crate::validation::{FieldError, Path};

const OPENAPI_V3_TYPES: &[&str] = &["array", "boolean", "integer", "number", "object", "string"];
const META_FIELDS: &[&str] = &["metadata", "kind", "apiVersion"];

/// The keys allowed at the root of a schema when the status subresource
/// is enabled, as Kubernetes names them in its message (Go field names).
const ALLOWED_AT_ROOT: &[(&str, &str)] = &[
    ("description", "Description"),
    ("type", "Type"),
    ("format", "Format"),
    ("title", "Title"),
    ("maximum", "Maximum"),
    ("exclusiveMaximum", "ExclusiveMaximum"),
    ("minimum", "Minimum"),
    ("exclusiveMinimum", "ExclusiveMinimum"),
    ("maxLength", "MaxLength"),
    ("minLength", "MinLength"),
    ("pattern", "Pattern"),
    ("maxItems", "MaxItems"),
    ("minItems", "MinItems"),
    ("uniqueItems", "UniqueItems"),
    ("multipleOf", "MultipleOf"),
    ("required", "Required"),
    ("items", "Items"),
    ("properties", "Properties"),
    ("externalDocs", "ExternalDocs"),
    ("example", "Example"),
    (
        "x-kubernetes-preserve-unknown-fields",
        "XPreserveUnknownFields",
    ),
    ("x-kubernetes-validations", "XValidations"),
];

/// Why CEL rules are refused: Nubis has no CEL interpreter, and accepting
/// rules it cannot enforce would let invalid objects in.
pub const CEL_UNSUPPORTED: &str =
    "CEL validation rules (x-kubernetes-validations) are not supported by this server (Nubis)";

/// All errors of a version's (or the shared) schema; `path` is the
/// `schema`/`validation` field holding `openAPIV3Schema`.
pub(crate) fn validate_schema(
    schema: &Value,
    status_enabled: bool,
    path: &Path,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let root = path.child("openAPIV3Schema");
    if status_enabled && let Some(m) = schema.as_object() {
        for (k, v) in m {
            if is_zero(v) {
                continue;
            }
            if k == "type" {
                if v.as_str() != Some("object") {
                    errs.push(FieldError::invalid(
                        &path.child("openAPIV3Schema.type"),
                        v.clone(),
                        "only \"object\" is allowed as the type at the root of the schema if the status subresource is enabled",
                    ));
                    break;
                }
                continue;
            }
            if !ALLOWED_AT_ROOT.iter().any(|(json, _)| json == k) {
                let names: Vec<&str> = ALLOWED_AT_ROOT.iter().map(|(_, go)| *go).collect();
                errs.push(FieldError::invalid(
                    &root,
                    schema.clone(),
                    format!(
                        "only [{}] fields are allowed at the root of the schema if the status subresource is enabled",
                        names.join(" ")
                    ),
                ));
                break;
            }
        }
    }
    if schema.get("nullable").and_then(Value::as_bool) == Some(true) {
        errs.push(FieldError::forbidden(
            &path.child("openAPIV3Schema.nullable"),
            "nullable cannot be true at the root",
        ));
    }
    errs.extend(validate_schema_root(schema, &root));
    errs
}

/// The structural rules, then (if structural) the defaults, then the
/// keyword, list/map-type and CEL rules, with paths under `root`.
pub(crate) fn validate_schema_root(schema: &Value, root: &Path) -> Vec<FieldError> {
    let structural = validate_structural_schema(schema, root);
    let mut errs = if structural.is_empty() {
        validate_defaults(&StructuralSchema::parse(schema), root)
    } else {
        structural
    };
    let ctx = Ctx {
        allow_defaults: true,
        reason: String::new(),
        inside_meta: false,
    };
    errs.extend(walk(schema, root, &ctx, true));
    errs
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
    }
}

#[derive(Clone)]
struct Ctx {
    allow_defaults: bool,
    reason: String,
    inside_meta: bool,
}

impl Ctx {
    fn forbid_defaults(&self, reason: String) -> Ctx {
        Ctx {
            allow_defaults: false,
            reason,
            ..self.clone()
        }
    }
}

fn s_of<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn map_of<'a>(v: &'a Value, k: &str) -> Option<&'a Map<String, Value>> {
    v.get(k)
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
}

fn walk(s: &Value, path: &Path, ctx: &Ctx, is_root: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if !s.is_object() {
        return errs;
    }
    errs.extend(standard(s, path, ctx));
    let type_ = s_of(s, "type").unwrap_or("");
    if s.get("uniqueItems").and_then(Value::as_bool) == Some(true) {
        errs.push(FieldError::forbidden(
            &path.child("uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    let props = map_of(s, "properties");
    if let Some(ap) = s.get("additionalProperties") {
        if props.is_some() && (ap.as_bool() == Some(false) || ap.is_object()) {
            errs.push(FieldError::forbidden(
                &path.child("additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            ));
        }
        let sub = if ctx.inside_meta {
            ctx.forbid_defaults("inside additionalProperties applying to object metadata".into())
        } else {
            ctx.clone()
        };
        errs.extend(walk(ap, &path.child("additionalProperties"), &sub, false));
    }
    let embedded = s
        .get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        == Some(true);
    for (k, p) in props.into_iter().flatten() {
        let mut sub = ctx.clone();
        if (is_root || embedded) && META_FIELDS.contains(&k.as_str()) {
            sub.inside_meta = true;
            if is_root {
                sub = sub.forbid_defaults(format!("in top-level {k}"));
            }
        }
        errs.extend(walk(p, &path.child("properties").key(k), &sub, false));
    }
    if let Some(not) = s.get("not") {
        errs.extend(walk(not, &path.child("not"), ctx, false));
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for (i, sub) in s
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            errs.extend(walk(sub, &path.child(key).index(i), ctx, false));
        }
    }
    for (k, d) in map_of(s, "definitions").into_iter().flatten() {
        errs.extend(walk(d, &path.child("definitions").key(k), ctx, false));
    }
    match s.get("items") {
        Some(items @ Value::Object(_)) => {
            errs.extend(walk(items, &path.child("items"), ctx, false))
        }
        Some(Value::Array(list)) => {
            for (i, sub) in list.iter().enumerate() {
                errs.extend(walk(sub, &path.child("items").index(i), ctx, false));
            }
        }
        _ => {}
    }
    for (k, d) in map_of(s, "dependencies").into_iter().flatten() {
        errs.extend(walk(d, &path.child("dependencies").key(k), ctx, false));
    }
    if s.get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(false)
    {
        errs.push(FieldError::invalid(
            &path.child("x-kubernetes-preserve-unknown-fields"),
            false,
            "must be true or undefined",
        ));
    }
    errs.extend(list_and_map_types(s, type_, path));
    if s.get("x-kubernetes-validations")
        .is_some_and(|v| !is_zero(v))
    {
        errs.push(FieldError::forbidden(
            &path.child("x-kubernetes-validations"),
            CEL_UNSUPPORTED,
        ));
    }
    errs
}

/// Keywords Kubernetes does not support in CRD schemas.
fn standard(s: &Value, path: &Path, ctx: &Ctx) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let type_ = s_of(s, "type").unwrap_or("");
    if !type_.is_empty() && !OPENAPI_V3_TYPES.contains(&type_) {
        errs.push(FieldError::not_supported(
            &path.child("type"),
            type_,
            OPENAPI_V3_TYPES,
        ));
    }
    if s.get("default").is_some_and(|d| !d.is_null()) && !ctx.allow_defaults {
        let mut detail = "must not be set".to_string();
        if !ctx.reason.is_empty() {
            detail = format!("{detail} {}", ctx.reason);
        }
        errs.push(FieldError::forbidden(&path.child("default"), detail));
    }
    if s_of(s, "id").is_some_and(|id| !id.is_empty()) {
        errs.push(FieldError::forbidden(
            &path.child("id"),
            "id is not supported",
        ));
    }
    if s.get("additionalItems").is_some_and(|v| !v.is_null()) {
        errs.push(FieldError::forbidden(
            &path.child("additionalItems"),
            "additionalItems is not supported",
        ));
    }
    for key in ["patternProperties", "definitions"] {
        if map_of(s, key).is_some() {
            errs.push(FieldError::forbidden(
                &path.child(key),
                format!("{key} is not supported"),
            ));
        }
    }
    if s.get("dependencies").is_some_and(|v| !v.is_null()) {
        errs.push(FieldError::forbidden(
            &path.child("dependencies"),
            "dependencies is not supported",
        ));
    }
    if s.get("$ref").is_some_and(|v| !v.is_null()) {
        errs.push(FieldError::forbidden(
            &path.child("$ref"),
            "$ref is not supported",
        ));
    }
    if type_ == "null" {
        errs.push(FieldError::forbidden(
            &path.child("type"),
            "type cannot be set to null, use nullable as an alternative",
        ));
    }
    if s.get("items")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        errs.push(FieldError::forbidden(
            &path.child("items"),
            "items must be a schema object and not an array",
        ));
    }
    if ctx.inside_meta
        && s.get("x-kubernetes-embedded-resource")
            .and_then(Value::as_bool)
            == Some(true)
    {
        errs.push(FieldError::forbidden(
            &path.child("x-kubernetes-embedded-resource"),
            "must not be used inside of resource meta",
        ));
    }
    errs
}

fn list_and_map_types(s: &Value, type_: &str, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let type_err = |msg: &str| {
        let p = path.child("type");
        if type_.is_empty() {
            FieldError::required(&p, msg)
        } else {
            FieldError::invalid(&p, type_, msg)
        }
    };
    if let Some(mt) = s_of(s, "x-kubernetes-map-type") {
        if type_ != "object" {
            errs.push(type_err(
                "must be object if x-kubernetes-map-type is specified",
            ));
        }
        if mt != "atomic" && mt != "granular" {
            errs.push(FieldError::not_supported(
                &path.child("x-kubernetes-map-type"),
                mt,
                &["atomic", "granular"],
            ));
        }
    }
    let lt = s_of(s, "x-kubernetes-list-type");
    let items = s.get("items").filter(|i| i.is_object());
    if lt.is_some() && type_ != "array" {
        errs.push(type_err(
            "must be array if x-kubernetes-list-type is specified",
        ));
    } else if let (Some("set"), Some(is)) = (lt, items) {
        let msg = "must be atomic as item of a list with x-kubernetes-list-type=set";
        let item_lt = s_of(is, "x-kubernetes-list-type");
        let shown = || item_lt.map_or_else(|| go_repr("(*string)(nil)"), Value::from);
        match s_of(is, "type") {
            Some("array") if item_lt.is_some_and(|t| t != "atomic") => {
                errs.push(FieldError::invalid(
                    &path.child("items").child("x-kubernetes-list-type"),
                    shown(),
                    msg,
                ));
            }
            Some("object") if s_of(is, "x-kubernetes-map-type") != Some("atomic") => {
                errs.push(FieldError::invalid(
                    &path.child("items").child("x-kubernetes-map-type"),
                    shown(),
                    msg,
                ));
            }
            _ => {}
        }
    }
    if let Some(lt) = lt
        && !matches!(lt, "atomic" | "set" | "map")
    {
        errs.push(FieldError::not_supported(
            &path.child("x-kubernetes-list-type"),
            lt,
            &["atomic", "set", "map"],
        ));
    }
    let keys: Vec<&str> = s
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !keys.is_empty() {
        let msg = "must be map if x-kubernetes-list-map-keys is non-empty";
        match lt {
            None => errs.push(FieldError::required(
                &path.child("x-kubernetes-list-type"),
                msg,
            )),
            Some(t) if t != "map" => errs.push(FieldError::invalid(
                &path.child("x-kubernetes-list-type"),
                t,
                msg,
            )),
            _ => {}
        }
    }
    if lt == Some("map") {
        errs.extend(list_map_rules(s, &keys, items, path));
    }
    if let (Some(lt @ ("set" | "map")), Some(is)) = (lt, items) {
        if is.get("nullable").and_then(Value::as_bool) == Some(true) {
            errs.push(FieldError::forbidden(
                &path.child("items").child("nullable"),
                format!("cannot be nullable when x-kubernetes-list-type is {lt}"),
            ));
        }
        if lt == "map" {
            errs.extend(map_key_defaults(is, &keys, path));
        }
    }
    errs
}

fn list_map_rules(s: &Value, keys: &[&str], items: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let keys_value = || go_repr(go_string_slice_text(s.get("x-kubernetes-list-map-keys")));
    if keys.is_empty() {
        errs.push(FieldError::required(
            &path.child("x-kubernetes-list-map-keys"),
            "must not be empty if x-kubernetes-list-type is map",
        ));
    }
    match s.get("items") {
        None | Some(Value::Null) => errs.push(FieldError::required(
            &path.child("items"),
            "must have a schema if x-kubernetes-list-type is map",
        )),
        Some(i) if !i.is_object() => errs.push(FieldError::invalid(
            &path.child("items"),
            i.clone(),
            "must only have a single schema if x-kubernetes-list-type is map",
        )),
        _ => {}
    }
    let Some(is) = items else { return errs };
    let item_type = s_of(is, "type").unwrap_or("");
    if item_type != "object" {
        errs.push(FieldError::invalid(
            &path.child("items").child("type"),
            item_type,
            "must be object if parent array's x-kubernetes-list-type is map",
        ));
        return errs;
    }
    for (i, k) in keys.iter().enumerate() {
        match is.get("properties").and_then(|p| p.get(*k)) {
            Some(p) if matches!(s_of(p, "type"), Some("array" | "object")) => {
                errs.push(FieldError::invalid(
                    &path.child("items").child("properties").key(k).child("type"),
                    item_type,
                    "must be a scalar type if parent array's x-kubernetes-list-type is map",
                ))
            }
            Some(_) => {}
            None => errs.push(FieldError::invalid(
                &path.child("x-kubernetes-list-map-keys"),
                keys_value(),
                "entries must all be names of item properties",
            )),
        }
        if keys[..i].contains(k) {
            errs.push(FieldError::invalid(
                &path.child("x-kubernetes-list-map-keys"),
                keys_value(),
                "must not contain duplicate entries",
            ));
        }
    }
    errs
}

/// A map key must always be present: required or defaulted, never null.
fn map_key_defaults(is: &Value, keys: &[&str], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let required: Vec<&str> = is
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for k in keys {
        let Some(p) = is.get("properties").and_then(|p| p.get(*k)) else {
            continue;
        };
        let prop_path = path.child("items").child("properties").key(k);
        if !required.contains(k) && p.get("default").is_none_or(Value::is_null) {
            errs.push(FieldError::required(
                &prop_path.child("default"),
                "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
            ));
        }
        if p.get("nullable").and_then(Value::as_bool) == Some(true) {
            errs.push(FieldError::forbidden(
                &prop_path.child("nullable"),
                "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
            ));
        }
    }
    errs
}

/// Defaults must be pruned and valid against their own schema
/// (apiextensions' `ValidateDefaults`, without the metadata cases).
fn validate_defaults(s: &StructuralSchema, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    defaults_at(s, path, true, false, &mut errs);
    errs
}

fn defaults_at(
    s: &StructuralSchema,
    path: &Path,
    root: bool,
    inside_meta: bool,
    errs: &mut Vec<FieldError>,
) {
    let inside_meta = inside_meta && !s.embedded_resource;
    if let Some(d) = &s.default
        && !inside_meta
    {
        let mut pruned = d.clone();
        prune_default(&mut pruned, s, root || s.embedded_resource);
        if &pruned != d {
            errs.push(FieldError::invalid(
                &path.child("default"),
                d.clone(),
                "must not have unknown fields",
            ));
        }
        errs.extend(s.validate_subtree(path.child("default").as_str(), d));
    }
    if let Some(items) = s.items() {
        defaults_at(items, &path.child("items"), false, inside_meta, errs);
    }
    for (k, p) in &s.properties {
        let meta =
            inside_meta || ((root || s.embedded_resource) && META_FIELDS.contains(&k.as_str()));
        defaults_at(p, &path.child("properties").key(k), false, meta, errs);
    }
}
