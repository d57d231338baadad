//! Pods' `hostPort`s, as CNI's portmap plugin maps them: connections to a
//! port of one of the node's own addresses go to the pod's address and
//! container port (DNAT, for packets that arrive and for ones the node
//! sends itself). The mappings are recorded durably, so the nftables
//! table, written whole on every change, can be written again after a
//! restart or a `flush`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("host ports state {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("host ports state {path}: {source}")]
    Decode { path: PathBuf, source: serde_json::Error },
    #[error("host port {port}/{protocol} is already taken by pod {holder}")]
    Taken { port: u16, protocol: Protocol, holder: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// One mapping of a node port to a pod's port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HostPort {
    pub protocol: Protocol,
    pub host_port: u16,
    /// Only connections to this node address (`hostIP`); any of the
    /// node's addresses when unset.
    pub host_ip: Option<Ipv4Addr>,
    pub pod_ip: Ipv4Addr,
    pub container_port: u16,
}

/// The mappings of every pod, by pod id, kept in a file.
#[derive(Debug)]
pub struct HostPorts {
    path: PathBuf,
    by_pod: parking_lot::Mutex<BTreeMap<String, Vec<HostPort>>>,
}

impl HostPorts {
    pub fn open(path: &Path) -> Result<HostPorts, Error> {
        let by_pod = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| Error::Decode { path: path.to_path_buf(), source })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => return Err(Error::Io { path: path.to_path_buf(), source }),
        };
        Ok(HostPorts { path: path.to_path_buf(), by_pod: parking_lot::Mutex::new(by_pod) })
    }

    /// Sets the pod's mappings (none removes them) and gives every
    /// mapping of the node, to be written; a port another pod holds on
    /// the same address is refused.
    pub fn set(&self, pod: &str, ports: Vec<HostPort>) -> Result<Vec<HostPort>, Error> {
        let mut by_pod = self.by_pod.lock();
        for p in &ports {
            let clash = by_pod.iter().filter(|(other, _)| other.as_str() != pod).find_map(|(other, theirs)| {
                theirs
                    .iter()
                    .any(|t| t.protocol == p.protocol && t.host_port == p.host_port && (t.host_ip.is_none() || p.host_ip.is_none() || t.host_ip == p.host_ip))
                    .then(|| other.clone())
            });
            if let Some(holder) = clash {
                return Err(Error::Taken { port: p.host_port, protocol: p.protocol, holder });
            }
        }
        let mut next = by_pod.clone();
        if ports.is_empty() {
            next.remove(pod);
        } else {
            next.insert(pod.to_string(), ports);
        }
        if next != *by_pod {
            write_atomic(&self.path, &next)?;
            *by_pod = next;
        }
        Ok(by_pod.values().flatten().cloned().collect())
    }

    /// Whether the pod has mappings.
    pub fn has(&self, pod: &str) -> bool {
        self.by_pod.lock().contains_key(pod)
    }

    /// The pods with mappings.
    pub fn pods(&self) -> Vec<String> {
        self.by_pod.lock().keys().cloned().collect()
    }

    /// Every mapping of the node.
    pub fn all(&self) -> Vec<HostPort> {
        self.by_pod.lock().values().flatten().cloned().collect()
    }
}

/// Writes the state durably: a synced temporary file renamed over it.
fn write_atomic(path: &Path, state: &BTreeMap<String, Vec<HostPort>>) -> Result<(), Error> {
    use std::io::Write;
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let bytes = serde_json::to_vec_pretty(state).map_err(|source| Error::Decode { path: path.to_path_buf(), source })?;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(&bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(port: u16, host_ip: Option<[u8; 4]>, pod: [u8; 4]) -> HostPort {
        HostPort { protocol: Protocol::Tcp, host_port: port, host_ip: host_ip.map(Ipv4Addr::from), pod_ip: Ipv4Addr::from(pod), container_port: 80 }
    }

    #[test]
    fn host_ports_are_kept_per_pod_refuse_clashes_and_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hostports.json");
        let ports = HostPorts::open(&path).expect("opens");
        assert_eq!(ports.set("a", vec![hp(8080, None, [10, 88, 0, 2])]).expect("sets").len(), 1);
        let clash = ports.set("b", vec![hp(8080, Some([192, 168, 1, 5]), [10, 88, 0, 3])]).err().map(|e| e.to_string());
        assert_eq!(clash.as_deref(), Some("host port 8080/tcp is already taken by pod a"));
        // Another protocol or port is fine; a pod may set its own again.
        let udp = HostPort { protocol: Protocol::Udp, ..hp(8080, None, [10, 88, 0, 3]) };
        assert_eq!(ports.set("b", vec![udp, hp(9090, None, [10, 88, 0, 3])]).expect("sets").len(), 3);
        assert_eq!(ports.set("a", vec![hp(8080, None, [10, 88, 0, 2])]).expect("sets").len(), 3);
        let again = HostPorts::open(&path).expect("reopens");
        assert_eq!(again.all().len(), 3);
        assert_eq!(again.set("a", Vec::new()).expect("removes").len(), 2);
        assert_eq!(HostPorts::open(&path).expect("reopens").all().len(), 2);
    }
}
