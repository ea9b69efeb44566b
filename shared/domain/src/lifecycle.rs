//! Order life cycle: placement, fulfill, cancel, expiry (CONTRACT.md §5.2-§5.4, §8).
//!
//! Each operation has two halves. A pure decision over the stored order (`decide_*`, `plan_*`),
//! tested without I/O, and an orchestration in [`Lifecycle`] that reads through the ports, writes
//! with the store's optimistic version check, re-reads and re-decides on a
//! [`SaveOutcome::Conflict`], appends to the order log and, once the state is saved, publishes the
//! ERP event. Replays of a transition publish the event again (at-least-once; the ERP
//! de-duplicates on the stable `event_id`).
//!
//! Business refusals are `Ok(outcome)`; `Err(StoreError)` is for infrastructure only.
//! Nothing here logs customer data: tracing fields are ids, statuses and counts.

use crate::catalog::{LocationId, Sku, SkuId};
use crate::clock::Clock;
use crate::duration::VtexDuration;
use crate::money::Cents;
use crate::order::{
    Address, CanceledBy, Cancellation, Customer, DeliveryWindow, LogEntry, Order, OrderId,
    OrderLine, OrderStatus, Outcome, Receipt,
};
use crate::ports::{
    CatalogReader, OrderEvent, OrderEventKind, OrderEventLine, OrderEvents, OrderStore,
    PlaceOutcome, SaveOutcome, StockEffect, StoreError,
};
use crate::shipping::{ShippingRules, SlaSource};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

#[cfg(test)]
mod tests;

/// Version of the [`OrderEvent`] schema this module publishes.
pub const EVENT_VERSION: u32 = 1;

/// Prefix of our order ids (`sellerOrderId`): `SLR-` and 20 Crockford base-32 characters.
pub const ORDER_ID_PREFIX: &str = "SLR-";

/// How many times a write that lost an optimistic-concurrency race is re-decided before giving up.
/// Each retry re-reads the order, so only a storm of writers on one order can exhaust it.
const MAX_ATTEMPTS: usize = 8;

/// Log step names, as operators read them in the order log.
pub mod steps {
    pub const PLACEMENT: &str = "placement";
    pub const FULFILL: &str = "fulfill";
    pub const CANCEL: &str = "cancel";
    pub const EXPIRY: &str = "expiry";
}

// ---------------------------------------------------------------------------------------------
// Ids
// ---------------------------------------------------------------------------------------------

/// Source of new order ids and receipts; injected so tests can make them predictable.
pub trait IdGen: Send + Sync {
    /// A new, unique, URL-safe order id.
    fn order_id(&self) -> OrderId;
    /// A new receipt (a UUID string, as VTEX's examples show).
    fn receipt(&self) -> String;
}

/// Random ids from UUID v4.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl IdGen for RandomIds {
    fn order_id(&self) -> OrderId {
        new_order_id()
    }

    fn receipt(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// `SLR-` + 20 Crockford base-32 characters taken from a UUID v4 (94 random bits): short enough to
/// read over the phone, URL-safe without encoding, and unambiguous (no I, L, O, U).
pub fn new_order_id() -> OrderId {
    let mut bits = uuid::Uuid::new_v4().as_u128();
    let mut id = String::with_capacity(ORDER_ID_PREFIX.len() + 20);
    id.push_str(ORDER_ID_PREFIX);
    for _ in 0..20 {
        id.push(char::from(CROCKFORD[(bits & 31) as usize]));
        bits >>= 5;
    }
    id
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// What to answer when the marketplace cancels an order we already authorized (paid, maybe being
/// picked). CONTRACT.md §5.4's default is to confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthorizedCancelPolicy {
    /// Release the stock and confirm synchronously.
    #[default]
    Confirm,
    /// Record the request and answer "evaluating" (empty body); the seller decides later by
    /// canceling (§6.7) or by sending the invoice, which is the refusal.
    Evaluate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleConfig {
    /// Reservation length when no line carries a `lockTTL`.
    pub default_lock_ttl: VtexDuration,
    /// Upper bound on a reservation, whatever `lockTTL` says: stock held for years is stock lost.
    pub max_lock_ttl: VtexDuration,
    pub authorized_cancel: AuthorizedCancelPolicy,
    /// Orders the sweeper reads per store query.
    pub sweep_batch_size: usize,
    /// Store queries per sweep; what is left waits for the next scheduled run.
    pub sweep_max_batches: usize,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig {
            default_lock_ttl: VtexDuration::Days(8),
            max_lock_ttl: VtexDuration::Days(30),
            authorized_cancel: AuthorizedCancelPolicy::Confirm,
            sweep_batch_size: 100,
            sweep_max_batches: 20,
        }
    }
}

/// A configuration value that cannot be used; the function refuses to start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl LifecycleConfig {
    /// Reads the settings from `lookup` (the environment, in a function's `main`), defaults for
    /// what is unset:
    /// - `DEFAULT_LOCK_TTL` (`8d`): reservation length when no line carries a `lockTTL`;
    /// - `MAX_LOCK_TTL` (`30d`): cap on any reservation;
    /// - `AUTHORIZED_CANCEL_POLICY` (`confirm` | `evaluate`): marketplace cancel of an authorized
    ///   order;
    /// - `SWEEP_BATCH_SIZE` (`100`) and `SWEEP_MAX_BATCHES` (`20`): reservation sweeper paging.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut c = LifecycleConfig::default();
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let duration = |k: &str, v: String| {
            v.trim()
                .parse::<VtexDuration>()
                .map_err(|e| ConfigError(format!("{k}: {e}")))
        };
        let count = |k: &str, v: String| match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(ConfigError(format!(
                "{k} must be a positive integer, got {v:?}"
            ))),
        };
        if let Some(v) = get("DEFAULT_LOCK_TTL") {
            c.default_lock_ttl = duration("DEFAULT_LOCK_TTL", v)?;
        }
        if let Some(v) = get("MAX_LOCK_TTL") {
            c.max_lock_ttl = duration("MAX_LOCK_TTL", v)?;
        }
        if let Some(v) = get("AUTHORIZED_CANCEL_POLICY") {
            c.authorized_cancel = match v.trim().to_ascii_lowercase().as_str() {
                "confirm" => AuthorizedCancelPolicy::Confirm,
                "evaluate" => AuthorizedCancelPolicy::Evaluate,
                _ => {
                    return Err(ConfigError(format!(
                        "AUTHORIZED_CANCEL_POLICY must be confirm or evaluate, got {v:?}"
                    )));
                }
            };
        }
        if let Some(v) = get("SWEEP_BATCH_SIZE") {
            c.sweep_batch_size = count("SWEEP_BATCH_SIZE", v)?;
        }
        if let Some(v) = get("SWEEP_MAX_BATCHES") {
            c.sweep_max_batches = count("SWEEP_MAX_BATCHES", v)?;
        }
        Ok(c)
    }
}

