//! Ports: what the domain needs from storage and queues. Adapters live in `aws-adapters` (DynamoDB,
//! SQS) and `embedded-store` (SQLite, local queue); every adapter of a port passes the same contract
//! tests (`tests/` package, `contract` module).

use crate::catalog::{LocationId, PriceEntry, Sku, SkuId, StockLevel};
use crate::order::{LogEntry, Order, OrderId};
use crate::shipping::ShippingRules;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Infrastructure failure. Business refusals are never `StoreError`s; they are outcome variants.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("request exceeds a store limit: {0}")]
    Limit(String),
}

/// Read side of the catalog, used on the simulation hot path.
#[async_trait]
pub trait CatalogReader: Send + Sync {
    /// The SKUs that exist among `ids` (unknown ids are simply absent). Duplicate ids are allowed.
    /// Adapters must batch: a DynamoDB adapter costs at most ⌈distinct ids / 100⌉ round trips.
    async fn get_skus(&self, ids: &[SkuId]) -> Result<HashMap<SkuId, Sku>, StoreError>;

    /// [`CatalogReader::get_skus`] as a lookup of the SKUs among `ids` (unknown ids absent; ids
    /// outside `ids` may or may not answer): what the simulation reads per request. An adapter
    /// that keeps decoded SKUs in memory (the embedded store's read model) overrides it to hand
    /// out its own snapshot, instead of cloning every SKU (names, prices, product data) or even
    /// its id on every simulation.
    async fn get_skus_shared(
        &self,
        ids: &[SkuId],
    ) -> Result<Arc<dyn crate::simulation::SkuLookup>, StoreError> {
        Ok(Arc::new(self.get_skus(ids).await?))
    }

    /// The current shipping rules, or `None` if none were loaded yet.
    async fn shipping_rules(&self) -> Result<Option<ShippingRules>, StoreError>;

    /// One SKU, reading every write that completed before the call (the catalog sync compares
    /// against it to decide what to notify). Adapters whose `get_skus` may be stale (DynamoDB's
    /// eventually consistent BatchGetItem) override it with a consistent read.
    async fn get_sku(&self, id: &str) -> Result<Option<Sku>, StoreError> {
        Ok(self.get_skus(&[id.to_string()]).await?.remove(id))
    }
}

/// Write side of the catalog (ERP sync, bulk loads).
#[async_trait]
pub trait CatalogWriter: Send + Sync {
    /// Creates or replaces a SKU's data. For stock, only `on_hand` is taken from `sku`: each
    /// location's `reserved` counter already in the store is kept, so a catalog reload never frees
    /// or double-counts reservations.
    async fn upsert_sku(&self, sku: &Sku) -> Result<(), StoreError>;

    /// Sets the absolute on-hand stock of one location, keeping its reservations. Sellable stock
    /// becomes `max(0, on_hand - reserved)`. Creates the location if missing. Returns `false` if the
    /// SKU does not exist.
    async fn set_on_hand(
        &self,
        sku_id: &str,
        location: &str,
        on_hand: i64,
    ) -> Result<bool, StoreError>;

    async fn put_shipping_rules(&self, rules: &ShippingRules) -> Result<(), StoreError>;

    /// Replaces the SKU's whole price list in one single-item write, leaving every other field
    /// and the stock untouched. Returns `false` if the SKU does not exist.
    async fn set_prices(&self, sku_id: &str, prices: &[PriceEntry]) -> Result<bool, StoreError>;

    /// One location's counters and ordering marks, read consistently; `None` if the SKU does not
    /// exist. The catalog sync reads it to decide what a snapshot changes before writing it.
    async fn stock_location(
        &self,
        sku_id: &str,
        location: &str,
    ) -> Result<Option<LocationStock>, StoreError>;

    /// Sets one location's on-hand from an ERP stock snapshot, keeping its reservations (as
    /// [`CatalogWriter::set_on_hand`] does), unless the snapshot is older than what the location
    /// already reflects ([`StockMarks::refuses`]). The test is part of the write itself (a
    /// DynamoDB condition, the SQLite transaction), so concurrent snapshots end in as-of order
    /// whatever order they arrive in. An applied snapshot with an as-of becomes the location's
    /// `as_of` mark; one without is applied unconditionally and leaves the marks as they were.
    async fn apply_stock_snapshot(
        &self,
        snapshot: &StockSnapshot,
    ) -> Result<SnapshotOutcome, StoreError>;
}

/// An ERP stock count of one location: the absolute on-hand, and when it was counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockSnapshot {
    pub sku_id: SkuId,
    pub location: LocationId,
    pub on_hand: i64,
    /// When the ERP took the count; `None` for an ERP that does not say (applied unordered).
    pub as_of: Option<DateTime<Utc>>,
}

/// What a store remembers of one location's history, to refuse counts older than its stock.
/// Both are absent on locations written before they existed: any snapshot applies there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StockMarks {
    /// The as-of of the last snapshot applied here.
    pub as_of: Option<DateTime<Utc>>,
    /// When a shipment last took units out of this location's on-hand (the store's clock).
    pub shipped_at: Option<DateTime<Utc>>,
}

/// Why a snapshot was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// A snapshot taken later is already applied.
    OlderThanApplied { applied: DateTime<Utc> },
    /// A shipment was recorded at or after the count: applying it would give the shipped units
    /// back.
    NotAfterShipment { shipped_at: DateTime<Utc> },
}

