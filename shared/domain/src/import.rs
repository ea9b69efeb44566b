//! Importing external orders into our own VTEX account (CONTRACT.md §7), and the invoice
//! notifications VTEX's OMS then sends to our marketplace-services endpoint (§5.5).
//!
//! A seller whose orders come from elsewhere drops an **import message** on the import queue; the
//! `order-import` worker drives the order through VTEX's fulfillment workflow, one resumable step
//! at a time:
//!
//! ```text
//!  received ─place─▶ placing ─200─▶ placed ─fulfill─▶ authorizing ─2xx─▶ authorized
//!     ▲  (4xx)          │ timeout/5xx: GET {aff}-{mkp} first,                │ grace period passes
//!     └─────────────────┘ adopt it if VTEX has it                            ▼ (queue delay, never a sleep)
//!                                           handling ◀─204─ startingHandling ◀─┘
//!                                              (409 OMS003: not ready → back to authorized, retry later)
//! ```
//! Invoices may go any time after placement (§10 C24), tracking after its invoice. Every step is
//! written to the [`ImportStore`] *before* its call (the `…ing` states: "a call may have landed")
//! and *after* it, so a crash or a VTEX 5xx anywhere resumes at that step and never places the
//! order twice. The `orderId` VTEX returns is persisted, never computed; `{affiliateId}-{marketplaceOrderId}`
//! is only the id looked up when a placement's answer was lost.
//!
//! # Messages (JSON, `type` + `version` 1; unknown fields ignored; money in integer cents)
//! ```json
//! { "type": "importOrder",    "version": 1, "messageId": "opt", "affiliateId": "EXT", "salesChannel": "1",
//!   "order": { …EMO fulfillment order… }, "invoices": [ …optional, as the dispatch `invoice`… ] }
//! { "type": "importInvoice",  "version": 1, "affiliateId": "EXT", "marketplaceOrderId": "…", "invoice": { … } }
//! { "type": "importTracking", "version": 1, "affiliateId": "EXT", "marketplaceOrderId": "…",
//!   "invoiceNumber": "…", "tracking": { "trackingNumber": "…", "courier": …, "trackingUrl": …, "dispatchedDate": … } }
//! { "type": "importResume",   "version": 1, "affiliateId": "EXT", "marketplaceOrderId": "…", "wakeId": "…" }
//! ```
//! `importResume` is the worker's own wake-up call (scheduled through the queue's delay).
//! `affiliateId` may be left out when the worker has a default one.

use crate::catalog::SkuId;
use crate::duration::VtexDuration;
use crate::invoicing::{
    self, Decision, Invoice, InvoiceRecord, InvoiceSend, InvoiceTotals, TrackingInfo,
};
use crate::money::Cents;
use crate::order::{Address, Order, OrderLine, OrderStatus};
use crate::ports::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The schema version this build reads and writes.
pub const CURRENT_VERSION: u32 = 1;

/// Largest message accepted (SQS caps messages at 256 KiB anyway).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Longest `marketplaceOrderId` accepted (it travels in URL paths and store keys).
pub const MAX_MARKETPLACE_ORDER_ID_LEN: usize = 64;

/// Most items in one imported order.
pub const MAX_ITEMS: usize = 200;

/// Order-log step names written for imports (and by the mse receiver).
pub mod steps {
    pub const RECEIVED: &str = "import.received";
    pub const PLACE: &str = "import.place";
    pub const AUTHORIZE: &str = "import.authorizeDispatch";
    pub const START_HANDLING: &str = "import.startHandling";
    pub const WAIT: &str = "import.wait";
    pub const INVOICE: &str = "import.invoice";
    pub const TRACKING: &str = "import.tracking";
    pub const MSE_INVOICE: &str = "mse.invoice";
}

// =============================================================================================
// Identity

/// The create-once key of an import: the source marketplace (`affiliateId`) and its order id. The
/// same pair is sent in every VTEX call of the import.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportKey {
    pub affiliate_id: String,
    pub marketplace_order_id: String,
}

impl ImportKey {
    pub fn new(affiliate_id: impl Into<String>, marketplace_order_id: impl Into<String>) -> Self {
        ImportKey {
            affiliate_id: affiliate_id.into(),
            marketplace_order_id: marketplace_order_id.into(),
        }
    }

    /// The id the import's log is kept under in the order log (`OrderStore::append_log`). It
    /// cannot collide with our own order ids, which never contain `:`.
    pub fn log_id(&self) -> String {
        format!("import:{}:{}", self.affiliate_id, self.marketplace_order_id)
    }

    /// The `orderId` VTEX documents for this import (`{affiliateId}-{marketplaceOrderId}`). Used
    /// only to *look up* an order whose placement answer was lost; the id used afterwards is the
    /// one VTEX returned.
    pub fn documented_vtex_order_id(&self) -> String {
        format!("{}-{}", self.affiliate_id, self.marketplace_order_id)
    }
}

impl fmt::Display for ImportKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.affiliate_id, self.marketplace_order_id)
    }
}

/// `affiliateId`: three ASCII letters (CONTRACT.md §2).
pub fn check_affiliate_id(id: &str) -> Result<(), String> {
    if id.len() == 3 && id.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(())
    } else {
        Err(format!(
            "affiliateId must be three letters (e.g. \"EXT\"), got {:?}",
            id.chars().take(20).collect::<String>()
        ))
    }
}

/// `marketplaceOrderId`: 1–64 of `A–Z a–z 0–9 . _ -`. It becomes part of VTEX's order id, URL
/// paths and store keys, where anything else is trouble.
pub fn check_marketplace_order_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("marketplaceOrderId is required".into());
    }
    if id.len() > MAX_MARKETPLACE_ORDER_ID_LEN {
        return Err(format!(
            "marketplaceOrderId is longer than {MAX_MARKETPLACE_ORDER_ID_LEN} characters"
        ));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(format!(
            "marketplaceOrderId may only hold letters, digits, '.', '_' and '-', got {:?}",
            id.chars()
                .take(MAX_MARKETPLACE_ORDER_ID_LEN)
                .collect::<String>()
        ));
    }
    Ok(())
}

fn check_sales_channel(sc: &str) -> Result<(), String> {
    if !sc.is_empty() && sc.len() <= 10 && sc.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(format!(
            "salesChannel must be a short id such as \"1\", got {:?}",
            sc.chars().take(20).collect::<String>()
        ))
    }
}

// =============================================================================================
// The order to import (domain shape of the EMO placement body, CONTRACT.md §7)

/// One order to place in our account. Holds customer data: its `Debug` shows ids and counts only.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportOrder {
    pub marketplace_order_id: String,
    #[serde(default)]
    pub marketplace_order_group: Option<String>,
    pub marketplace_payment_value: Cents,
    #[serde(default)]
    pub is_created_async: Option<bool>,
    pub items: Vec<ImportItem>,
    pub client_profile_data: ImportClient,
    pub shipping_data: ImportShipping,
    /// Passed through as received (UTM data).
    #[serde(default)]
    pub marketing_data: Option<Value>,
    /// Plain text (§10 C28); an S0-style `{"value": "…"}` is read as its `value`.
    #[serde(default, deserialize_with = "text_or_value_object")]
    pub open_text_field: Option<String>,
    /// Passed through as received (S0's `customApps`).
    #[serde(default)]
    pub custom_data: Option<Value>,
}

