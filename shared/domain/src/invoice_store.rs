//! Port: bookkeeping of the invoices sent to VTEX, one [`InvoiceRecord`] per `(orderId,
//! invoiceNumber)`. The dispatcher writes a record *Pending* before a call and *Sent* after it, so a
//! duplicate or replayed ERP message finds what was already done (see [`crate::invoicing`]).
//!
//! Adapters: `MemoryInvoices` (tests, feature `test-support`), `aws_adapters::invoices::DynamoInvoices`,
//! `embedded_store::invoices::SqliteInvoices`.

use crate::invoicing::InvoiceRecord;
use crate::ports::StoreError;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq)]
pub enum CreateOutcome {
    /// Written, version 0.
    Created(InvoiceRecord),
    /// A record with the same `(orderId, invoiceNumber)` exists; nothing was written.
    Existing(InvoiceRecord),
}

// Returned once per write and matched at once, never stored: boxing would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum RecordSave {
    /// Written; the returned record carries the new version.
    Saved(InvoiceRecord),
    /// The stored version differs (someone else wrote first), or the record is gone; nothing written.
    Conflict,
}

#[async_trait]
pub trait InvoiceStore: Send + Sync {
    /// Writes `record` with version 0 unless a record with the same `(order_id, invoice number)`
    /// exists, in which case the stored one is returned. Create-once under any concurrency.
    async fn create_once(&self, record: &InvoiceRecord) -> Result<CreateOutcome, StoreError>;

    async fn get(
        &self,
        order_id: &str,
        invoice_number: &str,
    ) -> Result<Option<InvoiceRecord>, StoreError>;

    /// Every record of the order, sorted by invoice number. An order has a handful of invoices;
    /// adapters may read them in one query.
    async fn list_by_order(&self, order_id: &str) -> Result<Vec<InvoiceRecord>, StoreError>;

    /// Replaces the record if its stored version equals `record.version`; the saved record has
    /// `version + 1`.
    async fn save(&self, record: &InvoiceRecord) -> Result<RecordSave, StoreError>;
}

#[cfg(any(test, feature = "test-support"))]
mod memory;
#[cfg(any(test, feature = "test-support"))]
pub use memory::*;

#[cfg(any(test, feature = "test-support"))]
pub mod contract;