impl StockMarks {
    /// Why a snapshot taken at `as_of` must not be applied here, if it must not. A count taken at
    /// the very instant of a shipment may or may not include it, so it is refused; one taken at
    /// the instant of the applied count is the same count (a redelivery) and applies.
    pub fn refuses(&self, as_of: DateTime<Utc>) -> Option<Stale> {
        if let Some(applied) = self.as_of.filter(|applied| as_of < *applied) {
            return Some(Stale::OlderThanApplied { applied });
        }
        self.shipped_at
            .filter(|shipped_at| as_of <= *shipped_at)
            .map(|shipped_at| Stale::NotAfterShipment { shipped_at })
    }
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stale::OlderThanApplied { applied } => {
                write!(f, "a count taken at {applied} is already applied")
            }
            Stale::NotAfterShipment { shipped_at } => {
                write!(f, "a shipment left this location at {shipped_at}")
            }
        }
    }
}

/// One location as [`CatalogWriter::stock_location`] reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LocationStock {
    /// `None` when the SKU has no such location yet.
    pub level: Option<StockLevel>,
    pub marks: StockMarks,
}

/// What [`CatalogWriter::apply_stock_snapshot`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotOutcome {
    /// Written. `previous` is the on-hand it replaced (`None`: the location is new).
    Applied { previous: Option<i64> },
    /// Not written: older than what the location reflects.
    Stale(Stale),
    /// Not written: the SKU is not in the store.
    UnknownSku,
}

/// Outcome of creating an order with its reservation.
// Outcomes live for one call; boxing the order would only add noise at every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum PlaceOutcome {
    /// The order and its stock holds were written together.
    Created(Order),
    /// An order with the same `(an, marketplaceOrderId)` already exists; nothing was written.
    Existing(Order),
    /// Not enough sellable stock at `location_id` for `sku_id`; nothing was written.
    OutOfStock {
        sku_id: SkuId,
        location_id: LocationId,
    },
    /// `sku_id` is not in the catalog; nothing was written.
    UnknownSku { sku_id: SkuId },
}

/// What an order write does to stock, atomically with the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockEffect {
    None,
    /// Give the held units back: `reserved -= q` (cancel, expiry).
    Release,
    /// The units left the building: `reserved -= q` and `on_hand -= q` (invoiced / shipped), and
    /// the location's [`StockMarks::shipped_at`] becomes now, so an ERP count taken before it
    /// cannot give the units back.
    Ship,
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum SaveOutcome {
    /// Written; the returned order carries the new version.
    Saved(Order),
    /// Someone else wrote first (stored version differs); nothing was written. Re-read and decide.
    Conflict,
}

/// Orders, reservations, the marketplace-id mapping and the per-order log.
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Writes `order` (status `Reserved`, version 0), its `(an, marketplaceOrderId)` mapping and a
    /// hold of each line's quantity at the line's location, all or nothing. Sellable stock never goes
    /// below zero, whatever the concurrency. Idempotent on `(an, marketplaceOrderId)`.
    async fn create_reserved(&self, order: &Order) -> Result<PlaceOutcome, StoreError>;

    async fn get(&self, order_id: &str) -> Result<Option<Order>, StoreError>;

    async fn get_by_marketplace_id(
        &self,
        an: &str,
        marketplace_order_id: &str,
    ) -> Result<Option<Order>, StoreError>;

    /// Replaces the order if its stored version is `order.version`, applying `effect` to the stock of
    /// `order.lines` in the same atomic write. The saved order has `version + 1`.
    async fn save(&self, order: &Order, effect: StockEffect) -> Result<SaveOutcome, StoreError> {
        self.save_emitting(order, effect, &[]).await
    }

    /// [`OrderStore::save`], writing an outbox record of each of `events` (keyed by its
    /// `event_id`) in the same atomic write: the change and what it owes the ERP land together or
    /// not at all ([`crate::outbox`]). A record already pending under an event's id is replaced.
    async fn save_emitting(
        &self,
        order: &Order,
        effect: StockEffect,
        events: &[OrderEvent],
    ) -> Result<SaveOutcome, StoreError>;

    /// Writes an outbox record of each of `events` whose id has none pending, without a state
    /// change: a replayed transition owes its event again if the first was never delivered (e.g.
    /// an order saved before the outbox existed). A pending record is kept as it is, so its age
    /// and the relay's delete condition stay those of the first write.
    async fn emit(&self, events: &[OrderEvent]) -> Result<(), StoreError>;

    /// Reserved orders whose `expires_at` is at or before `now`, oldest first, at most `limit`.
    async fn expired_reservations(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, StoreError>;

    /// Appends to the order's log. Entries read back in the order they were appended.
    async fn append_log(&self, order_id: &str, entry: &LogEntry) -> Result<(), StoreError>;

    async fn read_log(&self, order_id: &str) -> Result<Vec<LogEntry>, StoreError>;
}

/// Events the seller's ERP reads from its queue (shared/docs/protocol.md §Order life cycle;
/// shared/docs/messages.md, "Order events").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderEvent {
    /// `order.authorized`, `order.canceled`, `order.expired`.
    #[serde(rename = "type")]
    pub kind: OrderEventKind,
    pub version: u32,
    /// Stable per (order, kind): the ERP de-duplicates on it.
    pub event_id: String,
    pub order_id: OrderId,
    pub marketplace_order_id: String,
    pub an: String,
    pub at: DateTime<Utc>,
    pub lines: Vec<OrderEventLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderEventKind {
    #[serde(rename = "order.authorized")]
    Authorized,
    #[serde(rename = "order.canceled")]
    Canceled,
    #[serde(rename = "order.expired")]
    Expired,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderEventLine {
    pub sku_id: SkuId,
    pub quantity: i64,
    pub location_id: LocationId,
}

/// The queue the ERP reads.
#[async_trait]
pub trait OrderEvents: Send + Sync {
    async fn publish(&self, event: &OrderEvent) -> Result<(), StoreError>;
}