impl fmt::Debug for ImportOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportOrder")
            .field("marketplace_order_id", &self.marketplace_order_id)
            .field("items", &self.items.len())
            .finish_non_exhaustive()
    }
}

fn text_or_value_object<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Object(m)) => match m.get("value") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        },
        Some(_) => {
            return Err(serde::de::Error::custom(
                "openTextField must be a string (or {\"value\": \"…\"})",
            ));
        }
    })
}

fn main_seller() -> String {
    "1".to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportItem {
    /// The SKU id in *our* VTEX account.
    pub id: SkuId,
    pub quantity: i64,
    /// `"1"` = the account's main seller. `"Seller"` is accepted as the key too (§3).
    #[serde(default = "main_seller", alias = "Seller")]
    pub seller: String,
    /// Unit price, cents.
    pub price: Cents,
    #[serde(default)]
    pub commission: Option<Cents>,
    #[serde(default)]
    pub freight_commission: Option<Cents>,
    #[serde(default)]
    pub measurement_unit: Option<String>,
    #[serde(default)]
    pub unit_multiplier: Option<f64>,
    #[serde(default)]
    pub is_gift: Option<bool>,
}

/// `clientProfileData`. Customer data: `Debug` redacts everything.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportClient {
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
    #[serde(default)]
    pub corporate_name: Option<String>,
    #[serde(default)]
    pub trade_name: Option<String>,
    #[serde(default)]
    pub corporate_document: Option<String>,
    #[serde(default)]
    pub state_inscription: Option<String>,
    #[serde(default)]
    pub corporate_phone: Option<String>,
    #[serde(default)]
    pub is_corporate: Option<bool>,
}

impl fmt::Debug for ImportClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ImportClient { <redacted> }")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportShipping {
    /// Customer data; its `Debug` shows the country only.
    pub address: Address,
    pub logistics_info: Vec<ImportLogistics>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportLogistics {
    pub item_index: usize,
    /// The SLA id in our account; `null` lets VTEX choose (§10 C29, open point O8).
    #[serde(default)]
    pub selected_sla: Option<String>,
    /// Freight of this item, cents.
    pub price: Cents,
    #[serde(default, rename = "lockTTL", alias = "lockTtl")]
    pub lock_ttl: Option<VtexDuration>,
    #[serde(default)]
    pub shipping_estimate: Option<VtexDuration>,
    #[serde(default)]
    pub selected_delivery_channel: Option<String>,
    #[serde(default)]
    pub delivery_window: Option<ImportDeliveryWindow>,
}

/// EMO's delivery window: `price`, `lisPrice` (sic) and `tax`, all cents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportDeliveryWindow {
    pub start_date_utc: String,
    pub end_date_utc: String,
    #[serde(default, alias = "listPrice")]
    pub price: Cents,
    #[serde(default)]
    pub lis_price: Cents,
    #[serde(default)]
    pub tax: Cents,
}

impl ImportOrder {
    /// Items plus freight: what VTEX takes as the order value, and what sale invoices add up to.
    pub fn total(&self) -> Cents {
        let items: Cents = self.items.iter().map(|i| i.price * i.quantity).sum();
        let freight: Cents = self
            .shipping_data
            .logistics_info
            .iter()
            .map(|l| l.price)
            .sum();
        items + freight
    }

    /// What is wrong with the order, as operator-readable sentences naming fields, never values
    /// of customer data. Empty when the order can be sent.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if let Err(e) = check_marketplace_order_id(&self.marketplace_order_id) {
            p.push(e);
        }
        if self.marketplace_payment_value.is_negative() {
            p.push("marketplacePaymentValue must not be negative".into());
        }
        if self.items.is_empty() {
            p.push("items must hold at least one item".into());
        }
        if self.items.len() > MAX_ITEMS {
            p.push(format!("items holds more than {MAX_ITEMS} items"));
        }
        for (i, item) in self.items.iter().enumerate() {
            if item.id.trim().is_empty() {
                p.push(format!("items[{i}].id is required"));
            }
            if item.quantity < 1 {
                p.push(format!("items[{i}].quantity must be at least 1"));
            }
            if item.seller.trim().is_empty() {
                p.push(format!("items[{i}].seller must not be empty"));
            }
            if item.price.is_negative() {
                p.push(format!("items[{i}].price must not be negative"));
            }
        }
        let c = &self.client_profile_data;
        for (name, v) in [
            ("email", &c.email),
            ("firstName", &c.first_name),
            ("lastName", &c.last_name),
            ("documentType", &c.document_type),
            ("document", &c.document),
        ] {
            if blank(v) {
                p.push(format!("clientProfileData.{name} is required"));
            }
        }
        let a = &self.shipping_data.address;
        for (name, v) in [
            ("addressType", &a.address_type),
            ("receiverName", &a.receiver_name),
            ("postalCode", &a.postal_code),
            ("city", &a.city),
            ("state", &a.state),
            ("country", &a.country),
            ("street", &a.street),
            ("number", &a.number),
        ] {
            if blank(v) {
                p.push(format!("shippingData.address.{name} is required"));
            }
        }
        if let Some(country) = a.country.as_deref().map(str::trim)
            && !country.is_empty()
            && !(country.len() == 3 && country.bytes().all(|b| b.is_ascii_alphabetic()))
        {
            p.push(
                "shippingData.address.country must be a three-letter ISO code (e.g. BRA)".into(),
            );
        }
        let mut per_item = vec![0usize; self.items.len()];
        for (j, l) in self.shipping_data.logistics_info.iter().enumerate() {
            match per_item.get_mut(l.item_index) {
                Some(n) => *n += 1,
                None => p.push(format!(
                    "shippingData.logisticsInfo[{j}].itemIndex {} names no item",
                    l.item_index
                )),
            }
            if l.price.is_negative() {
                p.push(format!(
                    "shippingData.logisticsInfo[{j}].price must not be negative"
                ));
            }
            if let Some(w) = &l.delivery_window
                && (w.start_date_utc.trim().is_empty() || w.end_date_utc.trim().is_empty())
            {
                p.push(format!(
                    "shippingData.logisticsInfo[{j}].deliveryWindow needs startDateUtc and endDateUtc"
                ));
            }
        }
        for (i, n) in per_item.iter().enumerate() {
            if *n != 1 {
                p.push(format!(
                    "item {i} needs exactly one shippingData.logisticsInfo entry, has {n}"
                ));
            }
        }
        p
    }
}

fn blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}

// =============================================================================================
// Messages

/// One parsed import message.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportMessage {
    /// The sender's id for the message, echoed in the log. Optional.
    pub message_id: Option<String>,
    pub key: ImportKey,
    pub command: ImportCommand,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ImportCommand {
    /// Import this order (create once), and send these invoices after placement.
    Order {
        sales_channel: Option<String>,
        order: Box<ImportOrder>,
        invoices: Vec<Invoice>,
    },
    /// POST this invoice on the imported order (§6.4).
    Invoice { invoice: Invoice },
    /// PATCH tracking onto one of its invoices (§6.5).
    Tracking {
        invoice_number: String,
        tracking: TrackingInfo,
    },
    /// The worker's scheduled wake-up; stale when the import no longer waits for this `wake_id`.
    Resume { wake_id: String },
}

