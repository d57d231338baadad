//! The Swagger 2.0 document in the protobuf encoding of gnostic's
//! `openapi.v2.Document`, which is the only form kubectl and client-go ask
//! `/openapi/v2` for (client-side validation, kubectl explain before 1.27).
//! Encoded by hand from the JSON document: the messages are few and fixed,
//! and only the fields Kubernetes documents use are written.

use serde_json::{Map, Value};

/// The media type kubectl and client-go put in `Accept` for `/openapi/v2`.
/// Its `@` is not a legal MIME token, so responses use
/// [`V2_PROTOBUF_CONTENT_TYPE`] (which clients may also ask for).
pub const V2_PROTOBUF_ACCEPT: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// The `Content-Type` of the protobuf document: Go's MIME parser in the
/// clients rejects the `@` form.
pub const V2_PROTOBUF_CONTENT_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// Encodes a Swagger 2.0 document (as [`crate::v2`] builds it).
pub fn v2_protobuf(document: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    w.string(1, str_of(document, "swagger"));
    if let Some(info) = document.get("info") {
        w.message(2, |w| {
            w.string(1, str_of(info, "title"));
            w.string(2, str_of(info, "version"));
        });
    }
    if let Some(Value::Object(paths)) = document.get("paths") {
        w.message(8, |w| {
            for (path, item) in paths {
                w.message(2, |w| {
                    w.string(1, path);
                    w.message(2, |w| path_item(w, item));
                });
            }
        });
    }
    if let Some(Value::Object(definitions)) = document.get("definitions") {
        w.message(9, |w| named_schemas(w, definitions));
    }
    if let Some(Value::Array(security)) = document.get("security") {
        for requirement in security {
            let Value::Object(requirement) = requirement else {
                continue;
            };
            w.message(12, |w| {
                for (name, scopes) in requirement {
                    w.message(1, |w| {
                        w.string(1, name);
                        w.message(2, |w| strings(w, 1, scopes));
                    });
                }
            });
        }
    }
    if let Some(Value::Object(definitions)) = document.get("securityDefinitions") {
        w.message(13, |w| {
            for (name, definition) in definitions {
                w.message(1, |w| {
                    w.string(1, name);
                    // SecurityDefinitionsItem.api_key_security: the only kind served.
                    w.message(2, |w| {
                        w.message(2, |w| {
                            w.string(1, str_of(definition, "type"));
                            w.string(2, str_of(definition, "name"));
                            w.string(3, str_of(definition, "in"));
                            w.string(4, str_of(definition, "description"));
                        })
                    });
                });
            }
        });
    }
    w.buf
}

fn str_of<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn strings(w: &mut Writer, field: u32, values: &Value) {
    if let Value::Array(values) = values {
        for value in values.iter().filter_map(Value::as_str) {
            w.string_always(field, value);
        }
    }
}

fn path_item(w: &mut Writer, item: &Value) {
    for (method, field) in [
        ("get", 2),
        ("put", 3),
        ("post", 4),
        ("delete", 5),
        ("patch", 8),
    ] {
        if let Some(operation) = item.get(method) {
            w.message(field, |w| self::operation(w, operation));
        }
    }
    parameters(w, 9, item.get("parameters"));
}

fn operation(w: &mut Writer, operation: &Value) {
    if let Some(tags) = operation.get("tags") {
        strings(w, 1, tags);
    }
    w.string(3, str_of(operation, "description"));
    w.string(5, str_of(operation, "operationId"));
    if let Some(produces) = operation.get("produces") {
        strings(w, 6, produces);
    }
    if let Some(consumes) = operation.get("consumes") {
        strings(w, 7, consumes);
    }
    parameters(w, 8, operation.get("parameters"));
    if let Some(Value::Object(responses)) = operation.get("responses") {
        w.message(9, |w| {
            for (code, response) in responses {
                w.message(1, |w| {
                    w.string(1, code);
                    // ResponseValue.response
                    w.message(2, |w| {
                        w.message(1, |w| {
                            w.string(1, str_of(response, "description"));
                            if let Some(schema) = response.get("schema") {
                                // SchemaItem.schema
                                w.message(2, |w| w.message(1, |w| self::schema(w, schema)));
                            }
                        })
                    });
                });
            }
        });
    }
    if let Some(schemes) = operation.get("schemes") {
        strings(w, 10, schemes);
    }
    if let Value::Object(map) = operation {
        vendor_extensions(w, 13, map);
    }
}

