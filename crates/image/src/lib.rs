//! OCI images for the node agent and `nubis image`: a content-addressed
//! store in the data dir (an OCI image layout: blobs by digest, names in
//! `index.json`), pulls from any registry v2 (Docker Hub names, multi-arch
//! indexes, token auth, mirrors and plain-HTTP registries), and layers
//! unpacked once each, safely, as overlayfs lower directories.
//!
//! **Architecture Invariant:** nothing here knows Kubernetes. The node
//! agent turns `imagePullPolicy`, `imagePullSecrets` and events into calls
//! of this crate; the store only knows names, digests and files.

pub mod archive;
pub mod digest;
pub mod gc;
pub mod layers;
pub mod mounted_layers;
pub mod name;
pub mod pack;
pub mod platform;
pub mod pull;
pub mod push;
pub mod registries;
pub mod store;
pub mod unpack;

/// The OCI types this crate's API speaks in (descriptors, digests).
pub use oci_spec;
pub use name::ImageName;
pub use registries::Registries;
pub use store::Store;
