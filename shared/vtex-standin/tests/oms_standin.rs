//! The stand-in answers like OMS: checks, receipts, error envelopes, journal and faults. Driven by
//! the real `vtex::client::VtexClient` where the connector would call it, by raw HTTP otherwise.

use serde_json::{Value, json};
use std::time::Duration;
use vtex::client::{AppCredentials, CallOutcome, VtexClient};
use vtex::oms::{
    CancelRequest, InvoiceRequest, TrackingEventDto, TrackingPatch, TrackingStatusRequest,
};
use vtex_standin::{FaultPlan, ServerHandle, serve};

async fn start() -> (String, ServerHandle, VtexClient) {
    let (addr, handle) = serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let url = format!("http://{addr}");
    let client = VtexClient::new(&url, handle.credentials()).unwrap();
    (url, handle, client)
}

fn invoice(number: &str, kind: &str, value: i64) -> InvoiceRequest {
    InvoiceRequest {
        kind: kind.into(),
        issuance_date: "2024-01-31T18:25:43-05:00".into(),
        invoice_number: number.into(),
        invoice_value: value,
        invoice_key: None,
        invoice_url: None,
        embedded_invoice: None,
        courier: String::new(),
        tracking_number: String::new(),
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

fn patch() -> TrackingPatch {
    TrackingPatch {
        tracking_number: "SR1".into(),
        tracking_url: None,
        courier: Some("Correios".into()),
        dispatched_date: None,
    }
}

fn status(delivered: bool) -> TrackingStatusRequest {
    TrackingStatusRequest {
        is_delivered: delivered,
        delivered_date: delivered.then(|| "2015-06-25 14:30".into()),
        events: vec![TrackingEventDto {
            city: "Curitiba".into(),
            state: "PR".into(),
            description: "Entregue".into(),
            date: "2015-06-25".into(),
        }],
    }
}

/// Registers the placement VTEX sent for order `id`: one item of SKU 2002495 and 1090 freight,
/// worth `value` in all.
async fn seed(url: &str, id: &str, value: i64) {
    let body = json!([{
        "marketplaceOrderId": id, "marketplacePaymentValue": value,
        "items": [{"id": "2002495", "quantity": 1, "price": value - 1090, "priceTags": []}],
        "shippingData": {"logisticsInfo": [{"itemIndex": 0, "price": 1090}]}
    }]);
    let r = register(url, &body).await;
    assert_eq!(
        r,
        json!([{"marketplaceOrderId": id, "value": value, "marketplacePaymentValue": value}])
    );
}

async fn register(url: &str, body: &Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{url}/_standin/orders"))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn rejected_status(o: CallOutcome) -> u16 {
    match o {
        CallOutcome::Rejected { status, .. } => status,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn invoice_tracking_and_delivery_are_accepted_with_receipts() {
    let (url, h, c) = start().await;
    seed(&url, "959311095-01", 11080).await;
    let CallOutcome::Success(r) = c
        .send_invoice("", "959311095-01", &invoice("NFe-1", "Output", 11080))
        .await
        .unwrap()
    else {
        panic!("invoice refused")
    };
    assert_eq!(r.order_id.as_deref(), Some("959311095-01"));
    assert!(r.receipt.is_some());
    assert!(matches!(
        c.patch_tracking("", "959311095-01", "NFe-1", &patch())
            .await
            .unwrap(),
        CallOutcome::Success(_)
    ));
    assert!(matches!(
        c.put_tracking_status("", "959311095-01", "NFe-1", &status(true))
            .await
            .unwrap(),
        CallOutcome::Success(_)
    ));
    let order: Value = reqwest::Client::new()
        .get(format!("{url}/api/oms/pvt/orders/959311095-01"))
        .header("X-VTEX-API-AppKey", vtex_standin::DEFAULT_APP_KEY)
        .header("X-VTEX-API-AppToken", vtex_standin::DEFAULT_APP_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(order["status"], "invoiced");
    let pkg = &order["packageAttachment"]["packages"][0];
    assert_eq!(pkg["invoiceValue"], 11080);
    assert_eq!(pkg["trackingNumber"], "SR1");
    assert_eq!(pkg["courierStatus"]["finished"], true);
    assert_eq!(
        h.state().requests().iter().filter(|r| r.accepted()).count(),
        4
    );
}

#[tokio::test]
async fn missing_or_wrong_credentials_are_refused_with_the_oms_envelope() {
    let (url, h, _) = start().await;
    let raw = reqwest::Client::new()
        .post(format!("{url}/api/oms/pvt/orders/1/cancel"))
        .json(&json!({"reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 401);
    let body: Value = raw.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AUTH001");
    assert!(body["error"].get("exception").is_some());
    let wrong = VtexClient::new(&url, AppCredentials::new("k", "nope")).unwrap();
    let out = wrong
        .cancel_order("", "1", &CancelRequest { reason: "x".into() })
        .await
        .unwrap();
    assert_eq!(rejected_status(out), 403);
    let journal = h.state().requests();
    assert_eq!(journal.len(), 2);
    assert!(journal.iter().all(|r| !r.authorized && !r.accepted()));
    let text = serde_json::to_string(&journal).unwrap();
    assert!(!text.contains("nope"), "the journal keeps no credentials");
}

#[tokio::test]
async fn a_repeated_invoice_number_gets_a_new_receipt_and_changes_nothing() {
    let (url, h, c) = start().await;
    seed(&url, "A", 11080).await;
    c.send_invoice("", "A", &invoice("N1", "Output", 11080))
        .await
        .unwrap();
    let mut changed = invoice("N1", "Output", 11080);
    changed.invoice_url = Some("https://changed".into());
    assert!(matches!(
        c.send_invoice("", "A", &changed).await.unwrap(),
        CallOutcome::Success(_)
    ));
    let oms = h.state().oms.lock().unwrap();
    let inv = &oms.orders["A"].invoices;
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0].body["invoiceUrl"], Value::Null);
}

#[tokio::test]
async fn invoices_above_a_known_order_total_are_refused() {
    let (url, _h, c) = start().await;
    seed(&url, "A", 11080).await;
    let out = c
        .send_invoice("", "A", &invoice("N1", "Output", 11081))
        .await
        .unwrap();
    assert_eq!(rejected_status(out), 400);
}

#[tokio::test]
async fn malformed_invoices_are_refused() {
    let (url, _h, _) = start().await;
    seed(&url, "A", 11080).await;
    let post = |body: Value| {
        let url = url.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{url}/api/oms/pvt/orders/A/invoice"))
                .header("X-VTEX-API-AppKey", vtex_standin::DEFAULT_APP_KEY)
                .header("X-VTEX-API-AppToken", vtex_standin::DEFAULT_APP_TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let good = serde_json::to_value(invoice("N1", "Output", 11080)).unwrap();
    let variants: Vec<(&str, Value)> = vec![
        ("invoiceValue", json!("11080")),
        ("invoiceValue", json!(110.8)),
        ("invoiceValue", json!(0)),
        ("issuanceDate", json!("2024-01-31")),
        ("type", json!("Sale")),
        ("items", json!([])),
        ("items", json!([{"id": "1", "price": 99.9, "quantity": 1}])),
        ("courier", Value::Null),
    ];
    for (k, v) in variants {
        let mut b = good.clone();
        b[k] = v.clone();
        assert_eq!(post(b).await, 400, "{k} = {v}");
    }
    let mut b = good.clone();
    b.as_object_mut().unwrap().remove("invoiceNumber");
    assert_eq!(post(b).await, 400);
    assert_eq!(post(good).await, 200);
}

#[tokio::test]
async fn tracking_needs_a_known_invoice_and_put_needs_a_tracking_number() {
    let (url, _h, c) = start().await;
    seed(&url, "A", 11080).await;
    assert_eq!(
        rejected_status(c.patch_tracking("", "A", "N1", &patch()).await.unwrap()),
        404
    );
    c.send_invoice("", "A", &invoice("N1", "Output", 11080))
        .await
        .unwrap();
    assert_eq!(
        rejected_status(
            c.put_tracking_status("", "A", "N1", &status(false))
                .await
                .unwrap()
        ),
        400
    );
    let mut blank = patch();
    blank.courier = Some(String::new());
    assert_eq!(
        rejected_status(c.patch_tracking("", "A", "N1", &blank).await.unwrap()),
        400
    );
}

#[tokio::test]
async fn cancel_follows_the_invoice_state() {
    let (url, _h, c) = start().await;
    seed(&url, "P", 20000).await;
    c.send_invoice("", "P", &invoice("N1", "Output", 11080))
        .await
        .unwrap();
    let reason = CancelRequest { reason: "x".into() };
    assert_eq!(
        rejected_status(c.cancel_order("", "P", &reason).await.unwrap()),
        400
    );

    seed(&url, "F", 11080).await;
    c.send_invoice("", "F", &invoice("N1", "Output", 11080))
        .await
        .unwrap();
    assert_eq!(
        rejected_status(c.cancel_order("", "F", &reason).await.unwrap()),
        400
    );
    assert!(matches!(
        c.send_invoice("", "F", &invoice("R1", "Input", 11080))
            .await
            .unwrap(),
        CallOutcome::Success(_)
    ));
    assert!(matches!(
        c.cancel_order("", "F", &reason).await.unwrap(),
        CallOutcome::Success(_)
    ));
    // Canceled is final: the same cancel answers the same way, nothing else is taken.
    assert!(matches!(
        c.cancel_order("", "F", &reason).await.unwrap(),
        CallOutcome::Success(_)
    ));
    assert_eq!(
        rejected_status(
            c.send_invoice("", "F", &invoice("N2", "Output", 11080))
                .await
                .unwrap()
        ),
        409
    );
    assert_eq!(
        rejected_status(c.patch_tracking("", "F", "N1", &patch()).await.unwrap()),
        409
    );
    assert_eq!(
        rejected_status(
            c.put_tracking_status("", "F", "N1", &status(false))
                .await
                .unwrap()
        ),
        409
    );
}

#[tokio::test]
async fn an_order_vtex_never_placed_is_404_on_every_call() {
    let (_url, _h, c) = start().await;
    let reason = CancelRequest { reason: "x".into() };
    let calls = [
        c.send_invoice("", "N", &invoice("N1", "Output", 11080))
            .await
            .unwrap(),
        c.patch_tracking("", "N", "N1", &patch()).await.unwrap(),
        c.put_tracking_status("", "N", "N1", &status(false))
            .await
            .unwrap(),
        c.cancel_order("", "N", &reason).await.unwrap(),
    ];
    for call in calls {
        assert_eq!(rejected_status(call), 404);
    }
}

#[tokio::test]
async fn the_value_is_vtexs_own_reading_of_the_placement_a_promotion_included() {
    let (url, h, c) = start().await;
    // Issue 11's promotion: 9990 with -1000 off, 1090 freight; the marketplace pays 10080.
    let body = json!({
        "marketplaceOrderId": "PROMO", "marketplacePaymentValue": 10080,
        "items": [{"id": "2002495", "quantity": 1, "price": 9990, "bundleItems": [],
                   "priceTags": [{"name": "DISCOUNT@MARKETPLACE", "value": -1000,
                                  "isPercentual": false, "rawValue": -10.0}]}],
        "shippingData": {"logisticsInfo": [{"itemIndex": 0, "price": 1090, "deliveryWindow": null}]}
    });
    assert_eq!(register(&url, &body).await[0]["value"], 10080);
    assert_eq!(
        rejected_status(
            c.send_invoice("", "PROMO", &invoice("N1", "Output", 11080))
                .await
                .unwrap()
        ),
        400
    );
    let mut discounted = invoice("N1", "Output", 10080);
    discounted.items[0].price = 8990;
    assert!(matches!(
        c.send_invoice("", "PROMO", &discounted).await.unwrap(),
        CallOutcome::Success(_)
    ));
    assert_eq!(
        h.state().oms.lock().unwrap().orders["PROMO"].status(),
        "invoiced"
    );
    // VTEX placing it again (a retry) changes nothing it holds.
    register(&url, &body).await;
    assert_eq!(
        h.state().oms.lock().unwrap().orders["PROMO"].invoices.len(),
        1
    );
}

#[tokio::test]
async fn tracking_goes_on_sale_invoices_only() {
    let (url, _h, c) = start().await;
    seed(&url, "R", 11080).await;
    c.send_invoice("", "R", &invoice("N1", "Output", 11080))
        .await
        .unwrap();
    c.send_invoice("", "R", &invoice("RET1", "Input", 11080))
        .await
        .unwrap();
    assert_eq!(
        rejected_status(c.patch_tracking("", "R", "RET1", &patch()).await.unwrap()),
        400
    );
    assert_eq!(
        rejected_status(
            c.put_tracking_status("", "R", "RET1", &status(false))
                .await
                .unwrap()
        ),
        400
    );
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_is_415() {
    let (url, _h, _) = start().await;
    seed(&url, "A", 11080).await;
    let body = serde_json::to_string(&invoice("N1", "Output", 11080)).unwrap();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut r = reqwest::Client::new()
            .post(format!("{url}/api/oms/pvt/orders/A/invoice"))
            .header("X-VTEX-API-AppKey", vtex_standin::DEFAULT_APP_KEY)
            .header("X-VTEX-API-AppToken", vtex_standin::DEFAULT_APP_TOKEN)
            .body(body.clone());
        if let Some(ct) = content_type {
            r = r.header("content-type", ct);
        }
        let resp = r.send().await.unwrap();
        assert_eq!(resp.status(), 415, "{content_type:?}");
        let envelope: Value = resp.json().await.unwrap();
        assert_eq!(envelope["error"]["code"], "OMS415");
    }
    let ok = reqwest::Client::new()
        .post(format!("{url}/api/oms/pvt/orders/A/invoice"))
        .header("X-VTEX-API-AppKey", vtex_standin::DEFAULT_APP_KEY)
        .header("X-VTEX-API-AppToken", vtex_standin::DEFAULT_APP_TOKEN)
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn faults_answer_429_with_retry_after_500_and_slowly_without_acting() {
    let (url, h, _) = start().await;
    seed(&url, "A", 11080).await;
    let c = VtexClient::with_timeout(&url, h.credentials(), Duration::from_millis(300)).unwrap();
    h.state().set_faults(FaultPlan {
        next: vec![429, 500],
        retry_after: Some(7),
        ..FaultPlan::default()
    });
    let first = c
        .send_invoice("", "A", &invoice("N1", "Output", 1))
        .await
        .unwrap();
    assert_eq!(
        first,
        CallOutcome::Retryable {
            retry_after: Some(Duration::from_secs(7)),
            reason: "VTEX answered 429".into()
        }
    );
    assert!(matches!(
        c.send_invoice("", "A", &invoice("N1", "Output", 1))
            .await
            .unwrap(),
        CallOutcome::Retryable {
            retry_after: None,
            ..
        }
    ));
    assert!(matches!(
        c.send_invoice("", "A", &invoice("N1", "Output", 1))
            .await
            .unwrap(),
        CallOutcome::Success(_)
    ));
    // Every 2nd call fails with 503 from here on.
    let r = reqwest::Client::new()
        .post(format!("{url}/_standin/faults"))
        .json(&json!({"failEvery": 2, "status": 503}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let outs: Vec<bool> = patch_four_times(&c).await;
    assert_eq!(outs, vec![true, false, true, false]);

    assert_eq!(h.state().requests().iter().filter(|r| r.faulted).count(), 4);

    let r = reqwest::Client::new()
        .post(format!("{url}/_standin/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(h.state().requests().is_empty());

    // Slower than the client's timeout: a timeout, which is retryable.
    h.state().set_faults(FaultPlan {
        delay_ms: Some(1000),
        ..FaultPlan::default()
    });
    assert!(matches!(
        c.cancel_order("", "B", &CancelRequest { reason: "x".into() })
            .await
            .unwrap(),
        CallOutcome::Retryable { .. }
    ));
}

/// Four sequential PATCH calls on an unknown invoice: `true` where the fault plan let it through
/// (404 from OMS), `false` where it was faulted.
async fn patch_four_times(c: &VtexClient) -> Vec<bool> {
    let mut v = Vec::new();
    for _ in 0..4 {
        let o = c.patch_tracking("", "A", "N9", &patch()).await.unwrap();
        v.push(matches!(o, CallOutcome::Rejected { status: 404, .. }));
    }
    v
}
