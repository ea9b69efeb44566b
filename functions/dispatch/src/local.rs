//! The dispatcher over the embedded store's [`LocalQueue`], for the local runner (feature `local`).
//! Plays the event-source mapping ([`embedded_store::event_source`]): receive → [`handle`] → delete
//! what did not fail.
//!
//! `deps.queue` must be the same `LocalQueue` (it implements [`domain::erp::DispatchQueue`]), so
//! back-offs and dead letters land where this loop reads.

use crate::{Deps, handle};
use domain::ports::StoreError;
use embedded_store::LocalQueue;
use std::time::Duration;

pub use embedded_store::event_source::BatchReport;

/// Receives up to `max` messages (hidden for `visibility`) and processes them.
pub async fn poll_once(
    deps: &Deps,
    queue: &LocalQueue,
    max: usize,
    visibility: Duration,
) -> Result<BatchReport, StoreError> {
    embedded_store::event_source::poll_once(queue, max, visibility, |event| handle(deps, event))
        .await
}
