//! The template's reconciliation schedule, locally: every `RECONCILE_EVERY_SECS` (default 300) the
//! reconciler ([`reconciler::handle`]) compares the embedded store's open orders with each
//! marketplace's OMS (the stand-in, unless `VTEX_BASE_URL` points elsewhere), with the function's
//! own settings (`RECONCILE_MIN_AGE_MINUTES`, `RECONCILE_PACE_MS`, …). Each run may take up to
//! half the interval, so two never overlap.

use crate::vtex::Outbound;
use domain::clock::Clock;
use embedded_store::EmbeddedStore;
use lambda_kit::config::Vars;
use std::sync::Arc;
use std::time::Duration;

/// Starts the timer, reading each order at its own marketplace ([`Outbound::marketplace_oms`]);
/// the error names what could not be built.
pub fn spawn(store: &EmbeddedStore, vtex: &Outbound, clock: Arc<dyn Clock>) -> Result<(), String> {
    let vars = Vars::env();
    let config = reconciler::Config::from_vars(&vars).map_err(|e| e.to_string())?;
    let oms = Arc::new(vtex.marketplace_oms(config.vtex_timeout)?);
    let every = Duration::from_secs(
        lambda_kit::config::parse_or(
            "RECONCILE_EVERY_SECS",
            vars.get("RECONCILE_EVERY_SECS"),
            300u64,
        )
        .map_err(|e| e.to_string())?
        .max(1),
    );
    let shared = Arc::new(store.clone());
    let deps = reconciler::Deps {
        listing: shared.clone(),
        orders: shared.clone(),
        invoices: Arc::new(
            embedded_store::invoices::SqliteInvoices::new(store).map_err(|e| e.to_string())?,
        ),
        oms,
        progress: shared,
        clock: clock.clone(),
        pause: Arc::new(reconciler::Sleep),
        config,
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // The run's "invocation" ends half an interval from now (less the margin it keeps).
            let ends_at = clock.now()
                + chrono::Duration::from_std(every / 2).unwrap_or(chrono::Duration::zero())
                + chrono::Duration::from_std(deps.config.margin)
                    .unwrap_or(chrono::Duration::zero());
            match reconciler::handle(&deps, scheduled_event(), ends_at).await {
                Ok(r) if r.drifted > 0 || r.errors > 0 => tracing::warn!(
                    checked = r.checked,
                    drifted = r.drifted,
                    healed = r.healed,
                    unhealed = r.unhealed,
                    errors = r.errors,
                    "reconciliation found drift (see the orders' logs, step reconcile.drift)"
                ),
                Ok(r) => tracing::debug!(?r, "reconciliation"),
                Err(e) => tracing::warn!(error = %e, "reconciliation failed"),
            }
        }
    });
    Ok(())
}

fn scheduled_event() -> aws_lambda_events::eventbridge::EventBridgeEvent {
    let v = serde_json::json!({
        "version": "0",
        "id": "local-reconcile",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": chrono::Utc::now().to_rfc3339(),
        "region": "local",
        "resources": [],
        "detail": {}
    });
    serde_json::from_value(v).unwrap_or_default()
}
