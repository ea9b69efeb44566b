//! Fulfill: the marketplace authorizes the order.

use super::*;

/// `POST /pvt/orders/{sellerOrderId}/fulfill` (shared/docs/protocol.md §Fulfill).
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
