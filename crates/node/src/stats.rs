//! Resource usage of the node and of its pods' containers, as the
//! kubelet's resource metrics report it to `metrics.k8s.io`: CPU as a rate
//! over the window between two samples (from the cgroups' cumulative CPU
//! time, and `/proc/stat` for the node), memory as the working set (usage
//! less inactive file pages).

use jiff::Timestamp;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Nanoseconds per clock tick of `/proc/stat` (USER_HZ is 100 on Linux).
const NANOS_PER_TICK: u64 = 10_000_000;

/// A container's or the node's usage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU in nanocores (a billionth of a CPU) over the window.
    pub cpu_nanocores: u64,
    /// The memory working set in bytes.
    pub memory_bytes: u64,
}

/// Usage over one window.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When the window ended.
    pub timestamp: Timestamp,
    pub window: Duration,
    pub node: Usage,
    /// By pod uid, then container name.
    pub pods: HashMap<String, HashMap<String, Usage>>,
}

/// Cumulative counters at one moment.
#[derive(Debug, Clone, Default)]
struct Raw {
    node_cpu_ns: u64,
    node_memory: u64,
    /// (pod uid, container) -> (cumulative CPU ns, working set).
    containers: HashMap<(String, String), (u64, u64)>,
}

/// Samples usage now and then and keeps the last window's rates.
pub struct Sampler {
    cgroups: PathBuf,
    proc: PathBuf,
    last: Mutex<Option<(Instant, Raw)>>,
    current: Mutex<Option<Snapshot>>,
}

impl Sampler {
    pub fn new() -> Arc<Sampler> {
        Sampler::with_roots(Path::new("/sys/fs/cgroup"), Path::new("/proc"))
    }

    fn with_roots(cgroups: &Path, proc: &Path) -> Arc<Sampler> {
        Arc::new(Sampler { cgroups: cgroups.to_path_buf(), proc: proc.to_path_buf(), last: Mutex::new(None), current: Mutex::new(None) })
    }

    /// Samples every `every` (the first window ends one interval after
    /// start) until the process ends.
    pub fn spawn(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let sampler = self.clone();
        tokio::spawn(async move {
            loop {
                let s = sampler.clone();
                let _ = tokio::task::spawn_blocking(move || s.sample()).await;
                tokio::time::sleep(every).await;
            }
        })
    }

    /// The usage of the last complete window, if there was one.
    pub fn snapshot(&self) -> Option<Snapshot> {
        self.current.lock().clone()
    }

    /// Takes a sample and, with the one before, makes a window.
    pub fn sample(&self) {
        let now = Instant::now();
        let raw = self.read_raw();
        let mut last = self.last.lock();
        if let Some((then, before)) = last.as_ref() {
            let window = now.duration_since(*then);
            if !window.is_zero() {
                *self.current.lock() = Some(rates(before, &raw, window));
            }
        }
        *last = Some((now, raw));
    }

    fn read_raw(&self) -> Raw {
        let mut raw = Raw { node_cpu_ns: node_cpu_ns(&self.proc), node_memory: node_memory(&self.proc), containers: HashMap::new() };
        let layout = Layout::detect(&self.cgroups);
        let pods_dir = layout.memory.join("nubis/pods");
        for pod in dir_names(&pods_dir) {
            for container in dir_names(&pods_dir.join(&pod)) {
                let relative = format!("nubis/pods/{pod}/{container}");
                if let Some(usage) = layout.read(&relative) {
                    raw.containers.insert((pod.clone(), container), usage);
                }
            }
        }
        raw
    }
}

/// The memory working set of each pod's containers now, by pod uid and
/// container name (what the eviction manager ranks pods by).
pub fn working_sets() -> HashMap<String, HashMap<String, u64>> {
    let mut out: HashMap<String, HashMap<String, u64>> = HashMap::new();
    let raw = Sampler::with_roots(Path::new("/sys/fs/cgroup"), Path::new("/proc")).read_raw();
    for ((pod, container), (_, memory)) in raw.containers {
        out.entry(pod).or_default().insert(container, memory);
    }
    out
}

fn dir_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect()
}

/// Rates over the window from two samples; a container seen only in the
/// later one is left out (it has no window yet), as are counters that
/// went back (a container started again under the same name).
fn rates(before: &Raw, after: &Raw, window: Duration) -> Snapshot {
    let per_second = |delta_ns: u64| (delta_ns as u128 * 1_000_000_000 / window.as_nanos().max(1)) as u64;
    let mut pods: HashMap<String, HashMap<String, Usage>> = HashMap::new();
    for ((pod, container), (cpu, memory)) in &after.containers {
        let Some((cpu_before, _)) = before.containers.get(&(pod.clone(), container.clone())) else { continue };
        let Some(delta) = cpu.checked_sub(*cpu_before) else { continue };
        pods.entry(pod.clone()).or_default().insert(container.clone(), Usage { cpu_nanocores: per_second(delta), memory_bytes: *memory });
    }
    let node = Usage { cpu_nanocores: per_second(after.node_cpu_ns.saturating_sub(before.node_cpu_ns)), memory_bytes: after.node_memory };
    Snapshot { timestamp: Timestamp::now(), window, node, pods }
}