fn parameters(w: &mut Writer, field: u32, parameters: Option<&Value>) {
    let Some(Value::Array(parameters)) = parameters else {
        return;
    };
    for parameter in parameters {
        // ParametersItem.parameter
        w.message(field, |w| {
            w.message(1, |w| {
                let location = str_of(parameter, "in");
                let required = parameter.get("required") == Some(&Value::Bool(true));
                let unique = parameter.get("uniqueItems") == Some(&Value::Bool(true));
                if location == "body" {
                    w.message(1, |w| {
                        w.string(1, str_of(parameter, "description"));
                        w.string(2, str_of(parameter, "name"));
                        w.string(3, location);
                        w.bool(4, required);
                        if let Some(schema) = parameter.get("schema") {
                            w.message(5, |w| self::schema(w, schema));
                        }
                    });
                    return;
                }
                // NonBodyParameter: query (3) and path (4) sub-schemas share
                // their first fields; `type` and `uniqueItems` sit elsewhere.
                let (variant, type_field, unique_field) = match location {
                    "path" => (4, 5, 19),
                    _ => (3, 6, 20),
                };
                w.message(2, |w| {
                    w.message(variant, |w| {
                        w.bool(1, required);
                        w.string(2, location);
                        w.string(3, str_of(parameter, "description"));
                        w.string(4, str_of(parameter, "name"));
                        w.string(type_field, str_of(parameter, "type"));
                        w.bool(unique_field, unique);
                    })
                });
            })
        });
    }
}

fn named_schemas(w: &mut Writer, schemas: &Map<String, Value>) {
    for (name, schema) in schemas {
        w.message(1, |w| {
            w.string(1, name);
            w.message(2, |w| self::schema(w, schema));
        });
    }
}

fn schema(w: &mut Writer, schema: &Value) {
    let Value::Object(map) = schema else {
        return;
    };
    w.string(1, str_of(schema, "$ref"));
    w.string(2, str_of(schema, "format"));
    w.string(3, str_of(schema, "title"));
    w.string(4, str_of(schema, "description"));
    if let Some(default) = map.get("default") {
        w.message(5, |w| any(w, default));
    }
    for (key, field) in [("multipleOf", 6), ("maximum", 7), ("minimum", 9)] {
        if let Some(number) = map.get(key).and_then(Value::as_f64) {
            w.double(field, number);
        }
    }
    w.bool(8, map.get("exclusiveMaximum") == Some(&Value::Bool(true)));
    w.bool(10, map.get("exclusiveMinimum") == Some(&Value::Bool(true)));
    for (key, field) in [
        ("maxLength", 11),
        ("minLength", 12),
        ("maxItems", 14),
        ("minItems", 15),
        ("maxProperties", 17),
        ("minProperties", 18),
    ] {
        if let Some(number) = map.get(key).and_then(Value::as_i64) {
            w.int(field, number);
        }
    }
    w.string(13, str_of(schema, "pattern"));
    w.bool(16, map.get("uniqueItems") == Some(&Value::Bool(true)));
    if let Some(required) = map.get("required") {
        strings(w, 19, required);
    }
    if let Some(Value::Array(values)) = map.get("enum") {
        for value in values {
            w.message(20, |w| any(w, value));
        }
    }
    match map.get("additionalProperties") {
        Some(Value::Bool(allowed)) => w.message(21, |w| w.bool_always(2, *allowed)),
        Some(additional @ Value::Object(_)) => {
            w.message(21, |w| w.message(1, |w| self::schema(w, additional)))
        }
        _ => {}
    }
    match map.get("type") {
        Some(Value::String(kind)) => w.message(22, |w| w.string_always(1, kind)),
        Some(kinds @ Value::Array(_)) => w.message(22, |w| strings(w, 1, kinds)),
        _ => {}
    }
    match map.get("items") {
        Some(Value::Array(items)) => w.message(23, |w| {
            items
                .iter()
                .for_each(|item| w.message(1, |w| self::schema(w, item)))
        }),
        Some(item @ Value::Object(_)) => w.message(23, |w| w.message(1, |w| self::schema(w, item))),
        _ => {}
    }
    if let Some(Value::Array(all)) = map.get("allOf") {
        for item in all {
            w.message(24, |w| self::schema(w, item));
        }
    }
    if let Some(Value::Object(properties)) = map.get("properties") {
        w.message(25, |w| named_schemas(w, properties));
    }
    w.bool(27, map.get("readOnly") == Some(&Value::Bool(true)));
    if let Some(example) = map.get("example") {
        w.message(30, |w| any(w, example));
    }
    vendor_extensions(w, 31, map);
}

