//! Settings of the life cycle.

use super::*;

/// What to answer when the marketplace cancels an order we already authorized (paid, maybe being
/// picked). shared/docs/protocol.md §Cancel's default is to confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthorizedCancelPolicy {
    /// Release the stock and confirm synchronously.
    #[default]
    Confirm,
    /// Record the request and answer "evaluating" (empty body); the seller decides later by
    /// canceling (§Seller cancel) or by sending the invoice, which is the refusal.
    Evaluate,
}

/// What one placement may ask for. Beyond these a placement is refused before anything is read or
/// held: besides bounding what one order can lock up, they keep every sum of units or cents of an
/// order far inside `i64` (units × cents ≤ 10⁵ × 10¹³ would not be; the order value cap is what
/// bounds the products), so no sum downstream can wrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderLimits {
    /// Units of one item line (`MAX_UNITS_PER_LINE`).
    pub units_per_line: i64,
    /// Units of the whole order, all lines (`MAX_UNITS_PER_ORDER`).
    pub units_per_order: i64,
    /// Item lines of one order (`MAX_ORDER_LINES`).
    pub lines: usize,
    /// Any amount of the order, in cents: a unit price, a line's goods, its freight, the total
    /// (`MAX_ORDER_VALUE_CENTS`).
    pub value_cents: i64,
}

impl Default for OrderLimits {
    fn default() -> Self {
        OrderLimits {
            units_per_line: 10_000,
            units_per_order: 100_000,
            lines: 1_000,
            // 100 000 000.00: far above any retail order, far below i64.
            value_cents: 10_000_000_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleConfig {
    /// Parse-time limits of a placement.
    pub limits: OrderLimits,
    /// Reservation length when no line carries a `lockTTL`.
    pub default_lock_ttl: VtexDuration,
    /// Upper bound on a reservation, whatever `lockTTL` says: stock held for years is stock lost.
    pub max_lock_ttl: VtexDuration,
    pub authorized_cancel: AuthorizedCancelPolicy,
    /// Orders the sweeper reads per store query.
    pub sweep_batch_size: usize,
    /// Store queries per sweep; what is left waits for the next scheduled run.
    pub sweep_max_batches: usize,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig {
            limits: OrderLimits::default(),
            default_lock_ttl: VtexDuration::Days(8),
            max_lock_ttl: VtexDuration::Days(30),
            authorized_cancel: AuthorizedCancelPolicy::Confirm,
            sweep_batch_size: 100,
            sweep_max_batches: 20,
        }
    }
}
