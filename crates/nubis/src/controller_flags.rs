//! The kube-controller-manager flags `nubis up` and `nubis controllers`
//! share, under the same names, with Go's duration syntax (`40s`, `1m30s`).

use std::time::Duration;

#[derive(clap::Args, Clone, Debug)]
pub struct ControllerFlags {
    /// How long a node may go without a heartbeat (Lease renewal) before
    /// the node controller marks it Unknown and taints it unreachable.
    #[arg(long, default_value = "50s", value_parser = parse_duration)]
    pub node_monitor_grace_period: Duration,
    /// How many ended (Succeeded or Failed) pods may exist before the pod
    /// garbage collector deletes the oldest; 0 keeps them all.
    #[arg(long, default_value_t = controllers::pod_gc::DEFAULT_TERMINATED_THRESHOLD)]
    pub terminated_pod_gc_threshold: usize,
    /// Which controllers run: `*` for all, `NAME` to add one, `-NAME` to
    /// leave one out, e.g. `*,-scheduler` (kube-controller-manager's
    /// names, plus `scheduler` and `local-provisioner`).
    #[arg(long, default_value = "*", value_parser = controllers::selection::Selection::parse)]
    pub controllers: controllers::selection::Selection,
    /// How often the horizontal pod autoscaler syncs every HPA: reads
    /// the metrics and rescales its target.
    #[arg(long, default_value = "15s", value_parser = parse_period)]
    pub horizontal_pod_autoscaler_sync_period: Duration,
}

impl ControllerFlags {
    pub fn options(&self, root_ca: Option<String>) -> controllers::Options {
        controllers::Options {
            root_ca,
            node_monitor_grace_period: self.node_monitor_grace_period,
            terminated_pod_gc_threshold: self.terminated_pod_gc_threshold,
            volume_dir: None,
            controllers: self.controllers.clone(),
            hpa_sync_period: self.horizontal_pod_autoscaler_sync_period,
        }
    }
}

/// Go's `time.ParseDuration` for non-negative durations: numbers with
/// units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`, concatenated.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("time: invalid duration {text:?}");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration {text:?}"))?;
        let number: f64 = rest[..number_end].parse().map_err(|_| invalid())?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => return Err(format!("time: unknown unit {unit:?} in duration {text:?}")),
        };
        total += number * seconds;
        rest = &rest[unit_end..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| invalid())
}

/// A duration that must not be zero: a period of nothing would sync
/// without pause.
fn parse_period(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err(format!("a period must be longer than zero, got {text:?}")),
        d => Ok(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_duration("40s"), Ok(Duration::from_secs(40)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("40").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(parse_period("2s"), Ok(Duration::from_secs(2)));
        assert!(parse_period("0s").is_err());
    }
}
