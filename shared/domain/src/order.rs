//! Orders as the seller holds them: a reservation created at placement that becomes a firm order at
//! `/fulfill` (shared/docs/protocol.md §Order life cycle). Customer data lives here for invoicing
//! and shipping but never reaches a log line: `Address` and `Customer` have redacting `Debug`
//! impls.

pub mod admin_view;
pub mod value;

use crate::catalog::{LocationId, SkuId};
use crate::duration::VtexDuration;
use crate::money::Cents;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
pub use value::{LineAdjustments, OrderValue, ValueSource};

pub type OrderId = String;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Reserved,
    Authorized,
    PartiallyInvoiced,
    Invoiced,
    Shipped,
    Delivered,
    Returned,
    Canceled,
    Expired,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Reserved => "RESERVED",
            OrderStatus::Authorized => "AUTHORIZED",
            OrderStatus::PartiallyInvoiced => "PARTIALLY_INVOICED",
            OrderStatus::Invoiced => "INVOICED",
            OrderStatus::Shipped => "SHIPPED",
            OrderStatus::Delivered => "DELIVERED",
            OrderStatus::Returned => "RETURNED",
            OrderStatus::Canceled => "CANCELED",
            OrderStatus::Expired => "EXPIRED",
        }
    }

    /// Whether the order still holds stock (reserved or committed but not shipped).
    pub fn holds_stock(self) -> bool {
        matches!(
            self,
            OrderStatus::Reserved | OrderStatus::Authorized | OrderStatus::PartiallyInvoiced
        )
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Our id (`sellerOrderId`), returned at placement.
    pub order_id: OrderId,
    /// Marketplace account name (`an`); `""` when the endpoint was registered without it.
    pub an: String,
    #[serde(default)]
    pub sc: Option<String>,
    pub marketplace_order_id: String,
    #[serde(default)]
    pub marketplace_order_group: Option<String>,
    #[serde(default)]
    pub marketplace_services_endpoint: Option<String>,
    pub marketplace_payment_value: Cents,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    #[serde(default)]
    pub address: Option<Address>,
    #[serde(default)]
    pub customer: Option<Customer>,
    pub created_at: DateTime<Utc>,
    /// When the reservation lapses unless `/fulfill` or `/cancel` arrives.
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub authorized: Option<Receipt>,
    #[serde(default)]
    pub canceled: Option<Cancellation>,
    /// Cancellation requests seen while the order could not be canceled (evaluate / refuse).
    #[serde(default)]
    pub pending_cancellation: Option<String>,
    /// A seller cancellation recorded before its call to VTEX, cleared when the order is saved
    /// `CANCELED` (or VTEX refused the call): a redelivery that finds it knows the call may have
    /// landed (shared/docs/protocol.md §Seller cancel).
    #[serde(default)]
    pub seller_cancel: Option<PendingSellerCancel>,
    /// The order's value as placed and how it was reached; `None` for orders stored before it was
    /// kept ([`Order::order_value`] derives theirs).
    #[serde(default)]
    pub value: Option<OrderValue>,
    /// Optimistic-concurrency counter; the store bumps it on each write.
    #[serde(default)]
    pub version: u64,
}

impl Order {
    /// The value breakdown: the one stored at placement, or, for an order stored before it was
    /// kept, derived from its lines with no price tags or bundles (they were not stored), and
    /// `marketplacePaymentValue` preferred as at placement.
    pub fn order_value(&self) -> OrderValue {
        if let Some(v) = &self.value
            && v.lines.len() == self.lines.len()
        {
            return v.clone();
        }
        let lines: Vec<value::LineAmounts> = self
            .lines
            .iter()
            .map(|l| l.amounts(LineAdjustments::default()))
            .collect();
        OrderValue::compute(&lines, self.marketplace_payment_value)
    }

    /// The marketplace account outbound calls about this order go to: `an` as placed, else the
    /// `an` of the stored `marketplaceServicesEndpoint`'s query (VTEX puts it there, e.g.
    /// `https://…/api/oms?an=luxstore`), else `""` (the caller's default account).
    pub fn account(&self) -> &str {
        if !self.an.trim().is_empty() {
            return &self.an;
        }
        self.marketplace_services_endpoint
            .as_deref()
            .and_then(account_of_endpoint)
            .unwrap_or("")
    }

    /// What the Output invoices must add up to (shared/docs/protocol.md §Invoices).
    pub fn total(&self) -> Cents {
        self.order_value().value
    }

