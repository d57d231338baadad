//! A CRD's names: their validation (`ValidateCustomResourceDefinitionNames`)
//! and the naming controller's verdict (accepted names, `NamesAccepted` and
//! `Established` conditions) given the other CRDs of the same group.

use serde_json::{Value, json};

use crate::validation::field::go_quote;
use crate::validation::format::is_dns1035_label;
use crate::validation::{FieldError, Path};

/// `spec.names` or `status.acceptedNames`: each set name must be a
/// DNS-1035 label (kinds lower-cased first), kind and listKind differ.
pub(crate) fn validate_names(names: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let s = |k: &str| names.get(k).and_then(Value::as_str).unwrap_or("");
    for key in ["plural", "singular"] {
        let v = s(key);
        let problems = is_dns1035_label(v);
        if !v.is_empty() && !problems.is_empty() {
            errs.push(FieldError::invalid(&path.child(key), v, problems.join(",")));
        }
    }
    for key in ["kind", "listKind"] {
        let v = s(key);
        let problems = is_dns1035_label(&v.to_lowercase());
        if !v.is_empty() && !problems.is_empty() {
            errs.push(FieldError::invalid(
                &path.child(key),
                v,
                format!(
                    "may have mixed case, but should otherwise match: {}",
                    problems.join(",")
                ),
            ));
        }
    }
    for (i, short) in strings(names, "shortNames").iter().enumerate() {
        let problems = is_dns1035_label(short);
        if !problems.is_empty() {
            errs.push(FieldError::invalid(
                &path.child("shortNames").index(i),
                *short,
                problems.join(","),
            ));
        }
    }
    if !s("kind").is_empty() && s("kind") == s("listKind") {
        errs.push(FieldError::invalid(
            &path.child("listKind"),
            s("listKind"),
            "kind and listKind may not be the same",
        ));
    }
    for (i, cat) in strings(names, "categories").iter().enumerate() {
        let problems = is_dns1035_label(cat);
        if !problems.is_empty() {
            errs.push(FieldError::invalid(
                &path.child("categories").index(i),
                *cat,
                problems.join(","),
            ));
        }
    }
    errs
}

fn strings<'a>(v: &'a Value, key: &str) -> Vec<&'a str> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The naming controller's result for one CRD.
#[derive(Debug, Clone, PartialEq)]
pub struct NamingResult {
    /// The new `status.acceptedNames`.
    pub accepted_names: Value,
    /// The `NamesAccepted` condition (without `lastTransitionTime`).
    pub names_accepted: Value,
    /// The `Established` condition (without `lastTransitionTime`).
    pub established: Value,
}

