//! The fulfillment simulation engine (shared/docs/protocol.md §Simulation): given the cart VTEX
//! asks about, the SKUs read from the catalog and the seller's shipping rules, say what we sell, at
//! which price, how many units, and how each line can reach the shopper.
//!
//! Pure and synchronous: the handler does the I/O (one batched SKU read, cached rules) and maps the
//! result to the wire. Decisions taken here where the contract is silent:
//!
//! - **Channels and their stock.** The `delivery` channel holds the sellable stock (`on_hand -
//!   reserved`) of the warehouses that at least one carrier offered on this `sc` ships from; the
//!   `pickup-in-point` channel holds the stock of the pickup points offered on this `sc`. Stock kept
//!   anywhere else (a location no rule names) is not sellable. `stockBalance` is the stock of the
//!   distinct locations of both channels, so a store that is both a carrier's warehouse and a pickup
//!   point is counted once in the total and appears in both channels (each channel's figure stays
//!   true; they add up to the total whenever the locations are disjoint, as in ESF's example).
//!   `delivery` is always listed; `pickup-in-point` only when it has stock, as in the examples.
//! - **Stock does not depend on the destination.** `quantity = min(requested, stockBalance)` is the
//!   same at indexation and at checkout, whatever the postal code; an address nothing reaches keeps
//!   the quantity and gets `slas: []` (§Simulation).
//! - **An SLA is offered only when its one location holds the whole line.** Placement reserves a line
//!   at the selected SLA's location (`OrderLine::location_id`), so a carrier whose warehouse has 3
//!   units is not offered for a line of 5 even if another warehouse holds the rest; that line may
//!   then have fewer SLAs, or none, at that quantity.
//! - **Lines are independent.** The same SKU twice in a cart is quoted twice against the same stock.
//! - **Scheduled delivery** is offered only while it has at least one future window; windows are
//!   computed from `now` in the carrier's own time zone (see [`ScheduledDelivery::windows_at`]).
//! - **Unavailable items** (unknown, inactive, not on this `sc`, no price in force for this
//!   `an`/`sc`, no sellable stock) keep their position with `quantity: 0`, `stockBalance: 0`,
//!   `slas: []` and a zero `delivery` channel; their price is kept when there is one, otherwise `0`
//!   (§Simulation).
//! - **A price whose `validUntil` has passed is not quoted**: the next most specific entry still in
//!   force applies, and without one the item has no price.
//! - **Destinations outside `shipsTo`** get no SLA, and a checkout without a country gets none either:
//!   zones are per country and we do not guess it.
//! - `listPrice` is never below `price` (a catalog with a lower list price is answered with
//!   `listPrice = price`).

use crate::catalog::{Offering, Sku, SkuId};
use crate::duration::VtexDuration;
use crate::money::Cents;
use crate::shipping::{DeliveryWindowSlot, PickupPoint, ShippingRules, Zone, zone_for};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;

/// One cart line as VTEX asked about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedItem {
    /// Our seller SKU id.
    pub id: SkuId,
    /// Requested units (never negative: the wire layer refuses that).
    pub quantity: i64,
    /// Our seller id in the marketplace, echoed back.
    pub seller: String,
}

/// The simulation request, already validated by the wire layer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimulationRequest {
    pub items: Vec<RequestedItem>,
    pub country: Option<String>,
    pub postal_code: Option<String>,
    /// Opaque (shared/docs/protocol.md §Decisions C12): only whether it is empty matters here.
    pub geo_coordinates: Vec<f64>,
}

/// Storefront/indexation (no destination) or checkout (a destination to quote SLAs for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Indexation,
    Checkout,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Indexation => "indexation",
            Mode::Checkout => "checkout",
        }
    }
}

impl SimulationRequest {
    /// Checkout when a non-blank postal code or any coordinate is present (§Simulation, §Decisions
    /// C8); never gated on `shippingData`.
    pub fn mode(&self) -> Mode {
        let has_postal = self
            .postal_code
            .as_deref()
            .is_some_and(|p| !p.trim().is_empty());
        if has_postal || !self.geo_coordinates.is_empty() {
            Mode::Checkout
        } else {
            Mode::Indexation
        }
    }

    /// The cart's SKU ids, each once, in the order of their first line (what to read from the
    /// catalog).
    pub fn distinct_sku_ids(&self) -> Vec<SkuId> {
        let mut seen = std::collections::HashSet::with_capacity(self.items.len());
        self.items
            .iter()
            .filter(|i| seen.insert(i.id.as_str()))
            .map(|i| i.id.clone())
            .collect()
    }
}