// ---------------------------------------------------------------------------------------------
// Placement
// ---------------------------------------------------------------------------------------------

/// One marketplace order to reserve, parsed from the placement body (CONTRACT.md §5.2).
#[derive(Debug, Clone, PartialEq)]
pub struct PlacementRequest {
    /// Marketplace account (`an`), `""` when the endpoint was registered without it.
    pub an: String,
    pub sc: Option<String>,
    pub marketplace_order_id: String,
    pub marketplace_services_endpoint: Option<String>,
    pub marketplace_payment_value: Cents,
    /// `shippingData.updateStatus == "outdated"`: the marketplace says the order cannot be placed.
    pub shipping_outdated: bool,
    /// One per placement item, in the order of `items`.
    pub lines: Vec<PlacementLine>,
    pub address: Option<Address>,
    pub customer: Option<Customer>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlacementLine {
    pub sku_id: SkuId,
    pub quantity: i64,
    pub unit_price: Cents,
    /// `logisticsInfo[].price` of this item.
    pub freight: Cents,
    pub selected_sla: Option<String>,
    pub lock_ttl: Option<VtexDuration>,
    pub shipping_estimate: Option<VtexDuration>,
    pub delivery_window: Option<DeliveryWindow>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlacementDecision {
    /// The order holds its stock. `replay` is true when it already existed (a retry): nothing new
    /// was reserved.
    Placed {
        order: Box<Order>,
        replay: bool,
    },
    Refused(PlacementRefusal),
}

/// Why an order could not be placed; nothing was reserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacementRefusal {
    /// `shippingData.updateStatus` is `outdated`.
    ShippingDataOutdated,
    /// The request breaks a domain rule (no items, quantity below one, negative amount).
    Invalid {
        reason: String,
    },
    UnknownSku {
        sku_id: SkuId,
    },
    OutOfStock {
        sku_id: SkuId,
        location_id: LocationId,
    },
    /// The line's SLA is unknown and no warehouse could stand in for it.
    NoStockLocation {
        sku_id: SkuId,
    },
}

impl fmt::Display for PlacementRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlacementRefusal::ShippingDataOutdated => {
                f.write_str("shippingData.updateStatus is outdated; the order cannot be placed")
            }
            PlacementRefusal::Invalid { reason } => write!(f, "invalid order: {reason}"),
            PlacementRefusal::UnknownSku { sku_id } => write!(f, "unknown SKU {sku_id:?}"),
            PlacementRefusal::OutOfStock {
                sku_id,
                location_id,
            } => write!(
                f,
                "not enough stock of SKU {sku_id:?} at location {location_id:?}"
            ),
            PlacementRefusal::NoStockLocation { sku_id } => write!(
                f,
                "no stock location for SKU {sku_id:?}: the selected SLA is unknown and no warehouse is configured"
            ),
        }
    }
}

/// Domain rules a placement must meet before anything is read or reserved.
pub fn validate_placement(req: &PlacementRequest) -> Result<(), PlacementRefusal> {
    let invalid = |reason: String| Err(PlacementRefusal::Invalid { reason });
    if req.marketplace_order_id.trim().is_empty() {
        return invalid("marketplaceOrderId is empty".into());
    }
    if req.lines.is_empty() {
        return invalid("the order has no items".into());
    }
    if req.marketplace_payment_value.is_negative() {
        return invalid("marketplacePaymentValue is negative".into());
    }
    for (i, line) in req.lines.iter().enumerate() {
        if line.sku_id.trim().is_empty() {
            return invalid(format!("items[{i}].id is empty"));
        }
        if line.quantity < 1 {
            return invalid(format!("items[{i}].quantity must be at least 1"));
        }
        if line.unit_price.is_negative() {
            return invalid(format!("items[{i}].price is negative"));
        }
        if line.freight.is_negative() {
            return invalid(format!("logisticsInfo for item {i} has a negative price"));
        }
    }
    Ok(())
}

