//! Crash points of the transitions that owe the ERP an event (issue 12, items 2 and 7): fulfill,
//! marketplace cancel and expiry, each with a fault injected at one step —
//! 1. the store write fails (before the save: nothing is written),
//! 2. the ERP queue refuses the send (after the save, before the publish),
//! 3. the outbox delete fails (after the publish, before the delete) —
//!
//! then the step re-run as VTEX (a fulfill / cancel retry) or the schedule (the next sweep) would,
//! the relay run as the outbox stream would (again after a failure, as Lambda retries a reported
//! record), and VTEX's usual extra retry of a call whose answer it did not see. At the end: the ERP
//! queue holds exactly the events the story owes, each once; the order is in its final state with
//! the stock as it must be; the outbox is empty; the order was saved once per transition. A second
//! send of one event is counted and must be one the queue's de-duplication absorbed (same event
//! id, within its window).
//!
//! Run against the embedded store (its local queue de-duplicates like SQS FIFO) and against
//! DynamoDB + SQS FIFO in moto (`tests/run.sh`).

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use connector_tests::aws_env;
use domain::catalog::CatalogFile;
use domain::clock::{Clock, ManualClock};
use domain::lifecycle::{
    CancelRequest, FulfillRequest, Lifecycle, PlacementDecision, PlacementLine, PlacementRequest,
};
use domain::order::{LogEntry, Order, OrderStatus};
use domain::outbox::{Outbox, OutboxRecord, OutboxRelay};
use domain::ports::{
    CatalogReader, OrderEvent, OrderEvents, OrderStore, PlaceOutcome, SaveOutcome, StockEffect,
    StoreError,
};
use domain::store_support::load_catalog;
use domain::{Cents, VtexDuration};
use embedded_store::{EmbeddedStore, ORDER_EVENTS_QUEUE};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const SKU: &str = "2002495";
const LOCATION: &str = "cd-cajamar";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
}

fn down(what: &str) -> StoreError {
    StoreError::Unavailable(format!("injected: {what}"))
}

/// Takes one from `n` if it is positive: "fail the next `n` calls".
fn take(n: &AtomicUsize) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok()
}

