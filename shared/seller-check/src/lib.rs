//! seller-check: plays the VTEX marketplace against an External Seller fulfillment endpoint and
//! judges each protocol rule from the protocol alone (`shared/docs/protocol.md`), so it can judge
//! any implementation, not only this repository's connector.
//!
//! [`run`] is the whole check; the binary parses options and prints the [`report::Report`].

pub mod auth;
pub mod client;
pub mod config;
pub mod judge;
pub mod oms;
pub mod orders;
pub mod report;
pub mod rules;
pub mod sim;

use client::{MARKER_HEADER, Seller};
use config::Config;
use report::{Marker, Outcome, Report, RuleResult};
use rules::{Group, RULES};
use std::io::Write;
use std::time::Instant;

/// Runs every rule the options allow and returns the report (the OMS listener, when asked for,
/// lives for the run only).
pub async fn run(cfg: &Config) -> Result<Report, String> {
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let started = Instant::now();
    let run_id: String = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let prefix = format!("SCHK-{run_id}");
    let seller = Seller::new(cfg, &run_id)?;
    let oms = match cfg.oms_listen {
        Some(addr) => Some(oms::Oms::start(addr, cfg.retry_after_secs).await?),
        None => None,
    };
    let total = RULES
        .iter()
        .filter(|r| r.group != Group::Oms || oms.is_some())
        .count();
    let mut results: Vec<RuleResult> = Vec::new();
    let quiet = cfg.quiet;
    let mut done = |r: RuleResult| {
        if !quiet {
            let mark = match r.outcome {
                Outcome::Pass => "pass",
                Outcome::Fail => "FAIL",
                Outcome::Skip => "skip",
            };
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "[{:>2}/{total}] {mark}  {}", results.len() + 1, r.id);
        }
        results.push(r);
    };
    if !quiet {
        eprintln!(
            "seller-check: {} · run {run_id} (header {MARKER_HEADER}, orders {prefix}-…){}",
            seller.shown_base(),
            oms.as_ref().map_or(String::new(), |o| format!(
                " · OMS listening on {}",
                o.url()
            ))
        );
    }

    sim::run(&seller, cfg, &mut done).await?;
    done(auth::run(&seller, cfg).await);
    let mut notes = Vec::new();
    if cfg.allow_orders {
        orders::Orders::new(&seller, cfg, oms.as_ref(), prefix.clone())
            .run(&mut done, &mut notes)
            .await;
    } else {
        for r in RULES.iter().filter(|r| r.group == Group::Orders) {
            done(judge::skip(
                r.id,
                "read-only run: pass --allow-orders and --order-sku to place (and cancel) test orders",
            ));
        }
    }

    results.sort_by_key(|r| RULES.iter().position(|x| x.id == r.id));
    Ok(Report {
        tool: "seller-check",
        version: env!("CARGO_PKG_VERSION"),
        base: seller.shown_base(),
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        requests_sent: seller.requests_sent(),
        marker: Marker {
            header: MARKER_HEADER,
            run_id,
            order_id_prefix: prefix,
        },
        summary: Report::summarize(&results),
        rules: results,
        notes,
    })
}
