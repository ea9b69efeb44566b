//! The catalog sync over the embedded store's [`LocalQueue`], for the local runner. Plays the
//! event-source mapping: receive → [`handle`] → delete what did not fail.
//!
//! `deps.queue` and `deps.followups` must be this same `LocalQueue` (it implements both
//! [`domain::erp::DispatchQueue`] and [`domain::catalog_notify::FollowUpQueue`]), so back-offs,
//! follow-ups and dead letters land where this loop reads.

use crate::{Config, Deps, Notifier, handle, sqs_event, sqs_message};
use domain::clock::Clock;
use domain::ports::StoreError;
use embedded_store::{EmbeddedStore, LocalMessage, LocalQueue};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use vtex::catalog::CatalogClient;
use vtex::client::{AppCredentials, ClientError};

/// Name of the local catalog queue (its DLQ is `catalog-sync-dlq`).
pub const QUEUE: &str = "catalog-sync";

/// The worker's ports over the embedded store and `queue` (normally
/// `store.queue(QUEUE).with_max_receives(10)`), calling VTEX (or the stand-in) as `config` says.
pub fn deps(
    store: &EmbeddedStore,
    queue: &LocalQueue,
    config: &Config,
    creds: AppCredentials,
    clock: Arc<dyn Clock>,
) -> Result<Deps, ClientError> {
    let vtex = CatalogClient::new(&config.endpoints(), creds, config.vtex_timeout)?;
    let shared = Arc::new(store.clone());
    Ok(Deps {
        catalog: shared.clone(),
        writer: shared.clone(),
        sync: shared.clone(),
        queue: Arc::new(queue.clone()),
        followups: Arc::new(queue.clone()),
        notifier: Notifier {
            vtex,
            catalog: shared,
            suggestion: config.suggestion_settings(),
        },
        clock,
        coalescing: config.coalescing,
        backoff: config.backoff,
    })
}

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub received: usize,
    /// Done (written and notified, coalesced, or parked in the DLQ): deleted.
    pub deleted: usize,
    /// Coming back later (follow-up not due yet, back-off, or an earlier failure in its group).
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
