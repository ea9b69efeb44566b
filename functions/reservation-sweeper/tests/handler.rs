//! Handler tests: the sample scheduled event through `handle`, against the in-memory store loaded
//! with the sample catalog and a hand-moved clock (GIVEN / WHEN / THEN).

use async_trait::async_trait;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{Duration, TimeZone, Utc};
use domain::catalog::CatalogFile;
use domain::clock::ManualClock;
use domain::lifecycle::{
    FulfillRequest, Lifecycle, PlacementDecision, PlacementLine, PlacementRequest,
};
use domain::memory::MemoryStore;
use domain::order::{LogEntry, Order, OrderStatus};
use domain::outbox::Outbox;
use domain::ports::{
    CatalogReader, OrderEvent, OrderEventKind, OrderEvents, OrderStore, PlaceOutcome, SaveOutcome,
    StockEffect, StoreError,
};
use domain::{Cents, VtexDuration};
use reservation_sweeper::{Config, Deps, SweepError, handle};
use std::sync::Arc;

const SCHEDULED: &str = include_str!("../../../events/reservation-sweeper.scheduled.json");

fn sample() -> CatalogFile {
    serde_json::from_str(include_str!("../../../shared/sample/catalog.json")).unwrap()
}

fn event() -> EventBridgeEvent {
    serde_json::from_str(SCHEDULED).unwrap()
}

fn placement(mkp_id: &str, lock_ttl: VtexDuration) -> PlacementRequest {
    PlacementRequest {
        an: "marketplacedemo".into(),
        sc: Some("1".into()),
        marketplace_order_id: mkp_id.into(),
        marketplace_services_endpoint: None,
        marketplace_payment_value: Cents(11080),
        shipping_outdated: false,
        lines: vec![PlacementLine {
            sku_id: "2002495".into(),
            quantity: 2,
            unit_price: Cents(4990),
            adjustments: Default::default(),
            freight: Cents(1100),
            selected_sla: Some("Normal".into()),
            lock_ttl: Some(lock_ttl),
            shipping_estimate: None,
            delivery_window: None,
        }],
        address: None,
        customer: None,
    }
}

struct World {
    deps: Deps,
    store: MemoryStore,
    clock: Arc<ManualClock>,
}

fn world() -> World {
    let store = MemoryStore::with_catalog(&sample());
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap(),
    ));
    let deps = Deps::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        clock.clone(),
        Config::default(),
    );
    World { deps, store, clock }
}

impl World {
    fn lifecycle(&self) -> Lifecycle {
        Lifecycle::new(
            Arc::new(self.store.clone()),
            Arc::new(self.store.clone()),
            Arc::new(self.store.clone()),
            self.clock.clone(),
        )
    }

    async fn place(&self, mkp_id: &str, ttl: VtexDuration) -> String {
        match self
            .lifecycle()
            .place(placement(mkp_id, ttl))
            .await
            .unwrap()
        {
            PlacementDecision::Placed { order, .. } => order.order_id,
            other => panic!("{other:?}"),
        }
    }

    async fn reserved(&self) -> i64 {
        let skus = self.store.get_skus(&["2002495".to_string()]).await.unwrap();
        skus["2002495"].stock["cd-cajamar"].reserved
    }

    async fn status(&self, id: &str) -> OrderStatus {
        self.store.get(id).await.unwrap().unwrap().status
    }
}

#[tokio::test]
async fn scheduled_run_expires_lapsed_reservations_and_returns_their_stock() {
    let w = world();
    let lapsing = w.place("mkp-1", VtexDuration::Hours(4)).await;
    let holding = w.place("mkp-2", VtexDuration::Days(8)).await;
    let paid = w.place("mkp-3", VtexDuration::Hours(4)).await;
    w.lifecycle()
        .fulfill(FulfillRequest {
            order_id: paid.clone(),
            marketplace_order_id: "mkp-3".into(),
            marketplace_order_group: None,
        })
        .await
        .unwrap();
    assert_eq!(w.reserved().await, 6);

    w.clock.advance(Duration::hours(4));
    let report = handle(&w.deps, event()).await.unwrap();
    assert_eq!(report.expired, vec![lapsing.clone()]);
    assert_eq!(w.status(&lapsing).await, OrderStatus::Expired);
    assert_eq!(w.status(&holding).await, OrderStatus::Reserved);
    assert_eq!(w.status(&paid).await, OrderStatus::Authorized);
    assert_eq!(w.reserved().await, 4);
    let relay = w.lifecycle().relay(Arc::new(w.store.clone()));
    relay.drain().await.unwrap();
    let expired: Vec<_> = w
        .store
        .events()
        .into_iter()
        .filter(|e| e.kind == OrderEventKind::Expired)
        .collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].order_id, lapsing);
    let log = w.store.read_log(&lapsing).await.unwrap();
    assert_eq!(log.last().unwrap().step, "expiry");

    // The next run has nothing to do.
    let again = handle(&w.deps, event()).await.unwrap();
    assert_eq!(again.examined, 0);
    assert_eq!(w.reserved().await, 4);
}

