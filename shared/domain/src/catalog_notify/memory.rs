//! In-memory adapters of the catalog sync ports (tests; feature `test-support`).

use super::*;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// In-memory [`SyncStateStore`]. `Clone` shares the state.
#[derive(Debug, Clone, Default)]
pub struct MemorySyncStates {
    inner: std::sync::Arc<Mutex<HashMap<SkuId, Versioned>>>,
}

impl MemorySyncStates {
    pub fn new() -> Self {
        Self::default()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[async_trait]
impl SyncStateStore for MemorySyncStates {
    async fn get_sync_state(&self, sku_id: &str) -> Result<Versioned, StoreError> {
        Ok(lock(&self.inner).get(sku_id).cloned().unwrap_or_default())
    }

    async fn put_sync_state(
        &self,
        sku_id: &str,
        state: &SyncState,
        expected: u64,
    ) -> Result<bool, StoreError> {
        let mut m = lock(&self.inner);
        let current = m.get(sku_id).map_or(0, |v| v.version);
        if current != expected {
            return Ok(false);
        }
        m.insert(
            sku_id.to_string(),
            Versioned {
                state: state.clone(),
                version: expected + 1,
            },
        );
        Ok(true)
    }
}

/// In-memory [`FollowUpQueue`] that records what was scheduled. `Clone` shares the record.
#[derive(Debug, Clone, Default)]
pub struct MemoryFollowUps {
    inner: std::sync::Arc<Mutex<Vec<NotifyDue>>>,
}

impl MemoryFollowUps {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every follow-up scheduled so far, oldest first.
    pub fn scheduled(&self) -> Vec<NotifyDue> {
        lock(&self.inner).clone()
    }

    /// Removes and returns what was scheduled.
    pub fn take(&self) -> Vec<NotifyDue> {
        std::mem::take(&mut *lock(&self.inner))
    }
}

#[async_trait]
impl FollowUpQueue for MemoryFollowUps {
    async fn schedule(
        &self,
        followup: &NotifyDue,
        _delay: std::time::Duration,
    ) -> Result<(), StoreError> {
        lock(&self.inner).push(followup.clone());
        Ok(())
    }
}

#[async_trait]
impl SyncStateListing for MemorySyncStates {
    async fn list_sync_states(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<SyncBatch, StoreError> {
        let m = lock(&self.inner);
        let mut ids: Vec<&SkuId> = m
            .keys()
            .filter(|id| after.is_none_or(|a| id.as_str() > a))
            .collect();
        ids.sort();
        let more = ids.len() > limit;
        let rows: Vec<SyncRow> = ids
            .into_iter()
            .take(limit)
            .map(|id| SyncRow {
                sku_id: id.clone(),
                state: m[id].state.clone(),
            })
            .collect();
        let next = more
            .then(|| rows.last().map(|r| r.sku_id.clone()))
            .flatten();
        Ok(SyncBatch { rows, next })
    }
}