/// Where a line's stock is held, and how we got there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StockSource {
    /// The selected SLA is one of our carriers: its warehouse.
    Carrier(LocationId),
    /// The selected SLA is one of our pickup points: its own shelf.
    PickupPoint(LocationId),
    /// The SLA is null or unknown (rules changed since the simulation, or a marketplace that does
    /// not echo it). Candidates, in order: the warehouses of the carriers offered on `sc` (what the
    /// simulation could have quoted), else every warehouse of the rules, else (no rules) the SKU's
    /// own locations. The first candidate with enough sellable stock wins, else the fullest one, so
    /// the refusal names it. Pickup shelves are never a fallback: the shopper did not choose to
    /// collect.
    Fallback(LocationId),
}

impl StockSource {
    pub fn location(&self) -> &LocationId {
        match self {
            StockSource::Carrier(l) | StockSource::PickupPoint(l) | StockSource::Fallback(l) => l,
        }
    }
}

/// Picks the stock location of one line (see [`StockSource`]). `taken` counts units earlier lines
/// of the same order already claim at `(sku, location)`, so two lines of one SKU are not both
/// sent to a shelf that holds only one of them. `None`: nowhere to take it from.
pub fn resolve_stock_source(
    rules: Option<&ShippingRules>,
    sc: Option<&str>,
    sku: &Sku,
    selected_sla: Option<&str>,
    quantity: i64,
    taken: &HashMap<(SkuId, LocationId), i64>,
) -> Option<StockSource> {
    if let (Some(rules), Some(sla)) = (rules, selected_sla) {
        match rules.sla_source(sla) {
            Some(SlaSource::Carrier(c)) => {
                return Some(StockSource::Carrier(c.warehouse_id.clone()));
            }
            Some(SlaSource::Pickup(p)) => return Some(StockSource::PickupPoint(p.id.clone())),
            None => {}
        }
    }
    let candidates: Vec<LocationId> = match rules {
        Some(r) => {
            let delivery = r.delivery_locations(sc);
            if delivery.is_empty() {
                r.warehouses.iter().map(|w| w.id.clone()).collect()
            } else {
                delivery.into_iter().map(str::to_string).collect()
            }
        }
        None => Vec::new(),
    };
    let candidates = if candidates.is_empty() {
        let pickup_ids: HashSet<&str> = rules
            .map(|r| r.pickup_points.iter().map(|p| p.id.as_str()).collect())
            .unwrap_or_default();
        sku.stock
            .keys()
            .filter(|l| !pickup_ids.contains(l.as_str()))
            .cloned()
            .collect()
    } else {
        candidates
    };
    let free = |loc: &LocationId| {
        sku.sellable_at(loc)
            - taken
                .get(&(sku.id.clone(), loc.clone()))
                .copied()
                .unwrap_or(0)
    };
    let chosen = candidates
        .iter()
        .find(|l| free(l) >= quantity)
        .or_else(|| {
            // `rev` so that, among equally full shelves, the first one in candidate order wins.
            candidates.iter().rev().max_by_key(|l| free(l))
        })?;
    Some(StockSource::Fallback(chosen.clone()))
}

/// When an order placed at `now` stops holding stock: `now` plus the largest `lockTTL` of its
/// lines (the configured default when none has one), capped at `max_lock_ttl`.
pub fn reservation_expiry(
    lines: &[PlacementLine],
    now: DateTime<Utc>,
    config: &LifecycleConfig,
) -> DateTime<Utc> {
    let cap = config.max_lock_ttl;
    let bounded = |d: VtexDuration| {
        if d.approx_minutes() > cap.approx_minutes() {
            cap
        } else {
            d
        }
    };
    let end = lines
        .iter()
        .filter_map(|l| l.lock_ttl)
        .map(|d| bounded(d).after(now))
        .max()
        .unwrap_or_else(|| bounded(config.default_lock_ttl).after(now));
    end.min(cap.after(now))
}

