//! The catalog sync's ports on the embedded store: [`SyncStateStore`] (table `catalog_sync`, one
//! row per SKU with a version for optimistic writes; [`SyncStateListing`] pages it by SKU id, the
//! primary key) and [`FollowUpQueue`] for the [`LocalQueue`]
//! the local runner feeds the catalog sync from.

use crate::{EmbeddedStore, LocalQueue, decode, encode, sql_error};
use async_trait::async_trait;
use domain::catalog_notify::{
    FollowUpQueue, NotifyDue, SyncBatch, SyncRow, SyncState, SyncStateListing, SyncStateStore,
    Versioned,
};
use domain::ports::StoreError;
use rusqlite::{OptionalExtension, params};
use std::time::Duration;

#[async_trait]
impl SyncStateStore for EmbeddedStore {
    async fn get_sync_state(&self, sku_id: &str) -> Result<Versioned, StoreError> {
        let sku_id = sku_id.to_string();
        let row: Option<(i64, String)> = self
            .with_conn(move |conn| {
                conn.query_row(
                    "SELECT version, data FROM catalog_sync WHERE sku_id = ?1",
                    [sku_id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(sql_error)
            })
            .await?;
        let Some((version, data)) = row else {
            return Ok(Versioned::default());
        };
        Ok(Versioned {
            state: decode(&data)?,
            version: u64::try_from(version)
                .map_err(|_| StoreError::Corrupt("SKU sync state has a negative version".into()))?,
        })
    }

    async fn put_sync_state(
        &self,
        sku_id: &str,
        state: &SyncState,
        expected: u64,
    ) -> Result<bool, StoreError> {
        let data = encode(state)?;
        let sku_id = sku_id.to_string();
        let expected = i64::try_from(expected)
            .map_err(|_| StoreError::Limit("sync state version overflow".into()))?;
        self.with_conn(move |conn| {
            let written = if expected == 0 {
                conn.execute(
                    "INSERT INTO catalog_sync (sku_id, version, data) VALUES (?1, 1, ?2)
                     ON CONFLICT (sku_id) DO NOTHING",
                    params![sku_id, data],
                )
            } else {
                conn.execute(
                    "UPDATE catalog_sync SET version = version + 1, data = ?3
                     WHERE sku_id = ?1 AND version = ?2",
                    params![sku_id, expected, data],
                )
            }
            .map_err(sql_error)?;
            Ok(written == 1)
        })
        .await
    }
}

#[async_trait]
impl SyncStateListing for EmbeddedStore {
    async fn list_sync_states(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<SyncBatch, StoreError> {
        let after = after.map(str::to_string);
        // One row more than asked says whether another batch follows.
        let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
        let rows: Vec<(String, String)> = self
            .with_conn(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT sku_id, data FROM catalog_sync
                         WHERE ?1 IS NULL OR sku_id > ?1 ORDER BY sku_id LIMIT ?2",
                    )
                    .map_err(sql_error)?;
                stmt.query_map(params![after, fetch], |row| Ok((row.get(0)?, row.get(1)?)))
                    .map_err(sql_error)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(sql_error)
            })
            .await?;
        let more = rows.len() > limit;
        let rows = rows
            .into_iter()
            .take(limit)
            .map(|(sku_id, data)| {
                Ok(SyncRow {
                    sku_id,
                    state: decode(&data)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let next = if more {
            rows.last().map(|r| r.sku_id.clone())
        } else {
            None
        };
        Ok(SyncBatch { rows, next })
    }
}

#[async_trait]
impl FollowUpQueue for LocalQueue {
    /// The local queue has groups and de-duplication but no per-message delay: the follow-up is
    /// delivered at once and waits (visibility) until it is due, as on an SQS FIFO queue.
    async fn schedule(&self, followup: &NotifyDue, _delay: Duration) -> Result<(), StoreError> {
        self.send(
            &followup.to_json(),
            Some(&followup.group_id()),
            Some(&followup.dedup_id()),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use domain::catalog_notify::NotifyKind;

    #[tokio::test]
    async fn the_same_follow_up_scheduled_twice_is_enqueued_once() {
        let store = EmbeddedStore::open_in_memory().unwrap();
        let q = store.queue("catalog");
        let f = NotifyDue {
            sku_id: "2002495".into(),
            kind: NotifyKind::Price,
            due: Utc.with_ymd_and_hms(2030, 1, 1, 0, 1, 0).unwrap(),
        };
        q.schedule(&f, Duration::from_secs(60)).await.unwrap();
        q.schedule(&f, Duration::from_secs(60)).await.unwrap();
        let got = q.receive(10, Duration::from_secs(30)).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].group_id.as_deref(), Some("notify-price-2002495"));
        let parsed = domain::catalog_messages::parse(got[0].body.as_bytes()).unwrap();
        assert_eq!(
            parsed.change,
            domain::catalog_messages::CatalogChange::NotifyDue(f)
        );
    }
}
