//! Reservation sweeper: on a schedule (an EventBridge rule), releases every reservation whose
//! `lockTTL` passed without `/fulfill` or `/cancel` (shared/docs/protocol.md §Placement): status
//! `EXPIRED`, stock released and an `order.expired` event for the ERP written to the outbox in the
//! same store write (the outbox relay delivers it), a log entry.
//!
//! DynamoDB TTL is not the mechanism (it is lazy, shared/docs/protocol.md §Placement): the store
//! answers "which reservations are due at `now`" and each is moved with its optimistic version
//! check, so a fulfill or cancel racing the sweep wins or loses cleanly. Nothing here is
//! Lambda-specific: the local runner calls [`handle`] on its own timer.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use domain::lifecycle::{LifecycleConfig, LifecycleDeps, LifecycleSettings, SweepReport};
use domain::ports::StoreError;
use lambda_kit::config::{ConfigError, Vars};
use tracing::Instrument;

/// Settings read once per cold start (`SWEEP_BATCH_SIZE`, `SWEEP_MAX_BATCHES`, …; see
/// [`lambda_kit::config::lifecycle`]).
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub lifecycle: LifecycleConfig,
}

impl Config {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Config {
            lifecycle: lambda_kit::config::lifecycle(vars)?,
        })
    }
}

/// The ports this function uses, built once by the composition root (or the local runner).
pub type Deps = LifecycleDeps<Config>;

impl LifecycleSettings for Config {
    fn lifecycle(&self) -> &LifecycleConfig {
        &self.lifecycle
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The store could not list due reservations; nothing was done. The next run retries.
    #[error("sweep failed: {0}")]
    Store(#[from] StoreError),
    /// Some orders failed (see the log); the invocation fails so the error metric and its alarm
    /// see it. A failed expiry wrote nothing: the order is still due, and the next run retries.
    #[error(
        "sweep incomplete: {} order(s) failed, {} expired",
        report.failed.len(),
        report.expired.len()
    )]
    Incomplete { report: SweepReport },
}

/// One scheduled run. The event's content does not matter (any schedule, any manual invoke);
/// "now" is the injected clock's.
pub async fn handle(deps: &Deps, event: EventBridgeEvent) -> Result<SweepReport, SweepError> {
    let span = tracing::info_span!(
        "reservation_sweep",
        event_id = event.id.as_deref().unwrap_or("-"),
        scheduled_at = event.time.map(|t| t.to_rfc3339()).unwrap_or_default(),
    );
    let report = deps.lifecycle().sweep().instrument(span).await?;
    if report.failed.is_empty() {
        Ok(report)
    } else {
        for id in &report.failed {
            tracing::error!(order_id = %id, "reservation not expired");
        }
        Err(SweepError::Incomplete { report })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    /// (variables, the setting read or the variable the error names)
    #[test]
    fn config_blank_is_unset_defaults_apply_and_bad_values_name_the_variable() {
        type Row = (
            &'static [(&'static str, &'static str)],
            Result<(usize, usize), &'static str>,
        );
        let table: &[Row] = &[
            (&[], Ok((100, 20))),
            (
                &[("SWEEP_BATCH_SIZE", " "), ("SWEEP_MAX_BATCHES", "")],
                Ok((100, 20)),
            ),
            (
                &[("SWEEP_BATCH_SIZE", "10"), ("SWEEP_MAX_BATCHES", " 3 ")],
                Ok((10, 3)),
            ),
            (&[("SWEEP_BATCH_SIZE", "0")], Err("SWEEP_BATCH_SIZE")),
            (&[("SWEEP_MAX_BATCHES", "-1")], Err("SWEEP_MAX_BATCHES")),
        ];
        for (pairs, want) in table {
            match (
                Config::from_vars(&Vars::from_pairs(pairs.iter().copied())),
                want,
            ) {
                (Ok(c), Ok(v)) => assert_eq!(
                    (c.lifecycle.sweep_batch_size, c.lifecycle.sweep_max_batches),
                    *v,
                    "{pairs:?}"
                ),
                (Err(e), Err(var)) => assert!(e.0.contains(var), "{pairs:?}: {e}"),
                (got, _) => panic!("{pairs:?}: {got:?}"),
            }
        }
        let e = Vars::from_pairs([("CATALOG_TABLE", "c"), ("ORDERS_TABLE", "o")]);
        let e = e.load::<lambda_kit::config::OrderTables>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "configuration: ORDER_EVENTS_QUEUE_URL is not set"
        );
    }
}
