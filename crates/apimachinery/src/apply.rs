//! Server-side apply and field ownership (`metadata.managedFields`) as pure
//! functions on JSON objects, following Kubernetes v1.33
//! (structured-merge-diff v4 and the apiserver's field manager).
//!
//! - [`FieldSet`] with the `fieldsV1` encoding ([`FieldSet::from_fields_v1`],
//!   [`FieldSet::to_fields_v1`]) and set algebra; [`field_set`] gives the
//!   fields an object sets.
//! - [`ApplySchema`] says how lists and maps merge; [`BuiltinSchema`] serves
//!   built-in kinds (from the strategic-merge tables), [`OpenApiSchema`]
//!   custom resources (from their OpenAPI v3 schema).
//! - [`apply`] merges an applied configuration and moves ownership, or
//!   fails with [`Conflicts`]; [`update_managed_fields`] records any other
//!   write.
//!
//! Never tracked: `apiVersion`, `kind`, and `metadata`'s `name`,
//! `namespace`, `uid`, `resourceVersion`, `generation`,
//! `creationTimestamp`, `selfLink`, `managedFields`. What a subresource does
//! not own (`status` through the main resource of a kind with a status
//! subresource) is the caller's `ignored` set, see [`reset_fields`].
//!
//! Differences from Kubernetes: managers' entries in other API versions are
//! compared without conversion (their paths are taken as they are);
//! schema changes between atomic and granular are not reconciled in old
//! entries; `null`s in an applied configuration are merged as values.

mod builtin;
mod cap;
mod compare;
mod conflict;
mod fields_v1;
mod fieldset;
mod gojson;
mod last_applied;
mod managed;
mod merge;
mod openapi;
mod path;
mod schema;
mod update;
mod validate;
mod walk;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_migration;

pub use builtin::BuiltinSchema;
pub use cap::{ANCIENT_CHANGES, MAX_UPDATE_MANAGERS};
pub use compare::{Comparison, compare};
pub use conflict::{Conflict, Conflicts, FIELD_MANAGER_CONFLICT};
pub use fieldset::FieldSet;
pub use last_applied::{KUBECTL_MANAGER, LAST_APPLIED_ANNOTATION};
pub use managed::{ManagedEntry, ManagedFields, ManagerId, Operation};
pub use merge::{merge, prune};
pub use openapi::OpenApiSchema;
pub use path::{Path, PathElement};
pub use schema::{ApplySchema, ListType, MapKey, MapType, Step, UntypedSchema};
pub use update::{ApplyOptions, UpdateOptions, apply, reset_fields, update_managed_fields};
pub use validate::validate_applied_config;
pub use walk::field_set;

/// Why an apply or a managed-fields update failed.
/// [`ApplyError::status_code`] gives the HTTP status Kubernetes answers with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApplyError {
    /// Fields other managers own would change; the message is Kubernetes'.
    #[error("{0}")]
    Conflicts(Conflicts),
    /// The apply body carries `metadata.managedFields`.
    #[error("metadata.managedFields must be nil")]
    ManagedFieldsInApply,
    /// The applied configuration is not a usable object.
    #[error("{0}")]
    InvalidConfig(String),
    /// An object does not fit its schema (a keyed list item without its key).
    #[error("{0}")]
    InvalidObject(String),
    /// Malformed `metadata.managedFields`.
    #[error("invalid managedFields: {0}")]
    InvalidManagedFields(String),
    /// A malformed `fieldsV1` value.
    #[error("invalid fieldsV1: {0}")]
    InvalidFieldsV1(String),
}

impl ApplyError {
    /// 409 for conflicts, 400 for bad bodies, 500 for stored entries the
    /// server cannot read (Kubernetes' "failed to decode managed fields").
    pub fn status_code(&self) -> u16 {
        match self {
            ApplyError::Conflicts(_) => 409,
            ApplyError::InvalidManagedFields(_) | ApplyError::InvalidFieldsV1(_) => 500,
            _ => 400,
        }
    }
}
