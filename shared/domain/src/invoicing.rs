//! Invoices, tracking and seller cancellation: the rules checked before anything reaches VTEX's OMS
//! (shared/docs/protocol.md §Invoices and tracking, §Order life cycle), the invoice state of an
//! order, and what (if anything) to send.
//!
//! Everything here is pure. The dispatcher loads the order and its [`InvoiceRecord`]s, asks one of
//! the `decide_*` functions, and carries out the [`Decision`]: record *Pending*, call VTEX, record
//! *Sent*. Because a decision is taken from what was recorded, a message delivered twice finds its
//! work already done and sends nothing again.

use crate::catalog::SkuId;
use crate::money::Cents;
use crate::order::{CanceledBy, Cancellation, Order, OrderId, OrderStatus, PendingSellerCancel};
use crate::ports::StockEffect;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Longest invoice number we accept. OMS documents no limit; fiscal numbers are far shorter.
pub const MAX_INVOICE_NUMBER_LEN: usize = 64;

/// `Output` = sale, `Input` = return (shared/docs/protocol.md §Invoices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InvoiceType {
    Output,
    Input,
}

impl InvoiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceType::Output => "Output",
            InvoiceType::Input => "Input",
        }
    }
}

/// An invoice as the ERP issues it and as OMS receives it (same field names as the OMS body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    #[serde(rename = "type")]
    pub kind: InvoiceType,
    pub invoice_number: String,
    /// This invoice's total, freight share included, in cents.
    pub invoice_value: Cents,
    /// Date **and** time (shared/docs/protocol.md §Invoices); sent as given.
    pub issuance_date: String,
    pub items: Vec<InvoiceItem>,
    #[serde(default)]
    pub invoice_key: Option<String>,
    #[serde(default)]
    pub invoice_url: Option<String>,
    /// The invoice XML text some marketplaces require.
    #[serde(default)]
    pub embedded_invoice: Option<String>,
    #[serde(default)]
    pub courier: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub tracking_url: Option<String>,
    #[serde(default)]
    pub dispatched_date: Option<String>,
}

impl Invoice {
    /// Tracking carried inside the invoice itself (C16: only when already known at invoicing).
    pub fn embedded_tracking(&self) -> Option<TrackingInfo> {
        let number = self.tracking_number.as_deref().map(str::trim).unwrap_or("");
        (!number.is_empty()).then(|| TrackingInfo {
            tracking_number: number.to_string(),
            tracking_url: non_blank(&self.tracking_url),
            courier: non_blank(&self.courier),
            dispatched_date: non_blank(&self.dispatched_date),
        })
    }

    fn items_value(&self) -> Cents {
        self.items.iter().map(|i| i.price * i.quantity).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceItem {
    /// The seller SKU id of the order line (open point O3).
    pub id: SkuId,
    pub quantity: i64,
    /// **Unit** price in cents: the order line's price as placed, or its discounted unit price
    /// ([`share`]).
    pub price: Cents,
    #[serde(default)]
    pub description: Option<String>,
}

/// Tracking of one invoice (the OMS PATCH body, §Tracking).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingInfo {
    pub tracking_number: String,
    #[serde(default)]
    pub tracking_url: Option<String>,
    #[serde(default)]
    pub courier: Option<String>,
    #[serde(default)]
    pub dispatched_date: Option<String>,
}

/// One carrier event (§Carrier events). All four fields are strings on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingEvent {
    pub city: String,
    pub state: String,
    pub description: String,
    pub date: String,
}

/// A carrier status update (the OMS PUT body, §Carrier events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingStatus {
    pub is_delivered: bool,
    #[serde(default)]
    pub delivered_date: Option<String>,
    #[serde(default)]
    pub events: Vec<TrackingEvent>,
}

/// Where one outbound call stands. *Pending* is written before the call, so a crash between the
/// call and the bookkeeping leaves a trace and the replay knows the call may have landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SendState {
    Pending,
    Sent,
    /// VTEX refused it (4xx). Does not count toward the order's sums; a re-driven message may try again.
    Rejected,
}

/// Tracking registered on an invoice, by PATCH or inside the invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingRecord {
    pub info: TrackingInfo,
    pub state: SendState,
}

/// Bookkeeping of one invoice of one order: the invoice as sent, and every tracking call made on it.
/// Keyed by `(order_id, invoice number)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceRecord {
    pub order_id: OrderId,
    pub invoice: Invoice,
    pub state: SendState,
    #[serde(default)]
    pub receipt: Option<String>,
    #[serde(default)]
    pub tracking: Option<TrackingRecord>,
    /// Carrier events VTEX acknowledged, in the order sent: the de-duplication set for PUT tracking.
    #[serde(default)]
    pub events_sent: Vec<TrackingEvent>,
    /// `deliveredDate` of the `isDelivered: true` update VTEX acknowledged; after it nothing more is sent.
    #[serde(default)]
    pub delivered_date: Option<String>,
    /// A status update written before its PUT and cleared after it (trace for a crash in between).
    #[serde(default)]
    pub status_pending: Option<TrackingStatus>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency counter; the store bumps it on each save.
    #[serde(default)]
    pub version: u64,
}

