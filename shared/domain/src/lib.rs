//! The connector's domain: pure types and rules, no AWS, no Lambda, no HTTP client.
//!
//! Adapters (DynamoDB, the embedded store, SQS, the VTEX client) implement the traits in [`ports`];
//! functions parse wire DTOs into these types, call the rules here, and map the result back.

pub mod auth;
pub mod catalog;
/// The catalog family of ERP messages, at its historical path.
pub use erp::catalog as catalog_messages;
pub mod catalog_notify;
pub mod catalog_sync;
pub mod clock;
pub mod dispatch;
pub mod duration;
pub mod erp;
pub mod import;
pub mod invoice_store;
pub mod invoicing;
pub mod lifecycle;
pub mod listing;
pub mod marketplaces;
#[cfg(any(test, feature = "test-support"))]
pub mod memory;
pub mod money;
pub mod order;
pub mod order_log;
pub mod outbound;
pub mod outbox;
pub mod ports;
pub mod reconcile;
pub mod shipping;
pub mod simulation;
pub mod store_support;
pub mod wire_error;
pub mod worker;

pub use duration::VtexDuration;
pub use money::Cents;