/// Busy CPU time of the whole machine from `/proc/stat`'s `cpu` line
/// (user, nice, system, irq, softirq, steal).
fn node_cpu_ns(proc: &Path) -> u64 {
    let stat = std::fs::read_to_string(proc.join("stat")).unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else { return 0 };
    let fields: Vec<u64> = line.split_whitespace().skip(1).map(|f| f.parse().unwrap_or(0)).collect();
    let busy: u64 = [0, 1, 2, 5, 6, 7].iter().filter_map(|i| fields.get(*i)).sum();
    busy.saturating_mul(NANOS_PER_TICK)
}

/// The machine's memory in use: total less available.
fn node_memory(proc: &Path) -> u64 {
    let info = std::fs::read_to_string(proc.join("meminfo")).unwrap_or_default();
    let kib = |key: &str| {
        info.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    kib("MemTotal:").saturating_sub(kib("MemAvailable:")) * 1024
}

/// Where CPU and memory counters are, by cgroup version.
struct Layout {
    v2: bool,
    cpu: PathBuf,
    memory: PathBuf,
}

impl Layout {
    fn detect(root: &Path) -> Layout {
        if root.join("cgroup.controllers").exists() {
            return Layout { v2: true, cpu: root.to_path_buf(), memory: root.to_path_buf() };
        }
        let cpu = ["cpuacct", "cpu,cpuacct", "cpu"].iter().map(|d| root.join(d)).find(|p| p.join("cpuacct.usage").exists()).unwrap_or_else(|| root.join("cpuacct"));
        Layout { v2: false, cpu, memory: root.join("memory") }
    }

    /// (cumulative CPU ns, working set bytes) of one cgroup.
    fn read(&self, relative: &str) -> Option<(u64, u64)> {
        let read = |dir: &Path, file: &str| std::fs::read_to_string(dir.join(relative).join(file)).ok();
        let stat_value = |text: &str, key: &str| {
            text.lines().find_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix(' '))).and_then(|v| v.trim().parse::<u64>().ok())
        };
        if self.v2 {
            let cpu = stat_value(&read(&self.cpu, "cpu.stat")?, "usage_usec")? * 1000;
            let usage: u64 = read(&self.memory, "memory.current")?.trim().parse().ok()?;
            let inactive = read(&self.memory, "memory.stat").and_then(|s| stat_value(&s, "inactive_file")).unwrap_or(0);
            Some((cpu, usage.saturating_sub(inactive)))
        } else {
            let cpu: u64 = read(&self.cpu, "cpuacct.usage")?.trim().parse().ok()?;
            let usage: u64 = read(&self.memory, "memory.usage_in_bytes")?.trim().parse().ok()?;
            let inactive = read(&self.memory, "memory.stat").and_then(|s| stat_value(&s, "total_inactive_file")).unwrap_or(0);
            Some((cpu, usage.saturating_sub(inactive)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("writes");
    }

    #[test]
    fn stats_rates_come_from_two_samples_of_v1_counters() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cg, proc) = (dir.path().join("cgroup"), dir.path().join("proc"));
        let web = "nubis/pods/u1/web";
        write(&cg.join("cpuacct").join(web).join("cpuacct.usage"), "1000000000\n");
        write(&cg.join("memory").join(web).join("memory.usage_in_bytes"), "50000000\n");
        write(&cg.join("memory").join(web).join("memory.stat"), "cache 1\ntotal_inactive_file 10000000\n");
        write(&proc.join("stat"), "cpu  100 0 100 5000 0 0 0 0 0 0\ncpu0 1 2 3\n");
        write(&proc.join("meminfo"), "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    400 kB\n");
        let sampler = Sampler::with_roots(&cg, &proc);
        sampler.sample();
        assert!(sampler.snapshot().is_none(), "one sample makes no window");
        write(&cg.join("cpuacct").join(web).join("cpuacct.usage"), "1500000000\n");
        write(&proc.join("stat"), "cpu  150 0 150 5000 0 0 0 0 0 0\n");
        let before = sampler.last.lock().as_ref().map(|(_, r)| r.clone()).expect("a sample");
        let after = sampler.read_raw();
        let snapshot = rates(&before, &after, Duration::from_secs(1));
        assert_eq!(snapshot.pods["u1"]["web"], Usage { cpu_nanocores: 500_000_000, memory_bytes: 40_000_000 });
        assert_eq!(snapshot.node, Usage { cpu_nanocores: 1_000_000_000, memory_bytes: 600 * 1024 });
        let halved = rates(&before, &after, Duration::from_secs(2));
        assert_eq!(halved.pods["u1"]["web"].cpu_nanocores, 250_000_000);
    }

    #[test]
    fn stats_read_v2_counters_and_skip_restarted_containers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cg = dir.path().join("cgroup");
        write(&cg.join("cgroup.controllers"), "cpu memory\n");
        let web = cg.join("nubis/pods/u1/web");
        write(&web.join("cpu.stat"), "usage_usec 2000\nuser_usec 1000\n");
        write(&web.join("memory.current"), "4096\n");
        write(&web.join("memory.stat"), "anon 1\ninactive_file 1024\n");
        let layout = Layout::detect(&cg);
        assert_eq!(layout.read("nubis/pods/u1/web"), Some((2_000_000, 3072)));
        let before = Raw { containers: [(("u1".into(), "web".into()), (5_000_000, 1))].into(), ..Raw::default() };
        let after = Raw { containers: [(("u1".into(), "web".into()), (1_000_000, 1))].into(), ..Raw::default() };
        assert!(rates(&before, &after, Duration::from_secs(1)).pods.is_empty());
    }
}
