//! OMS wire shapes: invoice notification, tracking PATCH, carrier-status PUT, seller cancel and the
//! common receipt (shared/docs/protocol.md §Invoices and tracking). Outbound bodies send every
//! documented key, `null` when unknown (§Conventions); the invoice sends `""` for empty tracking
//! strings, the PATCH never does (C18).

use domain::invoicing::{Invoice, TrackingEvent, TrackingInfo, TrackingStatus};
use serde::{Deserialize, Serialize};

/// `POST /api/oms/pvt/orders/{marketplaceOrderId}/invoice`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceRequest {
    /// `"Output"` | `"Input"`.
    #[serde(rename = "type")]
    pub kind: String,
    pub issuance_date: String,
    pub invoice_number: String,
    /// Cents, sent as an integer (C13).
    pub invoice_value: i64,
    pub invoice_key: Option<String>,
    pub invoice_url: Option<String>,
    pub embedded_invoice: Option<String>,
    pub courier: String,
    pub tracking_number: String,
    pub tracking_url: String,
    pub dispatched_date: Option<String>,
    pub items: Vec<InvoiceItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceItem {
    pub id: String,
    /// Unit price, cents.
    pub price: i64,
    pub quantity: i64,
    pub description: Option<String>,
}

impl From<&Invoice> for InvoiceRequest {
    fn from(i: &Invoice) -> Self {
        let text = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or("").to_string();
        // Tracking fields only go with a real tracking number; otherwise all three are "" (OMS).
        let tracking = i.embedded_tracking();
        InvoiceRequest {
            kind: i.kind.as_str().to_string(),
            issuance_date: i.issuance_date.trim().to_string(),
            invoice_number: i.invoice_number.clone(),
            invoice_value: i.invoice_value.value(),
            invoice_key: i.invoice_key.clone(),
            invoice_url: i.invoice_url.clone(),
            embedded_invoice: i.embedded_invoice.clone(),
            courier: tracking
                .as_ref()
                .map(|_| text(&i.courier))
                .unwrap_or_default(),
            tracking_number: tracking
                .as_ref()
                .map(|t| t.tracking_number.clone())
                .unwrap_or_default(),
            tracking_url: tracking
                .as_ref()
                .map(|_| text(&i.tracking_url))
                .unwrap_or_default(),
            dispatched_date: i.dispatched_date.clone().filter(|d| !d.trim().is_empty()),
            items: i
                .items
                .iter()
                .map(|it| InvoiceItem {
                    id: it.id.clone(),
                    price: it.price.value(),
                    quantity: it.quantity,
                    description: it.description.clone(),
                })
                .collect(),
        }
    }
}

/// `PATCH …/invoice/{invoiceNumber}`: only these four keys, no `isDelivered` (C18).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingPatch {
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    pub courier: Option<String>,
    pub dispatched_date: Option<String>,
}

impl From<&TrackingInfo> for TrackingPatch {
    fn from(t: &TrackingInfo) -> Self {
        TrackingPatch {
            tracking_number: t.tracking_number.clone(),
            tracking_url: t.tracking_url.clone(),
            courier: t.courier.clone(),
            dispatched_date: t.dispatched_date.clone(),
        }
    }
}

/// `PUT …/invoice/{invoiceNumber}/tracking` (C17: all three keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingStatusRequest {
    pub is_delivered: bool,
    pub delivered_date: Option<String>,
    pub events: Vec<TrackingEventDto>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingEventDto {
    pub city: String,
    pub state: String,
    pub description: String,
    pub date: String,
}

impl From<&TrackingEvent> for TrackingEventDto {
    fn from(e: &TrackingEvent) -> Self {
        TrackingEventDto {
            city: e.city.clone(),
            state: e.state.clone(),
            description: e.description.clone(),
            date: e.date.clone(),
        }
    }
}

impl From<&TrackingStatus> for TrackingStatusRequest {
    fn from(s: &TrackingStatus) -> Self {
        TrackingStatusRequest {
            is_delivered: s.is_delivered,
            delivered_date: s.delivered_date.clone(),
            events: s.events.iter().map(TrackingEventDto::from).collect(),
        }
    }
}

/// `POST /api/oms/pvt/orders/{marketplaceOrderId}/cancel` (body required by ESM, so always sent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CancelRequest {
    pub reason: String,
}

/// `{date, orderId, receipt}`: OMS's answer to every call above. Parsed leniently: a 2xx is a
/// success even if OMS leaves a field out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OmsReceipt {
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub receipt: Option<String>,
}

/// OMS's error envelope `{"error": {"code", "message", "exception"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OmsErrorEnvelope {
    pub error: OmsError,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OmsError {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub exception: Option<serde_json::Value>,
}

impl OmsErrorEnvelope {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        OmsErrorEnvelope {
            error: OmsError {
                code: code.into(),
                message: message.into(),
                exception: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::invoicing::{InvoiceItem as Item, InvoiceType};
    use domain::money::Cents;
    use serde_json::{Value, json};

    fn examples_dir() -> Option<std::path::PathBuf> {
        let dir = std::env::var("VTEX_EXAMPLES_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../../shared/protocol/examples")
            });
        dir.is_dir().then_some(dir)
    }

    fn story_invoice() -> Invoice {
        Invoice {
            kind: InvoiceType::Output,
            invoice_number: "NFe-00001".into(),
            invoice_value: Cents(11080),
            issuance_date: "2014-10-07T10:15:00-03:00".into(),
            items: vec![Item {
                id: "2002495".into(),
                quantity: 1,
                price: Cents(9990),
                description: Some("Capa slimfit iPhone 5".into()),
            }],
            invoice_key: Some("CFe35201100063960001504590006629690333214542150".into()),
            invoice_url: Some("https://seller.example.com/invoices/NFe-00001.pdf".into()),
            embedded_invoice: None,
            courier: None,
            tracking_number: None,
            tracking_url: Some("https://ignored".into()),
            dispatched_date: None,
        }
    }

    #[test]
    fn invoice_body_matches_the_contract_example() {
        let body = serde_json::to_value(InvoiceRequest::from(&story_invoice())).unwrap();
        let Some(dir) = examples_dir() else {
            eprintln!("examples folder absent: comparing with the inline copy only");
            assert_eq!(body["invoiceValue"], json!(11080));
            return;
        };
        let text = std::fs::read_to_string(dir.join("invoice-output.request.json")).unwrap();
        let example: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body, example);
    }

    #[test]
    fn tracking_bodies_carry_every_key() {
        let patch = TrackingPatch::from(&TrackingInfo {
            tracking_number: "SR1".into(),
            tracking_url: None,
            courier: Some("Correios".into()),
            dispatched_date: None,
        });
        let v = serde_json::to_value(patch).unwrap();
        assert_eq!(
            v,
            json!({"trackingNumber":"SR1","trackingUrl":null,"courier":"Correios","dispatchedDate":null})
        );
        let put = TrackingStatusRequest::from(&TrackingStatus {
            is_delivered: false,
            delivered_date: None,
            events: vec![],
        });
        assert_eq!(
            serde_json::to_value(put).unwrap(),
            json!({"isDelivered": false, "deliveredDate": null, "events": []})
        );
    }
}