/// Computes accepted names and conditions for `crd` given every CRD the
/// server has (`others` may include `crd` itself; only the same group
/// counts). A requested name another CRD of the group has accepted is a
/// conflict; names this CRD already accepted stay its own.
pub fn accepted_names(crd: &Value, others: &[Value]) -> NamingResult {
    let group = crd
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or("");
    let me = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut resources: Vec<&str> = Vec::new();
    let mut kinds: Vec<&str> = Vec::new();
    for o in others {
        if o.pointer("/spec/group").and_then(Value::as_str) != Some(group) {
            continue;
        }
        // Our own stored copy may be older than `crd`; use `crd`'s status.
        let o = if o.pointer("/metadata/name").and_then(Value::as_str) == Some(me) {
            crd
        } else {
            o
        };
        let an = o.pointer("/status/acceptedNames").unwrap_or(&Value::Null);
        let s = |k: &str| an.get(k).and_then(Value::as_str).unwrap_or("");
        resources.extend([s("plural"), s("singular")]);
        resources.extend(strings(an, "shortNames"));
        kinds.extend([s("kind"), s("listKind")]);
    }
    let requested = crd
        .pointer("/spec/names")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let accepted = crd
        .pointer("/status/acceptedNames")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut new_names = accepted.clone();
    let mut conflict: Option<(&str, String)> = None;
    let req = |k: &str| {
        requested
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let acc = |k: &str| {
        accepted
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let fresh = |r: &str, a: &str, used: &[&str]| -> Result<(), String> {
        if r == a || !used.contains(&r) {
            Ok(())
        } else {
            Err(format!("{} is already in use", go_quote(r)))
        }
    };
    for (key, reason) in [
        ("plural", "PluralConflict"),
        ("singular", "SingularConflict"),
    ] {
        match fresh(&req(key), &acc(key), &resources) {
            Ok(()) => new_names[key] = Value::from(req(key)),
            Err(msg) => conflict = Some((reason, msg)),
        }
    }
    let req_short = strings(&requested, "shortNames");
    let acc_short = strings(&accepted, "shortNames");
    if req_short != acc_short {
        let errs: Vec<String> = req_short
            .iter()
            .filter(|s| !acc_short.contains(s))
            .filter_map(|s| fresh(s, "", &resources).err())
            .collect();
        if errs.is_empty() {
            new_names["shortNames"] = json!(req_short);
        } else {
            let msg = if errs.len() == 1 {
                errs[0].clone()
            } else {
                format!("[{}]", errs.join(", "))
            };
            conflict = Some(("ShortNamesConflict", msg));
        }
    }
    for (key, reason) in [("kind", "KindConflict"), ("listKind", "ListKindConflict")] {
        match fresh(&req(key), &acc(key), &kinds) {
            Ok(()) => new_names[key] = Value::from(req(key)),
            Err(msg) => conflict = Some((reason, msg)),
        }
    }
    if let Some(c) = requested.get("categories") {
        new_names["categories"] = c.clone();
    }
    let names_accepted = match &conflict {
        None => condition("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
        Some((reason, msg)) => condition("NamesAccepted", "False", reason, msg),
    };
    let old_established = crd
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Established"))
        })
        .cloned();
    let mut established = old_established.unwrap_or_else(|| {
        condition(
            "Established",
            "False",
            "NotAccepted",
            "not all names are accepted",
        )
    });
    if established.get("status").and_then(Value::as_str) != Some("True") && conflict.is_none() {
        established = condition(
            "Established",
            "False",
            "Installing",
            "the initial names have been accepted",
        );
    }
    NamingResult {
        accepted_names: new_names,
        names_accepted,
        established,
    }
}

/// The `Established` condition the establishing controller sets once the
/// names are accepted and the resource is served.
pub fn established_condition() -> Value {
    condition(
        "Established",
        "True",
        "InitialNamesAccepted",
        "the initial names have been accepted",
    )
}

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": type_, "status": status, "reason": reason, "message": message})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(name: &str, plural: &str, kind: &str, accepted: Option<(&str, &str)>) -> Value {
        let mut c = json!({"metadata": {"name": name}, "spec": {"group": "example.com", "names": {
            "plural": plural, "singular": plural.trim_end_matches('s'), "kind": kind,
            "listKind": format!("{kind}List"), "shortNames": ["w"]}}});
        if let Some((p, k)) = accepted {
            c["status"] = json!({"acceptedNames": {"plural": p, "singular": p.trim_end_matches('s'), "kind": k,
                "listKind": format!("{k}List"), "shortNames": ["w"]}});
        }
        c
    }

    #[test]
    fn crd_names_accepted_without_conflicts() {
        let c = crd("widgets.example.com", "widgets", "Widget", None);
        let r = accepted_names(&c, std::slice::from_ref(&c));
        assert_eq!(r.accepted_names["plural"], "widgets");
        assert_eq!(r.accepted_names["listKind"], "WidgetList");
        assert_eq!(r.names_accepted["reason"], "NoConflicts");
        assert_eq!(r.names_accepted["message"], "no conflicts found");
        assert_eq!(r.established["reason"], "Installing");
        assert_eq!(established_condition()["reason"], "InitialNamesAccepted");
    }

    #[test]
    fn crd_names_conflict_with_same_group() {
        let existing = crd(
            "widgets.example.com",
            "widgets",
            "Widget",
            Some(("widgets", "Widget")),
        );
        let c = crd("gadgets.example.com", "gadgets", "Widget", None);
        let r = accepted_names(&c, &[existing.clone(), c.clone()]);
        assert_eq!(r.names_accepted["status"], "False");
        assert_eq!(r.names_accepted["reason"], "ListKindConflict");
        assert_eq!(
            r.names_accepted["message"],
            "\"WidgetList\" is already in use"
        );
        assert_eq!(r.accepted_names["plural"], "gadgets");
        assert!(r.accepted_names.get("kind").is_none());
        assert_eq!(r.established["reason"], "NotAccepted");
        // Another group does not conflict.
        let mut other = existing;
        other["spec"]["group"] = json!("other.io");
        assert_eq!(
            accepted_names(&c, &[other]).names_accepted["reason"],
            "NoConflicts"
        );
    }

    #[test]
    fn crd_names_validation() {
        let errs = validate_names(
            &json!({"plural": "Widgets", "kind": "Wid_get", "listKind": "Wid_get",
            "shortNames": ["ok", "-x"], "categories": ["all"]}),
            &Path::new("spec.names"),
        );
        let msgs: Vec<String> = errs.iter().map(FieldError::message).collect();
        assert_eq!(msgs.len(), 5, "{msgs:?}");
        assert!(
            msgs[0].starts_with("spec.names.plural: Invalid value: \"Widgets\": a DNS-1035 label")
        );
        assert!(msgs[1].starts_with("spec.names.kind: Invalid value: \"Wid_get\": may have mixed case, but should otherwise match: "));
        assert!(msgs[3].starts_with("spec.names.shortNames[1]: Invalid value: \"-x\""));
        assert_eq!(
            msgs[4],
            "spec.names.listKind: Invalid value: \"Wid_get\": kind and listKind may not be the same"
        );
    }
}
