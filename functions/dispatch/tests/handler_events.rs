//! The handler fed the sample events in `events/dispatch.*.json`, with in-memory stores, a
//! recording queue port and the VTEX stand-in (GIVEN an authorized order, WHEN the ERP's messages
//! arrive, THEN OMS receives the right calls once and the order moves on).

use async_trait::async_trait;
use aws_lambda_events::sqs::SqsEvent;
use chrono::{TimeZone, Utc};
use dispatch::{Backoff, Deps, handle};
use domain::clock::SystemClock;
use domain::erp::{DispatchQueue, QueuedMessage};
use domain::invoice_store::MemoryInvoices;
use domain::memory::MemoryStore;
use domain::money::Cents;
use domain::order::{Order, OrderLine, OrderStatus, Outcome};
use domain::ports::{
    CatalogWriter, OrderStore, PlaceOutcome, SaveOutcome, StockEffect, StoreError,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vtex::client::VtexClient;
use vtex_standin::{FaultPlan, ServerHandle};

#[derive(Default)]
struct RecordingQueue {
    dead: Mutex<Vec<(String, String)>>,
    delayed: Mutex<Vec<(String, Duration)>>,
}

#[async_trait]
impl DispatchQueue for RecordingQueue {
    async fn dead_letter(
        &self,
        m: &QueuedMessage<'_>,
        code: &str,
        _reason: &str,
    ) -> Result<(), StoreError> {
        self.dead
            .lock()
            .unwrap()
            .push((m.message_id.to_string(), code.to_string()));
        Ok(())
    }

    async fn retry_later(&self, handle: &str, delay: Duration) -> Result<(), StoreError> {
        self.delayed
            .lock()
            .unwrap()
            .push((handle.to_string(), delay));
        Ok(())
    }
}

struct World {
    store: MemoryStore,
    queue: Arc<RecordingQueue>,
    deps: Deps,
    standin: ServerHandle,
}

/// The shared/docs/protocol.md §Example story story: our order 123543123 = marketplace order
/// 959311095 on `luxstore`, SKU 2002495 at 9990 + 1090 freight = 11080, authorized by /fulfill.
async fn world() -> World {
    let (addr, standin) = vtex_standin::serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    // VTEX placed it (shared/protocol/examples/order-placement.request.json, reduced).
    standin
        .state()
        .place(&serde_json::json!([{
            "marketplaceOrderId": "959311095", "marketplacePaymentValue": 11080,
            "items": [{"id": "2002495", "quantity": 1, "price": 9990, "priceTags": []}],
            "shippingData": {"logisticsInfo": [{"itemIndex": 0, "price": 1090}]}
        }]))
        .unwrap();
    let store = MemoryStore::new();
    let sku = serde_json::from_value(serde_json::json!({
        "id": "2002495", "name": "Capa slimfit", "prices": [],
        "stock": { "wh1": { "onHand": 10, "reserved": 0 } }
    }))
    .unwrap();
    store.upsert_sku(&sku).await.unwrap();
    let at = Utc.with_ymd_and_hms(2014, 10, 6, 18, 52, 0).unwrap();
    let order = Order {
        order_id: "123543123".into(),
        an: "luxstore".into(),
        sc: Some("1".into()),
        marketplace_order_id: "959311095".into(),
        marketplace_order_group: Some("959311095".into()),
        marketplace_services_endpoint: None,
        marketplace_payment_value: Cents(11080),
        status: OrderStatus::Reserved,
        lines: vec![OrderLine {
            index: 0,
            sku_id: "2002495".into(),
            quantity: 1,
            unit_price: Cents(9990),
            freight: Cents(1090),
            selected_sla: None,
            location_id: "wh1".into(),
            lock_ttl: None,
            shipping_estimate: None,
            delivery_window: None,
        }],
        address: None,
        customer: None,
        created_at: at,
        expires_at: at + chrono::Duration::days(8),
        authorized: None,
        canceled: None,
        pending_cancellation: None,
        seller_cancel: None,
        value: None,
        version: 0,
    };
    let PlaceOutcome::Created(placed) = store.create_reserved(&order).await.unwrap() else {
        panic!("placement failed")
    };
    let mut authorized = placed;
    authorized.status = OrderStatus::Authorized;
    assert!(matches!(
        store.save(&authorized, StockEffect::None).await.unwrap(),
        SaveOutcome::Saved(_)
    ));
    let queue = Arc::new(RecordingQueue::default());
    let deps = Deps {
        orders: Arc::new(store.clone()),
        invoices: Arc::new(MemoryInvoices::new()),
        vtex: Arc::new(VtexClient::new(format!("http://{addr}"), standin.credentials()).unwrap()),
        queue: queue.clone(),
        clock: Arc::new(SystemClock),
        default_an: Some("luxstore".into()),
        backoff: Backoff::default(),
    };
    World {
        store,
        queue,
        deps,
        standin,
    }
}

fn event(json: &str) -> SqsEvent {
    serde_json::from_str(json).unwrap()
}

const INVOICE: &str = include_str!("../../../events/dispatch.invoice-output.json");
const TRACKING: &str = include_str!("../../../events/dispatch.tracking.json");
const DELIVERED: &str = include_str!("../../../events/dispatch.tracking-delivered.json");
const RETURN: &str = include_str!("../../../events/dispatch.invoice-return.json");
const CANCEL: &str = include_str!("../../../events/dispatch.seller-cancel.json");

impl World {
    async fn run(&self, json: &str) -> Vec<String> {
        handle(&self.deps, event(json))
            .await
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect()
    }

    async fn status(&self) -> OrderStatus {
        self.store.get("123543123").await.unwrap().unwrap().status
    }

    /// (method, path) of the calls OMS accepted.
    fn accepted(&self) -> Vec<(String, String)> {
        self.standin
            .state()
            .requests()
            .into_iter()
            .filter(|r| r.accepted())
            .map(|r| (r.method, r.path))
            .collect()
    }
}

#[tokio::test]
async fn invoice_tracking_and_delivery_reach_oms_once_under_the_marketplace_order_id() {
    let w = world().await;
    for e in [INVOICE, TRACKING, DELIVERED] {
        assert!(w.run(e).await.is_empty());
    }
    assert_eq!(w.status().await, OrderStatus::Delivered);
    // The ERP sends everything again: nothing more reaches OMS.
    for e in [INVOICE, TRACKING, DELIVERED] {
        assert!(w.run(e).await.is_empty());
    }
    assert_eq!(
        w.accepted(),
        vec![
            (
                "POST".into(),
                "/api/oms/pvt/orders/959311095/invoice".into()
            ),
            (
                "PATCH".into(),
                "/api/oms/pvt/orders/959311095/invoice/NFe-00001".into()
            ),
            (
                "PUT".into(),
                "/api/oms/pvt/orders/959311095/invoice/NFe-00001/tracking".into()
            ),
        ]
    );
    let log = w.store.read_log("123543123").await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.step == "dispatch.status" && e.detail.contains("INVOICED"))
    );
    assert!(log.iter().all(|e| e.outcome == Outcome::Success));
    assert!(w.queue.dead.lock().unwrap().is_empty());
}

