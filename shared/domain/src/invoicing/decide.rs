//! The rules and the decisions: what an invoice, a tracking update, a delivery status or a seller
//! cancellation may change, and what (if anything) to send.

use super::*;
use crate::invoicing::share;

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

/// `deliveredDate` as OMS documents it, `yyyy-mm-dd hh:mm`, from any form [`has_date_and_time`]
/// accepts. Decision: the wall-clock time the ERP wrote is kept (an offset or `Z` is dropped, not
/// converted): it is the carrier's local delivery time, and OMS shows it as it is. A value that does
/// not parse is sent trimmed (the rules refuse it before this is reached).
pub fn delivered_date(s: &str) -> String {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return t.naive_local().format("%Y-%m-%d %H:%M").to_string();
    }
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
    .unwrap_or_else(|| s.to_string())
}

/// A date, with or without a time (carrier event `date`).
pub fn is_date(s: &str) -> bool {
    has_date_and_time(s) || NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").is_ok()
}

/// Gate shared by every outbound message: only orders authorized by `/fulfill` reach VTEX.
pub(super) fn check_authorized(order: &Order) -> Result<(), RuleBreak> {
    match order.status {
        OrderStatus::Reserved | OrderStatus::Expired => Err(RuleBreak::NotAuthorized {
            status: order.status,
        }),
        OrderStatus::Canceled => Err(RuleBreak::OrderCanceled),
        _ => Ok(()),
    }
}

/// Per-SKU quantity of the order and the unit prices its invoice items may carry (lines of one
/// SKU summed; [`share::allowed_unit_prices`]).
pub(super) fn order_skus(order: &Order) -> HashMap<&str, (i64, Vec<Cents>)> {
    let mut m: HashMap<&str, (i64, Vec<Cents>)> = HashMap::new();
    for l in &order.lines {
        m.entry(l.sku_id.as_str())
            .or_insert_with(|| (0, share::allowed_unit_prices(order, &l.sku_id)))
            .0 += l.quantity;
    }
    m
}

pub(super) fn billed_units<'a>(
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

pub(super) fn sum_values<'a>(
    records: impl Iterator<Item = &'a InvoiceRecord>,
    kind: InvoiceType,
) -> Cents {
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
    if order.seller_cancel.is_some() {
        // VTEX may be canceling the order right now: its answer decides what this invoice meets.
        return Decision::Wait("a seller cancellation of this order is in flight".to_string());
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

/// The most the order's live invoices of `kind` may add up to, for the store to enforce
/// ([`crate::invoice_store::InvoiceStore::create_once`]): the order's value for sales; for returns,
/// what VTEX acknowledged as invoiced (returns are decided only once that is the whole value).
pub fn invoice_limit(order: &Order, records: &[InvoiceRecord], kind: InvoiceType) -> Cents {
    match kind {
        InvoiceType::Output => order.total(),
        InvoiceType::Input => InvoiceTotals::of(order, records).output_sent,
    }
}

pub(super) fn check_invoice_content(
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
                expected: prices.clone(),
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
            // A package billed at more than its share leaves the rest of the order too little to
            // be invoiced at its discounted prices: refuse it now, not at the last package.
            let mut billed_after: HashMap<String, i64> = outputs.clone();
            for (sku, &k) in &this_units {
                *billed_after.entry(sku.to_string()).or_insert(0) += k;
            }
            let rest = share::least_for_the_rest(order, &billed_after);
            if !every_unit && would_be + rest > total {
                return Err(RuleBreak::LeavesTooLittle {
                    total,
                    would_be,
                    rest,
                });
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
    // PATCH overwrites every field it carries, a null included: a field the ERP left out (or sent
    // blank, C18) is sent as VTEX already holds it, so a correction of one field erases no other.
    let registered = records
        .iter()
        .find(|r| r.invoice.invoice_number == invoice_number)
        .and_then(|r| r.tracking.as_ref())
        .filter(|t| t.state == SendState::Sent)
        .map(|t| &t.info);
    let keep = |given: &Option<String>, held: fn(&TrackingInfo) -> &Option<String>| {
        non_blank(given).or_else(|| registered.and_then(|r| held(r).clone()))
    };
    let body = TrackingInfo {
        tracking_number: number.to_string(),
        tracking_url: keep(&info.tracking_url, |t| &t.tracking_url),
        courier: keep(&info.courier, |t| &t.courier),
        dispatched_date: keep(&info.dispatched_date, |t| &t.dispatched_date),
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

pub(super) fn known_invoice<'a, T>(
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
            status.delivered_date.as_deref().map(delivered_date)
        } else {
            None
        },
        events: fresh,
    })
}

pub(super) fn check_status(status: &TrackingStatus) -> Result<(), RuleBreak> {
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
    updated.seller_cancel = None;
    updated.canceled = Some(Cancellation {
        date: now,
        receipt: receipt.to_string(),
        request_id,
        by: CanceledBy::Seller,
        reason: Some(reason.to_string()),
    });
    (updated, effect)
}

/// The order with a seller cancellation recorded as pending (before VTEX is called).
pub fn seller_cancel_pending(
    order: &Order,
    reason: &str,
    request_id: String,
    now: DateTime<Utc>,
) -> Order {
    let mut updated = order.clone();
    updated.seller_cancel = Some(PendingSellerCancel {
        request_id,
        reason: reason.trim().to_string(),
        requested_at: now,
    });
    updated
}

/// Whether an OMS order status (§Get order) says the order is canceled, or on its way there with
/// nothing left to stop it.
pub fn canceled_at_vtex(status: &str) -> bool {
    matches!(status, "canceled" | "cancel" | "canceling")
}
