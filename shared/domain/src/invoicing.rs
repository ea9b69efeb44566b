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
use crate::order::{CanceledBy, Cancellation, Order, OrderId, OrderStatus};
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
    /// **Unit** price in cents; must equal the order line's unit price.
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
    #[error("item {sku}: unit price {price} does not match the order's {expected}")]
    PriceMismatch {
        sku: SkuId,
        price: Cents,
        expected: Cents,
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

/// Checks an invoice invoice number for characters VTEX mishandles in a URL path segment (PATCH and
/// PUT put the number in the path; OMS decodes `%2F` and friends inconsistently) or in its indexes.
///
/// Decision: printable ASCII only, 1..=64 characters, none of `/ ? # % \ & + " ' < > ; ` { } | ^ [ ]`
/// or space, and not `.`/`..` (path-segment meaning).
pub fn check_invoice_number(number: &str) -> Result<(), RuleBreak> {
    let bad = |why: &'static str| RuleBreak::InvalidInvoiceNumber {
        number: number.chars().take(MAX_INVOICE_NUMBER_LEN).collect(),
        why,
    };
    if number.is_empty() {
        return Err(bad("empty"));
    }
    if number.len() > MAX_INVOICE_NUMBER_LEN {
        return Err(bad("longer than 64 characters"));
    }
    if number == "." || number == ".." {
        return Err(bad("a path-segment dot"));
    }
    for c in number.chars() {
        if !c.is_ascii() {
            return Err(bad("non-ASCII character"));
        }
        if c.is_ascii_control() {
            return Err(bad("control character"));
        }
        if c == ' ' {
            return Err(bad("space"));
        }
        if "/?#%\\&+\"'<>;`{}|^[]".contains(c) {
            return Err(bad("URL-reserved character"));
        }
    }
    Ok(())
}

/// A date with a time: RFC 3339 (`2024-01-31T18:25:43-05:00`) or `yyyy-MM-dd[T ]HH:mm[:ss[.f]]`.
pub fn has_date_and_time(s: &str) -> bool {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s).is_ok()
        || [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ]
        .iter()
        .any(|f| NaiveDateTime::parse_from_str(s, f).is_ok())
}

/// A date, with or without a time (carrier event `date`).
pub fn is_date(s: &str) -> bool {
    has_date_and_time(s) || NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").is_ok()
}

fn non_blank(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Gate shared by every outbound message: only orders authorized by `/fulfill` reach VTEX.
fn check_authorized(order: &Order) -> Result<(), RuleBreak> {
    match order.status {
        OrderStatus::Reserved | OrderStatus::Expired => Err(RuleBreak::NotAuthorized {
            status: order.status,
        }),
        OrderStatus::Canceled => Err(RuleBreak::OrderCanceled),
        _ => Ok(()),
    }
}

/// Per-SKU quantity and unit price of the order (lines of one SKU summed).
fn order_skus(order: &Order) -> HashMap<&str, (i64, Vec<Cents>)> {
    let mut m: HashMap<&str, (i64, Vec<Cents>)> = HashMap::new();
    for l in &order.lines {
        let e = m.entry(l.sku_id.as_str()).or_default();
        e.0 += l.quantity;
        e.1.push(l.unit_price);
    }
    m
}

fn billed_units<'a>(
    records: impl Iterator<Item = &'a InvoiceRecord>,
    kind: InvoiceType,
) -> HashMap<String, i64> {
    let mut m = HashMap::new();
    for r in records.filter(|r| r.invoice.kind == kind) {
        for i in &r.invoice.items {
            *m.entry(i.id.clone()).or_insert(0) += i.quantity;
        }
    }
    m
}

fn sum_values<'a>(records: impl Iterator<Item = &'a InvoiceRecord>, kind: InvoiceType) -> Cents {
    records
        .filter(|r| r.invoice.kind == kind)
        .map(|r| r.invoice.invoice_value)
        .sum()
}

/// Money and quantities of an order's invoices, from its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvoiceTotals {
    pub order_total: Cents,
    /// Sale invoices VTEX acknowledged.
    pub output_sent: Cents,
    /// Sale invoices sent or in flight.
    pub output_live: Cents,
    pub input_sent: Cents,
    pub input_live: Cents,
}

