//! The three patch formats of `PATCH` requests, applied to an object's JSON:
//! JSON patch (RFC 6902, [`apply_json_patch`]), JSON merge patch (RFC 7386,
//! [`apply_merge_patch`]) and Kubernetes' strategic merge patch
//! ([`apply_strategic_merge_patch`], built-in kinds only).
//!
//! Every function takes the current object by reference and returns a new
//! one: a patch that fails leaves nothing half-applied.
//!
//! [`strategic::schema`] also exposes the patch strategies and merge keys of
//! the built-in types (for `x-kubernetes-patch-strategy` in OpenAPI).

mod json;
mod merge;
pub mod strategic;

pub use json::{MAX_JSON_PATCH_OPERATIONS, apply_json_patch};
pub use merge::apply_merge_patch;
pub use strategic::apply_strategic_merge_patch;
pub use strategic::schema::{
    PatchStrategy, list_strategy, patch_strategy, supports_strategic_merge_patch,
};

/// Why a patch could not be applied. [`PatchError::status_code`] gives the
/// HTTP status Kubernetes answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The JSON patch is not a list of RFC 6902 operations.
    #[error("invalid JSON patch: {0}")]
    InvalidJsonPatch(String),
    /// The JSON patch has more operations than Kubernetes accepts.
    #[error("The allowed maximum operations in a JSON patch is {max}, got {got}")]
    TooManyOperations { max: usize, got: usize },
    /// An operation of a JSON patch failed (a `test` that did not match, a
    /// path that does not exist, ...).
    #[error("{0}")]
    JsonPatchFailed(String),
    /// A merge or strategic merge patch that is not a JSON object.
    #[error("a {format} patch must be a JSON object, got {got}")]
    PatchNotObject {
        format: &'static str,
        got: &'static str,
    },
    /// The object to patch is not a JSON object.
    #[error("the object to patch must be a JSON object, got {0}")]
    InvalidDocument(&'static str),
    /// Strategic merge patch asked for a kind without Go types (a custom
    /// resource): Kubernetes refuses the media type.
    #[error(
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    )]
    UnsupportedKind { group: String, kind: String },
    /// A malformed strategic merge patch directive (`$patch`, `$retainKeys`,
    /// `$setElementOrder`, `$deleteFromPrimitiveList`).
    #[error("{0}")]
    InvalidStrategicPatch(String),
    /// A strategic merge patch that does not fit the object (a list item
    /// without its merge key, mixed list element types, ...).
    #[error("{0}")]
    StrategicMergeFailed(String),
}

impl PatchError {
    /// The HTTP status for this error: 400 for malformed patches, 413 for
    /// too many operations, 415 for strategic merge on custom resources,
    /// 422 for patches that cannot be applied. (Kubernetes answers 500 for
    /// some strategic merge failures, a missing merge key among them; 422
    /// is used for all of those here.)
    pub fn status_code(&self) -> u16 {
        match self {
            PatchError::InvalidJsonPatch(_)
            | PatchError::PatchNotObject { .. }
            | PatchError::InvalidDocument(_)
            | PatchError::InvalidStrategicPatch(_) => 400,
            PatchError::TooManyOperations { .. } => 413,
            PatchError::UnsupportedKind { .. } => 415,
            PatchError::JsonPatchFailed(_) | PatchError::StrategicMergeFailed(_) => 422,
        }
    }
}
