//! Pod networking for the node agent: a network namespace per pod
//! (`netns`), one bridge on the host with a veth pair per pod (`link`),
//! addresses from a pod CIDR that survive restarts and are never handed
//! out twice (`ipam`), and outbound NAT and forwarding with nftables
//! (`nat`), with pods' host ports (`host_ports`); `pod_network` puts them
//! together.
//!
//! **Architecture Invariant:** everything here acts on the network
//! namespace of the calling thread, so the tests run it all inside a
//! namespace of their own and leave the host untouched.

pub mod cidr;
pub mod host_ports;
pub mod ipam;
pub mod link;
pub mod nat;
pub mod netns;
pub mod pod_network;

pub use cidr::Cidr;
pub use pod_network::{Attachment, PodNetwork};
