//! kube-openapi's validation errors turned into field errors the way the
//! apiextensions server converts them (`kubeOpenAPIResultToFieldErrors`):
//! the kube-openapi path (`spec.replicas`, `.foo` at the root) becomes the
//! field path, the kube-openapi text (`spec.replicas in body must be of
//! type integer: "string"`) the detail.

use serde_json::Value;

use crate::table::go_format_float;
use crate::validation::field::go_quote;
use crate::validation::{FieldError, Path};

/// Where the errors of one validation run go: the field path the
/// kube-openapi names hang off (`None` at the object root, `status` when
/// the status subresource is validated alone).
#[derive(Debug)]
pub(crate) struct Sink<'a> {
    pub(crate) root: Option<&'a str>,
    pub(crate) errs: Vec<FieldError>,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(root: Option<&'a str>) -> Self {
        Sink {
            root,
            errs: Vec::new(),
        }
    }

    /// The field path of a kube-openapi name: a nil root with no name prints
    /// as `<nil>`, as Go's nil `*field.Path` does.
    fn path(&self, name: &str) -> Path {
        let name = name.strip_prefix('.').unwrap_or(name);
        match (self.root, name.is_empty()) {
            (None, true) => Path::new("<nil>"),
            (None, false) => Path::new(name),
            (Some(r), true) => Path::new(r),
            (Some(r), false) => Path::new(r).child(name),
        }
    }

    pub(crate) fn type_invalid(&mut self, name: &str, type_name: &str, found: &str) {
        let detail = format!(
            "{name} in body must be of type {type_name}: {}",
            go_quote(found)
        );
        let e = FieldError::type_invalid(&self.path(name), found, detail);
        self.errs.push(e);
    }

    pub(crate) fn required(&mut self, name: &str) {
        let e = FieldError::required(&self.path(name), "");
        self.errs.push(e);
    }

    pub(crate) fn enum_fail(&mut self, name: &str, data: &Value, allowed: &[Value]) {
        let shown: Vec<String> = allowed
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        let e = FieldError::not_supported(&self.path(name), data.clone(), &shown);
        self.errs.push(e);
    }

    pub(crate) fn too_long(&mut self, name: &str, max: i64) {
        let e = FieldError::too_long(&self.path(name), usize::try_from(max).unwrap_or(0));
        self.errs.push(e);
    }

    pub(crate) fn too_many(&mut self, name: &str, actual: usize, max: i64) {
        let e = FieldError::too_many(&self.path(name), actual, usize::try_from(max).unwrap_or(0));
        self.errs.push(e);
    }

    /// Every other kube-openapi error: `Invalid` with the value and text.
    pub(crate) fn invalid(&mut self, name: &str, value: Value, detail: String) {
        let e = FieldError::invalid(&self.path(name), value, detail);
        self.errs.push(e);
    }

    /// Errors kube-openapi raises without a field (`anyOf`/`oneOf`/...):
    /// reported on the root path with an empty value.
    pub(crate) fn plain(&mut self, detail: String) {
        let e = FieldError::invalid(&self.path(""), "", detail);
        self.errs.push(e);
    }
}

/// Go's `%v` of a number limit: integers bare, floats in `%g` form.
pub(crate) fn go_number(f: f64) -> String {
    go_format_float(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crd_messages_paths_and_texts() {
        let mut s = Sink::new(None);
        s.type_invalid("spec.replicas", "integer", "string");
        s.required(".spec");
        s.enum_fail("spec.size", &json!("x"), &[json!("small"), json!(1)]);
        s.plain("\"spec\" must validate at least one schema (anyOf)".into());
        let mut st = Sink::new(Some("status"));
        st.too_long("phase", 3);
        st.invalid("", json!(1), "d".into());
        let msgs: Vec<String> = s
            .errs
            .iter()
            .chain(&st.errs)
            .map(FieldError::message)
            .collect();
        assert_eq!(
            msgs,
            vec![
                "spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"",
                "spec: Required value",
                "spec.size: Unsupported value: \"x\": supported values: \"small\", \"1\"",
                "<nil>: Invalid value: \"\": \"spec\" must validate at least one schema (anyOf)",
                "status.phase: Too long: may not be more than 3 bytes",
                "status: Invalid value: 1: d",
            ]
        );
        assert_eq!(s.errs[0].reason(), "FieldValueTypeInvalid");
        assert_eq!(go_number(100.0), "100");
        assert_eq!(go_number(0.5), "0.5");
    }
}
