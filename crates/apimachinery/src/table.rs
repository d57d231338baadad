//! Server-side printing: the `meta.k8s.io/v1` `Table` that `kubectl get`
//! asks for (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), with
//! the columns and cell values of Kubernetes' built-in printers.
//!
//! Like the Kubernetes API server, every column is sent, including the
//! priority 1 columns that only `kubectl get -o wide` shows; the client
//! filters. Kinds without a printer get the default `Name`/`Created At`
//! table; custom resources get their CRD's printer columns through
//! [`CustomTable`].

mod apps;
mod autoscaling;
mod batch;
mod cluster;
mod core;
mod custom;
pub(crate) use custom::go_format_float;
mod describe;
mod duration;
mod event;
mod fields;
mod jsonpath;
mod networking;
mod pod;
mod quantity;
mod storage;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub use custom::{CustomTable, PrinterColumn};
pub use duration::human_duration;

use describe::{OBJECT_META_CREATION_TIMESTAMP, OBJECT_META_NAME};

/// The type of a column's cells, as the Table declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    String,
    Integer,
    Number,
    Boolean,
    Date,
}

impl ColumnType {
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::Integer => "integer",
            ColumnType::Number => "number",
            ColumnType::Boolean => "boolean",
            ColumnType::Date => "date",
        }
    }

    /// The column type a CRD printer column declares.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => ColumnType::String,
            "integer" => ColumnType::Integer,
            "number" => ColumnType::Number,
            "boolean" => ColumnType::Boolean,
            "date" => ColumnType::Date,
            _ => return None,
        })
    }
}

/// One column of a Table (`metav1.TableColumnDefinition`). Every field is
/// always serialized, as Kubernetes does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDefinition {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: ColumnType,
    pub format: String,
    pub description: String,
    /// 0 for columns `kubectl get` shows, 1 for those only `-o wide` shows.
    pub priority: i32,
}

/// What each row carries in `object` (the `includeObject` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    /// `"object": null`.
    None,
    /// A `PartialObjectMetadata` with the object's metadata: what `kubectl
    /// get` uses (namespaces, labels) unless it sorts.
    #[default]
    Metadata,
    /// The object itself, as the caller passed it.
    Object,
}

impl IncludeObject {
    /// Parses the query parameter; empty means the default, `Metadata`.
    pub fn parse(s: &str) -> Result<Self, TableError> {
        match s {
            "" | "Metadata" => Ok(IncludeObject::Metadata),
            "None" => Ok(IncludeObject::None),
            "Object" => Ok(IncludeObject::Object),
            other => Err(TableError::IncludeObject(other.to_string())),
        }
    }
}

/// The `meta.k8s.io` version the client asked the Table in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableVersion {
    #[default]
    V1,
    V1beta1,
}

impl TableVersion {
    pub fn api_version(self) -> &'static str {
        match self {
            TableVersion::V1 => "meta.k8s.io/v1",
            TableVersion::V1beta1 => "meta.k8s.io/v1beta1",
        }
    }
}

/// How to build a Table (`metav1.TableOptions` plus the requested version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableOptions {
    pub include_object: IncludeObject,
    /// Omit the column definitions (`columnDefinitions: null`); the API
    /// server sets this for every watch event after the first.
    pub no_headers: bool,
    pub version: TableVersion,
}

/// Errors of Table printing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// The `includeObject` query parameter is not one Kubernetes knows; the
    /// API server answers 400 with "Unable to convert to Table as
    /// requested: " before this message.
    #[error("includeObject: Invalid value: {0:?}: must be 'Metadata', 'Object', 'None', or empty")]
    IncludeObject(String),
    /// A CRD printer column whose JSONPath does not parse.
    #[error("unrecognized column definition {0:?}")]
    ColumnPath(String),
    /// A CRD printer column with a type outside the five Table types.
    #[error(
        "printer column {name:?} has type {type_:?}, expected one of integer, number, string, boolean, date"
    )]
    ColumnType { name: String, type_: String },
    /// The CRD does not define the version asked for.
    #[error("version {version} not found in CustomResourceDefinition: {crd}")]
    VersionNotFound { crd: String, version: String },
}