/// `x-` keys as `NamedAny`s, their values as YAML text (JSON is YAML).
fn vendor_extensions(w: &mut Writer, field: u32, map: &Map<String, Value>) {
    for (key, value) in map.iter().filter(|(key, _)| key.starts_with("x-")) {
        w.message(field, |w| {
            w.string(1, key);
            w.message(2, |w| any(w, value));
        });
    }
}

/// gnostic's `Any`, by its `yaml` field.
fn any(w: &mut Writer, value: &Value) {
    w.string_always(2, &value.to_string());
}

/// A protobuf writer for the handful of wire types the document uses.
#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.buf.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.buf.push(value as u8);
    }

    fn key(&mut self, field: u32, wire_type: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire_type));
    }

    fn bytes(&mut self, field: u32, bytes: &[u8]) {
        self.key(field, 2);
        self.varint(bytes.len() as u64);
        self.buf.extend_from_slice(bytes);
    }

    /// A proto3 string field; empty strings are the default and not written.
    fn string(&mut self, field: u32, value: &str) {
        if !value.is_empty() {
            self.bytes(field, value.as_bytes());
        }
    }

    /// An element of a repeated string, written even when empty.
    fn string_always(&mut self, field: u32, value: &str) {
        self.bytes(field, value.as_bytes());
    }

    fn bool(&mut self, field: u32, value: bool) {
        if value {
            self.bool_always(field, value);
        }
    }

    /// A bool inside a oneof, where `false` is a value too.
    fn bool_always(&mut self, field: u32, value: bool) {
        self.key(field, 0);
        self.varint(u64::from(value));
    }

    fn int(&mut self, field: u32, value: i64) {
        if value != 0 {
            self.key(field, 0);
            // int64 is encoded as its two's complement.
            self.varint(value as u64);
        }
    }

    fn double(&mut self, field: u32, value: f64) {
        if value != 0.0 {
            self.key(field, 1);
            self.buf.extend_from_slice(&value.to_le_bytes());
        }
    }

    /// A nested message, written even when empty (presence matters for
    /// message fields).
    fn message(&mut self, field: u32, body: impl FnOnce(&mut Writer)) {
        let mut inner = Writer::default();
        body(&mut inner);
        self.bytes(field, &inner.buf);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn openapi_v2_protobuf_encodes_fields_by_number() {
        let document = json!({
            "swagger": "2.0",
            "info": {"title": "K", "version": "v"},
            "definitions": {"A": {"type": "string", "x-k": "v"}},
        });
        let expected: Vec<u8> = [
            // swagger (1)
            &[0x0a, 3][..],
            b"2.0",
            // info (2): title (1), version (2)
            &[0x12, 6, 0x0a, 1, b'K', 0x12, 1, b'v'],
            // definitions (9) { additional_properties (1) { name (1), value (2) } }
            &[0x4a, 33, 0x0a, 31, 0x0a, 1, b'A', 0x12, 26],
            // Schema.type (22) { value (1) }
            &[0xb2, 0x01, 8, 0x0a, 6],
            b"string",
            // Schema.vendor_extension (31) { name (1), value (2) { yaml (2) } }
            &[0xfa, 0x01, 12, 0x0a, 3],
            b"x-k",
            &[0x12, 5, 0x12, 3],
            b"\"v\"",
        ]
        .concat();
        assert_eq!(v2_protobuf(&document), expected);
        let mut w = Writer::default();
        w.varint(300);
        assert_eq!(w.buf, [0xac, 0x02]);
    }
}
