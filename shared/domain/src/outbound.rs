//! Ports for what the workers call at VTEX, beside the store ports of [`crate::ports`]: the
//! marketplace's OMS ([`MarketplaceOms`]), the seller's own account for imports ([`OwnAccount`])
//! and the catalog notifier ([`CatalogNotifier`]). The `vtex` crate implements them over HTTP;
//! tests use in-memory fakes.
//!
//! Every call answers a [`CallOutcome`] and never retries by itself: whether and when to try again
//! is the queue's job (a back-off through message visibility), so a port only classifies what VTEX
//! said. A [`CallError`] means the call could not even be built (configuration, not VTEX).

use crate::catalog::Sku;
use crate::catalog_notify::NotifyKind;
use crate::import::ImportOrder;
use crate::invoicing::{Invoice, TrackingInfo, TrackingStatus};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What VTEX said to one call.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutcome<T> {
    /// Done: a 2xx, with what the call reads from the answer.
    Success(T),
    /// 429, 5xx, timeout or connection failure: try again later, after `retry_after` if VTEX said.
    Retryable {
        retry_after: Option<Duration>,
        reason: String,
    },
    /// Refused (any other 4xx): retrying the same call will not help.
    Rejected { status: u16, body: String },
}

impl<T> CallOutcome<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> CallOutcome<U> {
        match self {
            CallOutcome::Success(t) => CallOutcome::Success(f(t)),
            CallOutcome::Retryable {
                retry_after,
                reason,
            } => CallOutcome::Retryable {
                retry_after,
                reason,
            },
            CallOutcome::Rejected { status, body } => CallOutcome::Rejected { status, body },
        }
    }
}

/// A call that could not be built: configuration, not VTEX. Retrying will not help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("VTEX client configuration: {0}")]
    Config(String),
}

pub type CallResult<T> = Result<CallOutcome<T>, CallError>;

/// OMS's receipt of an accepted call, as far as the order log needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt(pub Option<String>);

impl Receipt {
    /// The receipt as the order log shows it.
    pub fn text(&self) -> String {
        self.0.clone().unwrap_or_else(|| "(none)".into())
    }
}

/// The marketplace's OMS, for orders placed with us (and, on our own account, imported orders).
/// `an` names the account; OMS paths always carry the marketplace's order id.
#[async_trait]
pub trait MarketplaceOms: Send + Sync {
    /// Notifies an invoice (`POST …/orders/{id}/invoice`).
    async fn invoice(
        &self,
        an: &str,
        marketplace_order_id: &str,
        invoice: &Invoice,
    ) -> CallResult<Receipt>;

    /// Sets the tracking of an invoice (`PATCH …/invoice/{number}`).
    async fn tracking(
        &self,
        an: &str,
        marketplace_order_id: &str,
        invoice_number: &str,
        tracking: &TrackingInfo,
    ) -> CallResult<Receipt>;

    /// Sends carrier events of an invoice (`PUT …/invoice/{number}/tracking`).
    async fn tracking_events(
        &self,
        an: &str,
        marketplace_order_id: &str,
        invoice_number: &str,
        status: &TrackingStatus,
    ) -> CallResult<Receipt>;

    /// Cancels the order on the seller's behalf (`POST …/orders/{id}/cancel`).
    async fn cancel(
        &self,
        an: &str,
        marketplace_order_id: &str,
        reason: &str,
    ) -> CallResult<Receipt>;

    /// The order's status as OMS holds it (`GET …/orders/{id}`, §Get order), `None` when OMS has
    /// no such order. Read when a repeated seller cancel is refused: is it canceled already?
    async fn order_status(
        &self,
        an: &str,
        marketplace_order_id: &str,
    ) -> CallResult<Option<String>>;
}

/// What start-handling answered when VTEX took the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handling {
    Started,
    /// 409: the order is not ready for handling yet (VTEX's answer kept for the log).
    NotReady(String),
}

/// The fields of a VTEX order the import workflow reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VtexOrderSummary {
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub marketplace_order_id: Option<String>,
}

/// The seller's own VTEX account, into which external orders are imported. Invoices and tracking of
/// imported orders go through its OMS ([`MarketplaceOms`], with the account as `an`).
#[async_trait]
pub trait OwnAccount: MarketplaceOms {
    /// Places the fulfillment order; the VTEX order id on success.
    async fn place_order(
        &self,
        account: &str,
        affiliate_id: &str,
        sales_channel: &str,
        order: &ImportOrder,
        marketplace_services_endpoint: &str,
    ) -> CallResult<String>;

