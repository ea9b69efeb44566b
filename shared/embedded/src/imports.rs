//! SQLite adapters of the import ports, in the same file (and connection) as the rest of the
//! [`EmbeddedStore`]: [`SqliteImports`] (`ImportStore` + `NotificationStore`), and the
//! [`LocalQueue`] as the import queue (delayed self-messages) and as the ERP's order-events queue.

use crate::{EmbeddedStore, LocalQueue, decode, encode, sql_error};
use async_trait::async_trait;
use domain::import::{
    ImportCreate, ImportEvents, ImportKey, ImportMessage, ImportQueue, ImportRecord, ImportSave,
    ImportStore, InvoiceNotified, MseNotification, NotificationCreate, NotificationStore,
};
use domain::ports::StoreError;
use rusqlite::{Connection, OptionalExtension, params};
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS imports (
    affiliate_id         TEXT NOT NULL,
    marketplace_order_id TEXT NOT NULL,
    vtex_order_id        TEXT,
    step                 TEXT NOT NULL,
    version              INTEGER NOT NULL,
    data                 TEXT NOT NULL,
    PRIMARY KEY (affiliate_id, marketplace_order_id)
);
CREATE INDEX IF NOT EXISTS imports_by_vtex_order_id
    ON imports (vtex_order_id) WHERE vtex_order_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS mse_notifications (
    order_id    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    published   INTEGER NOT NULL,
    data        TEXT NOT NULL,
    PRIMARY KEY (order_id, fingerprint)
);
";

/// Import progress and mse notifications in an [`EmbeddedStore`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SqliteImports {
    store: EmbeddedStore,
}

impl SqliteImports {
    /// Creates the tables in `store` if missing.
    pub fn new(store: &EmbeddedStore) -> Result<Self, StoreError> {
        {
            let conn = store.conn.lock().unwrap_or_else(|e| e.into_inner());
            conn.execute_batch(SCHEMA).map_err(sql_error)?;
        }
        Ok(SqliteImports {
            store: store.clone(),
        })
    }
}

fn version_column(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Limit("import version out of range".into()))
}

fn from_row(data: &str, version: i64) -> Result<ImportRecord, StoreError> {
    let mut r: ImportRecord = decode(data)?;
    r.version = u64::try_from(version)
        .map_err(|_| StoreError::Corrupt("negative import version".into()))?;
    Ok(r)
}

fn read(conn: &Connection, k: &ImportKey) -> Result<Option<ImportRecord>, StoreError> {
    conn.query_row(
        "SELECT data, version FROM imports WHERE affiliate_id = ?1 AND marketplace_order_id = ?2",
        params![k.affiliate_id, k.marketplace_order_id],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
    )
    .optional()
    .map_err(sql_error)?
    .map(|(d, v)| from_row(&d, v))
    .transpose()
}

fn read_note(
    conn: &Connection,
    order_id: &str,
    fingerprint: &str,
) -> Result<Option<MseNotification>, StoreError> {
    conn.query_row(
        "SELECT data, published FROM mse_notifications WHERE order_id = ?1 AND fingerprint = ?2",
        params![order_id, fingerprint],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)),
    )
    .optional()
    .map_err(sql_error)?
    .map(|(d, published)| {
        let mut n: MseNotification = decode(&d)?;
        n.published = published;
        Ok(n)
    })
    .transpose()
}

#[async_trait]
impl ImportStore for SqliteImports {
    async fn create_once(&self, record: &ImportRecord) -> Result<ImportCreate, StoreError> {
        let mut fresh = record.clone();
        fresh.version = 0;
        let data = encode(&fresh)?;
        self.store
            .with_conn(move |conn| {
                let n = conn
                    .execute(
                        "INSERT INTO imports
                         (affiliate_id, marketplace_order_id, vtex_order_id, step, version, data)
                         VALUES (?1, ?2, ?3, ?4, 0, ?5) ON CONFLICT DO NOTHING",
                        params![
                            fresh.key.affiliate_id,
                            fresh.key.marketplace_order_id,
                            fresh.vtex_order_id,
                            fresh.step.as_str(),
                            data
                        ],
                    )
                    .map_err(sql_error)?;
                if n == 1 {
                    return Ok(ImportCreate::Created(fresh));
                }
                read(conn, &fresh.key)?
                    .map(ImportCreate::Existing)
                    .ok_or_else(|| StoreError::Unavailable("import row vanished".into()))
            })
            .await
    }

    async fn get(&self, key: &ImportKey) -> Result<Option<ImportRecord>, StoreError> {
        let k = key.clone();
        self.store.with_conn(move |conn| read(conn, &k)).await
    }

