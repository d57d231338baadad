//! CronJob schedules in time: the next activation after an instant, in
//! the schedule's time zone, walking fields the way robfig/cron v3 (the
//! library Kubernetes uses) does, so daylight-saving days behave the same:
//! a wall time skipped by a spring-forward gap does not run that day, one
//! repeated by a fall-back runs twice. And Kubernetes' count of missed
//! start times since the last one (`mostRecentScheduleTime`).
//!
//! Fields are parsed by the API server's own validation parser
//! (`apimachinery::validation::cron`), so a schedule runs exactly as it was
//! accepted.

use apimachinery::validation::cron::{CronSchedule, parse_schedule};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use std::time::Duration;

/// A parsed schedule and the zone it runs in.
#[derive(Debug, Clone)]
pub struct Schedule {
    fields: CronSchedule,
    tz: TimeZone,
}

/// Why a CronJob cannot be scheduled, with Kubernetes' Event reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleError {
    /// `UnknownTimeZone`: `spec.timeZone` names no zone.
    UnknownTimeZone(String, String),
    /// `UnparseableSchedule`.
    Unparseable(String),
}

impl Schedule {
    /// The schedule as the controller reads it: a `TZ=`/`CRON_TZ=` prefix
    /// names the zone (accepted only on CronJobs that had it before), else
    /// `spec.timeZone`, else UTC.
    pub fn parse(schedule: &str, time_zone: Option<&str>) -> Result<Schedule, ScheduleError> {
        let fields =
            parse_schedule(schedule).map_err(|e| ScheduleError::Unparseable(e.to_string()))?;
        let prefixed = ["TZ=", "CRON_TZ="]
            .iter()
            .find_map(|p| schedule.strip_prefix(p));
        let zone = match prefixed {
            Some(rest) => Some(rest.split(' ').next().unwrap_or_default()),
            None => time_zone,
        };
        let tz = match zone {
            None | Some("") | Some("UTC") => TimeZone::UTC,
            Some(name) => TimeZone::get(name).map_err(|_| {
                ScheduleError::UnknownTimeZone(
                    name.to_string(),
                    format!("unknown time zone {name}"),
                )
            })?,
        };
        Ok(Schedule { fields, tz })
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    fn civil(&self, t: Timestamp) -> DateTime {
        self.tz.to_datetime(t)
    }

    /// A wall time in the zone; in a gap, the instant after it.
    fn instant(&self, dt: DateTime) -> Option<Timestamp> {
        self.tz.to_ambiguous_timestamp(dt).compatible().ok()
    }

    fn day_matches(&self, dt: DateTime) -> bool {
        let f = &self.fields;
        let dom = f.days_of_month & (1 << dt.day()) != 0;
        let dow = f.days_of_week & (1 << dt.weekday().to_sunday_zero_offset()) != 0;
        if f.dom_star || f.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The first activation strictly after `after`, or `None` if there is
    /// none within five years (`0 0 30 2 *`).
    pub fn next(&self, after: Timestamp) -> Option<Timestamp> {
        let whole = Timestamp::from_second(after.as_second()).ok()?;
        if let Some(every) = self.fields.every_seconds {
            return whole
                .checked_add(SignedDuration::from_secs(every as i64))
                .ok();
        }
        let f = &self.fields;
        let mut t = whole.checked_add(SignedDuration::from_secs(1)).ok()?;
        let mut moved = false;
        let year_limit = self.civil(t).year() + 5;
        'wrap: loop {
            if self.civil(t).year() > year_limit {
                return None;
            }
            while f.months & (1 << self.civil(t).month()) == 0 {
                let first = self.civil(t).date().first_of_month();
                moved = true;
                t = self.instant(
                    first
                        .checked_add(1.month())
                        .ok()?
                        .to_datetime(jiff::civil::Time::midnight()),
                )?;
                if self.civil(t).month() == 1 {
                    continue 'wrap;
                }
            }
            while !self.day_matches(self.civil(t)) {
                let day: Date = self.civil(t).date();
                moved = true;
                t = self.instant(
                    day.checked_add(1.day())
                        .ok()?
                        .to_datetime(jiff::civil::Time::midnight()),
                )?;
                if self.civil(t).day() == 1 {
                    continue 'wrap;
                }
            }
            while f.hours & (1 << self.civil(t).hour()) == 0 {
                if !moved {
                    moved = true;
                    let c = self.civil(t);
                    t = self.instant(c.date().to_datetime(jiff::civil::time(c.hour(), 0, 0, 0)))?;
                }
                t = t.checked_add(SignedDuration::from_hours(1)).ok()?;
                if self.civil(t).hour() == 0 {
                    continue 'wrap;
                }
            }
            while f.minutes & (1 << self.civil(t).minute()) == 0 {
                if !moved {
                    moved = true;
                    t = Timestamp::from_second(t.as_second() - t.as_second().rem_euclid(60))
                        .ok()?;
                }
                t = t.checked_add(SignedDuration::from_mins(1)).ok()?;
                if self.civil(t).minute() == 0 {
                    continue 'wrap;
                }
            }
            // Standard schedules run at second 0.
            while self.civil(t).second() != 0 {
                t = t.checked_add(SignedDuration::from_secs(1)).ok()?;
                if self.civil(t).second() == 0 {
                    continue 'wrap;
                }
            }
            return Some(t);
        }
    }
}

/// How many start times were missed since the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    None,
    Few,
    /// More than 100: Kubernetes warns `TooManyMissedTimes`.
    Many,
}

