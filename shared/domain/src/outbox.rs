//! The transactional outbox: what the connector owes the ERP after a state change.
//!
//! A transition (fulfill, marketplace cancel, expiry) writes its [`OrderEvent`] with the order in
//! one atomic store write ([`OrderStore::save_emitting`]): an outbox record keyed by the event's
//! stable `event_id`, holding the event as it will be sent. The [`OutboxRelay`] delivers each
//! record at least once with that id, then deletes it, conditioned on it still being the record it
//! delivered. So a crash anywhere after the state change leaves the record behind, and the next
//! relay run (the stream's retry, the scheduled re-drive, the local runner's loop) finishes it.
//!
//! The ERP queue de-duplicates on the event id for five minutes (SQS FIFO); beyond that a second
//! delivery of one record (a relay that crashed between the send and the delete) reaches the ERP,
//! which de-duplicates on `eventId` (shared/docs/messages.md, "Order events").
//!
//! [`OrderStore::save_emitting`]: crate::ports::OrderStore::save_emitting

use crate::clock::Clock;
use crate::ports::{OrderEvent, OrderEvents, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;

#[cfg(any(test, feature = "test-support"))]
pub mod contract;

/// One event not yet confirmed delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRecord {
    pub event: OrderEvent,
    /// When the store wrote the record: orders the re-drive (oldest first) and identifies this
    /// write of the event, so a relay only deletes the record it delivered.
    pub written_at: DateTime<Utc>,
}

impl OutboxRecord {
    pub fn event_id(&self) -> &str {
        &self.event.event_id
    }
}

/// The relay's side of the outbox. The writing side is the order store's
/// ([`crate::ports::OrderStore::save_emitting`], [`crate::ports::OrderStore::emit`]): records are
/// only ever written with the state change that owes them.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Records written at or before `written_before` (every record when `None`), oldest first, at
    /// most `limit`. May lag a write by a moment (DynamoDB's index is eventually consistent);
    /// [`Outbox::record`] does not.
    async fn pending(
        &self,
        written_before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError>;

    /// The record of `event_id`, reading every write that completed before the call.
    async fn record(&self, event_id: &str) -> Result<Option<OutboxRecord>, StoreError>;

    /// Deletes `record` if the stored one is still that write (same id, same `written_at`).
    /// `Ok(false)`: it was already gone or written again meanwhile; nothing was deleted.
    async fn mark_delivered(&self, record: &OutboxRecord) -> Result<bool, StoreError>;
}

/// What [`OutboxRelay::deliver`] did with one event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Sent to the ERP queue and its record deleted.
    Delivered,
    /// Sent, but another relay deleted the record (or re-wrote it) first: the queue's
    /// de-duplication absorbs the second send.
    DeliveredElsewhere,
    /// No record: delivered before (a stream record replayed, a second relay).
    NothingPending,
}

/// One re-drive or drain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayReport {
    pub delivered: usize,
    /// Records that failed (send or delete); they stay for the next run.
    pub failed: Vec<String>,
}

/// Delivers outbox records to the ERP queue. Cheap to clone.
#[derive(Clone)]
pub struct OutboxRelay {
    pub outbox: Arc<dyn Outbox>,
    pub events: Arc<dyn OrderEvents>,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for OutboxRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRelay").finish_non_exhaustive()
    }
}

/// Re-drive pages of this many records.
pub const REDRIVE_PAGE: usize = 100;
/// A re-drive stops after this many pages; the next run goes on.
pub const REDRIVE_MAX_PAGES: usize = 20;

impl OutboxRelay {
    pub fn new(
        outbox: Arc<dyn Outbox>,
        events: Arc<dyn OrderEvents>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        OutboxRelay {
            outbox,
            events,
            clock,
        }
    }

    /// Delivers the event `event_id` if its record is still pending (the stream's path: a record
    /// says which event was written, the store says whether it is still owed).
    pub async fn deliver(&self, event_id: &str) -> Result<Delivery, StoreError> {
        match self.outbox.record(event_id).await? {
            None => Ok(Delivery::NothingPending),
            Some(record) => self.deliver_record(&record).await,
        }
    }

    async fn deliver_record(&self, record: &OutboxRecord) -> Result<Delivery, StoreError> {
        let event = &record.event;
        self.events.publish(event).await.inspect_err(|e| {
            tracing::error!(event_id = %event.event_id, order_id = %event.order_id, error = %e, "outbox: publish failed; the record stays");
        })?;
        let deleted = self.outbox.mark_delivered(record).await.inspect_err(|e| {
            tracing::error!(event_id = %event.event_id, error = %e, "outbox: delivered but not deleted; it will be sent again");
        })?;
        tracing::info!(event_id = %event.event_id, order_id = %event.order_id, deleted, "outbox: event delivered");
        Ok(if deleted {
            Delivery::Delivered
        } else {
            Delivery::DeliveredElsewhere
        })
    }

    /// Delivers every record written at least `min_age` ago, oldest first (the scheduled re-drive:
    /// what the stream did not finish). A failed record is reported and skipped; the run goes on.
    pub async fn redrive(&self, min_age: chrono::Duration) -> Result<RelayReport, StoreError> {
        self.redrive_before(Some(self.clock.now() - min_age)).await
    }

    /// Everything pending, whatever its age (the local runner's loop, tests).
    pub async fn drain(&self) -> Result<RelayReport, StoreError> {
        self.redrive_before(None).await
    }

    async fn redrive_before(
        &self,
        before: Option<DateTime<Utc>>,
    ) -> Result<RelayReport, StoreError> {
        let mut report = RelayReport::default();
        for _ in 0..REDRIVE_MAX_PAGES {
            let page = self.outbox.pending(before, REDRIVE_PAGE).await?;
            let full = page.len() >= REDRIVE_PAGE;
            let mut progressed = false;
            for record in page {
                if report.failed.iter().any(|f| f == record.event_id()) {
                    continue;
                }
                // Re-read: the listing may be stale (another relay delivered it meanwhile).
                match self.deliver(record.event_id()).await {
                    Ok(Delivery::Delivered | Delivery::DeliveredElsewhere) => {
                        report.delivered += 1;
                        progressed = true;
                    }
                    Ok(Delivery::NothingPending) => progressed = true,
                    Err(_) => report.failed.push(record.event_id().to_string()),
                }
            }
            // A page of nothing but failures would be read again: stop, the next run retries.
            if !full || !progressed {
                break;
            }
        }
        // An idle pass (the usual one: the stream delivered first) says nothing above DEBUG.
        if report.delivered > 0 || !report.failed.is_empty() {
            tracing::info!(
                delivered = report.delivered,
                failed = report.failed.len(),
                "outbox re-drive done"
            );
        } else {
            tracing::debug!("outbox re-drive: nothing pending");
        }
        Ok(report)
    }
}