/// The SKUs read for a request, by id (unknown ids simply absent): a map of owned SKUs, or of
/// shared ones ([`crate::ports::CatalogReader::get_skus_shared`], what the simulation handler
/// reads, so no SKU is copied per request).
pub trait SkuLookup: std::fmt::Debug + Send + Sync {
    fn sku(&self, id: &str) -> Option<&Sku>;
}

impl SkuLookup for HashMap<SkuId, Sku> {
    fn sku(&self, id: &str) -> Option<&Sku> {
        self.get(id)
    }
}

impl SkuLookup for HashMap<SkuId, Arc<Sku>> {
    fn sku(&self, id: &str) -> Option<&Sku> {
        self.get(id).map(Arc::as_ref)
    }
}

/// What the engine needs besides the request: the SKUs read for it (unknown ids simply absent), the
/// shipping rules, the scope (`an`, `sc`) and the time windows are computed from.
#[derive(Debug, Clone, Copy)]
pub struct SimulationContext<'a> {
    pub skus: &'a dyn SkuLookup,
    pub rules: &'a ShippingRules,
    pub an: Option<&'a str>,
    pub sc: Option<&'a str>,
    /// The price list the marketplace's `sc` maps to in its registry entry
    /// ([`crate::marketplaces::Marketplace::price_list_for`]): prices are looked up with it in
    /// place of `sc` (stock, carriers and the channel's assortment still follow `sc`). `None`: `sc`.
    pub price_list: Option<&'a str>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryChannel {
    Delivery,
    PickupInPoint,
}

impl DeliveryChannel {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryChannel::Delivery => "delivery",
            DeliveryChannel::PickupInPoint => "pickup-in-point",
        }
    }
}

/// Why an item is (un)available; logged in aggregate, never sent to VTEX.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Availability {
    Available,
    UnknownSku,
    Inactive,
    NotOnSalesChannel,
    NoPrice,
    OutOfStock,
}

impl Availability {
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Available => "available",
            Availability::UnknownSku => "unknown_sku",
            Availability::Inactive => "inactive",
            Availability::NotOnSalesChannel => "not_on_sales_channel",
            Availability::NoPrice => "no_price",
            Availability::OutOfStock => "out_of_stock",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelStock {
    pub channel: DeliveryChannel,
    pub stock_balance: i64,
}

/// One delivery option for one item line. Its texts are borrowed from the rules: the same for
/// every line it is offered to, so neither copied nor reference-counted per line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sla<'a> {
    /// The carrier or pickup point id; VTEX returns it as `selectedSla`.
    pub id: &'a str,
    pub name: &'a str,
    pub channel: DeliveryChannel,
    /// Freight of the whole item line, in cents.
    pub price: Cents,
    pub shipping_estimate: VtexDuration,
    /// `None` unless the carrier does scheduled delivery ([`Sla::delivery_windows`]). The same
    /// for every line of a request (computed once per carrier), so shared rather than copied.
    pub windows: Option<Arc<[DeliveryWindowSlot]>>,
    /// The pickup point, for `pickup-in-point` SLAs.
    pub pickup_point: Option<&'a PickupPoint>,
    /// Where the line's stock would be reserved.
    pub location_id: &'a str,
}

impl Sla<'_> {
    /// The delivery windows on offer; empty unless the carrier does scheduled delivery.
    pub fn delivery_windows(&self) -> &[DeliveryWindowSlot] {
        self.windows.as_deref().unwrap_or_default()
    }
}

/// The stock of each channel of a line: `delivery` always, `pickup-in-point` only when it has
/// stock (module docs). Reads as a slice; held inline, so a line allocates nothing for it.
#[derive(Debug, Clone, Copy)]
pub struct ChannelStocks {
    channels: [ChannelStock; 2],
    len: usize,
}

impl ChannelStocks {
    fn delivery(stock_balance: i64) -> Self {
        let delivery = ChannelStock {
            channel: DeliveryChannel::Delivery,
            stock_balance,
        };
        ChannelStocks {
            channels: [delivery; 2],
            len: 1,
        }
    }

    fn with_pickup(mut self, stock_balance: i64) -> Self {
        self.channels[1] = ChannelStock {
            channel: DeliveryChannel::PickupInPoint,
            stock_balance,
        };
        self.len = 2;
        self
    }
}

