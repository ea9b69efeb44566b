//! In-memory [`InvoiceStore`] (tests; feature `test-support`). The sums are derived from the
//! records under the same lock as every write, which is what the other adapters' counter gives.

use super::*;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

type Records = BTreeMap<(String, String), InvoiceRecord>;

/// In-memory [`InvoiceStore`]. `Clone` shares the same state.
#[derive(Debug, Clone, Default)]
pub struct MemoryInvoices {
    records: Arc<Mutex<Records>>,
}

impl MemoryInvoices {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn key(r: &InvoiceRecord) -> (String, String) {
    (r.order_id.clone(), r.invoice.invoice_number.clone())
}

fn sums(m: &Records, order_id: &str) -> InvoicedSums {
    InvoicedSums::of_records(m.values().filter(|r| r.order_id == order_id))
}

#[async_trait]
impl InvoiceStore for MemoryInvoices {
    async fn create_once(
        &self,
        record: &InvoiceRecord,
        limit: Cents,
    ) -> Result<CreateOutcome, StoreError> {
        let mut m = self.lock();
        if let Some(existing) = m.get(&key(record)) {
            return Ok(CreateOutcome::Existing(existing.clone()));
        }
        let held = sums(&m, &record.order_id);
        if record.is_live() && !held.fits(record, limit) {
            return Ok(CreateOutcome::OverLimit {
                invoiced: held.get(record.invoice.kind),
                limit,
            });
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

    async fn save(&self, record: &InvoiceRecord, tally: Tally) -> Result<RecordSave, StoreError> {
        let mut m = self.lock();
        let held = sums(&m, &record.order_id);
        match m.get_mut(&key(record)) {
            Some(stored) if stored.version == record.version => {
                if let Tally::Claim { limit } = tally
                    && !held.fits(record, limit)
                {
                    return Ok(RecordSave::OverLimit {
                        invoiced: held.get(record.invoice.kind),
                        limit,
                    });
                }
                let mut next = record.clone();
                next.version += 1;
                *stored = next.clone();
                Ok(RecordSave::Saved(next))
            }
            _ => Ok(RecordSave::Conflict),
        }
    }

    async fn invoiced(&self, order_id: &str) -> Result<InvoicedSums, StoreError> {
        Ok(sums(&self.lock(), order_id))
    }
}