impl InvoiceRecord {
    /// A new record, *Pending*: written before the invoice is POSTed.
    pub fn pending(order_id: &str, invoice: &Invoice, now: DateTime<Utc>) -> Self {
        InvoiceRecord {
            order_id: order_id.to_string(),
            invoice: invoice.clone(),
            state: SendState::Pending,
            receipt: None,
            tracking: invoice.embedded_tracking().map(|info| TrackingRecord {
                info,
                state: SendState::Pending,
            }),
            events_sent: Vec::new(),
            delivered_date: None,
            status_pending: None,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    pub fn number(&self) -> &str {
        &self.invoice.invoice_number
    }

    /// Counts toward the order's sums: sent, or possibly sent (pending).
    pub fn is_live(&self) -> bool {
        self.state != SendState::Rejected
    }

    pub fn mark_sent(&mut self, receipt: &str, now: DateTime<Utc>) {
        self.state = SendState::Sent;
        self.receipt = Some(receipt.to_string());
        // Before the invoice is acknowledged, tracking can only have come inside it.
        if let Some(t) = self.tracking.as_mut() {
            t.state = SendState::Sent;
        }
        self.updated_at = now;
    }

    pub fn mark_rejected(&mut self, now: DateTime<Utc>) {
        self.state = SendState::Rejected;
        self.updated_at = now;
    }

    /// Whether a tracking number is registered at VTEX (required before PUT tracking,
    /// §Carrier events).
    pub fn has_tracking(&self) -> bool {
        self.tracking
            .as_ref()
            .is_some_and(|t| t.state == SendState::Sent)
    }

    pub fn is_delivered(&self) -> bool {
        self.delivered_date.is_some()
    }

    /// Records a status update as sent: its events join the de-duplication set.
    pub fn mark_status_sent(&mut self, sent: &TrackingStatus, now: DateTime<Utc>) {
        for e in &sent.events {
            if !self.events_sent.contains(e) {
                self.events_sent.push(e.clone());
            }
        }
        if sent.is_delivered {
            self.delivered_date = Some(sent.delivered_date.clone().unwrap_or_default());
        }
        self.status_pending = None;
        self.updated_at = now;
    }
}

/// A rule the ERP's message breaks. Nothing is sent; the message is logged and parked in the DLQ.
/// Messages carry ids and amounts only, never customer data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleBreak {
    #[error("order {status} was not authorized by /fulfill: nothing is sent for it")]
    NotAuthorized { status: OrderStatus },
    #[error("order is canceled")]
    OrderCanceled,
    #[error("order was returned: no further sale invoices")]
    OrderReturned,
    #[error("invoice number {number:?} is unusable: {why}")]
    InvalidInvoiceNumber { number: String, why: &'static str },
    #[error("invoice number {number} was already used for a different invoice of this order")]
    InvoiceNumberReused { number: String },
    #[error("invoiceValue must be > 0 cents, got {value}")]
    NonPositiveValue { value: Cents },
    #[error("{field} must carry a date and a time, got {value:?}")]
    BadDateTime { field: &'static str, value: String },
    #[error("an invoice needs at least one item")]
    NoItems,
    #[error("item {sku}: quantity must be > 0, got {quantity}")]
    BadQuantity { sku: SkuId, quantity: i64 },
    #[error("item {sku}: price must be >= 0 cents, got {price}")]
    NegativePrice { sku: SkuId, price: Cents },
    #[error("item {sku} is not on this order")]
    UnknownSku { sku: SkuId },
    #[error(
        "item {sku}: unit price {price} is neither the order's price nor its discounted unit price (one of {})",
        list(expected)
    )]
    PriceMismatch {
        sku: SkuId,
        price: Cents,
        /// The line's price as placed, then its discounted unit prices (invoicing::share).
        expected: Vec<Cents>,
    },
    #[error(
        "item {sku}: {requested} more units would exceed the {allowed} available ({already} already billed)"
    )]
    QuantityExceeded {
        sku: SkuId,
        allowed: i64,
        already: i64,
        requested: i64,
    },
    #[error("invoiceValue {value} is below the {items} its items are worth")]
    ValueBelowItems { value: Cents, items: Cents },
    #[error("sale invoices would add up to {would_be}, above the order total {total}")]
    ExceedsTotal { total: Cents, would_be: Cents },
    #[error(
        "every unit would be invoiced but invoices add up to {would_be}, not the order total {total}"
    )]
    IncompleteTotal { total: Cents, would_be: Cents },
    #[error(
        "sale invoices would add up to {would_be}, leaving less than the {rest} the units not yet invoiced are worth at their discounted prices (order total {total})"
    )]
    LeavesTooLittle {
        total: Cents,
        would_be: Cents,
        rest: Cents,
    },
    #[error("a return (Input) invoice needs the order fully invoiced and acknowledged first")]
    NotFullyInvoiced,
    #[error("returns would add up to {would_be}, above the {invoiced} invoiced")]
    ReturnExceedsInvoiced { invoiced: Cents, would_be: Cents },
    #[error("invoice {number} is unknown for this order")]
    UnknownInvoice { number: String },
    #[error("invoice {number} is a return (Input): tracking goes on sale invoices")]
    TrackingOnReturn { number: String },
    #[error("trackingNumber is required and must be printable")]
    MissingTrackingNumber,
    #[error("invoice {number} has no tracking number registered yet")]
    NoTrackingRegistered { number: String },
    #[error("isDelivered is true but deliveredDate is missing")]
    DeliveredWithoutDate,
    #[error("events[{index}].{field} is missing or unusable")]
    BadEvent { index: usize, field: &'static str },
    #[error("a partially invoiced order cannot be canceled")]
    PartiallyInvoiced,
    #[error("an invoiced order is canceled only after a full return (Input) invoice")]
    InvoicedNeedsReturn,
    #[error("a cancellation needs a reason")]
    MissingReason,
}

