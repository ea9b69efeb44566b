//! Cancel: by the marketplace, or confirmed after an invoice was returned.

use super::*;

/// `POST /pvt/orders/{orderId}/cancel` (shared/docs/protocol.md §Cancel).
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

/// shared/docs/protocol.md §Cancel default policy: confirm while nothing has been invoiced, refuse
/// once it has. `RETURNED` (a full return invoice came back) is confirmed too, as §Order life cycle
/// allows, without touching stock. An expired reservation already released its stock and recorded
/// an expiry "cancellation", which is what a later cancel gets back.
pub fn decide_cancel(
    order: &Order,
    req: &CancelRequest,
    now: DateTime<Utc>,
    policy: AuthorizedCancelPolicy,
    new_receipt: impl FnOnce() -> String,
) -> CancelDecision {
    decide_cancel_with_invoices(order, req, now, policy, false, new_receipt)
}

/// [`decide_cancel`] knowing whether a sale invoice of the order is in flight (recorded *Pending*,
/// or acknowledged before the order's status caught up). Such an order is not confirmed whatever
/// the policy: the invoice may already be at VTEX, and §Cancel's refuse path applies (the invoice
/// is the refusal; the request is recorded).
pub fn decide_cancel_with_invoices(
    order: &Order,
    req: &CancelRequest,
    now: DateTime<Utc>,
    policy: AuthorizedCancelPolicy,
    invoice_in_flight: bool,
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
        OrderStatus::Authorized if invoice_in_flight => CancelDecision::Refuse(record(order)),
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
