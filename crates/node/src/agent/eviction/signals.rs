//! The eviction signals the node watches (the kubelet's
//! `memory.available`, `nodefs.available`, `nodefs.inodesFree`; the
//! images share the data dir's disk, so `imagefs.*` are the same), the
//! hard thresholds set on them (`--eviction-hard`), and the pressure they
//! make: the node's MemoryPressure and DiskPressure conditions.

use std::path::Path;

/// The kubelet's memory eviction threshold (100Mi), held back from
/// allocatable too.
pub const DEFAULT_MEMORY_RESERVE: u64 = 100 << 20;

/// One hard eviction threshold: an amount, or a share of the total.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    Amount(u64),
    Percent(f64),
}

impl Threshold {
    /// Whether `available` of `total` is under the threshold.
    pub fn crossed(&self, available: u64, total: u64) -> bool {
        available < self.quantity(total)
    }

    /// The threshold as an amount of `total`.
    pub fn quantity(&self, total: u64) -> u64 {
        match *self {
            Threshold::Amount(n) => n,
            Threshold::Percent(p) => ((total as f64) * p / 100.0).ceil() as u64,
        }
    }
}

/// The hard eviction thresholds (no PID threshold is set by default, so
/// PIDPressure stays False).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// `memory.available`, in bytes.
    pub memory_available: Threshold,
    /// `nodefs.available`, in bytes.
    pub nodefs_available: Threshold,
    /// `nodefs.inodesFree`, in inodes.
    pub nodefs_inodes_free: Threshold,
}

impl Default for Thresholds {
    /// The kubelet's defaults: `memory.available<100Mi`,
    /// `nodefs.available<10%`, `nodefs.inodesFree<5%`.
    fn default() -> Self {
        Thresholds {
            memory_available: Threshold::Amount(DEFAULT_MEMORY_RESERVE),
            nodefs_available: Threshold::Percent(10.0),
            nodefs_inodes_free: Threshold::Percent(5.0),
        }
    }
}

impl Thresholds {
    /// Parses the kubelet's `--eviction-hard` syntax (`signal<value`, comma
    /// separated, a value an amount or a percentage); signals not given
    /// keep their defaults, `imagefs.*` count as `nodefs.*` (one disk).
    pub fn parse(text: &str, parse_amount: impl Fn(&str) -> Option<u64>) -> Result<Thresholds, String> {
        let mut t = Thresholds::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (signal, value) = part.split_once('<').ok_or_else(|| format!("{part:?}: expected signal<value, as memory.available<100Mi"))?;
            let threshold = match value.strip_suffix('%') {
                Some(p) => Threshold::Percent(p.parse::<f64>().ok().filter(|p| (0.0..=100.0).contains(p)).ok_or_else(|| format!("{part:?}: not a percentage"))?),
                None => Threshold::Amount(parse_amount(value).ok_or_else(|| format!("{part:?}: not a quantity"))?),
            };
            match signal {
                "memory.available" => t.memory_available = threshold,
                "nodefs.available" | "imagefs.available" => t.nodefs_available = threshold,
                "nodefs.inodesFree" | "imagefs.inodesFree" => t.nodefs_inodes_free = threshold,
                other => return Err(format!("{other:?} is not an eviction signal here (memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree)")),
            }
        }
        Ok(t)
    }
}

/// What the signals read at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Observation {
    pub memory_available: u64,
    pub memory_total: u64,
    pub disk_available: u64,
    pub disk_total: u64,
    pub inodes_free: u64,
    pub inodes_total: u64,
}

impl Observation {
    /// Reads the machine's memory and the disk of `data_dir`; a signal
    /// that cannot be read reads as plenty.
    pub fn measure(data_dir: &Path) -> Observation {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let kib = |key: &str| meminfo.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<u64>().ok());
        let (memory_available, memory_total) = match (kib("MemAvailable:"), kib("MemTotal:")) {
            (Some(available), Some(total)) => (available * 1024, total * 1024),
            _ => (u64::MAX, u64::MAX),
        };
        let disk = rustix::fs::statvfs(data_dir).ok();
        Observation {
            memory_available,
            memory_total,
            disk_available: disk.as_ref().map_or(u64::MAX, |s| s.f_bavail.saturating_mul(s.f_frsize)),
            disk_total: disk.as_ref().map_or(u64::MAX, |s| s.f_blocks.saturating_mul(s.f_frsize)),
            inodes_free: disk.as_ref().map_or(u64::MAX, |s| s.f_favail),
            inodes_total: disk.as_ref().map_or(u64::MAX, |s| s.f_files),
        }
    }
}

/// What the pressure conditions say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pressure {
    pub memory: bool,
    pub disk: bool,
}

impl Pressure {
    pub fn of(o: &Observation, t: &Thresholds) -> Pressure {
        Pressure {
            memory: t.memory_available.crossed(o.memory_available, o.memory_total),
            disk: t.nodefs_available.crossed(o.disk_available, o.disk_total) || t.nodefs_inodes_free.crossed(o.inodes_free, o.inodes_total),
        }
    }

    /// The conditions as the kubelet names them in messages.
    pub fn names(&self) -> Vec<&'static str> {
        [(self.memory, "MemoryPressure"), (self.disk, "DiskPressure")].into_iter().filter(|(on, _)| *on).map(|(_, name)| name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_signals_thresholds_and_pressure() {
        let t = Thresholds::parse("memory.available<1Gi,nodefs.available<1%,imagefs.inodesFree<2%", |v| (v == "1Gi").then_some(1 << 30)).expect("parses");
        assert_eq!((t.memory_available, t.nodefs_available, t.nodefs_inodes_free), (Threshold::Amount(1 << 30), Threshold::Percent(1.0), Threshold::Percent(2.0)));
        assert!(Thresholds::parse("pid.available<10", |_| Some(1)).is_err() && Thresholds::parse("nodefs.available=5%", |_| None).is_err());
        assert!(Threshold::Percent(10.0).crossed(9, 100) && !Threshold::Percent(10.0).crossed(10, 100) && Threshold::Amount(5).crossed(4, 0));
        assert_eq!(Threshold::Percent(10.0).quantity(1000), 100);

        let calm = Observation { memory_available: 8 << 30, memory_total: 16 << 30, disk_available: 50, disk_total: 100, inodes_free: 50, inodes_total: 100 };
        let t = Thresholds::default();
        assert_eq!(Pressure::of(&calm, &t), Pressure::default());
        let full = Observation { disk_available: 9, ..calm };
        assert_eq!(Pressure::of(&full, &t), Pressure { memory: false, disk: true });
        let no_inodes = Observation { inodes_free: 4, ..calm };
        assert!(Pressure::of(&no_inodes, &t).disk);
        let low = Observation { memory_available: 99 << 20, ..full };
        assert_eq!(Pressure::of(&low, &t).names(), ["MemoryPressure", "DiskPressure"]);
        let measured = Observation::measure(Path::new("/"));
        assert!(measured.memory_total > measured.memory_available && measured.disk_total >= measured.disk_available, "{measured:?}");
    }
}