impl std::ops::Deref for ChannelStocks {
    type Target = [ChannelStock];
    fn deref(&self) -> &[ChannelStock] {
        &self.channels[..self.len]
    }
}

impl PartialEq for ChannelStocks {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl PartialEq<Vec<ChannelStock>> for ChannelStocks {
    fn eq(&self, other: &Vec<ChannelStock>) -> bool {
        **self == other[..]
    }
}

/// The answer for one requested item: the `items[i]` and `logisticsInfo[i]` of the response.
/// Borrows its texts from the request, the SKU and the rules (a 50-item answer used to copy
/// ~10 strings and vectors per line only to write them out and drop them).
#[derive(Debug, Clone, PartialEq)]
pub struct QuotedItem<'a> {
    pub request_index: usize,
    pub id: &'a str,
    pub seller: &'a str,
    pub requested: i64,
    /// `min(requested, stock_balance)`; `0` when unavailable.
    pub quantity: i64,
    pub availability: Availability,
    pub price: Cents,
    pub list_price: Cents,
    pub price_valid_until: Option<DateTime<Utc>>,
    pub measurement_unit: &'a str,
    pub unit_multiplier: i64,
    /// Empty when unavailable.
    pub offerings: &'a [Offering],
    /// Sellable stock over the channels we serve, not clamped; `0` when unavailable.
    pub stock_balance: i64,
    pub delivery_channels: ChannelStocks,
    /// The rules' `shipsTo`, the same for every line.
    pub ships_to: &'a [String],
    pub slas: Vec<Sla<'a>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimulationResult<'a> {
    pub mode: Mode,
    /// Echoed at checkout, `None` at indexation (§Simulation).
    pub country: Option<&'a str>,
    pub postal_code: Option<&'a str>,
    /// One per requested item, in request order.
    pub items: Vec<QuotedItem<'a>>,
}

impl SimulationResult<'_> {
    pub fn unavailable_count(&self) -> usize {
        self.items
            .iter()
            .filter(|i| i.availability != Availability::Available)
            .count()
    }
}

/// The stock locations of each channel on one `sc`, computed once per request.
struct Channels<'a> {
    delivery: Vec<&'a str>,
    pickup: Vec<&'a str>,
}

impl Channels<'_> {
    fn stock(&self, sku: &Sku) -> (i64, i64, i64) {
        let delivery: i64 = self.delivery.iter().map(|l| sku.sellable_at(l)).sum();
        let pickup: i64 = self.pickup.iter().map(|l| sku.sellable_at(l)).sum();
        let shared: i64 = self
            .pickup
            .iter()
            .filter(|l| self.delivery.contains(l))
            .map(|l| sku.sellable_at(l))
            .sum();
        (delivery, pickup, delivery + pickup - shared)
    }
}

/// Quotes every requested item (see the module docs for the rules).
pub fn simulate<'a>(
    request: &'a SimulationRequest,
    ctx: &SimulationContext<'a>,
) -> SimulationResult<'a> {
    let mode = request.mode();
    let channels = Channels {
        delivery: ctx.rules.delivery_locations(ctx.sc),
        pickup: ctx.rules.pickup_locations(ctx.sc),
    };
    let offers = match mode {
        Mode::Checkout => Offers::for_destination(request, ctx),
        Mode::Indexation => Offers::default(),
    };
    let items = request
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| quote_item(index, item, mode, &channels, &offers, ctx))
        .collect();
    let (country, postal_code) = match mode {
        Mode::Indexation => (None, None),
        Mode::Checkout => (
            request.country.as_deref(),
            request
                .postal_code
                .as_deref()
                .filter(|p| !p.trim().is_empty()),
        ),
    };
    SimulationResult {
        mode,
        country,
        postal_code,
        items,
    }
}

