//! The import worker over the embedded store's [`LocalQueue`], for the local runner and
//! `order-import-file --run` (feature `local`). Plays the event-source mapping: receive →
//! [`handle`] → delete what did not fail.
//!
//! `deps.queue` and `deps.scheduler` must be this same `LocalQueue` (it implements both
//! [`domain::erp::DispatchQueue`] and [`domain::import::ImportQueue`]), so back-offs, dead letters
//! and wake-ups land where this loop reads.

use crate::{Deps, handle, sqs_event, sqs_message};
use domain::ports::StoreError;
use embedded_store::{LocalMessage, LocalQueue};
use std::collections::HashSet;
use std::time::Duration;

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub received: usize,
    /// Done (a step taken, waiting scheduled, or parked in the DLQ): deleted.
    pub deleted: usize,
    /// Coming back later (back-off).
    pub retried: usize,
}

/// Processes `messages` (received from `queue`) and deletes the ones that are done.
pub async fn process_batch(
    deps: &Deps,
    queue: &LocalQueue,
    messages: Vec<LocalMessage>,
) -> Result<BatchReport, StoreError> {
    let records = messages
        .iter()
        .map(|m| {
            sqs_message(
                &m.message_id,
                &m.receipt_handle,
                &m.body,
                m.group_id.as_deref(),
                m.receive_count,
            )
        })
        .collect();
    let response = handle(deps, sqs_event(records)).await;
    let failed: HashSet<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    let mut report = BatchReport {
        received: messages.len(),
        ..BatchReport::default()
    };
    for m in &messages {
        if failed.contains(m.message_id.as_str()) {
            report.retried += 1;
        } else {
            queue.delete(&m.receipt_handle).await?;
            report.deleted += 1;
        }
    }
    Ok(report)
}

/// Receives up to `max` messages (hidden for `visibility`) and processes them.
pub async fn poll_once(
    deps: &Deps,
    queue: &LocalQueue,
    max: usize,
    visibility: Duration,
) -> Result<BatchReport, StoreError> {
    let messages = queue.receive(max, visibility).await?;
    if messages.is_empty() {
        return Ok(BatchReport::default());
    }
    process_batch(deps, queue, messages).await
}

/// The local queue the runner (and `order-import-file --run`) uses in place of the template's
/// `ImportQueue`.
pub const IMPORT_QUEUE: &str = "imports";