impl ImportCommand {
    /// The `type` value.
    pub fn kind(&self) -> &'static str {
        match self {
            ImportCommand::Order { .. } => "importOrder",
            ImportCommand::Invoice { .. } => "importInvoice",
            ImportCommand::Tracking { .. } => "importTracking",
            ImportCommand::Resume { .. } => "importResume",
        }
    }
}

impl ImportMessage {
    pub fn new(key: ImportKey, command: ImportCommand) -> Self {
        ImportMessage {
            message_id: None,
            key,
            command,
        }
    }

    pub fn resume(key: &ImportKey, wake_id: &str) -> Self {
        Self::new(
            key.clone(),
            ImportCommand::Resume {
                wake_id: wake_id.to_string(),
            },
        )
    }

    /// The JSON a sender would send (and what the worker enqueues for itself).
    pub fn to_json(&self) -> String {
        let mut m = Map::new();
        m.insert("type".into(), json!(self.command.kind()));
        m.insert("version".into(), json!(CURRENT_VERSION));
        if let Some(id) = &self.message_id {
            m.insert("messageId".into(), json!(id));
        }
        m.insert("affiliateId".into(), json!(self.key.affiliate_id));
        match &self.command {
            ImportCommand::Order {
                sales_channel,
                order,
                invoices,
            } => {
                if let Some(sc) = sales_channel {
                    m.insert("salesChannel".into(), json!(sc));
                }
                m.insert("order".into(), to_value(order.as_ref()));
                if !invoices.is_empty() {
                    m.insert("invoices".into(), to_value(invoices));
                }
            }
            ImportCommand::Invoice { invoice } => {
                m.insert(
                    "marketplaceOrderId".into(),
                    json!(self.key.marketplace_order_id),
                );
                m.insert("invoice".into(), to_value(invoice));
            }
            ImportCommand::Tracking {
                invoice_number,
                tracking,
            } => {
                m.insert(
                    "marketplaceOrderId".into(),
                    json!(self.key.marketplace_order_id),
                );
                m.insert("invoiceNumber".into(), json!(invoice_number));
                m.insert("tracking".into(), to_value(tracking));
            }
            ImportCommand::Resume { wake_id } => {
                m.insert(
                    "marketplaceOrderId".into(),
                    json!(self.key.marketplace_order_id),
                );
                m.insert("wakeId".into(), json!(wake_id));
            }
        }
        Value::Object(m).to_string()
    }
}

fn to_value<T: Serialize + ?Sized>(v: &T) -> Value {
    // Our own types of strings, numbers and vectors always serialize.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Why a message could not be used. Such a message is never retried: it is logged and parked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportParseError {
    #[error("message is larger than {MAX_MESSAGE_BYTES} bytes")]
    TooLarge,
    #[error("message is not JSON: {0}")]
    NotJson(String),
    #[error("message has no `type`")]
    MissingType,
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("message has no integer `version`")]
    MissingVersion,
    #[error("message version {0} is not supported (this build reads version {CURRENT_VERSION})")]
    UnsupportedVersion(u64),
    #[error("{0}")]
    BadAffiliate(String),
    #[error("money must be integer cents (99.90 is 9990): {}", .0.join("; "))]
    NotCents(Vec<String>),
    #[error("{kind} message is invalid: {detail}")]
    Invalid { kind: &'static str, detail: String },
    #[error("order is not importable: {}", .0.join("; "))]
    InvalidOrder(Vec<String>),
}

impl ImportParseError {
    /// Stable machine code, for the DLQ message attribute and alarms.
    pub fn code(&self) -> &'static str {
        match self {
            ImportParseError::TooLarge => "TOO_LARGE",
            ImportParseError::NotJson(_) => "NOT_JSON",
            ImportParseError::MissingType => "MISSING_TYPE",
            ImportParseError::UnknownType(_) => "UNKNOWN_TYPE",
            ImportParseError::MissingVersion => "MISSING_VERSION",
            ImportParseError::UnsupportedVersion(_) => "UNSUPPORTED_VERSION",
            ImportParseError::BadAffiliate(_) => "BAD_AFFILIATE",
            ImportParseError::NotCents(_) => "NOT_CENTS",
            ImportParseError::Invalid { .. } => "INVALID_MESSAGE",
            ImportParseError::InvalidOrder(_) => "INVALID_ORDER",
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    affiliate_id: Option<String>,
    #[serde(default)]
    marketplace_order_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderBody {
    #[serde(default, alias = "sc")]
    sales_channel: Option<Value>,
    order: ImportOrder,
    #[serde(default)]
    invoices: Vec<Invoice>,
}

#[derive(Deserialize)]
struct InvoiceBody {
    invoice: Invoice,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackingBody {
    invoice_number: String,
    tracking: TrackingInfo,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResumeBody {
    wake_id: String,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The key a message names, as far as it can be read (to log a refusal under the import).
pub fn key_hint(body: &[u8], default_affiliate: Option<&str>) -> Option<ImportKey> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let affiliate = v
        .get("affiliateId")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .or(default_affiliate)?;
    let mkp = v
        .get("marketplaceOrderId")
        .or_else(|| v.get("order").and_then(|o| o.get("marketplaceOrderId")))
        .and_then(Value::as_str)?
        .trim();
    (check_affiliate_id(affiliate).is_ok() && check_marketplace_order_id(mkp).is_ok())
        .then(|| ImportKey::new(affiliate, mkp))
}

/// Parses and checks a message body. The version is checked before the payload, so a newer
/// sender's message is parked (re-drivable after an upgrade) rather than half-understood.
/// `default_affiliate` stands in for a missing `affiliateId`.
pub fn parse(
    body: &[u8],
    default_affiliate: Option<&str>,
) -> Result<ImportMessage, ImportParseError> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(ImportParseError::TooLarge);
    }
    let mut value: Value =
        serde_json::from_slice(body).map_err(|e| ImportParseError::NotJson(e.to_string()))?;
    let kind = match value.get("type") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(ImportParseError::MissingType),
    };
    let version = value
        .get("version")
        .and_then(Value::as_u64)
        .ok_or(ImportParseError::MissingVersion)?;
    if version != u64::from(CURRENT_VERSION) {
        return Err(ImportParseError::UnsupportedVersion(version));
    }
    let kind: &'static str = match kind.as_str() {
        "importOrder" => "importOrder",
        "importInvoice" => "importInvoice",
        "importTracking" => "importTracking",
        "importResume" => "importResume",
        other => {
            return Err(ImportParseError::UnknownType(
                other.chars().take(40).collect(),
            ));
        }
    };
    let env: Envelope = payload(&value, kind)?;
    let affiliate = non_empty(env.affiliate_id)
        .or_else(|| default_affiliate.map(str::to_string))
        .ok_or_else(|| {
            ImportParseError::BadAffiliate(
                "affiliateId is required (no default affiliate is configured)".into(),
            )
        })?;
    check_affiliate_id(&affiliate).map_err(ImportParseError::BadAffiliate)?;
    let money = money_problems(&value);
    if !money.is_empty() {
        return Err(ImportParseError::NotCents(money));
    }
    normalize(&mut value);
    let message_id = non_empty(env.message_id);
    let (mkp, command) = match kind {
        "importOrder" => {
            let b: OrderBody = payload(&value, kind)?;
            let sales_channel = match b.sales_channel {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => non_empty(Some(s)),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(_) => {
                    return Err(ImportParseError::Invalid {
                        kind,
                        detail: "salesChannel must be a string".into(),
                    });
                }
            };
            let mut problems = b.order.problems();
            if let Some(sc) = &sales_channel
                && let Err(e) = check_sales_channel(sc)
            {
                problems.push(e);
            }
            if !problems.is_empty() {
                return Err(ImportParseError::InvalidOrder(problems));
            }
            (
                b.order.marketplace_order_id.clone(),
                ImportCommand::Order {
                    sales_channel,
                    order: Box::new(b.order),
                    invoices: b.invoices,
                },
            )
        }
        other => {
            let mkp =
                non_empty(env.marketplace_order_id).ok_or_else(|| ImportParseError::Invalid {
                    kind: other_kind(other),
                    detail: "marketplaceOrderId is required".into(),
                })?;
            check_marketplace_order_id(&mkp).map_err(|detail| ImportParseError::Invalid {
                kind: other_kind(other),
                detail,
            })?;
            let command = match other {
                "importInvoice" => {
                    let b: InvoiceBody = payload(&value, kind)?;
                    ImportCommand::Invoice { invoice: b.invoice }
                }
                "importTracking" => {
                    let b: TrackingBody = payload(&value, kind)?;
                    ImportCommand::Tracking {
                        invoice_number: b.invoice_number,
                        tracking: b.tracking,
                    }
                }
                _ => {
                    let b: ResumeBody = payload(&value, kind)?;
                    ImportCommand::Resume { wake_id: b.wake_id }
                }
            };
            (mkp, command)
        }
    };
    Ok(ImportMessage {
        message_id,
        key: ImportKey::new(affiliate, mkp),
        command,
    })
}

