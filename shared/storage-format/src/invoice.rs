//! Stored invoice records (the dispatch worker's bookkeeping of one invoice and the tracking sent
//! on it), version 1: the JSON written before stored shapes were explicit, field by field.
//! Invoices hold no customer data. An order's invoiced sums (issue 12) are kept beside its
//! records by each adapter (a row, an item), never inside a record: this shape is unchanged.

use crate::{FormatError, Stored};
use chrono::{DateTime, Utc};
use domain::invoicing::{
    Invoice, InvoiceItem, InvoiceRecord, InvoiceType, SendState, TrackingEvent, TrackingInfo,
    TrackingRecord, TrackingStatus,
};
use domain::money::Cents;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceRecordV1 {
    pub order_id: String,
    pub invoice: InvoiceV1,
    pub state: SendStateV1,
    #[serde(default)]
    pub receipt: Option<String>,
    #[serde(default)]
    pub tracking: Option<TrackingRecordV1>,
    #[serde(default)]
    pub events_sent: Vec<TrackingEventV1>,
    #[serde(default)]
    pub delivered_date: Option<String>,
    #[serde(default)]
    pub status_pending: Option<TrackingStatusV1>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// As [`crate::order::OrderV1::version`]: the adapters read it from beside `data`.
    #[serde(default)]
    pub version: u64,
}

