//! Order life cycle: placement, fulfill, cancel, expiry (shared/docs/protocol.md §Placement,
//! §Fulfill, §Cancel, §Order life cycle).
//!
//! Each operation has two halves. A pure decision over the stored order (`decide_*`, `plan_*`),
//! tested without I/O, and an orchestration in [`Lifecycle`] that reads through the ports, writes
//! with the store's optimistic version check, re-reads and re-decides on a
//! [`SaveOutcome::Conflict`] and appends to the order log. A transition's ERP event is written to
//! the outbox in the same store write as its state ([`OrderStore::save_emitting`]); the outbox
//! relay ([`crate::outbox::OutboxRelay`]) delivers it. Replays of a transition write the event
//! again if none is pending (at-least-once; the ERP de-duplicates on the stable `event_id`).
//!
//! Business refusals are `Ok(outcome)`; `Err(StoreError)` is for infrastructure only.
//! Nothing here logs customer data: tracing fields are ids, statuses and counts.

use crate::catalog::{LocationId, Sku, SkuId};
use crate::clock::Clock;
use crate::duration::VtexDuration;
use crate::invoice_store::InvoiceStore;
use crate::money::Cents;
use crate::order::value::LineAmounts;
use crate::order::{
    Address, CanceledBy, Cancellation, Customer, DeliveryWindow, LineAdjustments, LogEntry, Order,
    OrderId, OrderLine, OrderStatus, OrderValue, Outcome, Receipt,
};
use crate::outbox::{Outbox, OutboxRelay};
use crate::ports::{
    CatalogReader, OrderEvent, OrderEventKind, OrderEventLine, OrderEvents, OrderStore,
    PlaceOutcome, SaveOutcome, StockEffect, StoreError,
};
use crate::shipping::{ShippingRules, SlaSource};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

#[cfg(test)]
mod tests;

/// Version of the [`OrderEvent`] schema this module publishes.
pub const EVENT_VERSION: u32 = 1;

/// Prefix of our order ids (`sellerOrderId`): `SLR-` and 20 Crockford base-32 characters.
pub const ORDER_ID_PREFIX: &str = "SLR-";

/// How many times a write that lost an optimistic-concurrency race is re-decided before giving up.
/// Each retry re-reads the order, so only a storm of writers on one order can exhaust it.
const MAX_ATTEMPTS: usize = 8;

/// Log step names, as operators read them in the order log.
pub mod steps {
    pub const PLACEMENT: &str = "placement";
    pub const FULFILL: &str = "fulfill";
    pub const CANCEL: &str = "cancel";
    pub const EXPIRY: &str = "expiry";
}

mod ids;
pub use ids::*;
mod config;
pub use config::*;
mod placement;
pub use placement::*;
mod fulfill;
pub use fulfill::*;
mod cancel;
pub use cancel::*;
mod expiry;
pub use expiry::*;
mod events;
pub use events::*;
mod service;
pub use service::*;
mod deps;
pub use deps::*;
