//! The ERP's messages, all three families behind one versioned envelope ([`envelope::open`]: size,
//! JSON, `type`, `version`, in that order, before any payload is read):
//! - the dispatch messages, here;
//! - the catalog messages (`sku.upsert`, `price.changed`, `stock.changed`, `notify.due`):
//!   [`catalog`] (also at its historical path `crate::catalog_messages`);
//! - the import messages: [`import`] (the types live with the import workflow).
//!
//! Messages the seller's ERP drops on the dispatch queue (SQS FIFO, one message group per order):
//! invoices, tracking, carrier status and seller cancellations. Versioned JSON with a `type`
//! discriminator; each payload has exactly the shape of the OMS body it becomes
//! (shared/docs/protocol.md §Invoices and tracking).
//!
//! ```json
//! { "type": "invoice",        "version": 1, "orderId": "…" | "marketplaceOrderId": "…", "an": "…",
//!   "messageId": "optional, for the log",  "invoice": { "type": "Output", "invoiceNumber": … } }
//! { "type": "tracking",       "version": 1, …, "invoiceNumber": "…", "tracking": { "trackingNumber": … } }
//! { "type": "trackingStatus", "version": 1, …, "invoiceNumber": "…", "trackingStatus": { "isDelivered": … } }
//! { "type": "cancel",         "version": 1, …, "cancel": { "reason": "…" } }
//! ```
//! Unknown fields are ignored; money is integer cents (a digit string is accepted, a decimal is not).

use crate::invoicing::{Invoice, TrackingInfo, TrackingStatus};
use crate::ports::StoreError;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub mod catalog;
pub mod envelope;
pub use envelope::{CURRENT_VERSION, MAX_MESSAGE_BYTES};

/// The import family of ERP messages (`importOrder`, `importInvoice`, `importTracking`,
/// `importResume`); the types live with the import workflow, whose order shape they carry.
pub mod import {
    pub use crate::import::{ImportCommand, ImportMessage, ImportParseError, key_hint, parse};
}

/// How the ERP names the order: our `orderId`, or the marketplace's id (plus `an` when the seller
/// sells on more than one marketplace account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub an: Option<String>,
}

impl OrderRef {
    pub fn by_order_id(id: impl Into<String>) -> Self {
        OrderRef {
            order_id: Some(id.into()),
            marketplace_order_id: None,
            an: None,
        }
    }

    pub fn by_marketplace_id(id: impl Into<String>, an: Option<String>) -> Self {
        OrderRef {
            order_id: None,
            marketplace_order_id: Some(id.into()),
            an,
        }
    }
}

/// What the ERP asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ErpCommand {
    /// POST the invoice (§Invoices).
    Invoice { invoice: Invoice },
    /// PATCH tracking onto an invoice (§Tracking).
    #[serde(rename_all = "camelCase")]
    Tracking {
        invoice_number: String,
        tracking: TrackingInfo,
    },
    /// PUT carrier events (§Carrier events).
    #[serde(rename_all = "camelCase")]
    TrackingStatus {
        invoice_number: String,
        tracking_status: TrackingStatus,
    },
    /// Cancel an order that is not invoiced (or fully returned) (§Seller cancel).
    Cancel { cancel: CancelRequest },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelRequest {
    pub reason: String,
}

impl ErpCommand {
    /// The `type` value, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            ErpCommand::Invoice { .. } => "invoice",
            ErpCommand::Tracking { .. } => "tracking",
            ErpCommand::TrackingStatus { .. } => "trackingStatus",
            ErpCommand::Cancel { .. } => "cancel",
        }
    }

    /// The invoice number the command is about, if any (a cancel has none).
    pub fn invoice_number(&self) -> Option<&str> {
        match self {
            ErpCommand::Invoice { invoice } => Some(&invoice.invoice_number),
            ErpCommand::Tracking { invoice_number, .. }
            | ErpCommand::TrackingStatus { invoice_number, .. } => Some(invoice_number),
            ErpCommand::Cancel { .. } => None,
        }
    }
}

/// One parsed ERP message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErpMessage {
    pub version: u32,
    /// The ERP's own id for the message, echoed in the order log. Optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(flatten)]
    pub order: OrderRef,
    #[serde(flatten)]
    pub command: ErpCommand,
}

impl ErpMessage {
    pub fn new(order: OrderRef, command: ErpCommand) -> Self {
        ErpMessage {
            version: CURRENT_VERSION,
            message_id: None,
            order,
            command,
        }
    }

