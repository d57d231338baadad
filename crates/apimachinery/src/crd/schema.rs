//! The compiled form of a CRD version's `openAPIV3Schema` (apiextensions'
//! `Structural` plus the value validations kube-openapi checks), and the
//! accessors the API server needs (sub-schemas, list and map types).

use regex::Regex;
use serde_json::Value;

use super::schema_rules::validate_schema_root;
use crate::validation::{FieldError, Path};

/// Formats the apiextensions server validates; any other `format` is
/// ignored (Kubernetes strips it before validating, so e.g. `int32` is
/// accepted on any integer). Names are compared without dashes.
const SUPPORTED_FORMATS: &[&str] = &[
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
];

/// One node of a structural schema. Nested `allOf`/`anyOf`/`oneOf`/`not`
/// schemas use the same type: kube-openapi validates them as full schemas.
#[derive(Debug, Clone, Default)]
pub struct StructuralSchema {
    pub(crate) type_: String,
    /// The declared format, as written.
    pub(crate) format: String,
    /// The format the validator checks (empty when unsupported), normalized.
    pub(crate) checked_format: String,
    pub(crate) nullable: bool,
    pub(crate) default: Option<Value>,
    /// In declaration order, so errors come out in a stable order.
    pub(crate) properties: Vec<(String, StructuralSchema)>,
    pub(crate) items: Option<Box<StructuralSchema>>,
    pub(crate) additional_properties: Option<AdditionalProperties>,
    pub(crate) preserve_unknown_fields: bool,
    pub(crate) int_or_string: bool,
    pub(crate) embedded_resource: bool,
    pub(crate) list_type: Option<String>,
    pub(crate) list_map_keys: Vec<String>,
    pub(crate) map_type: Option<String>,
    pub(crate) checks: Checks,
}

/// `additionalProperties`: a boolean or a schema.
#[derive(Debug, Clone)]
pub(crate) enum AdditionalProperties {
    Allows(bool),
    Schema(Box<StructuralSchema>),
}

/// The value validations of one node (kube-openapi's validators).
#[derive(Debug, Clone, Default)]
pub(crate) struct Checks {
    pub(crate) maximum: Option<f64>,
    pub(crate) exclusive_maximum: bool,
    pub(crate) minimum: Option<f64>,
    pub(crate) exclusive_minimum: bool,
    pub(crate) multiple_of: Option<f64>,
    pub(crate) max_length: Option<i64>,
    pub(crate) min_length: Option<i64>,
    pub(crate) pattern: Option<Pattern>,
    pub(crate) max_items: Option<i64>,
    pub(crate) min_items: Option<i64>,
    pub(crate) unique_items: bool,
    pub(crate) max_properties: Option<i64>,
    pub(crate) min_properties: Option<i64>,
    pub(crate) required: Vec<String>,
    pub(crate) enum_: Vec<Value>,
    pub(crate) all_of: Vec<StructuralSchema>,
    pub(crate) any_of: Vec<StructuralSchema>,
    pub(crate) one_of: Vec<StructuralSchema>,
    pub(crate) not: Option<Box<StructuralSchema>>,
}

/// A `pattern`, compiled once; a pattern that does not compile is kept so
/// the validator can report it as kube-openapi does.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub(crate) source: String,
    pub(crate) compiled: Result<Regex, String>,
}

impl StructuralSchema {
    /// Compiles a schema after checking the rules `validate_crd` applies to
    /// it (structural, defaults, keywords, CEL refused); the errors carry
    /// paths relative to the schema root, e.g. `properties[spec].type`.
    pub fn from_value(schema: &Value) -> Result<StructuralSchema, Vec<FieldError>> {
        let errs = validate_schema_root(schema, &Path::new(""));
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(StructuralSchema::parse(schema))
    }

