//! The schema definitions every document is cut from: the built-in kinds'
//! schemas generated once per process from k8s-openapi (with the Kubernetes
//! extensions it lacks), plus the definitions of the kinds a caller passes
//! with their own schema. Definitions refer to each other as
//! `#/definitions/<name>`; the v3 documents rewrite that on output.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::schemars::Schema;
use k8s_openapi::schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::kinds::{self, BUILTIN_KINDS};
use crate::patch_meta;
use crate::resource::ResourceSpec;

pub(crate) const REF_PREFIX: &str = "#/definitions/";

/// A group, version and kind, in the order Kubernetes' extensions print them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    pub fn new(group: &str, version: &str, kind: &str) -> Self {
        Gvk {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
        }
    }

    /// The value of `x-kubernetes-group-version-kind`: an object on
    /// operations, the elements of a list on definitions.
    pub fn to_json(&self) -> Value {
        json!({"group": self.group, "kind": self.kind, "version": self.version})
    }
}

/// Where a built-in kind's schema and its list's schema live.
pub(crate) struct KindDefinitions {
    pub definition: String,
    pub list: Option<String>,
}

pub(crate) struct Builtins {
    pub definitions: BTreeMap<String, Value>,
    pub kinds: BTreeMap<Gvk, KindDefinitions>,
}

/// The built-in definitions, generated on first use and kept for the life
/// of the process (they depend on nothing but this crate's tables).
pub(crate) fn builtins() -> &'static Builtins {
    static BUILTINS: OnceLock<Builtins> = OnceLock::new();
    BUILTINS.get_or_init(generate_builtins)
}

fn ref_name(schema: &Schema) -> Option<String> {
    schema
        .get("$ref")?
        .as_str()?
        .strip_prefix(REF_PREFIX)
        .map(str::to_string)
}

pub(crate) fn reference(name: &str) -> Value {
    json!({ "$ref": format!("{REF_PREFIX}{name}") })
}

fn generate_builtins() -> Builtins {
    let mut generator = SchemaSettings::draft07()
        .with(|settings| {
            settings.definitions_path = "/definitions".into();
            settings.meta_schema = None;
            settings.transforms.clear();
        })
        .into_generator();
    let mut named = Vec::new();
    for builtin in BUILTIN_KINDS {
        let schema = (builtin.schema)(&mut generator);
        if let Some(name) = ref_name(&schema) {
            named.push((builtin, name));
        }
    }
    kinds::common_schemas(&mut generator);
    generator.subschema_for::<meta::ListMeta>();
    let mut definitions: BTreeMap<String, Value> =
        generator.take_definitions(false).into_iter().collect();

    // k8s-openapi describes these two by their Go behaviour only; Kubernetes'
    // v2 document gives them a string type (v3 output reshapes them again).
    if let Some(Value::Object(quantity)) = definitions.get_mut(kinds::QUANTITY) {
        quantity.remove("x-kubernetes-int-or-string");
        quantity.insert("type".into(), json!("string"));
    }
    if let Some(Value::Object(int_or_string)) = definitions.get_mut(kinds::INT_OR_STRING) {
        int_or_string.remove("x-kubernetes-int-or-string");
        int_or_string.insert("type".into(), json!("string"));
        int_or_string.insert("format".into(), json!("int-or-string"));
    }
    patch_meta::annotate(&mut definitions);

    let mut kinds = BTreeMap::new();
    for (builtin, name) in named {
        let gvk = Gvk::new(builtin.group, builtin.version, builtin.kind);
        // k8s-openapi requires `metadata` because its Rust field is not an
        // Option; Kubernetes requires it of core Events only.
        if name != "io.k8s.api.core.v1.Event" {
            unrequire(&mut definitions, &name, "metadata");
        }
        add_gvk(&mut definitions, &name, &gvk);
        let list = builtin.listed.then(|| {
            let list_name = format!("{name}List");
            let list_gvk = Gvk::new(
                builtin.group,
                builtin.version,
                &format!("{}List", builtin.kind),
            );
            let list = list_definition(definitions.get(&name), &name, builtin.kind, &list_gvk);
            definitions.insert(list_name.clone(), list);
            list_name
        });
        kinds.insert(
            gvk,
            KindDefinitions {
                definition: name,
                list,
            },
        );
    }
    Builtins { definitions, kinds }
}

fn unrequire(definitions: &mut BTreeMap<String, Value>, name: &str, field: &str) {
    let Some(Value::Object(definition)) = definitions.get_mut(name) else {
        return;
    };
    if let Some(Value::Array(required)) = definition.get_mut("required") {
        required.retain(|r| r != field);
        if required.is_empty() {
            definition.remove("required");
        }
    }
}

/// Appends `gvk` to the definition's `x-kubernetes-group-version-kind` list.
pub(crate) fn add_gvk(definitions: &mut BTreeMap<String, Value>, name: &str, gvk: &Gvk) {
    let Some(Value::Object(definition)) = definitions.get_mut(name) else {
        return;
    };
    let list = definition
        .entry("x-kubernetes-group-version-kind")
        .or_insert_with(|| json!([]));
    if let Value::Array(list) = list {
        let entry = gvk.to_json();
        if !list.contains(&entry) {
            list.push(entry);
        }
    }
}

