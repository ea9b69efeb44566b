//! The stand-in plays our own VTEX account in the import flow (shared/docs/protocol.md §Import,
//! §Marketplace services endpoint): driven by the real `vtex::fulfillment` calls where the
//! connector makes them, by raw HTTP for the shapes and control routes the connector never sends.

use domain::import::contract::sample_order;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vtex::client::VtexClient;
use vtex::fulfillment::{FulfillmentOrderRequest, Handling, ImportCall};
use vtex::oms::{InvoiceItem, InvoiceRequest, TrackingPatch};
use vtex_standin::{ServerHandle, serve};

const ACCOUNT: &str = "myshop";

async fn start(grace: Duration) -> (String, ServerHandle, VtexClient) {
    let (addr, handle) = serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    handle.state().fulfillment.lock().unwrap().grace = grace;
    let url = format!("http://{addr}");
    let client = VtexClient::new(&url, handle.credentials()).unwrap();
    (url, handle, client)
}

fn order(mkp: &str, mse: &str) -> FulfillmentOrderRequest {
    FulfillmentOrderRequest::new(&sample_order(mkp), mse)
}

async fn status(c: &VtexClient, id: &str) -> String {
    match c.get_order(ACCOUNT, id).await.unwrap() {
        ImportCall::Success(Some(o)) => o.status.unwrap_or_default(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_workflow_answers_like_vtex_and_refuses_repeats() {
    let (_, _h, c) = start(Duration::ZERO).await;
    let placed = c
        .place_fulfillment_order(ACCOUNT, "EXT", "1", &order("1001", "https://mse.example"))
        .await
        .unwrap();
    assert_eq!(placed, ImportCall::Success("EXT-1001".into()));
    assert_eq!(status(&c, "EXT-1001").await, "waiting-ffmt-authorization");
    assert!(matches!(
        c.start_handling(ACCOUNT, "EXT-1001").await.unwrap(),
        ImportCall::Success(Handling::NotReady(_))
    ));
    assert_eq!(
        c.authorize_dispatch(ACCOUNT, "EXT", "1", "EXT-1001", "1001")
            .await
            .unwrap(),
        ImportCall::Success(())
    );
    assert_eq!(status(&c, "EXT-1001").await, "ready-for-handling");
    assert_eq!(
        c.start_handling(ACCOUNT, "EXT-1001").await.unwrap(),
        ImportCall::Success(Handling::Started)
    );
    assert_eq!(status(&c, "EXT-1001").await, "handling");
    // Repeats: start-handling is no longer allowed, a second authorization or placement is refused.
    let ImportCall::Success(Handling::NotReady(body)) =
        c.start_handling(ACCOUNT, "EXT-1001").await.unwrap()
    else {
        panic!()
    };
    assert!(body.contains("OMS003"), "{body}");
    assert!(matches!(
        c.authorize_dispatch(ACCOUNT, "EXT", "1", "EXT-1001", "1001")
            .await
            .unwrap(),
        ImportCall::Rejected { status: 409, .. }
    ));
    assert!(matches!(
        c.place_fulfillment_order(ACCOUNT, "EXT", "1", &order("1001", "https://mse.example"))
            .await
            .unwrap(),
        ImportCall::Rejected { status: 409, .. }
    ));
    assert_eq!(
        c.get_order(ACCOUNT, "EXT-404").await.unwrap(),
        ImportCall::Success(None)
    );
}

#[tokio::test]
async fn the_grace_period_holds_the_order_in_window_to_cancel() {
    let (_, _h, c) = start(Duration::from_millis(400)).await;
    c.place_fulfillment_order(ACCOUNT, "EXT", "1", &order("1002", "https://mse.example"))
        .await
        .unwrap();
    c.authorize_dispatch(ACCOUNT, "EXT", "1", "EXT-1002", "1002")
        .await
        .unwrap();
    assert_eq!(status(&c, "EXT-1002").await, "window-to-cancel");
    assert!(matches!(
        c.start_handling(ACCOUNT, "EXT-1002").await.unwrap(),
        ImportCall::Success(Handling::NotReady(_))
    ));
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(
        c.start_handling(ACCOUNT, "EXT-1002").await.unwrap(),
        ImportCall::Success(Handling::Started)
    );
}

#[tokio::test]
async fn unknown_skus_and_missing_fields_are_refused_with_vtex_like_errors() {
    let (url, h, c) = start(Duration::ZERO).await;
    h.state().fulfillment.lock().unwrap().known_skus = Some(["2".to_string()].into());
    let ImportCall::Rejected { status, body } = c
        .place_fulfillment_order(ACCOUNT, "EXT", "1", &order("1003", "https://mse.example"))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(status, 400);
    // The refusal keeps VTEX's code and message (not the raw body: it may quote customer data).
    assert!(body.contains("Item 1 not found"), "{body}");
    // Raw bodies: no affiliate, a missing address field, money that is not cents.
    let http = reqwest::Client::new();
    let mut o = serde_json::to_value(order("1004", "https://mse.example")).unwrap();
    o["items"][0]["id"] = json!("2");
    let post = |q: &'static str, body: Value| {
        let http = http.clone();
        let url = format!("{url}/api/fulfillment/pvt/orders{q}");
        async move {
            http.post(url)
                .header("X-VTEX-API-AppKey", vtex_standin::DEFAULT_APP_KEY)
                .header("X-VTEX-API-AppToken", vtex_standin::DEFAULT_APP_TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(post("?sc=1", json!([o.clone()])).await.status(), 400);
    let mut no_city = o.clone();
    no_city["shippingData"]["address"]
        .as_object_mut()
        .unwrap()
        .remove("city");
    let r = post("?affiliateId=EXT", json!([no_city])).await;
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("shippingData.address.city")
    );
    let mut floats = o.clone();
    floats["items"][0]["price"] = json!(9.0);
    assert_eq!(
        post("?affiliateId=EXT", json!([floats])).await.status(),
        400
    );
    // An object body is answered in EMO's object shape.
    let r = post("?affiliateId=EXT", o).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["orderId"], "EXT-1004");
    assert_eq!(v["status"], "success");
    assert_eq!(v["orderData"]["marketplaceOrderId"], "1004");
}

/// A recording marketplace-services endpoint.
async fn mse_server() -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let s = s.clone();
        async move {
            let path = req.uri().path().to_string();
            let bytes = axum::body::to_bytes(req.into_body(), 1 << 20)
                .await
                .unwrap();
            s.lock()
                .unwrap()
                .push((path, serde_json::from_slice(&bytes).unwrap_or(Value::Null)));
            axum::Json(json!({"date": "2024-01-01T00:00:00Z", "orderId": "x", "receipt": "r"}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/vtex/s3cr3t"), seen)
}

fn invoice(value: i64) -> InvoiceRequest {
    InvoiceRequest {
        kind: "Output".into(),
        issuance_date: "2024-02-07T15:22:56-03:00".into(),
        invoice_number: "NF-1".into(),
        invoice_value: value,
        invoice_key: None,
        invoice_url: None,
        embedded_invoice: None,
        courier: String::new(),
        tracking_number: String::new(),
        tracking_url: String::new(),
        dispatched_date: None,
        items: vec![InvoiceItem {
            id: "1".into(),
            price: 900,
            quantity: 1,
            description: None,
        }],
    }
}

#[tokio::test]
async fn invoices_on_an_imported_order_are_notified_to_its_mse() {
    let (url, h, c) = start(Duration::ZERO).await;
    let (mse, seen) = mse_server().await;
    c.place_fulfillment_order(ACCOUNT, "EXT", "1", &order("1005", &mse))
        .await
        .unwrap();
    // Above the order value (900 + 200 freight): refused, nobody notified.
    let refused = c
        .send_invoice(ACCOUNT, "EXT-1005", &invoice(1200))
        .await
        .unwrap();
    assert!(matches!(
        refused,
        vtex::client::CallOutcome::Rejected { status: 400, .. }
    ));
    assert!(seen.lock().unwrap().is_empty());
    let ok = c
        .send_invoice(ACCOUNT, "EXT-1005", &invoice(1100))
        .await
        .unwrap();
    assert!(matches!(ok, vtex::client::CallOutcome::Success(_)));
    assert_eq!(status(&c, "EXT-1005").await, "invoiced");
    c.patch_tracking(
        ACCOUNT,
        "EXT-1005",
        "NF-1",
        &TrackingPatch {
            tracking_number: "SR1".into(),
            tracking_url: None,
            courier: Some("Correios".into()),
            dispatched_date: None,
        },
    )
    .await
    .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, "/vtex/s3cr3t/pub/orders/EXT-1005/invoice");
    assert_eq!(seen[0].1["invoiceNumber"], "NF-1");
    assert_eq!(seen[0].1["invoiceValue"], 1100);
    assert_eq!(seen[1].1["trackingNumber"], "SR1");
    assert_eq!(seen[1].1["courier"], "Correios");
    // The control view lists the order and both notifications.
    let view: Value = reqwest::get(format!("{url}/_standin/fulfillment"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["orders"][0]["status"], "invoiced");
    assert_eq!(view["mseCalls"].as_array().unwrap().len(), 2);
    assert_eq!(view["mseCalls"][0]["status"], 200);
    // Marketplace-flow orders (not imported) never call anyone.
    let h_calls = h.state().fulfillment.lock().unwrap().mse_calls.len();
    c.send_invoice(ACCOUNT, "959311095", &invoice(1100))
        .await
        .unwrap();
    assert_eq!(
        h.state().fulfillment.lock().unwrap().mse_calls.len(),
        h_calls
    );
}

#[tokio::test]
async fn the_control_route_sets_the_grace_period_and_the_known_skus() {
    let (url, h, _c) = start(Duration::from_secs(5)).await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{url}/_standin/fulfillment"))
        .json(&json!({"graceSeconds": 0.5, "knownSkus": ["1", "2"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    {
        let f = h.state().fulfillment.lock().unwrap();
        assert_eq!(f.grace, Duration::from_millis(500));
        assert_eq!(f.known_skus.as_ref().unwrap().len(), 2);
    }
    http.post(format!("{url}/_standin/fulfillment"))
        .json(&json!({"knownSkus": null}))
        .send()
        .await
        .unwrap();
    assert!(h.state().fulfillment.lock().unwrap().known_skus.is_none());
    assert_eq!(
        h.state().fulfillment.lock().unwrap().grace,
        Duration::from_millis(500),
        "absent fields stay as they were"
    );
    let bad = http
        .post(format!("{url}/_standin/fulfillment"))
        .json(&json!({"graceSeconds": -1}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn start_handling_is_started_only_on_omss_204() {
    let (_, h, c) = start(Duration::ZERO).await;
    c.place_fulfillment_order(ACCOUNT, "EXT", "1", &order("1003", "https://mse.example"))
        .await
        .unwrap();
    c.authorize_dispatch(ACCOUNT, "EXT", "1", "EXT-1003", "1003")
        .await
        .unwrap();
    // Something in front of OMS answers 200 (or 202) without OMS acting: not started.
    for not_oms in [200, 202] {
        h.state().set_faults(vtex_standin::FaultPlan {
            next: vec![not_oms],
            ..Default::default()
        });
        assert!(
            matches!(
                c.start_handling(ACCOUNT, "EXT-1003").await.unwrap(),
                ImportCall::Retryable { .. }
            ),
            "{not_oms}"
        );
        assert_eq!(status(&c, "EXT-1003").await, "ready-for-handling");
    }
    assert_eq!(
        c.start_handling(ACCOUNT, "EXT-1003").await.unwrap(),
        ImportCall::Success(Handling::Started)
    );
}
