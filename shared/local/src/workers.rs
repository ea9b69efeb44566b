//! Background loops that play what AWS does around the functions: the event-source mappings that
//! feed queue messages to the workers, and the schedule that runs the reservation sweeper.

use crate::App;
use crate::config::LocalConfig;
use domain::ports::StoreError;
use embedded_store::LocalQueue;
use local::event_source::{BatchReport, poll_while_full};
use std::sync::Arc;
use std::time::Duration;

/// The local queue the ERP drops order messages on (the template's FIFO `DispatchQueue`).
pub const DISPATCH_QUEUE: &str = "dispatch";

/// Receives before a message is parked in its dead-letter queue, as the template's redrive policy.
pub const MAX_RECEIVES: u32 = 5;

pub fn queue(app: &App, name: &str) -> LocalQueue {
    app.store.queue(name).with_max_receives(MAX_RECEIVES)
}

pub fn spawn(app: Arc<App>, cfg: &LocalConfig) {
    let every = Duration::from_secs(cfg.sweep_every_secs.max(1));
    tokio::spawn(sweep_loop(app.clone(), every));
    tokio::spawn(dispatch_loop(app.clone()));
    tokio::spawn(catalog_loop(app.clone()));
    tokio::spawn(import_loop(app));
}

/// The SQS event-source mapping of the order-import function, locally.
async fn import_loop(app: Arc<App>) {
    queue_loop("order-import", || {
        poll_while_full(&app.import_queue, 10, VISIBILITY, |e| {
            order_import::handle(&app.import, e)
        })
    })
    .await
}

/// The SQS event-source mapping of the catalog-sync function, locally.
async fn catalog_loop(app: Arc<App>) {
    queue_loop("catalog-sync", || {
        poll_while_full(&app.catalog_queue, 10, VISIBILITY, |e| {
            catalog_sync::handle(&app.catalog_sync, e)
        })
    })
    .await
}

/// The SQS event-source mapping of the dispatch function, locally.
async fn dispatch_loop(app: Arc<App>) {
    queue_loop("dispatch", || {
        poll_while_full(&app.dispatch_queue, 10, VISIBILITY, |e| {
            dispatch::handle(&app.dispatch, e)
        })
    })
    .await
}

/// How long a received message stays hidden while its worker handles it.
const VISIBILITY: Duration = Duration::from_secs(60);

/// Polls every 500 ms, as an event-source mapping would (each poll receives again at once after a
/// full batch, [`poll_while_full`]), and logs polls that did something.
async fn queue_loop<F, Fut>(worker: &'static str, poll: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<BatchReport, StoreError>>,
{
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    // A long drain must not be followed by a burst of the ticks it missed.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match poll().await {
            Ok(r) if r.received > 0 => tracing::info!(
                worker,
                received = r.received,
                done = r.deleted,
                retried = r.retried,
                "queue batch"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(worker, error = %e, "queue poll failed"),
        }
    }
}

/// The EventBridge schedule of the template, locally.
async fn sweep_loop(app: Arc<App>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let event = scheduled_event();
        match reservation_sweeper::handle(&app.sweeper, event).await {
            Ok(report) => tracing::debug!(?report, "reservation sweep"),
            Err(e) => tracing::warn!(error = %e, "reservation sweep failed"),
        }
    }
}

fn scheduled_event() -> aws_lambda_events::eventbridge::EventBridgeEvent {
    let v = serde_json::json!({
        "version": "0",
        "id": "local-sweep",
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
