//! The Kubernetes object model without IO: metadata rules, label and field
//! selectors, patches, defaulting and validation of built-in kinds, Table
//! printing, the protobuf wire decoding and the resource registry.
//!
//! Objects travel as `serde_json::Value`: the API server must handle kinds it
//! has no Rust type for (custom resources), and a typed round trip would drop
//! fields a client sent. Kind-specific rules look fields up by path.

pub mod apply;
pub mod conversion;
pub mod crd;
pub mod defaults;
pub mod protobuf;
pub mod registry;
pub mod object;
pub mod patch;
pub mod policy;
pub mod selector;
pub mod table;
pub mod validation;
