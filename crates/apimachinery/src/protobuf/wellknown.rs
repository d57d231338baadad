//! The JSON text of Kubernetes' time types, as Go's marshallers write it.

/// Go refuses to marshal years outside 0..=9999 to RFC 3339; so do we.
const MIN_SECONDS: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
const MAX_SECONDS: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z

/// meta/v1 Time: `2024-01-02T03:04:05Z`. Kubernetes keeps only seconds.
pub fn time(seconds: i64) -> Option<String> {
    let (date, _) = civil(seconds, 0)?;
    Some(format!("{date}Z"))
}

/// meta/v1 MicroTime: `2024-01-02T03:04:05.123456Z`, always six digits.
pub fn micro_time(seconds: i64, nanos: i64) -> Option<String> {
    let (date, nanos) = civil(seconds, nanos)?;
    Some(format!("{date}.{:06}Z", nanos / 1000))
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC and the normalised nanoseconds, if in range.
fn civil(seconds: i64, nanos: i64) -> Option<(String, i64)> {
    // Go's time.Unix accepts nanoseconds outside [0, 1e9) and carries them.
    let total = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
    let seconds = i64::try_from(total.div_euclid(1_000_000_000)).ok()?;
    let nanos = i64::try_from(total.rem_euclid(1_000_000_000)).ok()?;
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
        return None;
    }
    let (days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let text = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    Some((text, nanos))
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`); exact for every year Go prints.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Go's `time.Duration.String`: `1h0m0s`, `1m30s`, `1.5s`, `100ms`, `0s`.
pub fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let u = nanos.unsigned_abs();
    if u < 1_000_000_000 {
        // Below a second Go switches to the largest unit that keeps an integer part.
        let (unit, digits) = match u {
            0..1_000 => ("ns", 0),
            1_000..1_000_000 => ("µs", 3),
            _ => ("ms", 6),
        };
        let (int, frac) = split(u, digits);
        return format!("{sign}{int}{frac}{unit}");
    }
    let (secs, frac) = split(u, 9);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{sign}{h}h{m}m{s}{frac}s")
    } else if m > 0 {
        format!("{sign}{m}m{s}{frac}s")
    } else {
        format!("{sign}{s}{frac}s")
    }
}

/// Splits `v` into an integer part and `.fraction` (trailing zeros dropped)
/// at `digits` decimal places.
fn split(v: u64, digits: u32) -> (u64, String) {
    let scale = 10u64.pow(digits);
    let (int, rem) = (v / scale, v % scale);
    if rem == 0 {
        return (int, String::new());
    }
    let frac = format!("{rem:0width$}", width = digits as usize);
    (int, format!(".{}", frac.trim_end_matches('0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protobuf_time_formats_seconds_in_utc() {
        assert_eq!(time(1_704_164_645).as_deref(), Some("2024-01-02T03:04:05Z"));
        assert_eq!(time(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(time(-1).as_deref(), Some("1969-12-31T23:59:59Z"));
        assert_eq!(time(MIN_SECONDS).as_deref(), Some("0000-01-01T00:00:00Z"));
        assert_eq!(time(MAX_SECONDS).as_deref(), Some("9999-12-31T23:59:59Z"));
        assert_eq!(time(MAX_SECONDS + 1), None);
        assert_eq!(time(MIN_SECONDS - 1), None);
        assert_eq!(time(i64::MIN), None);
        assert_eq!(time(951_782_400).as_deref(), Some("2000-02-29T00:00:00Z"));
        assert_eq!(time(4_107_542_399).as_deref(), Some("2100-02-28T23:59:59Z"));
    }

    #[test]
    fn protobuf_micro_time_keeps_microseconds() {
        assert_eq!(
            micro_time(1_704_164_645, 123_456_789).as_deref(),
            Some("2024-01-02T03:04:05.123456Z")
        );
        assert_eq!(
            micro_time(1_704_164_645, 0).as_deref(),
            Some("2024-01-02T03:04:05.000000Z")
        );
        // Out-of-range nanoseconds carry into the seconds, as Go's time.Unix does.
        assert_eq!(
            micro_time(0, -1_000).as_deref(),
            Some("1969-12-31T23:59:59.999999Z")
        );
        assert_eq!(
            micro_time(0, 1_500_000_000).as_deref(),
            Some("1970-01-01T00:00:01.500000Z")
        );
        assert_eq!(micro_time(i64::MAX, i64::MAX), None);
    }

    #[test]
    fn protobuf_duration_matches_go() {
        let s = 1_000_000_000;
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(30 * s), "30s");
        assert_eq!(go_duration(90 * s), "1m30s");
        assert_eq!(go_duration(60 * s), "1m0s");
        assert_eq!(go_duration(3600 * s), "1h0m0s");
        assert_eq!(go_duration(3600 * s + 1), "1h0m0.000000001s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(100_000_000), "100ms");
        assert_eq!(go_duration(1_500_000), "1.5ms");
        assert_eq!(go_duration(1_500), "1.5µs");
        assert_eq!(go_duration(999), "999ns");
        assert_eq!(go_duration(-90 * s), "-1m30s");
        assert_eq!(go_duration(i64::MIN), "-2562047h47m16.854775808s");
        assert_eq!(go_duration(i64::MAX), "2562047h47m16.854775807s");
    }
}