/// A column as the printers declare it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Col {
    name: &'static str,
    ty: ColumnType,
    format: &'static str,
    desc: &'static str,
    priority: i32,
}

impl Col {
    pub(crate) const fn string(name: &'static str, desc: &'static str) -> Col {
        Col {
            name,
            ty: ColumnType::String,
            format: "",
            desc,
            priority: 0,
        }
    }

    pub(crate) const fn integer(name: &'static str, desc: &'static str) -> Col {
        Col {
            name,
            ty: ColumnType::Integer,
            format: "",
            desc,
            priority: 0,
        }
    }

    pub(crate) const fn boolean(name: &'static str, desc: &'static str) -> Col {
        Col {
            name,
            ty: ColumnType::Boolean,
            format: "",
            desc,
            priority: 0,
        }
    }

    pub(crate) const fn date(name: &'static str, desc: &'static str) -> Col {
        Col {
            name,
            ty: ColumnType::Date,
            format: "",
            desc,
            priority: 0,
        }
    }

    /// Shown only by `kubectl get -o wide`.
    pub(crate) const fn wide(self) -> Col {
        Col {
            priority: 1,
            ..self
        }
    }

    pub(crate) const fn format(self, format: &'static str) -> Col {
        Col { format, ..self }
    }

    fn definition(&self) -> ColumnDefinition {
        ColumnDefinition {
            name: self.name.to_string(),
            type_: self.ty,
            format: self.format.to_string(),
            description: self.desc.to_string(),
            priority: self.priority,
        }
    }
}

/// The first column of (almost) every table: the object's name.
pub(crate) const NAME: Col = Col::string("Name", OBJECT_META_NAME).format("name");
/// The age column: `creationTimestamp` as a human duration.
pub(crate) const AGE: Col = Col::string("Age", OBJECT_META_CREATION_TIMESTAMP);
/// Containers and images of a pod template, for `-o wide`.
pub(crate) const CONTAINERS: Col =
    Col::string("Containers", "Names of each container in the template.").wide();
pub(crate) const IMAGES: Col = Col::string(
    "Images",
    "Images referenced by each container in the template.",
)
.wide();

/// One printed row.
pub(crate) struct Row {
    cells: Vec<Value>,
    /// `metav1.TableRowCondition`s (pods mark completed rows).
    conditions: Vec<Value>,
}

impl Row {
    pub(crate) fn new(cells: Vec<Value>) -> Row {
        Row {
            cells,
            conditions: Vec::new(),
        }
    }
}

/// The printer of one kind: its columns and how to fill a row.
pub(crate) struct Printer {
    group: &'static str,
    kind: &'static str,
    columns: &'static [Col],
    row: fn(&Value, Timestamp) -> Row,
}

impl Printer {
    pub(crate) const fn new(
        group: &'static str,
        kind: &'static str,
        columns: &'static [Col],
        row: fn(&Value, Timestamp) -> Row,
    ) -> Printer {
        Printer {
            group,
            kind,
            columns,
            row,
        }
    }
}

const DEFAULT_COLUMNS: &[Col] = &[
    NAME,
    Col::date("Created At", OBJECT_META_CREATION_TIMESTAMP),
];

static DEFAULT_PRINTER: Printer = Printer::new("", "", DEFAULT_COLUMNS, default_row);

/// The generic table of kinds without a printer: the name and the creation
/// time in RFC 3339.
fn default_row(obj: &Value, _now: Timestamp) -> Row {
    let created = fields::opt_str(obj, &["metadata", "creationTimestamp"])
        .and_then(duration::parse_time)
        .map_or_else(
            // Go formats its zero time.
            || "0001-01-01T00:00:00Z".to_string(),
            crate::object::format_time,
        );
    Row::new(vec![name(obj), Value::from(created)])
}

fn find_printer(group: &str, kind: &str) -> Option<&'static Printer> {
    [
        core::PRINTERS,
        pod::PRINTERS,
        event::PRINTERS,
        apps::PRINTERS,
        batch::PRINTERS,
        networking::PRINTERS,
        storage::PRINTERS,
        autoscaling::PRINTERS,
        cluster::PRINTERS,
    ]
    .into_iter()
    .flatten()
    .find(|p| p.group == group && p.kind == kind)
}

