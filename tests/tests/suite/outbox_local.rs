//! The local runner's outbox relay (`local::outbox`): what a fulfill wrote to the embedded store's
//! outbox reaches the local `order-events` queue without anyone calling the relay, once.

use domain::catalog::CatalogFile;
use domain::clock::SystemClock;
use domain::lifecycle::{
    FulfillRequest, Lifecycle, PlacementDecision, PlacementLine, PlacementRequest,
};
use domain::outbox::Outbox;
use domain::store_support::load_catalog;
use domain::{Cents, VtexDuration};
use embedded_store::{EmbeddedStore, ORDER_EVENTS_QUEUE};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_relay_delivers_a_fulfill_event_to_the_local_queue_once() {
    let store = EmbeddedStore::open_in_memory().unwrap();
    let file: CatalogFile =
        serde_json::from_str(include_str!("../../../shared/sample/catalog.json")).unwrap();
    load_catalog(&store, &file).await.unwrap();
    let shared = Arc::new(store.clone());
    let lc = Lifecycle::new(
        shared.clone(),
        shared.clone(),
        shared,
        Arc::new(SystemClock),
    );
    let placed = lc
        .place(PlacementRequest {
            an: "marketplacedemo".into(),
            sc: None,
            marketplace_order_id: "local-1".into(),
            marketplace_services_endpoint: None,
            marketplace_payment_value: Cents(11080),
            shipping_outdated: false,
            lines: vec![PlacementLine {
                sku_id: "2002495".into(),
                quantity: 1,
                unit_price: Cents(9990),
                adjustments: Default::default(),
                freight: Cents(1090),
                selected_sla: Some("Normal".into()),
                lock_ttl: Some(VtexDuration::Days(1)),
                shipping_estimate: None,
                delivery_window: None,
            }],
            address: None,
            customer: None,
        })
        .await
        .unwrap();
    let PlacementDecision::Placed { order, .. } = placed else {
        panic!("{placed:?}")
    };
    let relay = local::outbox::spawn(&store, Arc::new(SystemClock));
    lc.fulfill(FulfillRequest {
        order_id: order.order_id.clone(),
        marketplace_order_id: "local-1".into(),
        marketplace_order_group: None,
    })
    .await
    .unwrap();

    // A guard against a hang, not a timing requirement.
    let queue = store.queue(ORDER_EVENTS_QUEUE);
    let mut got = Vec::new();
    for _ in 0..200 {
        for m in queue.receive(10, Duration::from_secs(60)).await.unwrap() {
            got.push(serde_json::from_str::<serde_json::Value>(&m.body).unwrap());
            queue.delete(&m.receipt_handle).await.unwrap();
        }
        if !got.is_empty() && store.pending(None, 10).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Passes after the delivery send nothing more.
    tokio::time::sleep(local::outbox::EVERY * 3).await;
    for m in queue.receive(10, Duration::from_secs(60)).await.unwrap() {
        got.push(serde_json::from_str(&m.body).unwrap());
    }
    relay.abort();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0]["eventId"],
        format!("{}:order.authorized", order.order_id)
    );
    assert!(store.pending(None, 10).await.unwrap().is_empty());
}