/// Where the fault is injected, and how many times it fires.
#[derive(Debug, Default)]
struct Faults {
    saves: AtomicUsize,
    sends: AtomicUsize,
    deletes: AtomicUsize,
    /// Every send that reached the queue (the relay's and, on today's code, the life cycle's).
    sent: AtomicUsize,
    /// Saves of an order that went through.
    saved: AtomicUsize,
    /// Outbox deletes that deleted.
    deleted: AtomicUsize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CrashPoint {
    BeforeSave,
    AfterSaveBeforePublish,
    AfterPublishBeforeDelete,
}

const CRASH_POINTS: [CrashPoint; 3] = [
    CrashPoint::BeforeSave,
    CrashPoint::AfterSaveBeforePublish,
    CrashPoint::AfterPublishBeforeDelete,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Story {
    Fulfill,
    Cancel,
    Expiry,
}

const STORIES: [Story; 3] = [Story::Fulfill, Story::Cancel, Story::Expiry];

impl Faults {
    fn arm(&self, at: CrashPoint) {
        match at {
            CrashPoint::BeforeSave => self.saves.store(1, Ordering::SeqCst),
            CrashPoint::AfterSaveBeforePublish => self.sends.store(1, Ordering::SeqCst),
            CrashPoint::AfterPublishBeforeDelete => self.deletes.store(1, Ordering::SeqCst),
        }
    }

    fn disarmed(&self) -> bool {
        self.saves.load(Ordering::SeqCst) == 0
            && self.sends.load(Ordering::SeqCst) == 0
            && self.deletes.load(Ordering::SeqCst) == 0
    }
}

/// The order store, failing the next armed save before it writes anything.
struct FaultyStore {
    inner: Arc<dyn OrderStore>,
    faults: Arc<Faults>,
}

#[async_trait]
impl OrderStore for FaultyStore {
    async fn create_reserved(&self, o: &Order) -> Result<PlaceOutcome, StoreError> {
        self.inner.create_reserved(o).await
    }
    async fn get(&self, id: &str) -> Result<Option<Order>, StoreError> {
        self.inner.get(id).await
    }
    async fn get_by_marketplace_id(&self, an: &str, id: &str) -> Result<Option<Order>, StoreError> {
        self.inner.get_by_marketplace_id(an, id).await
    }
    async fn save_emitting(
        &self,
        o: &Order,
        e: StockEffect,
        events: &[OrderEvent],
    ) -> Result<SaveOutcome, StoreError> {
        if take(&self.faults.saves) {
            return Err(down("the order save"));
        }
        let out = self.inner.save_emitting(o, e, events).await?;
        if matches!(out, SaveOutcome::Saved(_)) {
            self.faults.saved.fetch_add(1, Ordering::SeqCst);
        }
        Ok(out)
    }
    async fn emit(&self, events: &[OrderEvent]) -> Result<(), StoreError> {
        self.inner.emit(events).await
    }
    async fn expired_reservations(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, StoreError> {
        self.inner.expired_reservations(now, limit).await
    }
    async fn append_log(&self, id: &str, e: &LogEntry) -> Result<(), StoreError> {
        self.inner.append_log(id, e).await
    }
    async fn read_log(&self, id: &str) -> Result<Vec<LogEntry>, StoreError> {
        self.inner.read_log(id).await
    }
}

/// The ERP queue, refusing the next armed send.
struct FaultyQueue {
    inner: Arc<dyn OrderEvents>,
    faults: Arc<Faults>,
}

#[async_trait]
impl OrderEvents for FaultyQueue {
    async fn publish(&self, event: &OrderEvent) -> Result<(), StoreError> {
        if take(&self.faults.sends) {
            return Err(down("the ERP queue send"));
        }
        self.inner.publish(event).await?;
        self.faults.sent.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// The outbox, failing the next armed delete (the relay crashed after the send).
struct FaultyOutbox {
    inner: Arc<dyn Outbox>,
    faults: Arc<Faults>,
}

#[async_trait]
impl Outbox for FaultyOutbox {
    async fn pending(
        &self,
        before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        self.inner.pending(before, limit).await
    }
    async fn record(&self, id: &str) -> Result<Option<OutboxRecord>, StoreError> {
        self.inner.record(id).await
    }
    async fn mark_delivered(&self, r: &OutboxRecord) -> Result<bool, StoreError> {
        if take(&self.faults.deletes) {
            return Err(down("the outbox delete"));
        }
        let deleted = self.inner.mark_delivered(r).await?;
        if deleted {
            self.faults.deleted.fetch_add(1, Ordering::SeqCst);
        }
        Ok(deleted)
    }
}

/// What the ERP reads: every message on its queue, received and deleted.
#[async_trait]
trait ErpQueue: Send + Sync {
    async fn drain(&self) -> Vec<OrderEvent>;
}

struct LocalErp(EmbeddedStore);

#[async_trait]
impl ErpQueue for LocalErp {
    async fn drain(&self) -> Vec<OrderEvent> {
        let q = self.0.queue(ORDER_EVENTS_QUEUE);
        let mut out = Vec::new();
        loop {
            let batch = q
                .receive(10, std::time::Duration::from_secs(60))
                .await
                .unwrap();
            if batch.is_empty() {
                return out;
            }
            for m in batch {
                out.push(serde_json::from_str(&m.body).unwrap());
                q.delete(&m.receipt_handle).await.unwrap();
            }
        }
    }
}

struct SqsErp {
    client: aws_sdk_sqs::Client,
    url: String,
}

#[async_trait]
impl ErpQueue for SqsErp {
    async fn drain(&self) -> Vec<OrderEvent> {
        let mut out = Vec::new();
        loop {
            let resp = self
                .client
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .visibility_timeout(60)
                .send()
                .await
                .unwrap();
            let messages = resp.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                out.push(serde_json::from_str(m.body.as_deref().unwrap()).unwrap());
                self.client
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(m.receipt_handle.unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

/// One backend's adapters, fresh and empty but for the sample catalog.
struct Backend {
    store: Arc<dyn OrderStore>,
    catalog: Arc<dyn CatalogReader>,
    outbox: Arc<dyn Outbox>,
    queue: Arc<dyn OrderEvents>,
    erp: Box<dyn ErpQueue>,
    clock: Arc<ManualClock>,
}

fn sample() -> CatalogFile {
    serde_json::from_str(include_str!("../../../shared/sample/catalog.json")).unwrap()
}

async fn embedded() -> Option<Backend> {
    let clock = Arc::new(ManualClock::new(t0()));
    let store = EmbeddedStore::open_in_memory()
        .unwrap()
        .with_clock(clock.clone());
    load_catalog(&store, &sample()).await.unwrap();
    let shared = Arc::new(store.clone());
    Some(Backend {
        store: shared.clone(),
        catalog: shared.clone(),
        outbox: shared.clone(),
        queue: shared,
        erp: Box::new(LocalErp(store)),
        clock,
    })
}

async fn in_moto() -> Option<Backend> {
    let config = aws_env::moto().await?;
    let (client, catalog_table, orders_table) = aws_env::dynamo_tables(&config).await;
    let catalog = aws_adapters::dynamo::DynamoCatalog::new(client.clone(), catalog_table.clone());
    load_catalog(&catalog, &sample()).await.unwrap();
    let outbox = aws_env::unique_name("outbox");
    aws_adapters::schema::create_outbox_table(&client, &outbox)
        .await
        .unwrap();
    let orders =
        aws_adapters::dynamo::DynamoOrders::new(client.clone(), orders_table, catalog_table)
            .with_outbox(&outbox);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let url = aws_env::fifo_queue(&sqs, "order-events").await;
    Some(Backend {
        store: Arc::new(orders),
        catalog: Arc::new(catalog),
        outbox: Arc::new(aws_adapters::outbox::DynamoOutbox::new(client, outbox)),
        queue: Arc::new(aws_adapters::sqs::SqsOrderEvents::new(sqs.clone(), &url)),
        erp: Box::new(SqsErp { client: sqs, url }),
        clock: Arc::new(ManualClock::new(t0())),
    })
}

/// The system with the faults wired in: the life cycle over the faulty store, the relay over the
/// faulty outbox and queue.
struct Rig {
    b: Backend,
    faults: Arc<Faults>,
    lc: Lifecycle,
    relay: OutboxRelay,
}

fn rig(b: Backend) -> Rig {
    let faults = Arc::new(Faults::default());
    let queue: Arc<dyn OrderEvents> = Arc::new(FaultyQueue {
        inner: b.queue.clone(),
        faults: faults.clone(),
    });
    let clock: Arc<dyn Clock> = b.clock.clone();
    let lc = Lifecycle::new(
        Arc::new(FaultyStore {
            inner: b.store.clone(),
            faults: faults.clone(),
        }),
        b.catalog.clone(),
        queue.clone(),
        clock.clone(),
    );
    let relay = OutboxRelay::new(
        Arc::new(FaultyOutbox {
            inner: b.outbox.clone(),
            faults: faults.clone(),
        }),
        queue,
        clock,
    );
    Rig {
        b,
        faults,
        lc,
        relay,
    }
}

fn placement(mkp: &str, ttl: VtexDuration) -> PlacementRequest {
    PlacementRequest {
        an: "marketplacedemo".into(),
        sc: None,
        marketplace_order_id: mkp.into(),
        marketplace_services_endpoint: None,
        marketplace_payment_value: Cents(2 * 9990 + 1090),
        shipping_outdated: false,
        lines: vec![PlacementLine {
            sku_id: SKU.into(),
            quantity: 2,
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

fn fulfill_req(order: &Order) -> FulfillRequest {
    FulfillRequest {
        order_id: order.order_id.clone(),
        marketplace_order_id: order.marketplace_order_id.clone(),
        marketplace_order_group: None,
    }
}

fn cancel_req(order: &Order) -> CancelRequest {
    CancelRequest {
        path_id: order.order_id.clone(),
        an: order.an.clone(),
        marketplace_order_id: Some(order.marketplace_order_id.clone()),
        marketplace_order_group: None,
        request_id: Some("c-1".into()),
        reason: Some("Out of stock".into()),
        requested_by_user: Some(true),
    }
}

/// How often a step ran before it went through (VTEX's or the schedule's retries).
const MAX_RUNS: usize = 5;

impl Rig {
    async fn reserved(&self) -> i64 {
        let skus = self.b.catalog.get_skus(&[SKU.to_string()]).await.unwrap();
        skus[SKU].stock[LOCATION].reserved
    }

    async fn order(&self, id: &str) -> Order {
        self.b.store.get(id).await.unwrap().unwrap()
    }

    /// The transition under test, once; `Err` is what VTEX (a 5xx) or the schedule (a failed
    /// run) sees.
    async fn step(&self, story: Story, order: &Order) -> Result<(), String> {
        match story {
            Story::Fulfill => self
                .lc
                .fulfill(fulfill_req(order))
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Story::Cancel => self
                .lc
                .cancel(cancel_req(order))
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Story::Expiry => {
                let report = self.lc.sweep().await.map_err(|e| e.to_string())?;
                if report.failed.is_empty() {
                    Ok(())
                } else {
                    Err(format!("sweep failed for {:?}", report.failed))
                }
            }
        }
    }

    /// The step until it goes through, as VTEX retries a 5xx and the schedule re-runs the sweep.
    async fn run_until_done(&self, story: Story, order: &Order) -> usize {
        for run in 1..=MAX_RUNS {
            if self.step(story, order).await.is_ok() {
                return run;
            }
        }
        panic!("{story:?} never went through in {MAX_RUNS} runs");
    }

    /// The outbox stream's delivery of `event_id`, retried from a reported failure as Lambda does.
    async fn stream(&self, event_id: &str) {
        for _ in 0..MAX_RUNS {
            if self.relay.deliver(event_id).await.is_ok() {
                return;
            }
        }
        panic!("the stream never delivered {event_id}");
    }
}

/// What one story × crash point left behind.
#[derive(Debug, Default)]
struct Tally {
    lost: usize,
    duplicated: usize,
    absorbed: usize,
}

/// One story with a fault at `at`. Returns what the ERP missed or got twice.
async fn scenario(b: Backend, story: Story, at: CrashPoint) -> Tally {
    let r = rig(b);
    let ttl = match story {
        Story::Expiry => VtexDuration::Hours(1),
        _ => VtexDuration::Days(8),
    };
    let mkp = format!("{story:?}-{at:?}");
    let order = match r.lc.place(placement(&mkp, ttl)).await.unwrap() {
        PlacementDecision::Placed { order, .. } => *order,
        other => panic!("{other:?}"),
    };
    let id = order.order_id.clone();
    let mut owed = Vec::new();
    if story == Story::Cancel {
        // The order was authorized (and its event delivered) before the story starts.
        r.lc.fulfill(fulfill_req(&order)).await.unwrap();
        r.stream(&format!("{id}:order.authorized")).await;
        owed.push(format!("{id}:order.authorized"));
    }
    if story == Story::Expiry {
        r.b.clock.advance(Duration::hours(2));
    }
    let saves_before = r.faults.saved.load(Ordering::SeqCst);
    let sent_before = r.faults.sent.load(Ordering::SeqCst);

    r.faults.arm(at);
    let event_id = format!(
        "{id}:{}",
        match story {
            Story::Fulfill => "order.authorized",
            Story::Cancel => "order.canceled",
            Story::Expiry => "order.expired",
        }
    );
    owed.push(event_id.clone());
    r.run_until_done(story, &order).await;
    // The stream record of the outbox write; then VTEX's retry of a call whose answer it missed
    // (the next sweep, for expiry), and the stream record of whatever that wrote.
    r.stream(&event_id).await;
    r.run_until_done(story, &order).await;
    r.stream(&event_id).await;
    // The scheduled re-drive finds nothing left (everything is older than its minute by now).
    r.b.clock.advance(Duration::minutes(2));
    let redrive = r.relay.redrive(Duration::minutes(1)).await.unwrap();
    assert!(redrive.failed.is_empty(), "{redrive:?}");
    assert!(
        r.faults.disarmed(),
        "{story:?} at {at:?}: the fault never fired"
    );

    // What the ERP read, by event id.
    let mut got: BTreeMap<String, usize> = BTreeMap::new();
    for e in r.b.erp.drain().await {
        *got.entry(e.event_id).or_default() += 1;
    }
    let mut tally = Tally::default();
    for e in &owed {
        match got.get(e).copied().unwrap_or(0) {
            0 => tally.lost += 1,
            1 => {}
            n => tally.duplicated += n - 1,
        }
    }
    tally.duplicated += got.keys().filter(|k| !owed.contains(k)).count();
    let sent = r.faults.sent.load(Ordering::SeqCst) - sent_before;
    tally.absorbed = sent.saturating_sub(1);

    // The order, its stock and the outbox are in their final state; one save per transition.
    let stored = r.order(&id).await;
    let (status, reserved) = match story {
        Story::Fulfill => (OrderStatus::Authorized, 2),
        Story::Cancel => (OrderStatus::Canceled, 0),
        Story::Expiry => (OrderStatus::Expired, 0),
    };
    assert_eq!(stored.status, status, "{story:?} at {at:?}");
    assert_eq!(r.reserved().await, reserved, "{story:?} at {at:?}: stock");
    assert_eq!(
        r.faults.saved.load(Ordering::SeqCst) - saves_before,
        1,
        "{story:?} at {at:?}: the transition was saved once"
    );
    assert!(
        r.b.outbox.pending(None, 10).await.unwrap().is_empty(),
        "{story:?} at {at:?}: the outbox is empty"
    );
    tally
}

/// A fresh backend per scenario, or `None` when it is not available here (moto without
/// `tests/run.sh`).
type NewBackend = std::pin::Pin<Box<dyn std::future::Future<Output = Option<Backend>> + Send>>;

/// Every story × crash point on fresh backends; prints and checks the totals.
async fn every_crash_point(backend: impl Fn() -> NewBackend) -> Option<()> {
    let mut lost = 0;
    let mut duplicated = 0;
    let mut absorbed = 0;
    let mut runs = 0;
    for story in STORIES {
        for at in CRASH_POINTS {
            let b = backend().await?;
            let t = scenario(b, story, at).await;
            eprintln!("{story:?} × {at:?}: {t:?}");
            lost += t.lost;
            duplicated += t.duplicated;
            absorbed += t.absorbed;
            runs += 1;
        }
    }
    eprintln!(
        "{} stories × {} crash points = {runs} scenarios: lost: {lost}, duplicated: {duplicated} \
         (second sends absorbed by the queue's de-duplication: {absorbed})",
        STORIES.len(),
        CRASH_POINTS.len()
    );
    assert_eq!((lost, duplicated), (0, 0));
    assert_eq!(runs, 9);
    Some(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_every_crash_point_of_fulfill_cancel_and_expiry_ends_complete() {
    every_crash_point(|| Box::pin(embedded()))
        .await
        .expect("the embedded store is always there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_every_crash_point_of_fulfill_cancel_and_expiry_ends_complete() {
    every_crash_point(|| Box::pin(in_moto())).await;
}

/// The stream and the re-drive (or two stream retries) relaying the same records at once: every
/// event reaches the ERP once (a second send is the queue's to drop), every record is deleted by
/// exactly one of them, none is left.
async fn two_relays_race(b: Backend) {
    let r = rig(b);
    let mut ids = Vec::new();
    for i in 0..12 {
        let order = match r
            .lc
            .place(placement(&format!("race-{i}"), VtexDuration::Days(1)))
            .await
            .unwrap()
        {
            PlacementDecision::Placed { order, .. } => *order,
            other => panic!("{other:?}"),
        };
        r.lc.fulfill(fulfill_req(&order)).await.unwrap();
        ids.push(format!("{}:order.authorized", order.order_id));
    }
    let stream = {
        let relay = r.relay.clone();
        let ids = ids.clone();
        tokio::spawn(async move {
            for id in ids {
                relay.deliver(&id).await.unwrap();
            }
        })
    };
    let redrive = r.relay.drain();
    let (joined, report) = tokio::join!(stream, redrive);
    joined.unwrap();
    assert!(report.unwrap().failed.is_empty());

    let mut got: BTreeMap<String, usize> = BTreeMap::new();
    for e in r.b.erp.drain().await {
        *got.entry(e.event_id).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = ids.iter().map(|id| (id.clone(), 1)).collect();
    assert_eq!(got, expected, "each event once");
    assert_eq!(
        r.faults.deleted.load(Ordering::SeqCst),
        ids.len(),
        "each record deleted by one relay"
    );
    assert!(r.b.outbox.pending(None, 100).await.unwrap().is_empty());
    eprintln!(
        "two relays over {} records: {} sends, {} absorbed by the queue's de-duplication",
        ids.len(),
        r.faults.sent.load(Ordering::SeqCst),
        r.faults.sent.load(Ordering::SeqCst) - ids.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_two_relays_racing_deliver_each_event_once() {
    two_relays_race(embedded().await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_two_relays_racing_deliver_each_event_once() {
    if let Some(b) = in_moto().await {
        two_relays_race(b).await;
    }
}
