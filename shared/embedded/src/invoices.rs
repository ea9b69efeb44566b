//! SQLite adapter of [`InvoiceStore`], in the same file (and connection) as the rest of the
//! [`EmbeddedStore`]. One row per `(order_id, invoice_number)`, the record as JSON, a version
//! column for the optimistic save; one `invoice_totals` row per order, the invoiced sums, moved in
//! the same transaction as the record that changes them. An order whose records predate
//! `invoice_totals` gets its row derived from them on its first write.

use crate::{EmbeddedStore, decode, encode, sql_error};
use async_trait::async_trait;
use domain::invoice_store::{CreateOutcome, InvoiceStore, InvoicedSums, RecordSave, Tally};
use domain::invoicing::InvoiceRecord;
use domain::money::Cents;
use domain::ports::StoreError;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS invoices (
    order_id       TEXT NOT NULL,
    invoice_number TEXT NOT NULL,
    version        INTEGER NOT NULL,
    data           TEXT NOT NULL,
    PRIMARY KEY (order_id, invoice_number)
);
CREATE TABLE IF NOT EXISTS invoice_totals (
    order_id TEXT PRIMARY KEY,
    output   INTEGER NOT NULL,
    input    INTEGER NOT NULL
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

fn list(conn: &Connection, order_id: &str) -> Result<Vec<InvoiceRecord>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT data, version FROM invoices WHERE order_id = ?1
             ORDER BY invoice_number",
        )
        .map_err(sql_error)?;
    let rows: Vec<(String, i64)> = stmt
        .query_map([order_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sql_error)?
        .collect::<Result<_, _>>()
        .map_err(sql_error)?;
    rows.iter().map(|(d, v)| from_row(d, *v)).collect()
}

/// The order's sums: its `invoice_totals` row, or, for an order written before the row was kept,
/// what its records add up to.
fn sums(conn: &Connection, order_id: &str) -> Result<InvoicedSums, StoreError> {
    match stored_sums(conn, order_id)? {
        Some(s) => Ok(s),
        None => Ok(InvoicedSums::of_records(&list(conn, order_id)?)),
    }
}

fn stored_sums(conn: &Connection, order_id: &str) -> Result<Option<InvoicedSums>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT output, input FROM invoice_totals WHERE order_id = ?1",
            [order_id],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
        .optional()
        .map_err(sql_error)?
        .map(|(output, input)| InvoicedSums {
            output: Cents(output),
            input: Cents(input),
        }))
}

fn put_sums(conn: &Connection, order_id: &str, s: InvoicedSums) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO invoice_totals (order_id, output, input) VALUES (?1, ?2, ?3)
         ON CONFLICT (order_id) DO UPDATE SET output = excluded.output, input = excluded.input",
        params![order_id, s.output.value(), s.input.value()],
    )
    .map_err(sql_error)?;
    Ok(())
}

#[async_trait]
impl InvoiceStore for SqliteInvoices {
    async fn create_once(
        &self,
        record: &InvoiceRecord,
        limit: Cents,
    ) -> Result<CreateOutcome, StoreError> {
        let mut fresh = record.clone();
        fresh.version = 0;
        let data = encode(&fresh)?;
        self.store
            .with_conn(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql_error)?;
                if let Some(existing) = read(&tx, &fresh.order_id, fresh.number())? {
                    return Ok(CreateOutcome::Existing(existing));
                }
                let mut held = sums(&tx, &fresh.order_id)?;
                if fresh.is_live() {
                    if !held.fits(&fresh, limit) {
                        return Ok(CreateOutcome::OverLimit {
                            invoiced: held.get(fresh.invoice.kind),
                            limit,
                        });
                    }
                    held.add(fresh.invoice.kind, fresh.invoice.invoice_value);
                }
                tx.execute(
                    "INSERT INTO invoices (order_id, invoice_number, version, data)
                     VALUES (?1, ?2, 0, ?3)",
                    params![fresh.order_id, fresh.number(), data],
                )
                .map_err(sql_error)?;
                put_sums(&tx, &fresh.order_id, held)?;
                tx.commit().map_err(sql_error)?;
                Ok(CreateOutcome::Created(fresh))
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
        self.store.with_conn(move |conn| list(conn, &o)).await
    }

