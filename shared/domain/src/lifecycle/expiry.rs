//! Expiry: reservations whose lockTTL passed.

use super::*;

/// Reason recorded (and sent to the ERP) when a reservation lapses.
pub const EXPIRY_REASON: &str = "lockTTL passed without fulfill or cancel";

/// The expired order to save (with [`StockEffect::Release`]), or `None` when the order is no
/// longer a lapsed reservation (authorized or canceled meanwhile, or not yet due).
pub fn decide_expiry(
    order: &Order,
    now: DateTime<Utc>,
    new_receipt: impl FnOnce() -> String,
) -> Option<Order> {
    if order.status != OrderStatus::Reserved || order.expires_at > now {
        return None;
    }
    let mut next = order.clone();
    next.status = OrderStatus::Expired;
    next.canceled = Some(Cancellation {
        date: now,
        receipt: new_receipt(),
        request_id: None,
        by: CanceledBy::Expiry,
        reason: Some(EXPIRY_REASON.to_string()),
    });
    Some(next)
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    /// Lapsed reservations read from the store.
    pub examined: usize,
    /// Orders moved to `EXPIRED` with their stock released.
    pub expired: Vec<OrderId>,
    /// Orders that changed under us (authorized or canceled first): left alone.
    pub skipped: usize,
    /// Orders whose expiry failed on infrastructure; the next run retries those still reserved.
    pub failed: Vec<OrderId>,
}
