//! Collects the problems and the evidence of one rule, then decides it.

use crate::client::Exchange;
use crate::report::{Evidence, Outcome, RuleResult};
use crate::rules::rule;
use serde_json::Value;

#[derive(Default)]
pub struct Judge {
    problems: Vec<String>,
    evidence: Vec<Evidence>,
}

impl Judge {
    pub fn new() -> Self {
        Judge::default()
    }

    pub fn saw(&mut self, x: &Exchange) {
        self.evidence.push(x.evidence());
    }

    pub fn saw_evidence(&mut self, e: Evidence) {
        self.evidence.push(e);
    }

    pub fn problem(&mut self, p: impl Into<String>) {
        self.problems.push(p.into());
    }

    pub fn ensure(&mut self, ok: bool, p: impl FnOnce() -> String) {
        if !ok {
            self.problems.push(p());
        }
    }

    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    /// Fails with the problems found (at most 12 listed), else passes with `checked`.
    pub fn finish(self, id: &str, checked: impl Into<String>) -> RuleResult {
        let (outcome, detail) = if self.problems.is_empty() {
            (Outcome::Pass, checked.into())
        } else {
            let n = self.problems.len();
            let mut d = self
                .problems
                .into_iter()
                .take(12)
                .collect::<Vec<_>>()
                .join("\n");
            if n > 12 {
                d.push_str(&format!("\n… and {} more", n - 12));
            }
            (Outcome::Fail, d)
        };
        RuleResult::new(rule(id), outcome, detail, self.evidence)
    }

    pub fn skip(self, id: &str, why: impl Into<String>) -> RuleResult {
        RuleResult::new(rule(id), Outcome::Skip, why.into(), self.evidence)
    }
}

pub fn skip(id: &str, why: impl Into<String>) -> RuleResult {
    Judge::new().skip(id, why)
}

/// A JSON integer (not a float such as `99.9` or `9990.0`, not a string).
pub fn is_int(v: &Value) -> bool {
    v.is_i64() || v.is_u64()
}

pub fn int(v: &Value) -> Option<i64> {
    v.as_i64()
}

pub fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// VTEX's envelope: `{"error": {"code": "…", "message": "…"}}`.
pub fn envelope_problem(x: &Exchange) -> Option<String> {
    let err = x.json.as_ref().and_then(|j| j.get("error"));
    let ok = err.is_some_and(|e| {
        e.get("code").is_some_and(Value::is_string)
            && e.get("message").is_some_and(Value::is_string)
    });
    (!ok).then(|| {
        format!(
            "{}: the answer is not VTEX's error envelope {{\"error\": {{\"code\", \"message\"}}}}",
            x.shown
        )
    })
}

/// `"5bd"`, `"30m"`: digits, then `bd`, `d`, `h` or `m`.
pub fn is_duration(s: &str) -> bool {
    let unit_at = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    unit_at > 0 && matches!(&s[unit_at..], "bd" | "d" | "h" | "m")
}

/// An ISO 8601 date with a time: `2026-11-22T10:15:00-03:00` (also `Z`, fractions, a space).
pub fn is_iso_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    b.len() >= 16
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b' ')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_digits_and_a_unit() {
        for ok in ["0bd", "5bd", "8d", "4h", "30m"] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in ["", "bd", "5", "5 bd", "5days", "-1d", "5BD"] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn a_datetime_needs_a_time() {
        assert!(is_iso_datetime("2026-11-22T10:15:00-03:00"));
        assert!(is_iso_datetime("2014-10-06 18:52:00"));
        assert!(!is_iso_datetime("2026-11-22"));
        assert!(!is_iso_datetime("22/11/2026 10:15"));
    }
}
