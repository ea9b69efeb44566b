//! The stored import record (the progress of one external order imported into our own VTEX
//! account), version 1: the JSON written before stored shapes were explicit, field by field. It
//! holds customer data (the order, for a re-placement): the customer types have redacting `Debug`.
//! The invoices inside it use the invoice record's own shapes ([`crate::invoice`]).

use crate::invoice::{InvoiceRecordV1, InvoiceV1};
use crate::order::AddressV1;
use crate::{FormatError, Stored};
use chrono::{DateTime, Utc};
use domain::VtexDuration;
use domain::import::{
    ImportClient, ImportDeliveryWindow, ImportItem, ImportKey, ImportLogistics, ImportOrder,
    ImportRecord, ImportShipping, ImportStep, Wake,
};
use domain::invoicing::{Invoice, InvoiceRecord};
use domain::money::Cents;
use domain::order::Address;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportRecordV1 {
    pub key: ImportKeyV1,
    pub sales_channel: String,
    pub order: ImportOrderV1,
    pub step: ImportStepV1,
    #[serde(default)]
    pub vtex_order_id: Option<String>,
    #[serde(default)]
    pub placed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub authorized_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub handling_due_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub handling_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub not_ready_answers: u32,
    #[serde(default)]
    pub wake: Option<WakeV1>,
    #[serde(default)]
    pub queued_invoices: Vec<InvoiceV1>,
    #[serde(default)]
    pub invoices: Vec<InvoiceRecordV1>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub message_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// As [`crate::order::OrderV1::version`]: the adapters read it from beside `data`.
    #[serde(default)]
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportKeyV1 {
    pub affiliate_id: String,
    pub marketplace_order_id: String,
}

/// The same two fields wherever an import key is stored (the import record, an mse notification).
impl From<&ImportKey> for ImportKeyV1 {
    fn from(k: &ImportKey) -> Self {
        ImportKeyV1 {
            affiliate_id: k.affiliate_id.clone(),
            marketplace_order_id: k.marketplace_order_id.clone(),
        }
    }
}

impl From<ImportKeyV1> for ImportKey {
    fn from(k: ImportKeyV1) -> Self {
        ImportKey::new(k.affiliate_id, k.marketplace_order_id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ImportStepV1 {
    Received,
    Placing,
    Placed,
    Authorizing,
    Authorized,
    StartingHandling,
    Handling,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WakeV1 {
    pub id: String,
    pub at: DateTime<Utc>,
    /// `false` while its message is not known to be enqueued; absent (older records, and every
    /// enqueued wake-up) reads as `true`.
    #[serde(default = "enqueued", skip_serializing_if = "is_enqueued")]
    pub enqueued: bool,
}

fn enqueued() -> bool {
    true
}

fn is_enqueued(v: &bool) -> bool {
    *v
}

/// The order as the ERP sent it (EMO's placement body). Customer data: `Debug` shows the id only.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportOrderV1 {
    pub marketplace_order_id: String,
    #[serde(default)]
    pub marketplace_order_group: Option<String>,
    pub marketplace_payment_value: i64,
    #[serde(default)]
    pub is_created_async: Option<bool>,
    pub items: Vec<ImportItemV1>,
    pub client_profile_data: ImportClientV1,
    pub shipping_data: ImportShippingV1,
    /// Opaque, as received.
    #[serde(default)]
    pub marketing_data: Option<Value>,
    #[serde(default)]
    pub open_text_field: Option<String>,
    /// Opaque, as received.
    #[serde(default)]
    pub custom_data: Option<Value>,
}

impl std::fmt::Debug for ImportOrderV1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOrderV1")
            .field("marketplace_order_id", &self.marketplace_order_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportItemV1 {
    pub id: String,
    pub quantity: i64,
    pub seller: String,
    pub price: i64,
    #[serde(default)]
    pub commission: Option<i64>,
    #[serde(default)]
    pub freight_commission: Option<i64>,
    #[serde(default)]
    pub measurement_unit: Option<String>,
    #[serde(default)]
    pub unit_multiplier: Option<f64>,
    #[serde(default)]
    pub is_gift: Option<bool>,
}

/// Customer data: `Debug` redacts everything.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportClientV1 {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub document_type: Option<String>,
    #[serde(default)]
    pub document: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub corporate_name: Option<String>,
    #[serde(default)]
    pub trade_name: Option<String>,
    #[serde(default)]
    pub corporate_document: Option<String>,
    #[serde(default)]
    pub state_inscription: Option<String>,
    #[serde(default)]
    pub corporate_phone: Option<String>,
    #[serde(default)]
    pub is_corporate: Option<bool>,
}

impl std::fmt::Debug for ImportClientV1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ImportClientV1 { <redacted> }")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportShippingV1 {
    pub address: AddressV1,
    pub logistics_info: Vec<ImportLogisticsV1>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportLogisticsV1 {
    pub item_index: usize,
    #[serde(default)]
    pub selected_sla: Option<String>,
    pub price: i64,
    /// A VTEX duration string; spelled `lockTTL`, as VTEX does.
    #[serde(default, rename = "lockTTL")]
    pub lock_ttl: Option<String>,
    #[serde(default)]
    pub shipping_estimate: Option<String>,
    #[serde(default)]
    pub selected_delivery_channel: Option<String>,
    #[serde(default)]
    pub delivery_window: Option<ImportDeliveryWindowV1>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportDeliveryWindowV1 {
    pub start_date_utc: String,
    pub end_date_utc: String,
    #[serde(default)]
    pub price: i64,
    #[serde(default)]
    pub lis_price: i64,
    #[serde(default)]
    pub tax: i64,
}

impl Stored for ImportRecord {
    const WHAT: &'static str = "import record";
    const VERSION: u32 = 1;
    type Shape = ImportRecordV1;

    fn to_shape(&self) -> ImportRecordV1 {
        ImportRecordV1 {
            key: ImportKeyV1::from(&self.key),
            sales_channel: self.sales_channel.clone(),
            order: ImportOrderV1::from(&self.order),
            step: self.step.into(),
            vtex_order_id: self.vtex_order_id.clone(),
            placed_at: self.placed_at,
            authorized_at: self.authorized_at,
            handling_due_at: self.handling_due_at,
            handling_at: self.handling_at,
            not_ready_answers: self.not_ready_answers,
            wake: self.wake.as_ref().map(|w| WakeV1 {
                id: w.id.clone(),
                at: w.at,
                enqueued: w.enqueued,
            }),
            queued_invoices: self.queued_invoices.iter().map(InvoiceV1::from).collect(),
            invoices: self.invoices.iter().map(InvoiceRecordV1::from).collect(),
            last_error: self.last_error.clone(),
            message_id: self.message_id.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        }
    }

    fn from_shape(r: ImportRecordV1) -> Result<Self, FormatError> {
        Ok(ImportRecord {
            key: r.key.into(),
            sales_channel: r.sales_channel,
            order: ImportOrder::try_from(r.order)?,
            step: r.step.into(),
            vtex_order_id: r.vtex_order_id,
            placed_at: r.placed_at,
            authorized_at: r.authorized_at,
            handling_due_at: r.handling_due_at,
            handling_at: r.handling_at,
            not_ready_answers: r.not_ready_answers,
            wake: r.wake.map(|w| Wake {
                id: w.id,
                at: w.at,
                enqueued: w.enqueued,
            }),
            queued_invoices: r.queued_invoices.into_iter().map(Invoice::from).collect(),
            invoices: r.invoices.into_iter().map(InvoiceRecord::from).collect(),
            last_error: r.last_error,
            message_id: r.message_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        })
    }
}

impl From<ImportStep> for ImportStepV1 {
    fn from(s: ImportStep) -> Self {
        match s {
            ImportStep::Received => ImportStepV1::Received,
            ImportStep::Placing => ImportStepV1::Placing,
            ImportStep::Placed => ImportStepV1::Placed,
            ImportStep::Authorizing => ImportStepV1::Authorizing,
            ImportStep::Authorized => ImportStepV1::Authorized,
            ImportStep::StartingHandling => ImportStepV1::StartingHandling,
            ImportStep::Handling => ImportStepV1::Handling,
        }
    }
}

impl From<ImportStepV1> for ImportStep {
    fn from(s: ImportStepV1) -> Self {
        match s {
            ImportStepV1::Received => ImportStep::Received,
            ImportStepV1::Placing => ImportStep::Placing,
            ImportStepV1::Placed => ImportStep::Placed,
            ImportStepV1::Authorizing => ImportStep::Authorizing,
            ImportStepV1::Authorized => ImportStep::Authorized,
            ImportStepV1::StartingHandling => ImportStep::StartingHandling,
            ImportStepV1::Handling => ImportStep::Handling,
        }
    }
}

impl From<&ImportOrder> for ImportOrderV1 {
    fn from(o: &ImportOrder) -> Self {
        let c = &o.client_profile_data;
        ImportOrderV1 {
            marketplace_order_id: o.marketplace_order_id.clone(),
            marketplace_order_group: o.marketplace_order_group.clone(),
            marketplace_payment_value: o.marketplace_payment_value.value(),
            is_created_async: o.is_created_async,
            items: o
                .items
                .iter()
                .map(|i| ImportItemV1 {
                    id: i.id.clone(),
                    quantity: i.quantity,
                    seller: i.seller.clone(),
                    price: i.price.value(),
                    commission: i.commission.map(Cents::value),
                    freight_commission: i.freight_commission.map(Cents::value),
                    measurement_unit: i.measurement_unit.clone(),
                    unit_multiplier: i.unit_multiplier,
                    is_gift: i.is_gift,
                })
                .collect(),
            client_profile_data: ImportClientV1 {
                email: c.email.clone(),
                first_name: c.first_name.clone(),
                last_name: c.last_name.clone(),
                document_type: c.document_type.clone(),
                document: c.document.clone(),
                phone: c.phone.clone(),
                corporate_name: c.corporate_name.clone(),
                trade_name: c.trade_name.clone(),
                corporate_document: c.corporate_document.clone(),
                state_inscription: c.state_inscription.clone(),
                corporate_phone: c.corporate_phone.clone(),
                is_corporate: c.is_corporate,
            },
            shipping_data: ImportShippingV1 {
                address: AddressV1::from(&o.shipping_data.address),
                logistics_info: o
                    .shipping_data
                    .logistics_info
                    .iter()
                    .map(|l| ImportLogisticsV1 {
                        item_index: l.item_index,
                        selected_sla: l.selected_sla.clone(),
                        price: l.price.value(),
                        lock_ttl: l.lock_ttl.map(|d| d.to_string()),
                        shipping_estimate: l.shipping_estimate.map(|d| d.to_string()),
                        selected_delivery_channel: l.selected_delivery_channel.clone(),
                        delivery_window: l.delivery_window.as_ref().map(|w| {
                            ImportDeliveryWindowV1 {
                                start_date_utc: w.start_date_utc.clone(),
                                end_date_utc: w.end_date_utc.clone(),
                                price: w.price.value(),
                                lis_price: w.lis_price.value(),
                                tax: w.tax.value(),
                            }
                        }),
                    })
                    .collect(),
            },
            marketing_data: o.marketing_data.clone(),
            open_text_field: o.open_text_field.clone(),
            custom_data: o.custom_data.clone(),
        }
    }
}

impl TryFrom<ImportOrderV1> for ImportOrder {
    type Error = FormatError;

    fn try_from(o: ImportOrderV1) -> Result<Self, FormatError> {
        let c = o.client_profile_data;
        Ok(ImportOrder {
            marketplace_order_id: o.marketplace_order_id,
            marketplace_order_group: o.marketplace_order_group,
            marketplace_payment_value: Cents::new(o.marketplace_payment_value),
            is_created_async: o.is_created_async,
            items: o
                .items
                .into_iter()
                .map(|i| ImportItem {
                    id: i.id,
                    quantity: i.quantity,
                    seller: i.seller,
                    price: Cents::new(i.price),
                    commission: i.commission.map(Cents::new),
                    freight_commission: i.freight_commission.map(Cents::new),
                    measurement_unit: i.measurement_unit,
                    unit_multiplier: i.unit_multiplier,
                    is_gift: i.is_gift,
                })
                .collect(),
            client_profile_data: ImportClient {
                email: c.email,
                first_name: c.first_name,
                last_name: c.last_name,
                document_type: c.document_type,
                document: c.document,
                phone: c.phone,
                corporate_name: c.corporate_name,
                trade_name: c.trade_name,
                corporate_document: c.corporate_document,
                state_inscription: c.state_inscription,
                corporate_phone: c.corporate_phone,
                is_corporate: c.is_corporate,
            },
            shipping_data: ImportShipping {
                address: Address::from(o.shipping_data.address),
                logistics_info: o
                    .shipping_data
                    .logistics_info
                    .into_iter()
                    .map(|l| {
                        Ok(ImportLogistics {
                            item_index: l.item_index,
                            selected_sla: l.selected_sla,
                            price: Cents::new(l.price),
                            lock_ttl: duration(l.lock_ttl, "lockTTL")?,
                            shipping_estimate: duration(l.shipping_estimate, "shippingEstimate")?,
                            selected_delivery_channel: l.selected_delivery_channel,
                            delivery_window: l.delivery_window.map(|w| ImportDeliveryWindow {
                                start_date_utc: w.start_date_utc,
                                end_date_utc: w.end_date_utc,
                                price: Cents::new(w.price),
                                lis_price: Cents::new(w.lis_price),
                                tax: Cents::new(w.tax),
                            }),
                        })
                    })
                    .collect::<Result<_, FormatError>>()?,
            },
            marketing_data: o.marketing_data,
            open_text_field: o.open_text_field,
            custom_data: o.custom_data,
        })
    }
}

fn duration(value: Option<String>, field: &str) -> Result<Option<VtexDuration>, FormatError> {
    value
        .map(|v| {
            v.parse()
                .map_err(|e| FormatError(format!("stored import logistics {field}: {e}")))
        })
        .transpose()
}

#[cfg(test)]
mod golden {
    use super::*;
    use crate::testing::golden;
    use chrono::TimeZone;
    use domain::invoicing::{InvoiceItem, InvoiceType};

    const IMPORT_RECORD: &str = r#"
    {
      "key": {
        "affiliateId": "EXT",
        "marketplaceOrderId": "2630580124"
      },
      "salesChannel": "1",
      "order": {
        "marketplaceOrderId": "2630580124",
        "marketplaceOrderGroup": "794901324",
        "marketplacePaymentValue": 1100,
        "isCreatedAsync": true,
        "items": [
          {
            "id": "1",
            "quantity": 1,
            "seller": "1",
            "price": 900,
            "commission": null,
            "freightCommission": null,
            "measurementUnit": null,
            "unitMultiplier": null,
            "isGift": null
          }
        ],
        "clientProfileData": {
          "email": "conta@dominio.com.br",
          "firstName": "Nome",
          "lastName": "Sobrenome",
          "documentType": "cpf",
          "document": "14310315771",
          "phone": "41998718616",
          "corporateName": null,
          "tradeName": null,
          "corporateDocument": null,
          "stateInscription": null,
          "corporatePhone": null,
          "isCorporate": false
        },
        "shippingData": {
          "address": {
            "addressType": "Residencial",
            "receiverName": "Marcelo",
            "addressId": "Casa",
            "postalCode": "81020230",
            "city": "Curitiba",
            "state": "PR",
            "country": "BRA",
            "street": "Rua Eduardo Carlos Pereira",
            "number": "4000",
            "neighborhood": "Novo Mundo",
            "complement": null,
            "reference": null,
            "geoCoordinates": []
          },
          "logisticsInfo": [
            {
              "itemIndex": 0,
              "selectedSla": null,
              "price": 200,
              "lockTTL": "1d",
              "shippingEstimate": "1d",
              "selectedDeliveryChannel": "delivery",
              "deliveryWindow": null
            }
          ]
        },
        "marketingData": null,
        "openTextField": "Phones: 21998718616",
        "customData": {
          "customApps": [
            {
              "fields": {
                "orderIdMarketplace": "2630580148",
                "paymentIdMarketplace": "8191598627"
              },
              "id": "marketplace-integration",
              "major": 1
            }
          ]
        }
      },
      "step": "received",
      "vtexOrderId": "EXT-2630580124",
      "placedAt": "2026-01-02T03:04:06.123Z",
      "authorizedAt": null,
      "handlingDueAt": null,
      "handlingAt": null,
      "notReadyAnswers": 0,
      "wake": null,
      "queuedInvoices": [
        {
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
        }
      ],
      "invoices": [],
      "lastError": null,
      "messageId": "ext-0001",
      "createdAt": "2026-01-02T03:04:05.123Z",
      "updatedAt": "2026-01-02T03:04:05.123Z",
      "version": 0
    }
    "#;

    #[test]
    fn an_import_record_written_before_versioning_reads_as_the_same_record_and_encodes_exactly() {
        let at = |s: i64| Utc.timestamp_opt(1_767_323_045 + s, 123_000_000).unwrap();
        let none = || None::<String>;
        let expected = ImportRecord {
            key: ImportKey::new("EXT", "2630580124"),
            sales_channel: "1".into(),
            order: ImportOrder {
                marketplace_order_id: "2630580124".into(),
                marketplace_order_group: Some("794901324".into()),
                marketplace_payment_value: Cents(1100),
                is_created_async: Some(true),
                items: vec![ImportItem {
                    id: "1".into(),
                    quantity: 1,
                    seller: "1".into(),
                    price: Cents(900),
                    commission: None,
                    freight_commission: None,
                    measurement_unit: None,
                    unit_multiplier: None,
                    is_gift: None,
                }],
                client_profile_data: ImportClient {
                    email: Some("conta@dominio.com.br".into()),
                    first_name: Some("Nome".into()),
                    last_name: Some("Sobrenome".into()),
                    document_type: Some("cpf".into()),
                    document: Some("14310315771".into()),
                    phone: Some("41998718616".into()),
                    corporate_name: none(),
                    trade_name: none(),
                    corporate_document: none(),
                    state_inscription: none(),
                    corporate_phone: none(),
                    is_corporate: Some(false),
                },
                shipping_data: ImportShipping {
                    address: Address {
                        address_type: Some("Residencial".into()),
                        receiver_name: Some("Marcelo".into()),
                        address_id: Some("Casa".into()),
                        postal_code: Some("81020230".into()),
                        city: Some("Curitiba".into()),
                        state: Some("PR".into()),
                        country: Some("BRA".into()),
                        street: Some("Rua Eduardo Carlos Pereira".into()),
                        number: Some("4000".into()),
                        neighborhood: Some("Novo Mundo".into()),
                        complement: None,
                        reference: None,
                        geo_coordinates: vec![],
                    },
                    logistics_info: vec![ImportLogistics {
                        item_index: 0,
                        selected_sla: None,
                        price: Cents(200),
                        lock_ttl: Some(VtexDuration::Days(1)),
                        shipping_estimate: Some(VtexDuration::Days(1)),
                        selected_delivery_channel: Some("delivery".into()),
                        delivery_window: None,
                    }],
                },
                marketing_data: None,
                open_text_field: Some("Phones: 21998718616".into()),
                custom_data: Some(serde_json::json!({"customApps": [{
                    "fields": {"orderIdMarketplace": "2630580148", "paymentIdMarketplace": "8191598627"},
                    "id": "marketplace-integration", "major": 1}]})),
            },
            step: ImportStep::Received,
            vtex_order_id: Some("EXT-2630580124".into()),
            placed_at: Some(at(1)),
            authorized_at: None,
            handling_due_at: None,
            handling_at: None,
            not_ready_answers: 0,
            wake: None,
            queued_invoices: vec![Invoice {
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
            }],
            invoices: vec![],
            last_error: None,
            message_id: Some("ext-0001".into()),
            created_at: at(0),
            updated_at: at(0),
            version: 0,
        };
        let record: ImportRecord = golden(IMPORT_RECORD);
        assert_eq!(record, expected);
    }
}