fn other_kind(k: &str) -> &'static str {
    match k {
        "importInvoice" => "importInvoice",
        "importTracking" => "importTracking",
        _ => "importResume",
    }
}

fn payload<T: DeserializeOwned>(value: &Value, kind: &'static str) -> Result<T, ImportParseError> {
    serde_json::from_value(value.clone()).map_err(|e| ImportParseError::Invalid {
        kind,
        detail: e.to_string(),
    })
}

/// Null where the domain types want an empty list (§3: null and absent are the same).
fn normalize(v: &mut Value) {
    if let Some(addr) = v
        .pointer_mut("/order/shippingData/address")
        .and_then(Value::as_object_mut)
        && addr.get("geoCoordinates").is_some_and(Value::is_null)
    {
        addr.remove("geoCoordinates");
    }
    if v.get("invoices").is_some_and(Value::is_null)
        && let Some(m) = v.as_object_mut()
    {
        m.remove("invoices");
    }
}

/// Every money field that is not integer cents (a float, a decimal string), by path.
fn money_problems(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |path: String, x: Option<&Value>| {
        if let Some(x) = x
            && !is_cents(x)
        {
            out.push(format!("{path} is {x}"));
        }
    };
    if let Some(order) = v.get("order") {
        check(
            "order.marketplacePaymentValue".into(),
            order.get("marketplacePaymentValue"),
        );
        for (i, item) in array(order.get("items")).iter().enumerate() {
            for f in ["price", "commission", "freightCommission"] {
                check(format!("order.items[{i}].{f}"), item.get(f));
            }
        }
        let logistics = order
            .get("shippingData")
            .and_then(|s| s.get("logisticsInfo"));
        for (i, l) in array(logistics).iter().enumerate() {
            check(
                format!("order.shippingData.logisticsInfo[{i}].price"),
                l.get("price"),
            );
            if let Some(w) = l.get("deliveryWindow") {
                for f in ["price", "listPrice", "lisPrice", "tax"] {
                    check(
                        format!("order.shippingData.logisticsInfo[{i}].deliveryWindow.{f}"),
                        w.get(f),
                    );
                }
            }
        }
    }
    let mut invoices: Vec<(String, &Value)> = array(v.get("invoices"))
        .iter()
        .enumerate()
        .map(|(i, x)| (format!("invoices[{i}]"), x))
        .collect();
    if let Some(x) = v.get("invoice") {
        invoices.push(("invoice".into(), x));
    }
    for (path, inv) in invoices {
        check(format!("{path}.invoiceValue"), inv.get("invoiceValue"));
        for (j, item) in array(inv.get("items")).iter().enumerate() {
            check(format!("{path}.items[{j}].price"), item.get("price"));
        }
    }
    out
}

fn array(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn is_cents(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Number(n) => n.is_i64(),
        Value::String(s) => {
            let t = s.trim();
            let digits = t.strip_prefix('-').unwrap_or(t);
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        }
        // Not money-shaped at all: left to the typed parse, which names the field.
        _ => true,
    }
}

// =============================================================================================
// Progress of one import

/// Where an import stands in VTEX's workflow. The `…ing` states are written *before* their call:
/// finding one means a call may have landed, so the next attempt checks VTEX first or relies on
/// the call being safe to repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ImportStep {
    /// Recorded; nothing sent yet.
    Received,
    /// Placement sent, answer not recorded (a timeout, a crash, a 5xx).
    Placing,
    /// VTEX returned the order id.
    Placed,
    Authorizing,
    /// Dispatch authorized: waiting for the grace period before start-handling.
    Authorized,
    StartingHandling,
    /// Start-handling answered 204 (or the order was found past it). The workflow part is done.
    Handling,
}

impl ImportStep {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStep::Received => "received",
            ImportStep::Placing => "placing",
            ImportStep::Placed => "placed",
            ImportStep::Authorizing => "authorizing",
            ImportStep::Authorized => "authorized",
            ImportStep::StartingHandling => "startingHandling",
            ImportStep::Handling => "handling",
        }
    }

    /// Whether VTEX has given us the order id (invoices may go from here on).
    pub fn is_placed(self) -> bool {
        !matches!(self, ImportStep::Received | ImportStep::Placing)
    }
}

impl fmt::Display for ImportStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an operator sees: the step, or `invoiced` once handling started and the sale invoices VTEX
/// acknowledged add up to the order value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ImportStatus {
    Received,
    Placing,
    Placed,
    Authorizing,
    Authorized,
    StartingHandling,
    Handling,
    Invoiced,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Invoiced => "invoiced",
            ImportStatus::Received => "received",
            ImportStatus::Placing => "placing",
            ImportStatus::Placed => "placed",
            ImportStatus::Authorizing => "authorizing",
            ImportStatus::Authorized => "authorized",
            ImportStatus::StartingHandling => "startingHandling",
            ImportStatus::Handling => "handling",
        }
    }
}

/// The one scheduled wake-up an import waits for. A resume message carrying another id is stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wake {
    pub id: String,
    pub at: DateTime<Utc>,
}

