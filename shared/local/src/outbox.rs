//! The outbox relay of the local runner, in place of the outbox table's stream and the scheduled
//! re-drive: every [`EVERY`] it delivers whatever the embedded store's outbox holds (every record,
//! whatever its age: here nothing else competes for it) to the local `order-events` queue, which
//! de-duplicates on the event id as the FIFO queue does in AWS.

use domain::clock::Clock;
use domain::outbox::{OutboxRelay, RelayReport};
use domain::ports::StoreError;
use embedded_store::EmbeddedStore;
use std::sync::Arc;
use std::time::Duration;

/// Between two polls of the outbox: what a transition's event waits at most, about what the
/// stream takes in AWS.
pub const EVERY: Duration = Duration::from_millis(250);

/// The relay over the embedded store's outbox and its `order-events` queue (the store's
/// `OrderEvents`).
pub fn relay(store: &EmbeddedStore, clock: Arc<dyn Clock>) -> OutboxRelay {
    let store = Arc::new(store.clone());
    OutboxRelay::new(store.clone(), store, clock)
}

/// One pass: everything pending, oldest first.
pub async fn drain(relay: &OutboxRelay) -> Result<RelayReport, StoreError> {
    relay.drain().await
}

/// Runs the relay in the background for as long as the runtime lives.
pub fn spawn(store: &EmbeddedStore, clock: Arc<dyn Clock>) -> tokio::task::JoinHandle<()> {
    let relay = relay(store, clock);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // The relay logs what it delivered; a failed pass is retried on the next tick.
            if let Err(e) = drain(&relay).await {
                tracing::warn!(error = %e, "outbox relay failed; retrying");
            }
        }
    })
}
