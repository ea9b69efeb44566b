//! VTEX durations: `"5bd"`, `"1d"`, `"4h"`, `"30m"` (shared/docs/protocol.md §Conventions). Never
//! numbers on the wire.

use chrono::{DateTime, Datelike, Duration, Utc, Weekday};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VtexDuration {
    BusinessDays(u32),
    Days(u32),
    Hours(u32),
    Minutes(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {0:?}: expected digits followed by bd, d, h or m (e.g. \"5bd\")")]
pub struct DurationParseError(pub String);

impl VtexDuration {
    /// The instant this duration ends when started at `from`. Business days skip Saturdays and Sundays
    /// (holidays are the carrier's business, not ours).
    pub fn after(self, from: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            VtexDuration::Days(n) => from + Duration::days(i64::from(n)),
            VtexDuration::Hours(n) => from + Duration::hours(i64::from(n)),
            VtexDuration::Minutes(n) => from + Duration::minutes(i64::from(n)),
            VtexDuration::BusinessDays(n) => {
                let mut t = from;
                let mut left = n;
                while left > 0 {
                    t += Duration::days(1);
                    if !matches!(t.weekday(), Weekday::Sat | Weekday::Sun) {
                        left -= 1;
                    }
                }
                t
            }
        }
    }

    /// An upper bound in minutes, for comparing durations of different units.
    pub fn approx_minutes(self) -> u64 {
        match self {
            // A business-day run of n spans at most n + 2*ceil(n/5) calendar days.
            VtexDuration::BusinessDays(n) => {
                let n = u64::from(n);
                (n + 2 * n.div_ceil(5)) * 24 * 60
            }
            VtexDuration::Days(n) => u64::from(n) * 24 * 60,
            VtexDuration::Hours(n) => u64::from(n) * 60,
            VtexDuration::Minutes(n) => u64::from(n),
        }
    }
}

impl FromStr for VtexDuration {
    type Err = DurationParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DurationParseError(s.to_string());
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (digits, unit) = s.split_at(split);
        if digits.is_empty() || digits.len() > 6 {
            return Err(err());
        }
        let n: u32 = digits.parse().map_err(|_| err())?;
        match unit {
            "bd" => Ok(VtexDuration::BusinessDays(n)),
            "d" => Ok(VtexDuration::Days(n)),
            "h" => Ok(VtexDuration::Hours(n)),
            "m" => Ok(VtexDuration::Minutes(n)),
            _ => Err(err()),
        }
    }
}

impl fmt::Display for VtexDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VtexDuration::BusinessDays(n) => write!(f, "{n}bd"),
            VtexDuration::Days(n) => write!(f, "{n}d"),
            VtexDuration::Hours(n) => write!(f, "{n}h"),
            VtexDuration::Minutes(n) => write!(f, "{n}m"),
        }
    }
}

impl Serialize for VtexDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for VtexDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn round_trips_every_suffix() {
        for s in ["0bd", "5bd", "1d", "8d", "4h", "30m"] {
            let d: VtexDuration = s.parse().unwrap();
            assert_eq!(d.to_string(), s);
        }
    }

    #[test]
    fn rejects_malformed() {
        for s in ["", "bd", "5", "5 d", "5w", "-1d", "1.5d", "5bdx"] {
            assert!(s.parse::<VtexDuration>().is_err(), "{s}");
        }
    }

    #[test]
    fn business_days_skip_weekends() {
        // Friday 2026-11-20 + 1bd = Monday 2026-11-23
        let fri = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
        let mon = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        assert_eq!(VtexDuration::BusinessDays(1).after(fri), mon);
        assert_eq!(VtexDuration::Days(8).after(fri), fri + Duration::days(8));
    }
}
