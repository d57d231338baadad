//! `validate_crd`: an `apiextensions.k8s.io/v1` CustomResourceDefinition on
//! create and update, with apiextensions' paths and messages.
//!
//! Kubernetes validates the internal form, into which a v1 CRD converts by
//! hoisting per-version `schema`, `subresources` and
//! `additionalPrinterColumns` to the spec when all versions carry the same
//! value (one version always does): errors then name `spec.validation`,
//! `spec.subresources` and `spec.additionalPrinterColumns`. This module
//! reproduces that so the paths match.

use serde_json::Value;

use super::names::validate_names;
use super::schema_rules::validate_schema;
use super::subresources::{validate_column, validate_subresources};
use crate::validation::format::{is_dns1035_label, is_dns1123_subdomain};
use crate::validation::meta::{validate_builtin_object_meta, validate_builtin_object_meta_update};
use crate::validation::{FieldError, NameRule, Path};

/// Validates `crd` (already defaulted and prepared, see
/// [`super::prepare_for_create`]); `old` is the stored CRD on update.
pub fn validate_crd(crd: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = match old {
        None => metadata(crd),
        Some(old) => validate_builtin_object_meta_update(crd, old),
    };
    let spec = crd.get("spec").unwrap_or(&Value::Null);
    errs.extend(validate_spec(spec, &Path::new("spec")));
    if let Some(old) = old {
        errs.extend(immutable(crd, old));
    }
    let accepted = crd.pointer("/status/acceptedNames").unwrap_or(&Value::Null);
    errs.extend(validate_names(
        accepted,
        &Path::new("status").child("acceptedNames"),
    ));
    errs.extend(stored_versions(crd));
    let puf = spec.get("preserveUnknownFields").and_then(Value::as_bool) == Some(true);
    let old_puf = old
        .and_then(|o| o.pointer("/spec/preserveUnknownFields"))
        .and_then(Value::as_bool)
        == Some(true);
    if puf && !old_puf {
        errs.push(FieldError::invalid(
            &Path::new("spec").child("preserveUnknownFields"),
            true,
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
        ));
    }
    errs
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// ObjectMeta rules, with the name pinned to `<plural>.<group>`.
fn metadata(crd: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(crd, false, NameRule::Dns1123Subdomain);
    let required = format!("{}.{}", s(crd, "/spec/names/plural"), s(crd, "/spec/group"));
    let msg = "must be spec.names.plural+\".\"+spec.group";
    let mut extra = Vec::new();
    for key in ["generateName", "name"] {
        let v = s(crd, &format!("/metadata/{key}"));
        if !v.is_empty() && v != required {
            extra.push(FieldError::invalid(
                &Path::new("metadata").child(key),
                v,
                msg,
            ));
        }
    }
    // Kubernetes reports these with the other name errors.
    let at = errs
        .iter()
        .rposition(|e| e.field == "metadata.name" || e.field == "metadata.generateName")
        .map_or(0, |i| i + 1);
    errs.splice(at..at, extra);
    errs
}

fn versions(spec: &Value) -> &[Value] {
    spec.get("versions")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The value every version has for `key`, if they all agree (absent, null
/// and empty lists count as the same, like Kubernetes' semantic equality).
fn shared<'a>(vs: &'a [Value], key: &str) -> Option<Option<&'a Value>> {
    let norm = |v: &'a Value| {
        v.get(key)
            .filter(|x| !x.is_null() && x.as_array().is_none_or(|a| !a.is_empty()))
    };
    let first = norm(vs.first()?);
    vs.iter().all(|v| norm(v) == first).then_some(first)
}