    /// Authorizes dispatch of a placed order.
    async fn authorize_dispatch(
        &self,
        account: &str,
        affiliate_id: &str,
        sales_channel: &str,
        vtex_order_id: &str,
        marketplace_order_id: &str,
    ) -> CallResult<()>;

    /// Moves the order into handling.
    async fn start_handling(&self, account: &str, vtex_order_id: &str) -> CallResult<Handling>;

    /// The order as VTEX holds it; `None` when VTEX has no such order.
    async fn get_order(
        &self,
        account: &str,
        vtex_order_id: &str,
    ) -> CallResult<Option<VtexOrderSummary>>;
}

/// What VTEX said to one catalog call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogOutcome {
    /// 2xx: notificator 202, change notification 200/202/204 (the SKU exists), suggestion 200.
    Accepted { status: u16 },
    /// 404: for the change notification, the marketplace does not know the SKU
    /// (§Change notification).
    NotFound { body: String },
    /// 429, 5xx, 408, timeout or connection failure: try again after `retry_after` if given.
    Retryable {
        retry_after: Option<Duration>,
        reason: String,
    },
    /// Any other answer: repeating the same call will not help.
    Rejected { status: u16, body: String },
}

/// The marketplace's catalog, told about our SKUs: the notificator (price, inventory), the
/// catalog change notification and, for a SKU it does not know, the SKU suggestion.
#[async_trait]
pub trait CatalogNotifier: Send + Sync {
    /// The notification of `kind` for `sku_id`.
    async fn notify(&self, kind: NotifyKind, sku_id: &str) -> Result<CatalogOutcome, CallError>;

    /// Suggests `sku` to the marketplace; `Ok(Err(reason))` when the SKU lacks what a suggestion
    /// needs (nothing is sent).
    async fn suggest(&self, sku: &Sku) -> Result<Result<CatalogOutcome, String>, CallError>;
}

/// VTEX statuses past dispatch authorization: the grace period (`window-to-cancel`) or later.
pub fn past_dispatch_authorization(status: &str) -> bool {
    matches!(
        status,
        "window-to-cancel"
            | "ready-for-handling"
            | "start-handling"
            | "handling"
            | "invoice"
            | "invoiced"
    )
}

/// VTEX statuses at or past `handling`: start-handling has nothing left to do.
pub fn past_start_handling(status: &str) -> bool {
    matches!(status, "handling" | "invoice" | "invoiced")
}

/// VTEX statuses from which the workflow never goes on.
pub fn is_canceled(status: &str) -> bool {
    matches!(status, "canceled" | "cancel" | "cancellation-requested")
}

/// Longest id that may travel in a URL path segment (VTEX order ids, SKU ids, invoice numbers and
/// seller ids are far shorter).
pub const MAX_PATH_ID_LEN: usize = 128;

/// Why `id` cannot be one opaque URL path segment, or `None` when it can: empty; `.` or `..` (the
/// `url` crate drops or pops them, so a call would reach another path with our credentials); `/`
/// or `\` (another segment, on a server that decodes `%2F`); a control character; longer than
/// [`MAX_PATH_ID_LEN`] bytes. The reason never quotes the id. Checked inbound (a path id or a
/// body id that fails is a 4xx) and by every outbound URL builder (the call is refused, so the
/// message is parked).
pub fn path_id_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("is empty")
    } else if id == "." || id == ".." {
        Some("is a dot segment")
    } else if id.len() > MAX_PATH_ID_LEN {
        Some("is longer than 128 bytes")
    } else if id.contains(['/', '\\']) {
        Some("contains a slash")
    } else if id.chars().any(char::is_control) {
        Some("contains a control character")
    } else {
        None
    }
}

#[cfg(test)]
mod path_id_tests {
    use super::*;

    #[test]
    fn ids_that_would_leave_their_path_segment_have_a_problem_and_others_none() {
        let long = "9".repeat(MAX_PATH_ID_LEN + 1);
        for bad in [
            "", ".", "..", "a/b", "a\\b", "a\u{0}b", "a\nb", "a\u{7f}", "a\u{85}b", &long,
        ] {
            let why = path_id_problem(bad);
            assert!(why.is_some(), "{bad:?} accepted");
            if bad.len() > 2 {
                assert!(!why.unwrap().contains(bad), "{why:?} quotes the id");
            }
        }
        for good in [
            "959311095",
            "959311095-01",
            "SLR-7Q2M9K4D1X8B5N3R6T0V",
            "NFe-00001",
            "...",
            "a.b",
            "a b?#%",
            &"9".repeat(MAX_PATH_ID_LEN),
        ] {
            assert_eq!(path_id_problem(good), None, "{good:?} refused");
        }
    }
}