/// The error Kubernetes reports for a schedule with no two activations
/// (`InvalidSchedule`).
pub const TOO_CLOSE: &str = "time difference between two schedules is less than 1 second";

/// Kubernetes' `mostRecentScheduleTime`: from `earliest` (the last
/// schedule time, else the creation time, moved up to `now -
/// startingDeadlineSeconds` when `deadline` is given), the latest
/// activation not after `now`, if any, and how many were missed.
pub fn most_recent(
    schedule: &Schedule,
    earliest: Timestamp,
    deadline: Option<i64>,
    now: Timestamp,
) -> Result<(Timestamp, Option<Timestamp>, Missed), String> {
    let mut earliest = earliest;
    if let Some(d) = deadline
        && let Ok(cutoff) = now.checked_sub(SignedDuration::from_secs(d))
        && cutoff > earliest
    {
        earliest = cutoff;
    }
    let (Some(t1), Some(t2)) = (
        schedule.next(earliest),
        schedule.next(earliest).and_then(|t| schedule.next(t)),
    ) else {
        return Err(TOO_CLOSE.to_string());
    };
    if now < t1 {
        return Ok((earliest, None, Missed::None));
    }
    if now < t2 {
        return Ok((earliest, Some(t1), Missed::None));
    }
    let between = t2.duration_since(t1).as_secs_f64().round() as i64;
    if between < 1 {
        return Err(TOO_CLOSE.to_string());
    }
    let elapsed = now.duration_since(t1).as_secs();
    let missed_count = elapsed / between + 1;
    // Jump close to `now` rather than walking every missed activation.
    let mut t = t1
        .checked_add(SignedDuration::from_secs((missed_count - 2) * between))
        .map_err(|e| e.to_string())?;
    let mut latest = None;
    while let Some(next) = schedule.next(t) {
        if next > now {
            break;
        }
        latest = Some(next);
        t = next;
    }
    let missed = if missed_count > 100 {
        Missed::Many
    } else {
        Missed::Few
    };
    Ok((earliest, latest, missed))
}

/// Extra wait after an activation so the controller wakes up past it.
const NEXT_DELTA: Duration = Duration::from_millis(100);