impl InvoiceTotals {
    pub fn of(order: &Order, records: &[InvoiceRecord]) -> Self {
        let sent = || records.iter().filter(|r| r.state == SendState::Sent);
        let live = || records.iter().filter(|r| r.is_live());
        InvoiceTotals {
            order_total: order.total(),
            output_sent: sum_values(sent(), InvoiceType::Output),
            output_live: sum_values(live(), InvoiceType::Output),
            input_sent: sum_values(sent(), InvoiceType::Input),
            input_live: sum_values(live(), InvoiceType::Input),
        }
    }

    pub fn fully_invoiced(&self) -> bool {
        self.output_sent == self.order_total && self.output_live == self.order_total
    }

    pub fn fully_returned(&self) -> bool {
        self.fully_invoiced() && self.input_sent >= self.output_sent
    }
}

/// Decides what to do with an invoice from the ERP (shared/docs/protocol.md §Invoices,
/// §Order life cycle).
pub fn decide_invoice(
    order: &Order,
    records: &[InvoiceRecord],
    invoice: &Invoice,
) -> Decision<InvoiceSend> {
    let existing = records
        .iter()
        .find(|r| r.invoice.invoice_number == invoice.invoice_number);
    // A duplicate of what VTEX already acknowledged is a no-op whatever happened since.
    if let Some(rec) = existing
        && rec.state == SendState::Sent
        && rec.invoice == *invoice
    {
        return Decision::Nothing(format!(
            "invoice {} already acknowledged by VTEX",
            invoice.invoice_number
        ));
    }
    if let Err(r) = check_authorized(order) {
        return Decision::Reject(r);
    }
    if let Err(r) = check_invoice_number(&invoice.invoice_number) {
        return Decision::Reject(r);
    }
    if let Some(rec) = existing {
        if rec.invoice != *invoice {
            return Decision::Reject(RuleBreak::InvoiceNumberReused {
                number: invoice.invoice_number.clone(),
            });
        }
        match rec.state {
            SendState::Sent => {
                return Decision::Nothing(format!(
                    "invoice {} already acknowledged by VTEX",
                    invoice.invoice_number
                ));
            }
            // Already counted in the sums when it was created.
            SendState::Pending => return Decision::Send(InvoiceSend::Again(Box::new(rec.clone()))),
            SendState::Rejected => {}
        }
    }
    let others: Vec<&InvoiceRecord> = records
        .iter()
        .filter(|r| r.is_live() && r.invoice.invoice_number != invoice.invoice_number)
        .collect();
    if let Err(r) = check_invoice_content(order, &others, invoice) {
        return Decision::Reject(r);
    }
    match existing {
        Some(rec) => Decision::Send(InvoiceSend::Again(Box::new(rec.clone()))),
        None => Decision::Send(InvoiceSend::New),
    }
}