    async fn find_by_vtex_order_id(
        &self,
        vtex_order_id: &str,
    ) -> Result<Option<ImportRecord>, StoreError> {
        let id = vtex_order_id.to_string();
        self.store
            .with_conn(move |conn| {
                conn.query_row(
                    "SELECT data, version FROM imports WHERE vtex_order_id = ?1",
                    [&id],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
                )
                .optional()
                .map_err(sql_error)?
                .map(|(d, v)| from_row(&d, v))
                .transpose()
            })
            .await
    }

    async fn save(&self, record: &ImportRecord) -> Result<ImportSave, StoreError> {
        let mut next = record.clone();
        next.version = record.version + 1;
        let expected = version_column(record.version)?;
        let new_version = version_column(next.version)?;
        let data = encode(&next)?;
        self.store
            .with_conn(move |conn| {
                let n = conn
                    .execute(
                        "UPDATE imports SET vtex_order_id = ?4, step = ?5, version = ?6, data = ?7
                         WHERE affiliate_id = ?1 AND marketplace_order_id = ?2 AND version = ?3",
                        params![
                            next.key.affiliate_id,
                            next.key.marketplace_order_id,
                            expected,
                            next.vtex_order_id,
                            next.step.as_str(),
                            new_version,
                            data
                        ],
                    )
                    .map_err(sql_error)?;
                Ok(if n == 1 {
                    ImportSave::Saved(next)
                } else {
                    ImportSave::Conflict
                })
            })
            .await
    }
}

#[async_trait]
impl NotificationStore for SqliteImports {
    async fn create_notification(
        &self,
        n: &MseNotification,
    ) -> Result<NotificationCreate, StoreError> {
        let note = n.clone();
        let data = encode(&note)?;
        self.store
            .with_conn(move |conn| {
                let inserted = conn
                    .execute(
                        "INSERT INTO mse_notifications (order_id, fingerprint, published, data)
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                        params![note.order_id, note.fingerprint, note.published, data],
                    )
                    .map_err(sql_error)?;
                if inserted == 1 {
                    return Ok(NotificationCreate::Created(note));
                }
                read_note(conn, &note.order_id, &note.fingerprint)?
                    .map(NotificationCreate::Existing)
                    .ok_or_else(|| StoreError::Unavailable("notification row vanished".into()))
            })
            .await
    }

    async fn mark_published(&self, order_id: &str, fingerprint: &str) -> Result<(), StoreError> {
        let (o, f) = (order_id.to_string(), fingerprint.to_string());
        self.store
            .with_conn(move |conn| {
                conn.execute(
                    "UPDATE mse_notifications SET published = 1
                     WHERE order_id = ?1 AND fingerprint = ?2",
                    params![o, f],
                )
                .map_err(sql_error)?;
                Ok(())
            })
            .await
    }
}

/// The local import queue: delays are honoured exactly (no 15-minute cap).
#[async_trait]
impl ImportQueue for LocalQueue {
    async fn schedule(&self, message: &ImportMessage, delay: Duration) -> Result<(), StoreError> {
        self.send_delayed(&message.to_json(), None, None, delay)
            .await?;
        Ok(())
    }
}

/// The local order-events queue ([`crate::ORDER_EVENTS_QUEUE`]): grouped by VTEX order id,
/// de-duplicated on the event id like the FIFO queue in AWS.
#[async_trait]
impl ImportEvents for LocalQueue {
    async fn publish_invoice_notified(&self, event: &InvoiceNotified) -> Result<(), StoreError> {
        self.send(
            &event.to_json(),
            Some(&event.order_id),
            Some(&event.event_id),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::import::contract;

    #[tokio::test(flavor = "multi_thread")]
    async fn imports_survive_reopening_the_file() {
        let path = std::env::temp_dir().join(format!("imp-{}.db", uuid::Uuid::new_v4()));
        let sample = contract::sample("file");
        {
            let store = EmbeddedStore::open(&path).unwrap();
            SqliteImports::new(&store)
                .unwrap()
                .create_once(&sample)
                .await
                .unwrap();
        }
        let store = EmbeddedStore::open(&path).unwrap();
        let got = SqliteImports::new(&store)
            .unwrap()
            .get(&sample.key)
            .await
            .unwrap();
        assert_eq!(got, Some(sample));
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn published_events_are_deduplicated_on_the_event_id() {
        let store = EmbeddedStore::open_in_memory().unwrap();
        let q = store.queue(crate::ORDER_EVENTS_QUEUE);
        let n = MseNotification {
            order_id: "EXT-1".into(),
            fingerprint: "f".into(),
            invoice_number: "NF-1".into(),
            receipt: "r".into(),
            date: chrono::Utc::now(),
            import: None,
            published: false,
        };
        let e = InvoiceNotified::new(&n, &serde_json::json!({"invoiceNumber": "NF-1"}));
        q.publish_invoice_notified(&e).await.unwrap();
        q.publish_invoice_notified(&e).await.unwrap();
        assert_eq!(q.len().await.unwrap(), 1);
    }
}