fn printer(group: &str, kind: &str) -> &'static Printer {
    find_printer(group, kind).unwrap_or(&DEFAULT_PRINTER)
}

/// Whether the kind has a printer of its own rather than the default
/// `Name`/`Created At` table.
pub fn has_printer(group: &str, kind: &str) -> bool {
    find_printer(group, kind).is_some()
}

/// The columns of the kind's Table, priority 1 columns included.
pub fn column_definitions(group: &str, kind: &str) -> Vec<ColumnDefinition> {
    printer(group, kind)
        .columns
        .iter()
        .map(Col::definition)
        .collect()
}

/// The cells of the object's row, one per column of
/// [`column_definitions`].
pub fn row_cells(group: &str, kind: &str, obj: &Value, now: Timestamp) -> Vec<Value> {
    (printer(group, kind).row)(obj, now).cells
}

/// The complete Table of `objs` (one object for a get, the items for a
/// list). `list_meta` is the list's metadata (`resourceVersion`,
/// `continue`, `remainingItemCount`); for a single object pass its
/// `resourceVersion` the same way.
pub fn build_table(
    group: &str,
    kind: &str,
    objs: &[Value],
    options: &TableOptions,
    now: Timestamp,
    list_meta: &Value,
) -> Value {
    let p = printer(group, kind);
    let columns = (!options.no_headers).then(|| p.columns.iter().map(Col::definition).collect());
    let mut objs: Vec<&Value> = objs.iter().collect();
    if group == "flowcontrol.apiserver.k8s.io" && kind == "FlowSchema" {
        // Kubernetes lists flow schemas in matching order.
        objs.sort_by(|a, b| cluster::flow_schema_order(a, b));
    }
    let rows = objs.into_iter().map(|o| ((p.row)(o, now), o)).collect();
    assemble(columns, rows, options, list_meta)
}

/// The Table object around printed rows.
fn assemble(
    columns: Option<Vec<ColumnDefinition>>,
    rows: Vec<(Row, &Value)>,
    options: &TableOptions,
    list_meta: &Value,
) -> Value {
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|(row, obj)| {
            let mut r = Map::new();
            r.insert("cells".into(), Value::Array(row.cells));
            if !row.conditions.is_empty() {
                r.insert("conditions".into(), Value::Array(row.conditions));
            }
            r.insert("object".into(), row_object(obj, options));
            Value::Object(r)
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": options.version.api_version(),
        "metadata": table_list_meta(list_meta),
        "columnDefinitions": columns,
        "rows": rows,
    })
}

fn row_object(obj: &Value, options: &TableOptions) -> Value {
    match options.include_object {
        IncludeObject::None => Value::Null,
        IncludeObject::Object => obj.clone(),
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": options.version.api_version(),
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    }
}