fn check_invoice_content(
    order: &Order,
    others: &[&InvoiceRecord],
    invoice: &Invoice,
) -> Result<(), RuleBreak> {
    if invoice.invoice_value <= Cents::ZERO {
        return Err(RuleBreak::NonPositiveValue {
            value: invoice.invoice_value,
        });
    }
    if !has_date_and_time(&invoice.issuance_date) {
        return Err(RuleBreak::BadDateTime {
            field: "issuanceDate",
            value: invoice.issuance_date.chars().take(40).collect(),
        });
    }
    if invoice.items.is_empty() {
        return Err(RuleBreak::NoItems);
    }
    let skus = order_skus(order);
    for item in &invoice.items {
        if item.quantity <= 0 {
            return Err(RuleBreak::BadQuantity {
                sku: item.id.clone(),
                quantity: item.quantity,
            });
        }
        if item.price.is_negative() {
            return Err(RuleBreak::NegativePrice {
                sku: item.id.clone(),
                price: item.price,
            });
        }
        let Some((_, prices)) = skus.get(item.id.as_str()) else {
            return Err(RuleBreak::UnknownSku {
                sku: item.id.clone(),
            });
        };
        if !prices.contains(&item.price) {
            return Err(RuleBreak::PriceMismatch {
                sku: item.id.clone(),
                price: item.price,
                expected: prices[0],
            });
        }
    }
    let items_value = invoice.items_value();
    if invoice.invoice_value < items_value {
        return Err(RuleBreak::ValueBelowItems {
            value: invoice.invoice_value,
            items: items_value,
        });
    }
    let mut this_units: HashMap<&str, i64> = HashMap::new();
    for i in &invoice.items {
        *this_units.entry(i.id.as_str()).or_insert(0) += i.quantity;
    }
    let total = order.total();
    let outputs = billed_units(others.iter().copied(), InvoiceType::Output);
    let output_value = sum_values(others.iter().copied(), InvoiceType::Output);
    match invoice.kind {
        InvoiceType::Output => {
            if order.status == OrderStatus::Returned {
                return Err(RuleBreak::OrderReturned);
            }
            for (sku, &requested) in &this_units {
                let allowed = skus.get(sku).map(|s| s.0).unwrap_or(0);
                let already = outputs.get(*sku).copied().unwrap_or(0);
                if already + requested > allowed {
                    return Err(RuleBreak::QuantityExceeded {
                        sku: sku.to_string(),
                        allowed,
                        already,
                        requested,
                    });
                }
            }
            let would_be = output_value + invoice.invoice_value;
            if would_be > total {
                return Err(RuleBreak::ExceedsTotal { total, would_be });
            }
            let every_unit = skus.iter().all(|(sku, (qty, _))| {
                outputs.get(*sku).copied().unwrap_or(0) + this_units.get(sku).copied().unwrap_or(0)
                    >= *qty
            });
            if every_unit && would_be != total {
                return Err(RuleBreak::IncompleteTotal { total, would_be });
            }
        }
        InvoiceType::Input => {
            // Returns refund only once the full amount was invoiced (OMS), so every sale invoice
            // must be acknowledged, not merely in flight.
            let outputs_sent = others
                .iter()
                .filter(|r| r.invoice.kind == InvoiceType::Output)
                .all(|r| r.state == SendState::Sent);
            if !outputs_sent || output_value != total {
                return Err(RuleBreak::NotFullyInvoiced);
            }
            let returned = billed_units(others.iter().copied(), InvoiceType::Input);
            for (sku, &requested) in &this_units {
                let allowed = outputs.get(*sku).copied().unwrap_or(0);
                let already = returned.get(*sku).copied().unwrap_or(0);
                if already + requested > allowed {
                    return Err(RuleBreak::QuantityExceeded {
                        sku: sku.to_string(),
                        allowed,
                        already,
                        requested,
                    });
                }
            }
            let would_be =
                sum_values(others.iter().copied(), InvoiceType::Input) + invoice.invoice_value;
            if would_be > output_value {
                return Err(RuleBreak::ReturnExceedsInvoiced {
                    invoiced: output_value,
                    would_be,
                });
            }
        }
    }
    Ok(())
}

/// Decides whether to PATCH tracking onto an invoice (§Tracking). `Send` carries the PATCH body.
pub fn decide_tracking(
    order: &Order,
    records: &[InvoiceRecord],
    invoice_number: &str,
    info: &TrackingInfo,
) -> Decision<TrackingInfo> {
    let number = info.tracking_number.trim();
    // Never PATCH blank strings: they would erase what VTEX holds (C18).
    let body = TrackingInfo {
        tracking_number: number.to_string(),
        tracking_url: non_blank(&info.tracking_url),
        courier: non_blank(&info.courier),
        dispatched_date: non_blank(&info.dispatched_date),
    };
    let already = records.iter().any(|r| {
        r.invoice.invoice_number == invoice_number
            && r.tracking
                .as_ref()
                .is_some_and(|t| t.state == SendState::Sent && t.info == body)
    });
    if already {
        return Decision::Nothing(format!(
            "tracking of invoice {invoice_number} already acknowledged by VTEX"
        ));
    }
    if let Err(r) = check_authorized(order) {
        return Decision::Reject(r);
    }
    if number.is_empty() || number.chars().any(char::is_control) {
        return Decision::Reject(RuleBreak::MissingTrackingNumber);
    }
    let rec = match known_invoice(records, invoice_number) {
        Ok(r) => r,
        Err(d) => return d,
    };
    if rec.invoice.kind == InvoiceType::Input {
        return Decision::Reject(RuleBreak::TrackingOnReturn {
            number: invoice_number.to_string(),
        });
    }
    Decision::Send(body)
}