/// The `<Kind>List` definition of a kind, with `apiVersion` and `kind`
/// described as the kind itself describes them.
fn list_definition(
    kind_definition: Option<&Value>,
    kind_name: &str,
    kind: &str,
    list_gvk: &Gvk,
) -> Value {
    let property = |field: &str| {
        kind_definition
            .and_then(|definition| definition.pointer(&format!("/properties/{field}")))
            .cloned()
            .unwrap_or_else(|| json!({"type": "string"}))
    };
    let mut metadata = reference(kinds::LIST_META);
    metadata["description"] =
        json!("Metadata of the list: its resourceVersion and, when paginated, the continue token.");
    json!({
        "description": format!("{kind}List is a list of {kind} objects."),
        "type": "object",
        "properties": {
            "apiVersion": property("apiVersion"),
            "items": {
                "description": format!("The {kind} objects of the list."),
                "type": "array",
                "items": reference(kind_name),
            },
            "kind": property("kind"),
            "metadata": metadata,
        },
        "required": ["items"],
        "x-kubernetes-group-version-kind": [list_gvk.to_json()],
    })
}

/// The definition name Kubernetes gives a custom resource's schema: the
/// group reversed like a Java package (`com.example.stable.v1.CronTab`).
pub(crate) fn custom_definition_name(group: &str, version: &str, kind: &str) -> String {
    let mut parts: Vec<&str> = group.split('.').filter(|part| !part.is_empty()).collect();
    parts.reverse();
    parts.push(version);
    parts.push(kind);
    parts.join(".")
}

/// One resource of a document with the names of its definitions.
pub(crate) struct Published<'a> {
    pub spec: &'a ResourceSpec,
    pub definition: String,
    pub list: String,
    /// Built-in kinds accept strategic merge patches; custom ones do not.
    pub builtin: bool,
}

/// The definitions of one resource set: the built-ins plus what the caller's
/// custom schemas add.
pub(crate) struct Catalog<'a> {
    builtins: &'static Builtins,
    custom: BTreeMap<String, Value>,
    pub resources: Vec<Published<'a>>,
}

impl<'a> Catalog<'a> {
    pub fn new(resources: &'a [ResourceSpec]) -> Self {
        let builtins = builtins();
        let mut custom = BTreeMap::new();
        let mut published = Vec::new();
        for spec in resources {
            let gvk = Gvk::new(&spec.group, &spec.version, &spec.kind);
            let known = builtins.kinds.get(&gvk);
            match (&spec.custom_schema, known) {
                (None, Some(KindDefinitions { definition, list })) => {
                    let list = match list {
                        Some(list) => list.clone(),
                        None => {
                            // A kind the table publishes without a list (Scale,
                            // Status) served as a resource after all.
                            let list_name = format!("{definition}List");
                            let list_gvk =
                                Gvk::new(&spec.group, &spec.version, &format!("{}List", spec.kind));
                            let list = list_definition(
                                builtins.definitions.get(definition),
                                definition,
                                &spec.kind,
                                &list_gvk,
                            );
                            custom.insert(list_name.clone(), list);
                            list_name
                        }
                    };
                    published.push(Published {
                        spec,
                        definition: definition.clone(),
                        list,
                        builtin: true,
                    });
                }
                (schema, _) => {
                    // A kind without a schema of its own (not in the table)
                    // still gets paths, with a schema that accepts anything,
                    // so clients find its operations.
                    let permissive =
                        json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
                    let schema = schema.as_deref().unwrap_or(&permissive);
                    let name = custom_definition_name(&spec.group, &spec.version, &spec.kind);
                    let list_name = format!("{name}List");
                    let definition = custom_definition(builtins, schema, &gvk);
                    let list_gvk =
                        Gvk::new(&spec.group, &spec.version, &format!("{}List", spec.kind));
                    let list = list_definition(Some(&definition), &name, &spec.kind, &list_gvk);
                    custom.insert(name.clone(), definition);
                    custom.insert(list_name.clone(), list);
                    published.push(Published {
                        spec,
                        definition: name,
                        list: list_name,
                        builtin: false,
                    });
                }
            }
        }
        Catalog {
            builtins,
            custom,
            resources: published,
        }
    }

    pub fn definition(&self, name: &str) -> Option<&Value> {
        self.custom
            .get(name)
            .or_else(|| self.builtins.definitions.get(name))
    }

    /// The definitions reachable from `roots`, cloned, with the GVK lists of
    /// the shared option types naming every group version in `served`.
    pub fn closure(
        &self,
        roots: impl IntoIterator<Item = String>,
        served: &BTreeSet<(String, String)>,
    ) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        let mut pending: Vec<String> = roots.into_iter().collect();
        while let Some(name) = pending.pop() {
            if out.contains_key(&name) {
                continue;
            }
            let Some(definition) = self.definition(&name) else {
                continue;
            };
            collect_refs(definition, &mut pending);
            out.insert(name, definition.clone());
        }
        for (group, version) in served {
            for name in [kinds::DELETE_OPTIONS, kinds::WATCH_EVENT] {
                let kind = name.rsplit('.').next().unwrap_or(name);
                add_gvk(&mut out, name, &Gvk::new(group, version, kind));
            }
        }
        out
    }
}

