//! Ages and durations as `kubectl get` shows them ("5s", "3m12s", "2d3h"),
//! with the rounding rules of apimachinery's `duration.HumanDuration`.

use jiff::{SignedDuration, Timestamp};

/// Go's `time.Duration` is an `int64` of nanoseconds and `time.Since`
/// saturates there, so ages past ~292 years print as that limit.
const GO_MAX_DURATION_SECS: i64 = i64::MAX / 1_000_000_000;

/// A succinct, ~2-3 significant figure rendering of a duration: seconds up
/// to two minutes, then minutes and seconds, minutes, hours and minutes,
/// hours, days and hours, days, years and days, years. Slightly negative
/// durations (clock skew under two seconds) read as "0s"; more negative
/// ones as "<invalid>".
pub fn human_duration(d: SignedDuration) -> String {
    // Truncation toward zero, as Go's `int(d.Seconds())` does.
    let seconds = d.as_secs().min(GO_MAX_DURATION_SECS);
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        return format!("{hours}h{m}m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        return format!("{}d{h}h", hours / 24);
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days_of_year = (hours / 24) % 365;
        if days_of_year == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        return format!("{}y{days_of_year}d", hours / 24 / 365);
    }
    format!("{}y", hours / 24 / 365)
}

/// Parses a `metav1.Time` or `metav1.MicroTime` (RFC 3339). Empty strings
/// and `null` are Go's zero time, which printers treat as unknown.
pub(crate) fn parse_time(s: &str) -> Option<Timestamp> {
    if s.is_empty() || s == "null" {
        return None;
    }
    s.parse().ok()
}

/// The elapsed time since `ts`, or "<unknown>" when the timestamp is unset
/// (Go's `translateTimestampSince`).
pub(crate) fn since(ts: Option<&str>, now: Timestamp) -> String {
    match ts.and_then(parse_time) {
        Some(t) => human_duration(now.duration_since(t)),
        None => "<unknown>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: i64) -> SignedDuration {
        SignedDuration::from_secs(s)
    }

    #[test]
    fn table_duration_human_rules() {
        let cases: &[(i64, &str)] = &[
            (-3, "<invalid>"),
            (-2, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (5, "5s"),
            (59, "59s"),
            (60, "60s"),
            (119, "119s"),
            (120, "2m"),
            (125, "2m5s"),
            (9 * 60 + 59, "9m59s"),
            (10 * 60, "10m"),
            (10 * 60 + 30, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 5 * 60, "3h5m"),
            (7 * 3600 + 59 * 60 + 59, "7h59m"),
            (8 * 3600, "8h"),
            (47 * 3600 + 59 * 60, "47h"),
            (48 * 3600, "2d"),
            (2 * 86400 + 3 * 3600, "2d3h"),
            (7 * 86400 + 23 * 3600, "7d23h"),
            (8 * 86400, "8d"),
            (729 * 86400, "729d"),
            (730 * 86400, "2y"),
            (3 * 365 * 86400, "3y"),
            (3 * 365 * 86400 + 10 * 86400, "3y10d"),
            (8 * 365 * 86400 + 100 * 86400, "8y"),
            (400 * 365 * 86400, "292y"),
        ];
        for (s, want) in cases {
            assert_eq!(human_duration(secs(*s)), *want, "for {s}s");
        }
    }

    #[test]
    fn table_duration_truncates_fractions_toward_zero() {
        assert_eq!(human_duration(SignedDuration::from_millis(1999)), "1s");
        assert_eq!(human_duration(SignedDuration::from_millis(-1999)), "0s");
        assert_eq!(
            human_duration(SignedDuration::from_millis(-2000)),
            "<invalid>"
        );
    }

    #[test]
    fn table_duration_since_handles_unset() {
        let now: Timestamp = "2024-01-01T01:00:00Z".parse().expect("valid");
        assert_eq!(since(Some("2024-01-01T00:00:00Z"), now), "60m");
        assert_eq!(since(Some("2024-01-01T00:59:59.500000Z"), now), "0s");
        assert_eq!(since(Some(""), now), "<unknown>");
        assert_eq!(since(None, now), "<unknown>");
    }
}
