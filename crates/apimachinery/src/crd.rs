//! CustomResourceDefinitions as pure logic, after Kubernetes v1.33's
//! apiextensions-apiserver: validating a CRD ([`validate_crd`]), defaulting
//! and preparing it, the naming controller's verdict ([`accepted_names`]),
//! and the compiled per-version schema ([`StructuralSchema`]) that
//! validates, defaults and prunes custom resources with kube-openapi's
//! messages.
//!
//! Deliberate difference: CEL rules (`x-kubernetes-validations`) are
//! refused with a Forbidden error ([`CEL_UNSUPPORTED`]), and the only
//! conversion strategy is `None`.
//!
//! Order of work for a custom resource write, as the apiextensions server
//! does it: [`StructuralSchema::prune`], [`StructuralSchema::apply_defaults`],
//! then metadata validation ([`crate::validation::validate_object_meta`])
//! and [`StructuralSchema::validate`].

mod defaulting;
mod definition;
mod embedded;
mod formats;
mod listtype;
mod messages;
mod names;
mod object_defaults;
mod pruning;
mod read;
mod schema;
mod schema_rules;
mod structural;
mod subresources;
mod value;

#[cfg(test)]
mod tests;

pub use definition::validate_crd;
pub use names::{NamingResult, accepted_names, established_condition};
pub use object_defaults::{default_crd, prepare_for_create, prepare_for_update};
pub use read::{
    CrdNames, ScaleSubresource, Subresources, accepted_names_of, group, is_namespaced, names,
    printer_columns, served_versions, storage_version, structural_schema, subresources,
    version_schema,
};
pub use schema::StructuralSchema;
pub use schema_rules::CEL_UNSUPPORTED;