/// The invoice as the ERP sent it (the OMS body's field names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceV1 {
    #[serde(rename = "type")]
    pub kind: InvoiceTypeV1,
    pub invoice_number: String,
    pub invoice_value: i64,
    pub issuance_date: String,
    pub items: Vec<InvoiceItemV1>,
    #[serde(default)]
    pub invoice_key: Option<String>,
    #[serde(default)]
    pub invoice_url: Option<String>,
    #[serde(default)]
    pub embedded_invoice: Option<String>,
    #[serde(default)]
    pub courier: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub tracking_url: Option<String>,
    #[serde(default)]
    pub dispatched_date: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceTypeV1 {
    Output,
    Input,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceItemV1 {
    pub id: String,
    pub quantity: i64,
    pub price: i64,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SendStateV1 {
    Pending,
    Sent,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingRecordV1 {
    pub info: TrackingInfoV1,
    pub state: SendStateV1,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingInfoV1 {
    pub tracking_number: String,
    #[serde(default)]
    pub tracking_url: Option<String>,
    #[serde(default)]
    pub courier: Option<String>,
    #[serde(default)]
    pub dispatched_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingEventV1 {
    pub city: String,
    pub state: String,
    pub description: String,
    pub date: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingStatusV1 {
    pub is_delivered: bool,
    #[serde(default)]
    pub delivered_date: Option<String>,
    #[serde(default)]
    pub events: Vec<TrackingEventV1>,
}

impl Stored for InvoiceRecord {
    const WHAT: &'static str = "invoice record";
    const VERSION: u32 = 1;
    type Shape = InvoiceRecordV1;

    fn to_shape(&self) -> InvoiceRecordV1 {
        InvoiceRecordV1::from(self)
    }

    fn from_shape(shape: InvoiceRecordV1) -> Result<Self, FormatError> {
        Ok(InvoiceRecord::from(shape))
    }
}

impl From<&InvoiceRecord> for InvoiceRecordV1 {
    fn from(r: &InvoiceRecord) -> Self {
        InvoiceRecordV1 {
            order_id: r.order_id.clone(),
            invoice: InvoiceV1::from(&r.invoice),
            state: r.state.into(),
            receipt: r.receipt.clone(),
            tracking: r.tracking.as_ref().map(|t| TrackingRecordV1 {
                info: TrackingInfoV1::from(&t.info),
                state: t.state.into(),
            }),
            events_sent: r.events_sent.iter().map(TrackingEventV1::from).collect(),
            delivered_date: r.delivered_date.clone(),
            status_pending: r.status_pending.as_ref().map(|s| TrackingStatusV1 {
                is_delivered: s.is_delivered,
                delivered_date: s.delivered_date.clone(),
                events: s.events.iter().map(TrackingEventV1::from).collect(),
            }),
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

impl From<InvoiceRecordV1> for InvoiceRecord {
    fn from(r: InvoiceRecordV1) -> Self {
        InvoiceRecord {
            order_id: r.order_id,
            invoice: Invoice::from(r.invoice),
            state: r.state.into(),
            receipt: r.receipt,
            tracking: r.tracking.map(|t| TrackingRecord {
                info: TrackingInfo::from(t.info),
                state: t.state.into(),
            }),
            events_sent: r.events_sent.into_iter().map(TrackingEvent::from).collect(),
            delivered_date: r.delivered_date,
            status_pending: r.status_pending.map(|s| TrackingStatus {
                is_delivered: s.is_delivered,
                delivered_date: s.delivered_date,
                events: s.events.into_iter().map(TrackingEvent::from).collect(),
            }),
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

impl From<&Invoice> for InvoiceV1 {
    fn from(i: &Invoice) -> Self {
        InvoiceV1 {
            kind: match i.kind {
                InvoiceType::Output => InvoiceTypeV1::Output,
                InvoiceType::Input => InvoiceTypeV1::Input,
            },
            invoice_number: i.invoice_number.clone(),
            invoice_value: i.invoice_value.value(),
            issuance_date: i.issuance_date.clone(),
            items: i
                .items
                .iter()
                .map(|it| InvoiceItemV1 {
                    id: it.id.clone(),
                    quantity: it.quantity,
                    price: it.price.value(),
                    description: it.description.clone(),
                })
                .collect(),
            invoice_key: i.invoice_key.clone(),
            invoice_url: i.invoice_url.clone(),
            embedded_invoice: i.embedded_invoice.clone(),
            courier: i.courier.clone(),
            tracking_number: i.tracking_number.clone(),
            tracking_url: i.tracking_url.clone(),
            dispatched_date: i.dispatched_date.clone(),
        }
    }
}

impl From<InvoiceV1> for Invoice {
    fn from(i: InvoiceV1) -> Self {
        Invoice {
            kind: match i.kind {
                InvoiceTypeV1::Output => InvoiceType::Output,
                InvoiceTypeV1::Input => InvoiceType::Input,
            },
            invoice_number: i.invoice_number,
            invoice_value: Cents::new(i.invoice_value),
            issuance_date: i.issuance_date,
            items: i
                .items
                .into_iter()
                .map(|it| InvoiceItem {
                    id: it.id,
                    quantity: it.quantity,
                    price: Cents::new(it.price),
                    description: it.description,
                })
                .collect(),
            invoice_key: i.invoice_key,
            invoice_url: i.invoice_url,
            embedded_invoice: i.embedded_invoice,
            courier: i.courier,
            tracking_number: i.tracking_number,
            tracking_url: i.tracking_url,
            dispatched_date: i.dispatched_date,
        }
    }
}

impl From<SendState> for SendStateV1 {
    fn from(s: SendState) -> Self {
        match s {
            SendState::Pending => SendStateV1::Pending,
            SendState::Sent => SendStateV1::Sent,
            SendState::Rejected => SendStateV1::Rejected,
        }
    }
}

impl From<SendStateV1> for SendState {
    fn from(s: SendStateV1) -> Self {
        match s {
            SendStateV1::Pending => SendState::Pending,
            SendStateV1::Sent => SendState::Sent,
            SendStateV1::Rejected => SendState::Rejected,
        }
    }
}

impl From<&TrackingInfo> for TrackingInfoV1 {
    fn from(t: &TrackingInfo) -> Self {
        TrackingInfoV1 {
            tracking_number: t.tracking_number.clone(),
            tracking_url: t.tracking_url.clone(),
            courier: t.courier.clone(),
            dispatched_date: t.dispatched_date.clone(),
        }
    }
}

impl From<TrackingInfoV1> for TrackingInfo {
    fn from(t: TrackingInfoV1) -> Self {
        TrackingInfo {
            tracking_number: t.tracking_number,
            tracking_url: t.tracking_url,
            courier: t.courier,
            dispatched_date: t.dispatched_date,
        }
    }
}

impl From<&TrackingEvent> for TrackingEventV1 {
    fn from(e: &TrackingEvent) -> Self {
        TrackingEventV1 {
            city: e.city.clone(),
            state: e.state.clone(),
            description: e.description.clone(),
            date: e.date.clone(),
        }
    }
}

impl From<TrackingEventV1> for TrackingEvent {
    fn from(e: TrackingEventV1) -> Self {
        TrackingEvent {
            city: e.city,
            state: e.state,
            description: e.description,
            date: e.date,
        }
    }
}

#[cfg(test)]
mod golden {
    use super::*;
    use crate::testing::golden;
    use chrono::TimeZone;

    const INVOICE_RECORD: &str = r#"
    {
      "orderId": "EXT-2630580124",
      "invoice": {
        "type": "Output",
        "invoiceNumber": "NFe-2630580124",
        "invoiceValue": 1100,
        "issuanceDate": "2024-02-07T15:22:56-03:00",
        "items": [
          {
            "id": "1",
            "quantity": 1,
            "price": 900,
            "description": "Produto 1"
          }
        ],
        "invoiceKey": null,
        "invoiceUrl": "https://seller.example.com/invoices/NFe-2630580124.pdf",
        "embeddedInvoice": null,
        "courier": "",
        "trackingNumber": "",
        "trackingUrl": "",
        "dispatchedDate": null
      },
      "state": "SENT",
      "receipt": "rcpt-1",
      "tracking": {
        "info": {
          "trackingNumber": "BR123",
          "trackingUrl": "https://track.example.com/BR123",
          "courier": "Correios",
          "dispatchedDate": null
        },
        "state": "PENDING"
      },
      "eventsSent": [
        {
          "city": "Curitiba",
          "state": "PR",
          "description": "Saiu para entrega",
          "date": "2024-02-08"
        }
      ],
      "deliveredDate": null,
      "statusPending": null,
      "createdAt": "2026-01-02T03:04:07.123Z",
      "updatedAt": "2026-01-02T03:04:09.123Z",
      "version": 2
    }
    "#;

    #[test]
    fn an_invoice_record_written_before_versioning_reads_as_the_same_record_and_encodes_exactly() {
        let at = Utc.timestamp_opt(1_767_323_047, 123_000_000).unwrap();
        let expected = InvoiceRecord {
            order_id: "EXT-2630580124".into(),
            invoice: Invoice {
                kind: InvoiceType::Output,
                invoice_number: "NFe-2630580124".into(),
                invoice_value: Cents(1100),
                issuance_date: "2024-02-07T15:22:56-03:00".into(),
                items: vec![InvoiceItem {
                    id: "1".into(),
                    quantity: 1,
                    price: Cents(900),
                    description: Some("Produto 1".into()),
                }],
                invoice_key: None,
                invoice_url: Some("https://seller.example.com/invoices/NFe-2630580124.pdf".into()),
                embedded_invoice: None,
                courier: Some(String::new()),
                tracking_number: Some(String::new()),
                tracking_url: Some(String::new()),
                dispatched_date: None,
            },
            state: SendState::Sent,
            receipt: Some("rcpt-1".into()),
            tracking: Some(TrackingRecord {
                info: TrackingInfo {
                    tracking_number: "BR123".into(),
                    tracking_url: Some("https://track.example.com/BR123".into()),
                    courier: Some("Correios".into()),
                    dispatched_date: None,
                },
                state: SendState::Pending,
            }),
            events_sent: vec![TrackingEvent {
                city: "Curitiba".into(),
                state: "PR".into(),
                description: "Saiu para entrega".into(),
                date: "2024-02-08".into(),
            }],
            delivered_date: None,
            status_pending: None,
            created_at: at,
            updated_at: at + chrono::Duration::seconds(2),
            version: 2,
        };
        let record: InvoiceRecord = golden(INVOICE_RECORD);
        assert_eq!(record, expected);
    }

    #[test]
    fn every_send_state_keeps_its_stored_spelling() {
        for (state, stored) in [
            (SendState::Pending, "PENDING"),
            (SendState::Sent, "SENT"),
            (SendState::Rejected, "REJECTED"),
        ] {
            let json = serde_json::to_value(SendStateV1::from(state)).unwrap();
            assert_eq!(json, serde_json::json!(stored));
        }
    }
}