#[tokio::test]
async fn full_invoice_ships_the_stock_once() {
    let w = world().await;
    w.run(INVOICE).await;
    w.run(INVOICE).await;
    let skus = domain::ports::CatalogReader::get_skus(&w.store, &["2002495".into()])
        .await
        .unwrap();
    let stock = skus["2002495"].stock["wh1"];
    assert_eq!((stock.on_hand, stock.reserved), (9, 0));
}

#[tokio::test]
async fn return_then_cancel_cancels_the_order_at_oms() {
    let w = world().await;
    for e in [INVOICE, RETURN, CANCEL, CANCEL] {
        assert!(w.run(e).await.is_empty(), "{e}");
    }
    assert_eq!(w.status().await, OrderStatus::Canceled);
    let paths: Vec<String> = w.accepted().into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        paths,
        vec![
            "/api/oms/pvt/orders/959311095/invoice",
            "/api/oms/pvt/orders/959311095/invoice",
            "/api/oms/pvt/orders/959311095/cancel",
        ]
    );
    let oms = w.standin.state().oms.lock().unwrap();
    assert!(oms.orders["959311095"].canceled);
}

#[tokio::test]
async fn cancel_of_an_invoiced_order_without_a_return_is_parked_with_the_reason() {
    let w = world().await;
    w.run(INVOICE).await;
    assert!(
        w.run(CANCEL).await.is_empty(),
        "a rule break is not retried"
    );
    let dead = w.queue.dead.lock().unwrap().clone();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].1, "INVOICED_NEEDS_RETURN");
    assert_eq!(w.status().await, OrderStatus::Invoiced);
    let log = w.store.read_log("123543123").await.unwrap();
    let last = log.last().unwrap();
    assert_eq!(
        (last.step.as_str(), last.outcome),
        ("dispatch.cancel", Outcome::Alert)
    );
    assert!(!w.accepted().iter().any(|(_, p)| p.ends_with("/cancel")));
}