fn validate_spec(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let group = s(spec, "/group");
    if group.is_empty() {
        errs.push(FieldError::required(&path.child("group"), ""));
    } else if let problems @ [_, ..] = is_dns1123_subdomain(group).as_slice() {
        errs.push(FieldError::invalid(
            &path.child("group"),
            group,
            problems.join(","),
        ));
    } else if !group.contains('.') {
        errs.push(FieldError::invalid(
            &path.child("group"),
            group,
            "should be a domain with at least one dot",
        ));
    }
    let scope = s(spec, "/scope");
    if scope.is_empty() {
        errs.push(FieldError::required(&path.child("scope"), ""));
    } else if scope != "Cluster" && scope != "Namespaced" {
        errs.push(FieldError::not_supported(
            &path.child("scope"),
            scope,
            &["Cluster", "Namespaced"],
        ));
    }
    let vs = versions(spec);
    let top_schema = shared(vs, "schema");
    let top_sub = shared(vs, "subresources");
    let top_cols = shared(vs, "additionalPrinterColumns");
    let status_on = |v: &Value| {
        v.pointer("/subresources/status")
            .is_some_and(|s| !s.is_null())
    };
    if top_schema.is_none_or(|s| s.is_none()) {
        for (i, v) in vs.iter().enumerate() {
            if v.pointer("/schema/openAPIV3Schema")
                .is_none_or(Value::is_null)
            {
                errs.push(FieldError::required(
                    &path
                        .child("versions")
                        .index(i)
                        .child("schema")
                        .child("openAPIV3Schema"),
                    "schemas are required",
                ));
            }
        }
    }
    let mut storage = 0;
    for (i, v) in vs.iter().enumerate() {
        let vp = path.child("versions").index(i);
        let name = s(v, "/name");
        if v.get("storage").and_then(Value::as_bool) == Some(true) {
            storage += 1;
        }
        let problems = is_dns1035_label(name);
        if !problems.is_empty() {
            errs.push(FieldError::invalid(
                &vp.child("name"),
                name,
                problems.join(","),
            ));
        }
        errs.extend(deprecation_warning(v, &vp));
        if top_schema.is_none()
            && let Some(schema) = v
                .pointer("/schema/openAPIV3Schema")
                .filter(|s| !s.is_null())
        {
            errs.extend(validate_schema(schema, status_on(v), &vp.child("schema")));
        }
        if top_sub.is_none()
            && let Some(sub) = v.get("subresources")
        {
            errs.extend(validate_subresources(sub, &vp.child("subresources")));
        }
        if top_cols.is_none() {
            for (j, c) in v
                .get("additionalPrinterColumns")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                errs.extend(validate_column(
                    c,
                    &vp.child("additionalPrinterColumns").index(j),
                ));
            }
        }
    }
    let names: Vec<&str> = vs.iter().map(|v| s(v, "/name")).collect();
    if names
        .iter()
        .enumerate()
        .any(|(i, n)| names[..i].contains(n))
    {
        errs.push(FieldError::invalid(
            &path.child("versions"),
            Value::from(vs.to_vec()),
            "must contain unique version names",
        ));
    }
    if storage != 1 {
        errs.push(FieldError::invalid(
            &path.child("versions"),
            Value::from(vs.to_vec()),
            "must have exactly one version marked as storage version",
        ));
    }
    // The internal `spec.version` is the first version's name.
    if let Some(first) = names.first().filter(|n| !n.is_empty()) {
        let problems = is_dns1035_label(first);
        if !problems.is_empty() {
            errs.push(FieldError::invalid(
                &path.child("version"),
                *first,
                problems.join(","),
            ));
        }
    }
    for key in ["plural", "singular", "kind", "listKind"] {
        if s(spec, &format!("/names/{key}")).is_empty() {
            errs.push(FieldError::required(&path.child("names").child(key), ""));
        }
    }
    errs.extend(validate_names(
        spec.get("names").unwrap_or(&Value::Null),
        &path.child("names"),
    ));
    if let Some(Some(schema)) = top_schema
        && let Some(root) = schema.get("openAPIV3Schema").filter(|s| !s.is_null())
    {
        errs.extend(validate_schema(
            root,
            vs.iter().any(status_on),
            &path.child("validation"),
        ));
    }
    if let Some(Some(sub)) = top_sub {
        errs.extend(validate_subresources(sub, &path.child("subresources")));
    }
    if let Some(Some(cols)) = top_cols {
        for (j, c) in cols.as_array().into_iter().flatten().enumerate() {
            errs.extend(validate_column(
                c,
                &path.child("additionalPrinterColumns").index(j),
            ));
        }
    }
    errs.extend(conversion(spec, &path.child("conversion")));
    errs
}

