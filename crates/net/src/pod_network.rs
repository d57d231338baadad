//! A node's pod network: the bridge (`nubis0` by default) holding the
//! CIDR's first address, NAT for the CIDR, and per pod a named network
//! namespace with `eth0` on a veth whose host end is on the bridge.
//! Setting a pod up again gives it the same address and namespace;
//! tearing down what is already gone is no error, so the node agent can
//! repeat either after a restart.

use crate::cidr::Cidr;
use crate::ipam::{self, Ipam};
use crate::link::{self, with_netlink};
use crate::host_ports::{self, HostPort, HostPorts};
use crate::nat;
use crate::netns;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("pod network: {0}")]
    Ipam(#[from] ipam::Error),
    #[error("pod network: {0}")]
    Netns(#[from] netns::Error),
    #[error("pod network: {0}")]
    Link(#[from] link::Error),
    #[error("pod network: {0}")]
    Nat(#[from] nat::Error),
    #[error("pod network: {0}")]
    HostPorts(#[from] host_ports::Error),
    #[error("pod network: {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// A pod's place on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The namespace its containers join.
    pub netns: PathBuf,
    pub ip: Ipv4Addr,
    pub gateway: Ipv4Addr,
    pub prefix: u8,
    /// The host end of its veth.
    pub host_link: String,
}

/// The pod network of this node.
#[derive(Debug)]
pub struct PodNetwork {
    bridge: String,
    ipam: Ipam,
    netns_dir: PathBuf,
    host_ports: HostPorts,
    /// Held from a change of the host ports to its rules being in place,
    /// so two pods' changes cannot land in the kernel in the other order;
    /// true while the rules may lag the host ports (a failed `nft` run).
    nat_stale: parking_lot::Mutex<bool>,
}

/// The host end's name for a pod: `nb` and 12 hex digits of its id's
/// SHA-256 (interface names are at most 15 bytes; a hash that does not
/// change between releases, so an upgraded agent finds old pods' links).
pub fn host_link_name(id: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, id.as_bytes());
    let hex: String = digest.as_ref()[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("nb{hex}")
}

impl PodNetwork {
    /// The network of `cidr` on `bridge`, with its state under `state_dir`
    /// (`ipam.json`, `hostports.json`) and namespaces under `netns_dir`;
    /// sets up the bridge and NAT in the calling thread's namespace.
    pub fn open(cidr: Cidr, bridge: &str, state_dir: &Path, netns_dir: &Path) -> Result<PodNetwork, Error> {
        let ipam = Ipam::open(state_dir.join("ipam.json"), cidr)?;
        let host_ports = HostPorts::open(&state_dir.join("hostports.json"))?;
        std::fs::create_dir_all(netns_dir).map_err(|source| Error::Io { path: netns_dir.to_path_buf(), source })?;
        let name = bridge.to_string();
        with_netlink(async move |h| link::ensure_bridge(&h, &name, cidr.gateway(), cidr.prefix).await.map(|_| ()))?;
        // Host ports on 127.0.0.1: the kernel routes a 127.0.0.0/8 source
        // out of the bridge only with this (the NAT then masquerades it).
        let localnet = PathBuf::from(format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet"));
        std::fs::write(&localnet, "1").map_err(|source| Error::Io { path: localnet, source })?;
        nat::ensure(cidr, &host_ports.all())?;
        Ok(PodNetwork { bridge: bridge.to_string(), ipam, netns_dir: netns_dir.to_path_buf(), host_ports, nat_stale: parking_lot::Mutex::new(false) })
    }

    /// Maps the pod's host ports (none: removes its mappings), in the
    /// calling thread's namespace; a port another pod holds is refused.
    pub fn set_host_ports(&self, id: &str, ports: Vec<HostPort>) -> Result<(), Error> {
        let mut stale = self.nat_stale.lock();
        let before = self.host_ports.all();
        let all = self.host_ports.set(id, ports)?;
        // Most pods have no host port: no `nft` run for them.
        if all != before || *stale {
            *stale = true;
            nat::ensure(self.cidr(), &all)?;
            *stale = false;
        }
        Ok(())
    }

    pub fn cidr(&self) -> Cidr {
        self.ipam.cidr()
    }

    fn netns_path(&self, id: &str) -> PathBuf {
        self.netns_dir.join(id)
    }

    /// The pod `id` on the network: its namespace, address and veth,
    /// made as needed.
    pub fn setup(&self, id: &str) -> Result<Attachment, Error> {
        let cidr = self.cidr();
        let ip = self.ipam.allocate(id)?;
        let netns = self.netns_path(id);
        let host = host_link_name(id);
        let attachment = Attachment { netns: netns.clone(), ip, gateway: cidr.gateway(), prefix: cidr.prefix, host_link: host.clone() };
        netns::create(&netns)?;
        let has_link = netns::run_in(&netns, move || with_netlink(async move |h| link::index_of(&h, link::POD_LINK).await))??.is_some();
        let (bridge, h2, ns2) = (self.bridge.clone(), host.clone(), netns.clone());
        with_netlink(async move |h| {
            if has_link {
                // Set up before: only what a setup cut short may lack.
                return link::set_hairpin(&h, &h2).await;
            }
            // A host end whose peer is gone (a namespace made again) goes
            // first.
            link::delete(&h, &h2).await?;
            let index = link::index_of(&h, &bridge).await?.ok_or(link::Error::Missing(bridge))?;
            link::add_veth(&h, &h2, index, &ns2).await
        })?;
        let (gateway, prefix) = (cidr.gateway(), cidr.prefix);
        netns::run_in(&netns, move || with_netlink(async move |h| link::configure_pod_side(&h, ip, prefix, gateway).await))??;
        Ok(attachment)
    }

    /// Takes the pod `id` off the network: its host ports, veth, namespace
    /// and address.
    pub fn teardown(&self, id: &str) -> Result<(), Error> {
        if self.host_ports.has(id) {
            self.set_host_ports(id, Vec::new())?;
        }
        let host = host_link_name(id);
        with_netlink(async move |h| link::delete(&h, &host).await)?;
        netns::delete(&self.netns_path(id))?;
        self.ipam.release(id)?;
        Ok(())
    }

    /// The ids of the pods with an address or host ports.
    pub fn pods(&self) -> Vec<String> {
        let mut ids: std::collections::BTreeSet<String> = self.ipam.allocations().into_values().collect();
        ids.extend(self.host_ports.pods());
        ids.into_iter().collect()
    }

    /// Removes the bridge and the NAT table (`nubis reset`); pods must be
    /// torn down first.
    pub fn remove(self) -> Result<(), Error> {
        let bridge = self.bridge.clone();
        with_netlink(async move |h| link::delete(&h, &bridge).await)?;
        nat::remove()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_network_host_link_names_fit_and_differ() {
        let (a, b) = (host_link_name("default_web-1_uid"), host_link_name("default_web-2_uid"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 14);
        assert!(format!("{a}p").len() <= 15, "the peer's temporary name fits too");
    }
}
