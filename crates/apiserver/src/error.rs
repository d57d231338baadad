//! Every error a client can see, and the one place it becomes a Kubernetes
//! `Status` with its reason and HTTP code.

use apimachinery::registry::Resource;
use apimachinery::validation::FieldError;
use http::StatusCode;
use serde_json::{Value, json};

/// The group and plural an error is about (`deployments.apps`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qualified {
    pub group: String,
    pub plural: String,
}

impl Qualified {
    pub fn of(r: &Resource) -> Self {
        Qualified { group: r.group.clone(), plural: r.plural.clone() }
    }
}

impl std::fmt::Display for Qualified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            write!(f, "{}", self.plural)
        } else {
            write!(f, "{}.{}", self.plural, self.group)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// {what} "{name}" not found
    #[error("{what} \"{name}\" not found")]
    NotFound { what: Qualified, name: String },
    /// the server could not find the requested resource
    #[error("the server could not find the requested resource")]
    UnknownPath,
    #[error("{what} \"{name}\" already exists")]
    AlreadyExists { what: Qualified, name: String },
    #[error("Operation cannot be fulfilled on {what} \"{name}\": {detail}")]
    Conflict { what: Qualified, name: String, detail: String },
    #[error("{}", apimachinery::validation::invalid_message(group, kind, name, causes))]
    Invalid { kind: String, group: String, name: String, causes: Vec<FieldError> },
    /// Invalid write options (`CreateOptions`, `UpdateOptions`,
    /// `PatchOptions` of `meta.k8s.io`): a bad `fieldManager` or `force`.
    #[error("{}", apimachinery::validation::invalid_message("meta.k8s.io", kind, "", causes))]
    InvalidOptions { kind: &'static str, causes: Vec<FieldError> },
    /// A server-side apply that would change fields other managers own;
    /// the message and causes come from `apimachinery::apply::Conflicts`.
    #[error("{message}")]
    ApplyConflict { message: String, causes: Vec<Value> },
    #[error("{0}")]
    BadRequest(String),
    /// A well-formed request the server cannot carry out on this object
    /// (a patch that does not apply).
    #[error("{0}")]
    Unprocessable(String),
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    #[error("only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io")]
    NotAcceptable,
    #[error("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json")]
    UnsupportedMediaType,
    #[error("{0}")]
    UnsupportedPatch(String),
    #[error("too old resource version: {requested} ({oldest})")]
    Expired { requested: i64, oldest: i64 },
    #[error("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.")]
    ContinueExpired,
    #[error("Request entity too large: limit is {limit}")]
    TooLarge { limit: usize },
    #[error("Unauthorized")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("Too large resource version: {requested}, current: {current}")]
    TooLargeResourceVersion { requested: i64, current: i64 },
    #[error("{0}")]
    Internal(String),
}

impl From<store::StoreError> for ApiError {
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::Compacted { requested, oldest } => ApiError::Expired { requested, oldest },
            store::StoreError::TooLargeResourceVersion { requested, current } => {
                ApiError::TooLargeResourceVersion { requested, current }
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Apply failures with the status Kubernetes gives them: conflicts are
/// 409 with their causes, bad bodies 400, unreadable stored entries 500.
impl From<apimachinery::apply::ApplyError> for ApiError {
    fn from(e: apimachinery::apply::ApplyError) -> Self {
        use apimachinery::apply::ApplyError;
        match e {
            ApplyError::Conflicts(c) => ApiError::ApplyConflict { message: c.to_string(), causes: c.causes() },
            other if other.status_code() == 500 => {
                ApiError::Internal(format!("failed to decode managed fields: {other}"))
            }
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl ApiError {
    pub fn code(&self) -> StatusCode {
        match self {
            ApiError::NotFound { .. } | ApiError::UnknownPath => StatusCode::NOT_FOUND,
            ApiError::AlreadyExists { .. } | ApiError::Conflict { .. } | ApiError::ApplyConflict { .. } => {
                StatusCode::CONFLICT
            }
            ApiError::Invalid { .. } | ApiError::InvalidOptions { .. } | ApiError::Unprocessable(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            ApiError::UnsupportedMediaType | ApiError::UnsupportedPatch(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Expired { .. } | ApiError::ContinueExpired => StatusCode::GONE,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooLargeResourceVersion { .. } => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } | ApiError::UnknownPath => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } | ApiError::ApplyConflict { .. } => "Conflict",
            ApiError::Invalid { .. } | ApiError::InvalidOptions { .. } | ApiError::Unprocessable(_) => "Invalid",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::MethodNotAllowed => "MethodNotAllowed",
            ApiError::NotAcceptable => "NotAcceptable",
            ApiError::UnsupportedMediaType | ApiError::UnsupportedPatch(_) => "UnsupportedMediaType",
            ApiError::Expired { .. } | ApiError::ContinueExpired => "Expired",
            ApiError::TooLarge { .. } => "RequestEntityTooLarge",
            ApiError::Unauthorized => "Unauthorized",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::TooLargeResourceVersion { .. } => "Timeout",
            ApiError::Internal(_) => "InternalError",
        }
    }

    fn details(&self) -> Option<Value> {
        match self {
            ApiError::NotFound { what, name }
            | ApiError::AlreadyExists { what, name }
            | ApiError::Conflict { what, name, .. } => {
                let mut d = json!({"name": name, "kind": what.plural});
                if !what.group.is_empty() {
                    d["group"] = json!(what.group);
                }
                Some(d)
            }
            ApiError::Invalid { kind, group, name, causes } => {
                let causes: Vec<Value> = causes
                    .iter()
                    .map(|c| json!({"reason": c.reason(), "message": c.body(), "field": c.field}))
                    .collect();
                let mut d = json!({"name": name, "kind": kind, "causes": causes});
                if !group.is_empty() {
                    d["group"] = json!(group);
                }
                Some(d)
            }
            ApiError::InvalidOptions { kind, causes } => Some(json!({
                "group": "meta.k8s.io",
                "kind": kind,
                "causes": causes
                    .iter()
                    .map(|c| json!({"reason": c.reason(), "message": c.body(), "field": c.field}))
                    .collect::<Vec<_>>(),
            })),
            ApiError::ApplyConflict { causes, .. } => Some(json!({"causes": causes})),
            ApiError::TooLargeResourceVersion { .. } => Some(json!({
                "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                "retryAfterSeconds": 1
            })),
            _ => None,
        }
    }

    /// The `Status` object of this error.
    pub fn status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code().as_u16(),
        });
        if let Some(d) = self.details() {
            status["details"] = d;
        }
        status
    }
}

/// A `Status` reporting success, as delete of a whole collection returns.
pub fn success_status(details: Option<Value>) -> Value {
    let mut s = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"});
    if let Some(d) = details {
        s["details"] = d;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_not_found_matches_kubernetes() {
        let e = ApiError::NotFound {
            what: Qualified { group: "apps".into(), plural: "deployments".into() },
            name: "web".into(),
        };
        let s = e.status();
        assert_eq!(s["message"], "deployments.apps \"web\" not found");
        assert_eq!(s["code"], 404);
        assert_eq!(s["details"], json!({"name": "web", "group": "apps", "kind": "deployments"}));
    }

    #[test]
    fn api_error_expired_is_gone() {
        let e = ApiError::Expired { requested: 3, oldest: 10 };
        assert_eq!(e.code(), StatusCode::GONE);
        assert_eq!(e.status()["reason"], "Expired");
        assert_eq!(e.to_string(), "too old resource version: 3 (10)");
    }
}
