//! SQLite adapter of [`InvoiceStore`], in the same file (and connection) as the rest of the
//! [`EmbeddedStore`]. One row per `(order_id, invoice_number)`, the record as JSON, a version
//! column for the optimistic save.

use crate::{EmbeddedStore, decode, encode, sql_error};
use async_trait::async_trait;
use domain::invoice_store::{CreateOutcome, InvoiceStore, RecordSave};
use domain::invoicing::InvoiceRecord;
use domain::ports::StoreError;
use rusqlite::{Connection, OptionalExtension, params};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS invoices (
    order_id       TEXT NOT NULL,
    invoice_number TEXT NOT NULL,
    version        INTEGER NOT NULL,
    data           TEXT NOT NULL,
    PRIMARY KEY (order_id, invoice_number)
);
";

/// Invoice bookkeeping in an [`EmbeddedStore`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SqliteInvoices {
    store: EmbeddedStore,
}

impl SqliteInvoices {
    /// Creates the `invoices` table in `store` if missing.
    pub fn new(store: &EmbeddedStore) -> Result<Self, StoreError> {
        {
            let conn = store.conn.lock().unwrap_or_else(|e| e.into_inner());
            conn.execute_batch(SCHEMA).map_err(sql_error)?;
        }
        Ok(SqliteInvoices {
            store: store.clone(),
        })
    }
}

fn version_column(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Limit("invoice version out of range".into()))
}

fn read(
    conn: &Connection,
    order_id: &str,
    number: &str,
) -> Result<Option<InvoiceRecord>, StoreError> {
    conn.query_row(
        "SELECT data, version FROM invoices WHERE order_id = ?1 AND invoice_number = ?2",
        params![order_id, number],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
    )
    .optional()
    .map_err(sql_error)?
    .map(|(data, version)| from_row(&data, version))
    .transpose()
}

fn from_row(data: &str, version: i64) -> Result<InvoiceRecord, StoreError> {
    let mut r: InvoiceRecord = decode(data)?;
    r.version = u64::try_from(version)
        .map_err(|_| StoreError::Corrupt("negative invoice version".into()))?;
    Ok(r)
}

#[async_trait]
impl InvoiceStore for SqliteInvoices {
    async fn create_once(&self, record: &InvoiceRecord) -> Result<CreateOutcome, StoreError> {
        let mut fresh = record.clone();
        fresh.version = 0;
        let data = encode(&fresh)?;
        self.store
            .with_conn(move |conn| {
                let n = conn
                    .execute(
                        "INSERT INTO invoices (order_id, invoice_number, version, data)
                         VALUES (?1, ?2, 0, ?3) ON CONFLICT DO NOTHING",
                        params![fresh.order_id, fresh.number(), data],
                    )
                    .map_err(sql_error)?;
                if n == 1 {
                    return Ok(CreateOutcome::Created(fresh));
                }
                read(conn, &fresh.order_id, fresh.number())?
                    .map(CreateOutcome::Existing)
                    .ok_or_else(|| StoreError::Unavailable("invoice row vanished".into()))
            })
            .await
    }

    async fn get(
        &self,
        order_id: &str,
        invoice_number: &str,
    ) -> Result<Option<InvoiceRecord>, StoreError> {
        let (o, n) = (order_id.to_string(), invoice_number.to_string());
        self.store.with_conn(move |conn| read(conn, &o, &n)).await
    }

    async fn list_by_order(&self, order_id: &str) -> Result<Vec<InvoiceRecord>, StoreError> {
        let o = order_id.to_string();
        self.store
            .with_conn(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT data, version FROM invoices WHERE order_id = ?1
                         ORDER BY invoice_number",
                    )
                    .map_err(sql_error)?;
                let rows: Vec<(String, i64)> = stmt
                    .query_map([&o], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(sql_error)?
                    .collect::<Result<_, _>>()
                    .map_err(sql_error)?;
                rows.iter().map(|(d, v)| from_row(d, *v)).collect()
            })
            .await
    }

    async fn save(&self, record: &InvoiceRecord) -> Result<RecordSave, StoreError> {
        let mut next = record.clone();
        next.version = record.version + 1;
        let expected = version_column(record.version)?;
        let new_version = version_column(next.version)?;
        let data = encode(&next)?;
        self.store
            .with_conn(move |conn| {
                let n = conn
                    .execute(
                        "UPDATE invoices SET version = ?4, data = ?5
                         WHERE order_id = ?1 AND invoice_number = ?2 AND version = ?3",
                        params![next.order_id, next.number(), expected, new_version, data],
                    )
                    .map_err(sql_error)?;
                Ok(if n == 1 {
                    RecordSave::Saved(next)
                } else {
                    RecordSave::Conflict
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::invoice_store::contract;

    #[tokio::test(flavor = "multi_thread")]
    async fn records_survive_reopening_the_file() {
        let dir = std::env::temp_dir().join(format!("inv-{}.db", uuid::Uuid::new_v4()));
        {
            let store = EmbeddedStore::open(&dir).unwrap();
            let inv = SqliteInvoices::new(&store).unwrap();
            inv.create_once(&contract::sample("SO-1", "N1"))
                .await
                .unwrap();
        }
        let store = EmbeddedStore::open(&dir).unwrap();
        let inv = SqliteInvoices::new(&store).unwrap();
        assert!(inv.get("SO-1", "N1").await.unwrap().is_some());
        let _ = std::fs::remove_file(&dir);
    }
}