/// Timing of the import workflow (configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportTiming {
    /// Wait after authorize-dispatch before the first start-handling (VTEX's default: 30 min).
    pub grace: Duration,
    /// Wait after a `409` ("not ready for handling yet") before trying again.
    pub not_ready_retry: Duration,
    /// How long past the grace period start-handling may keep answering 409 before the import is
    /// parked for an operator.
    pub give_up_after: Duration,
}

impl Default for ImportTiming {
    fn default() -> Self {
        ImportTiming {
            grace: Duration::from_secs(30 * 60),
            not_ready_retry: Duration::from_secs(5 * 60),
            give_up_after: Duration::from_secs(24 * 60 * 60),
        }
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The persisted progress of one import, keyed by [`ImportKey`]. Holds customer data (the order,
/// for a re-placement): never logged whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportRecord {
    pub key: ImportKey,
    pub sales_channel: String,
    pub order: ImportOrder,
    pub step: ImportStep,
    /// The id VTEX returned at placement (or that a lookup found), used in every later call.
    #[serde(default)]
    pub vtex_order_id: Option<String>,
    #[serde(default)]
    pub placed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub authorized_at: Option<DateTime<Utc>>,
    /// Not before this instant does start-handling go out.
    #[serde(default)]
    pub handling_due_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub handling_at: Option<DateTime<Utc>>,
    /// Start-handling calls answered 409 so far.
    #[serde(default)]
    pub not_ready_answers: u32,
    #[serde(default)]
    pub wake: Option<Wake>,
    /// Invoices that came with the order message, handed to the queue once the order is placed.
    #[serde(default)]
    pub queued_invoices: Vec<Invoice>,
    /// Bookkeeping of the invoices sent on the imported order (`order_id` = VTEX's order id).
    #[serde(default)]
    pub invoices: Vec<InvoiceRecord>,
    /// The last refusal, for operators (cleared by the next success).
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub message_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency counter; the store bumps it on each save.
    #[serde(default)]
    pub version: u64,
}

/// What to do next for an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    /// Hand the invoices that came with the order to the queue as `importInvoice` messages.
    QueueInvoices,
    /// `POST /api/fulfillment/pvt/orders`; with `look_first`, a previous attempt may have landed:
    /// GET the documented order id first and adopt the order if VTEX has it.
    Place { look_first: bool },
    /// `POST …/fulfill` (authorize dispatch).
    Authorize,
    /// `POST /api/oms/pvt/orders/{orderId}/start-handling`.
    StartHandling,
    /// Nothing before this instant: schedule a wake-up.
    WaitUntil(DateTime<Utc>),
    /// The workflow is done (invoices and tracking come as their own messages).
    Done,
}

impl ImportRecord {
    pub fn new(
        key: ImportKey,
        sales_channel: String,
        order: ImportOrder,
        invoices: Vec<Invoice>,
        message_id: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        ImportRecord {
            key,
            sales_channel,
            order,
            step: ImportStep::Received,
            vtex_order_id: None,
            placed_at: None,
            authorized_at: None,
            handling_due_at: None,
            handling_at: None,
            not_ready_answers: 0,
            wake: None,
            queued_invoices: invoices,
            invoices: Vec::new(),
            last_error: None,
            message_id,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    /// The next thing to do, from what was recorded.
    pub fn next_step(&self, now: DateTime<Utc>) -> NextStep {
        if self.step.is_placed() && !self.queued_invoices.is_empty() {
            return NextStep::QueueInvoices;
        }
        match self.step {
            ImportStep::Received => NextStep::Place { look_first: false },
            ImportStep::Placing => NextStep::Place { look_first: true },
            ImportStep::Placed | ImportStep::Authorizing => NextStep::Authorize,
            ImportStep::Authorized => match self.handling_due_at {
                Some(due) if due > now => NextStep::WaitUntil(due),
                _ => NextStep::StartHandling,
            },
            ImportStep::StartingHandling => NextStep::StartHandling,
            ImportStep::Handling => NextStep::Done,
        }
    }

    pub fn status(&self) -> ImportStatus {
        match self.step {
            ImportStep::Received => ImportStatus::Received,
            ImportStep::Placing => ImportStatus::Placing,
            ImportStep::Placed => ImportStatus::Placed,
            ImportStep::Authorizing => ImportStatus::Authorizing,
            ImportStep::Authorized => ImportStatus::Authorized,
            ImportStep::StartingHandling => ImportStatus::StartingHandling,
            ImportStep::Handling if self.fully_invoiced() => ImportStatus::Invoiced,
            ImportStep::Handling => ImportStatus::Handling,
        }
    }

    /// Sale invoices VTEX acknowledged add up to the order value.
    pub fn fully_invoiced(&self) -> bool {
        self.order_view()
            .is_some_and(|o| InvoiceTotals::of(&o, &self.invoices).fully_invoiced())
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.updated_at = now;
    }

    /// Written before the placement call.
    pub fn begin_placing(&mut self, now: DateTime<Utc>) {
        self.step = ImportStep::Placing;
        self.touch(now);
    }

    /// VTEX answered the placement with `order_id` (or a lookup found it).
    pub fn placed(&mut self, order_id: &str, now: DateTime<Utc>) {
        self.step = ImportStep::Placed;
        self.vtex_order_id = Some(order_id.to_string());
        self.placed_at = Some(now);
        self.last_error = None;
        self.touch(now);
    }

    /// VTEX refused the placement (4xx): nothing landed, a re-driven message places again.
    pub fn placement_refused(&mut self, reason: &str, now: DateTime<Utc>) {
        self.step = ImportStep::Received;
        self.last_error = Some(reason.to_string());
        self.touch(now);
    }

    pub fn begin_authorizing(&mut self, now: DateTime<Utc>) {
        self.step = ImportStep::Authorizing;
        self.touch(now);
    }

    /// Dispatch authorized at `now`: start-handling is due after the grace period.
    pub fn authorized(&mut self, now: DateTime<Utc>, timing: &ImportTiming) {
        self.step = ImportStep::Authorized;
        self.authorized_at = Some(now);
        self.handling_due_at = Some(now + chrono_duration(timing.grace));
        self.last_error = None;
        self.touch(now);
    }

    /// A refusal of authorize or start-handling, kept for operators; the step is unchanged.
    pub fn refused(&mut self, reason: &str, now: DateTime<Utc>) {
        self.last_error = Some(reason.to_string());
        self.touch(now);
    }

    pub fn begin_start_handling(&mut self, now: DateTime<Utc>) {
        self.step = ImportStep::StartingHandling;
        self.touch(now);
    }

    pub fn handling_started(&mut self, now: DateTime<Utc>) {
        self.step = ImportStep::Handling;
        self.handling_at = Some(now);
        self.wake = None;
        self.last_error = None;
        self.touch(now);
    }

    /// Start-handling answered 409 (not ready-for-handling yet): try again later.
    pub fn not_ready(&mut self, now: DateTime<Utc>, timing: &ImportTiming) {
        self.step = ImportStep::Authorized;
        self.not_ready_answers = self.not_ready_answers.saturating_add(1);
        self.handling_due_at = Some(now + chrono_duration(timing.not_ready_retry));
        self.touch(now);
    }

    /// Start-handling kept answering 409 for longer than `give_up_after` past the grace period.
    pub fn handling_overdue(&self, now: DateTime<Utc>, timing: &ImportTiming) -> bool {
        match self.authorized_at {
            Some(at) => {
                now > at + chrono_duration(timing.grace) + chrono_duration(timing.give_up_after)
            }
            None => false,
        }
    }

    /// Records the wake-up about to be scheduled (replacing any earlier one, which becomes stale).
    pub fn set_wake(&mut self, id: &str, at: DateTime<Utc>, now: DateTime<Utc>) {
        self.wake = Some(Wake {
            id: id.to_string(),
            at,
        });
        self.touch(now);
    }

    /// Whether a resume message with `wake_id` is the one this import waits for.
    pub fn is_current_wake(&self, wake_id: &str) -> bool {
        self.wake.as_ref().is_some_and(|w| w.id == wake_id)
    }

    /// The order as the invoice rules see it (an authorized order: §10 C24 lets imports invoice
    /// any time after placement). `None` before placement.
    pub fn order_view(&self) -> Option<Order> {
        let order_id = self.vtex_order_id.clone()?;
        let o = &self.order;
        let freight: HashMap<usize, Cents> = o
            .shipping_data
            .logistics_info
            .iter()
            .map(|l| (l.item_index, l.price))
            .collect();
        Some(Order {
            order_id,
            an: String::new(),
            sc: Some(self.sales_channel.clone()),
            marketplace_order_id: self.key.marketplace_order_id.clone(),
            marketplace_order_group: o.marketplace_order_group.clone(),
            marketplace_services_endpoint: None,
            marketplace_payment_value: o.marketplace_payment_value,
            status: OrderStatus::Authorized,
            lines: o
                .items
                .iter()
                .enumerate()
                .map(|(i, item)| OrderLine {
                    index: i,
                    sku_id: item.id.clone(),
                    quantity: item.quantity,
                    unit_price: item.price,
                    freight: freight.get(&i).copied().unwrap_or(Cents::ZERO),
                    selected_sla: None,
                    location_id: String::new(),
                    lock_ttl: None,
                    shipping_estimate: None,
                    delivery_window: None,
                })
                .collect(),
            address: None,
            customer: None,
            created_at: self.created_at,
            expires_at: self.created_at,
            authorized: None,
            canceled: None,
            pending_cancellation: None,
            version: 0,
        })
    }

    /// What to do with an invoice for this import: [`invoicing::decide_invoice`] against the
    /// imported order, or `Wait` until VTEX has placed it.
    pub fn decide_invoice(&self, invoice: &Invoice) -> Decision<InvoiceSend> {
        match self.order_view() {
            Some(order) => invoicing::decide_invoice(&order, &self.invoices, invoice),
            None => Decision::Wait(format!("order {} is not placed in VTEX yet", self.key)),
        }
    }

    /// What to do with tracking for one of this import's invoices ([`invoicing::decide_tracking`]).
    /// The import queue does not keep order, so tracking may overtake its invoice: an invoice not
    /// (yet) known waits, and SQS parks the message if it never comes.
    pub fn decide_tracking(
        &self,
        invoice_number: &str,
        info: &TrackingInfo,
    ) -> Decision<TrackingInfo> {
        let Some(order) = self.order_view() else {
            return Decision::Wait(format!("order {} is not placed in VTEX yet", self.key));
        };
        match invoicing::decide_tracking(&order, &self.invoices, invoice_number, info) {
            Decision::Reject(invoicing::RuleBreak::UnknownInvoice { number }) => {
                Decision::Wait(format!(
                    "invoice {number} is not acknowledged by VTEX yet (it may still be on its way)"
                ))
            }
            other => other,
        }
    }

    pub fn invoice_mut(&mut self, number: &str) -> Option<&mut InvoiceRecord> {
        self.invoices.iter_mut().find(|r| r.number() == number)
    }

    /// Adds or replaces the bookkeeping of one invoice.
    pub fn put_invoice(&mut self, record: InvoiceRecord, now: DateTime<Utc>) {
        match self.invoice_mut(record.number()) {
            Some(r) => *r = record,
            None => self.invoices.push(record),
        }
        self.touch(now);
    }
}

// =============================================================================================
// Marketplace-services endpoint: invoice notifications from VTEX (CONTRACT.md §5.5)

/// One notification as received at `POST {mse}/pub/orders/{orderId}/invoice`: any invoice-shaped
/// body, kept as received.
#[derive(Debug, Clone, PartialEq)]
pub struct MseInvoice {
    /// VTEX's order id (the path's).
    pub order_id: String,
    pub invoice_number: String,
    /// The body, as received (a JSON object).
    pub body: Value,
    /// Stable digest of `(orderId, invoiceNumber, body)`: the idempotency key.
    pub fingerprint: String,
}

/// Why a notification body is refused (4xx).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MseParseError(pub String);

/// String-typed invoice fields of a notification (null allowed).
const MSE_TEXT_FIELDS: [&str; 9] = [
    "type",
    "issuanceDate",
    "invoiceUrl",
    "invoiceKey",
    "embeddedInvoice",
    "courier",
    "trackingNumber",
    "trackingUrl",
    "dispatchedDate",
];

/// Reads a notification body: a JSON object with a non-empty `invoiceNumber`; the other invoice
/// fields, when present, of the types OMS uses (`invoiceValue` an integer or a string, §10 C13;
/// `items` an array of objects). Unknown fields are kept.
pub fn parse_mse_invoice(order_id: &str, body: &[u8]) -> Result<MseInvoice, MseParseError> {
    let bad = |m: String| Err(MseParseError(m));
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return bad(format!("body is not JSON: {e}")),
    };
    let Some(m) = value.as_object() else {
        return bad("body must be a JSON object".into());
    };
    let invoice_number = match m.get("invoiceNumber") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return bad("invoiceNumber is required".into());
        }
        Some(_) => return bad("invoiceNumber must be a string".into()),
    };
    for k in MSE_TEXT_FIELDS {
        if let Some(v) = m.get(k)
            && !matches!(v, Value::Null | Value::String(_))
        {
            return bad(format!("{k} must be a string or null"));
        }
    }
    match m.get("invoiceValue") {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(Value::Number(n)) if n.is_i64() => {}
        Some(Value::Number(_)) => return bad("invoiceValue must be integer cents".into()),
        Some(_) => return bad("invoiceValue must be a number of cents".into()),
    }
    match m.get("items") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) if items.iter().all(Value::is_object) => {}
        Some(_) => return bad("items must be an array of objects".into()),
    }
    let fingerprint = fingerprint(&[order_id, &invoice_number, &canonical_json(&value)]);
    Ok(MseInvoice {
        order_id: order_id.to_string(),
        invoice_number,
        body: value,
        fingerprint,
    })
}

