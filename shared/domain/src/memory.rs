//! In-memory adapter of every port, for unit tests of the domain and the handlers. Same semantics
//! as the DynamoDB and embedded adapters (it passes the same contract tests), no persistence.

use crate::catalog::{CatalogFile, PriceEntry, Sku, SkuId};
use crate::order::{LogEntry, Order, OrderId, OrderStatus};
use crate::ports::{
    CatalogReader, CatalogWriter, OrderEvent, OrderEvents, OrderStore, PlaceOutcome, SaveOutcome,
    StockEffect, StoreError,
};
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
        s.skus.insert(sku.id.clone(), new);
        Ok(())
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

    async fn save(&self, order: &Order, effect: StockEffect) -> Result<SaveOutcome, StoreError> {
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
        let mut saved = order.clone();
        saved.version = order.version + 1;
        s.orders.insert(saved.order_id.clone(), saved.clone());
        Ok(SaveOutcome::Saved(saved))
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