#[tokio::test]
async fn nothing_due_is_a_quiet_success() {
    let w = world();
    w.place("mkp-1", VtexDuration::Days(1)).await;
    let report = handle(&w.deps, event()).await.unwrap();
    assert_eq!(report, Default::default());
    assert_eq!(w.reserved().await, 2);
}

struct DownQueue;

#[async_trait]
impl OrderEvents for DownQueue {
    async fn publish(&self, _: &OrderEvent) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("queue down".into()))
    }
}

#[tokio::test]
async fn an_expiry_writes_its_event_to_the_outbox_whatever_the_queue() {
    let mut w = world();
    let id = w.place("mkp-1", VtexDuration::Hours(1)).await;
    w.deps.events = Arc::new(DownQueue);
    w.clock.advance(Duration::hours(2));
    let report = handle(&w.deps, event()).await.unwrap();
    assert_eq!(report.expired, vec![id.clone()]);
    assert_eq!(w.reserved().await, 0);
    assert!(
        w.store.events().is_empty(),
        "the sweeper sends nothing itself"
    );
    let owed = w.store.pending(None, 10).await.unwrap();
    assert_eq!(owed.len(), 1);
    assert_eq!(owed[0].event.event_id, format!("{id}:order.expired"));

    // The relay delivers it once the queue is back.
    let relay = w.lifecycle().relay(Arc::new(w.store.clone()));
    assert_eq!(relay.drain().await.unwrap().delivered, 1);
    assert_eq!(w.store.events()[0].kind, OrderEventKind::Expired);
    assert!(w.store.pending(None, 10).await.unwrap().is_empty());
}

/// Every expiry write fails (the store is down for writes).
struct ReadOnly(MemoryStore);

#[async_trait]
impl OrderStore for ReadOnly {
    async fn create_reserved(&self, o: &Order) -> Result<PlaceOutcome, StoreError> {
        self.0.create_reserved(o).await
    }
    async fn get(&self, id: &str) -> Result<Option<Order>, StoreError> {
        self.0.get(id).await
    }
    async fn get_by_marketplace_id(&self, an: &str, id: &str) -> Result<Option<Order>, StoreError> {
        self.0.get_by_marketplace_id(an, id).await
    }
    async fn save_emitting(
        &self,
        _: &Order,
        _: StockEffect,
        _: &[OrderEvent],
    ) -> Result<SaveOutcome, StoreError> {
        Err(StoreError::Unavailable("store down".into()))
    }
    async fn emit(&self, _: &[OrderEvent]) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("store down".into()))
    }
    async fn expired_reservations(
        &self,
        now: chrono::DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, StoreError> {
        self.0.expired_reservations(now, limit).await
    }
    async fn append_log(&self, id: &str, e: &LogEntry) -> Result<(), StoreError> {
        self.0.append_log(id, e).await
    }
    async fn read_log(&self, id: &str) -> Result<Vec<LogEntry>, StoreError> {
        self.0.read_log(id).await
    }
}

#[tokio::test]
async fn a_failed_expiry_write_fails_the_invocation_and_the_next_run_finishes_it() {
    let mut w = world();
    let id = w.place("mkp-1", VtexDuration::Hours(1)).await;
    let healthy = w.deps.store.clone();
    w.deps.store = Arc::new(ReadOnly(w.store.clone()));
    w.clock.advance(Duration::hours(2));
    match handle(&w.deps, event()).await {
        Err(SweepError::Incomplete { report }) => assert_eq!(report.failed, vec![id.clone()]),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.status(&id).await, OrderStatus::Reserved);
    assert_eq!(w.reserved().await, 2, "nothing was written");
    assert!(w.store.pending(None, 10).await.unwrap().is_empty());

    w.deps.store = healthy;
    let report = handle(&w.deps, event()).await.unwrap();
    assert_eq!(report.expired, vec![id.clone()]);
    assert_eq!(w.reserved().await, 0);
    assert_eq!(w.store.pending(None, 10).await.unwrap().len(), 1);
}

#[test]
fn the_sample_event_is_an_eventbridge_schedule() {
    let e = event();
    assert_eq!(e.detail_type, "Scheduled Event");
    assert_eq!(e.source, "aws.events");
}

#[test]
fn config_reads_the_sweep_settings() {
    let vars = |k: &str, v: &str| lambda_kit::config::Vars::from_pairs([(k, v)]);
    let c = Config::from_vars(&vars("SWEEP_BATCH_SIZE", "10")).unwrap();
    assert_eq!(c.lifecycle.sweep_batch_size, 10);
    assert!(Config::from_vars(&vars("SWEEP_MAX_BATCHES", "-1")).is_err());
}