/// Adds the names of all definitions `value` refers to.
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => {
                        if let Some(name) = target.strip_prefix(REF_PREFIX) {
                            out.push(name.to_string());
                        }
                    }
                    _ => collect_refs(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, out)),
        _ => {}
    }
}

/// A caller's schema made into a kind definition as Kubernetes publishes
/// custom resources: `apiVersion`, `kind` and `metadata` (as `ObjectMeta`)
/// always present, and the GVK extension.
fn custom_definition(builtins: &Builtins, schema: &Value, gvk: &Gvk) -> Value {
    let mut definition = match schema {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    definition.entry("type").or_insert_with(|| json!("object"));
    let standard = builtins
        .definitions
        .get(kinds::STATUS)
        .and_then(|status| status.get("properties"))
        .and_then(Value::as_object);
    let properties = definition.entry("properties").or_insert_with(|| json!({}));
    if let Value::Object(properties) = properties {
        for field in ["apiVersion", "kind"] {
            let described = standard.and_then(|p| p.get(field)).cloned();
            properties
                .entry(field)
                .or_insert_with(|| described.unwrap_or_else(|| json!({"type": "string"})));
        }
        // Pod's `metadata` field carries Kubernetes' description of object metadata.
        let metadata = builtins
            .definitions
            .get("io.k8s.api.core.v1.Pod")
            .and_then(|pod| pod.pointer("/properties/metadata"))
            .cloned()
            .unwrap_or_else(|| reference(kinds::OBJECT_META));
        properties.insert("metadata".into(), metadata);
    }
    definition.insert(
        "x-kubernetes-group-version-kind".into(),
        json!([gvk.to_json()]),
    );
    Value::Object(definition)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;

    /// Every `$ref` target in `value`.
    pub(crate) fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("$ref", Value::String(target)) => out.push(target.clone()),
                        _ => refs(value, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
            _ => {}
        }
    }

    #[test]
    fn openapi_every_builtin_kind_has_a_definition() {
        let builtins = builtins();
        for kind in BUILTIN_KINDS {
            let entry = builtins
                .kinds
                .get(&Gvk::new(kind.group, kind.version, kind.kind));
            let definition = entry.and_then(|entry| builtins.definitions.get(&entry.definition));
            assert!(
                definition.is_some(),
                "{}/{} {}",
                kind.group,
                kind.version,
                kind.kind
            );
            assert_eq!(
                entry.is_some_and(|entry| entry.list.is_some()),
                kind.listed,
                "{}",
                kind.kind
            );
        }
        assert_eq!(
            builtins
                .kinds
                .get(&Gvk::new("events.k8s.io", "v1", "Event"))
                .map(|k| k.definition.as_str()),
            Some("io.k8s.api.events.v1.Event")
        );
        let required = |name: &str| {
            builtins
                .definitions
                .get(name)
                .and_then(|d| d.get("required"))
                .cloned()
        };
        assert_eq!(required("io.k8s.api.apps.v1.Deployment"), None);
        assert_eq!(
            required("io.k8s.api.discovery.v1.EndpointSlice"),
            Some(json!(["addressType", "endpoints"]))
        );
        assert_eq!(
            required("io.k8s.api.core.v1.Event"),
            Some(json!(["involvedObject", "metadata"]))
        );
    }

    #[test]
    fn openapi_custom_definition_names_reverse_the_group() {
        assert_eq!(
            custom_definition_name("stable.example.com", "v1", "CronTab"),
            "com.example.stable.v1.CronTab"
        );
    }

    #[test]
    fn openapi_custom_schema_gets_standard_fields_and_gvk() {
        let schema = Arc::new(json!({
            "type": "object",
            "properties": {"spec": {"type": "object", "properties": {"cronSpec": {"type": "string"}}}},
        }));
        let resources = vec![
            ResourceSpec::new("stable.example.com", "v1", "CronTab", "crontabs", true)
                .with_custom_schema(schema),
        ];
        let catalog = Catalog::new(&resources);
        let definition = catalog
            .definition("com.example.stable.v1.CronTab")
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            definition["x-kubernetes-group-version-kind"],
            json!([{"group": "stable.example.com", "kind": "CronTab", "version": "v1"}])
        );
        assert_eq!(
            definition["properties"]["metadata"]["$ref"],
            "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );
        assert_eq!(definition["properties"]["apiVersion"]["type"], "string");
        assert_eq!(
            definition["properties"]["spec"]["properties"]["cronSpec"]["type"],
            "string"
        );
        let list = catalog
            .definition("com.example.stable.v1.CronTabList")
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            list["properties"]["items"]["items"]["$ref"],
            "#/definitions/com.example.stable.v1.CronTab"
        );
        assert!(!catalog.resources[0].builtin);
    }
}
