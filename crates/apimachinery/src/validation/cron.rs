//! Cron schedules as CronJobs accept them (robfig/cron v3 `ParseStandard`:
//! five fields or a descriptor such as `@hourly` or `@every 1h30m`), with
//! that parser's error texts, and IANA time zone names.

/// Why a schedule does not parse; `Display` is robfig/cron's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CronError(pub String);

struct Bounds {
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

/// A parsed standard schedule: one bit per allowed value of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    pub minutes: u64,
    pub hours: u64,
    pub days_of_month: u64,
    pub months: u64,
    pub days_of_week: u64,
    /// Whether day-of-month or day-of-week was `*` (cron ORs the two only when neither is).
    pub dom_star: bool,
    pub dow_star: bool,
    /// `@every <duration>` schedules, in seconds.
    pub every_seconds: Option<u64>,
}

/// Parses a CronJob schedule.
pub fn parse_schedule(spec: &str) -> Result<CronSchedule, CronError> {
    if spec.is_empty() {
        return Err(CronError("empty spec string".into()));
    }
    let mut spec = spec;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let Some(space) = spec.find(' ') else {
            return Err(CronError(format!("invalid timezone specification: {spec}")));
        };
        let eq = spec.find('=').unwrap_or(0);
        let tz = &spec[eq + 1..space];
        if let Err(e) = check_time_zone(tz) {
            return Err(CronError(format!("provided bad location {tz}: {e}")));
        }
        spec = spec[space..].trim();
    }
    if spec.starts_with('@') {
        return parse_descriptor(spec);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(CronError(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        )));
    }
    let (minutes, _) = get_field(fields[0], &MINUTES)?;
    let (hours, _) = get_field(fields[1], &HOURS)?;
    let (days_of_month, dom_star) = get_field(fields[2], &DOM)?;
    let (months, _) = get_field(fields[3], &MONTHS)?;
    let (days_of_week, dow_star) = get_field(fields[4], &DOW)?;
    Ok(CronSchedule {
        minutes,
        hours,
        days_of_month,
        months,
        days_of_week,
        dom_star,
        dow_star,
        every_seconds: None,
    })
}

fn all(b: &Bounds) -> u64 {
    bits(b.min, b.max, 1)
}

fn bits(min: u32, max: u32, step: u32) -> u64 {
    let mut out = 0u64;
    let mut i = min;
    while i <= max {
        out |= 1 << i;
        i += step;
    }
    out
}

fn parse_descriptor(spec: &str) -> Result<CronSchedule, CronError> {
    let first = |b: &Bounds| 1u64 << b.min;
    let sched = |minutes, hours, dom, months, dow| CronSchedule {
        minutes,
        hours,
        days_of_month: dom,
        months,
        days_of_week: dow,
        dom_star: dom == all(&DOM),
        dow_star: dow == all(&DOW),
        every_seconds: None,
    };
    match spec {
        "@yearly" | "@annually" => Ok(sched(
            first(&MINUTES),
            first(&HOURS),
            first(&DOM),
            first(&MONTHS),
            all(&DOW),
        )),
        "@monthly" => Ok(sched(
            first(&MINUTES),
            first(&HOURS),
            first(&DOM),
            all(&MONTHS),
            all(&DOW),
        )),
        "@weekly" => Ok(sched(
            first(&MINUTES),
            first(&HOURS),
            all(&DOM),
            all(&MONTHS),
            first(&DOW),
        )),
        "@daily" | "@midnight" => Ok(sched(
            first(&MINUTES),
            first(&HOURS),
            all(&DOM),
            all(&MONTHS),
            all(&DOW),
        )),
        "@hourly" => Ok(sched(
            first(&MINUTES),
            all(&HOURS),
            all(&DOM),
            all(&MONTHS),
            all(&DOW),
        )),
        _ => {
            if let Some(d) = spec.strip_prefix("@every ") {
                let nanos = parse_go_duration(d)
                    .map_err(|e| CronError(format!("failed to parse duration {spec}: {e}")))?;
                let secs = (nanos.max(0) as u64).div_ceil(1_000_000_000).max(1);
                let mut s = sched(0, 0, 0, 0, 0);
                s.every_seconds = Some(secs);
                return Ok(s);
            }
            Err(CronError(format!("unrecognized descriptor: {spec}")))
        }
    }
}

fn get_field(field: &str, b: &Bounds) -> Result<(u64, bool), CronError> {
    let mut out = 0u64;
    let mut star = false;
    for expr in field.split(',').filter(|e| !e.is_empty()) {
        let (bits, is_star) = get_range(expr, b)?;
        out |= bits;
        star |= is_star;
    }
    Ok((out, star))
}