/// JSON with object keys sorted at every level: equal documents give equal text, whatever the
/// key order they arrived in.
pub fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, &Value> = m.iter().collect();
            let parts: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), canonical_json(v)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical_json).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// A stable 128-bit FNV-1a digest of `parts` (each followed by a 0 byte), as 32 hex digits. Not a
/// security measure: an idempotency key that stays the same across builds and Rust versions.
pub fn fingerprint(parts: &[&str]) -> String {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h = OFFSET;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0u8)) {
            h ^= u128::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    format!("{h:032x}")
}

/// The bookkeeping of one notification: its receipt (answered again on a repeat) and whether the
/// ERP event went out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MseNotification {
    pub order_id: String,
    pub fingerprint: String,
    pub invoice_number: String,
    pub receipt: String,
    pub date: DateTime<Utc>,
    /// The import the order belongs to, when we imported it.
    #[serde(default)]
    pub import: Option<ImportKey>,
    pub published: bool,
}

/// The event the seller's ERP receives for a notification, on the order-events queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceNotified {
    /// Always [`InvoiceNotified::TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    pub version: u32,
    /// Stable per notification: the ERP de-duplicates on it.
    pub event_id: String,
    /// VTEX's order id.
    pub order_id: String,
    #[serde(default)]
    pub affiliate_id: Option<String>,
    #[serde(default)]
    pub marketplace_order_id: Option<String>,
    pub invoice_number: String,
    pub receipt: String,
    pub at: DateTime<Utc>,
    /// The notification body as VTEX sent it.
    pub invoice: Value,
}

