//! Importing external orders into our own VTEX account (shared/docs/protocol.md §Import), and the
//! invoice notifications VTEX's OMS then sends to our marketplace-services endpoint
//! (§Marketplace services endpoint).
//!
//! A seller whose orders come from elsewhere drops an **import message** on the import queue; the
//! `order-import` worker drives the order through VTEX's fulfillment workflow, one resumable step
//! at a time:
//!
//! ```text
//!  received ─place─▶ placing ─200─▶ placed ─fulfill─▶ authorizing ─2xx─▶ authorized
//!     ▲  (4xx)          │ timeout/5xx: GET {aff}-{mkp} first,                │ grace period passes
//!     └─────────────────┘ adopt it if VTEX has it                            ▼ (queue delay, never a sleep)
//!                                           handling ◀─204─ startingHandling ◀─┘
//!                                              (409 OMS003: not ready → back to authorized, retry later)
//! ```
//! Invoices may go any time after placement (§Decisions C24), tracking after its invoice. Every
//! step is written to the [`ImportStore`] *before* its call (the `…ing` states: "a call may have
//! landed") and *after* it, so a crash or a VTEX 5xx anywhere resumes at that step and never places
//! the order twice. The `orderId` VTEX returns is persisted, never computed;
//! `{affiliateId}-{marketplaceOrderId}` is only the id looked up when a placement's answer was
//! lost.
//!
//! # Messages (JSON, `type` + `version` 1; unknown fields ignored; money in integer cents)
//! ```json
//! { "type": "importOrder",    "version": 1, "messageId": "opt", "affiliateId": "EXT", "salesChannel": "1",
//!   "order": { …EMO fulfillment order… }, "invoices": [ …optional, as the dispatch `invoice`… ] }
//! { "type": "importInvoice",  "version": 1, "affiliateId": "EXT", "marketplaceOrderId": "…", "invoice": { … } }
//! { "type": "importTracking", "version": 1, "affiliateId": "EXT", "marketplaceOrderId": "…",
//!   "invoiceNumber": "…", "tracking": { "trackingNumber": "…", "courier": …, "trackingUrl": …, "dispatchedDate": … } }
//! { "type": "importResume",   "version": 1, "affiliateId": "EXT", "marketplaceOrderId": "…", "wakeId": "…" }
//! ```
//! `importResume` is the worker's own wake-up call (scheduled through the queue's delay).
//! `affiliateId` may be left out when the worker has a default one.

use crate::catalog::SkuId;
use crate::duration::VtexDuration;
use crate::invoicing::{
    self, Decision, Invoice, InvoiceRecord, InvoiceSend, InvoiceTotals, TrackingInfo,
};
use crate::money::Cents;
use crate::order::{Address, Order, OrderLine, OrderStatus};
use crate::ports::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

/// The schema version this build reads and writes.
pub const CURRENT_VERSION: u32 = 1;

/// Largest message accepted (SQS caps messages at 256 KiB anyway).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Longest `marketplaceOrderId` accepted (it travels in URL paths and store keys).
pub const MAX_MARKETPLACE_ORDER_ID_LEN: usize = 64;

/// Most items in one imported order.
pub const MAX_ITEMS: usize = 200;

/// Order-log step names written for imports (and by the mse receiver).
pub mod steps {
    pub const RECEIVED: &str = "import.received";
    pub const PLACE: &str = "import.place";
    pub const AUTHORIZE: &str = "import.authorizeDispatch";
    pub const START_HANDLING: &str = "import.startHandling";
    pub const WAIT: &str = "import.wait";
    pub const INVOICE: &str = "import.invoice";
    pub const TRACKING: &str = "import.tracking";
    pub const MSE_INVOICE: &str = "mse.invoice";
}

mod key;
pub use key::*;
mod order;
pub use order::*;
mod message;
pub use message::*;
mod record;
pub use record::*;
mod mse;
pub use mse::*;
mod ports;
pub use ports::*;
#[cfg(any(test, feature = "test-support"))]
mod memory;
#[cfg(any(test, feature = "test-support"))]
pub use memory::*;

#[cfg(any(test, feature = "test-support"))]
pub mod contract;
pub mod importer;
#[cfg(test)]
mod tests;
