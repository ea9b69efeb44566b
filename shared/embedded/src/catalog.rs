//! Catalog ports: `skus` holds each SKU without its stock (JSON), `stock` one row per
//! (SKU, location) with the two counters, `stock_marks` the location's ordering marks
//! (`storage_format::catalog::StockMarksV1`, a table of its own so that files written before it
//! need no migration), `settings` the shipping rules. Reads are answered from
//! [`ReadModel`] while the file is unchanged since they were last read.

use crate::{EmbeddedStore, decode, encode, sql_error};
use async_trait::async_trait;
use domain::catalog::{LocationId, PriceEntry, Sku, SkuId, StockLevel};
use domain::ports::{
    CatalogReader, CatalogWriter, LocationStock, SnapshotOutcome, StockMarks, StockSnapshot,
    StoreError,
};
use domain::shipping::ShippingRules;
use domain::simulation::SkuLookup;
use domain::store_support::merge_stock;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use storage_format::catalog::{StockMarksV1, mark_time};

mod decoded;
mod read_model;

pub(crate) use read_model::{ReadModel, Versions};

/// Ids per statement of a batched SKU read (well below SQLite's bound on parameters).
const READ_CHUNK: usize = 500;

const RULES_KEY: &str = "shipping_rules";

fn read_level(
    conn: &Connection,
    sku_id: &str,
    location: &str,
) -> Result<Option<StockLevel>, StoreError> {
    conn.prepare_cached("SELECT on_hand, reserved FROM stock WHERE sku_id = ?1 AND location = ?2")
        .map_err(sql_error)?
        .query_row([sku_id, location], |row| {
            Ok(StockLevel {
                on_hand: row.get(0)?,
                reserved: row.get(1)?,
            })
        })
        .optional()
        .map_err(sql_error)
}

pub(crate) fn read_stock(
    conn: &Connection,
    sku_id: &str,
) -> Result<BTreeMap<LocationId, StockLevel>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT location, on_hand, reserved FROM stock WHERE sku_id = ?1")
        .map_err(sql_error)?;
    let rows = stmt
        .query_map([sku_id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                StockLevel {
                    on_hand: row.get(1)?,
                    reserved: row.get(2)?,
                },
            ))
        })
        .map_err(sql_error)?;
    rows.collect::<Result<_, _>>().map_err(sql_error)
}

/// The ordering marks of one location (all `None` when it has no row).
fn read_marks(conn: &Connection, sku_id: &str, location: &str) -> Result<StockMarks, StoreError> {
    let shape = conn
        .prepare_cached(
            "SELECT as_of, shipped_at FROM stock_marks WHERE sku_id = ?1 AND location = ?2",
        )
        .map_err(sql_error)?
        .query_row([sku_id, location], |row| {
            Ok(StockMarksV1 {
                as_of: row.get(0)?,
                shipped_at: row.get(1)?,
            })
        })
        .optional()
        .map_err(sql_error)?
        .unwrap_or_default();
    shape.to_marks().map_err(|e| StoreError::Corrupt(e.0))
}

/// Records, inside the caller's transaction (the order save that ships), that a shipment left
/// `location` at `at` (a [`storage_format::catalog::mark_time`]).
pub(crate) fn record_shipment(
    conn: &Connection,
    sku_id: &str,
    location: &str,
    at: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO stock_marks (sku_id, location, shipped_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (sku_id, location) DO UPDATE SET shipped_at = excluded.shipped_at",
    )
    .map_err(sql_error)?
    .execute(params![sku_id, location, at])
    .map_err(sql_error)?;
    Ok(())
}

pub(crate) fn sku_exists(conn: &Connection, sku_id: &str) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT 1 FROM skus WHERE id = ?1")
        .and_then(|mut s| s.exists([sku_id]))
        .map_err(sql_error)
}

#[async_trait]
impl CatalogReader for EmbeddedStore {
    async fn get_skus(&self, ids: &[SkuId]) -> Result<HashMap<SkuId, Sku>, StoreError> {
        let found = self.skus_shared(ids).await?;
        let mut owned = HashMap::with_capacity(ids.len());
        for id in ids {
            if let Some(sku) = found.sku(id) {
                owned.insert(id.clone(), sku.clone());
            }
        }
        Ok(owned)
    }

    /// Answered from the read model without copying a SKU when the file is unchanged.
    async fn get_skus_shared(&self, ids: &[SkuId]) -> Result<Arc<dyn SkuLookup>, StoreError> {
        self.skus_shared(ids).await
    }

