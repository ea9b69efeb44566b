//! The ERP event samples (`events/erp-order-event.*.json`) are what the connector really
//! publishes: each parses as an `OrderEvent` of its kind, and the events a real flow publishes
//! carry exactly the samples' fields.

use chrono::{TimeZone, Utc};
use domain::catalog::CatalogFile;
use domain::clock::ManualClock;
use domain::lifecycle::{
    CancelRequest, FulfillRequest, Lifecycle, PlacementDecision, PlacementLine, PlacementRequest,
};
use domain::memory::MemoryStore;
use domain::ports::{OrderEvent, OrderEventKind};
use domain::{Cents, VtexDuration};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

const SAMPLES: [(OrderEventKind, &str); 3] = [
    (
        OrderEventKind::Authorized,
        include_str!("../../../events/erp-order-event.authorized.json"),
    ),
    (
        OrderEventKind::Canceled,
        include_str!("../../../events/erp-order-event.canceled.json"),
    ),
    (
        OrderEventKind::Expired,
        include_str!("../../../events/erp-order-event.expired.json"),
    ),
];

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn samples_parse_as_their_kind_with_a_stable_event_id() {
    for (kind, text) in SAMPLES {
        let event: OrderEvent = serde_json::from_str(text).unwrap();
        assert_eq!(event.kind, kind);
        assert_eq!(event.version, domain::lifecycle::EVENT_VERSION);
        assert_eq!(
            event.event_id,
            format!(
                "{}:{}",
                event.order_id,
                domain::lifecycle::event_kind_name(kind)
            )
        );
        // Round trip: nothing in the sample that the type drops.
        let back = serde_json::to_value(&event).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(text).unwrap());
    }
}

fn placement(mkp: &str, ttl: VtexDuration) -> PlacementRequest {
    PlacementRequest {
        an: "marketplacedemo".into(),
        sc: None,
        marketplace_order_id: mkp.into(),
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
            lock_ttl: Some(ttl),
            shipping_estimate: None,
            delivery_window: None,
        }],
        address: None,
        customer: None,
    }
}

#[tokio::test]
async fn published_events_have_the_samples_fields() {
    let file: CatalogFile =
        serde_json::from_str(include_str!("../../../shared/sample/catalog.json")).unwrap();
    let store = MemoryStore::with_catalog(&file);
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap(),
    ));
    let lc = Lifecycle::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        clock.clone(),
    );
    let id = |d: PlacementDecision| match d {
        PlacementDecision::Placed { order, .. } => order.order_id,
        other => panic!("{other:?}"),
    };
    let a = id(lc
        .place(placement("m-1", VtexDuration::Days(8)))
        .await
        .unwrap());
    let b = id(lc
        .place(placement("m-2", VtexDuration::Hours(1)))
        .await
        .unwrap());
    lc.fulfill(FulfillRequest {
        order_id: a.clone(),
        marketplace_order_id: "m-1".into(),
        marketplace_order_group: None,
    })
    .await
    .unwrap();
    lc.cancel(CancelRequest {
        path_id: a,
        an: "marketplacedemo".into(),
        marketplace_order_id: Some("m-1".into()),
        marketplace_order_group: None,
        request_id: Some("c-1".into()),
        reason: Some("Out of stock".into()),
        requested_by_user: Some(true),
    })
    .await
    .unwrap();
    clock.advance(chrono::Duration::hours(2));
    lc.sweep().await.unwrap();
    // The outbox relay delivers what the transitions wrote.
    lc.relay(Arc::new(store.clone())).drain().await.unwrap();

    let published = store.events();
    assert_eq!(published.len(), 3);
    assert_eq!(published[2].order_id, b);
    for (kind, text) in SAMPLES {
        let event = published.iter().find(|e| e.kind == kind).unwrap();
        let sample: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            keys(&serde_json::to_value(event).unwrap()),
            keys(&sample),
            "{kind:?}"
        );
    }
}
