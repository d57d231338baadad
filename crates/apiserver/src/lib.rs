//! The Kubernetes HTTP API over the [`store`]: routing, discovery, the REST
//! verbs and subresources, watch streaming, content negotiation (JSON,
//! YAML, protobuf in; JSON, YAML, Table out), errors as `Status`, metrics,
//! and the HTTPS listener.
//!
//! Architecture invariant: this crate knows the store only through its
//! key/revision/watch API; kind-specific knowledge (defaulting, validation,
//! printing, patch semantics) lives in `apimachinery`.

mod admission;
pub mod auth;
pub mod authn;
pub mod authz;
pub mod body;
mod bootstrap;
pub mod codec;
mod discovery;
pub mod error;
mod health;
mod metrics;
mod openapi_routes;
pub mod query;
pub mod request_info;
mod rest;
pub mod serve;
mod server;
mod strategy;

pub use server::{ApiServer, ApiServerOptions};
