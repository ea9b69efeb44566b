//! The dispatcher over the embedded store and its `LocalQueue` (what the local runner runs):
//! `local::event_source::poll_once` plays the event-source mapping, rule breaks go to the local DLQ,
//! and `LocalQueue::redrive` brings them back.

use chrono::Utc;
use dispatch::{Backoff, Deps, handle};
use domain::clock::SystemClock;
use domain::erp::{CancelRequest, ErpCommand, ErpMessage, OrderRef};
use domain::invoicing::{Invoice, InvoiceItem, InvoiceType, TrackingInfo};
use domain::money::Cents;
use domain::order::{Order, OrderLine, OrderStatus};
use domain::ports::{CatalogWriter, OrderStore, PlaceOutcome, StockEffect};
use embedded_store::EmbeddedStore;
use embedded_store::invoices::SqliteInvoices;
use local::event_source::poll_once;
use std::sync::Arc;
use std::time::Duration;
use vtex::client::VtexClient;

fn order() -> Order {
    let now = Utc::now();
    Order {
        order_id: "SLR-L1".into(),
        an: "luxstore".into(),
        sc: None,
        marketplace_order_id: "424242-01".into(),
        marketplace_order_group: None,
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
        created_at: now,
        expires_at: now + chrono::Duration::days(8),
        authorized: None,
        canceled: None,
        pending_cancellation: None,
        seller_cancel: None,
        value: None,
        version: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_queue_messages_reach_the_standin_and_rule_breaks_wait_in_the_local_dlq() {
    let (addr, standin) = vtex_standin::serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    // VTEX placed it: one unit at 9990 and 1090 freight.
    standin
        .state()
        .place(&serde_json::json!([{
            "marketplaceOrderId": "424242-01", "marketplacePaymentValue": 11080,
            "items": [{"id": "2002495", "quantity": 1, "price": 9990}],
            "shippingData": {"logisticsInfo": [{"itemIndex": 0, "price": 1090}]}
        }]))
        .unwrap();
    let store = EmbeddedStore::open_in_memory().unwrap();
    let sku = serde_json::from_value(serde_json::json!({
        "id": "2002495", "name": "Capa", "prices": [],
        "stock": { "wh1": { "onHand": 5, "reserved": 0 } }
    }))
    .unwrap();
    store.upsert_sku(&sku).await.unwrap();
    let PlaceOutcome::Created(mut o) = store.create_reserved(&order()).await.unwrap() else {
        panic!("placement failed")
    };
    o.status = OrderStatus::Authorized;
    store.save(&o, StockEffect::None).await.unwrap();

    let queue = store.queue("dispatch").with_max_receives(3);
    let deps = Deps {
        orders: Arc::new(store.clone()),
        invoices: Arc::new(SqliteInvoices::new(&store).unwrap()),
        vtex: Arc::new(VtexClient::new(format!("http://{addr}"), standin.credentials()).unwrap()),
        queue: Arc::new(queue.clone()),
        clock: Arc::new(SystemClock),
        default_an: None,
        backoff: Backoff {
            base: Duration::ZERO,
            max: Duration::ZERO,
        },
    };
    let r = OrderRef::by_order_id("SLR-L1");
    let invoice = Invoice {
        kind: InvoiceType::Output,
        invoice_number: "NFe-9".into(),
        invoice_value: Cents(11080),
        issuance_date: "2024-02-07T15:22:56-03:00".into(),
        items: vec![InvoiceItem {
            id: "2002495".into(),
            quantity: 1,
            price: Cents(9990),
            description: None,
        }],
        invoice_key: None,
        invoice_url: None,
        embedded_invoice: None,
        courier: None,
        tracking_number: None,
        tracking_url: None,
        dispatched_date: None,
    };
    let msgs = [
        ErpMessage::new(r.clone(), ErpCommand::Invoice { invoice }),
        ErpMessage::new(
            r.clone(),
            ErpCommand::Cancel {
                cancel: CancelRequest {
                    reason: "too late".into(),
                },
            },
        ),
        ErpMessage::new(
            r.clone(),
            ErpCommand::Tracking {
                invoice_number: "NFe-9".into(),
                tracking: TrackingInfo {
                    tracking_number: "SR9".into(),
                    tracking_url: None,
                    courier: Some("Correios".into()),
                    dispatched_date: None,
                },
            },
        ),
    ];
    for m in &msgs {
        queue
            .send(&m.to_json(), Some("SLR-L1"), None)
            .await
            .unwrap();
    }
    standin.state().set_faults(vtex_standin::FaultPlan {
        next: vec![500],
        ..Default::default()
    });
    for _ in 0..20 {
        poll_once(&queue, 10, Duration::from_secs(30), |e| handle(&deps, e))
            .await
            .unwrap();
        if queue.is_empty().await.unwrap() {
            break;
        }
    }
    assert!(queue.is_empty().await.unwrap());
    let accepted: Vec<String> = standin
        .state()
        .requests()
        .into_iter()
        .filter(|r| r.accepted())
        .map(|r| r.method)
        .collect();
    assert_eq!(accepted, vec!["POST", "PATCH"]);
    assert_eq!(
        store.get("SLR-L1").await.unwrap().unwrap().status,
        OrderStatus::Shipped
    );
    // The cancel broke a rule: parked in the local DLQ, body intact, re-drivable.
    assert_eq!(queue.dlq().len().await.unwrap(), 1);
    assert_eq!(queue.redrive().await.unwrap(), 1);
    let parked = queue.receive(10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(parked[0].body, msgs[1].to_json());
}