impl RuleBreak {
    /// Stable machine code, for the DLQ message attribute and alarms.
    pub fn code(&self) -> &'static str {
        match self {
            RuleBreak::NotAuthorized { .. } => "NOT_AUTHORIZED",
            RuleBreak::OrderCanceled => "ORDER_CANCELED",
            RuleBreak::OrderReturned => "ORDER_RETURNED",
            RuleBreak::InvalidInvoiceNumber { .. } => "INVALID_INVOICE_NUMBER",
            RuleBreak::InvoiceNumberReused { .. } => "INVOICE_NUMBER_REUSED",
            RuleBreak::NonPositiveValue { .. } => "NON_POSITIVE_VALUE",
            RuleBreak::BadDateTime { .. } => "BAD_DATE",
            RuleBreak::NoItems => "NO_ITEMS",
            RuleBreak::BadQuantity { .. } => "BAD_QUANTITY",
            RuleBreak::NegativePrice { .. } => "NEGATIVE_PRICE",
            RuleBreak::UnknownSku { .. } => "UNKNOWN_SKU",
            RuleBreak::PriceMismatch { .. } => "PRICE_MISMATCH",
            RuleBreak::QuantityExceeded { .. } => "QUANTITY_EXCEEDED",
            RuleBreak::ValueBelowItems { .. } => "VALUE_BELOW_ITEMS",
            RuleBreak::ExceedsTotal { .. } => "EXCEEDS_TOTAL",
            RuleBreak::IncompleteTotal { .. } => "INCOMPLETE_TOTAL",
            RuleBreak::LeavesTooLittle { .. } => "LEAVES_TOO_LITTLE",
            RuleBreak::NotFullyInvoiced => "NOT_FULLY_INVOICED",
            RuleBreak::ReturnExceedsInvoiced { .. } => "RETURN_EXCEEDS_INVOICED",
            RuleBreak::UnknownInvoice { .. } => "UNKNOWN_INVOICE",
            RuleBreak::TrackingOnReturn { .. } => "TRACKING_ON_RETURN",
            RuleBreak::MissingTrackingNumber => "MISSING_TRACKING_NUMBER",
            RuleBreak::NoTrackingRegistered { .. } => "NO_TRACKING_REGISTERED",
            RuleBreak::DeliveredWithoutDate => "DELIVERED_WITHOUT_DATE",
            RuleBreak::BadEvent { .. } => "BAD_EVENT",
            RuleBreak::PartiallyInvoiced => "PARTIALLY_INVOICED",
            RuleBreak::InvoicedNeedsReturn => "INVOICED_NEEDS_RETURN",
            RuleBreak::MissingReason => "MISSING_REASON",
        }
    }
}

/// What to do with one ERP message.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision<T> {
    /// Record it as pending, send it, record it as sent.
    Send(T),
    /// The work is already done (a duplicate delivery): send nothing.
    Nothing(String),
    /// Not yet: something it depends on is still in flight. Retry the message later.
    Wait(String),
    /// A rule is broken: send nothing, log it, park the message in the DLQ.
    Reject(RuleBreak),
}

/// How to carry out an invoice decision.
#[derive(Debug, Clone, PartialEq)]
pub enum InvoiceSend {
    /// No record yet: create it *Pending*, then POST.
    New,
    /// A record exists that may or may not have reached VTEX (pending) or was refused (rejected):
    /// POST it again. Re-POSTing the same invoiceNumber changes nothing at OMS (C15).
    Again(Box<InvoiceRecord>),
}

pub(super) fn non_blank(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn list(prices: &[Cents]) -> String {
    prices
        .iter()
        .map(Cents::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

mod decide;
pub mod share;
pub use decide::*;

#[cfg(test)]
mod tests;
