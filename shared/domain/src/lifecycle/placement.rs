//! Placement: a reservation per marketplace order, idempotent on `(an, marketplaceOrderId)`.

use super::*;

/// One marketplace order to reserve, parsed from the placement body (shared/docs/protocol.md
/// §Placement).
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
    /// What the item's `priceTags` and `bundleItems` add to `unit_price × quantity`
    /// ([`LineAdjustments::of`]).
    pub adjustments: LineAdjustments,
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
pub fn validate_placement(
    req: &PlacementRequest,
    limits: &OrderLimits,
) -> Result<(), PlacementRefusal> {
    let invalid = |reason: String| Err(PlacementRefusal::Invalid { reason });
    if req.lines.len() > limits.lines {
        return invalid(format!(
            "the order has {} items; at most {} are accepted",
            req.lines.len(),
            limits.lines
        ));
    }
    let max_cents = limits.value_cents;
    if req.marketplace_payment_value.value() > max_cents {
        return invalid(format!(
            "marketplacePaymentValue is over the limit of {max_cents} cents"
        ));
    }
    let mut units: i64 = 0;
    let mut total = Cents::ZERO;
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
        if line.quantity > limits.units_per_line {
            return invalid(format!(
                "items[{i}].quantity is over the limit of {} units per item",
                limits.units_per_line
            ));
        }
        units = match units.checked_add(line.quantity) {
            Some(u) if u <= limits.units_per_order => u,
            _ => {
                return invalid(format!(
                    "the order asks for more than {} units in all",
                    limits.units_per_order
                ));
            }
        };
        let over = |c: Cents| c.value() > max_cents || c.value() < -max_cents;
        if over(line.unit_price)
            || over(line.freight)
            || over(line.adjustments.price_tags)
            || over(line.adjustments.bundles)
        {
            return invalid(format!(
                "items[{i}]: an amount is over the limit of {max_cents} cents"
            ));
        }
        if line.unit_price.is_negative() {
            return invalid(format!("items[{i}].price is negative"));
        }
        if line.freight.is_negative() {
            return invalid(format!("logisticsInfo for item {i} has a negative price"));
        }
        // Each term is bounded above, so these cannot wrap; checked all the same.
        let Some(goods) = line
            .unit_price
            .checked_mul(line.quantity)
            .and_then(|g| g.checked_add(line.adjustments.price_tags))
            .and_then(|g| g.checked_add(line.adjustments.bundles))
        else {
            return invalid(format!("items[{i}]: its value is over the limit"));
        };
        if goods.is_negative() {
            return invalid(format!(
                "items[{i}]: its priceTags take more than price × quantity"
            ));
        }
        total = match total
            .checked_add(goods)
            .and_then(|t| t.checked_add(line.freight))
        {
            Some(t) if t.value() <= max_cents => t,
            _ => {
                return invalid(format!(
                    "the order's value is over the limit of {max_cents} cents"
                ));
            }
        };
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
    let lines: Vec<OrderLine> = req
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
    let amounts: Vec<LineAmounts> = lines
        .iter()
        .zip(&req.lines)
        .map(|(l, p)| l.amounts(p.adjustments))
        .collect();
    let value = OrderValue::compute(&amounts, req.marketplace_payment_value);
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
        seller_cancel: None,
        value: Some(value),
        version: 0,
    }
}
