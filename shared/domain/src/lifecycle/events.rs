//! Events for the ERP.

use super::*;

pub fn event_kind_name(kind: OrderEventKind) -> &'static str {
    match kind {
        OrderEventKind::Authorized => "order.authorized",
        OrderEventKind::Canceled => "order.canceled",
        OrderEventKind::Expired => "order.expired",
    }
}

/// The ERP event for a transition of `order` to `kind`. Built only from stored state, so a replay
/// produces the identical event (same `event_id`, same `at`).
pub fn order_event(order: &Order, kind: OrderEventKind) -> OrderEvent {
    let (at, reason) = match kind {
        OrderEventKind::Authorized => (order.authorized.as_ref().map(|r| r.date), None),
        OrderEventKind::Canceled | OrderEventKind::Expired => (
            order.canceled.as_ref().map(|c| c.date),
            order.canceled.as_ref().and_then(|c| c.reason.clone()),
        ),
    };
    OrderEvent {
        kind,
        version: EVENT_VERSION,
        event_id: format!("{}:{}", order.order_id, event_kind_name(kind)),
        order_id: order.order_id.clone(),
        marketplace_order_id: order.marketplace_order_id.clone(),
        an: order.an.clone(),
        at: at.unwrap_or(order.created_at),
        lines: order
            .lines
            .iter()
            .map(|l| OrderEventLine {
                sku_id: l.sku_id.clone(),
                quantity: l.quantity,
                location_id: l.location_id.clone(),
            })
            .collect(),
        reason,
    }
}
