//! Order ports: `orders` (JSON + version + the columns the queries need; the UNIQUE
//! `(an, marketplace_order_id)` is the placement idempotency key), `order_log` (append order is
//! the autoincrement `seq`), the outbox rows a save writes in its transaction (`crate::outbox`),
//! and the order-events queue.

use crate::catalog::sku_exists;
use crate::{EmbeddedStore, ORDER_EVENTS_QUEUE, decode, encode, sql_error, to_json};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use domain::order::{LogEntry, Order, OrderStatus};
use domain::ports::{
    OrderEvent, OrderEvents, OrderStore, PlaceOutcome, SaveOutcome, StockEffect, StoreError,
};
use domain::store_support::aggregate_holds;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

/// RFC 3339 in UTC with nanoseconds, always the same width, so text order is time order.
fn fixed_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn version_column(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version)
        .map_err(|_| StoreError::Limit(format!("order version {version} is too large")))
}

fn order_from_row(data: &str, version: i64) -> Result<Order, StoreError> {
    let mut order: Order = decode(data)?;
    order.version =
        u64::try_from(version).map_err(|_| StoreError::Corrupt("negative order version".into()))?;
    Ok(order)
}

fn read_order(
    conn: &Connection,
    where_clause: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Option<Order>, StoreError> {
    let row: Option<(String, i64)> = conn
        .prepare_cached(&format!(
            "SELECT data, version FROM orders WHERE {where_clause}"
        ))
        .and_then(|mut s| {
            s.query_row(params, |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(sql_error)?;
    row.map(|(data, version)| order_from_row(&data, version))
        .transpose()
}

#[async_trait]
impl OrderStore for EmbeddedStore {
    async fn create_reserved(&self, order: &Order) -> Result<PlaceOutcome, StoreError> {
        let holds = aggregate_holds(&order.lines)?;
        let mut stored = order.clone();
        stored.version = 0;
        let data = encode(&stored)?;
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error)?;
            if let Some(existing) = read_order(
                &tx,
                "an = ?1 AND marketplace_order_id = ?2",
                &[&stored.an, &stored.marketplace_order_id],
            )? {
                return Ok(PlaceOutcome::Existing(existing));
            }
            if read_order(&tx, "order_id = ?1", &[&stored.order_id])?.is_some() {
                return Err(StoreError::Corrupt(format!(
                    "order id {} is already used by another marketplace order",
                    stored.order_id
                )));
            }
            for h in &holds {
                let held = tx
                    .execute(
                        "UPDATE stock SET reserved = reserved + ?3
                         WHERE sku_id = ?1 AND location = ?2 AND on_hand - reserved >= ?3",
                        params![h.sku_id, h.location_id, h.quantity],
                    )
                    .map_err(sql_error)?;
                if held == 0 {
                    // Dropping `tx` rolls back the holds taken so far.
                    return Ok(if sku_exists(&tx, &h.sku_id)? {
                        PlaceOutcome::OutOfStock {
                            sku_id: h.sku_id.clone(),
                            location_id: h.location_id.clone(),
                        }
                    } else {
                        PlaceOutcome::UnknownSku {
                            sku_id: h.sku_id.clone(),
                        }
                    });
                }
            }
            tx.execute(
                "INSERT INTO orders
                 (order_id, an, marketplace_order_id, status, expires_at, version, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
                params![
                    stored.order_id,
                    stored.an,
                    stored.marketplace_order_id,
                    stored.status.as_str(),
                    fixed_time(stored.expires_at),
                    data
                ],
            )
            .map_err(sql_error)?;
            tx.commit().map_err(sql_error)?;
            Ok(PlaceOutcome::Created(stored))
        })
        .await
    }

    async fn get(&self, order_id: &str) -> Result<Option<Order>, StoreError> {
        let order_id = order_id.to_string();
        self.with_conn(move |conn| read_order(conn, "order_id = ?1", &[&order_id]))
            .await
    }

    async fn get_by_marketplace_id(
        &self,
        an: &str,
        marketplace_order_id: &str,
    ) -> Result<Option<Order>, StoreError> {
        let (an, mkp) = (an.to_string(), marketplace_order_id.to_string());
        self.with_conn(move |conn| {
            read_order(conn, "an = ?1 AND marketplace_order_id = ?2", &[&an, &mkp])
        })
        .await
    }

    async fn save_emitting(
        &self,
        order: &Order,
        effect: StockEffect,
        events: &[OrderEvent],
    ) -> Result<SaveOutcome, StoreError> {
        let outbox_rows = crate::outbox::rows(events)?;
        let written_at = self.clock.now();
        let shipped_at = storage_format::catalog::mark_time(written_at);
        let holds = match effect {
            StockEffect::None => Vec::new(),
            StockEffect::Release | StockEffect::Ship => aggregate_holds(&order.lines)?,
        };
        let mut saved = order.clone();
        saved.version = order.version + 1;
        let data = encode(&saved)?;
        let expected = version_column(order.version)?;
        let next = version_column(saved.version)?;
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error)?;
            let written = tx
                .execute(
                    "UPDATE orders SET data = ?2, version = ?3, status = ?4, expires_at = ?5
                     WHERE order_id = ?1 AND version = ?6",
                    params![
                        saved.order_id,
                        data,
                        next,
                        saved.status.as_str(),
                        fixed_time(saved.expires_at),
                        expected
                    ],
                )
                .map_err(sql_error)?;
            if written == 0 {
                return Ok(SaveOutcome::Conflict);
            }
            let sql = if effect == StockEffect::Ship {
                "UPDATE stock SET reserved = reserved - ?3, on_hand = on_hand - ?3
                 WHERE sku_id = ?1 AND location = ?2"
            } else {
                "UPDATE stock SET reserved = reserved - ?3 WHERE sku_id = ?1 AND location = ?2"
            };
            for h in &holds {
                let changed = tx
                    .execute(sql, params![h.sku_id, h.location_id, h.quantity])
                    .map_err(sql_error)?;
                if changed == 0 {
                    return Err(StoreError::Corrupt(format!(
                        "order {} holds stock of SKU {} at {}, which is not in the catalog",
                        saved.order_id, h.sku_id, h.location_id
                    )));
                }
                if effect == StockEffect::Ship {
                    crate::catalog::record_shipment(&tx, &h.sku_id, &h.location_id, &shipped_at)?;
                }
            }
            crate::outbox::write(
                &tx,
                &outbox_rows,
                written_at,
                crate::outbox::IfPending::Replace,
            )?;
            tx.commit().map_err(sql_error)?;
            Ok(SaveOutcome::Saved(saved))
        })
        .await
    }

    async fn emit(&self, events: &[OrderEvent]) -> Result<(), StoreError> {
        self.emit_events(events).await
    }

    async fn expired_reservations(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, StoreError> {
        let now = fixed_time(now);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT data, version FROM orders
                     WHERE status = ?1 AND expires_at <= ?2
                     ORDER BY expires_at, order_id LIMIT ?3",
                )
                .map_err(sql_error)?;
            let rows = stmt
                .query_map(params![OrderStatus::Reserved.as_str(), now, limit], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })
                .map_err(sql_error)?;
            let mut due = Vec::new();
            for row in rows {
                let (data, version) = row.map_err(sql_error)?;
                due.push(order_from_row(&data, version)?);
            }
            Ok(due)
        })
        .await
    }

    async fn append_log(&self, order_id: &str, entry: &LogEntry) -> Result<(), StoreError> {
        let (order_id, entry) = (order_id.to_string(), entry.clone());
        self.with_conn(move |conn| crate::order_log::append(conn, &order_id, &entry))
            .await
    }

    async fn read_log(&self, order_id: &str) -> Result<Vec<LogEntry>, StoreError> {
        let order_id = order_id.to_string();
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT data FROM order_log WHERE order_id = ?1 ORDER BY seq")
                .map_err(sql_error)?;
            let rows = stmt
                .query_map([order_id], |row| row.get::<_, String>(0))
                .map_err(sql_error)?;
            let mut entries = Vec::new();
            for data in rows {
                let data = data.map_err(sql_error)?;
                entries.push(decode(&data)?);
            }
            Ok(entries)
        })
        .await
    }
}