    async fn shipping_rules(&self) -> Result<Option<ShippingRules>, StoreError> {
        let version = self.versions.now()?;
        if let Some(rules) = self.catalog.rules(version) {
            return Ok(rules);
        }
        let data: Option<String> = self
            .with_conn(|conn| {
                let tx = conn.transaction().map_err(sql_error)?;
                let data = tx
                    .query_row(
                        "SELECT data FROM settings WHERE key = ?1",
                        [RULES_KEY],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(sql_error)?;
                tx.commit().map_err(sql_error)?;
                Ok(data)
            })
            .await?;
        let rules = data.map(|d| decode(&d)).transpose()?;
        self.catalog.remember_rules(version, &rules);
        Ok(rules)
    }
}

impl EmbeddedStore {
    async fn skus_shared(&self, ids: &[SkuId]) -> Result<Arc<dyn SkuLookup>, StoreError> {
        // Taken before the file is read: what is remembered is never older than its version.
        let version = self.versions.now()?;
        if let Some(found) = self.catalog.skus(version, ids) {
            return Ok(found);
        }
        let mut seen = HashSet::new();
        let ids: Vec<SkuId> = ids
            .iter()
            .filter(|id| seen.insert(id.as_str()))
            .cloned()
            .collect();
        let (ids, found) = self
            .with_conn(move |conn| {
                let tx = conn.transaction().map_err(sql_error)?;
                let mut found = HashMap::new();
                // Two statements per chunk of ids (records, then their stock) rather than two per SKU.
                for chunk in ids.chunks(READ_CHUNK) {
                    let marks = vec!["?"; chunk.len()].join(",");
                    let mut records = tx
                        .prepare_cached(&format!("SELECT id, data FROM skus WHERE id IN ({marks})"))
                        .map_err(sql_error)?;
                    let mut rows = records
                        .query(rusqlite::params_from_iter(chunk))
                        .map_err(sql_error)?;
                    while let Some(row) = rows.next().map_err(sql_error)? {
                        let id: String = row.get(0).map_err(sql_error)?;
                        let data: String = row.get(1).map_err(sql_error)?;
                        let sku = decoded::sku(&id, &data)?;
                        found.insert(id, sku);
                    }
                    let mut stock = tx
                        .prepare_cached(&format!(
                            "SELECT sku_id, location, on_hand, reserved FROM stock
                         WHERE sku_id IN ({marks})"
                        ))
                        .map_err(sql_error)?;
                    let mut rows = stock
                        .query(rusqlite::params_from_iter(chunk))
                        .map_err(sql_error)?;
                    while let Some(row) = rows.next().map_err(sql_error)? {
                        let id: String = row.get(0).map_err(sql_error)?;
                        if let Some(sku) = found.get_mut(&id) {
                            sku.stock.insert(
                                row.get(1).map_err(sql_error)?,
                                StockLevel {
                                    on_hand: row.get(2).map_err(sql_error)?,
                                    reserved: row.get(3).map_err(sql_error)?,
                                },
                            );
                        }
                    }
                }
                tx.commit().map_err(sql_error)?;
                let found: HashMap<SkuId, Arc<Sku>> =
                    found.into_iter().map(|(id, s)| (id, Arc::new(s))).collect();
                Ok((ids, found))
            })
            .await?;
        self.catalog.remember_skus(version, &ids, &found);
        Ok(Arc::new(found))
    }
}

#[async_trait]
impl CatalogWriter for EmbeddedStore {
    async fn upsert_sku(&self, sku: &Sku) -> Result<(), StoreError> {
        let mut data = sku.clone();
        data.stock.clear();
        let data = encode(&data)?;
        let sku = sku.clone();
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error)?;
            let merged = merge_stock(&sku.stock, &read_stock(&tx, &sku.id)?);
            tx.execute(
                "INSERT INTO skus (id, data) VALUES (?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                params![sku.id, data],
            )
            .map_err(sql_error)?;
            tx.execute("DELETE FROM stock WHERE sku_id = ?1", [&sku.id])
                .map_err(sql_error)?;
            for (loc, level) in merged {
                tx.execute(
                    "INSERT INTO stock (sku_id, location, on_hand, reserved) VALUES (?1, ?2, ?3, ?4)",
                    params![sku.id, loc, level.on_hand, level.reserved],
                )
                .map_err(sql_error)?;
            }
            // A location the upsert drops takes its marks with it, as in the other stores.
            tx.execute(
                "DELETE FROM stock_marks WHERE sku_id = ?1
                 AND location NOT IN (SELECT location FROM stock WHERE sku_id = ?1)",
                [&sku.id],
            )
            .map_err(sql_error)?;
            tx.commit().map_err(sql_error)
        })
        .await
    }

    async fn set_on_hand(
        &self,
        sku_id: &str,
        location: &str,
        on_hand: i64,
    ) -> Result<bool, StoreError> {
        let (sku_id, location) = (sku_id.to_string(), location.to_string());
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error)?;
            if !sku_exists(&tx, &sku_id)? {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO stock (sku_id, location, on_hand, reserved) VALUES (?1, ?2, ?3, 0)
                 ON CONFLICT (sku_id, location) DO UPDATE SET on_hand = excluded.on_hand",
                params![sku_id, location, on_hand],
            )
            .map_err(sql_error)?;
            tx.commit().map_err(sql_error)?;
            Ok(true)
        })
        .await
    }

    async fn stock_location(
        &self,
        sku_id: &str,
        location: &str,
    ) -> Result<Option<LocationStock>, StoreError> {
        let (sku_id, location) = (sku_id.to_string(), location.to_string());
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(sql_error)?;
            if !sku_exists(&tx, &sku_id)? {
                return Ok(None);
            }
            let level = read_level(&tx, &sku_id, &location)?;
            let marks = read_marks(&tx, &sku_id, &location)?;
            tx.commit().map_err(sql_error)?;
            Ok(Some(LocationStock { level, marks }))
        })
        .await
    }

    /// The marks are read and the stock written in one `BEGIN IMMEDIATE` transaction: no other
    /// writer (a count, a shipment) comes between the test and the write.
    async fn apply_stock_snapshot(
        &self,
        snapshot: &StockSnapshot,
    ) -> Result<SnapshotOutcome, StoreError> {
        let snapshot = snapshot.clone();
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error)?;
            let (sku_id, location) = (&snapshot.sku_id, &snapshot.location);
            if !sku_exists(&tx, sku_id)? {
                return Ok(SnapshotOutcome::UnknownSku);
            }
            let marks = read_marks(&tx, sku_id, location)?;
            if let Some(stale) = snapshot.as_of.and_then(|at| marks.refuses(at)) {
                return Ok(SnapshotOutcome::Stale(stale));
            }
            let previous = read_level(&tx, sku_id, location)?.map(|l| l.on_hand);
            tx.execute(
                "INSERT INTO stock (sku_id, location, on_hand, reserved) VALUES (?1, ?2, ?3, 0)
                 ON CONFLICT (sku_id, location) DO UPDATE SET on_hand = excluded.on_hand",
                params![sku_id, location, snapshot.on_hand],
            )
            .map_err(sql_error)?;
            if let Some(as_of) = snapshot.as_of {
                tx.execute(
                    "INSERT INTO stock_marks (sku_id, location, as_of) VALUES (?1, ?2, ?3)
                     ON CONFLICT (sku_id, location) DO UPDATE SET as_of = excluded.as_of",
                    params![sku_id, location, mark_time(as_of)],
                )
                .map_err(sql_error)?;
            }
            tx.commit().map_err(sql_error)?;
            Ok(SnapshotOutcome::Applied { previous })
        })
        .await
    }

    async fn set_prices(&self, sku_id: &str, prices: &[PriceEntry]) -> Result<bool, StoreError> {
        let (sku_id, prices) = (sku_id.to_string(), prices.to_vec());
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error)?;
            let data: Option<String> = tx
                .query_row("SELECT data FROM skus WHERE id = ?1", [&sku_id], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(sql_error)?;
            let Some(data) = data else {
                return Ok(false);
            };
            let mut sku: Sku = decode(&data)?;
            sku.prices = prices;
            tx.execute(
                "UPDATE skus SET data = ?2 WHERE id = ?1",
                params![sku_id, encode(&sku)?],
            )
            .map_err(sql_error)?;
            tx.commit().map_err(sql_error)?;
            Ok(true)
        })
        .await
    }

    async fn put_shipping_rules(&self, rules: &ShippingRules) -> Result<(), StoreError> {
        let data = encode(rules)?;
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO settings (key, data) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET data = excluded.data",
                params![RULES_KEY, data],
            )
            .map_err(sql_error)?;
            Ok(())
        })
        .await
    }
}
