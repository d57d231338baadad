//! What /proc says about a process and the machine: resident memory, CPU
//! time, and the processes whose command line matches.

use anyhow::{Context, Result};
use std::time::Duration;

/// Linux reports CPU times in USER_HZ, 100 on every architecture Nubis
/// targets.
const TICK: Duration = Duration::from_millis(10);

fn status_field(pid: u32, name: &str) -> Result<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string()).with_context(|| format!("{name} in /proc/{pid}/status"))
}

/// Resident and peak resident memory of a process, as /proc shows them
/// (`12345 kB`).
pub fn memory(pid: u32) -> Result<(String, String)> {
    Ok((status_field(pid, "VmRSS:")?, status_field(pid, "VmHWM:")?))
}

/// A `kB` figure of /proc in bytes.
fn kb(value: &str) -> Result<u64> {
    let n = value.trim().trim_end_matches("kB").trim();
    Ok(n.parse::<u64>().with_context(|| format!("a size in kB, not {value:?}"))? * 1024)
}

/// A `kB` field of /proc/PID/status (`VmRSS:`, `RssAnon:`...) in bytes.
pub fn status_bytes(pid: u32, name: &str) -> Result<u64> {
    kb(&status_field(pid, name)?)
}

/// The threads of a process.
pub fn threads(pid: u32) -> Result<u64> {
    Ok(status_field(pid, "Threads:")?.parse()?)
}

/// Resident memory of a process in bytes.
pub fn rss_bytes(pid: u32) -> Result<u64> {
    kb(&status_field(pid, "VmRSS:")?)
}

/// Proportional set size in bytes: pages shared with other processes (the
/// shims share the `nubis` binary's) count a share each, so sums over
/// processes do not count them several times.
pub fn pss_bytes(pid: u32) -> Result<u64> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))?;
    kb(rollup.lines().find_map(|l| l.strip_prefix("Pss:")).with_context(|| format!("Pss in /proc/{pid}/smaps_rollup"))?)
}

/// CPU times of a process: its own (user + system) and that of its
/// children it has waited for (the `runc` commands the agent runs).
#[derive(Debug, Clone, Copy)]
pub struct CpuTimes {
    pub own: Duration,
    pub children: Duration,
}

pub fn cpu_times(pid: u32) -> Result<CpuTimes> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which may itself hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).context("/proc/PID/stat format")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<u64> { Ok(fields.get(i).context("/proc/PID/stat field")?.parse()?) };
    // utime, stime, cutime, cstime are fields 14 to 17 of stat, 12 to 15
    // after ')' (counted from 1).
    Ok(CpuTimes { own: TICK * u32::try_from(ticks(11)? + ticks(12)?)?, children: TICK * u32::try_from(ticks(13)? + ticks(14)?)? })
}

/// CPU time (user + system) the process has used so far.
pub fn cpu_time(pid: u32) -> Result<Duration> {
    Ok(cpu_times(pid)?.own)
}

/// The machine's busy CPU time (all cores, everything but idle and I/O
/// wait) and the processes it has started since boot.
#[derive(Debug, Clone, Copy)]
pub struct Machine {
    pub busy: Duration,
    pub forks: u64,
}

pub fn machine() -> Result<Machine> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let cpu = stat.lines().find_map(|l| l.strip_prefix("cpu ")).context("the cpu line of /proc/stat")?;
    let values: Vec<u64> = cpu.split_whitespace().map(str::parse).collect::<Result<_, _>>()?;
    // user nice system idle iowait irq softirq steal (guest time is
    // already in user).
    let busy: u64 = values.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, v)| v).sum();
    let forks = stat.lines().find_map(|l| l.strip_prefix("processes ")).context("processes in /proc/stat")?.trim().parse()?;
    Ok(Machine { busy: TICK * u32::try_from(busy)?, forks })
}

/// The processes whose command line (arguments joined by spaces) contains
/// every one of `needles`.
pub fn processes_matching(needles: &[&str]) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            // A process may end while this runs: it simply does not match.
            let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else { return false };
            let line = String::from_utf8_lossy(&raw).replace('\0', " ");
            needles.iter().all(|n| line.contains(n))
        })
        .collect()
}