/// Events go to the local queue [`ORDER_EVENTS_QUEUE`], grouped by order and de-duplicated on the
/// event id, as on the SQS FIFO queue in AWS.
#[async_trait]
impl OrderEvents for EmbeddedStore {
    async fn publish(&self, event: &OrderEvent) -> Result<(), StoreError> {
        let body = to_json("order event", event)?;
        self.queue(ORDER_EVENTS_QUEUE)
            .send(&body, Some(&event.order_id), Some(&event.event_id))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod stored_shape {
    //! What is in the `data` column (the shape itself is pinned by `storage-format`'s golden tests).
    use super::*;

    /// An order row as the store wrote it before stored shapes were versioned.
    const LEGACY_ORDER: &str = r#"{"orderId":"SLR-LEGACY","an":"luxstore","sc":null,"marketplaceOrderId":"959311095","marketplaceOrderGroup":null,"marketplaceServicesEndpoint":null,"marketplacePaymentValue":11080,"status":"AUTHORIZED","lines":[{"index":0,"skuId":"2002495","quantity":1,"unitPrice":9990,"freight":1090,"selectedSla":"Normal","locationId":"cd-cajamar","lockTtl":"8d","shippingEstimate":"5bd","deliveryWindow":null}],"address":null,"customer":null,"createdAt":"2026-01-02T03:04:05Z","expiresAt":"2026-01-10T03:04:05Z","authorized":{"date":"2026-01-02T03:05:05Z","receipt":"r-1"},"canceled":null,"pendingCancellation":null,"version":4}"#;
    const LEGACY_LOG: &str = r#"{"at":"2026-01-02T03:04:05Z","step":"placement","outcome":"Success","detail":"reserved"}"#;

    async fn data_of(store: &EmbeddedStore, order_id: &str) -> String {
        let id = order_id.to_string();
        store
            .with_conn(move |conn| {
                conn.query_row("SELECT data FROM orders WHERE order_id = ?1", [id], |r| {
                    r.get(0)
                })
                .map_err(sql_error)
            })
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_order_row_written_before_versioning_is_read_and_saved_back_versioned() {
        let store = EmbeddedStore::open_in_memory().unwrap();
        store
            .with_conn(|conn| {
                conn.execute(
                    "INSERT INTO orders (order_id, an, marketplace_order_id, status, expires_at, version, data)
                     VALUES ('SLR-LEGACY', 'luxstore', '959311095', 'AUTHORIZED', '2026-01-10T03:04:05Z', 4, ?1)",
                    [LEGACY_ORDER],
                )
                .map_err(sql_error)?;
                conn.execute(
                    "INSERT INTO order_log (order_id, data) VALUES ('SLR-LEGACY', ?1)",
                    [LEGACY_LOG],
                )
                .map_err(sql_error)
            })
            .await
            .unwrap();

        let order = store
            .get("SLR-LEGACY")
            .await
            .unwrap()
            .expect("the legacy row reads");
        assert_eq!(order.marketplace_order_id, "959311095");
        assert_eq!((order.status, order.version), (OrderStatus::Authorized, 4));
        assert_eq!(order.lines[0].unit_price.value(), 9990);
        let log = store.read_log("SLR-LEGACY").await.unwrap();
        assert_eq!(log[0].step, "placement");

        let SaveOutcome::Saved(saved) = store.save(&order, StockEffect::None).await.unwrap() else {
            panic!("the save conflicted");
        };
        let data = data_of(&store, "SLR-LEGACY").await;
        assert!(
            data.starts_with(r#"{"schemaVersion":1,"orderId":"SLR-LEGACY","#),
            "{data}"
        );
        assert_eq!(store.get("SLR-LEGACY").await.unwrap(), Some(saved));
    }
}