/// The `ListMeta` fields a Table carries, without empty ones.
fn table_list_meta(list_meta: &Value) -> Value {
    let mut out = Map::new();
    for key in [
        "selfLink",
        "resourceVersion",
        "continue",
        "remainingItemCount",
    ] {
        match list_meta.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(v) => {
                out.insert(key.to_string(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// The object's name as a cell.
pub(crate) fn name(obj: &Value) -> Value {
    Value::from(fields::str_at(obj, &["metadata", "name"]))
}

/// The object's age as a cell.
pub(crate) fn age(obj: &Value, now: Timestamp) -> Value {
    Value::from(duration::since(
        fields::opt_str(obj, &["metadata", "creationTimestamp"]),
        now,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn now() -> Timestamp {
        "2024-06-01T12:00:00Z".parse().expect("valid timestamp")
    }

    fn names(cols: &[ColumnDefinition]) -> Vec<(&str, i32)> {
        cols.iter().map(|c| (c.name.as_str(), c.priority)).collect()
    }

    #[test]
    fn table_default_name_and_created_at() {
        let cols = column_definitions("rbac.authorization.k8s.io", "Role");
        assert_eq!(names(&cols), vec![("Name", 0), ("Created At", 0)]);
        assert_eq!(cols[1].type_, ColumnType::Date);
        assert_eq!(cols[0].format, "name");
        assert!(!has_printer(
            "apiextensions.k8s.io",
            "CustomResourceDefinition"
        ));
        let crd = json!({"metadata": {"name": "widgets.example.com", "creationTimestamp": "2024-05-01T10:00:00Z"}});
        assert_eq!(
            row_cells(
                "apiextensions.k8s.io",
                "CustomResourceDefinition",
                &crd,
                now()
            ),
            vec![json!("widgets.example.com"), json!("2024-05-01T10:00:00Z")]
        );
        let no_time = json!({"metadata": {"name": "x"}});
        assert_eq!(
            row_cells("", "LimitRange", &no_time, now()),
            vec![json!("x"), json!("0001-01-01T00:00:00Z")]
        );
    }

    #[test]
    fn table_column_definition_json_shape() {
        let cols = column_definitions("", "ConfigMap");
        let v = serde_json::to_value(&cols[0]).expect("serializes");
        assert_eq!(
            v,
            json!({"name": "Name", "type": "string", "format": "name", "description": OBJECT_META_NAME, "priority": 0})
        );
    }

    #[test]
    fn table_build_with_partial_metadata() {
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "default", "resourceVersion": "7",
                         "creationTimestamp": "2024-06-01T11:59:00Z", "labels": {"a": "b"}},
            "data": {"k": "v", "k2": "v2"}
        });
        let table = build_table(
            "",
            "ConfigMap",
            std::slice::from_ref(&cm),
            &TableOptions::default(),
            now(),
            &json!({"resourceVersion": "9", "continue": ""}),
        );
        assert_eq!(table["kind"], "Table");
        assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(table["metadata"], json!({"resourceVersion": "9"}));
        assert_eq!(table["columnDefinitions"].as_array().map(Vec::len), Some(3));
        assert_eq!(table["rows"][0]["cells"], json!(["cfg", 2, "60s"]));
        assert_eq!(
            table["rows"][0]["object"],
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": cm["metadata"]})
        );
        assert!(table["rows"][0].get("conditions").is_none());
    }

    #[test]
    fn table_build_include_object_and_no_headers() {
        let cm = json!({"metadata": {"name": "cfg"}});
        let opts = TableOptions {
            include_object: IncludeObject::Object,
            no_headers: true,
            ..Default::default()
        };
        let t = build_table(
            "",
            "ConfigMap",
            std::slice::from_ref(&cm),
            &opts,
            now(),
            &json!({}),
        );
        assert_eq!(t["columnDefinitions"], Value::Null);
        assert_eq!(t["rows"][0]["object"], cm);
        assert_eq!(t["metadata"], json!({}));
        let opts = TableOptions {
            include_object: IncludeObject::None,
            ..Default::default()
        };
        let t = build_table(
            "",
            "ConfigMap",
            std::slice::from_ref(&cm),
            &opts,
            now(),
            &json!({}),
        );
        assert_eq!(t["rows"][0]["object"], Value::Null);
        let t = build_table(
            "",
            "ConfigMap",
            &[],
            &TableOptions::default(),
            now(),
            &json!({"resourceVersion": "3"}),
        );
        assert_eq!(t["rows"], json!([]));
    }

    #[test]
    fn table_columns_of_common_kinds() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "",
                "Pod",
                &[
                    "Name",
                    "Ready",
                    "Status",
                    "Restarts",
                    "Age",
                    "IP*",
                    "Node*",
                    "Nominated Node*",
                    "Readiness Gates*",
                ],
            ),
            (
                "apps",
                "Deployment",
                &[
                    "Name",
                    "Ready",
                    "Up-to-date",
                    "Available",
                    "Age",
                    "Containers*",
                    "Images*",
                    "Selector*",
                ],
            ),
            (
                "apps",
                "ReplicaSet",
                &[
                    "Name",
                    "Desired",
                    "Current",
                    "Ready",
                    "Age",
                    "Containers*",
                    "Images*",
                    "Selector*",
                ],
            ),
            (
                "apps",
                "StatefulSet",
                &["Name", "Ready", "Age", "Containers*", "Images*"],
            ),
            (
                "apps",
                "DaemonSet",
                &[
                    "Name",
                    "Desired",
                    "Current",
                    "Ready",
                    "Up-to-date",
                    "Available",
                    "Node Selector",
                    "Age",
                    "Containers*",
                    "Images*",
                    "Selector*",
                ],
            ),
            (
                "batch",
                "Job",
                &[
                    "Name",
                    "Status",
                    "Completions",
                    "Duration",
                    "Age",
                    "Containers*",
                    "Images*",
                    "Selector*",
                ],
            ),
            (
                "batch",
                "CronJob",
                &[
                    "Name",
                    "Schedule",
                    "Timezone",
                    "Suspend",
                    "Active",
                    "Last Schedule",
                    "Age",
                    "Containers*",
                    "Images*",
                    "Selector*",
                ],
            ),
            (
                "",
                "Service",
                &[
                    "Name",
                    "Type",
                    "Cluster-IP",
                    "External-IP",
                    "Port(s)",
                    "Age",
                    "Selector*",
                ],
            ),
            ("", "Endpoints", &["Name", "Endpoints", "Age"]),
            (
                "discovery.k8s.io",
                "EndpointSlice",
                &["Name", "AddressType", "Ports", "Endpoints", "Age"],
            ),
            ("", "ConfigMap", &["Name", "Data", "Age"]),
            ("", "Secret", &["Name", "Type", "Data", "Age"]),
            ("", "ServiceAccount", &["Name", "Secrets", "Age"]),
            ("", "Namespace", &["Name", "Status", "Age"]),
            (
                "",
                "Node",
                &[
                    "Name",
                    "Status",
                    "Roles",
                    "Age",
                    "Version",
                    "Internal-IP*",
                    "External-IP*",
                    "OS-Image*",
                    "Kernel-Version*",
                    "Container-Runtime*",
                ],
            ),
            (
                "",
                "Event",
                &[
                    "Last Seen",
                    "Type",
                    "Reason",
                    "Object",
                    "Subobject*",
                    "Source*",
                    "Message",
                    "First Seen*",
                    "Count*",
                    "Name*",
                ],
            ),
            (
                "events.k8s.io",
                "Event",
                &[
                    "Last Seen",
                    "Type",
                    "Reason",
                    "Object",
                    "Subobject*",
                    "Source*",
                    "Message",
                    "First Seen*",
                    "Count*",
                    "Name*",
                ],
            ),
            (
                "",
                "PersistentVolume",
                &[
                    "Name",
                    "Capacity",
                    "Access Modes",
                    "Reclaim Policy",
                    "Status",
                    "Claim",
                    "StorageClass",
                    "VolumeAttributesClass",
                    "Reason",
                    "Age",
                    "VolumeMode*",
                ],
            ),
            (
                "",
                "PersistentVolumeClaim",
                &[
                    "Name",
                    "Status",
                    "Volume",
                    "Capacity",
                    "Access Modes",
                    "StorageClass",
                    "VolumeAttributesClass",
                    "Age",
                    "VolumeMode*",
                ],
            ),
            (
                "storage.k8s.io",
                "StorageClass",
                &[
                    "Name",
                    "Provisioner",
                    "ReclaimPolicy",
                    "VolumeBindingMode",
                    "AllowVolumeExpansion",
                    "Age",
                ],
            ),
            ("", "ResourceQuota", &["Name", "Request", "Limit", "Age"]),
            ("", "LimitRange", &["Name", "Created At"]),
            (
                "apps",
                "ControllerRevision",
                &["Name", "Controller", "Revision", "Age"],
            ),
            (
                "autoscaling",
                "HorizontalPodAutoscaler",
                &[
                    "Name",
                    "Reference",
                    "Targets",
                    "MinPods",
                    "MaxPods",
                    "Replicas",
                    "Age",
                ],
            ),
            (
                "networking.k8s.io",
                "Ingress",
                &["Name", "Class", "Hosts", "Address", "Ports", "Age"],
            ),
            (
                "networking.k8s.io",
                "IngressClass",
                &["Name", "Controller", "Parameters", "Age"],
            ),
            (
                "networking.k8s.io",
                "NetworkPolicy",
                &["Name", "Pod-Selector", "Age"],
            ),
            ("coordination.k8s.io", "Lease", &["Name", "Holder", "Age"]),
            (
                "policy",
                "PodDisruptionBudget",
                &[
                    "Name",
                    "Min Available",
                    "Max Unavailable",
                    "Allowed Disruptions",
                    "Age",
                ],
            ),
            ("rbac.authorization.k8s.io", "Role", &["Name", "Created At"]),
            (
                "rbac.authorization.k8s.io",
                "ClusterRole",
                &["Name", "Created At"],
            ),
            (
                "rbac.authorization.k8s.io",
                "RoleBinding",
                &[
                    "Name",
                    "Role",
                    "Age",
                    "Users*",
                    "Groups*",
                    "ServiceAccounts*",
                ],
            ),
            (
                "rbac.authorization.k8s.io",
                "ClusterRoleBinding",
                &[
                    "Name",
                    "Role",
                    "Age",
                    "Users*",
                    "Groups*",
                    "ServiceAccounts*",
                ],
            ),
            (
                "apiextensions.k8s.io",
                "CustomResourceDefinition",
                &["Name", "Created At"],
            ),
        ];
        for (group, kind, want) in cases {
            let got: Vec<String> = column_definitions(group, kind)
                .iter()
                .map(|c| {
                    if c.priority == 1 {
                        format!("{}*", c.name)
                    } else {
                        c.name.clone()
                    }
                })
                .collect();
            assert_eq!(got, *want, "columns of {group}/{kind}");
        }
    }

    #[test]
    fn table_every_printer_fills_every_column() {
        let obj = json!({"metadata": {"name": "x", "creationTimestamp": "2024-06-01T11:00:00Z"}});
        for p in [
            core::PRINTERS,
            pod::PRINTERS,
            event::PRINTERS,
            apps::PRINTERS,
            batch::PRINTERS,
            networking::PRINTERS,
            storage::PRINTERS,
            autoscaling::PRINTERS,
            cluster::PRINTERS,
        ]
        .into_iter()
        .flatten()
        {
            assert!(has_printer(p.group, p.kind));
            let cells = row_cells(p.group, p.kind, &obj, now());
            // Kubernetes' IPAddress printer sends an age cell it declares no
            // column for.
            let extra = usize::from(p.kind == "IPAddress");
            assert_eq!(
                cells.len(),
                p.columns.len() + extra,
                "cells of {}/{}",
                p.group,
                p.kind
            );
        }
    }

    #[test]
    fn table_flow_schemas_list_in_matching_order() {
        let fs = |name: &str, precedence: i64| {
            json!({"metadata": {"name": name}, "spec": {"matchingPrecedence": precedence,
                   "priorityLevelConfiguration": {"name": "global-default"}}})
        };
        let objs = [
            fs("global-default", 9900),
            fs("exempt", 1),
            fs("catch-all", 10000),
            fs("abc", 1),
        ];
        let t = build_table(
            "flowcontrol.apiserver.k8s.io",
            "FlowSchema",
            &objs,
            &TableOptions::default(),
            now(),
            &json!({}),
        );
        let order: Vec<&Value> = t["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| &r["cells"][0])
            .collect();
        assert_eq!(order, vec!["abc", "exempt", "global-default", "catch-all"]);
    }

    #[test]
    fn table_include_object_parse() {
        assert_eq!(IncludeObject::parse(""), Ok(IncludeObject::Metadata));
        assert_eq!(IncludeObject::parse("None"), Ok(IncludeObject::None));
        assert_eq!(IncludeObject::parse("Object"), Ok(IncludeObject::Object));
        let err = IncludeObject::parse("All").expect_err("unknown value");
        assert_eq!(
            err.to_string(),
            "includeObject: Invalid value: \"All\": must be 'Metadata', 'Object', 'None', or empty"
        );
    }
}