/// The order a placement creates, given where each line's stock comes from.
pub fn plan_order(
    req: &PlacementRequest,
    sources: &[StockSource],
    order_id: OrderId,
    now: DateTime<Utc>,
    config: &LifecycleConfig,
) -> Order {
    let lines = req
        .lines
        .iter()
        .zip(sources)
        .enumerate()
        .map(|(index, (l, src))| OrderLine {
            index,
            sku_id: l.sku_id.clone(),
            quantity: l.quantity,
            unit_price: l.unit_price,
            freight: l.freight,
            selected_sla: l.selected_sla.clone(),
            location_id: src.location().clone(),
            lock_ttl: l.lock_ttl,
            shipping_estimate: l.shipping_estimate,
            delivery_window: l.delivery_window.clone(),
        })
        .collect();
    Order {
        order_id,
        an: req.an.clone(),
        sc: req.sc.clone(),
        marketplace_order_id: req.marketplace_order_id.clone(),
        marketplace_order_group: None,
        marketplace_services_endpoint: req.marketplace_services_endpoint.clone(),
        marketplace_payment_value: req.marketplace_payment_value,
        status: OrderStatus::Reserved,
        lines,
        address: req.address.clone(),
        customer: req.customer.clone(),
        created_at: now,
        expires_at: reservation_expiry(&req.lines, now, config),
        authorized: None,
        canceled: None,
        pending_cancellation: None,
        version: 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Fulfill
// ---------------------------------------------------------------------------------------------

/// `POST /pvt/orders/{sellerOrderId}/fulfill` (CONTRACT.md §5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulfillRequest {
    /// Path `sellerOrderId`: our order id.
    pub order_id: String,
    pub marketplace_order_id: String,
    pub marketplace_order_group: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FulfillOutcome {
    /// The order is authorized; `receipt` is the same on every repeat (`replay`).
    Authorized {
        order: Box<Order>,
        receipt: Receipt,
        replay: bool,
    },
    NotFound,
    /// The body's `marketplaceOrderId` is not the one stored with this order.
    MarketplaceOrderMismatch,
    /// The order is canceled or expired.
    NotAuthorizable {
        status: OrderStatus,
    },
}

/// What a fulfill does to a stored order.
#[derive(Debug, Clone, PartialEq)]
pub enum FulfillDecision {
    /// Save this order (status `AUTHORIZED`, no stock effect: the reservation becomes the hold).
    Authorize(Box<Order>),
    /// Already authorized (or further along): answer with the stored receipt.
    Replay(Receipt),
    Mismatch,
    NotAuthorizable(OrderStatus),
    /// The stored order contradicts itself (e.g. authorized without a receipt).
    Inconsistent(String),
}

/// A reservation past its `expires_at` that the sweeper has not released yet still holds its
/// stock, so a late fulfill is accepted: the payment was approved and the goods are there.
pub fn decide_fulfill(
    order: &Order,
    req: &FulfillRequest,
    now: DateTime<Utc>,
    new_receipt: impl FnOnce() -> String,
) -> FulfillDecision {
    if req.marketplace_order_id != order.marketplace_order_id {
        return FulfillDecision::Mismatch;
    }
    match order.status {
        OrderStatus::Reserved => {
            let mut next = order.clone();
            next.status = OrderStatus::Authorized;
            next.authorized = Some(Receipt {
                date: now,
                receipt: new_receipt(),
            });
            if req.marketplace_order_group.is_some() {
                next.marketplace_order_group = req.marketplace_order_group.clone();
            }
            FulfillDecision::Authorize(Box::new(next))
        }
        OrderStatus::Canceled | OrderStatus::Expired => {
            FulfillDecision::NotAuthorizable(order.status)
        }
        OrderStatus::Authorized
        | OrderStatus::PartiallyInvoiced
        | OrderStatus::Invoiced
        | OrderStatus::Shipped
        | OrderStatus::Delivered
        | OrderStatus::Returned => match &order.authorized {
            Some(r) => FulfillDecision::Replay(r.clone()),
            None => FulfillDecision::Inconsistent(format!(
                "order {} is {} but has no authorization receipt",
                order.order_id, order.status
            )),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Cancel
// ---------------------------------------------------------------------------------------------

/// `POST /pvt/orders/{orderId}/cancel` (CONTRACT.md §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelRequest {
    /// The path id: our order id, or (C25) a marketplace order id.
    pub path_id: String,
    /// Marketplace account (`an`) for the marketplace-id lookup; `""` when absent.
    pub an: String,
    pub marketplace_order_id: Option<String>,
    pub marketplace_order_group: Option<String>,
    /// `cancellationRequestId`, the marketplace's idempotency key.
    pub request_id: Option<String>,
    /// Free text from the marketplace. May be typed by the shopper: it is stored and sent to the
    /// ERP, never logged.
    pub reason: Option<String>,
    pub requested_by_user: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CancelOutcome {
    /// Canceled (or already canceled / expired): answer with this confirmation every time.
    Confirmed {
        order: Order,
        cancellation: Cancellation,
        replay: bool,
    },
    /// Recorded; the seller decides later. Answer with an empty body.
    Evaluating {
        order: Order,
    },
    /// Invoiced or shipped: the invoice is the refusal. Answer with an empty body.
    Refused {
        order: Order,
    },
    NotFound,
    /// The order found by our id carries another `marketplaceOrderId` than the body's.
    MarketplaceOrderMismatch,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CancelDecision {
    /// Save `order` with `effect`; it carries the new cancellation.
    Confirm {
        order: Order,
        effect: StockEffect,
    },
    /// Already canceled or expired: the stored cancellation.
    Replay(Cancellation),
    /// Answer "evaluating"; save the order first when it is `Some` (request not yet recorded).
    Evaluate(Option<Order>),
    /// Answer "refused"; save the order first when it is `Some` (request not yet recorded).
    Refuse(Option<Order>),
    Mismatch,
    Inconsistent(String),
}

/// CONTRACT.md §5.4 default policy: confirm while nothing has been invoiced, refuse once it has.
/// `RETURNED` (a full return invoice came back) is confirmed too, as §8 allows, without touching
/// stock. An expired reservation already released its stock and recorded an expiry
/// "cancellation", which is what a later cancel gets back.
pub fn decide_cancel(
    order: &Order,
    req: &CancelRequest,
    now: DateTime<Utc>,
    policy: AuthorizedCancelPolicy,
    new_receipt: impl FnOnce() -> String,
) -> CancelDecision {
    if let Some(m) = &req.marketplace_order_id
        && *m != order.marketplace_order_id
    {
        return CancelDecision::Mismatch;
    }
    let cancellation = |by: CanceledBy| Cancellation {
        date: now,
        receipt: new_receipt(),
        request_id: req.request_id.clone(),
        by,
        reason: req.reason.clone(),
    };
    let confirm = |order: &Order, status: OrderStatus, effect: StockEffect| {
        let mut next = order.clone();
        next.status = status;
        next.canceled = Some(cancellation(CanceledBy::Marketplace));
        next.pending_cancellation = None;
        if next.marketplace_order_group.is_none() {
            next.marketplace_order_group = req.marketplace_order_group.clone();
        }
        CancelDecision::Confirm {
            order: next,
            effect,
        }
    };
    let record = |order: &Order| -> Option<Order> {
        let key = cancel_request_key(req);
        (order.pending_cancellation.as_deref() != Some(key.as_str())).then(|| {
            let mut next = order.clone();
            next.pending_cancellation = Some(key);
            next
        })
    };
    match order.status {
        OrderStatus::Reserved => confirm(order, OrderStatus::Canceled, StockEffect::Release),
        OrderStatus::Authorized => match policy {
            AuthorizedCancelPolicy::Confirm => {
                confirm(order, OrderStatus::Canceled, StockEffect::Release)
            }
            AuthorizedCancelPolicy::Evaluate => CancelDecision::Evaluate(record(order)),
        },
        OrderStatus::Returned => confirm(order, OrderStatus::Canceled, StockEffect::None),
        OrderStatus::PartiallyInvoiced
        | OrderStatus::Invoiced
        | OrderStatus::Shipped
        | OrderStatus::Delivered => CancelDecision::Refuse(record(order)),
        OrderStatus::Canceled => match &order.canceled {
            Some(c) => CancelDecision::Replay(c.clone()),
            None => CancelDecision::Inconsistent(format!(
                "order {} is CANCELED without a cancellation record",
                order.order_id
            )),
        },
        // Data written before expiry recorded its cancellation: record one now, stock untouched.
        OrderStatus::Expired => match &order.canceled {
            Some(c) => CancelDecision::Replay(c.clone()),
            None => confirm(order, OrderStatus::Expired, StockEffect::None),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Expiry
// ---------------------------------------------------------------------------------------------

/// Reason recorded (and sent to the ERP) when a reservation lapses.
pub const EXPIRY_REASON: &str = "lockTTL passed without fulfill or cancel";

/// The expired order to save (with [`StockEffect::Release`]), or `None` when the order is no
/// longer a lapsed reservation (authorized or canceled meanwhile, or not yet due).
pub fn decide_expiry(
    order: &Order,
    now: DateTime<Utc>,
    new_receipt: impl FnOnce() -> String,
) -> Option<Order> {
    if order.status != OrderStatus::Reserved || order.expires_at > now {
        return None;
    }
    let mut next = order.clone();
    next.status = OrderStatus::Expired;
    next.canceled = Some(Cancellation {
        date: now,
        receipt: new_receipt(),
        request_id: None,
        by: CanceledBy::Expiry,
        reason: Some(EXPIRY_REASON.to_string()),
    });
    Some(next)
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    /// Lapsed reservations read from the store.
    pub examined: usize,
    /// Orders moved to `EXPIRED` with their stock released.
    pub expired: Vec<OrderId>,
    /// Orders that changed under us (authorized or canceled first): left alone.
    pub skipped: usize,
    /// Orders whose expiry failed on infrastructure; the next run retries those still reserved.
    pub failed: Vec<OrderId>,
}

// ---------------------------------------------------------------------------------------------
// ERP events
// ---------------------------------------------------------------------------------------------

pub fn event_kind_name(kind: OrderEventKind) -> &'static str {
    match kind {
        OrderEventKind::Authorized => "order.authorized",
        OrderEventKind::Canceled => "order.canceled",
        OrderEventKind::Expired => "order.expired",
    }
}

/// The ERP event for a transition of `order` to `kind`. Built only from stored state, so a replay
/// produces the identical event (same `event_id`, same `at`).
pub fn order_event(order: &Order, kind: OrderEventKind) -> OrderEvent {
    let (at, reason) = match kind {
        OrderEventKind::Authorized => (order.authorized.as_ref().map(|r| r.date), None),
        OrderEventKind::Canceled | OrderEventKind::Expired => (
            order.canceled.as_ref().map(|c| c.date),
            order.canceled.as_ref().and_then(|c| c.reason.clone()),
        ),
    };
    OrderEvent {
        kind,
        version: EVENT_VERSION,
        event_id: format!("{}:{}", order.order_id, event_kind_name(kind)),
        order_id: order.order_id.clone(),
        marketplace_order_id: order.marketplace_order_id.clone(),
        an: order.an.clone(),
        at: at.unwrap_or(order.created_at),
        lines: order
            .lines
            .iter()
            .map(|l| OrderEventLine {
                sku_id: l.sku_id.clone(),
                quantity: l.quantity,
                location_id: l.location_id.clone(),
            })
            .collect(),
        reason,
    }
}

// ---------------------------------------------------------------------------------------------
// Orchestration over the ports
// ---------------------------------------------------------------------------------------------

/// The order life cycle over its ports. Cheap to clone (every port is an `Arc`).
#[derive(Clone)]
pub struct Lifecycle {
    pub store: Arc<dyn OrderStore>,
    pub catalog: Arc<dyn CatalogReader>,
    pub events: Arc<dyn OrderEvents>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
    pub config: LifecycleConfig,
}

impl fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lifecycle")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Lifecycle {
    /// A life cycle with random ids and the default configuration.
    pub fn new(
        store: Arc<dyn OrderStore>,
        catalog: Arc<dyn CatalogReader>,
        events: Arc<dyn OrderEvents>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Lifecycle {
            store,
            catalog,
            events,
            clock,
            ids: Arc::new(RandomIds),
            config: LifecycleConfig::default(),
        }
    }

    pub fn with_config(mut self, config: LifecycleConfig) -> Self {
        self.config = config;
        self
    }

    pub fn with_ids(mut self, ids: Arc<dyn IdGen>) -> Self {
        self.ids = ids;
        self
    }

    async fn log(
        &self,
        order_id: &str,
        step: &str,
        outcome: Outcome,
        detail: impl Into<String>,
    ) -> Result<(), StoreError> {
        let entry = LogEntry::new(self.clock.now(), step, outcome, detail);
        self.store.append_log(order_id, &entry).await
    }

    /// Creates the reservation for one marketplace order, or returns the one a previous attempt
    /// created (idempotent on `(an, marketplaceOrderId)`, also under concurrent retries: the store
    /// decides which attempt wins and the others get its order).
    pub async fn place(&self, req: PlacementRequest) -> Result<PlacementDecision, StoreError> {
        if let Err(refusal) = validate_placement(&req) {
            return Ok(PlacementDecision::Refused(refusal));
        }
        if req.shipping_outdated {
            return Ok(PlacementDecision::Refused(
                PlacementRefusal::ShippingDataOutdated,
            ));
        }
        // A retry must answer with the first order even if its reservation took the last unit.
        if let Some(existing) = self
            .store
            .get_by_marketplace_id(&req.an, &req.marketplace_order_id)
            .await?
        {
            return self.placement_replay(existing).await;
        }

        let rules = self.catalog.shipping_rules().await?;
        let sku_ids: Vec<SkuId> = req.lines.iter().map(|l| l.sku_id.clone()).collect();
        let skus = self.catalog.get_skus(&sku_ids).await?;
        let mut taken: HashMap<(SkuId, LocationId), i64> = HashMap::new();
        let mut sources = Vec::with_capacity(req.lines.len());
        for line in &req.lines {
            let Some(sku) = skus.get(&line.sku_id) else {
                return Ok(PlacementDecision::Refused(PlacementRefusal::UnknownSku {
                    sku_id: line.sku_id.clone(),
                }));
            };
            let Some(source) = resolve_stock_source(
                rules.as_ref(),
                req.sc.as_deref(),
                sku,
                line.selected_sla.as_deref(),
                line.quantity,
                &taken,
            ) else {
                return Ok(PlacementDecision::Refused(
                    PlacementRefusal::NoStockLocation {
                        sku_id: line.sku_id.clone(),
                    },
                ));
            };
            *taken
                .entry((line.sku_id.clone(), source.location().clone()))
                .or_default() += line.quantity;
            sources.push(source);
        }

        let now = self.clock.now();
        let order = plan_order(&req, &sources, self.ids.order_id(), now, &self.config);
        match self.store.create_reserved(&order).await? {
            PlaceOutcome::Created(order) => {
                let units: i64 = order.lines.iter().map(|l| l.quantity).sum();
                self.log(
                    &order.order_id,
                    steps::PLACEMENT,
                    Outcome::Success,
                    format!(
                        "reserved {units} unit(s) in {} line(s) until {}",
                        order.lines.len(),
                        order.expires_at.to_rfc3339()
                    ),
                )
                .await?;
                for (line, source) in order.lines.iter().zip(&sources) {
                    if let StockSource::Fallback(loc) = source {
                        self.log(
                            &order.order_id,
                            steps::PLACEMENT,
                            Outcome::Alert,
                            format!(
                                "line {}: selectedSla {:?} is not a known carrier or pickup point; stock taken from {loc:?}",
                                line.index, line.selected_sla
                            ),
                        )
                        .await?;
                    }
                }
                tracing::info!(
                    order_id = %order.order_id,
                    marketplace_order_id = %order.marketplace_order_id,
                    lines = order.lines.len(),
                    units,
                    "order reserved"
                );
                Ok(PlacementDecision::Placed {
                    order: Box::new(order),
                    replay: false,
                })
            }
            PlaceOutcome::Existing(existing) => self.placement_replay(existing).await,
            PlaceOutcome::OutOfStock {
                sku_id,
                location_id,
            } => {
                tracing::info!(
                    marketplace_order_id = %req.marketplace_order_id,
                    sku_id = %sku_id,
                    location_id = %location_id,
                    "placement refused: out of stock"
                );
                Ok(PlacementDecision::Refused(PlacementRefusal::OutOfStock {
                    sku_id,
                    location_id,
                }))
            }
            PlaceOutcome::UnknownSku { sku_id } => {
                Ok(PlacementDecision::Refused(PlacementRefusal::UnknownSku {
                    sku_id,
                }))
            }
        }
    }

    async fn placement_replay(&self, order: Order) -> Result<PlacementDecision, StoreError> {
        self.log(
            &order.order_id,
            steps::PLACEMENT,
            Outcome::Success,
            format!(
                "placement retry answered with the existing order (status {})",
                order.status
            ),
        )
        .await?;
        tracing::info!(
            order_id = %order.order_id,
            marketplace_order_id = %order.marketplace_order_id,
            status = %order.status,
            "placement replay"
        );
        Ok(PlacementDecision::Placed {
            order: Box::new(order),
            replay: true,
        })
    }

    /// Turns a reservation into an authorized order and tells the ERP (`order.authorized`).
    pub async fn fulfill(&self, req: FulfillRequest) -> Result<FulfillOutcome, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let Some(order) = self.store.get(&req.order_id).await? else {
                tracing::info!(order_id = %req.order_id, "fulfill: unknown order");
                return Ok(FulfillOutcome::NotFound);
            };
            let now = self.clock.now();
            match decide_fulfill(&order, &req, now, || self.ids.receipt()) {
                FulfillDecision::Authorize(next) => {
                    match self.store.save(&next, StockEffect::None).await? {
                        SaveOutcome::Conflict => continue,
                        SaveOutcome::Saved(saved) => {
                            let receipt = receipt_of(&saved)?;
                            self.log(
                                &saved.order_id,
                                steps::FULFILL,
                                Outcome::Success,
                                format!("authorized; receipt {}", receipt.receipt),
                            )
                            .await?;
                            self.publish(&saved, OrderEventKind::Authorized).await?;
                            tracing::info!(order_id = %saved.order_id, status = %saved.status, "order authorized");
                            return Ok(FulfillOutcome::Authorized {
                                order: Box::new(saved),
                                receipt,
                                replay: false,
                            });
                        }
                    }
                }
                FulfillDecision::Replay(receipt) => {
                    self.log(
                        &order.order_id,
                        steps::FULFILL,
                        Outcome::Success,
                        format!("fulfill retry answered with receipt {}", receipt.receipt),
                    )
                    .await?;
                    self.publish(&order, OrderEventKind::Authorized).await?;
                    return Ok(FulfillOutcome::Authorized {
                        order: Box::new(order),
                        receipt,
                        replay: true,
                    });
                }
                FulfillDecision::Mismatch => {
                    self.log(
                        &order.order_id,
                        steps::FULFILL,
                        Outcome::Error,
                        "refused: the request's marketplaceOrderId does not match this order",
                    )
                    .await?;
                    tracing::info!(order_id = %order.order_id, "fulfill refused: marketplaceOrderId mismatch");
                    return Ok(FulfillOutcome::MarketplaceOrderMismatch);
                }
                FulfillDecision::NotAuthorizable(status) => {
                    self.log(
                        &order.order_id,
                        steps::FULFILL,
                        Outcome::Error,
                        format!("refused: the order is {status}"),
                    )
                    .await?;
                    tracing::info!(order_id = %order.order_id, status = %status, "fulfill refused");
                    return Ok(FulfillOutcome::NotAuthorizable { status });
                }
                FulfillDecision::Inconsistent(why) => return Err(StoreError::Corrupt(why)),
            }
        }
        Err(too_contended(&req.order_id))
    }

    /// Finds the order a cancel is about: our id first, then the marketplace id (CONTRACT.md §10
    /// C25), from the body or, failing that, the path.
    async fn find_for_cancel(&self, req: &CancelRequest) -> Result<Option<Order>, StoreError> {
        if let Some(o) = self.store.get(&req.path_id).await? {
            return Ok(Some(o));
        }
        let mut tried = HashSet::new();
        for id in req
            .marketplace_order_id
            .iter()
            .chain(std::iter::once(&req.path_id))
        {
            if tried.insert(id.as_str())
                && let Some(o) = self.store.get_by_marketplace_id(&req.an, id).await?
            {
                return Ok(Some(o));
            }
        }
        Ok(None)
    }

    /// A marketplace cancellation: confirm, evaluate or refuse (CONTRACT.md §5.4).
    pub async fn cancel(&self, req: CancelRequest) -> Result<CancelOutcome, StoreError> {
        let request_key = cancel_request_key(&req);
        for _ in 0..MAX_ATTEMPTS {
            let Some(order) = self.find_for_cancel(&req).await? else {
                tracing::info!(path_id = %req.path_id, "cancel: unknown order");
                return Ok(CancelOutcome::NotFound);
            };
            let now = self.clock.now();
            let decision = decide_cancel(&order, &req, now, self.config.authorized_cancel, || {
                self.ids.receipt()
            });
            let evaluating = matches!(decision, CancelDecision::Evaluate(_));
            match decision {
                CancelDecision::Confirm {
                    order: next,
                    effect,
                } => {
                    let from = order.status;
                    match self.store.save(&next, effect).await? {
                        SaveOutcome::Conflict => continue,
                        SaveOutcome::Saved(saved) => {
                            let cancellation = saved.canceled.clone().ok_or_else(|| {
                                StoreError::Corrupt(format!(
                                    "order {} saved without its cancellation",
                                    saved.order_id
                                ))
                            })?;
                            self.log(
                                &saved.order_id,
                                steps::CANCEL,
                                Outcome::Success,
                                format!(
                                    "marketplace cancellation {request_key} confirmed from {from}; stock {}; receipt {}",
                                    match effect {
                                        StockEffect::Release => "released",
                                        _ => "unchanged",
                                    },
                                    cancellation.receipt
                                ),
                            )
                            .await?;
                            if saved.status == OrderStatus::Canceled {
                                self.publish(&saved, OrderEventKind::Canceled).await?;
                            }
                            tracing::info!(order_id = %saved.order_id, from = %from, status = %saved.status, "order canceled");
                            return Ok(CancelOutcome::Confirmed {
                                order: saved,
                                cancellation,
                                replay: false,
                            });
                        }
                    }
                }
                CancelDecision::Replay(cancellation) => {
                    self.log(
                        &order.order_id,
                        steps::CANCEL,
                        Outcome::Success,
                        format!(
                            "marketplace cancellation {request_key} answered with the existing confirmation (order {})",
                            order.status
                        ),
                    )
                    .await?;
                    if order.status == OrderStatus::Canceled {
                        self.publish(&order, OrderEventKind::Canceled).await?;
                    }
                    return Ok(CancelOutcome::Confirmed {
                        order,
                        cancellation,
                        replay: true,
                    });
                }
                CancelDecision::Evaluate(record) | CancelDecision::Refuse(record) => {
                    let order = match record {
                        None => order,
                        Some(next) => match self.store.save(&next, StockEffect::None).await? {
                            SaveOutcome::Conflict => continue,
                            SaveOutcome::Saved(saved) => saved,
                        },
                    };
                    return self
                        .cancel_not_confirmed(order, evaluating, &request_key)
                        .await;
                }
                CancelDecision::Mismatch => {
                    self.log(
                        &order.order_id,
                        steps::CANCEL,
                        Outcome::Error,
                        format!(
                            "cancellation {request_key} refused: the request's marketplaceOrderId does not match this order"
                        ),
                    )
                    .await?;
                    tracing::info!(order_id = %order.order_id, "cancel refused: marketplaceOrderId mismatch");
                    return Ok(CancelOutcome::MarketplaceOrderMismatch);
                }
                CancelDecision::Inconsistent(why) => return Err(StoreError::Corrupt(why)),
            }
        }
        Err(too_contended(&req.path_id))
    }

    async fn cancel_not_confirmed(
        &self,
        order: Order,
        evaluating: bool,
        request_key: &str,
    ) -> Result<CancelOutcome, StoreError> {
        if evaluating {
            self.log(
                &order.order_id,
                steps::CANCEL,
                Outcome::Pending,
                format!(
                    "marketplace cancellation {request_key} recorded for evaluation (order {})",
                    order.status
                ),
            )
            .await?;
            tracing::info!(order_id = %order.order_id, status = %order.status, "cancel evaluating");
            Ok(CancelOutcome::Evaluating { order })
        } else {
            self.log(
                &order.order_id,
                steps::CANCEL,
                Outcome::Alert,
                format!(
                    "marketplace cancellation {request_key} refused: the order is {}; the invoice is the refusal",
                    order.status
                ),
            )
            .await?;
            tracing::info!(order_id = %order.order_id, status = %order.status, "cancel refused");
            Ok(CancelOutcome::Refused { order })
        }
    }

    /// Releases every reservation whose `lockTTL` passed without fulfill or cancel.
    pub async fn sweep(&self) -> Result<SweepReport, StoreError> {
        let now = self.clock.now();
        let batch_size = self.config.sweep_batch_size.max(1);
        let mut report = SweepReport::default();
        let mut seen: HashSet<OrderId> = HashSet::new();
        for _ in 0..self.config.sweep_max_batches.max(1) {
            let batch = self.store.expired_reservations(now, batch_size).await?;
            let full = batch.len() >= batch_size;
            let fresh: Vec<Order> = batch
                .into_iter()
                .filter(|o| seen.insert(o.order_id.clone()))
                .collect();
            if fresh.is_empty() {
                break;
            }
            for order in fresh {
                report.examined += 1;
                let id = order.order_id.clone();
                match self.expire_one(order, now).await {
                    Ok(true) => report.expired.push(id),
                    Ok(false) => report.skipped += 1,
                    Err(e) => {
                        tracing::error!(order_id = %id, error = %e, "expiry failed");
                        report.failed.push(id);
                    }
                }
            }
            if !full {
                break;
            }
        }
        tracing::info!(
            examined = report.examined,
            expired = report.expired.len(),
            skipped = report.skipped,
            failed = report.failed.len(),
            "reservation sweep done"
        );
        Ok(report)
    }

    /// `Ok(true)`: expired now. `Ok(false)`: no longer a lapsed reservation.
    async fn expire_one(&self, mut order: Order, now: DateTime<Utc>) -> Result<bool, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let Some(next) = decide_expiry(&order, now, || self.ids.receipt()) else {
                return Ok(false);
            };
            match self.store.save(&next, StockEffect::Release).await? {
                SaveOutcome::Saved(saved) => {
                    self.log(
                        &saved.order_id,
                        steps::EXPIRY,
                        Outcome::Success,
                        format!(
                            "reservation expired (was due {}); stock released",
                            saved.expires_at.to_rfc3339()
                        ),
                    )
                    .await?;
                    // The order is no longer in `expired_reservations`, so a failed publish cannot be
                    // retried by the next sweep: leave a trace an operator can act on.
                    if let Err(e) = self.publish(&saved, OrderEventKind::Expired).await {
                        self.log(
                            &saved.order_id,
                            steps::EXPIRY,
                            Outcome::Error,
                            "order.expired event could not be published; republish it",
                        )
                        .await?;
                        return Err(e);
                    }
                    tracing::info!(order_id = %saved.order_id, "reservation expired");
                    return Ok(true);
                }
                SaveOutcome::Conflict => match self.store.get(&order.order_id).await? {
                    Some(fresh) => order = fresh,
                    None => return Ok(false),
                },
            }
        }
        Err(too_contended(&order.order_id))
    }

    async fn publish(&self, order: &Order, kind: OrderEventKind) -> Result<(), StoreError> {
        let event = order_event(order, kind);
        self.events.publish(&event).await.inspect_err(|e| {
            tracing::error!(order_id = %order.order_id, kind = event_kind_name(kind), error = %e, "event publish failed");
        })
    }
}

/// The cancellation's idempotency key as recorded and logged.
fn cancel_request_key(req: &CancelRequest) -> String {
    req.request_id
        .clone()
        .unwrap_or_else(|| "(no cancellationRequestId)".to_string())
}

fn receipt_of(order: &Order) -> Result<Receipt, StoreError> {
    order.authorized.clone().ok_or_else(|| {
        StoreError::Corrupt(format!(
            "order {} saved without its authorization",
            order.order_id
        ))
    })
}

fn too_contended(order_id: &str) -> StoreError {
    StoreError::Unavailable(format!(
        "order {order_id} kept changing during {MAX_ATTEMPTS} attempts; retry later"
    ))
}
