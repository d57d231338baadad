//! IPv4 networks written as `10.88.0.0/16`.

use std::net::Ipv4Addr;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid CIDR {0:?}: expected an IPv4 network like 10.88.0.0/16 with a prefix of 8 to 30")]
pub struct Error(pub String);

/// An IPv4 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    pub network: Ipv4Addr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, Error> {
        let bad = || Error(s.to_string());
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if !(8..=30).contains(&prefix) {
            return Err(bad());
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(Cidr { network: Ipv4Addr::from(u32::from(addr) & mask), prefix })
    }

    fn mask(&self) -> u32 {
        u32::MAX << (32 - self.prefix)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network)
    }

    /// The bridge's address: the network's first.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + 1)
    }

    /// The addresses pods may get: after the gateway, before broadcast.
    pub fn pod_range(&self) -> (u32, u32) {
        let first = u32::from(self.network) + 2;
        let last = (u32::from(self.network) | !self.mask()) - 1;
        (first, last)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl std::str::FromStr for Cidr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cidr::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parses_and_ranges() {
        let c = Cidr::parse("10.88.7.9/16").expect("valid");
        assert_eq!(c.to_string(), "10.88.0.0/16");
        assert_eq!(c.gateway(), Ipv4Addr::new(10, 88, 0, 1));
        assert_eq!(c.pod_range(), (u32::from(Ipv4Addr::new(10, 88, 0, 2)), u32::from(Ipv4Addr::new(10, 88, 255, 254))));
        assert!(c.contains(Ipv4Addr::new(10, 88, 200, 1)) && !c.contains(Ipv4Addr::new(10, 89, 0, 1)));
        for bad in ["10.88.0.0", "10.88.0.0/31", "10.88.0.0/4", "x/16", "10.88.0.0/a"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }
}
