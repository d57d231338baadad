//! Tables of custom resources: the Name column followed by the CRD
//! version's `additionalPrinterColumns`, or by an `Age` column when it has
//! none, as the apiextensions server does.

use jiff::Timestamp;
use serde_json::Value;

use super::describe::OBJECT_META_CREATION_TIMESTAMP;
use super::duration::{human_duration, parse_time};
use super::fields::{arr_at, int_at, str_at};
use super::jsonpath::JsonPath;
use super::{ColumnDefinition, ColumnType, NAME, Row, TableError, TableOptions, assemble, name};

/// One `additionalPrinterColumns` entry of a CRD version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterColumn {
    pub name: String,
    pub type_: ColumnType,
    pub format: String,
    pub description: String,
    pub priority: i32,
    /// The JSONPath of the value, relative to the object (`.spec.replicas`).
    pub json_path: String,
}

impl PrinterColumn {
    /// The printer columns of `version` in a `CustomResourceDefinition`,
    /// or the `Age` column Kubernetes serves when there are none.
    pub fn from_crd(crd: &Value, version: &str) -> Result<Vec<PrinterColumn>, TableError> {
        let v = arr_at(crd, &["spec", "versions"])
            .iter()
            .find(|v| str_at(v, &["name"]) == version)
            .ok_or_else(|| TableError::VersionNotFound {
                crd: str_at(crd, &["metadata", "name"]).to_string(),
                version: version.to_string(),
            })?;
        let columns = arr_at(v, &["additionalPrinterColumns"])
            .iter()
            .map(|c| {
                let type_name = str_at(c, &["type"]);
                let type_ = ColumnType::parse(type_name).ok_or_else(|| TableError::ColumnType {
                    name: str_at(c, &["name"]).to_string(),
                    type_: type_name.to_string(),
                })?;
                Ok(PrinterColumn {
                    name: str_at(c, &["name"]).to_string(),
                    type_,
                    format: str_at(c, &["format"]).to_string(),
                    description: str_at(c, &["description"]).to_string(),
                    priority: i32::try_from(int_at(c, &["priority"])).unwrap_or(0),
                    json_path: str_at(c, &["jsonPath"]).to_string(),
                })
            })
            .collect::<Result<Vec<_>, TableError>>()?;
        if columns.is_empty() {
            return Ok(vec![PrinterColumn {
                name: "Age".to_string(),
                type_: ColumnType::Date,
                format: String::new(),
                description: OBJECT_META_CREATION_TIMESTAMP.to_string(),
                priority: 0,
                json_path: ".metadata.creationTimestamp".to_string(),
            }]);
        }
        Ok(columns)
    }
}

/// The table printer of one custom resource version.
#[derive(Debug, Clone)]
pub struct CustomTable {
    columns: Vec<ColumnDefinition>,
    paths: Vec<(ColumnType, JsonPath)>,
}

impl CustomTable {
    /// Builds the printer. Like Kubernetes, a column whose JSONPath does
    /// not parse ends the columns there: the table keeps the columns before
    /// it and the error says which path failed.
    pub fn new(columns: &[PrinterColumn]) -> (CustomTable, Option<TableError>) {
        let mut table = CustomTable {
            columns: vec![NAME.definition()],
            paths: Vec::new(),
        };
        for c in columns {
            let path = match JsonPath::parse(&c.json_path) {
                Ok(p) => p,
                Err(_) => return (table, Some(TableError::ColumnPath(c.json_path.clone()))),
            };
            let description = if c.description.is_empty() {
                format!(
                    "Custom resource definition column (in JSONPath format): {}",
                    c.json_path
                )
            } else {
                c.description.clone()
            };
            table.columns.push(ColumnDefinition {
                name: c.name.clone(),
                type_: c.type_,
                format: c.format.clone(),
                description,
                priority: c.priority,
            });
            table.paths.push((c.type_, path));
        }
        (table, None)
    }

    pub fn column_definitions(&self) -> &[ColumnDefinition] {
        &self.columns
    }