    /// Compiles without checking: unknown keys are ignored, wrongly typed
    /// keys read as absent. For schemas already accepted by `validate_crd`.
    pub fn parse(v: &Value) -> StructuralSchema {
        let str_of = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let bool_of = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
        let f64_of = |k: &str| v.get(k).and_then(Value::as_f64);
        let i64_of = |k: &str| v.get(k).and_then(json_int);
        let list_of = |k: &str| -> Vec<StructuralSchema> {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().map(StructuralSchema::parse).collect())
                .unwrap_or_default()
        };
        let strings_of = |k: &str| -> Vec<String> {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        let format = str_of("format");
        let normalized = format.replace('-', "");
        let checked_format = if SUPPORTED_FORMATS.contains(&normalized.as_str()) {
            normalized
        } else {
            String::new()
        };
        let properties = v
            .get("properties")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, s)| (k.clone(), StructuralSchema::parse(s)))
                    .collect()
            })
            .unwrap_or_default();
        let additional_properties = match v.get("additionalProperties") {
            Some(Value::Bool(b)) => Some(AdditionalProperties::Allows(*b)),
            Some(s @ Value::Object(_)) => Some(AdditionalProperties::Schema(Box::new(
                StructuralSchema::parse(s),
            ))),
            _ => None,
        };
        let pattern = v.get("pattern").and_then(Value::as_str).map(|p| Pattern {
            source: p.to_string(),
            compiled: Regex::new(p).map_err(|e| e.to_string()),
        });
        StructuralSchema {
            type_: str_of("type"),
            format,
            checked_format,
            nullable: bool_of("nullable"),
            // A `null` default is no default (apiextensions drops it).
            default: v.get("default").filter(|d| !d.is_null()).cloned(),
            properties,
            items: v
                .get("items")
                .filter(|i| i.is_object())
                .map(|i| Box::new(StructuralSchema::parse(i))),
            additional_properties,
            preserve_unknown_fields: bool_of("x-kubernetes-preserve-unknown-fields"),
            int_or_string: bool_of("x-kubernetes-int-or-string"),
            embedded_resource: bool_of("x-kubernetes-embedded-resource"),
            list_type: v
                .get("x-kubernetes-list-type")
                .and_then(Value::as_str)
                .map(String::from),
            list_map_keys: strings_of("x-kubernetes-list-map-keys"),
            map_type: v
                .get("x-kubernetes-map-type")
                .and_then(Value::as_str)
                .map(String::from),
            checks: Checks {
                maximum: f64_of("maximum"),
                exclusive_maximum: bool_of("exclusiveMaximum"),
                minimum: f64_of("minimum"),
                exclusive_minimum: bool_of("exclusiveMinimum"),
                multiple_of: f64_of("multipleOf"),
                max_length: i64_of("maxLength"),
                min_length: i64_of("minLength"),
                pattern,
                max_items: i64_of("maxItems"),
                min_items: i64_of("minItems"),
                unique_items: bool_of("uniqueItems"),
                max_properties: i64_of("maxProperties"),
                min_properties: i64_of("minProperties"),
                required: strings_of("required"),
                enum_: v
                    .get("enum")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                all_of: list_of("allOf"),
                any_of: list_of("anyOf"),
                one_of: list_of("oneOf"),
                not: v
                    .get("not")
                    .filter(|n| n.is_object())
                    .map(|n| Box::new(StructuralSchema::parse(n))),
            },
        }
    }

    /// `type` (empty when unset, e.g. under `x-kubernetes-int-or-string`).
    pub fn type_name(&self) -> &str {
        &self.type_
    }

    pub fn format(&self) -> &str {
        &self.format
    }

    pub fn nullable(&self) -> bool {
        self.nullable
    }

    pub fn default_value(&self) -> Option<&Value> {
        self.default.as_ref()
    }

    pub fn preserves_unknown_fields(&self) -> bool {
        self.preserve_unknown_fields
    }

    pub fn is_int_or_string(&self) -> bool {
        self.int_or_string
    }

    pub fn is_embedded_resource(&self) -> bool {
        self.embedded_resource
    }

    /// `x-kubernetes-list-type`: `atomic`, `set` or `map` (None when unset).
    pub fn list_type(&self) -> Option<&str> {
        self.list_type.as_deref()
    }

    /// `x-kubernetes-list-map-keys` (empty when unset).
    pub fn list_map_keys(&self) -> &[String] {
        &self.list_map_keys
    }

    /// `x-kubernetes-map-type`: `atomic` or `granular` (None when unset).
    pub fn map_type(&self) -> Option<&str> {
        self.map_type.as_deref()
    }

    /// The schema of a declared property.
    pub fn property(&self, name: &str) -> Option<&StructuralSchema> {
        self.properties
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, s)| s)
    }

    /// The names of the declared properties, in declaration order.
    pub fn property_names(&self) -> impl Iterator<Item = &str> {
        self.properties.iter().map(|(k, _)| k.as_str())
    }

    /// The schema of array items.
    pub fn items(&self) -> Option<&StructuralSchema> {
        self.items.as_deref()
    }

    /// The schema of the values of a map (`additionalProperties` schema).
    pub fn additional_properties(&self) -> Option<&StructuralSchema> {
        match &self.additional_properties {
            Some(AdditionalProperties::Schema(s)) => Some(s),
            _ => None,
        }
    }

    /// The schema a field `name` of an object of this schema follows: the
    /// declared property, else the `additionalProperties` schema.
    pub fn field(&self, name: &str) -> Option<&StructuralSchema> {
        self.property(name).or_else(|| self.additional_properties())
    }

    /// The sub-schema at a field path (`["status"]`, `["spec", "replicas"]`);
    /// a segment `[]` steps into array items.
    pub fn at_path(&self, path: &[&str]) -> Option<&StructuralSchema> {
        let mut s = self;
        for seg in path {
            s = if *seg == "[]" {
                s.items()?
            } else {
                s.field(seg)?
            };
        }
        Some(s)
    }
}