fn known_invoice<'a, T>(
    records: &'a [InvoiceRecord],
    invoice_number: &str,
) -> Result<&'a InvoiceRecord, Decision<T>> {
    match records
        .iter()
        .find(|r| r.invoice.invoice_number == invoice_number)
    {
        None => Err(Decision::Reject(RuleBreak::UnknownInvoice {
            number: invoice_number.to_string(),
        })),
        Some(r) if r.state == SendState::Rejected => {
            Err(Decision::Reject(RuleBreak::UnknownInvoice {
                number: invoice_number.to_string(),
            }))
        }
        Some(r) if r.state == SendState::Pending => Err(Decision::Wait(format!(
            "invoice {invoice_number} is not acknowledged by VTEX yet"
        ))),
        Some(r) => Ok(r),
    }
}

/// Decides what carrier status to PUT (§Carrier events): only the events not sent before (decision
/// on O4), nothing after delivery. `Send` carries the PUT body.
pub fn decide_status(
    order: &Order,
    records: &[InvoiceRecord],
    invoice_number: &str,
    status: &TrackingStatus,
) -> Decision<TrackingStatus> {
    if let Some(rec) = records
        .iter()
        .find(|r| r.invoice.invoice_number == invoice_number && r.state == SendState::Sent)
    {
        if rec.is_delivered() {
            return Decision::Nothing(format!(
                "invoice {invoice_number} was already reported delivered; later updates are not sent"
            ));
        }
        if !status.is_delivered && status.events.iter().all(|e| rec.events_sent.contains(e)) {
            return Decision::Nothing(format!(
                "no carrier event on invoice {invoice_number} that was not sent before"
            ));
        }
    }
    if let Err(r) = check_authorized(order) {
        return Decision::Reject(r);
    }
    if let Err(r) = check_status(status) {
        return Decision::Reject(r);
    }
    let rec = match known_invoice(records, invoice_number) {
        Ok(r) => r,
        Err(d) => return d,
    };
    if rec.invoice.kind == InvoiceType::Input {
        return Decision::Reject(RuleBreak::TrackingOnReturn {
            number: invoice_number.to_string(),
        });
    }
    if !rec.has_tracking() {
        return Decision::Reject(RuleBreak::NoTrackingRegistered {
            number: invoice_number.to_string(),
        });
    }
    if rec.is_delivered() {
        return Decision::Nothing(format!(
            "invoice {invoice_number} was already reported delivered; later updates are not sent"
        ));
    }
    let mut fresh: Vec<TrackingEvent> = Vec::new();
    for e in &status.events {
        if !rec.events_sent.contains(e) && !fresh.contains(e) {
            fresh.push(e.clone());
        }
    }
    if fresh.is_empty() && !status.is_delivered {
        return Decision::Nothing(format!(
            "no carrier event on invoice {invoice_number} that was not sent before"
        ));
    }
    Decision::Send(TrackingStatus {
        is_delivered: status.is_delivered,
        delivered_date: if status.is_delivered {
            status
                .delivered_date
                .as_deref()
                .map(|d| d.trim().to_string())
        } else {
            None
        },
        events: fresh,
    })
}

fn check_status(status: &TrackingStatus) -> Result<(), RuleBreak> {
    if status.is_delivered {
        match status.delivered_date.as_deref().map(str::trim) {
            None | Some("") => return Err(RuleBreak::DeliveredWithoutDate),
            Some(d) if !has_date_and_time(d) => {
                return Err(RuleBreak::BadDateTime {
                    field: "deliveredDate",
                    value: d.chars().take(40).collect(),
                });
            }
            Some(_) => {}
        }
    }
    for (index, e) in status.events.iter().enumerate() {
        if e.description.trim().is_empty() {
            return Err(RuleBreak::BadEvent {
                index,
                field: "description",
            });
        }
        if !is_date(&e.date) {
            return Err(RuleBreak::BadEvent {
                index,
                field: "date",
            });
        }
    }
    Ok(())
}