fn deprecation_warning(v: &Value, path: &Path) -> Vec<FieldError> {
    let Some(w) = v.get("deprecationWarning").and_then(Value::as_str) else {
        return Vec::new();
    };
    let p = path.child("deprecationWarning");
    let mut msgs = Vec::new();
    if v.get("deprecated").and_then(Value::as_bool) != Some(true) {
        msgs.push("can only be set for deprecated versions".to_string());
    } else {
        if w.len() > 256 {
            msgs.push("must be <= 256 characters long".into());
        }
        if w.is_empty() {
            msgs.push("must not be an empty string".into());
        }
        if let Some((i, _)) = w.char_indices().find(|(_, c)| c.is_control()) {
            msgs.push(format!(
                "must only contain printable UTF-8 characters; control character found at index {i}"
            ));
        }
    }
    msgs.into_iter()
        .map(|m| FieldError::invalid(&p, w, m))
        .collect()
}

/// Only `None` conversion: Nubis runs no conversion webhooks.
fn conversion(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(conv) = spec.get("conversion").filter(|c| !c.is_null()) else {
        return errs;
    };
    let strategy = s(conv, "/strategy");
    match strategy {
        "" => errs.push(FieldError::required(&path.child("strategy"), "")),
        "None" => {
            if conv
                .pointer("/webhook/clientConfig")
                .is_some_and(|c| !c.is_null())
            {
                errs.push(FieldError::forbidden(
                    &path.child("webhookClientConfig"),
                    "should not be set when strategy is not set to Webhook",
                ));
            }
            if conv
                .pointer("/webhook/conversionReviewVersions")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
            {
                errs.push(FieldError::forbidden(
                    &path.child("conversionReviewVersions"),
                    "should not be set when strategy is not set to Webhook",
                ));
            }
        }
        other => {
            let mut e = FieldError::not_supported(&path.child("strategy"), other, &["None"]);
            if other == "Webhook" {
                e.detail
                    .push_str(" (conversion webhooks are not supported by this server (Nubis))");
            }
            errs.push(e);
        }
    }
    errs
}

fn stored_versions(crd: &Value) -> Vec<FieldError> {
    let path = Path::new("status").child("storedVersions");
    let stored: Vec<&str> = crd
        .pointer("/status/storedVersions")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let shown = || Value::from(stored.iter().map(|s| Value::from(*s)).collect::<Vec<_>>());
    if stored.is_empty() {
        return vec![FieldError::invalid(
            &path,
            shown(),
            "must have at least one stored version",
        )];
    }
    let mut errs = Vec::new();
    let vs = versions(crd.get("spec").unwrap_or(&Value::Null));
    for v in vs {
        let name = s(v, "/name");
        if v.get("storage").and_then(Value::as_bool) == Some(true) && !stored.contains(&name) {
            errs.push(FieldError::invalid(
                &path,
                shown(),
                format!("must have the storage version {name}"),
            ));
        }
    }
    for (i, st) in stored.iter().enumerate() {
        if !vs.iter().any(|v| s(v, "/name") == *st) {
            errs.push(FieldError::invalid(
                &path.index(i),
                *st,
                format!("missing from spec.versions; {st} was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in {st} and removes {st} from status.storedVersions"),
            ));
        }
    }
    errs
}

/// Group and plural never change; scope and kind are fixed once the CRD
/// is established.
fn immutable(crd: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let established = old
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| s(c, "/type") == "Established" && s(c, "/status") == "True");
    let mut fields = vec![
        ("/spec/group", Path::new("spec").child("group")),
        (
            "/spec/names/plural",
            Path::new("spec").child("names").child("plural"),
        ),
    ];
    if established {
        fields.insert(
            0,
            (
                "/spec/names/kind",
                Path::new("spec").child("names").child("kind"),
            ),
        );
        fields.insert(0, ("/spec/scope", Path::new("spec").child("scope")));
    }
    for (ptr, p) in fields {
        if s(crd, ptr) != s(old, ptr) {
            errs.push(FieldError::invalid(&p, s(crd, ptr), "field is immutable"));
        }
    }
    errs
}
