//! When an ended container runs again: its pod's restart policy, and the
//! kubelet's back-off (the first restart at once, then 10 s doubling to
//! 5 minutes; `CrashLoopBackOff` while it waits).

use std::time::Duration;

/// The longest wait between restarts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
const INITIAL: Duration = Duration::from_secs(10);

/// Whether a container of a pod with `policy` that ended with `exit_code`
/// runs again.
pub fn should_restart(policy: &str, exit_code: i32) -> bool {
    match policy {
        "Never" => false,
        "OnFailure" => exit_code != 0,
        _ => true,
    }
}

/// How long after its end a container that has been restarted `restarts`
/// times starts again.
pub fn backoff(restarts: u32) -> Duration {
    match restarts {
        0 => Duration::ZERO,
        n => INITIAL.saturating_mul(1u32.checked_shl(n - 1).unwrap_or(u32::MAX)).min(MAX_BACKOFF),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policy_and_backoff() {
        assert!(should_restart("Always", 0) && should_restart("Always", 1));
        assert!(!should_restart("OnFailure", 0) && should_restart("OnFailure", 2));
        assert!(!should_restart("Never", 1));
        let secs: Vec<u64> = (0..8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [0, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(backoff(100), MAX_BACKOFF);
    }
}