impl InvoiceNotified {
    pub const TYPE: &'static str = "import.invoiceNotified";

    pub fn new(n: &MseNotification, body: &Value) -> Self {
        InvoiceNotified {
            kind: Self::TYPE.to_string(),
            version: CURRENT_VERSION,
            event_id: format!("mse-{}", n.fingerprint),
            order_id: n.order_id.clone(),
            affiliate_id: n.import.as_ref().map(|k| k.affiliate_id.clone()),
            marketplace_order_id: n.import.as_ref().map(|k| k.marketplace_order_id.clone()),
            invoice_number: n.invoice_number.clone(),
            receipt: n.receipt.clone(),
            at: n.date,
            invoice: body.clone(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

// =============================================================================================
// Ports

// Returned once per call and matched at once; boxing would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ImportCreate {
    /// Written, version 0.
    Created(ImportRecord),
    /// An import with the same key exists; nothing was written.
    Existing(ImportRecord),
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ImportSave {
    /// Written; the returned record carries the new version.
    Saved(ImportRecord),
    /// The stored version differs (someone else wrote first), or the record is gone.
    Conflict,
}

/// Progress of imports. Adapters: [`MemoryImports`], `aws_adapters::imports::DynamoImports`,
/// `embedded_store::imports::SqliteImports`; all pass [`contract::run`].
#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Writes `record` with version 0 unless one with the same key exists, in which case the stored
    /// one is returned. Create-once under any concurrency.
    async fn create_once(&self, record: &ImportRecord) -> Result<ImportCreate, StoreError>;

    /// The record, reading every write that completed before the call.
    async fn get(&self, key: &ImportKey) -> Result<Option<ImportRecord>, StoreError>;

    /// The import VTEX knows as `vtex_order_id` (set at placement), reading every completed save.
    async fn find_by_vtex_order_id(
        &self,
        vtex_order_id: &str,
    ) -> Result<Option<ImportRecord>, StoreError>;

    /// Replaces the record if its stored version equals `record.version`; the saved record has
    /// `version + 1`.
    async fn save(&self, record: &ImportRecord) -> Result<ImportSave, StoreError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationCreate {
    Created(MseNotification),
    /// Same `(orderId, fingerprint)` seen before: the stored one (its receipt is answered again).
    Existing(MseNotification),
}

/// Bookkeeping of the notifications received at the mse, keyed by `(order_id, fingerprint)`.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    async fn create_notification(
        &self,
        n: &MseNotification,
    ) -> Result<NotificationCreate, StoreError>;

    /// Marks the notification's ERP event as sent. Idempotent.
    async fn mark_published(&self, order_id: &str, fingerprint: &str) -> Result<(), StoreError>;
}

/// The import queue, as the worker uses it beyond receive/delete.
#[async_trait]
pub trait ImportQueue: Send + Sync {
    /// Enqueues `message` to be delivered no earlier than `delay` from now, as far as the queue
    /// allows (SQS: at most 15 minutes; the worker re-schedules until the wake-up is due).
    async fn schedule(&self, message: &ImportMessage, delay: Duration) -> Result<(), StoreError>;
}

/// The queue the seller's ERP reads (the order-events queue).
#[async_trait]
pub trait ImportEvents: Send + Sync {
    async fn publish_invoice_notified(&self, event: &InvoiceNotified) -> Result<(), StoreError>;
}

// =============================================================================================
// In-memory adapters (tests)

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// In-memory [`ImportStore`] + [`NotificationStore`]. `Clone` shares the same state.
#[derive(Debug, Clone, Default)]
pub struct MemoryImports {
    records: Arc<Mutex<BTreeMap<ImportKey, ImportRecord>>>,
    notifications: Arc<Mutex<BTreeMap<(String, String), MseNotification>>>,
}

impl MemoryImports {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn notifications(&self) -> Vec<MseNotification> {
        lock(&self.notifications).values().cloned().collect()
    }
}

#[async_trait]
impl ImportStore for MemoryImports {
    async fn create_once(&self, record: &ImportRecord) -> Result<ImportCreate, StoreError> {
        let mut m = lock(&self.records);
        if let Some(existing) = m.get(&record.key) {
            return Ok(ImportCreate::Existing(existing.clone()));
        }
        let mut stored = record.clone();
        stored.version = 0;
        m.insert(record.key.clone(), stored.clone());
        Ok(ImportCreate::Created(stored))
    }

    async fn get(&self, key: &ImportKey) -> Result<Option<ImportRecord>, StoreError> {
        Ok(lock(&self.records).get(key).cloned())
    }

    async fn find_by_vtex_order_id(
        &self,
        vtex_order_id: &str,
    ) -> Result<Option<ImportRecord>, StoreError> {
        Ok(lock(&self.records)
            .values()
            .find(|r| r.vtex_order_id.as_deref() == Some(vtex_order_id))
            .cloned())
    }

    async fn save(&self, record: &ImportRecord) -> Result<ImportSave, StoreError> {
        let mut m = lock(&self.records);
        match m.get_mut(&record.key) {
            Some(stored) if stored.version == record.version => {
                let mut next = record.clone();
                next.version += 1;
                *stored = next.clone();
                Ok(ImportSave::Saved(next))
            }
            _ => Ok(ImportSave::Conflict),
        }
    }
}

#[async_trait]
impl NotificationStore for MemoryImports {
    async fn create_notification(
        &self,
        n: &MseNotification,
    ) -> Result<NotificationCreate, StoreError> {
        let mut m = lock(&self.notifications);
        let k = (n.order_id.clone(), n.fingerprint.clone());
        if let Some(existing) = m.get(&k) {
            return Ok(NotificationCreate::Existing(existing.clone()));
        }
        m.insert(k, n.clone());
        Ok(NotificationCreate::Created(n.clone()))
    }

    async fn mark_published(&self, order_id: &str, fingerprint: &str) -> Result<(), StoreError> {
        if let Some(n) =
            lock(&self.notifications).get_mut(&(order_id.to_string(), fingerprint.to_string()))
        {
            n.published = true;
        }
        Ok(())
    }
}

/// Records what was scheduled and published (tests).
#[derive(Debug, Clone, Default)]
pub struct MemoryImportQueue {
    scheduled: Arc<Mutex<Vec<(String, Duration)>>>,
    published: Arc<Mutex<Vec<InvoiceNotified>>>,
}

impl MemoryImportQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// `(message JSON, delay)` in scheduling order; `take` empties the list.
    pub fn take_scheduled(&self) -> Vec<(String, Duration)> {
        std::mem::take(&mut *lock(&self.scheduled))
    }

    pub fn published(&self) -> Vec<InvoiceNotified> {
        lock(&self.published).clone()
    }
}

#[async_trait]
impl ImportQueue for MemoryImportQueue {
    async fn schedule(&self, message: &ImportMessage, delay: Duration) -> Result<(), StoreError> {
        lock(&self.scheduled).push((message.to_json(), delay));
        Ok(())
    }
}

#[async_trait]
impl ImportEvents for MemoryImportQueue {
    async fn publish_invoice_notified(&self, event: &InvoiceNotified) -> Result<(), StoreError> {
        lock(&self.published).push(event.clone());
        Ok(())
    }
}

/// The contract every [`ImportStore`] + [`NotificationStore`] adapter must pass; adapter tests
/// call it with a fresh store.
pub mod contract {
    use super::*;
    use chrono::TimeZone;