/// An integer from JSON, also when written as an integral float (`5.0`).
pub(crate) fn json_int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
            .map(|f| f as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "replicas": {"type": "integer", "format": "int32", "minimum": 1},
                "ports": {"type": "array", "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["port"],
                    "items": {"type": "object", "required": ["port"],
                        "properties": {"port": {"type": "integer"}}}},
                "labels": {"type": "object", "x-kubernetes-map-type": "granular",
                    "additionalProperties": {"type": "string", "format": "date-time"}}}},
            "status": {"type": "object", "properties": {"ready": {"type": "integer"}}}}})
    }

    #[test]
    fn crd_schema_accessors_walk_paths() {
        let s = StructuralSchema::from_value(&schema()).expect("structural");
        assert_eq!(
            s.at_path(&["spec", "replicas"]).map(|s| s.type_name()),
            Some("integer")
        );
        let ports = s.at_path(&["spec", "ports"]).expect("ports");
        assert_eq!(ports.list_type(), Some("map"));
        assert_eq!(ports.list_map_keys(), ["port".to_string()]);
        assert_eq!(
            s.at_path(&["spec", "ports", "[]", "port"])
                .map(|s| s.type_name()),
            Some("integer")
        );
        assert_eq!(
            s.at_path(&["spec", "labels"]).and_then(|s| s.map_type()),
            Some("granular")
        );
        let label = s
            .at_path(&["spec", "labels", "anything"])
            .expect("additionalProperties");
        assert_eq!(label.checked_format, "datetime");
        // int32 is not a format the apiextensions validator checks.
        assert_eq!(
            s.at_path(&["spec", "replicas"])
                .map(|s| s.checked_format.as_str()),
            Some("")
        );
        assert!(s.at_path(&["spec", "nope"]).is_none());
        assert_eq!(s.property_names().collect::<Vec<_>>(), ["spec", "status"]);
        assert!(s.at_path(&["status"]).is_some());
    }

    #[test]
    fn crd_schema_from_value_rejects_non_structural() {
        let errs = StructuralSchema::from_value(&json!({"type": "object",
            "properties": {"spec": {"properties": {}}}}))
        .expect_err("missing type");
        assert_eq!(
            errs[0].message(),
            "properties[spec].type: Required value: must not be empty for specified object fields"
        );
    }

    #[test]
    fn crd_schema_parse_keeps_bad_patterns_and_null_defaults_out() {
        let s =
            StructuralSchema::parse(&json!({"type": "string", "pattern": "(", "default": null}));
        assert!(
            s.checks
                .pattern
                .as_ref()
                .is_some_and(|p| p.compiled.is_err())
        );
        assert!(s.default_value().is_none());
        assert_eq!(json_int(&json!(5.0)), Some(5));
        assert_eq!(json_int(&json!(5.5)), None);
    }
}