/// How long until the next activation after the most recent one
/// (Kubernetes' `nextScheduleTimeDuration`), for requeueing.
pub fn until_next(schedule: &Schedule, earliest: Timestamp, now: Timestamp) -> Duration {
    let base = match most_recent(schedule, earliest, None, now) {
        Err(_) => now,
        Ok((_, Some(t), _)) => t,
        Ok((e, None, Missed::None)) => e,
        Ok((_, None, _)) => now,
    };
    match schedule.next(base) {
        Some(next) if next > now => next.duration_since(now).unsigned_abs() + NEXT_DELTA,
        Some(_) => NEXT_DELTA,
        // Nothing in five years: look again in a day.
        None => Duration::from_secs(86_400),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn next(spec: &str, tz: Option<&str>, after: &str) -> String {
        Schedule::parse(spec, tz)
            .unwrap()
            .next(ts(after))
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    /// The first `n` activations after `after`.
    fn run(spec: &str, tz: Option<&str>, after: &str, n: usize) -> Vec<String> {
        let s = Schedule::parse(spec, tz).unwrap();
        let mut t = ts(after);
        (0..n)
            .map(|_| {
                t = s.next(t).unwrap();
                t.to_string()
            })
            .collect()
    }

    #[test]
    fn cron_next_standard_fields() {
        assert_eq!(
            next("*/1 * * * *", None, "2025-05-01T12:00:00Z"),
            "2025-05-01T12:01:00Z"
        );
        assert_eq!(
            next("*/1 * * * *", None, "2025-05-01T12:00:59.5Z"),
            "2025-05-01T12:01:00Z"
        );
        assert_eq!(
            run("*/15 9-10 * * *", None, "2025-05-01T09:50:00Z", 3),
            [
                "2025-05-01T10:00:00Z",
                "2025-05-01T10:15:00Z",
                "2025-05-01T10:30:00Z"
            ]
        );
        assert_eq!(
            next("*/15 9-10 * * *", None, "2025-05-01T10:45:00Z"),
            "2025-05-02T09:00:00Z"
        );
        assert_eq!(
            next("0 0 1 jan *", None, "2025-05-01T00:00:00Z"),
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(
            run("30 8 * * MON-FRI", None, "2025-05-02T09:00:00Z", 2),
            ["2025-05-05T08:30:00Z", "2025-05-06T08:30:00Z"]
        );
        assert_eq!(
            run("0 12 1,15 * *", None, "2025-05-01T12:00:00Z", 2),
            ["2025-05-15T12:00:00Z", "2025-06-01T12:00:00Z"]
        );
        assert_eq!(
            next("0 0 29 2 *", None, "2025-03-01T00:00:00Z"),
            "2028-02-29T00:00:00Z"
        );
        assert_eq!(next("0 0 30 2 *", None, "2025-03-01T00:00:00Z"), "");
    }

    #[test]
    fn cron_next_day_of_month_or_day_of_week() {
        // Both restricted: either matches (2025-05-13 is a Tuesday).
        assert_eq!(
            run("0 0 13 * 5", None, "2025-05-08T00:00:00Z", 3),
            [
                "2025-05-09T00:00:00Z",
                "2025-05-13T00:00:00Z",
                "2025-05-16T00:00:00Z"
            ]
        );
        // One is a star: only the other restricts.
        assert_eq!(
            next("0 0 * * 5", None, "2025-05-08T00:00:00Z"),
            "2025-05-09T00:00:00Z"
        );
        assert_eq!(
            next("0 0 13 * *", None, "2025-05-08T00:00:00Z"),
            "2025-05-13T00:00:00Z"
        );
        // `*/1` keeps the star, as robfig's parser does; `*/2` does not.
        assert_eq!(
            next("0 0 */1 * 5", None, "2025-05-08T00:00:00Z"),
            "2025-05-09T00:00:00Z"
        );
        assert_eq!(
            next("0 0 */2 * 5", None, "2025-05-07T00:00:00Z"),
            "2025-05-09T00:00:00Z"
        );
    }

    #[test]
    fn cron_next_macros() {
        let after = "2025-05-14T10:20:00Z";
        assert_eq!(next("@hourly", None, after), "2025-05-14T11:00:00Z");
        assert_eq!(next("@daily", None, after), "2025-05-15T00:00:00Z");
        assert_eq!(next("@midnight", None, after), "2025-05-15T00:00:00Z");
        assert_eq!(next("@weekly", None, after), "2025-05-18T00:00:00Z");
        assert_eq!(next("@monthly", None, after), "2025-06-01T00:00:00Z");
        assert_eq!(next("@yearly", None, after), "2026-01-01T00:00:00Z");
        assert_eq!(next("@annually", None, after), "2026-01-01T00:00:00Z");
        assert_eq!(
            next("@every 90s", None, "2025-05-14T10:20:00.7Z"),
            "2025-05-14T10:21:30Z"
        );
    }

    #[test]
    fn cron_next_in_a_time_zone_across_daylight_saving() {
        let berlin = Some("Europe/Berlin");
        // 02:30 does not exist on 2025-03-30 in Berlin: that day is skipped.
        assert_eq!(
            run("30 2 * * *", berlin, "2025-03-29T00:00:00Z", 2),
            ["2025-03-29T01:30:00Z", "2025-03-31T00:30:00Z"]
        );
        // 02:30 happens twice on 2025-10-26: it runs twice.
        assert_eq!(
            run("30 2 * * *", berlin, "2025-10-25T12:00:00Z", 3),
            [
                "2025-10-26T00:30:00Z",
                "2025-10-26T01:30:00Z",
                "2025-10-27T01:30:00Z"
            ]
        );
        // Midnight in the zone, not in UTC.
        assert_eq!(
            next("@daily", Some("America/New_York"), "2025-07-01T12:00:00Z"),
            "2025-07-02T04:00:00Z"
        );
        assert_eq!(
            next("TZ=Asia/Tokyo 0 9 * * *", None, "2025-07-01T01:00:00Z"),
            "2025-07-02T00:00:00Z"
        );
        assert_eq!(
            Schedule::parse("@daily", Some("Mars/Base")).unwrap_err(),
            ScheduleError::UnknownTimeZone(
                "Mars/Base".into(),
                "unknown time zone Mars/Base".into()
            )
        );
        assert!(matches!(
            Schedule::parse("61 * * * *", None),
            Err(ScheduleError::Unparseable(_))
        ));
    }

    #[test]
    fn cron_most_recent_and_missed_schedules() {
        let s = Schedule::parse("*/1 * * * *", None).unwrap();
        let created = ts("2025-05-01T12:00:30Z");
        assert_eq!(
            most_recent(&s, created, None, ts("2025-05-01T12:00:50Z")).unwrap(),
            (created, None, Missed::None)
        );
        assert_eq!(
            most_recent(&s, created, None, ts("2025-05-01T12:01:05Z"))
                .unwrap()
                .1,
            Some(ts("2025-05-01T12:01:00Z"))
        );
        let (_, latest, missed) =
            most_recent(&s, created, None, ts("2025-05-01T12:05:05Z")).unwrap();
        assert_eq!(
            (latest, missed),
            (Some(ts("2025-05-01T12:05:00Z")), Missed::Few)
        );
        let (_, latest, missed) =
            most_recent(&s, created, None, ts("2025-05-01T15:00:05Z")).unwrap();
        assert_eq!(
            (latest, missed),
            (Some(ts("2025-05-01T15:00:00Z")), Missed::Many)
        );
        // A starting deadline forgets what is older.
        let (_, latest, missed) =
            most_recent(&s, created, Some(30), ts("2025-05-01T15:00:05Z")).unwrap();
        assert_eq!(
            (latest, missed),
            (Some(ts("2025-05-01T15:00:00Z")), Missed::None)
        );
        assert_eq!(
            until_next(&s, created, ts("2025-05-01T12:00:50Z")),
            Duration::from_millis(10_100)
        );
        let never = Schedule::parse("0 0 30 2 *", None).unwrap();
        assert_eq!(
            most_recent(&never, created, None, created),
            Err(TOO_CLOSE.to_string())
        );
    }
}
