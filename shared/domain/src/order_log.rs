//! How long an order's stored log may grow: at most [`LOG_CAP`] entries, the oldest folded into
//! one summary entry.
//!
//! An order that loops (an ERP re-sending a refused invoice every minute, a marketplace polling a
//! cancel) would otherwise grow its log without bound: every read loads it whole, and the admin view
//! could pass Lambda's 6 MB response limit. The stores apply this policy on append, so the cap holds
//! whichever function writes. The summary keeps what an operator needs from the folded entries: how
//! many, their time span, how each ended and which steps they were; never their detail text.
//!
//! Every store folds the same way: after an append that brings the log past [`LOG_CAP`] entries,
//! the oldest [`LOG_FOLD`] entries (an earlier summary among them, being the oldest) become one
//! summary entry, at the time of the oldest, so the log stays in time order.

use crate::order::{LogEntry, Outcome};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Entries kept per order. At the few hundred bytes an entry takes, a full log stays far below
/// DynamoDB's query page and Lambda's response limit; the admin view pages over it besides.
pub const LOG_CAP: u64 = 1_000;

/// Entries folded into the summary at once: folding rarely (once per this many appends past the
/// cap) keeps the cost of an append flat, and one fold is one DynamoDB transaction (at most 100
/// actions: the summary and the deletions).
pub const LOG_FOLD: u64 = 100;

/// The `step` of a summary entry.
pub const SUMMARY_STEP: &str = "log.summary";

/// Whether the append that made the log `count` entries long must fold.
///
/// A store with an exact count folds whenever the log is past the cap. A store whose count is a
/// counter moved on every append (DynamoDB) folds only on the append that reached `LOG_CAP + 1`
/// (one writer sees that value), and again every [`LOG_FOLD`] appends if a fold's decrement was
/// lost to a crash, so two writers never fold the same entries.
pub fn must_fold(count: u64) -> bool {
    count > LOG_CAP && (count - LOG_CAP - 1).is_multiple_of(LOG_FOLD)
}

/// What a summary entry's `detail` holds (JSON, readable as it is).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogSummary {
    /// How many original entries this summary stands for.
    pub summarized: u64,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Entries per outcome (`Success`, `Error`, …).
    pub outcomes: BTreeMap<String, u64>,
    /// Entries per step (`dispatch.invoice`, …).
    pub steps: BTreeMap<String, u64>,
}

impl LogSummary {
    /// The summary an entry stands for: its own, for a summary entry; a summary of one otherwise.
    fn of(entry: &LogEntry) -> LogSummary {
        if entry.step == SUMMARY_STEP
            && let Ok(summary) = serde_json::from_str::<LogSummary>(&entry.detail)
        {
            return summary;
        }
        LogSummary {
            summarized: 1,
            from: Some(entry.at),
            to: Some(entry.at),
            outcomes: BTreeMap::from([(outcome_name(entry.outcome).to_string(), 1)]),
            steps: BTreeMap::from([(entry.step.clone(), 1)]),
        }
    }

    fn merge(&mut self, other: LogSummary) {
        self.summarized += other.summarized;
        self.from = min_opt(self.from, other.from);
        self.to = self.to.max(other.to);
        for (k, n) in other.outcomes {
            *self.outcomes.entry(k).or_default() += n;
        }
        for (k, n) in other.steps {
            *self.steps.entry(k).or_default() += n;
        }
    }
}

fn min_opt(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Success => "Success",
        Outcome::Error => "Error",
        Outcome::Alert => "Alert",
        Outcome::Pending => "Pending",
    }
}

