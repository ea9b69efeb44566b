//! In-memory [`InvoiceStore`] (tests; feature `test-support`).

use super::*;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

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
