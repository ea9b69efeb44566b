//! Reconciler: on a schedule (an EventBridge rule), reads each open order's OMS record at its
//! marketplace and compares it with ours (shared/docs/protocol.md §Get order). The workflow is
//! [`domain::reconcile::Reconciler`]; this crate is its glue: settings from the environment, the
//! invocation's deadline less a margin, and one EMF line of metrics per run.
//!
//! Metrics (namespace `METRICS_NAMESPACE`, dimension `Function = reconciler`), one line per run,
//! every one sent (0 included):
//!
//! | Metric | Meaning |
//! |---|---|
//! | `ReconcileChecked` | orders read from OMS and compared |
//! | `ReconcileDrifted` | orders that differed from VTEX (healed or not) |
//! | `ReconcileHealed` | safe repairs made (an invoice or tracking VTEX holds marked *Sent*) |
//! | `ReconcileUnhealed` | orders still differing after the run: the template's drift alarm |
//! | `ReconcileThrottled` | OMS reads answered 429 |
//! | `ReconcileErrors` | orders not read: VTEX failing or refusing (a 403: the key lacks OMS › View orders) |
//! | `ReconcileSkipped` | orders not read because their account is not registered, or disabled |
//! | `ReconcileStoppedEarly` | 1 when the run stopped before the oldest order (time, 429s, VTEX down) |
//!
//! Nothing here is Lambda-specific: the local runner calls [`handle`] on its own timer.

use async_trait::async_trait;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use domain::clock::Clock;
use domain::invoice_store::InvoiceStore;
use domain::listing::OrderListing;
use domain::ports::{OrderStore, StoreError};
use domain::reconcile::{
    OmsOrders, Pause, ReconcileProgress, ReconcileReport, ReconcileSettings, Reconciler, Stop,
};
use lambda_kit::config::{ConfigError, Vars};
use lambda_kit::metrics::{self, Unit};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;
use vtex::client::PRODUCTION_BASE_URL;

/// Settings read once per cold start.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `RECONCILE_MIN_AGE_MINUTES` (default 60), `RECONCILE_LOOKBACK_DAYS` (default 90; `0` reads
    /// every open order however old), `RECONCILE_PACE_MS` (default 200: at most 5 OMS reads a
    /// second) and `RECONCILE_MAX_PACE_MS` (default 5000: the slowest a run backs off to).
    pub settings: ReconcileSettings,
    /// `RECONCILE_MARGIN_SECS` (default 20): no OMS read starts this close to the invocation's
    /// timeout, leaving the last read (`VTEX_TIMEOUT_MS`) and the bookkeeping time to finish.
    pub margin: Duration,
    /// `VTEX_BASE_URL`: the OMS base; `{an}` is replaced per order. Default: production.
    pub vtex_base_url: String,
    /// `DEFAULT_AN`: the account of orders placed without `an`.
    pub default_an: Option<String>,
    /// `VTEX_TIMEOUT_MS` (default 10000).
    pub vtex_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            settings: ReconcileSettings::default(),
            margin: Duration::from_secs(20),
            vtex_base_url: PRODUCTION_BASE_URL.to_string(),
            default_an: None,
            vtex_timeout: vtex::client::DEFAULT_TIMEOUT,
        }
    }
}

#[derive(Deserialize)]
struct Env {
    reconcile_min_age_minutes: Option<i64>,
    reconcile_lookback_days: Option<i64>,
    reconcile_pace_ms: Option<u64>,
    reconcile_max_pace_ms: Option<u64>,
    reconcile_margin_secs: Option<u64>,
    vtex_base_url: Option<String>,
    default_an: Option<String>,
    vtex_timeout_ms: Option<u64>,
}

impl Config {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let e: Env = vars.load()?;
        let d = Config::default();
        let min_age = match e.reconcile_min_age_minutes {
            Some(m) if m < 0 => {
                return Err(ConfigError(format!(
                    "RECONCILE_MIN_AGE_MINUTES must be 0 or more, got \"{m}\""
                )));
            }
            Some(m) => chrono::Duration::minutes(m),
            None => d.settings.min_age,
        };
        let lookback = match e.reconcile_lookback_days {
            Some(n) if n < 0 => {
                return Err(ConfigError(format!(
                    "RECONCILE_LOOKBACK_DAYS must be 0 or more, got \"{n}\""
                )));
            }
            Some(0) => None,
            Some(n) => Some(chrono::Duration::days(n)),
            None => d.settings.lookback,
        };
        let pace = e
            .reconcile_pace_ms
            .map_or(d.settings.pace, Duration::from_millis);
        let max_pace = e
            .reconcile_max_pace_ms
            .map_or(d.settings.max_pace, Duration::from_millis);
        if max_pace < pace {
            return Err(ConfigError(format!(
                "RECONCILE_MAX_PACE_MS ({}) must not be below RECONCILE_PACE_MS ({})",
                max_pace.as_millis(),
                pace.as_millis()
            )));
        }
        Ok(Config {
            settings: ReconcileSettings {
                min_age,
                lookback,
                pace,
                max_pace,
            },
            margin: e
                .reconcile_margin_secs
                .map_or(d.margin, Duration::from_secs),
            vtex_base_url: e.vtex_base_url.unwrap_or(d.vtex_base_url),
            default_an: e.default_an,
            vtex_timeout: e
                .vtex_timeout_ms
                .map_or(d.vtex_timeout, Duration::from_millis),
        })
    }
}

