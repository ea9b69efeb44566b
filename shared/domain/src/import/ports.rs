//! The ports of the import flow.

use super::*;

// Returned once per call and matched at once; boxing would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ImportCreate {
    /// Written, version 0.
    Created(ImportRecord),
    /// An import with the same key exists; nothing was written.
    Existing(ImportRecord),
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ImportSave {
    /// Written; the returned record carries the new version.
    Saved(ImportRecord),
    /// The stored version differs (someone else wrote first), or the record is gone.
    Conflict,
}

/// Progress of imports. Adapters: `MemoryImports` (feature `test-support`), `aws_adapters::imports::DynamoImports`,
/// `embedded_store::imports::SqliteImports`; all pass
/// `contract` (`connector_tests::import_store_contract_tests!`).
#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Writes `record` with version 0 unless one with the same key exists, in which case the stored
    /// one is returned. Create-once under any concurrency.
    async fn create_once(&self, record: &ImportRecord) -> Result<ImportCreate, StoreError>;

    /// The record, reading every write that completed before the call.
    async fn get(&self, key: &ImportKey) -> Result<Option<ImportRecord>, StoreError>;

    /// The import VTEX knows as `vtex_order_id` (set at placement), reading every completed save.
    async fn find_by_vtex_order_id(
        &self,
        vtex_order_id: &str,
    ) -> Result<Option<ImportRecord>, StoreError>;

    /// Replaces the record if its stored version equals `record.version`; the saved record has
    /// `version + 1`.
    async fn save(&self, record: &ImportRecord) -> Result<ImportSave, StoreError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationCreate {
    Created(MseNotification),
    /// Same `(orderId, fingerprint)` seen before: the stored one (its receipt is answered again).
    Existing(MseNotification),
}

/// Bookkeeping of the notifications received at the mse, keyed by `(order_id, fingerprint)`.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    async fn create_notification(
        &self,
        n: &MseNotification,
    ) -> Result<NotificationCreate, StoreError>;

    /// Marks the notification's ERP event as sent. Idempotent.
    async fn mark_published(&self, order_id: &str, fingerprint: &str) -> Result<(), StoreError>;
}

/// The import queue, as the worker uses it beyond receive/delete.
#[async_trait]
pub trait ImportQueue: Send + Sync {
    /// Enqueues `message` to be delivered no earlier than `delay` from now, as far as the queue
    /// allows (SQS: at most 15 minutes; the worker re-schedules until the wake-up is due).
    async fn schedule(&self, message: &ImportMessage, delay: Duration) -> Result<(), StoreError>;
}

/// The queue the seller's ERP reads (the order-events queue).
#[async_trait]
pub trait ImportEvents: Send + Sync {
    async fn publish_invoice_notified(&self, event: &InvoiceNotified) -> Result<(), StoreError>;
}