    /// The CONTRACT.md §12 import example (`import-place-fulfillment-order.request.json`) as an
    /// order with marketplace id `mkp`.
    pub fn sample_order(mkp: &str) -> ImportOrder {
        let v = json!({
            "marketplaceOrderId": mkp,
            "marketplaceOrderGroup": "794901324",
            "marketplacePaymentValue": 1100,
            "isCreatedAsync": true,
            "items": [ { "id": "1", "price": 900, "quantity": 1, "seller": "1" } ],
            "clientProfileData": {
                "email": "conta@dominio.com.br", "firstName": "Nome", "lastName": "Sobrenome",
                "documentType": "cpf", "document": "14310315771", "phone": "41998718616",
                "isCorporate": false
            },
            "shippingData": {
                "address": {
                    "addressId": "Casa", "addressType": "Residencial", "receiverName": "Marcelo",
                    "city": "Curitiba", "country": "BRA", "geoCoordinates": [],
                    "neighborhood": "Novo Mundo", "number": "4000", "postalCode": "81020230",
                    "state": "PR", "street": "Rua Eduardo Carlos Pereira"
                },
                "logisticsInfo": [ {
                    "itemIndex": 0, "price": 200, "selectedDeliveryChannel": "delivery",
                    "selectedSla": null, "lockTTL": "1d", "shippingEstimate": "1d"
                } ]
            },
            "openTextField": "Phones: 21998718616"
        });
        serde_json::from_value(v).unwrap_or_else(|e| panic!("sample order: {e}"))
    }

    pub fn sample(tag: &str) -> ImportRecord {
        let at = Utc
            .with_ymd_and_hms(2024, 1, 31, 12, 0, 0)
            .single()
            .unwrap_or_default();
        ImportRecord::new(
            ImportKey::new("EXT", format!("2630580124-{tag}")),
            "1".into(),
            sample_order(&format!("2630580124-{tag}")),
            Vec::new(),
            None,
            at,
        )
    }

    /// Runs every check against `imports`/`notes` (usually the same adapter). Keys are suffixed
    /// with `tag` so a shared table works.
    pub async fn run(
        imports: &dyn ImportStore,
        notes: &dyn NotificationStore,
        tag: &str,
    ) -> Result<(), String> {
        let e = |e: StoreError| e.to_string();
        let a = sample(tag);
        let created = match imports.create_once(&a).await.map_err(e)? {
            ImportCreate::Created(r) => r,
            ImportCreate::Existing(_) => return Err("fresh record reported as existing".into()),
        };
        check(created == a, "created record equals the input")?;
        let mut changed = a.clone();
        changed.sales_channel = "2".into();
        match imports.create_once(&changed).await.map_err(e)? {
            ImportCreate::Existing(r) => check(r == a, "existing record is the first one")?,
            ImportCreate::Created(_) => return Err("second create_once wrote".into()),
        }
        check(
            imports.get(&a.key).await.map_err(e)?.as_ref() == Some(&a),
            "get returns the record",
        )?;
        let missing = ImportKey::new("EXT", format!("missing-{tag}"));
        check(
            imports.get(&missing).await.map_err(e)?.is_none(),
            "get of a missing key is None",
        )?;

        let mut placed = a.clone();
        placed.placed(&format!("EXT-2630580124-{tag}"), a.created_at);
        let saved = match imports.save(&placed).await.map_err(e)? {
            ImportSave::Saved(r) => r,
            ImportSave::Conflict => return Err("save at the current version conflicted".into()),
        };
        check(saved.version == 1, "save bumps the version")?;
        check(
            imports.save(&placed).await.map_err(e)? == ImportSave::Conflict,
            "save at a stale version conflicts",
        )?;
        check(
            imports.get(&a.key).await.map_err(e)? == Some(saved.clone()),
            "the saved record reads back",
        )?;
        check(
            imports
                .save(&sample(&format!("{tag}-never")))
                .await
                .map_err(e)?
                == ImportSave::Conflict,
            "saving a record that was never created conflicts",
        )?;
        let found = imports
            .find_by_vtex_order_id(&format!("EXT-2630580124-{tag}"))
            .await
            .map_err(e)?;
        check(
            found == Some(saved),
            "find_by_vtex_order_id finds the placed import",
        )?;
        check(
            imports
                .find_by_vtex_order_id(&format!("EXT-unknown-{tag}"))
                .await
                .map_err(e)?
                .is_none(),
            "find_by_vtex_order_id of an unknown id is None",
        )?;

        let n = MseNotification {
            order_id: format!("EXT-2630580124-{tag}"),
            fingerprint: fingerprint(&[tag, "NF-1"]),
            invoice_number: "NF-1".into(),
            receipt: "r-1".into(),
            date: a.created_at,
            import: Some(a.key.clone()),
            published: false,
        };
        check(
            notes.create_notification(&n).await.map_err(e)?
                == NotificationCreate::Created(n.clone()),
            "a new notification is created",
        )?;
        let mut other_receipt = n.clone();
        other_receipt.receipt = "r-2".into();
        check(
            notes.create_notification(&other_receipt).await.map_err(e)?
                == NotificationCreate::Existing(n.clone()),
            "a repeat returns the first notification",
        )?;
        notes
            .mark_published(&n.order_id, &n.fingerprint)
            .await
            .map_err(e)?;
        let mut published = n.clone();
        published.published = true;
        check(
            notes.create_notification(&n).await.map_err(e)?
                == NotificationCreate::Existing(published),
            "mark_published is stored",
        )?;
        let mut second = n.clone();
        second.fingerprint = fingerprint(&[tag, "NF-2"]);
        check(
            matches!(
                notes.create_notification(&second).await.map_err(e)?,
                NotificationCreate::Created(_)
            ),
            "another fingerprint is another notification",
        )?;
        Ok(())
    }

    fn check(ok: bool, what: &str) -> Result<(), String> {
        if ok {
            Ok(())
        } else {
            Err(format!("contract broken: {what}"))
        }
    }
}

pub mod importer;
#[cfg(test)]
mod tests;
