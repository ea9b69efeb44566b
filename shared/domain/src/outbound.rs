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
    /// 404: for the change notification, the marketplace does not know the SKU (§6.1).
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
