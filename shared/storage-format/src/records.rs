//! The stored import record, whose version-1 shape is still the domain type's own serde form: it
//! embeds the import order as the ERP sent it (customer data, opaque `customData`) and the invoice
//! records of the imported order, a large tree that moves with the import message format.
//!
//! It is versioned like every record (`schemaVersion`, absent = 1), and the golden test below pins
//! its JSON: a domain rename that would change what is stored turns the test red. The fix is then
//! to write its `V1` types and conversions, as the other modules do, so the stored shape stays what
//! the literal says.

use crate::{FormatError, Stored};
use domain::import::ImportRecord;

impl Stored for ImportRecord {
    const WHAT: &'static str = "import record";
    const VERSION: u32 = 1;
    type Shape = ImportRecord;

    fn to_shape(&self) -> ImportRecord {
        self.clone()
    }

    fn from_shape(shape: ImportRecord) -> Result<Self, FormatError> {
        Ok(shape)
    }
}

#[cfg(test)]
mod golden {
    //! Each literal is the record as the adapters wrote it before `schemaVersion`.
    use super::*;
    use crate::testing::golden;

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
    fn an_import_record_written_before_versioning_reads_and_encodes_exactly() {
        golden::<ImportRecord>(IMPORT_RECORD);
    }
}