    /// The JSON the ERP would send.
    pub fn to_json(&self) -> String {
        // A struct of strings, numbers and vectors always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Why a message could not be read. Such a message is never retried: it goes to the DLQ.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErpParseError {
    #[error("message is larger than {MAX_MESSAGE_BYTES} bytes")]
    TooLarge,
    #[error("message is not JSON: {0}")]
    NotJson(String),
    #[error("message has no `type`")]
    MissingType,
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("message has no integer `version`")]
    MissingVersion,
    #[error("message version {0} is not supported (this build reads version {CURRENT_VERSION})")]
    UnsupportedVersion(u64),
    #[error("message names no order: give `orderId` or `marketplaceOrderId`")]
    NoOrder,
    #[error("{kind} message is invalid: {detail}")]
    Invalid { kind: &'static str, detail: String },
}

envelope::from_envelope_error!(ErpParseError);

impl ErpParseError {
    pub fn code(&self) -> &'static str {
        match self {
            ErpParseError::TooLarge => "TOO_LARGE",
            ErpParseError::NotJson(_) => "NOT_JSON",
            ErpParseError::MissingType => "MISSING_TYPE",
            ErpParseError::UnknownType(_) => "UNKNOWN_TYPE",
            ErpParseError::MissingVersion => "MISSING_VERSION",
            ErpParseError::UnsupportedVersion(_) => "UNSUPPORTED_VERSION",
            ErpParseError::NoOrder => "NO_ORDER",
            ErpParseError::Invalid { .. } => "INVALID_MESSAGE",
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    order_id: Option<String>,
    #[serde(default)]
    marketplace_order_id: Option<String>,
    #[serde(default)]
    an: Option<String>,
}

#[derive(Deserialize)]
struct InvoiceBody {
    invoice: Invoice,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackingBody {
    invoice_number: String,
    tracking: TrackingInfo,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusBody {
    invoice_number: String,
    tracking_status: TrackingStatus,
}

#[derive(Deserialize)]
struct CancelBody {
    cancel: CancelRequest,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Parses a message body. The version is checked before the payload, so a newer ERP's message is
/// parked (and can be re-driven after an upgrade) rather than half-understood.
pub fn parse(body: &[u8]) -> Result<ErpMessage, ErpParseError> {
    let (kind, value) = envelope::open(
        body,
        &[
            ("invoice", "invoice"),
            ("tracking", "tracking"),
            ("trackingStatus", "trackingStatus"),
            ("cancel", "cancel"),
        ],
    )?;
    let command = match kind {
        "invoice" => {
            let b: InvoiceBody = payload(&value, "invoice")?;
            ErpCommand::Invoice { invoice: b.invoice }
        }
        "tracking" => {
            let b: TrackingBody = payload(&value, "tracking")?;
            ErpCommand::Tracking {
                invoice_number: b.invoice_number,
                tracking: b.tracking,
            }
        }
        "trackingStatus" => {
            let b: StatusBody = payload(&value, "trackingStatus")?;
            ErpCommand::TrackingStatus {
                invoice_number: b.invoice_number,
                tracking_status: b.tracking_status,
            }
        }
        "cancel" => {
            let b: CancelBody = payload(&value, "cancel")?;
            ErpCommand::Cancel { cancel: b.cancel }
        }
        _ => unreachable!("envelope::open returns one of the kinds it is given"),
    };
    let env: Envelope = payload(&value, "envelope")?;
    let order = OrderRef {
        order_id: non_empty(env.order_id),
        marketplace_order_id: non_empty(env.marketplace_order_id),
        an: non_empty(env.an),
    };
    if order.order_id.is_none() && order.marketplace_order_id.is_none() {
        return Err(ErpParseError::NoOrder);
    }
    Ok(ErpMessage {
        version: CURRENT_VERSION,
        message_id: non_empty(env.message_id),
        order,
        command,
    })
}

fn payload<T: DeserializeOwned>(
    value: &serde_json::Value,
    kind: &'static str,
) -> Result<T, ErpParseError> {
    // The detail names the field and the types, never the value (crate::wire_error).
    crate::wire_error::from_value(value.clone()).map_err(|e| ErpParseError::Invalid {
        kind,
        detail: e.to_string(),
    })
}

/// One received queue message, as far as [`DispatchQueue`] needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuedMessage<'a> {
    pub message_id: &'a str,
    pub receipt_handle: &'a str,
    pub body: &'a str,
    /// FIFO message group (the order), when the queue has groups.
    pub group_id: Option<&'a str>,
}

/// Port: what the dispatcher does to its own queue beyond receive/delete (which the event-source
/// mapping, or the local runner, does). Adapters: `aws_adapters::dispatch_queue::SqsDispatchQueue`,
/// `embedded_store::dispatch_queue` (for `LocalQueue`).
#[async_trait]
pub trait DispatchQueue: Send + Sync {
    /// Parks a message that breaks a rule in the dead-letter queue, body unchanged (so it can be
    /// re-driven), with the reason where the queue supports attributes. The caller then lets the
    /// original be deleted.
    async fn dead_letter(
        &self,
        message: &QueuedMessage<'_>,
        code: &str,
        reason: &str,
    ) -> Result<(), StoreError>;

    /// Hides the message for `delay` before its next delivery (back-off; SQS
    /// ChangeMessageVisibility). The caller then reports it as a batch item failure.
    async fn retry_later(&self, receipt_handle: &str, delay: Duration) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoicing::InvoiceType;
    use crate::money::Cents;

    const INVOICE: &str = r#"{
        "type": "invoice", "version": 1, "messageId": "erp-1",
        "marketplaceOrderId": "959311095", "an": "luxstore",
        "invoice": {
            "type": "Output", "issuanceDate": "2014-10-07T10:15:00-03:00",
            "invoiceNumber": "NFe-00001", "invoiceValue": "11080",
            "invoiceKey": null, "courier": "",
            "items": [ { "id": "2002495", "price": 9990, "quantity": 1 } ],
            "somethingNew": true
        }
    }"#;

    #[test]
    fn invoice_message_parses_with_string_cents_and_unknown_fields() {
        let m = parse(INVOICE.as_bytes()).unwrap();
        assert_eq!(m.message_id.as_deref(), Some("erp-1"));
        assert_eq!(
            m.order,
            OrderRef::by_marketplace_id("959311095", Some("luxstore".into()))
        );
        let ErpCommand::Invoice { invoice } = m.command else {
            panic!("not an invoice")
        };
        assert_eq!(invoice.kind, InvoiceType::Output);
        assert_eq!(invoice.invoice_value, Cents(11080));
        assert_eq!(invoice.items[0].price, Cents(9990));
    }

    #[test]
    fn every_type_round_trips_through_its_json() {
        let samples = [
            r#"{"type":"tracking","version":1,"orderId":"SO-1","invoiceNumber":"N1",
                "tracking":{"trackingNumber":"SR1","trackingUrl":null,"courier":"Correios","dispatchedDate":null}}"#,
            r#"{"type":"trackingStatus","version":1,"orderId":"SO-1","invoiceNumber":"N1",
                "trackingStatus":{"isDelivered":true,"deliveredDate":"2015-06-25 14:30",
                "events":[{"city":"Curitiba","state":"PR","description":"Entregue","date":"2015-06-25"}]}}"#,
            r#"{"type":"cancel","version":1,"orderId":"SO-1","cancel":{"reason":"No stock"}}"#,
            INVOICE,
        ];
        for s in samples {
            let m = parse(s.as_bytes()).unwrap();
            let again = parse(m.to_json().as_bytes()).unwrap();
            assert_eq!(m, again, "{s}");
        }
    }