#[tokio::test]
async fn tracking_before_its_invoice_is_parked_not_sent() {
    let w = world().await;
    assert!(w.run(TRACKING).await.is_empty());
    assert_eq!(w.queue.dead.lock().unwrap()[0].1, "UNKNOWN_INVOICE");
    assert!(w.accepted().is_empty());
}

#[tokio::test]
async fn throttling_returns_the_message_after_retry_after_and_logs_pending() {
    let w = world().await;
    w.standin.state().set_faults(FaultPlan {
        next: vec![429],
        retry_after: Some(42),
        ..FaultPlan::default()
    });
    let failed = w.run(INVOICE).await;
    assert_eq!(
        failed,
        vec!["6f1d2a4c-1b2e-4c7a-9e61-000000000001".to_string()]
    );
    assert_eq!(
        w.queue.delayed.lock().unwrap()[0].1,
        Duration::from_secs(42)
    );
    let log = w.store.read_log("123543123").await.unwrap();
    assert_eq!(log.last().unwrap().outcome, Outcome::Pending);
    assert_eq!(w.status().await, OrderStatus::Authorized);
    // Next delivery goes through.
    assert!(w.run(INVOICE).await.is_empty());
    assert_eq!(w.status().await, OrderStatus::Invoiced);
}

#[tokio::test]
async fn after_a_failure_the_rest_of_the_group_waits_in_the_same_batch() {
    let w = world().await;
    w.standin.state().set_faults(FaultPlan {
        next: vec![500],
        ..FaultPlan::default()
    });
    let mut batch = event(INVOICE);
    batch.records.extend(event(TRACKING).records);
    let failed = handle(&w.deps, batch).await.batch_item_failures;
    assert_eq!(
        failed.len(),
        2,
        "the tracking must not overtake its invoice"
    );
    assert!(w.queue.dead.lock().unwrap().is_empty());
    assert_eq!(w.standin.state().requests().len(), 1);
}

#[tokio::test]
async fn unreadable_messages_and_unknown_orders_are_parked() {
    let w = world().await;
    let bad = INVOICE.replace("\\\"version\\\": 1", "\\\"version\\\": 9");
    assert!(w.run(&bad).await.is_empty());
    let unknown = TRACKING.replace("123543123", "nope");
    assert!(w.run(&unknown).await.is_empty());
    let codes: Vec<String> = w
        .queue
        .dead
        .lock()
        .unwrap()
        .iter()
        .map(|d| d.1.clone())
        .collect();
    assert_eq!(codes, vec!["UNSUPPORTED_VERSION", "UNKNOWN_ORDER"]);
}

#[tokio::test]
async fn vtex_refusal_is_logged_as_error_and_parked() {
    let w = world().await;
    // OMS knows a smaller total than we do: it refuses the invoice with 400.
    w.standin
        .state()
        .oms
        .lock()
        .unwrap()
        .orders
        .get_mut("959311095")
        .unwrap()
        .value = Some(100);
    assert!(w.run(INVOICE).await.is_empty());
    assert_eq!(w.queue.dead.lock().unwrap()[0].1, "VTEX_400");
    let log = w.store.read_log("123543123").await.unwrap();
    assert_eq!(log.last().unwrap().outcome, Outcome::Error);
    assert_eq!(w.status().await, OrderStatus::Authorized);
}

#[tokio::test]
async fn sample_batch_reports_only_the_invoice_oms_failed_and_parks_the_rule_breaks() {
    const BATCH: &str = include_str!("../../../events/dispatch.batch-partial-failure.json");
    let w = world().await;
    // GIVEN OMS answers the batch's only call (the invoice) with a 503.
    w.standin.state().set_faults(FaultPlan {
        next: vec![503],
        ..FaultPlan::default()
    });
    let failed = w.run(BATCH).await;
    // THEN the invoice comes back later; a tracking of an unknown order and a message of an
    // unsupported version are parked (and deleted), not retried.
    assert_eq!(
        failed,
        vec!["6f1d2a4c-1b2e-4c7a-9e61-000000000101".to_string()]
    );
    assert_eq!(w.queue.delayed.lock().unwrap().len(), 1);
    let dead = w.queue.dead.lock().unwrap().clone();
    assert_eq!(
        dead,
        vec![
            (
                "6f1d2a4c-1b2e-4c7a-9e61-000000000102".to_string(),
                "UNKNOWN_ORDER".to_string()
            ),
            (
                "6f1d2a4c-1b2e-4c7a-9e61-000000000103".to_string(),
                "UNSUPPORTED_VERSION".to_string()
            ),
        ]
    );
    assert_eq!(w.status().await, OrderStatus::Authorized);
}
