//! Port: bookkeeping of the invoices sent to VTEX, one [`InvoiceRecord`] per `(orderId,
//! invoiceNumber)`. The dispatcher writes a record *Pending* before a call and *Sent* after it, so a
//! duplicate or replayed ERP message finds what was already done (see [`crate::invoicing`]).
//!
//! Adapters: [`MemoryInvoices`] (tests), `aws_adapters::invoices::DynamoInvoices`,
//! `embedded_store::invoices::SqliteInvoices`.

use crate::invoicing::InvoiceRecord;
use crate::ports::StoreError;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

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

/// In-memory [`InvoiceStore`]. `Clone` shares the same state.
#[derive(Debug, Clone, Default)]
pub struct MemoryInvoices {
    records: Arc<Mutex<BTreeMap<(String, String), InvoiceRecord>>>,
}

impl MemoryInvoices {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<(String, String), InvoiceRecord>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn key(r: &InvoiceRecord) -> (String, String) {
    (r.order_id.clone(), r.invoice.invoice_number.clone())
}

#[async_trait]
impl InvoiceStore for MemoryInvoices {
    async fn create_once(&self, record: &InvoiceRecord) -> Result<CreateOutcome, StoreError> {
        let mut m = self.lock();
        if let Some(existing) = m.get(&key(record)) {
            return Ok(CreateOutcome::Existing(existing.clone()));
        }
        let mut stored = record.clone();
        stored.version = 0;
        m.insert(key(record), stored.clone());
        Ok(CreateOutcome::Created(stored))
    }

    async fn get(
        &self,
        order_id: &str,
        invoice_number: &str,
    ) -> Result<Option<InvoiceRecord>, StoreError> {
        Ok(self
            .lock()
            .get(&(order_id.to_string(), invoice_number.to_string()))
            .cloned())
    }

    async fn list_by_order(&self, order_id: &str) -> Result<Vec<InvoiceRecord>, StoreError> {
        Ok(self
            .lock()
            .values()
            .filter(|r| r.order_id == order_id)
            .cloned()
            .collect())
    }

    async fn save(&self, record: &InvoiceRecord) -> Result<RecordSave, StoreError> {
        let mut m = self.lock();
        match m.get_mut(&key(record)) {
            Some(stored) if stored.version == record.version => {
                let mut next = record.clone();
                next.version += 1;
                *stored = next.clone();
                Ok(RecordSave::Saved(next))
            }
            _ => Ok(RecordSave::Conflict),
        }
    }
}

/// The contract every [`InvoiceStore`] adapter must pass; adapter tests call it with a fresh store.
pub mod contract {
    use super::*;
    use crate::invoicing::{Invoice, InvoiceItem, InvoiceType, SendState};
    use crate::money::Cents;
    use chrono::{TimeZone, Utc};

    pub fn sample(order_id: &str, number: &str) -> InvoiceRecord {
        let invoice = Invoice {
            kind: InvoiceType::Output,
            invoice_number: number.to_string(),
            invoice_value: Cents(11080),
            issuance_date: "2014-10-07T10:15:00-03:00".into(),
            items: vec![InvoiceItem {
                id: "2002495".into(),
                quantity: 1,
                price: Cents(9990),
                description: Some("Capa slimfit".into()),
            }],
            invoice_key: None,
            invoice_url: None,
            embedded_invoice: Some("<nfe>…</nfe>".into()),
            courier: None,
            tracking_number: None,
            tracking_url: None,
            dispatched_date: None,
        };
        let at = Utc
            .with_ymd_and_hms(2024, 1, 31, 12, 0, 0)
            .single()
            .unwrap_or_default();
        InvoiceRecord::pending(order_id, &invoice, at)
    }

    /// Runs every contract check against `store`. Ids are suffixed with `tag` so a shared table works.
    pub async fn run(store: &dyn InvoiceStore, tag: &str) -> Result<(), String> {
        let order = format!("SO-{tag}");
        let other = format!("SO-{tag}-other");
        let a = sample(&order, "NFe-1");
        let created = match store.create_once(&a).await.map_err(|e| e.to_string())? {
            CreateOutcome::Created(r) => r,
            CreateOutcome::Existing(_) => return Err("fresh record reported as existing".into()),
        };
        check(created == a, "created record equals the input")?;

        let mut changed = a.clone();
        changed.invoice.invoice_value = Cents(1);
        match store
            .create_once(&changed)
            .await
            .map_err(|e| e.to_string())?
        {
            CreateOutcome::Existing(r) => check(r == a, "existing record is the first one")?,
            CreateOutcome::Created(_) => return Err("second create_once wrote".into()),
        }
        store
            .create_once(&sample(&order, "NFe-0"))
            .await
            .map_err(|e| e.to_string())?;
        store
            .create_once(&sample(&other, "NFe-1"))
            .await
            .map_err(|e| e.to_string())?;

        let got = store
            .get(&order, "NFe-1")
            .await
            .map_err(|e| e.to_string())?;
        check(got.as_ref() == Some(&a), "get returns the record")?;
        check(
            store
                .get(&order, "NFe-9")
                .await
                .map_err(|e| e.to_string())?
                .is_none(),
            "get of a missing record is None",
        )?;

        let list = store
            .list_by_order(&order)
            .await
            .map_err(|e| e.to_string())?;
        let numbers: Vec<&str> = list.iter().map(|r| r.number()).collect();
        check(
            numbers == ["NFe-0", "NFe-1"],
            "list_by_order: only this order's, sorted by number",
        )?;

        let mut sent = a.clone();
        sent.mark_sent("receipt-1", a.created_at);
        let saved = match store.save(&sent).await.map_err(|e| e.to_string())? {
            RecordSave::Saved(r) => r,
            RecordSave::Conflict => return Err("save at the current version conflicted".into()),
        };
        check(saved.version == 1, "save bumps the version")?;
        check(saved.state == SendState::Sent, "save stores the change")?;
        check(
            store.save(&sent).await.map_err(|e| e.to_string())? == RecordSave::Conflict,
            "save at a stale version conflicts",
        )?;
        let reread = store
            .get(&order, "NFe-1")
            .await
            .map_err(|e| e.to_string())?;
        check(reread == Some(saved), "the saved record reads back")?;
        check(
            store
                .save(&sample(&order, "NFe-missing"))
                .await
                .map_err(|e| e.to_string())?
                == RecordSave::Conflict,
            "saving a record that was never created conflicts",
        )?;
        Ok(())
    }

    fn check(ok: bool, what: &str) -> Result<(), String> {
        if ok {
            Ok(())
        } else {
            Err(format!("contract broken: {what}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_invoices_pass_the_contract() {
        contract::run(&MemoryInvoices::new(), "mem").await.unwrap();
    }
}
