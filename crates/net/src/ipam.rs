//! Pod addresses from the pod CIDR, recorded in a file that is replaced
//! durably (a synced temporary file renamed) before an address is handed
//! out, so a restart never hands out an address twice. Like CNI's
//! host-local plugin, the search starts after the last address given, so
//! a released address is not reused at once (a stale connection to a
//! deleted pod does not reach its successor).

use crate::cidr::Cidr;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no pod address left in {0}")]
    Exhausted(Cidr),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not an address record: {source}")]
    Decode { path: PathBuf, source: serde_json::Error },
    #[error("{path} records addresses of {recorded}, not of {configured}; remove it (with `nubis reset`) to change the pod CIDR")]
    OtherCidr { path: PathBuf, recorded: String, configured: Cidr },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    cidr: String,
    last: Option<Ipv4Addr>,
    /// Address -> the owner it was given to (a pod's sandbox id).
    allocations: BTreeMap<Ipv4Addr, String>,
}

/// The node's pod addresses.
#[derive(Debug)]
pub struct Ipam {
    cidr: Cidr,
    path: PathBuf,
    record: Mutex<Record>,
}

impl Ipam {
    /// Opens the record at `path` (new when absent) for `cidr`.
    pub fn open(path: impl Into<PathBuf>, cidr: Cidr) -> Result<Ipam, Error> {
        let path = path.into();
        let record = match std::fs::read(&path) {
            Ok(bytes) => {
                let r: Record = serde_json::from_slice(&bytes).map_err(|source| Error::Decode { path: path.clone(), source })?;
                if r.cidr != cidr.to_string() {
                    return Err(Error::OtherCidr { path, recorded: r.cidr, configured: cidr });
                }
                r
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Record { cidr: cidr.to_string(), ..Record::default() },
            Err(source) => return Err(Error::Io { path, source }),
        };
        Ok(Ipam { cidr, path, record: Mutex::new(record) })
    }

    pub fn cidr(&self) -> Cidr {
        self.cidr
    }

    /// The address of `owner`: the one it has, or a new one, recorded
    /// before it is answered.
    pub fn allocate(&self, owner: &str) -> Result<Ipv4Addr, Error> {
        let mut r = self.record.lock();
        if let Some((ip, _)) = r.allocations.iter().find(|(_, o)| *o == owner) {
            return Ok(*ip);
        }
        let (first, last) = self.cidr.pod_range();
        let start = r.last.map(u32::from).filter(|l| (first..=last).contains(l)).map_or(first, |l| if l >= last { first } else { l + 1 });
        let size = last - first + 1;
        let ip = (0..size)
            .map(|i| Ipv4Addr::from(first + (start - first + i) % size))
            .find(|ip| !r.allocations.contains_key(ip))
            .ok_or(Error::Exhausted(self.cidr))?;
        r.allocations.insert(ip, owner.to_string());
        r.last = Some(ip);
        if let Err(e) = self.persist(&r) {
            r.allocations.remove(&ip);
            return Err(e);
        }
        Ok(ip)
    }

    /// Gives `owner`'s address back; not having one is fine.
    pub fn release(&self, owner: &str) -> Result<Option<Ipv4Addr>, Error> {
        let mut r = self.record.lock();
        let Some(ip) = r.allocations.iter().find(|(_, o)| *o == owner).map(|(ip, _)| *ip) else { return Ok(None) };
        r.allocations.remove(&ip);
        self.persist(&r)?;
        Ok(Some(ip))
    }

    /// Every address given out, with its owner.
    pub fn allocations(&self) -> BTreeMap<Ipv4Addr, String> {
        self.record.lock().allocations.clone()
    }

    fn persist(&self, r: &Record) -> Result<(), Error> {
        let io = |source| Error::Io { path: self.path.clone(), source };
        let bytes = serde_json::to_vec_pretty(r).map_err(|e| io(e.into()))?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let tmp = self.path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes).and_then(|_| f.sync_all()).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipam_never_gives_an_address_twice_across_restarts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ipam.json");
        let cidr = Cidr::parse("10.88.0.0/29").expect("valid");
        let ipam = Ipam::open(&path, cidr).expect("opens");
        let a = ipam.allocate("pod-a").expect("an address");
        assert_eq!(a, Ipv4Addr::new(10, 88, 0, 2), "after the gateway");
        assert_eq!(ipam.allocate("pod-a").expect("the same"), a, "asking again gives the same");
        let b = ipam.allocate("pod-b").expect("an address");
        assert_eq!(b, Ipv4Addr::new(10, 88, 0, 3));
        assert_eq!(ipam.release("pod-a").expect("released"), Some(a));
        assert_eq!(ipam.release("pod-a").expect("released"), None);

        // A restart: the record holds.
        drop(ipam);
        let ipam = Ipam::open(&path, cidr).expect("reopens");
        assert_eq!(ipam.allocations().into_iter().collect::<Vec<_>>(), [(b, "pod-b".to_string())]);
        let c = ipam.allocate("pod-c").expect("an address");
        assert_eq!(c, Ipv4Addr::new(10, 88, 0, 4), "not the address just released");
        // /29: .2 to .6 for pods.
        for owner in ["d", "e", "f"] {
            ipam.allocate(owner).expect("an address");
        }
        assert!(matches!(ipam.allocate("g"), Err(Error::Exhausted(_))));
        assert!(ipam.allocations().keys().all(|ip| cidr.contains(*ip) && *ip != cidr.gateway()));

        let other = Cidr::parse("10.99.0.0/16").expect("valid");
        assert!(matches!(Ipam::open(&path, other), Err(Error::OtherCidr { .. })));
    }
}