/// Decides on a seller cancellation (§Seller cancel): allowed before any invoice, or after a full
/// return.
pub fn decide_cancel(order: &Order, records: &[InvoiceRecord], reason: &str) -> Decision<()> {
    match order.status {
        OrderStatus::Canceled => {
            return Decision::Nothing("order is already canceled".to_string());
        }
        OrderStatus::Reserved | OrderStatus::Expired => {
            return Decision::Reject(RuleBreak::NotAuthorized {
                status: order.status,
            });
        }
        _ => {}
    }
    if reason.trim().is_empty() {
        return Decision::Reject(RuleBreak::MissingReason);
    }
    let totals = InvoiceTotals::of(order, records);
    if records
        .iter()
        .any(|r| r.is_live() && r.state == SendState::Pending)
    {
        return Decision::Wait("an invoice of this order is still in flight".to_string());
    }
    if totals.output_live == Cents::ZERO {
        return Decision::Send(());
    }
    if totals.output_live < totals.order_total {
        return Decision::Reject(RuleBreak::PartiallyInvoiced);
    }
    if totals.fully_returned() {
        Decision::Send(())
    } else {
        Decision::Reject(RuleBreak::InvoicedNeedsReturn)
    }
}

/// The status an order's acknowledged invoices put it in (shared/docs/protocol.md
/// §Order life cycle). Orders that are not (or no longer) authorized keep their status.
pub fn derive_status(order: &Order, records: &[InvoiceRecord]) -> OrderStatus {
    if matches!(
        order.status,
        OrderStatus::Reserved | OrderStatus::Expired | OrderStatus::Canceled
    ) {
        return order.status;
    }
    let t = InvoiceTotals::of(order, records);
    if t.output_sent == Cents::ZERO {
        return order.status;
    }
    if t.output_sent < t.order_total {
        return OrderStatus::PartiallyInvoiced;
    }
    if t.input_sent > Cents::ZERO && t.input_sent >= t.output_sent {
        return OrderStatus::Returned;
    }
    let sales: Vec<&InvoiceRecord> = records
        .iter()
        .filter(|r| r.state == SendState::Sent && r.invoice.kind == InvoiceType::Output)
        .collect();
    if sales.iter().all(|r| r.is_delivered()) {
        OrderStatus::Delivered
    } else if sales.iter().all(|r| r.has_tracking()) {
        OrderStatus::Shipped
    } else {
        OrderStatus::Invoiced
    }
}

/// The order write that brings `order` in line with its invoices, if any: the new status and the
/// stock effect (units leave with `Ship` when the order is fully invoiced).
pub fn status_update(order: &Order, records: &[InvoiceRecord]) -> Option<(Order, StockEffect)> {
    let next = derive_status(order, records);
    if next == order.status {
        return None;
    }
    let effect = if order.status.holds_stock() && !next.holds_stock() {
        StockEffect::Ship
    } else {
        StockEffect::None
    };
    let mut updated = order.clone();
    updated.status = next;
    Some((updated, effect))
}

/// The order write after VTEX confirmed a seller cancellation: held stock is released; stock that
/// already left (a returned order) is not touched here, the ERP restocks returns itself.
pub fn canceled_by_seller(
    order: &Order,
    receipt: &str,
    reason: &str,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> (Order, StockEffect) {
    let effect = if order.status.holds_stock() {
        StockEffect::Release
    } else {
        StockEffect::None
    };
    let mut updated = order.clone();
    updated.status = OrderStatus::Canceled;
    updated.canceled = Some(Cancellation {
        date: now,
        receipt: receipt.to_string(),
        request_id,
        by: CanceledBy::Seller,
        reason: Some(reason.to_string()),
    });
    (updated, effect)
}

#[cfg(test)]
mod tests;
