//! Stored orders and order log entries, version 1.
//!
//! Version 1 is the JSON the adapters wrote before stored shapes were explicit: the domain
//! `Order` / `LogEntry` as serde wrote them then (camelCase, `null` for absent optionals, money in
//! integer cents, durations as VTEX strings such as `"8d"`, instants in RFC 3339). These types
//! spell that out field by field, so renaming or retyping a domain field no longer changes what
//! is stored; the conversions below are the only place the two meet.

use crate::{FormatError, Stored};
use chrono::{DateTime, Utc};
use domain::VtexDuration;
use domain::money::Cents;
use domain::order::{
    Address, CanceledBy, Cancellation, Customer, DeliveryWindow, LineAdjustments, LogEntry, Order,
    OrderLine, OrderStatus, OrderValue, Outcome, PendingSellerCancel, Receipt, ValueSource,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderV1 {
    pub order_id: String,
    pub an: String,
    #[serde(default)]
    pub sc: Option<String>,
    pub marketplace_order_id: String,
    #[serde(default)]
    pub marketplace_order_group: Option<String>,
    #[serde(default)]
    pub marketplace_services_endpoint: Option<String>,
    pub marketplace_payment_value: i64,
    pub status: OrderStatusV1,
    pub lines: Vec<OrderLineV1>,
    #[serde(default)]
    pub address: Option<AddressV1>,
    #[serde(default)]
    pub customer: Option<CustomerV1>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub authorized: Option<ReceiptV1>,
    #[serde(default)]
    pub canceled: Option<CancellationV1>,
    #[serde(default)]
    pub pending_cancellation: Option<String>,
    /// A seller cancellation recorded before its VTEX call (issue 12), cleared once the order is
    /// saved `CANCELED`. Absent in orders stored before, and left out when `None`, so an older
    /// order is written back exactly as it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_cancel: Option<PendingSellerCancelV1>,
    /// The order value and its breakdown, written since issue 11. Absent in orders stored before:
    /// they read with `value: None`, and `Order::order_value` derives theirs from the lines
    /// (price × quantity + freight + delivery window, no tags or bundles) and
    /// `marketplacePaymentValue`, which wins when it differs. Left out when `None`, so an older
    /// order is written back exactly as it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<OrderValueV1>,
    /// The optimistic-concurrency counter as of the write. The adapters keep it also beside
    /// `data` (the DynamoDB attribute, the SQLite column) and read it from there.
    #[serde(default)]
    pub version: u64,
}

/// How the order's value was reached (all money in cents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderValueV1 {
    pub items: i64,
    pub price_tags: i64,
    pub bundles: i64,
    pub freight: i64,
    pub delivery_windows: i64,
    pub computed: i64,
    pub value: i64,
    pub source: ValueSourceV1,
    /// Per line, in the order of `lines`.
    pub lines: Vec<LineAdjustmentsV1>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ValueSourceV1 {
    Computed,
    MarketplacePaymentValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineAdjustmentsV1 {
    pub price_tags: i64,
    pub bundles: i64,
}

impl From<&OrderValue> for OrderValueV1 {
    fn from(v: &OrderValue) -> Self {
        OrderValueV1 {
            items: v.items.value(),
            price_tags: v.price_tags.value(),
            bundles: v.bundles.value(),
            freight: v.freight.value(),
            delivery_windows: v.delivery_windows.value(),
            computed: v.computed.value(),
            value: v.value.value(),
            source: match v.source {
                ValueSource::Computed => ValueSourceV1::Computed,
                ValueSource::MarketplacePaymentValue => ValueSourceV1::MarketplacePaymentValue,
            },
            lines: v
                .lines
                .iter()
                .map(|l| LineAdjustmentsV1 {
                    price_tags: l.price_tags.value(),
                    bundles: l.bundles.value(),
                })
                .collect(),
        }
    }
}

impl From<OrderValueV1> for OrderValue {
    fn from(v: OrderValueV1) -> Self {
        OrderValue {
            items: Cents::new(v.items),
            price_tags: Cents::new(v.price_tags),
            bundles: Cents::new(v.bundles),
            freight: Cents::new(v.freight),
            delivery_windows: Cents::new(v.delivery_windows),
            computed: Cents::new(v.computed),
            value: Cents::new(v.value),
            source: match v.source {
                ValueSourceV1::Computed => ValueSource::Computed,
                ValueSourceV1::MarketplacePaymentValue => ValueSource::MarketplacePaymentValue,
            },
            lines: v
                .lines
                .into_iter()
                .map(|l| LineAdjustments {
                    price_tags: Cents::new(l.price_tags),
                    bundles: Cents::new(l.bundles),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatusV1 {
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineV1 {
    pub index: usize,
    pub sku_id: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub freight: i64,
    #[serde(default)]
    pub selected_sla: Option<String>,
    pub location_id: String,
    /// A VTEX duration string (`"8d"`).
    #[serde(default)]
    pub lock_ttl: Option<String>,
    #[serde(default)]
    pub shipping_estimate: Option<String>,
    #[serde(default)]
    pub delivery_window: Option<DeliveryWindowV1>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryWindowV1 {
    pub start_date_utc: String,
    pub end_date_utc: String,
    #[serde(default)]
    pub price: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptV1 {
    pub date: DateTime<Utc>,
    pub receipt: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancellationV1 {
    pub date: DateTime<Utc>,
    pub receipt: String,
    pub request_id: Option<String>,
    pub by: CanceledByV1,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingSellerCancelV1 {
    pub request_id: String,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CanceledByV1 {
    Marketplace,
    Seller,
    Expiry,
}

/// Customer data, as [`Address`]: `Debug` shows nothing but the country.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressV1 {
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
    /// Passed through as received (shared/docs/protocol.md §Conventions geoCoordinates).
    #[serde(default)]
    pub geo_coordinates: Vec<serde_json::Value>,
}

/// Customer data, as [`Customer`]: `Debug` redacts everything.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerV1 {
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

impl std::fmt::Debug for AddressV1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressV1")
            .field("country", &self.country)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for CustomerV1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomerV1 { <redacted> }")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntryV1 {
    pub at: DateTime<Utc>,
    pub step: String,
    pub outcome: OutcomeV1,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutcomeV1 {
    Success,
    Error,
    Alert,
    Pending,
}

impl Stored for Order {
    const WHAT: &'static str = "order";
    const VERSION: u32 = 1;
    type Shape = OrderV1;

    fn to_shape(&self) -> OrderV1 {
        OrderV1::from(self)
    }

    fn from_shape(shape: OrderV1) -> Result<Self, FormatError> {
        Order::try_from(shape)
    }
}

impl Stored for LogEntry {
    const WHAT: &'static str = "log entry";
    const VERSION: u32 = 1;
    type Shape = LogEntryV1;

    fn to_shape(&self) -> LogEntryV1 {
        LogEntryV1::from(self)
    }

    fn from_shape(shape: LogEntryV1) -> Result<Self, FormatError> {
        Ok(LogEntry::from(shape))
    }
}

impl From<&Order> for OrderV1 {
    fn from(o: &Order) -> Self {
        OrderV1 {
            order_id: o.order_id.clone(),
            an: o.an.clone(),
            sc: o.sc.clone(),
            marketplace_order_id: o.marketplace_order_id.clone(),
            marketplace_order_group: o.marketplace_order_group.clone(),
            marketplace_services_endpoint: o.marketplace_services_endpoint.clone(),
            marketplace_payment_value: o.marketplace_payment_value.value(),
            status: o.status.into(),
            lines: o.lines.iter().map(OrderLineV1::from).collect(),
            address: o.address.as_ref().map(AddressV1::from),
            customer: o.customer.as_ref().map(CustomerV1::from),
            created_at: o.created_at,
            expires_at: o.expires_at,
            authorized: o.authorized.as_ref().map(|r| ReceiptV1 {
                date: r.date,
                receipt: r.receipt.clone(),
            }),
            canceled: o.canceled.as_ref().map(|c| CancellationV1 {
                date: c.date,
                receipt: c.receipt.clone(),
                request_id: c.request_id.clone(),
                by: c.by.into(),
                reason: c.reason.clone(),
            }),
            pending_cancellation: o.pending_cancellation.clone(),
            seller_cancel: o.seller_cancel.as_ref().map(|p| PendingSellerCancelV1 {
                request_id: p.request_id.clone(),
                reason: p.reason.clone(),
                requested_at: p.requested_at,
            }),
            value: o.value.as_ref().map(OrderValueV1::from),
            version: o.version,
        }
    }
}

impl TryFrom<OrderV1> for Order {
    type Error = FormatError;

    fn try_from(o: OrderV1) -> Result<Self, FormatError> {
        Ok(Order {
            order_id: o.order_id,
            an: o.an,
            sc: o.sc,
            marketplace_order_id: o.marketplace_order_id,
            marketplace_order_group: o.marketplace_order_group,
            marketplace_services_endpoint: o.marketplace_services_endpoint,
            marketplace_payment_value: Cents::new(o.marketplace_payment_value),
            status: o.status.into(),
            lines: o
                .lines
                .into_iter()
                .map(OrderLine::try_from)
                .collect::<Result<_, _>>()?,
            address: o.address.map(Address::from),
            customer: o.customer.map(Customer::from),
            created_at: o.created_at,
            expires_at: o.expires_at,
            authorized: o.authorized.map(|r| Receipt {
                date: r.date,
                receipt: r.receipt,
            }),
            canceled: o.canceled.map(|c| Cancellation {
                date: c.date,
                receipt: c.receipt,
                request_id: c.request_id,
                by: c.by.into(),
                reason: c.reason,
            }),
            pending_cancellation: o.pending_cancellation,
            seller_cancel: o.seller_cancel.map(|p| PendingSellerCancel {
                request_id: p.request_id,
                reason: p.reason,
                requested_at: p.requested_at,
            }),
            value: o.value.map(OrderValue::from),
            version: o.version,
        })
    }
}

impl From<&OrderLine> for OrderLineV1 {
    fn from(l: &OrderLine) -> Self {
        OrderLineV1 {
            index: l.index,
            sku_id: l.sku_id.clone(),
            quantity: l.quantity,
            unit_price: l.unit_price.value(),
            freight: l.freight.value(),
            selected_sla: l.selected_sla.clone(),
            location_id: l.location_id.clone(),
            lock_ttl: l.lock_ttl.map(|d| d.to_string()),
            shipping_estimate: l.shipping_estimate.map(|d| d.to_string()),
            delivery_window: l.delivery_window.as_ref().map(|w| DeliveryWindowV1 {
                start_date_utc: w.start_date_utc.clone(),
                end_date_utc: w.end_date_utc.clone(),
                price: w.price.value(),
            }),
        }
    }
}

impl TryFrom<OrderLineV1> for OrderLine {
    type Error = FormatError;

    fn try_from(l: OrderLineV1) -> Result<Self, FormatError> {
        Ok(OrderLine {
            index: l.index,
            sku_id: l.sku_id,
            quantity: l.quantity,
            unit_price: Cents::new(l.unit_price),
            freight: Cents::new(l.freight),
            selected_sla: l.selected_sla,
            location_id: l.location_id,
            lock_ttl: duration(l.lock_ttl, "lockTtl")?,
            shipping_estimate: duration(l.shipping_estimate, "shippingEstimate")?,
            delivery_window: l.delivery_window.map(|w| DeliveryWindow {
                start_date_utc: w.start_date_utc,
                end_date_utc: w.end_date_utc,
                price: Cents::new(w.price),
            }),
        })
    }
}

fn duration(value: Option<String>, field: &str) -> Result<Option<VtexDuration>, FormatError> {
    value
        .map(|v| {
            v.parse()
                .map_err(|e| FormatError(format!("stored order line {field}: {e}")))
        })
        .transpose()
}

impl From<OrderStatus> for OrderStatusV1 {
    fn from(s: OrderStatus) -> Self {
        match s {
            OrderStatus::Reserved => OrderStatusV1::Reserved,
            OrderStatus::Authorized => OrderStatusV1::Authorized,
            OrderStatus::PartiallyInvoiced => OrderStatusV1::PartiallyInvoiced,
            OrderStatus::Invoiced => OrderStatusV1::Invoiced,
            OrderStatus::Shipped => OrderStatusV1::Shipped,
            OrderStatus::Delivered => OrderStatusV1::Delivered,
            OrderStatus::Returned => OrderStatusV1::Returned,
            OrderStatus::Canceled => OrderStatusV1::Canceled,
            OrderStatus::Expired => OrderStatusV1::Expired,
        }
    }
}

impl From<OrderStatusV1> for OrderStatus {
    fn from(s: OrderStatusV1) -> Self {
        match s {
            OrderStatusV1::Reserved => OrderStatus::Reserved,
            OrderStatusV1::Authorized => OrderStatus::Authorized,
            OrderStatusV1::PartiallyInvoiced => OrderStatus::PartiallyInvoiced,
            OrderStatusV1::Invoiced => OrderStatus::Invoiced,
            OrderStatusV1::Shipped => OrderStatus::Shipped,
            OrderStatusV1::Delivered => OrderStatus::Delivered,
            OrderStatusV1::Returned => OrderStatus::Returned,
            OrderStatusV1::Canceled => OrderStatus::Canceled,
            OrderStatusV1::Expired => OrderStatus::Expired,
        }
    }
}

impl From<CanceledBy> for CanceledByV1 {
    fn from(b: CanceledBy) -> Self {
        match b {
            CanceledBy::Marketplace => CanceledByV1::Marketplace,
            CanceledBy::Seller => CanceledByV1::Seller,
            CanceledBy::Expiry => CanceledByV1::Expiry,
        }
    }
}

impl From<CanceledByV1> for CanceledBy {
    fn from(b: CanceledByV1) -> Self {
        match b {
            CanceledByV1::Marketplace => CanceledBy::Marketplace,
            CanceledByV1::Seller => CanceledBy::Seller,
            CanceledByV1::Expiry => CanceledBy::Expiry,
        }
    }
}

impl From<&Address> for AddressV1 {
    fn from(a: &Address) -> Self {
        AddressV1 {
            address_type: a.address_type.clone(),
            receiver_name: a.receiver_name.clone(),
            address_id: a.address_id.clone(),
            postal_code: a.postal_code.clone(),
            city: a.city.clone(),
            state: a.state.clone(),
            country: a.country.clone(),
            street: a.street.clone(),
            number: a.number.clone(),
            neighborhood: a.neighborhood.clone(),
            complement: a.complement.clone(),
            reference: a.reference.clone(),
            geo_coordinates: a.geo_coordinates.clone(),
        }
    }
}

impl From<AddressV1> for Address {
    fn from(a: AddressV1) -> Self {
        Address {
            address_type: a.address_type,
            receiver_name: a.receiver_name,
            address_id: a.address_id,
            postal_code: a.postal_code,
            city: a.city,
            state: a.state,
            country: a.country,
            street: a.street,
            number: a.number,
            neighborhood: a.neighborhood,
            complement: a.complement,
            reference: a.reference,
            geo_coordinates: a.geo_coordinates,
        }
    }
}

impl From<&Customer> for CustomerV1 {
    fn from(c: &Customer) -> Self {
        CustomerV1 {
            email: c.email.clone(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            document_type: c.document_type.clone(),
            document: c.document.clone(),
            phone: c.phone.clone(),
        }
    }
}

impl From<CustomerV1> for Customer {
    fn from(c: CustomerV1) -> Self {
        Customer {
            email: c.email,
            first_name: c.first_name,
            last_name: c.last_name,
            document_type: c.document_type,
            document: c.document,
            phone: c.phone,
        }
    }
}

impl From<&LogEntry> for LogEntryV1 {
    fn from(e: &LogEntry) -> Self {
        LogEntryV1 {
            at: e.at,
            step: e.step.clone(),
            outcome: match e.outcome {
                Outcome::Success => OutcomeV1::Success,
                Outcome::Error => OutcomeV1::Error,
                Outcome::Alert => OutcomeV1::Alert,
                Outcome::Pending => OutcomeV1::Pending,
            },
            detail: e.detail.clone(),
        }
    }
}

impl From<LogEntryV1> for LogEntry {
    fn from(e: LogEntryV1) -> Self {
        LogEntry {
            at: e.at,
            step: e.step,
            outcome: match e.outcome {
                OutcomeV1::Success => Outcome::Success,
                OutcomeV1::Error => Outcome::Error,
                OutcomeV1::Alert => Outcome::Alert,
                OutcomeV1::Pending => Outcome::Pending,
            },
            detail: e.detail,
        }
    }
}

#[cfg(test)]
mod golden {
    use super::*;
    use crate::testing::golden;
    use chrono::TimeZone;

    /// An order as the adapters wrote it before `schemaVersion` (every optional part present).
    const ORDER: &str = r#"
    {
      "orderId": "SLR-0A1B2C3D4E5F6G7H8J9K",
      "an": "luxstore",
      "sc": "1",
      "marketplaceOrderId": "1138342255777-01",
      "marketplaceOrderGroup": "1138342255777",
      "marketplaceServicesEndpoint": "https://oms.example.com/api/oms?an=luxstore",
      "marketplacePaymentValue": 11080,
      "status": "CANCELED",
      "lines": [
        {
          "index": 0,
          "skuId": "2002495",
          "quantity": 1,
          "unitPrice": 9990,
          "freight": 1090,
          "selectedSla": "Normal",
          "locationId": "cd-cajamar",
          "lockTtl": "8d",
          "shippingEstimate": "5bd",
          "deliveryWindow": {
            "startDateUtc": "2026-01-05T08:00:00+00:00",
            "endDateUtc": "2026-01-05T12:00:00+00:00",
            "price": 500
          }
        },
        {
          "index": 1,
          "skuId": "2000037",
          "quantity": 2,
          "unitPrice": 67203,
          "freight": 0,
          "selectedSla": null,
          "locationId": "retira-copacabana",
          "lockTtl": null,
          "shippingEstimate": null,
          "deliveryWindow": null
        }
      ],
      "address": {
        "addressType": "Residencial",
        "receiverName": "Maria",
        "addressId": null,
        "postalCode": "01311-000",
        "city": "São Paulo",
        "state": "SP",
        "country": "BRA",
        "street": "Avenida Paulista",
        "number": "1000",
        "neighborhood": null,
        "complement": null,
        "reference": null,
        "geoCoordinates": [
          -46.65,
          -23.56
        ]
      },
      "customer": {
        "email": "maria@example.com",
        "firstName": "Maria",
        "lastName": null,
        "documentType": "cpf",
        "document": "12345678909",
        "phone": null
      },
      "createdAt": "2026-01-02T03:04:05.123Z",
      "expiresAt": "2026-01-10T03:04:05.123Z",
      "authorized": {
        "date": "2026-01-02T03:05:05.123Z",
        "receipt": "rcpt-fulfill"
      },
      "canceled": {
        "date": "2026-01-02T03:06:05.123Z",
        "receipt": "rcpt-cancel",
        "requestId": "cr-1",
        "by": "marketplace",
        "reason": "shopper asked"
      },
      "pendingCancellation": null,
      "version": 3
    }
    "#;

    const LOG_ENTRY: &str = r#"
    {
      "at": "2026-01-02T03:04:10.123Z",
      "step": "placement",
      "outcome": "Success",
      "detail": "reserved 3 units"
    }
    "#;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_767_323_045 + seconds, 123_000_000)
            .unwrap()
    }

    fn expected_order() -> Order {
        Order {
            order_id: "SLR-0A1B2C3D4E5F6G7H8J9K".into(),
            an: "luxstore".into(),
            sc: Some("1".into()),
            marketplace_order_id: "1138342255777-01".into(),
            marketplace_order_group: Some("1138342255777".into()),
            marketplace_services_endpoint: Some(
                "https://oms.example.com/api/oms?an=luxstore".into(),
            ),
            marketplace_payment_value: Cents(11080),
            status: OrderStatus::Canceled,
            lines: vec![
                OrderLine {
                    index: 0,
                    sku_id: "2002495".into(),
                    quantity: 1,
                    unit_price: Cents(9990),
                    freight: Cents(1090),
                    selected_sla: Some("Normal".into()),
                    location_id: "cd-cajamar".into(),
                    lock_ttl: Some(VtexDuration::Days(8)),
                    shipping_estimate: Some(VtexDuration::BusinessDays(5)),
                    delivery_window: Some(DeliveryWindow {
                        start_date_utc: "2026-01-05T08:00:00+00:00".into(),
                        end_date_utc: "2026-01-05T12:00:00+00:00".into(),
                        price: Cents(500),
                    }),
                },
                OrderLine {
                    index: 1,
                    sku_id: "2000037".into(),
                    quantity: 2,
                    unit_price: Cents(67203),
                    freight: Cents(0),
                    selected_sla: None,
                    location_id: "retira-copacabana".into(),
                    lock_ttl: None,
                    shipping_estimate: None,
                    delivery_window: None,
                },
            ],
            address: Some(Address {
                address_type: Some("Residencial".into()),
                receiver_name: Some("Maria".into()),
                address_id: None,
                postal_code: Some("01311-000".into()),
                city: Some("São Paulo".into()),
                state: Some("SP".into()),
                country: Some("BRA".into()),
                street: Some("Avenida Paulista".into()),
                number: Some("1000".into()),
                neighborhood: None,
                complement: None,
                reference: None,
                geo_coordinates: vec![serde_json::json!(-46.65), serde_json::json!(-23.56)],
            }),
            customer: Some(Customer {
                email: Some("maria@example.com".into()),
                first_name: Some("Maria".into()),
                last_name: None,
                document_type: Some("cpf".into()),
                document: Some("12345678909".into()),
                phone: None,
            }),
            created_at: at(0),
            expires_at: at(8 * 86_400),
            authorized: Some(Receipt {
                date: at(60),
                receipt: "rcpt-fulfill".into(),
            }),
            canceled: Some(Cancellation {
                date: at(120),
                receipt: "rcpt-cancel".into(),
                request_id: Some("cr-1".into()),
                by: CanceledBy::Marketplace,
                reason: Some("shopper asked".into()),
            }),
            pending_cancellation: None,
            seller_cancel: None,
            value: None,
            version: 3,
        }
    }

    #[test]
    fn an_order_written_before_versioning_reads_as_the_same_order_and_encodes_exactly() {
        let order: Order = golden(ORDER);
        assert_eq!(order, expected_order());
    }

    /// The breakdown as placement writes it since issue 11 (the golden order plus a `value`).
    const VALUE: &str = r#""value": {
        "items": 144396, "priceTags": -1000, "bundles": 1500, "freight": 1090,
        "deliveryWindows": 500, "computed": 146486, "value": 11080,
        "source": "marketplacePaymentValue",
        "lines": [{"priceTags": -1000, "bundles": 1500}, {"priceTags": 0, "bundles": 0}]
      },
      "version": 3"#;

    #[test]
    fn an_order_with_its_value_breakdown_reads_and_encodes_exactly() {
        let with_value = ORDER.replace(r#""version": 3"#, VALUE);
        let order: Order = golden(&with_value);
        let mut expected = expected_order();
        expected.value = Some(OrderValue {
            items: Cents(144_396),
            price_tags: Cents(-1000),
            bundles: Cents(1500),
            freight: Cents(1090),
            delivery_windows: Cents(500),
            computed: Cents(146_486),
            value: Cents(11_080),
            source: ValueSource::MarketplacePaymentValue,
            lines: vec![
                LineAdjustments {
                    price_tags: Cents(-1000),
                    bundles: Cents(1500),
                },
                LineAdjustments::default(),
            ],
        });
        assert_eq!(order, expected);
        assert_eq!(order.total(), Cents(11_080));
    }

    #[test]
    fn an_order_stored_without_a_breakdown_derives_its_value_from_lines_and_payment_value() {
        let order: Order = golden(ORDER);
        assert_eq!(order.value, None);
        let v = order.order_value();
        // 9990 + 2 × 67203 + 1090 freight + 500 window; marketplacePaymentValue 11080 differs.
        assert_eq!(v.computed, Cents(9990 + 2 * 67_203 + 1090 + 500));
        assert_eq!(
            (v.value, v.source),
            (Cents(11_080), ValueSource::MarketplacePaymentValue)
        );
    }

    /// A seller cancellation pending its VTEX call, as the dispatcher writes it since issue 12.
    const SELLER_CANCEL: &str = r#""pendingCancellation": null,
      "sellerCancel": {
        "requestId": "erp-cancel-7",
        "reason": "Out of stock",
        "requestedAt": "2026-01-02T03:07:05.123Z"
      },
      "version": 3"#;

    #[test]
    fn an_order_with_a_pending_seller_cancel_reads_and_encodes_exactly() {
        let with_marker = ORDER.replace(
            r#""pendingCancellation": null,
      "version": 3"#,
            SELLER_CANCEL,
        );
        assert_ne!(with_marker, ORDER);
        let order: Order = golden(&with_marker);
        let mut expected = expected_order();
        expected.seller_cancel = Some(PendingSellerCancel {
            request_id: "erp-cancel-7".into(),
            reason: "Out of stock".into(),
            requested_at: at(180),
        });
        assert_eq!(order, expected);
        // The golden order has none, and is written back without the field.
        assert_eq!(golden::<Order>(ORDER).seller_cancel, None);
    }

    #[test]
    fn a_log_entry_written_before_versioning_reads_and_encodes_exactly() {
        let entry: LogEntry = golden(LOG_ENTRY);
        assert_eq!(
            entry,
            LogEntry::new(at(5), "placement", Outcome::Success, "reserved 3 units")
        );
    }

    #[test]
    fn an_order_with_only_the_required_fields_reads_with_the_optionals_empty() {
        let minimal = r#"{"orderId":"SLR-1","an":"","marketplaceOrderId":"m-1",
            "marketplacePaymentValue":0,"status":"RESERVED","lines":[],
            "createdAt":"2026-01-02T03:04:05Z","expiresAt":"2026-01-02T03:04:05Z"}"#;
        let order: Order = crate::decode(minimal).unwrap();
        assert_eq!((order.sc, order.address, order.version), (None, None, 0));
    }

    #[test]
    fn a_stored_order_that_does_not_read_names_the_field_never_the_value() {
        let broken = ORDER.replace(r#""document": "12345678909""#, r#""document": 12345678909"#);
        assert_ne!(broken, ORDER);
        let e = crate::decode::<Order>(&broken).unwrap_err().to_string();
        assert!(!e.contains("12345678909"), "{e}");
        assert!(e.contains("document"), "{e}");
    }

    #[test]
    fn every_status_keeps_its_stored_spelling() {
        for status in [
            OrderStatus::Reserved,
            OrderStatus::Authorized,
            OrderStatus::PartiallyInvoiced,
            OrderStatus::Invoiced,
            OrderStatus::Shipped,
            OrderStatus::Delivered,
            OrderStatus::Returned,
            OrderStatus::Canceled,
            OrderStatus::Expired,
        ] {
            let stored = serde_json::to_value(OrderStatusV1::from(status)).unwrap();
            assert_eq!(stored, serde_json::json!(status.as_str()));
        }
    }

    #[test]
    fn a_stored_duration_that_does_not_parse_is_an_error_naming_the_field() {
        let bad =
            crate::testing::compact(ORDER).replacen(r#""lockTtl":"8d""#, r#""lockTtl":"8x""#, 1);
        let err = crate::decode::<Order>(&bad).unwrap_err();
        assert!(err.0.contains("lockTtl"), "{err}");
    }
}