    #[test]
    fn unsupported_version_is_refused_before_the_payload() {
        let s = r#"{"type":"cancel","version":2,"orderId":"SO-1","cancel":{}}"#;
        assert_eq!(
            parse(s.as_bytes()),
            Err(ErpParseError::UnsupportedVersion(2))
        );
        let s = r#"{"type":"cancel","orderId":"SO-1","cancel":{"reason":"x"}}"#;
        assert_eq!(parse(s.as_bytes()), Err(ErpParseError::MissingVersion));
    }

    #[test]
    fn unknown_type_missing_order_and_bad_json_are_refused() {
        assert!(matches!(
            parse(br#"{"type":"refund","version":1,"orderId":"SO-1"}"#),
            Err(ErpParseError::UnknownType(_))
        ));
        assert_eq!(
            parse(br#"{"type":"cancel","version":1,"cancel":{"reason":"x"}}"#),
            Err(ErpParseError::NoOrder)
        );
        assert_eq!(
            parse(br#"{"version":1,"orderId":"SO-1"}"#),
            Err(ErpParseError::MissingType)
        );
        assert!(matches!(parse(b"{nope"), Err(ErpParseError::NotJson(_))));
    }

    #[test]
    fn decimal_invoice_value_is_invalid() {
        let s = INVOICE.replace("\"11080\"", "110.80");
        assert!(matches!(
            parse(s.as_bytes()),
            Err(ErpParseError::Invalid {
                kind: "invoice",
                ..
            })
        ));
    }

    #[test]
    fn missing_required_invoice_field_is_invalid() {
        let s = INVOICE.replace("\"invoiceNumber\": \"NFe-00001\",", "");
        let err = parse(s.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("invoiceNumber"), "{err}");
    }
}