fn get_range(expr: &str, b: &Bounds) -> Result<(u64, bool), CronError> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_high.len() == 1;
    let (start, mut end, mut star) = if low_high[0] == "*" || low_high[0] == "?" {
        (b.min, b.max, true)
    } else {
        let start = parse_int_or_name(low_high[0], b)?;
        let end = match low_high.len() {
            1 => start,
            2 => parse_int_or_name(low_high[1], b)?,
            _ => return Err(CronError(format!("too many hyphens: {expr}"))),
        };
        (start, end, false)
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = must_parse_int(range_and_step[1])?;
            if single {
                end = b.max;
            }
            if step > 1 {
                star = false;
            }
            step
        }
        _ => return Err(CronError(format!("too many slashes: {expr}"))),
    };
    if start < b.min {
        return Err(CronError(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            b.min
        )));
    }
    if end > b.max {
        return Err(CronError(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            b.max
        )));
    }
    if start > end {
        return Err(CronError(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        )));
    }
    if step == 0 {
        return Err(CronError(format!(
            "step of range should be a positive number: {expr}"
        )));
    }
    Ok((bits(start, end, step), star))
}

fn parse_int_or_name(expr: &str, b: &Bounds) -> Result<u32, CronError> {
    let lower = expr.to_lowercase();
    if let Some(i) = b.names.iter().position(|n| *n == lower) {
        // Month names start at 1, weekday names at 0.
        return Ok(i as u32 + b.min);
    }
    must_parse_int(expr)
}

fn must_parse_int(expr: &str) -> Result<u32, CronError> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(CronError(format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {}: invalid syntax",
            super::field::go_quote(expr)
        )));
    }
    let n: i64 = expr.parse().map_err(|_| {
        CronError(format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {}: value out of range",
            super::field::go_quote(expr)
        ))
    })?;
    if n < 0 {
        return Err(CronError(format!(
            "negative number ({n}) not allowed: {expr}"
        )));
    }
    // Values this large fail the range checks that follow.
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Go's `time.ParseDuration`, returning nanoseconds.
pub fn parse_go_duration(s: &str) -> Result<i64, String> {
    let orig = s;
    let quoted = super::field::go_quote(orig);
    let mut s = s;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(format!("time: invalid duration {quoted}"));
    }
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let num_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let num = &s[..num_end];
        if num.is_empty() || num == "." {
            return Err(format!("time: invalid duration {quoted}"));
        }
        let value: f64 = num
            .parse()
            .map_err(|_| format!("time: invalid duration {quoted}"))?;
        s = &s[num_end..];
        let unit_end = s
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(s.len());
        let unit = &s[..unit_end];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {quoted}"));
        }
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {quoted}",
                    super::field::go_quote(unit)
                ));
            }
        };
        total += value * scale;
        s = &s[unit_end..];
    }
    if total > i64::MAX as f64 {
        return Err(format!("time: invalid duration {quoted}"));
    }
    let n = total as i64;
    Ok(if neg { -n } else { n })
}

/// Loads a time zone from the system's IANA database; the error text is Go's.
pub fn check_time_zone(name: &str) -> Result<(), String> {
    if name == "UTC" || name.is_empty() {
        return Ok(());
    }
    jiff::tz::TimeZone::get(name)
        .map(|_| ())
        .map_err(|_| format!("unknown time zone {name}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    fn err(spec: &str) -> String {
        parse_schedule(spec).unwrap_err().to_string()
    }

    #[test]
    fn validation_cron_accepts_standard_specs() {
        for spec in [
            "*/5 * * * *",
            "0 0 1 jan *",
            "15 2 * * MON-FRI",
            "@hourly",
            "@every 1h30m",
            "0 0 * * 0",
            "? * * * *",
        ] {
            assert!(parse_schedule(spec).is_ok(), "{spec}");
        }
        let s = parse_schedule("30 2 * * *").unwrap();
        assert_eq!(s.minutes, 1 << 30);
        assert_eq!(s.hours, 1 << 2);
        assert!(s.dom_star && s.dow_star);
    }

    #[test]
    fn validation_cron_error_messages() {
        assert_eq!(
            err("* * * *"),
            "expected exactly 5 fields, found 4: [* * * *]"
        );
        assert_eq!(
            err("60 * * * *"),
            "end of range (60) above maximum (59): 60"
        );
        assert_eq!(
            err("x * * * *"),
            "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            err("* * 0 * *"),
            "beginning of range (0) below minimum (1): 0"
        );
        assert_eq!(
            err("5-1 * * * *"),
            "beginning of range (5) beyond end of range (1): 5-1"
        );
        assert_eq!(
            err("*/0 * * * *"),
            "step of range should be a positive number: */0"
        );
        assert_eq!(err("@fortnightly"), "unrecognized descriptor: @fortnightly");
        assert_eq!(
            err("@every x"),
            "failed to parse duration @every x: time: invalid duration \"x\""
        );
        assert_eq!(err("* * * * 7"), "end of range (7) above maximum (6): 7");
        assert_eq!(err(""), "empty spec string");
    }

    #[test]
    fn validation_cron_time_zones() {
        assert!(check_time_zone("Europe/Paris").is_ok());
        assert_eq!(
            check_time_zone("Mars/Olympus"),
            Err("unknown time zone Mars/Olympus".to_string())
        );
        assert_eq!(parse_go_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(
            parse_go_duration("5"),
            Err("time: missing unit in duration \"5\"".to_string())
        );
    }
}
