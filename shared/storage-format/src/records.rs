//! Stored records whose version-1 shape is still the domain type's own serde form: SKUs (without
//! stock, which the adapters keep apart), the shipping rules, and import records. The first two
//! are also the ERP's and the catalog file's input format; an import record embeds the import
//! order as the ERP sent it.
//!
//! They are versioned like every record (`schemaVersion`, absent = 1), and the golden tests below
//! pin their JSON: a domain rename that would change what is stored turns a test red. The fix is
//! then to write that record's `V1` types and conversions, as [`crate::order`] does, so the
//! stored shape stays what the literal says.

use crate::{FormatError, Stored};
use domain::catalog::Sku;
use domain::import::ImportRecord;
use domain::shipping::ShippingRules;

macro_rules! domain_shape_v1 {
    ($($ty:ty => $what:literal),* $(,)?) => {$(
        impl Stored for $ty {
            const WHAT: &'static str = $what;
            const VERSION: u32 = 1;
            type Shape = $ty;

            fn to_shape(&self) -> $ty {
                self.clone()
            }

            fn from_shape(shape: $ty) -> Result<Self, FormatError> {
                Ok(shape)
            }
        }
    )*};
}

domain_shape_v1! {
    Sku => "SKU",
    ShippingRules => "shipping rules",
    ImportRecord => "import record",
}

#[cfg(test)]
mod golden {
    //! Each literal is the record as the adapters wrote it before `schemaVersion`.
    use super::*;
    use crate::testing::golden;

    const SKU: &str = r#"
    {
      "id": "2000037",
      "active": true,
      "name": "Forno Micro-ondas 30 Litros Inox",
      "prices": [
        {
          "price": 67203,
          "listPrice": 67203
        },
        {
          "an": "parceiromkp",
          "price": 66203,
          "listPrice": 67203
        }
      ],
      "stock": {},
      "salesChannels": [],
      "dimensions": {
        "heightCm": 32.0,
        "widthCm": 52.0,
        "lengthCm": 42.0,
        "weightG": 10000
      },
      "measurementUnit": "un",
      "unitMultiplier": 1,
      "offerings": [
        {
          "type": "Warranty",
          "id": "5",
          "name": "Garantia estendida de 1 ano",
          "price": 10000
        }
      ],
      "product": {
        "productId": "P2000037",
        "productName": "Forno Micro-ondas 30 Litros Inox",
        "description": "Micro-ondas de 30 litros com painel digital e acabamento inox.",
        "brand": "Eletrolar",
        "categoryPath": "Eletrodomésticos/Micro-ondas",
        "images": [
          {
            "name": "principal",
            "url": "https://images.lojaexemplo.com.br/produtos/P2000037/1.jpg"
          }
        ],
        "productSpecifications": [],
        "skuSpecifications": [
          {
            "name": "Voltagem",
            "values": [
              "220V"
            ]
          }
        ]
      }
    }
    "#;

    const SHIPPING_RULES: &str = r#"
    {
      "shipsTo": [
        "BRA"
      ],
      "warehouses": [
        {
          "id": "cd-cajamar",
          "name": "CD Cajamar (SP)"
        }
      ],
      "carriers": [
        {
          "id": "Normal",
          "name": "Entrega Normal",
          "warehouseId": "cd-cajamar",
          "zones": [
            {
              "country": "BRA",
              "postalCodeRanges": [
                {
                  "from": "01000-000",
                  "to": "09999-999"
                }
              ],
              "price": {
                "perLine": 590,
                "perUnit": 0,
                "perKg": 50
              },
              "shippingEstimate": "2bd"
            }
          ],
          "salesChannels": []
        }
      ],
      "pickupPoints": [
        {
          "id": "retira-copacabana",
          "name": "Retirada na loja",
          "friendlyName": "Loja Copacabana",
          "address": {
            "postalCode": "22050-002",
            "city": "Rio de Janeiro",
            "state": "RJ",
            "country": "BRA",
            "street": "Avenida Nossa Senhora de Copacabana",
            "number": "680",
            "neighborhood": "Copacabana",
            "complement": "Loja B",
            "reference": "Em frente à Praça Serzedelo Correia",
            "geoCoordinates": [
              -43.1856,
              -22.9678
            ]
          },
          "serves": [
            {
              "country": "BRA",
              "postalCodeRanges": [
                {
                  "from": "20000-000",
                  "to": "23799-999"
                }
              ],
              "price": {
                "perLine": 0,
                "perUnit": 0,
                "perKg": 0
              },
              "shippingEstimate": "0bd"
            }
          ],
          "additionalInfo": "Segunda a sábado, das 10h às 22h. Leve um documento com foto.",
          "salesChannels": []
        }
      ],
      "followUpEmail": "pedidos@lojaexemplo.com.br"
    }
    "#;

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
    fn a_sku_without_stock_written_before_versioning_reads_and_encodes_exactly() {
        golden::<Sku>(SKU);
    }

    #[test]
    fn the_shipping_rules_written_before_versioning_reads_and_encodes_exactly() {
        golden::<ShippingRules>(SHIPPING_RULES);
    }

    #[test]
    fn an_import_record_written_before_versioning_reads_and_encodes_exactly() {
        golden::<ImportRecord>(IMPORT_RECORD);
    }
}
