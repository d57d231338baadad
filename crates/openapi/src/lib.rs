//! OpenAPI v2 and v3 documents for the API server, built from k8s-openapi's
//! schemas, and unknown-field detection and the JSON type check against the
//! same schemas.
//!
//! The caller (the API server's registry) describes what it serves with
//! [`ResourceSpec`]s; this crate knows the schemas of the built-in kinds and
//! nothing about routing. Documents are cut from one set of definitions
//! generated on first use: [`v2`], [`v3_index`] and [`v3_group_version`]
//! return them as JSON values, and [`DocumentCache`] keeps them serialized,
//! with their ETags, for serving.
//!
//! Architecture invariant: no other project crate is a dependency; this is
//! also the one crate that picks k8s-openapi's Kubernetes version feature.

mod cache;
mod definitions;
mod document;
mod hash;
mod kinds;
mod operations;
mod patch_meta;
mod resource;
mod types;
mod unknown;
mod v2;
mod v2_proto;
mod v3;

pub use cache::{DocumentCache, Documents, Served};
pub use hash::digest;
pub use resource::{ALL_VERBS, ResourceSpec, Subresources, group_version_path};
pub use types::{TypeMismatch, type_mismatch};
pub use unknown::{is_builtin_kind, unknown_fields, unknown_fields_in};
pub use v2::v2;
pub use v2_proto::{V2_PROTOBUF_ACCEPT, V2_PROTOBUF_CONTENT_TYPE, v2_protobuf};
pub use v3::{v3_group_version, v3_index};