    async fn save(&self, record: &InvoiceRecord, tally: Tally) -> Result<RecordSave, StoreError> {
        let mut next = record.clone();
        next.version = record.version + 1;
        let expected = version_column(record.version)?;
        let new_version = version_column(next.version)?;
        let data = encode(&next)?;
        self.store
            .with_conn(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql_error)?;
                let n = tx
                    .execute(
                        "UPDATE invoices SET version = ?4, data = ?5
                         WHERE order_id = ?1 AND invoice_number = ?2 AND version = ?3",
                        params![next.order_id, next.number(), expected, new_version, data],
                    )
                    .map_err(sql_error)?;
                if n != 1 {
                    return Ok(RecordSave::Conflict);
                }
                let (kind, value) = (next.invoice.kind, next.invoice.invoice_value);
                let delta = match tally {
                    Tally::Keep => None,
                    Tally::Release => Some(Cents::ZERO - value),
                    Tally::Claim { .. } => Some(value),
                };
                if let Some(delta) = delta {
                    // An order without a row yet: its records, this one as now written, are the
                    // sums after the save.
                    let after = match stored_sums(&tx, &next.order_id)? {
                        Some(mut held) => {
                            held.add(kind, delta);
                            held
                        }
                        None => InvoicedSums::of_records(&list(&tx, &next.order_id)?),
                    };
                    if let Tally::Claim { limit } = tally
                        && after.get(kind) > limit
                    {
                        // Dropping the transaction rolls the update back.
                        return Ok(RecordSave::OverLimit {
                            invoiced: after.get(kind) - value,
                            limit,
                        });
                    }
                    put_sums(&tx, &next.order_id, after)?;
                }
                tx.commit().map_err(sql_error)?;
                Ok(RecordSave::Saved(next))
            })
            .await
    }

    async fn invoiced(&self, order_id: &str) -> Result<InvoicedSums, StoreError> {
        let o = order_id.to_string();
        self.store.with_conn(move |conn| sums(conn, &o)).await
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
            inv.create_once(&contract::sample("SO-1", "N1"), Cents(11080))
                .await
                .unwrap();
        }
        let store = EmbeddedStore::open(&dir).unwrap();
        let inv = SqliteInvoices::new(&store).unwrap();
        assert!(inv.get("SO-1", "N1").await.unwrap().is_some());
        let _ = std::fs::remove_file(&dir);
    }

    /// An order whose records were written before `invoice_totals` existed: its sums are derived
    /// from them on first use, so the old records count toward the limit.
    #[tokio::test(flavor = "multi_thread")]
    async fn an_order_written_before_the_totals_row_gets_it_derived_from_its_records() {
        let store = EmbeddedStore::open_in_memory().unwrap();
        let inv = SqliteInvoices::new(&store).unwrap();
        let old = contract::worth(
            "SO-OLD",
            "NFe-1",
            domain::invoicing::InvoiceType::Output,
            8000,
        );
        let data = encode(&old).unwrap();
        store
            .with_conn(move |conn| {
                conn.execute(
                    "INSERT INTO invoices (order_id, invoice_number, version, data)
                     VALUES ('SO-OLD', 'NFe-1', 0, ?1)",
                    [data],
                )
                .map_err(sql_error)
            })
            .await
            .unwrap();
        assert_eq!(inv.invoiced("SO-OLD").await.unwrap().output, Cents(8000));
        let more = contract::worth(
            "SO-OLD",
            "NFe-2",
            domain::invoicing::InvoiceType::Output,
            3080,
        );
        let too_much = contract::worth(
            "SO-OLD",
            "NFe-3",
            domain::invoicing::InvoiceType::Output,
            3081,
        );
        assert_eq!(
            inv.create_once(&too_much, Cents(11080)).await.unwrap(),
            CreateOutcome::OverLimit {
                invoiced: Cents(8000),
                limit: Cents(11080)
            }
        );
        assert!(matches!(
            inv.create_once(&more, Cents(11080)).await.unwrap(),
            CreateOutcome::Created(_)
        ));
        assert_eq!(inv.invoiced("SO-OLD").await.unwrap().output, Cents(11080));

        // A refusal of an old record, before any row: the row written holds what is left.
        let mut refused = inv.get("SO-OLD", "NFe-1").await.unwrap().unwrap();
        let before = refused.clone();
        refused.mark_rejected(refused.created_at);
        let store2 = EmbeddedStore::open_in_memory().unwrap();
        let inv2 = SqliteInvoices::new(&store2).unwrap();
        let data = encode(&before).unwrap();
        store2
            .with_conn(move |conn| {
                conn.execute(
                    "INSERT INTO invoices (order_id, invoice_number, version, data)
                     VALUES ('SO-OLD', 'NFe-1', 0, ?1)",
                    [data],
                )
                .map_err(sql_error)
            })
            .await
            .unwrap();
        assert!(matches!(
            inv2.save(&refused, Tally::of(&before, &refused, Cents(11080)))
                .await
                .unwrap(),
            RecordSave::Saved(_)
        ));
        assert_eq!(
            inv2.invoiced("SO-OLD").await.unwrap(),
            InvoicedSums::default()
        );
    }
}
