//! What a run found: one result per rule, with the exchanges that decided it, rendered as a
//! terminal table, JSON (for CI) or a self-contained HTML page.

use crate::rules::{Group, RULES, Rule};
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Skip,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "skip",
        }
    }
}

/// One request the rule was judged on.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// `POST /pvt/orders?sc=1&an=…` (a path secret shown as `{secret}`), or the OMS call received.
    pub request: String,
    /// An excerpt of what was sent, when there was a body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent: Option<String>,
    /// `None` when no answer came (connection refused, timeout).
    pub status: Option<u16>,
    pub elapsed_ms: Option<u64>,
    /// The start of the answer (or the error).
    pub excerpt: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    pub id: &'static str,
    pub group: Group,
    pub title: &'static str,
    pub source: &'static str,
    pub outcome: Outcome,
    /// Why: the problems found, or what was checked, or why it was skipped.
    pub detail: String,
    pub evidence: Vec<Evidence>,
}

impl RuleResult {
    pub fn new(rule: &Rule, outcome: Outcome, detail: String, evidence: Vec<Evidence>) -> Self {
        RuleResult {
            id: rule.id,
            group: rule.group,
            title: rule.title,
            source: rule.source,
            outcome,
            detail,
            evidence,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Marker {
    /// Header on every request this run sent, with the run id as its value.
    pub header: &'static str,
    pub run_id: String,
    /// Every marketplace order id this run placed starts with it.
    pub order_id_prefix: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub version: &'static str,
    /// The endpoint checked, without its credential.
    pub base: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub requests_sent: u32,
    pub marker: Marker,
    pub summary: Summary,
    pub rules: Vec<RuleResult>,
    /// What was placed and cleaned up, and anything else the user should know.
    pub notes: Vec<String>,
}

impl Report {
    pub fn summarize(rules: &[RuleResult]) -> Summary {
        let n = |o| rules.iter().filter(|r| r.outcome == o).count();
        Summary {
            passed: n(Outcome::Pass),
            failed: n(Outcome::Fail),
            skipped: n(Outcome::Skip),
        }
    }

    pub fn failed(&self) -> bool {
        self.summary.failed > 0
    }

    pub fn result(&self, id: &str) -> Option<&RuleResult> {
        self.rules.iter().find(|r| r.id == id)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }

    /// The terminal summary: one line per rule, the details of failures below.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let width = RULES.iter().map(|r| r.id.len()).max().unwrap_or(20);
        let _ = writeln!(out, "seller-check {} against {}", self.version, self.base);
        let mut group = None;
        for r in &self.rules {
            if group != Some(r.group) {
                group = Some(r.group);
                let _ = writeln!(out, "\n{}", r.group.label());
            }
            let _ = writeln!(
                out,
                "  {:<4}  {:<width$}  {}",
                r.outcome.label(),
                r.id,
                one_line(&r.detail, 100)
            );
        }
        let failures: Vec<&RuleResult> = self
            .rules
            .iter()
            .filter(|r| r.outcome == Outcome::Fail)
            .collect();
        if !failures.is_empty() {
            let _ = writeln!(out, "\nFailures");
            for r in failures {
                let _ = writeln!(out, "  {} — {}\n    source: {}", r.id, r.title, r.source);
                for line in r.detail.lines() {
                    let _ = writeln!(out, "    {line}");
                }
                for e in r.evidence.iter().take(3) {
                    let status = e.status.map_or("no answer".to_string(), |s| s.to_string());
                    let _ = writeln!(out, "    > {}  → {}", e.request, status);
                    let _ = writeln!(out, "      {}", one_line(&e.excerpt, 160));
                }
            }
        }
        for n in &self.notes {
            let _ = writeln!(out, "\nnote: {n}");
        }
        let _ = writeln!(
            out,
            "\n{} passed, {} failed, {} skipped · {} requests in {:.1} s · marker {}: {} · orders {}…",
            self.summary.passed,
            self.summary.failed,
            self.summary.skipped,
            self.requests_sent,
            self.duration_ms as f64 / 1000.0,
            self.marker.header,
            self.marker.run_id,
            self.marker.order_id_prefix,
        );
        out
    }

    /// A single self-contained page (no scripts, no external assets) to attach to a ticket.
    pub fn to_html(&self) -> String {
        let mut h = String::new();
        let verdict = if self.failed() {
            format!("{} rule(s) failed", self.summary.failed)
        } else {
            "no rule failed".to_string()
        };
        let _ = write!(
            h,
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>seller-check: {base}</title>
<style>
body {{ font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2433; margin: 0; background: #f5f6f8; }}
header {{ background: #142032; color: #fff; padding: 24px 40px; }}
header h1 {{ margin: 0 0 4px; font-size: 22px; }}
header .meta {{ color: #b9c3d3; font-size: 13px; }}
main {{ padding: 24px 40px 48px; max-width: 1180px; }}
.cards {{ display: flex; gap: 12px; margin-bottom: 24px; }}
.card {{ background: #fff; border-radius: 8px; padding: 12px 18px; min-width: 110px; box-shadow: 0 1px 2px #0002; }}
.card b {{ display: block; font-size: 26px; }}
.card.pass b {{ color: #1a7f37; }} .card.fail b {{ color: #c62828; }} .card.skip b {{ color: #7a6a00; }}
.verdict {{ font-weight: 600; margin: 0 0 16px; }}
h2 {{ font-size: 17px; margin: 28px 0 8px; }}
table {{ border-collapse: collapse; width: 100%; table-layout: fixed; background: #fff; box-shadow: 0 1px 2px #0002; border-radius: 8px; overflow: hidden; }}
td, th {{ text-align: left; padding: 8px 12px; border-bottom: 1px solid #e7e9ee; vertical-align: top; }}
th {{ background: #eef0f4; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: #556; }}
th.o, td.o {{ width: 64px; }} th.r {{ width: 46%; }}
.badge {{ display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 700; }}
.badge.pass {{ background: #dcf3e3; color: #1a7f37; }} .badge.fail {{ background: #fde2e1; color: #c62828; }} .badge.skip {{ background: #f6efc6; color: #6b5d00; }}
.id {{ font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; color: #334; }}
.src {{ color: #667; font-size: 12px; }}
.detail {{ white-space: pre-wrap; margin-top: 4px; }}
tr.fail td {{ background: #fff8f8; }}
details {{ margin-top: 6px; }}
summary {{ cursor: pointer; color: #2457a6; font-size: 13px; }}
pre {{ background: #f3f4f7; padding: 8px 10px; border-radius: 6px; white-space: pre-wrap; word-break: break-all; font-size: 12px; margin: 6px 0; }}
.notes li {{ margin: 4px 0; }}
.failed {{ margin: 0 0 20px; }} .failed a {{ color: #c62828; font-family: ui-monospace, Menlo, Consolas, monospace; }}
</style></head><body>
<header><h1>seller-check · {base}</h1>
<div class="meta">{tool} {version} · started {started} · {dur:.1} s · {reqs} requests · marker <code>{mh}: {run}</code>, orders <code>{prefix}…</code></div></header>
<main>
<p class="verdict">{verdict}</p>
<div class="cards"><div class="card pass"><b>{p}</b>passed</div><div class="card fail"><b>{f}</b>failed</div><div class="card skip"><b>{s}</b>skipped</div></div>
"#,
            base = esc(&self.base),
            tool = self.tool,
            version = self.version,
            started = esc(&self.started_at),
            dur = self.duration_ms as f64 / 1000.0,
            reqs = self.requests_sent,
            mh = self.marker.header,
            run = esc(&self.marker.run_id),
            prefix = esc(&self.marker.order_id_prefix),
            p = self.summary.passed,
            f = self.summary.failed,
            s = self.summary.skipped,
        );
        let failed: Vec<&RuleResult> = self
            .rules
            .iter()
            .filter(|r| r.outcome == Outcome::Fail)
            .collect();
        if !failed.is_empty() {
            h.push_str("<p class=\"failed\">Failed: ");
            let links: Vec<String> = failed
                .iter()
                .map(|r| format!("<a href=\"#{0}\">{0}</a>", r.id))
                .collect();
            h.push_str(&links.join(" · "));
            h.push_str("</p>\n");
        }
        let mut group = None;
        for r in &self.rules {
            if group != Some(r.group) {
                if group.is_some() {
                    h.push_str("</table>\n");
                }
                group = Some(r.group);
                let _ = write!(
                    h,
                    "<h2>{}</h2>\n<table><tr><th class=\"o\"></th><th class=\"r\">Rule</th><th>Result</th></tr>\n",
                    r.group.label()
                );
            }
            let class = match r.outcome {
                Outcome::Pass => "pass",
                Outcome::Fail => "fail",
                Outcome::Skip => "skip",
            };
            let _ = write!(
                h,
                "<tr id=\"{}\" class=\"{class}\"><td class=\"o\"><span class=\"badge {class}\">{}</span></td>\
                 <td><div>{}</div><div class=\"id\">{}</div><div class=\"src\">{}</div></td>\
                 <td><div class=\"detail\">{}</div>",
                r.id,
                r.outcome.label().to_lowercase(),
                esc(r.title),
                r.id,
                esc(r.source),
                esc(&r.detail),
            );
            if !r.evidence.is_empty() {
                let _ = write!(
                    h,
                    "<details{}><summary>{} request(s)</summary>",
                    if r.outcome == Outcome::Fail {
                        " open"
                    } else {
                        ""
                    },
                    r.evidence.len()
                );
                for e in r.evidence.iter().take(12) {
                    let status = e.status.map_or("no answer".to_string(), |s| s.to_string());
                    let ms = e.elapsed_ms.map_or(String::new(), |m| format!(" · {m} ms"));
                    let _ = write!(
                        h,
                        "<pre>{} → {status}{ms}{}\n{}</pre>",
                        esc(&e.request),
                        e.sent
                            .as_ref()
                            .map_or(String::new(), |s| format!("\nsent: {}", esc(s))),
                        esc(&e.excerpt)
                    );
                }
                h.push_str("</details>");
            }
            h.push_str("</td></tr>\n");
        }
        if group.is_some() {
            h.push_str("</table>\n");
        }
        if !self.notes.is_empty() {
            h.push_str("<h2>Notes</h2><ul class=\"notes\">");
            for n in &self.notes {
                let _ = write!(h, "<li>{}</li>", esc(n));
            }
            h.push_str("</ul>");
        }
        h.push_str("</main></body></html>\n");
        h
    }
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate(&flat, max)
}

/// At most `max` characters, with an ellipsis when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
