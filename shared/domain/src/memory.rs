//! In-memory adapter of every port, for unit tests of the domain and the handlers. Same semantics
//! as the DynamoDB and embedded adapters (it passes the same contract tests), no persistence.

use crate::catalog::{CatalogFile, PriceEntry, Sku, SkuId};
use crate::order::{LogEntry, Order, OrderId, OrderStatus};
use crate::outbox::{Outbox, OutboxRecord};
use crate::ports::{
    CatalogReader, CatalogWriter, OrderEvent, OrderEvents, OrderStore, PlaceOutcome, SaveOutcome,
    StockEffect, StoreError,
};
use crate::ports::{LocationStock, SnapshotOutcome, StockMarks, StockSnapshot};
use crate::shipping::ShippingRules;
use crate::store_support::{aggregate_holds, merge_stock};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Catalog, orders, logs and published events behind one lock. `Clone` shares the same state.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    skus: HashMap<SkuId, Sku>,
    rules: Option<ShippingRules>,
    orders: HashMap<OrderId, Order>,
    by_marketplace_id: HashMap<(String, String), OrderId>,
    logs: HashMap<OrderId, Vec<LogEntry>>,
    events: Vec<OrderEvent>,
    outbox: HashMap<String, OutboxRecord>,
    /// Ordering marks per (SKU, location) ([`StockMarks`]).
    stock_marks: HashMap<(SkuId, String), StockMarks>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `file`'s SKUs (with the stock levels as written in the file, reservations
    /// included) and shipping rules.
    pub fn with_catalog(file: &CatalogFile) -> Self {
        let store = Self::new();
        {
            let mut s = store.lock();
            for sku in &file.skus {
                s.skus.insert(sku.id.clone(), sku.clone());
            }
            s.rules = Some(file.shipping_rules.clone());
        }
        store
    }

    /// Every event published so far, oldest first.
    pub fn events(&self) -> Vec<OrderEvent> {
        self.lock().events.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide the state from the assertions that follow.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl CatalogReader for MemoryStore {
    async fn get_skus(&self, ids: &[SkuId]) -> Result<HashMap<SkuId, Sku>, StoreError> {
        let s = self.lock();
        Ok(ids
            .iter()
            .filter_map(|id| s.skus.get(id).map(|sku| (id.clone(), sku.clone())))
            .collect())
    }

    async fn shipping_rules(&self) -> Result<Option<ShippingRules>, StoreError> {
        Ok(self.lock().rules.clone())
    }
}

#[async_trait]
impl CatalogWriter for MemoryStore {
    async fn upsert_sku(&self, sku: &Sku) -> Result<(), StoreError> {
        let mut s = self.lock();
        let old_stock = s
            .skus
            .get(&sku.id)
            .map(|old| old.stock.clone())
            .unwrap_or_default();
        let mut new = sku.clone();
        new.stock = merge_stock(&sku.stock, &old_stock);
        // A location the upsert drops takes its marks with it, as in the other stores.
        s.stock_marks
            .retain(|(id, loc), _| id != &sku.id || new.stock.contains_key(loc));
        s.skus.insert(sku.id.clone(), new);
        Ok(())
    }

    async fn stock_location(
        &self,
        sku_id: &str,
        location: &str,
    ) -> Result<Option<LocationStock>, StoreError> {
        let s = self.lock();
        let Some(sku) = s.skus.get(sku_id) else {
            return Ok(None);
        };
        Ok(Some(LocationStock {
            level: sku.stock.get(location).copied(),
            marks: s
                .stock_marks
                .get(&(sku_id.to_string(), location.to_string()))
                .copied()
                .unwrap_or_default(),
        }))
    }

    async fn apply_stock_snapshot(
        &self,
        snapshot: &StockSnapshot,
    ) -> Result<SnapshotOutcome, StoreError> {
        let mut s = self.lock();
        let key = (snapshot.sku_id.clone(), snapshot.location.clone());
        let marks = s.stock_marks.get(&key).copied().unwrap_or_default();
        let Some(sku) = s.skus.get_mut(&snapshot.sku_id) else {
            return Ok(SnapshotOutcome::UnknownSku);
        };
        if let Some(stale) = snapshot.as_of.and_then(|at| marks.refuses(at)) {
            return Ok(SnapshotOutcome::Stale(stale));
        }
        let previous = sku.stock.get(&snapshot.location).map(|l| l.on_hand);
        sku.stock
            .entry(snapshot.location.clone())
            .or_default()
            .on_hand = snapshot.on_hand;
        if let Some(as_of) = snapshot.as_of {
            s.stock_marks.entry(key).or_default().as_of = Some(as_of);
        }
        Ok(SnapshotOutcome::Applied { previous })
    }

    async fn set_on_hand(
        &self,
        sku_id: &str,
        location: &str,
        on_hand: i64,
    ) -> Result<bool, StoreError> {
        let mut s = self.lock();
        let Some(sku) = s.skus.get_mut(sku_id) else {
            return Ok(false);
        };
        sku.stock.entry(location.to_string()).or_default().on_hand = on_hand;
        Ok(true)
    }

    async fn put_shipping_rules(&self, rules: &ShippingRules) -> Result<(), StoreError> {
        self.lock().rules = Some(rules.clone());
        Ok(())
    }

    async fn set_prices(&self, sku_id: &str, prices: &[PriceEntry]) -> Result<bool, StoreError> {
        let mut s = self.lock();
        let Some(sku) = s.skus.get_mut(sku_id) else {
            return Ok(false);
        };
        sku.prices = prices.to_vec();
        Ok(true)
    }
}

#[async_trait]
impl OrderStore for MemoryStore {
    async fn create_reserved(&self, order: &Order) -> Result<PlaceOutcome, StoreError> {
        let holds = aggregate_holds(&order.lines)?;
        let mut s = self.lock();
        let key = (order.an.clone(), order.marketplace_order_id.clone());
        if let Some(id) = s.by_marketplace_id.get(&key) {
            let existing = s.orders.get(id).cloned().ok_or_else(|| {
                StoreError::Corrupt(format!("marketplace mapping points at missing order {id}"))
            })?;
            return Ok(PlaceOutcome::Existing(existing));
        }
        if s.orders.contains_key(&order.order_id) {
            return Err(StoreError::Corrupt(format!(
                "order id {} already exists under another marketplace order",
                order.order_id
            )));
        }
        for h in &holds {
            let Some(sku) = s.skus.get(&h.sku_id) else {
                return Ok(PlaceOutcome::UnknownSku {
                    sku_id: h.sku_id.clone(),
                });
            };
            if sku.sellable_at(&h.location_id) < h.quantity {
                return Ok(PlaceOutcome::OutOfStock {
                    sku_id: h.sku_id.clone(),
                    location_id: h.location_id.clone(),
                });
            }
        }
        for h in &holds {
            if let Some(level) = s
                .skus
                .get_mut(&h.sku_id)
                .and_then(|sku| sku.stock.get_mut(&h.location_id))
            {
                level.reserved += h.quantity;
            }
        }
        let mut stored = order.clone();
        stored.version = 0;
        s.by_marketplace_id.insert(key, stored.order_id.clone());
        s.orders.insert(stored.order_id.clone(), stored.clone());
        Ok(PlaceOutcome::Created(stored))
    }

    async fn get(&self, order_id: &str) -> Result<Option<Order>, StoreError> {
        Ok(self.lock().orders.get(order_id).cloned())
    }

    async fn get_by_marketplace_id(
        &self,
        an: &str,
        marketplace_order_id: &str,
    ) -> Result<Option<Order>, StoreError> {
        let s = self.lock();
        Ok(s.by_marketplace_id
            .get(&(an.to_string(), marketplace_order_id.to_string()))
            .and_then(|id| s.orders.get(id))
            .cloned())
    }

    async fn save_emitting(
        &self,
        order: &Order,
        effect: StockEffect,
        events: &[OrderEvent],
    ) -> Result<SaveOutcome, StoreError> {
        let holds = match effect {
            StockEffect::None => Vec::new(),
            StockEffect::Release | StockEffect::Ship => aggregate_holds(&order.lines)?,
        };
        let mut s = self.lock();
        match s.orders.get(&order.order_id) {
            Some(stored) if stored.version == order.version => {}
            _ => return Ok(SaveOutcome::Conflict),
        }
        // Check every counter before touching any, so a failure writes nothing.
        for h in &holds {
            let exists = s
                .skus
                .get(&h.sku_id)
                .is_some_and(|sku| sku.stock.contains_key(&h.location_id));
            if !exists {
                return Err(StoreError::Corrupt(format!(
                    "order {} holds stock of SKU {} at {}, which is not in the catalog",
                    order.order_id, h.sku_id, h.location_id
                )));
            }
        }
        for h in &holds {
            if let Some(level) = s
                .skus
                .get_mut(&h.sku_id)
                .and_then(|sku| sku.stock.get_mut(&h.location_id))
            {
                level.reserved -= h.quantity;
                if effect == StockEffect::Ship {
                    level.on_hand -= h.quantity;
                }
            }
        }
        if effect == StockEffect::Ship {
            let now = Utc::now();
            for h in &holds {
                let key = (h.sku_id.clone(), h.location_id.clone());
                s.stock_marks.entry(key).or_default().shipped_at = Some(now);
            }
        }
        let mut saved = order.clone();
        saved.version = order.version + 1;
        s.orders.insert(saved.order_id.clone(), saved.clone());
        let written_at = Utc::now();
        for event in events {
            s.outbox.insert(
                event.event_id.clone(),
                OutboxRecord {
                    event: event.clone(),
                    written_at,
                },
            );
        }
        Ok(SaveOutcome::Saved(saved))
    }

    async fn emit(&self, events: &[OrderEvent]) -> Result<(), StoreError> {
        let mut s = self.lock();
        let written_at = Utc::now();
        for event in events {
            s.outbox
                .entry(event.event_id.clone())
                .or_insert_with(|| OutboxRecord {
                    event: event.clone(),
                    written_at,
                });
        }
        Ok(())
    }

    async fn expired_reservations(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, StoreError> {
        let s = self.lock();
        let mut due: Vec<Order> = s
            .orders
            .values()
            .filter(|o| o.status == OrderStatus::Reserved && o.expires_at <= now)
            .cloned()
            .collect();
        due.sort_by(|a, b| {
            a.expires_at
                .cmp(&b.expires_at)
                .then_with(|| a.order_id.cmp(&b.order_id))
        });
        due.truncate(limit);
        Ok(due)
    }

    async fn append_log(&self, order_id: &str, entry: &LogEntry) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let log = inner.logs.entry(order_id.to_string()).or_default();
        log.push(entry.clone());
        crate::order_log::fold_in_place(log);
        Ok(())
    }

    async fn read_log(&self, order_id: &str) -> Result<Vec<LogEntry>, StoreError> {
        Ok(self.lock().logs.get(order_id).cloned().unwrap_or_default())
    }
}

#[async_trait]
impl Outbox for MemoryStore {
    async fn pending(
        &self,
        written_before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        let s = self.lock();
        let mut due: Vec<OutboxRecord> = s
            .outbox
            .values()
            .filter(|r| written_before.is_none_or(|t| r.written_at <= t))
            .cloned()
            .collect();
        due.sort_by(|a, b| {
            a.written_at
                .cmp(&b.written_at)
                .then_with(|| a.event_id().cmp(b.event_id()))
        });
        due.truncate(limit);
        Ok(due)
    }

    async fn record(&self, event_id: &str) -> Result<Option<OutboxRecord>, StoreError> {
        Ok(self.lock().outbox.get(event_id).cloned())
    }

    async fn mark_delivered(&self, record: &OutboxRecord) -> Result<bool, StoreError> {
        let mut s = self.lock();
        let same = s
            .outbox
            .get(record.event_id())
            .is_some_and(|r| r.written_at == record.written_at);
        if same {
            s.outbox.remove(record.event_id());
        }
        Ok(same)
    }
}

#[async_trait]
impl OrderEvents for MemoryStore {
    async fn publish(&self, event: &OrderEvent) -> Result<(), StoreError> {
        self.lock().events.push(event.clone());
        Ok(())
    }
}

#[async_trait]
impl crate::listing::OrderListing for MemoryStore {
    async fn list_orders(
        &self,
        filter: &crate::listing::OrderFilter,
        after: Option<&crate::listing::Cursor>,
        limit: usize,
    ) -> Result<crate::listing::OrderPage, StoreError> {
        use crate::listing::{Cursor, MAX_PAGE, OrderPage};
        let limit = limit.clamp(1, MAX_PAGE);
        let mut orders: Vec<Order> = self
            .lock()
            .orders
            .values()
            .filter(|o| filter.matches(o) && after.is_none_or(|c| c.precedes(o)))
            .cloned()
            .collect();
        orders.sort_by(|a, b| (b.created_at, &b.order_id).cmp(&(a.created_at, &a.order_id)));
        let more = orders.len() > limit;
        orders.truncate(limit);
        let next = more.then(|| orders.last().map(Cursor::after)).flatten();
        Ok(OrderPage { orders, next })
    }
}
