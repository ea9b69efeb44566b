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

/// A configuration value that cannot be used; the function refuses to start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl LifecycleConfig {
    /// Reads the settings from `lookup` (the environment, in a function's `main`), defaults for
    /// what is unset:
    /// - `DEFAULT_LOCK_TTL` (`8d`): reservation length when no line carries a `lockTTL`;
    /// - `MAX_LOCK_TTL` (`30d`): cap on any reservation;
    /// - `AUTHORIZED_CANCEL_POLICY` (`confirm` | `evaluate`): marketplace cancel of an authorized
    ///   order;
    /// - `SWEEP_BATCH_SIZE` (`100`) and `SWEEP_MAX_BATCHES` (`20`): reservation sweeper paging.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut c = LifecycleConfig::default();
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let duration = |k: &str, v: String| {
            v.trim()
                .parse::<VtexDuration>()
                .map_err(|e| ConfigError(format!("{k}: {e}")))
        };
        let count = |k: &str, v: String| match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(ConfigError(format!(
                "{k} must be a positive integer, got {v:?}"
            ))),
        };
        if let Some(v) = get("DEFAULT_LOCK_TTL") {
            c.default_lock_ttl = duration("DEFAULT_LOCK_TTL", v)?;
        }
        if let Some(v) = get("MAX_LOCK_TTL") {
            c.max_lock_ttl = duration("MAX_LOCK_TTL", v)?;
        }
        if let Some(v) = get("AUTHORIZED_CANCEL_POLICY") {
            c.authorized_cancel = match v.trim().to_ascii_lowercase().as_str() {
                "confirm" => AuthorizedCancelPolicy::Confirm,
                "evaluate" => AuthorizedCancelPolicy::Evaluate,
                _ => {
                    return Err(ConfigError(format!(
                        "AUTHORIZED_CANCEL_POLICY must be confirm or evaluate, got {v:?}"
                    )));
                }
            };
        }
        if let Some(v) = get("SWEEP_BATCH_SIZE") {
            c.sweep_batch_size = count("SWEEP_BATCH_SIZE", v)?;
        }
        if let Some(v) = get("SWEEP_MAX_BATCHES") {
            c.sweep_max_batches = count("SWEEP_MAX_BATCHES", v)?;
        }
        Ok(c)
    }
}
