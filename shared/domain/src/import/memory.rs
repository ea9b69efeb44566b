//! In-memory adapters of the import ports (tests and fakes; feature `test-support`).

use super::*;
use std::sync::{Arc, Mutex, MutexGuard};

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// In-memory [`ImportStore`] + [`NotificationStore`]. `Clone` shares the same state.
#[derive(Debug, Clone, Default)]
pub struct MemoryImports {
    records: Arc<Mutex<BTreeMap<ImportKey, ImportRecord>>>,
    notifications: Arc<Mutex<BTreeMap<(String, String), MseNotification>>>,
}

impl MemoryImports {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn notifications(&self) -> Vec<MseNotification> {
        lock(&self.notifications).values().cloned().collect()
    }
}

#[async_trait]
impl ImportStore for MemoryImports {
    async fn create_once(&self, record: &ImportRecord) -> Result<ImportCreate, StoreError> {
        let mut m = lock(&self.records);
        if let Some(existing) = m.get(&record.key) {
            return Ok(ImportCreate::Existing(existing.clone()));
        }
        let mut stored = record.clone();
        stored.version = 0;
        m.insert(record.key.clone(), stored.clone());
        Ok(ImportCreate::Created(stored))
    }

    async fn get(&self, key: &ImportKey) -> Result<Option<ImportRecord>, StoreError> {
        Ok(lock(&self.records).get(key).cloned())
    }

    async fn find_by_vtex_order_id(
        &self,
        vtex_order_id: &str,
    ) -> Result<Option<ImportRecord>, StoreError> {
        Ok(lock(&self.records)
            .values()
            .find(|r| r.vtex_order_id.as_deref() == Some(vtex_order_id))
            .cloned())
    }

    async fn save(&self, record: &ImportRecord) -> Result<ImportSave, StoreError> {
        let mut m = lock(&self.records);
        match m.get_mut(&record.key) {
            Some(stored) if stored.version == record.version => {
                let mut next = record.clone();
                next.version += 1;
                *stored = next.clone();
                Ok(ImportSave::Saved(next))
            }
            _ => Ok(ImportSave::Conflict),
        }
    }
}

#[async_trait]
impl NotificationStore for MemoryImports {
    async fn create_notification(
        &self,
        n: &MseNotification,
    ) -> Result<NotificationCreate, StoreError> {
        let mut m = lock(&self.notifications);
        let k = (n.order_id.clone(), n.fingerprint.clone());
        if let Some(existing) = m.get(&k) {
            return Ok(NotificationCreate::Existing(existing.clone()));
        }
        m.insert(k, n.clone());
        Ok(NotificationCreate::Created(n.clone()))
    }

    async fn mark_published(&self, order_id: &str, fingerprint: &str) -> Result<(), StoreError> {
        if let Some(n) =
            lock(&self.notifications).get_mut(&(order_id.to_string(), fingerprint.to_string()))
        {
            n.published = true;
        }
        Ok(())
    }
}

/// Records what was scheduled and published (tests).
#[derive(Debug, Clone, Default)]
pub struct MemoryImportQueue {
    scheduled: Arc<Mutex<Vec<(String, Duration)>>>,
    published: Arc<Mutex<Vec<InvoiceNotified>>>,
}

impl MemoryImportQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// `(message JSON, delay)` in scheduling order; `take` empties the list.
    pub fn take_scheduled(&self) -> Vec<(String, Duration)> {
        std::mem::take(&mut *lock(&self.scheduled))
    }

    pub fn published(&self) -> Vec<InvoiceNotified> {
        lock(&self.published).clone()
    }
}

#[async_trait]
impl ImportQueue for MemoryImportQueue {
    async fn schedule(&self, message: &ImportMessage, delay: Duration) -> Result<(), StoreError> {
        lock(&self.scheduled).push((message.to_json(), delay));
        Ok(())
    }
}

#[async_trait]
impl ImportEvents for MemoryImportQueue {
    async fn publish_invoice_notified(&self, event: &InvoiceNotified) -> Result<(), StoreError> {
        lock(&self.published).push(event.clone());
        Ok(())
    }
}
