//! Handler tests: the sample stream batch and scheduled event through `handle`, over the in-memory
//! outbox and ERP queue (GIVEN / WHEN / THEN).

use async_trait::async_trait;
use chrono::{Duration, Utc};
use domain::clock::ManualClock;
use domain::memory::MemoryStore;
use domain::outbox::{Outbox, OutboxRelay};
use domain::ports::{OrderEvent, OrderEventKind, OrderEvents, OrderStore, StoreError};
use outbox_relay::{Config, Deps, RelayError, handle};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const STREAM: &str = include_str!("../../../events/outbox-relay.stream.json");
const SCHEDULED: &str = include_str!("../../../events/outbox-relay.scheduled.json");
/// The order the stream sample's keys name.
const ORDER: &str = "SLR-7Q2M9K4D1X8B5N3R6T0V";

fn event(kind: OrderEventKind) -> OrderEvent {
    OrderEvent {
        kind,
        version: 1,
        event_id: format!("{ORDER}:{}", domain::lifecycle::event_kind_name(kind)),
        order_id: ORDER.into(),
        marketplace_order_id: "959311095".into(),
        an: "marketplacedemo".into(),
        at: Utc::now(),
        lines: vec![],
        reason: None,
    }
}

/// A queue that refuses the first `fail` sends, then delivers to the store's event list.
struct Flaky {
    inner: MemoryStore,
    fail: AtomicUsize,
}

#[async_trait]
impl OrderEvents for Flaky {
    async fn publish(&self, event: &OrderEvent) -> Result<(), StoreError> {
        if self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(StoreError::Unavailable("queue down".into()));
        }
        self.inner.publish(event).await
    }
}

struct World {
    store: MemoryStore,
    clock: Arc<ManualClock>,
    deps: Deps,
}

fn world(failing_sends: usize) -> World {
    let store = MemoryStore::new();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let relay = OutboxRelay::new(
        Arc::new(store.clone()),
        Arc::new(Flaky {
            inner: store.clone(),
            fail: AtomicUsize::new(failing_sends),
        }),
        clock.clone(),
    );
    World {
        store,
        clock,
        deps: Deps {
            relay,
            config: Config::default(),
        },
    }
}

impl World {
    async fn owe(&self, kinds: &[OrderEventKind]) {
        let events: Vec<OrderEvent> = kinds.iter().map(|k| event(*k)).collect();
        self.store.emit(&events).await.unwrap();
    }

    async fn pending(&self) -> usize {
        self.store.pending(None, 100).await.unwrap().len()
    }

    fn delivered(&self) -> Vec<String> {
        self.store
            .events()
            .into_iter()
            .map(|e| e.event_id)
            .collect()
    }
}

fn stream() -> Value {
    serde_json::from_str(STREAM).unwrap()
}

fn scheduled() -> Value {
    serde_json::from_str(SCHEDULED).unwrap()
}

#[tokio::test]
async fn a_stream_batch_delivers_what_it_names_once_and_skips_removes() {
    let w = world(0);
    w.owe(&[OrderEventKind::Authorized, OrderEventKind::Canceled])
        .await;
    let answer = handle(&w.deps, stream()).await.unwrap();
    assert_eq!(answer, json!({ "batchItemFailures": [] }));
    assert_eq!(
        w.delivered(),
        vec![
            format!("{ORDER}:order.authorized"),
            format!("{ORDER}:order.canceled")
        ]
    );
    assert_eq!(w.pending().await, 0);

    // The same batch again (Lambda retries a batch it already processed): nothing is sent twice.
    let answer = handle(&w.deps, stream()).await.unwrap();
    assert_eq!(answer, json!({ "batchItemFailures": [] }));
    assert_eq!(w.delivered().len(), 2);
}

#[tokio::test]
async fn a_failed_send_reports_its_record_and_holds_the_ones_after_it() {
    let w = world(1);
    w.owe(&[OrderEventKind::Authorized, OrderEventKind::Canceled])
        .await;
    let answer = handle(&w.deps, stream()).await.unwrap();
    assert_eq!(
        answer,
        json!({ "batchItemFailures": [{ "itemIdentifier": "111100000000000000000001" }] })
    );
    assert!(
        w.delivered().is_empty(),
        "order.canceled waits behind order.authorized"
    );
    assert_eq!(w.pending().await, 2);

    // Lambda retries from the failed record.
    let answer = handle(&w.deps, stream()).await.unwrap();
    assert_eq!(answer, json!({ "batchItemFailures": [] }));
    assert_eq!(w.delivered().len(), 2);
    assert_eq!(w.pending().await, 0);
}

#[tokio::test]
async fn the_scheduled_redrive_delivers_what_is_older_than_a_minute() {
    let w = world(0);
    w.owe(&[OrderEventKind::Expired]).await;
    let report = handle(&w.deps, scheduled()).await.unwrap();
    assert_eq!(
        report,
        json!({ "delivered": 0, "failed": [] }),
        "young: the stream's"
    );
    assert_eq!(w.pending().await, 1);

    w.clock.advance(Duration::seconds(61));
    let report = handle(&w.deps, scheduled()).await.unwrap();
    assert_eq!(report, json!({ "delivered": 1, "failed": [] }));
    assert_eq!(w.delivered(), vec![format!("{ORDER}:order.expired")]);
    assert_eq!(w.pending().await, 0);
}

#[tokio::test]
async fn a_redrive_that_cannot_send_fails_the_run_and_keeps_the_records() {
    let w = world(usize::MAX);
    w.owe(&[OrderEventKind::Authorized, OrderEventKind::Expired])
        .await;
    w.clock.advance(Duration::minutes(5));
    match handle(&w.deps, scheduled()).await {
        Err(RelayError::Incomplete { report }) => {
            assert_eq!(report.delivered, 0);
            assert_eq!(report.failed.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(w.pending().await, 2);
}

#[tokio::test]
async fn an_event_of_no_known_trigger_is_refused() {
    let w = world(0);
    assert!(matches!(
        handle(&w.deps, json!({ "hello": "world" })).await,
        Err(RelayError::BadEvent(_))
    ));
}
