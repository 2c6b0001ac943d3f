//! Budget periods: calendar days, ISO weeks (from Monday) and months in a time zone, or a
//! fixed duration counted from the Unix epoch (e.g. hourly budgets).

use std::fmt;
use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use serde::Deserialize;
use serde::de::{self, Deserializer};

/// How long a budget's spend accumulates before it starts again from zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// From local midnight to the next.
    Day,
    /// From Monday 00:00 local to the next Monday.
    Week,
    /// From the 1st, 00:00 local, to the next 1st.
    Month,
    /// Fixed windows of this length, aligned to the Unix epoch.
    Every(Duration),
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Day => f.write_str("day"),
            Period::Week => f.write_str("week"),
            Period::Month => f.write_str("month"),
            Period::Every(d) => write!(f, "{}", humantime::format_duration(*d)),
        }
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "day" | "daily" => Ok(Period::Day),
            "week" | "weekly" => Ok(Period::Week),
            "month" | "monthly" => Ok(Period::Month),
            other => match humantime::parse_duration(other) {
                Ok(d) if d >= Duration::from_secs(1) => Ok(Period::Every(d)),
                _ => Err(de::Error::custom(format!(
                    "found `{other}`, expected `day`, `week`, `month` or a duration of at least 1s such as `1h`"
                ))),
            },
        }
    }
}

/// One period: `[start, end)` in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window {
    /// First second.
    pub start: i64,
    /// First second of the next period.
    pub end: i64,
}

impl Window {
    /// Seconds since the start, at `now`.
    pub fn elapsed(&self, now: f64) -> f64 {
        (now - self.start as f64).max(0.0)
    }
}

impl Period {
    /// The period containing `at` (Unix seconds) in `tz`.
    pub fn window(&self, at: i64, tz: &TimeZone) -> Window {
        let calendar = |start: Zoned, next: Zoned| Window {
            start: start.timestamp().as_second(),
            end: next.timestamp().as_second(),
        };
        let zoned = Timestamp::from_second(at).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned(tz.clone());
        let result = match self {
            Period::Every(d) => {
                let len = d.as_secs().max(1) as i64;
                let start = at.div_euclid(len) * len;
                return Window { start, end: start + len };
            }
            Period::Day => zoned.start_of_day().and_then(|s| Ok((s.clone(), s.tomorrow()?.start_of_day()?))),
            Period::Week => {
                let back = i64::from(zoned.weekday().to_monday_zero_offset());
                zoned
                    .start_of_day()
                    .and_then(|s| s.checked_sub(back.days()))
                    .and_then(|s| s.start_of_day())
                    .and_then(|s| Ok((s.clone(), s.checked_add(1.week())?.start_of_day()?)))
            }
            Period::Month => zoned
                .first_of_month()
                .and_then(|s| s.start_of_day())
                .and_then(|s| Ok((s.clone(), s.checked_add(1.month())?.first_of_month()?.start_of_day()?))),
        };
        match result {
            Ok((start, next)) => calendar(start, next),
            // Only at the ends of jiff's range: treat as a one-day period.
            Err(_) => Window { start: at - at.rem_euclid(86_400), end: at - at.rem_euclid(86_400) + 86_400 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        s.parse::<Timestamp>().expect("timestamp").as_second()
    }

    #[test]
    fn calendar_periods_follow_the_time_zone() {
        let utc = TimeZone::UTC;
        let at = ts("2026-11-25T15:30:00Z"); // a Wednesday
        assert_eq!(
            Period::Day.window(at, &utc),
            Window { start: ts("2026-11-25T00:00:00Z"), end: ts("2026-11-26T00:00:00Z") }
        );
        assert_eq!(
            Period::Week.window(at, &utc),
            Window { start: ts("2026-11-23T00:00:00Z"), end: ts("2026-11-30T00:00:00Z") }
        );
        assert_eq!(
            Period::Month.window(at, &utc),
            Window { start: ts("2026-11-01T00:00:00Z"), end: ts("2026-12-01T00:00:00Z") }
        );
        // 15:30 UTC is already the 26th in Tokyo (UTC+9), whose day began at 15:00 UTC.
        let tokyo = TimeZone::get("Asia/Tokyo").expect("bundled tzdb");
        assert_eq!(Period::Day.window(at, &tokyo).start, ts("2026-11-25T15:00:00Z"));
        // A day with a DST change is 23 hours long.
        let berlin = TimeZone::get("Europe/Berlin").expect("bundled tzdb");
        let w = Period::Day.window(ts("2026-03-29T12:00:00Z"), &berlin);
        assert_eq!(w.end - w.start, 23 * 3600);
        let w = Period::Every(Duration::from_secs(10)).window(1_000_000_005, &utc);
        assert_eq!(w, Window { start: 1_000_000_000, end: 1_000_000_010 });
    }

    #[test]
    fn periods_parse_from_names_and_durations() {
        let p = |s: &str| serde_norway::from_str::<Period>(s);
        assert_eq!(p("day").ok(), Some(Period::Day));
        assert_eq!(p("month").ok(), Some(Period::Month));
        assert_eq!(p("1h").ok(), Some(Period::Every(Duration::from_secs(3600))));
        assert!(p("fortnight").is_err());
        assert!(p("0s").is_err());
    }
}
