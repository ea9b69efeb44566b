//! Dispatcher flows against moto (DynamoDB tables + SQS FIFO queue with DLQ) and the VTEX
//! stand-in (`tests/run.sh`): an order placed and authorized, then the ERP's messages.

use crate::dispatch_support::*;
use domain::erp::OrderRef;
use domain::invoicing::InvoiceType::{Input, Output};
use domain::order::{OrderStatus, Outcome};
use domain::ports::OrderStore;
use serde_json::Value;
use vtex_standin::FaultPlan;

#[tokio::test]
async fn invoice_tracking_and_delivery_arrive_once_with_the_marketplace_order_id() {
    let Some(b) = bench(5).await else { return };
    b.authorized_order("SLR-F1", "959311095-01", &[("2002495", 1, 9990, 1090)])
        .await;
    // The ERP names the order both ways.
    let by_mkp = OrderRef::by_marketplace_id("959311095-01", Some("luxstore".into()));
    let by_ours = OrderRef::by_order_id("SLR-F1");
    b.send(
        "SLR-F1",
        &invoice_msg(
            &by_mkp,
            invoice(Output, "NFe-1", 11080, &[("2002495", 1, 9990)]),
        ),
    )
    .await;
    b.send("SLR-F1", &tracking_msg(&by_ours, "NFe-1", "SR1"))
        .await;
    b.send(
        "SLR-F1",
        &status_msg(
            &by_mkp,
            "NFe-1",
            false,
            vec![event("Coletado", "2024-02-08")],
        ),
    )
    .await;
    b.send(
        "SLR-F1",
        &status_msg(
            &by_ours,
            "NFe-1",
            true,
            vec![
                event("Coletado", "2024-02-08"),
                event("Entregue", "2024-02-10"),
            ],
        ),
    )
    .await;
    b.pump(1).await;

    let calls: Vec<(String, String)> = b
        .accepted()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    let base = "/api/oms/pvt/orders/959311095-01/invoice";
    assert_eq!(
        calls,
        vec![
            ("POST".to_string(), base.to_string()),
            ("PATCH".to_string(), format!("{base}/NFe-1")),
            ("PUT".to_string(), format!("{base}/NFe-1/tracking")),
            ("PUT".to_string(), format!("{base}/NFe-1/tracking")),
        ]
    );
    let puts: Vec<Value> = b
        .accepted()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.body)
        .collect();
    assert_eq!(
        puts[1]["events"].as_array().unwrap().len(),
        1,
        "only the new event"
    );
    assert_eq!(puts[1]["isDelivered"], true);
    assert_eq!(b.status("SLR-F1").await, OrderStatus::Delivered);
    assert_eq!(b.stock("2002495").await, (INITIAL_STOCK - 1, 0));
    let log = b.orders.read_log("SLR-F1").await.unwrap();
    assert!(
        log.iter()
            .filter(|e| e.step.starts_with("dispatch."))
            .count()
            >= 5
    );
    assert_eq!(b.dlq_depth().await, 0);
}

#[tokio::test]
async fn split_shipment_is_partially_then_fully_invoiced() {
    let Some(b) = bench(5).await else { return };
    // 2 × 1000 + 500 freight, 1 × 3000 + 700 freight = 6200.
    b.authorized_order(
        "SLR-S1",
        "777-01",
        &[("A-1", 2, 1000, 500), ("B-1", 1, 3000, 700)],
    )
    .await;
    let o = OrderRef::by_order_id("SLR-S1");
    b.send(
        "SLR-S1",
        &invoice_msg(&o, invoice(Output, "P1", 2500, &[("A-1", 2, 1000)])),
    )
    .await;
    b.send("SLR-S1", &tracking_msg(&o, "P1", "SR-P1")).await;
    b.pump(1).await;
    assert_eq!(b.status("SLR-S1").await, OrderStatus::PartiallyInvoiced);
    assert_eq!(
        b.stock("A-1").await,
        (INITIAL_STOCK, 2),
        "nothing ships before the total"
    );

    b.send(
        "SLR-S1",
        &invoice_msg(&o, invoice(Output, "P2", 3700, &[("B-1", 1, 3000)])),
    )
    .await;
    b.pump(1).await;
    assert_eq!(b.status("SLR-S1").await, OrderStatus::Invoiced);
    assert_eq!(b.stock("A-1").await, (INITIAL_STOCK - 2, 0));
    assert_eq!(b.stock("B-1").await, (INITIAL_STOCK - 1, 0));

    b.send("SLR-S1", &tracking_msg(&o, "P2", "SR-P2")).await;
    b.send(
        "SLR-S1",
        &status_msg(&o, "P1", true, vec![event("Entregue", "2024-02-10")]),
    )
    .await;
    b.send(
        "SLR-S1",
        &status_msg(&o, "P2", true, vec![event("Entregue", "2024-02-11")]),
    )
    .await;
    b.pump(1).await;
    assert_eq!(b.status("SLR-S1").await, OrderStatus::Delivered);
    let oms = b.standin.state().oms.lock().unwrap();
    let order = &oms.orders["777-01"];
    assert_eq!(order.status(), "invoiced");
    let values: Vec<i64> = order.invoices.iter().map(|i| i.value).collect();
    assert_eq!(values, vec![2500, 3700]);
    assert!(order.invoices.iter().all(|i| i.is_delivered));
}