fn quote_item<'a>(
    index: usize,
    item: &'a RequestedItem,
    mode: Mode,
    channels: &Channels<'_>,
    offers: &Offers<'a>,
    ctx: &SimulationContext<'a>,
) -> QuotedItem<'a> {
    let sku = ctx.skus.sku(&item.id);
    let price = sku.and_then(|s| s.price_at(ctx.an, ctx.price_list.or(ctx.sc), ctx.now));
    let (delivery_stock, pickup_stock, total) = sku.map_or((0, 0, 0), |s| channels.stock(s));
    let availability = match sku {
        None => Availability::UnknownSku,
        Some(s) if !s.active => Availability::Inactive,
        Some(s) if !s.offered_on(ctx.sc) => Availability::NotOnSalesChannel,
        Some(_) if price.is_none() => Availability::NoPrice,
        Some(_) if total <= 0 => Availability::OutOfStock,
        Some(_) => Availability::Available,
    };
    let (unit_price, list_price) = price.map_or((Cents::ZERO, Cents::ZERO), |p| {
        (p.price, p.list_price.max(p.price))
    });
    let mut quoted = QuotedItem {
        request_index: index,
        id: &item.id,
        seller: &item.seller,
        requested: item.quantity,
        quantity: 0,
        availability,
        price: unit_price,
        list_price,
        price_valid_until: price.and_then(|p| p.valid_until),
        measurement_unit: sku.map_or("un", |s| &s.measurement_unit),
        unit_multiplier: sku.map_or(1, |s| s.unit_multiplier),
        offerings: &[],
        stock_balance: 0,
        delivery_channels: ChannelStocks::delivery(0),
        ships_to: &ctx.rules.ships_to,
        slas: Vec::new(),
    };
    let Some(sku) = sku.filter(|_| availability == Availability::Available) else {
        return quoted;
    };
    quoted.quantity = item.quantity.clamp(0, total);
    quoted.stock_balance = total;
    quoted.offerings = &sku.offerings;
    quoted.delivery_channels = ChannelStocks::delivery(delivery_stock);
    if pickup_stock > 0 {
        quoted.delivery_channels = quoted.delivery_channels.with_pickup(pickup_stock);
    }
    if mode == Mode::Checkout {
        quoted.slas = offers.quote(sku, quoted.quantity);
    }
    quoted
}

/// One delivery option open to this request's destination on its `sc`: the carrier or pickup
/// point, the zone that covers the destination and, for scheduled delivery, the windows on offer.
/// What depends only on the request (zones, windows) is worked out once here, not per line.
struct Offer<'a> {
    id: &'a str,
    name: &'a str,
    channel: DeliveryChannel,
    zone: &'a Zone,
    location: &'a str,
    windows: Option<Arc<[DeliveryWindowSlot]>>,
    pickup_point: Option<&'a PickupPoint>,
}

/// The request's offers, in rules order: carriers first, then pickup points.
#[derive(Default)]
struct Offers<'a>(Vec<Offer<'a>>);

impl<'a> Offers<'a> {
    fn for_destination(request: &SimulationRequest, ctx: &SimulationContext<'a>) -> Self {
        let rules = ctx.rules;
        let country = request.country.as_deref().map(str::trim);
        let postal = request.postal_code.as_deref();
        let ships_there =
            country.is_some_and(|c| rules.ships_to.iter().any(|s| s.eq_ignore_ascii_case(c)));
        if !ships_there {
            return Offers::default();
        }
        let mut offers = Vec::new();
        for carrier in rules.carriers.iter().filter(|c| c.offered_on(ctx.sc)) {
            let Some(zone) = zone_for(&carrier.zones, country, postal) else {
                continue;
            };
            let windows = match &carrier.scheduled {
                Some(schedule) => {
                    let windows = schedule.windows_at(ctx.now);
                    if windows.is_empty() {
                        continue;
                    }
                    Some(windows.into())
                }
                None => None,
            };
            offers.push(Offer {
                id: &carrier.id,
                name: &carrier.name,
                channel: DeliveryChannel::Delivery,
                zone,
                location: &carrier.warehouse_id,
                windows,
                pickup_point: None,
            });
        }
        for point in rules.pickup_points.iter().filter(|p| p.offered_on(ctx.sc)) {
            let Some(zone) = zone_for(&point.serves, country, postal) else {
                continue;
            };
            offers.push(Offer {
                id: &point.id,
                name: &point.name,
                channel: DeliveryChannel::PickupInPoint,
                zone,
                location: &point.id,
                windows: None,
                pickup_point: Some(point),
            });
        }
        Offers(offers)
    }

    /// The SLAs of one available line of `quantity` units.
    fn quote(&self, sku: &Sku, quantity: i64) -> Vec<Sla<'a>> {
        let weight = sku.dimensions.weight_g;
        self.0
            .iter()
            .filter(|o| {
                // The line must fit in the single location it would be reserved at.
                let here = sku.sellable_at(o.location);
                here > 0 && here >= quantity
            })
            .map(|o| Sla {
                id: o.id,
                name: o.name,
                channel: o.channel,
                price: o.zone.price.for_line(quantity, weight),
                shipping_estimate: o.zone.shipping_estimate,
                windows: o.windows.clone(),
                pickup_point: o.pickup_point,
                location_id: o.location,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
