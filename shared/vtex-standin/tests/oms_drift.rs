//! OMS's order read as the stand-in answers it (`GET /api/oms/pvt/orders/{id}`), read by the real
//! client's reconciliation read, and drift planted over HTTP (`POST /_standin/oms/drift`).

use domain::invoicing::InvoiceType;
use domain::money::Cents;
use domain::reconcile::{OmsPackage, OmsRead};
use serde_json::{Value, json};
use vtex::client::VtexClient;
use vtex::oms::InvoiceRequest;
use vtex_standin::serve;

async fn post(url: &str, path: &str, body: Value) -> u16 {
    reqwest::Client::new()
        .post(format!("{url}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn invoice(number: &str, value: i64) -> InvoiceRequest {
    InvoiceRequest {
        kind: "Output".into(),
        issuance_date: "2024-01-31T18:25:43-05:00".into(),
        invoice_number: number.into(),
        invoice_value: value,
        invoice_key: None,
        invoice_url: None,
        embedded_invoice: None,
        courier: "Correios".into(),
        tracking_number: "SR1".into(),
        tracking_url: String::new(),
        dispatched_date: None,
        items: vec![vtex::oms::InvoiceItem {
            id: "2002495".into(),
            price: 9990,
            quantity: 1,
            description: None,
        }],
    }
}

#[tokio::test]
async fn the_order_read_shows_the_invoices_and_the_drift_planted_over_http() {
    let (addr, handle) = serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let url = format!("http://{addr}");
    let client = VtexClient::new(&url, handle.credentials()).unwrap();
    let placement = json!([{
        "marketplaceOrderId": "959311095", "marketplacePaymentValue": 11080,
        "items": [{"id": "2002495", "quantity": 1, "price": 9990, "priceTags": []}],
        "shippingData": {"logisticsInfo": [{"itemIndex": 0, "price": 1090}]}
    }]);
    assert_eq!(post(&url, "/_standin/orders", placement).await, 200);

    let OmsRead::Found(before) = client.read_oms_order("", "959311095").await.unwrap() else {
        panic!("a placed order is found")
    };
    assert_eq!(before.status, "handling");
    assert_eq!(before.value, Some(Cents(11080)));
    assert!(
        before.packages.is_empty(),
        "no packageAttachment before invoicing"
    );

    client
        .send_invoice("", "959311095", &invoice("NFe-1", 11080))
        .await
        .unwrap();
    let OmsRead::Found(invoiced) = client.read_oms_order("", "959311095").await.unwrap() else {
        panic!()
    };
    assert_eq!(invoiced.status, "invoiced");
    assert_eq!(
        invoiced.packages,
        vec![OmsPackage {
            invoice_number: "NFe-1".into(),
            invoice_value: Cents(11080),
            kind: Some(InvoiceType::Output),
            tracking_number: Some("SR1".into()),
        }]
    );

    let drift = json!({"marketplaceOrderId": "959311095", "status": "canceled", "value": 12000,
        "dropInvoice": "NFe-1",
        "addInvoice": {"invoiceNumber": "NFe-9", "invoiceValue": 500, "trackingNumber": "SR9"}});
    assert_eq!(post(&url, "/_standin/oms/drift", drift).await, 204);
    let OmsRead::Found(drifted) = client.read_oms_order("", "959311095").await.unwrap() else {
        panic!()
    };
    assert_eq!(drifted.status, "canceled");
    assert_eq!(drifted.value, Some(Cents(12000)));
    assert_eq!(
        drifted
            .packages
            .iter()
            .map(|p| p.invoice_number.as_str())
            .collect::<Vec<_>>(),
        ["NFe-9"]
    );
    // Canceled at VTEX: further invoices are refused, as after a cancel.
    let refused = client
        .send_invoice("", "959311095", &invoice("NFe-2", 100))
        .await
        .unwrap();
    assert!(matches!(
        refused,
        vtex::client::CallOutcome::Rejected { status: 409, .. }
    ));

    let tracking = json!({"marketplaceOrderId": "959311095",
        "tracking": {"invoiceNumber": "NFe-9", "trackingNumber": null}});
    assert_eq!(post(&url, "/_standin/oms/drift", tracking).await, 204);
    let OmsRead::Found(untracked) = client.read_oms_order("", "959311095").await.unwrap() else {
        panic!()
    };
    assert_eq!(untracked.packages[0].tracking_number, None);

    assert_eq!(
        post(
            &url,
            "/_standin/oms/drift",
            json!({"marketplaceOrderId": "404", "value": 1})
        )
        .await,
        404
    );
    assert_eq!(
        post(
            &url,
            "/_standin/oms/drift",
            json!({"marketplaceOrderId": "959311095", "colour": "red"})
        )
        .await,
        400
    );
    assert_eq!(
        client.read_oms_order("", "unknown").await.unwrap(),
        OmsRead::NotFound
    );
}
