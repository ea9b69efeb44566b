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

#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleConfig {
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
            default_lock_ttl: VtexDuration::Days(8),
            max_lock_ttl: VtexDuration::Days(30),
            authorized_cancel: AuthorizedCancelPolicy::Confirm,
            sweep_batch_size: 100,
            sweep_max_batches: 20,
        }
    }
}
