//! Media types: decoding request bodies (JSON, YAML, protobuf) and choosing
//! the response form the client's `Accept` header asks for (an object, a
//! `Table`, or `PartialObjectMetadata`).

use crate::error::ApiError;
use serde_json::Value;

/// The form of a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    Yaml,
    Table,
    PartialObjectMetadata,
    PartialObjectMetadataList,
}

/// Picks the first acceptable form from an `Accept` header, as the API
/// server's negotiation does: `as=Table` and `as=PartialObjectMetadata*`
/// in group `meta.k8s.io` version v1 (or v1beta1), otherwise plain JSON;
/// protobuf is understood as "JSON will do" because we answer in JSON.
pub fn negotiate(accept: Option<&str>) -> Result<Output, ApiError> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(Output::Json);
    };
    for clause in accept.split(',') {
        let mut parts = clause.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut as_ = None;
        let mut group = None;
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                match k.trim() {
                    "as" => as_ = Some(v.trim().to_string()),
                    "g" => group = Some(v.trim().to_string()),
                    _ => {}
                }
            }
        }
        match media.as_str() {
            "application/json" | "*/*" | "application/*" | "application/vnd.kubernetes.protobuf" => {
                match (as_.as_deref(), group.as_deref()) {
                    (None, _) => return Ok(Output::Json),
                    (Some("Table"), Some("meta.k8s.io")) => return Ok(Output::Table),
                    (Some("PartialObjectMetadata"), Some("meta.k8s.io")) => {
                        return Ok(Output::PartialObjectMetadata);
                    }
                    (Some("PartialObjectMetadataList"), Some("meta.k8s.io")) => {
                        return Ok(Output::PartialObjectMetadataList);
                    }
                    _ => continue,
                }
            }
            "application/yaml" if as_.is_none() => return Ok(Output::Yaml),
            _ => continue,
        }
    }
    Err(ApiError::NotAcceptable)
}

/// The formats a request body can come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Json,
    Yaml,
    Protobuf,
    JsonPatch,
    MergePatch,
    StrategicMergePatch,
    ApplyPatch,
}

/// Reads the `Content-Type` header; a missing one means JSON (the Python
/// client sends none).
pub fn body_format(content_type: Option<&str>) -> Result<BodyFormat, ApiError> {
    let Some(ct) = content_type else { return Ok(BodyFormat::Json) };
    let media = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    Ok(match media.as_str() {
        "" | "application/json" => BodyFormat::Json,
        "application/yaml" | "application/x-yaml" | "text/yaml" => BodyFormat::Yaml,
        "application/vnd.kubernetes.protobuf" => BodyFormat::Protobuf,
        "application/json-patch+json" => BodyFormat::JsonPatch,
        "application/merge-patch+json" => BodyFormat::MergePatch,
        "application/strategic-merge-patch+json" => BodyFormat::StrategicMergePatch,
        "application/apply-patch+yaml" => BodyFormat::ApplyPatch,
        _ => return Err(ApiError::UnsupportedMediaType),
    })
}

/// Decodes an object body (create, update) into JSON.
pub fn decode_object(body: &[u8], format: BodyFormat) -> Result<Value, ApiError> {
    let value = match format {
        BodyFormat::Json => serde_json::from_slice::<Value>(body)
            .map_err(|e| ApiError::BadRequest(format!("error decoding request body as JSON: {e}")))?,
        BodyFormat::Yaml => decode_yaml(body)?,
        BodyFormat::Protobuf => apimachinery::protobuf::decode(body)
            .map_err(|e| ApiError::BadRequest(format!("error decoding request body as protobuf: {e}")))?,
        _ => return Err(ApiError::UnsupportedMediaType),
    };
    if !value.is_object() {
        return Err(ApiError::BadRequest(format!(
            "the request body must be a JSON object, got {}",
            json_type_name(&value)
        )));
    }
    Ok(value)
}

/// Decodes a YAML document into JSON; YAML-only features (non-string keys,
/// tags) are rejected rather than guessed at.
pub fn decode_yaml(body: &[u8]) -> Result<Value, ApiError> {
    serde_yaml_ng::from_slice::<Value>(body)
        .map_err(|e| ApiError::BadRequest(format!("error decoding request body as YAML: {e}")))
}

pub fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_negotiates_kubectl_table() {
        let a = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(negotiate(Some(a)).ok(), Some(Output::Table));
        assert_eq!(negotiate(None).ok(), Some(Output::Json));
        assert_eq!(negotiate(Some("application/vnd.kubernetes.protobuf, */*")).ok(), Some(Output::Json));
        assert!(matches!(negotiate(Some("text/html")), Err(ApiError::NotAcceptable)));
    }

    #[test]
    fn codec_body_formats() {
        assert_eq!(body_format(None).ok(), Some(BodyFormat::Json));
        assert_eq!(body_format(Some("application/json; charset=utf-8")).ok(), Some(BodyFormat::Json));
        assert_eq!(body_format(Some("application/strategic-merge-patch+json")).ok(), Some(BodyFormat::StrategicMergePatch));
        assert!(matches!(body_format(Some("text/plain")), Err(ApiError::UnsupportedMediaType)));
    }

    #[test]
    fn codec_rejects_non_objects() {
        assert!(decode_object(b"[1]", BodyFormat::Json).is_err());
        assert!(decode_object(b"{", BodyFormat::Json).is_err());
        assert!(decode_object(b"a: [", BodyFormat::Yaml).is_err());
        assert!(decode_object(b"kind: Pod", BodyFormat::Yaml).is_ok());
    }
}
