//! Port: bookkeeping of the invoices sent to VTEX, one [`InvoiceRecord`] per `(orderId,
//! invoiceNumber)`. The dispatcher writes a record *Pending* before a call and *Sent* after it, so a
//! duplicate or replayed ERP message finds what was already done (see [`crate::invoicing`]).
//!
//! Beside the records the store keeps each order's invoiced sums ([`InvoicedSums`]: the value of
//! its live records, sale and return apart) and moves them in the same atomic write as the record
//! that changes them. A record is created, or a refused one made live again, only while its sum
//! stays within the limit the caller passes, so concurrent messages for one order, in any FIFO
//! groups, can never bill more than its value. An order whose records were written before the sums
//! were kept gets them derived from its records on first use.
//!
//! Adapters: `MemoryInvoices` (tests, feature `test-support`), `aws_adapters::invoices::DynamoInvoices`,
//! `embedded_store::invoices::SqliteInvoices`.

use crate::invoicing::{InvoiceRecord, InvoiceType};
use crate::money::Cents;
use crate::ports::StoreError;
use async_trait::async_trait;

/// An order's invoiced sums: the values of its live records (pending or sent; a refused one does
/// not count), in cents, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InvoicedSums {
    /// Sale (`Output`) invoices.
    pub output: Cents,
    /// Return (`Input`) invoices.
    pub input: Cents,
}

impl InvoicedSums {
    /// The sums `records` add up to (adapters: an order written before the sums were kept).
    pub fn of_records<'a>(records: impl IntoIterator<Item = &'a InvoiceRecord>) -> Self {
        let mut sums = InvoicedSums::default();
        for r in records.into_iter().filter(|r| r.is_live()) {
            sums.add(r.invoice.kind, r.invoice.invoice_value);
        }
        sums
    }

    pub fn get(&self, kind: InvoiceType) -> Cents {
        match kind {
            InvoiceType::Output => self.output,
            InvoiceType::Input => self.input,
        }
    }

    /// Adds `value` (negative to take it off) to the sum of `kind`.
    pub fn add(&mut self, kind: InvoiceType, value: Cents) {
        match kind {
            InvoiceType::Output => self.output += value,
            InvoiceType::Input => self.input += value,
        }
    }

    /// Whether `record` can join the sums without its kind's sum passing `limit`. Checked sums:
    /// an overflow is as good as over the limit.
    pub fn fits(&self, record: &InvoiceRecord, limit: Cents) -> bool {
        self.get(record.invoice.kind)
            .checked_add(record.invoice.invoice_value)
            .is_some_and(|after| after <= limit)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CreateOutcome {
    /// Written, version 0, and its value added to the order's sums.
    Created(InvoiceRecord),
    /// A record with the same `(orderId, invoiceNumber)` exists; nothing was written.
    Existing(InvoiceRecord),
    /// Its value would take the order's sum of its kind past `limit`: nothing was written.
    /// `invoiced` is that sum as the store holds it.
    OverLimit { invoiced: Cents, limit: Cents },
}

// Returned once per write and matched at once, never stored: boxing would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum RecordSave {
    /// Written; the returned record carries the new version.
    Saved(InvoiceRecord),
    /// The stored version differs (someone else wrote first), or the record is gone; nothing written.
    Conflict,
    /// A [`Tally::Claim`] that would take the order's sum past `limit`: nothing written.
    OverLimit { invoiced: Cents, limit: Cents },
}

/// What a save does to the order's sums: how the record counts after it compared with the stored
/// record it replaces (the one at `record.version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    /// It counts as before (pending → sent, tracking, carrier events): the sums stay.
    Keep,
    /// A live record turns refused: its value leaves the sums in the same write, so the order can
    /// be invoiced again.
    Release,
    /// A refused record is live again (re-sent): its value joins the sums, unless that passes
    /// `limit`.
    Claim { limit: Cents },
}

impl Tally {
    /// The tally of saving `after` over `before` (the record as read at its version); `limit`
    /// bounds a claim.
    pub fn of(before: &InvoiceRecord, after: &InvoiceRecord, limit: Cents) -> Tally {
        match (before.is_live(), after.is_live()) {
            (true, false) => Tally::Release,
            (false, true) => Tally::Claim { limit },
            _ => Tally::Keep,
        }
    }
}

#[async_trait]
pub trait InvoiceStore: Send + Sync {
    /// Writes `record` with version 0, and adds its value to the order's sum of its kind, in one
    /// atomic write, unless a record with the same `(order_id, invoice number)` exists (the stored
    /// one is returned) or that sum would pass `limit` (`OverLimit`). Create-once and within the
    /// limit under any concurrency.
    async fn create_once(
        &self,
        record: &InvoiceRecord,
        limit: Cents,
    ) -> Result<CreateOutcome, StoreError>;

    async fn get(
        &self,
        order_id: &str,
        invoice_number: &str,
    ) -> Result<Option<InvoiceRecord>, StoreError>;

    /// Every record of the order, sorted by invoice number. An order has a handful of invoices;
    /// adapters may read them in one query.
    async fn list_by_order(&self, order_id: &str) -> Result<Vec<InvoiceRecord>, StoreError>;

    /// Replaces the record if its stored version equals `record.version`; the saved record has
    /// `version + 1`. `tally` says how the order's sums move, in the same atomic write.
    async fn save(&self, record: &InvoiceRecord, tally: Tally) -> Result<RecordSave, StoreError>;

    /// The order's invoiced sums as the store holds them (derived from its records when none are
    /// kept yet).
    async fn invoiced(&self, order_id: &str) -> Result<InvoicedSums, StoreError>;
}

#[cfg(any(test, feature = "test-support"))]
mod memory;
#[cfg(any(test, feature = "test-support"))]
pub use memory::*;

#[cfg(any(test, feature = "test-support"))]
pub mod contract;