/// The tables (`ORDERS_TABLE`, `CATALOG_TABLE`, `INVOICES_TABLE`), all required; the composition
/// root's.
#[derive(Debug, Deserialize)]
pub struct Resources {
    pub orders_table: String,
    pub catalog_table: String,
    pub invoices_table: String,
}

/// Waits with Tokio's timer (the Lambda and the local runner).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sleep;

#[async_trait]
impl Pause for Sleep {
    async fn pause(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

/// The ports the reconciler uses, built once by the composition root (or a test, or the runner).
#[derive(Clone)]
pub struct Deps {
    pub listing: Arc<dyn OrderListing>,
    pub orders: Arc<dyn OrderStore>,
    pub invoices: Arc<dyn InvoiceStore>,
    pub oms: Arc<dyn OmsOrders>,
    pub progress: Arc<dyn ReconcileProgress>,
    pub clock: Arc<dyn Clock>,
    pub pause: Arc<dyn Pause>,
    pub config: Config,
}

impl Deps {
    pub fn reconciler(&self) -> Reconciler {
        Reconciler {
            listing: self.listing.clone(),
            orders: self.orders.clone(),
            invoices: self.invoices.clone(),
            oms: self.oms.clone(),
            progress: self.progress.clone(),
            clock: self.clock.clone(),
            pause: self.pause.clone(),
            settings: self.config.settings,
        }
    }

    /// When the run must stop reading: `ends_at` (the invocation's deadline) less the margin.
    pub fn read_until(&self, ends_at: DateTime<Utc>) -> DateTime<Utc> {
        ends_at - chrono::Duration::from_std(self.config.margin).unwrap_or(chrono::Duration::zero())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The open orders or the cursor could not be read or written; the next run tries again.
    #[error("reconciliation failed: {0}")]
    Store(#[from] StoreError),
}

/// The invocation's deadline (`Context::deadline`, milliseconds since the epoch) as a time.
pub fn invocation_deadline(deadline_ms: u64) -> DateTime<Utc> {
    i64::try_from(deadline_ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or_else(Utc::now)
}

/// One scheduled run until `ends_at` (less the margin). The event's content does not matter.
pub async fn handle(
    deps: &Deps,
    event: EventBridgeEvent,
    ends_at: DateTime<Utc>,
) -> Result<ReconcileReport, ReconcileError> {
    let span = tracing::info_span!(
        "reconciliation",
        event_id = event.id.as_deref().unwrap_or("-"),
        scheduled_at = event.time.map(|t| t.to_rfc3339()).unwrap_or_default(),
    );
    let report = deps
        .reconciler()
        .run(deps.read_until(ends_at))
        .instrument(span)
        .await?;
    emit(&report);
    tracing::info!(
        checked = report.checked,
        drifted = report.drifted,
        healed = report.healed,
        unhealed = report.unhealed,
        throttled = report.throttled,
        errors = report.errors,
        skipped = report.skipped,
        stop = ?report.stop,
        "reconciliation run"
    );
    Ok(report)
}

fn emit(r: &ReconcileReport) {
    let n = |v: usize| v as f64;
    metrics::emit_for(
        "reconciler",
        &[
            ("ReconcileChecked", n(r.checked), Unit::Count),
            ("ReconcileDrifted", n(r.drifted), Unit::Count),
            ("ReconcileHealed", n(r.healed), Unit::Count),
            ("ReconcileUnhealed", n(r.unhealed), Unit::Count),
            ("ReconcileThrottled", n(r.throttled), Unit::Count),
            ("ReconcileErrors", n(r.errors), Unit::Count),
            ("ReconcileSkipped", n(r.skipped), Unit::Count),
            (
                "ReconcileStoppedEarly",
                if r.stop == Stop::Finished { 0.0 } else { 1.0 },
                Unit::Count,
            ),
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_apply_and_bad_values_name_the_variable() {
        let c = Config::from_vars(&Vars::default()).unwrap();
        assert_eq!(c, Config::default());
        let c = Config::from_vars(&Vars::from_pairs([
            ("RECONCILE_MIN_AGE_MINUTES", "30"),
            ("RECONCILE_LOOKBACK_DAYS", "0"),
            ("RECONCILE_PACE_MS", "500"),
            ("RECONCILE_MAX_PACE_MS", " "),
            ("RECONCILE_MARGIN_SECS", "15"),
        ]))
        .unwrap();
        assert_eq!(c.settings.min_age, chrono::Duration::minutes(30));
        assert_eq!(c.settings.lookback, None);
        assert_eq!(c.settings.pace, Duration::from_millis(500));
        assert_eq!(c.settings.max_pace, Duration::from_secs(5));
        assert_eq!(c.margin, Duration::from_secs(15));
        for (k, v) in [
            ("RECONCILE_MIN_AGE_MINUTES", "-1"),
            ("RECONCILE_LOOKBACK_DAYS", "-3"),
            ("RECONCILE_PACE_MS", "fast"),
            ("RECONCILE_MAX_PACE_MS", "100"),
        ] {
            let e = Config::from_vars(&Vars::from_pairs([(k, v)])).unwrap_err();
            assert!(e.0.contains(k), "{k}: {e}");
        }
    }

    #[test]
    fn the_invocation_deadline_is_read_in_milliseconds() {
        let at = invocation_deadline(1_764_600_000_123);
        assert_eq!(at.timestamp_millis(), 1_764_600_000_123);
    }
}
