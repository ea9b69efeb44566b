//! The import worker over the embedded store's [`LocalQueue`], for the local runner and
//! `order-import-file --run` (feature `local`). Plays the event-source mapping
//! ([`embedded_store::event_source`]): receive → [`handle`] → delete what did not fail.
//!
//! `deps.queue` and `deps.scheduler` must be this same `LocalQueue` (it implements both
//! [`domain::erp::DispatchQueue`] and [`domain::import::ImportQueue`]), so back-offs, dead letters
//! and wake-ups land where this loop reads.

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

/// The local queue the runner (and `order-import-file --run`) uses in place of the template's
/// `ImportQueue`.
pub const IMPORT_QUEUE: &str = "imports";