    /// The row's cells: the name, then each column's first match (null
    /// when the path finds nothing).
    pub fn row_cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let mut cells = vec![name(obj)];
        for (type_, path) in &self.paths {
            let cell = match path.find(obj) {
                Ok(found) => found
                    .first()
                    .map_or(Value::Null, |v| cell_for(*type_, v, now)),
                Err(_) => Value::Null,
            };
            cells.push(cell);
        }
        cells
    }

    /// The complete Table, as [`super::build_table`] builds it for
    /// built-in kinds.
    pub fn build_table(
        &self,
        objs: &[Value],
        options: &TableOptions,
        now: Timestamp,
        list_meta: &Value,
    ) -> Value {
        let columns = (!options.no_headers).then(|| self.columns.clone());
        let rows = objs
            .iter()
            .map(|o| (Row::new(self.row_cells(o, now)), o))
            .collect();
        assemble(columns, rows, options, list_meta)
    }
}

/// A found value as a cell of the column's type; values of another type
/// leave the cell empty, except in string columns, which print anything.
fn cell_for(type_: ColumnType, v: &Value, now: Timestamp) -> Value {
    match (type_, v) {
        (ColumnType::String, v) => Value::from(go_print(v)),
        (_, Value::Null) => Value::Null,
        (ColumnType::Integer, Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map_or(Value::Null, Value::from),
        (ColumnType::Number, Value::Number(n)) => n.as_f64().map_or(Value::Null, Value::from),
        (ColumnType::Boolean, Value::Bool(b)) => Value::Bool(*b),
        (ColumnType::Date, Value::String(s)) if s.is_empty() || s == "null" => {
            Value::from("<unknown>")
        }
        (ColumnType::Date, Value::String(s)) => match parse_time(s) {
            Some(t) => Value::from(human_duration(now.duration_since(t))),
            None => Value::from("<invalid>"),
        },
        _ => Value::Null,
    }
}

/// How kubectl's JSONPath printer writes a value: text as is, numbers and
/// booleans as Go prints them, lists and maps as compact JSON.
fn go_print(v: &Value) -> String {
    match v {
        Value::Null => "<no value>".to_string(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => n.as_u64().map_or_else(
                || go_format_float(n.as_f64().unwrap_or(0.0)),
                |u| u.to_string(),
            ),
        },
        Value::Array(_) | Value::Object(_) => {
            let mut out = String::new();
            go_json(v, &mut out);
            out
        }
    }
}

/// Go's `%v` of a float64 (`%g` with the shortest digits): exponent form
/// below 1e-4 and from 1e6 up.
pub(crate) fn go_format_float(f: f64) -> String {
    if f == 0.0 {
        return "0".to_string();
    }
    if !f.is_finite() {
        return if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        }
        .to_string();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e6".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    // Display prints the same shortest digits in positional notation.
    format!("{f}")
}

/// Go's `encoding/json` output: map keys sorted, HTML characters escaped.
fn go_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_string(k, out);
                out.push(':');
                go_json(&m[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(x, out);
            }
            out.push(']');
        }
        Value::String(s) => go_json_string(s, out),
        Value::Number(n) if n.is_f64() => out.push_str(&go_json_float(n.as_f64().unwrap_or(0.0))),
        other => out.push_str(&other.to_string()),
    }
}

fn go_json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let sci = format!("{f:e}");
        return match sci.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => sci,
        };
    }
    format!("{f}")
}

fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::super::tests::now;
    use super::*;
    use serde_json::json;

    fn crd() -> Value {
        json!({"metadata": {"name": "widgets.example.com"}, "spec": {"versions": [
            {"name": "v1", "additionalPrinterColumns": [
                {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status",
                 "description": "Whether the widget is ready"},
                {"name": "Ratio", "type": "number", "jsonPath": ".status.ratio", "priority": 1},
                {"name": "Enabled", "type": "boolean", "jsonPath": ".spec.enabled"},
                {"name": "Ports", "type": "string", "jsonPath": ".spec.ports"},
                {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]},
            {"name": "v2"}]}})
    }

    #[test]
    fn table_custom_printer_columns() {
        let cols = PrinterColumn::from_crd(&crd(), "v1").expect("version exists");
        let (table, err) = CustomTable::new(&cols);
        assert_eq!(err, None);
        let defs = table.column_definitions();
        assert_eq!(defs.len(), 7);
        assert_eq!(defs[0].format, "name");
        assert_eq!(
            defs[1].description,
            "Custom resource definition column (in JSONPath format): .spec.replicas"
        );
        assert_eq!(defs[2].description, "Whether the widget is ready");
        assert_eq!(defs[3].priority, 1);
        let w = json!({"metadata": {"name": "w1", "creationTimestamp": "2024-06-01T11:00:00Z"},
            "spec": {"replicas": 3, "enabled": "yes", "ports": [{"port": 80, "name": "<http>"}]},
            "status": {"ratio": 0.5, "conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(
            table.row_cells(&w, now()),
            vec![
                json!("w1"),
                json!(3),
                json!("True"),
                json!(0.5),
                Value::Null,
                json!("[{\"name\":\"\\u003chttp\\u003e\",\"port\":80}]"),
                json!("60m")
            ]
        );
        let bare = json!({"metadata": {"name": "w2"}});
        assert_eq!(
            table.row_cells(&bare, now())[1..],
            [
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null
            ]
        );
    }

    #[test]
    fn table_custom_default_age_column() {
        let cols = PrinterColumn::from_crd(&crd(), "v2").expect("version exists");
        let (table, _) = CustomTable::new(&cols);
        let names: Vec<&str> = table
            .column_definitions()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, vec!["Name", "Age"]);
        assert_eq!(table.column_definitions()[1].type_, ColumnType::Date);
        assert_eq!(
            table.column_definitions()[1].description,
            OBJECT_META_CREATION_TIMESTAMP
        );
        let w = json!({"metadata": {"name": "w", "creationTimestamp": "2024-06-01T11:59:58Z"}});
        assert_eq!(table.row_cells(&w, now()), vec![json!("w"), json!("2s")]);
        let t = table.build_table(
            &[w],
            &TableOptions::default(),
            now(),
            &json!({"resourceVersion": "5"}),
        );
        assert_eq!(t["rows"][0]["cells"], json!(["w", "2s"]));
        assert_eq!(t["metadata"]["resourceVersion"], "5");
        let err = PrinterColumn::from_crd(&crd(), "v3").expect_err("no such version");
        assert_eq!(
            err.to_string(),
            "version v3 not found in CustomResourceDefinition: widgets.example.com"
        );
    }

    #[test]
    fn table_custom_bad_path_keeps_earlier_columns() {
        let cols = vec![
            PrinterColumn {
                name: "A".into(),
                type_: ColumnType::String,
                format: String::new(),
                description: String::new(),
                priority: 0,
                json_path: ".a".into(),
            },
            PrinterColumn {
                name: "B".into(),
                type_: ColumnType::String,
                format: String::new(),
                description: String::new(),
                priority: 0,
                json_path: ".b[".into(),
            },
        ];
        let (table, err) = CustomTable::new(&cols);
        assert_eq!(err, Some(TableError::ColumnPath(".b[".into())));
        assert_eq!(table.column_definitions().len(), 2);
    }

    #[test]
    fn table_custom_go_value_printing() {
        assert_eq!(go_print(&json!(1.5)), "1.5");
        assert_eq!(go_print(&json!(3.0)), "3");
        assert_eq!(go_print(&json!(1e21)), "1e+21");
        assert_eq!(go_print(&json!(0.00001)), "1e-05");
        assert_eq!(go_print(&json!(1e6)), "1e+06");
        assert_eq!(go_print(&json!(123456.5)), "123456.5");
        assert_eq!(go_print(&json!(true)), "true");
        assert_eq!(go_print(&Value::Null), "<no value>");
        assert_eq!(
            go_print(&json!({"b": 1, "a": [1.5, "x&y"]})),
            "{\"a\":[1.5,\"x\\u0026y\"],\"b\":1}"
        );
        assert_eq!(
            cell_for(ColumnType::Date, &json!("yesterday"), now()),
            json!("<invalid>")
        );
        assert_eq!(cell_for(ColumnType::Integer, &json!(2.9), now()), json!(2));
        assert_eq!(cell_for(ColumnType::Number, &json!(2), now()), json!(2.0));
    }
}