#[tokio::test]
async fn return_then_cancel_cancels_at_oms_and_in_our_store() {
    let Some(b) = bench(5).await else { return };
    b.authorized_order("SLR-R1", "888-01", &[("C-1", 1, 9990, 1090)])
        .await;
    let o = OrderRef::by_order_id("SLR-R1");
    b.send(
        "SLR-R1",
        &invoice_msg(&o, invoice(Output, "N1", 11080, &[("C-1", 1, 9990)])),
    )
    .await;
    // Canceling now breaks the rule: parked, not sent.
    b.send("SLR-R1", &cancel_msg(&o, "Customer gave up")).await;
    b.send(
        "SLR-R1",
        &invoice_msg(&o, invoice(Input, "R1", 11080, &[("C-1", 1, 9990)])),
    )
    .await;
    b.send("SLR-R1", &cancel_msg(&o, "Customer gave up")).await;
    b.pump(1).await;

    assert_eq!(b.status("SLR-R1").await, OrderStatus::Canceled);
    let cancels = b
        .accepted()
        .into_iter()
        .filter(|r| r.path.ends_with("/cancel"))
        .count();
    assert_eq!(cancels, 1);
    assert!(b.standin.state().oms.lock().unwrap().orders["888-01"].canceled);
    assert_eq!(b.stock("C-1").await, (INITIAL_STOCK - 1, 0));
    let dlq = b.drain_dlq().await;
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].1.as_deref(), Some("INVOICED_NEEDS_RETURN"));
    let log = b.orders.read_log("SLR-R1").await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.step == "dispatch.cancel" && e.outcome == Outcome::Alert)
    );
}

#[tokio::test]
async fn after_an_outage_the_dlq_is_redriven_and_everything_lands_once() {
    let Some(b) = bench(3).await else { return };
    b.authorized_order("SLR-O1", "999-01", &[("D-1", 1, 5000, 0)])
        .await;
    let o = OrderRef::by_order_id("SLR-O1");
    // VTEX is down: every call fails.
    b.standin.state().set_faults(FaultPlan {
        fail_every: Some(1),
        status: Some(503),
        retry_after: Some(0),
        ..FaultPlan::default()
    });
    b.send(
        "SLR-O1",
        &invoice_msg(&o, invoice(Output, "N1", 5000, &[("D-1", 1, 5000)])),
    )
    .await;
    b.send("SLR-O1", &tracking_msg(&o, "N1", "SR-O1")).await;
    b.pump(1).await;
    assert!(b.accepted().is_empty());
    assert_eq!(
        b.dlq_depth().await,
        2,
        "SQS parked both after maxReceiveCount"
    );
    let log = b.orders.read_log("SLR-O1").await.unwrap();
    assert!(log.iter().all(|e| e.outcome == Outcome::Pending));

    // VTEX is back: the documented re-drive moves them and they are delivered, in order.
    b.standin.state().set_faults(FaultPlan::default());
    let moved = aws_adapters::dispatch_queue::redrive(&b.sqs, &b.dlq_url, &b.queue_url, None)
        .await
        .unwrap();
    assert_eq!(moved, 2);
    b.pump(1).await;
    let calls: Vec<String> = b.accepted().into_iter().map(|r| r.method).collect();
    assert_eq!(calls, vec!["POST", "PATCH"]);
    assert_eq!(b.status("SLR-O1").await, OrderStatus::Shipped);
    assert_eq!(b.dlq_depth().await, 0);
}

#[tokio::test]
async fn rule_breaks_reach_the_dlq_with_their_reason_and_nothing_reaches_vtex() {
    let Some(b) = bench(5).await else { return };
    b.authorized_order("SLR-X1", "555-01", &[("E-1", 1, 1000, 100)])
        .await;
    let o = OrderRef::by_order_id("SLR-X1");
    b.send(
        "SLR-X1",
        &invoice_msg(&o, invoice(Output, "N/1", 1100, &[("E-1", 1, 1000)])),
    )
    .await;
    b.send(
        "SLR-X1",
        &invoice_msg(&o, invoice(Output, "N2", 1200, &[("E-1", 1, 1000)])),
    )
    .await;
    b.send("SLR-X1", &tracking_msg(&o, "N9", "SR")).await;
    b.send("SLR-X1", "{\"type\":\"invoice\",\"version\":2}")
        .await;
    b.pump(1).await;
    assert!(b.accepted().is_empty());
    let mut codes: Vec<String> = b
        .drain_dlq()
        .await
        .into_iter()
        .filter_map(|(_, c)| c)
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        vec![
            "EXCEEDS_TOTAL",
            "INVALID_INVOICE_NUMBER",
            "UNKNOWN_INVOICE",
            "UNSUPPORTED_VERSION"
        ]
    );
    assert_eq!(b.status("SLR-X1").await, OrderStatus::Authorized);
}
