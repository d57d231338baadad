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
mod authentication;
mod authorization;
pub mod authn;
pub mod authz;
pub mod body;
mod bootstrap;
pub mod codec;
mod custom_resources;
mod discovery;
pub mod error;
mod health;
mod impersonation;
mod managed_fields;
mod metrics;
mod metrics_api;
pub mod node_link;
mod openapi_routes;
mod pod_streams;
pub mod query;
pub mod request_info;
mod rbac_bootstrap;
pub mod rbac_cache;
mod rest;
mod reviews;
pub mod serve;
mod server;
mod strategy;
mod token_request;

pub use server::{ApiServer, ApiServerOptions};