/// The one entry that replaces `oldest` (in time order, an earlier summary first if there is one).
/// Its outcome is the most serious among them (Alert, then Error, then Pending), so an operator
/// scanning outcomes still sees that something went wrong in the folded part.
pub fn fold(oldest: &[LogEntry]) -> LogEntry {
    let mut summary = LogSummary::default();
    for entry in oldest {
        summary.merge(LogSummary::of(entry));
    }
    let count = |name: &str| summary.outcomes.get(name).copied().unwrap_or(0);
    let outcome = if count("Alert") > 0 {
        Outcome::Alert
    } else if count("Error") > 0 {
        Outcome::Error
    } else if count("Pending") > 0 {
        Outcome::Pending
    } else {
        Outcome::Success
    };
    let at = oldest.iter().map(|e| e.at).min().unwrap_or_else(Utc::now);
    let detail = serde_json::to_string(&summary).unwrap_or_default();
    LogEntry::new(at, SUMMARY_STEP, outcome, detail)
}

/// [`fold`] applied to a whole log held in memory (the in-memory store, and the check the store
/// tests compare against): the log as a store holds it after one more append.
pub fn fold_in_place(log: &mut Vec<LogEntry>) {
    if must_fold(log.len() as u64) {
        let n = (LOG_FOLD as usize).min(log.len());
        let summary = fold(&log[..n]);
        log.splice(..n, [summary]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(i: u64, outcome: Outcome) -> LogEntry {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
            + chrono::Duration::seconds(i as i64);
        LogEntry::new(
            at,
            format!("step.{}", i % 3),
            outcome,
            format!("detail {i}"),
        )
    }

    fn append_many(n: u64) -> Vec<LogEntry> {
        let mut log = Vec::new();
        for i in 0..n {
            let outcome = if i == 7 {
                Outcome::Alert
            } else {
                Outcome::Success
            };
            log.push(entry(i, outcome));
            fold_in_place(&mut log);
        }
        log
    }

    #[test]
    fn a_log_never_passes_the_cap_and_the_summary_accounts_for_every_entry() {
        for n in [
            1,
            LOG_CAP,
            LOG_CAP + 1,
            LOG_CAP + LOG_FOLD,
            5 * LOG_CAP + 17,
        ] {
            let log = append_many(n);
            assert!(
                log.len() as u64 <= LOG_CAP,
                "{n} appends left {} entries",
                log.len()
            );
            let summarized = match log.first() {
                Some(first) if first.step == SUMMARY_STEP => {
                    let s: LogSummary = serde_json::from_str(&first.detail).unwrap();
                    assert_eq!(s.steps.values().sum::<u64>(), s.summarized);
                    assert_eq!(
                        s.outcomes.get("Alert"),
                        Some(&1),
                        "the folded Alert is counted"
                    );
                    assert_eq!(first.outcome, Outcome::Alert);
                    s.summarized
                }
                _ => 0,
            };
            let kept = log.iter().filter(|e| e.step != SUMMARY_STEP).count() as u64;
            assert_eq!(summarized + kept, n, "every entry is kept or summarized");
            assert!(
                log.windows(2).all(|w| w[0].at <= w[1].at),
                "time order holds"
            );
            assert_eq!(log.last().unwrap().detail, format!("detail {}", n - 1));
        }
    }

    #[test]
    fn folding_happens_once_per_fold_size_past_the_cap() {
        assert!(!must_fold(LOG_CAP));
        assert!(must_fold(LOG_CAP + 1));
        assert!(!must_fold(LOG_CAP + 2));
        assert!(must_fold(LOG_CAP + 1 + LOG_FOLD));
        let mut log = append_many(LOG_CAP + 1);
        assert_eq!(log.len() as u64, LOG_CAP + 2 - LOG_FOLD);
        log.push(entry(9_999, Outcome::Success));
        fold_in_place(&mut log);
        assert_eq!(
            log.len() as u64,
            LOG_CAP + 3 - LOG_FOLD,
            "no second fold yet"
        );
    }

    #[test]
    fn a_summary_never_carries_the_detail_text_of_what_it_folded() {
        let log = append_many(LOG_CAP + 1);
        assert!(!log[0].detail.contains("detail "), "{}", log[0].detail);
    }
}