    /// Per line: its goods (`price × quantity` + tags + bundles) and its shipping (freight +
    /// delivery window), in the order of `lines`.
    pub fn line_values(&self) -> Vec<LineValue> {
        let v = self.order_value();
        self.lines
            .iter()
            .zip(&v.lines)
            .map(|(l, a)| LineValue {
                goods: l.unit_price * l.quantity + a.price_tags + a.bundles,
                shipping: l.freight + l.window_price(),
            })
            .collect()
    }

    /// `(sku, location, quantity)` this order holds in stock.
    pub fn stock_holds(&self) -> Vec<(SkuId, LocationId, i64)> {
        self.lines
            .iter()
            .map(|l| (l.sku_id.clone(), l.location_id.clone(), l.quantity))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    /// Position in the placement's `items`.
    pub index: usize,
    pub sku_id: SkuId,
    pub quantity: i64,
    /// Unit price as sold, cents.
    pub unit_price: Cents,
    /// Freight of this line (`logisticsInfo[].price`), cents.
    pub freight: Cents,
    #[serde(default)]
    pub selected_sla: Option<String>,
    /// Where the stock is held: the selected carrier's warehouse or the pickup point.
    pub location_id: LocationId,
    #[serde(default)]
    pub lock_ttl: Option<VtexDuration>,
    #[serde(default)]
    pub shipping_estimate: Option<VtexDuration>,
    #[serde(default)]
    pub delivery_window: Option<DeliveryWindow>,
}

impl OrderLine {
    pub fn window_price(&self) -> Cents {
        self.delivery_window
            .as_ref()
            .map(|w| w.price)
            .unwrap_or_default()
    }

    pub fn amounts(&self, adjustments: LineAdjustments) -> value::LineAmounts {
        value::LineAmounts {
            unit_price: self.unit_price,
            quantity: self.quantity,
            adjustments,
            freight: self.freight,
            window_price: self.window_price(),
        }
    }
}

/// A line's part in the order value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineValue {
    /// `price × quantity` plus its price tags and bundle items.
    pub goods: Cents,
    /// Its freight plus its delivery window's price.
    pub shipping: Cents,
}

impl LineValue {
    pub fn total(&self) -> Cents {
        self.goods + self.shipping
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryWindow {
    pub start_date_utc: String,
    pub end_date_utc: String,
    #[serde(default)]
    pub price: Cents,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub date: DateTime<Utc>,
    pub receipt: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cancellation {
    pub date: DateTime<Utc>,
    pub receipt: String,
    /// `cancellationRequestId` of a marketplace cancel, or a seller/expiry marker.
    pub request_id: Option<String>,
    pub by: CanceledBy,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The intent of a seller cancellation (ERP `cancel` message), written before VTEX is called.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingSellerCancel {
    /// The ERP message's id (or the queue's), kept as the cancellation's `request_id`.
    pub request_id: String,
    /// The reason sent to VTEX (trimmed).
    pub reason: String,
    pub requested_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CanceledBy {
    Marketplace,
    Seller,
    Expiry,
}

/// Delivery address. Customer data: `Debug` shows nothing but the country.
#[derive(Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(default)]
    pub address_type: Option<String>,
    #[serde(default)]
    pub receiver_name: Option<String>,
    #[serde(default)]
    pub address_id: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub street: Option<String>,
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub neighborhood: Option<String>,
    #[serde(default)]
    pub complement: Option<String>,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub geo_coordinates: Vec<serde_json::Value>,
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Address")
            .field("country", &self.country)
            .finish_non_exhaustive()
    }
}

/// Buyer contact. Customer data: `Debug` redacts everything.
#[derive(Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub document_type: Option<String>,
    #[serde(default)]
    pub document: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

impl fmt::Debug for Customer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Customer { <redacted> }")
    }
}

/// One line of an order's log: what happened, when, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    pub at: DateTime<Utc>,
    pub step: String,
    pub outcome: Outcome,
    /// Operator-readable detail. Never customer data or secrets.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Success,
    Error,
    Alert,
    Pending,
}

impl LogEntry {
    pub fn new(
        at: DateTime<Utc>,
        step: impl Into<String>,
        outcome: Outcome,
        detail: impl Into<String>,
    ) -> Self {
        LogEntry {
            at,
            step: step.into(),
            outcome,
            detail: detail.into(),
        }
    }
}

/// The `an` query parameter of a marketplace-services endpoint, when it is a plain account name.
fn account_of_endpoint(endpoint: &str) -> Option<&str> {
    let query = endpoint.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "an")
        .map(|(_, v)| v.trim())
        .filter(|v| {
            !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// Dates as VTEX writes them in order answers and as the admin view shows them: ISO-8601 with an
/// offset, millisecond precision (`2026-11-20T12:00:00.000+00:00`).
pub fn format_date(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, false)
}
