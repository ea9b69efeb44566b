//! The order life cycle through the real handlers (placement, fulfillment, sweeper) over real
//! stores: the embedded SQLite store (always), and DynamoDB + SQS in moto (`tests/run.sh`).
//! Place → fulfill → cancel with retries changing nothing, concurrent placements at limited stock,
//! and expiry on a hand-moved clock giving the stock back.

use async_trait::async_trait;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{Duration, TimeZone, Utc};
use connector_tests::aws_env;
use domain::catalog::{CatalogFile, StockLevel};
use domain::clock::{Clock, ManualClock};
use domain::order::OrderStatus;
use domain::ports::{
    CatalogReader, CatalogWriter, OrderEvent, OrderEventKind, OrderEvents, OrderStore, SaveOutcome,
    StockEffect,
};
use domain::store_support::load_catalog;
use embedded_store::{EmbeddedStore, ORDER_EVENTS_QUEUE};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;

const PLACEMENT: &str = include_str!("../../../events/order-placement.array.json");
const FULFILL: &str = include_str!("../../../events/fulfillment.fulfill.json");
const CANCEL: &str = include_str!("../../../events/fulfillment.cancel.json");
const ADMIN: &str = include_str!("../../../events/fulfillment.admin-order.json");
const SCHEDULED: &str = include_str!("../../../events/reservation-sweeper.scheduled.json");
/// The order id the sample fulfillment events carry; replaced by the real one.
const EVENT_ORDER_ID: &str = "SLR-7Q2M9K4D1X8B5N3R6T0V";

fn sample() -> CatalogFile {
    serde_json::from_str(include_str!("../../../shared/sample/catalog.json")).unwrap()
}

// --- the system under test -----------------------------------------------------------------------

/// Reads what the ERP would read from its queue.
#[async_trait]
trait ErpQueue: Send + Sync {
    async fn drain(&self) -> Vec<OrderEvent>;
}

struct System {
    placement: order_placement::Deps,
    fulfillment: fulfillment::Deps,
    sweeper: reservation_sweeper::Deps,
    catalog: Arc<dyn CatalogReader>,
    store: Arc<dyn OrderStore>,
    erp: Box<dyn ErpQueue>,
    clock: Arc<ManualClock>,
    /// Delivers the outbox to the ERP queue, as the outbox relay does in production.
    relay: domain::outbox::OutboxRelay,
}

fn system(
    store: Arc<dyn OrderStore>,
    catalog: Arc<dyn CatalogReader>,
    events: Arc<dyn OrderEvents>,
    outbox: Arc<dyn domain::outbox::Outbox>,
    erp: Box<dyn ErpQueue>,
    clock: Arc<ManualClock>,
) -> System {
    let c: Arc<dyn Clock> = clock.clone();
    let relay = domain::outbox::OutboxRelay::new(outbox, events.clone(), c.clone());
    System {
        relay,
        placement: order_placement::Deps::new(
            store.clone(),
            catalog.clone(),
            events.clone(),
            c.clone(),
            order_placement::Config::default(),
        ),
        fulfillment: fulfillment::Deps::new(
            store.clone(),
            catalog.clone(),
            events.clone(),
            c.clone(),
            fulfillment::Config::default(),
        ),
        sweeper: reservation_sweeper::Deps::new(
            store.clone(),
            catalog.clone(),
            events,
            c,
            reservation_sweeper::Config::default(),
        ),
        catalog,
        store,
        erp,
        clock,
    }
}

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
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

async fn embedded() -> System {
    let clock = Arc::new(ManualClock::new(t0()));
    let store = EmbeddedStore::open_in_memory()
        .unwrap()
        .with_clock(clock.clone());
    load_catalog(&store, &sample()).await.unwrap();
    let shared = Arc::new(store.clone());
    system(
        shared.clone(),
        shared.clone(),
        shared.clone(),
        shared,
        Box::new(LocalErp(store)),
        clock,
    )
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

/// DynamoDB and SQS in moto, or `None` when no endpoint is configured (see `aws_env::moto`).
async fn in_moto() -> Option<System> {
    let config = aws_env::moto().await?;
    let (client, catalog_table, orders_table) = aws_env::dynamo_tables(&config).await;
    let catalog = aws_adapters::dynamo::DynamoCatalog::new(client.clone(), catalog_table.clone());
    load_catalog(&catalog as &dyn CatalogWriter, &sample())
        .await
        .unwrap();
    let outbox = aws_env::unique_name("outbox");
    aws_adapters::schema::create_outbox_table(&client, &outbox)
        .await
        .unwrap();
    let orders =
        aws_adapters::dynamo::DynamoOrders::new(client.clone(), orders_table, catalog_table)
            .with_outbox(&outbox);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let url = aws_env::fifo_queue(&sqs, "order-events").await;
    let events = aws_adapters::sqs::SqsOrderEvents::new(sqs.clone(), &url);
    Some(system(
        Arc::new(orders),
        Arc::new(catalog),
        Arc::new(events),
        Arc::new(aws_adapters::outbox::DynamoOutbox::new(client, outbox)),
        Box::new(SqsErp { client: sqs, url }),
        Arc::new(ManualClock::new(t0())),
    ))
}

// --- requests ------------------------------------------------------------------------------------

/// A sample event with `EVENT_ORDER_ID` in its path replaced by `id` and its body edited.
fn event(sample: &str, id: &str, edit: impl FnOnce(&mut Value)) -> Request {
    let mut ev: Value = serde_json::from_str(sample).unwrap();
    let path = ev["rawPath"].as_str().unwrap().replace(EVENT_ORDER_ID, id);
    ev["rawPath"] = json!(path);
    ev["requestContext"]["http"]["path"] = json!(path);
    if let Some(text) = ev["body"].as_str() {
        let mut body: Value = serde_json::from_str(text).unwrap();
        edit(&mut body);
        ev["body"] = Value::String(body.to_string());
    }
    lambda_http::request::from_str(&ev.to_string()).unwrap()
}

/// The sample placement for `marketplace_order_id`, of `quantity` units of `sku`.
fn placement(marketplace_order_id: &str, sku: &str, quantity: i64) -> Request {
    event(PLACEMENT, "", |b| {
        b[0]["marketplaceOrderId"] = json!(marketplace_order_id);
        b[0]["items"][0]["id"] = json!(sku);
        b[0]["items"][0]["quantity"] = json!(quantity);
    })
}

fn body_json(resp: &Response<Body>) -> Value {
    match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        Body::Binary(b) => serde_json::from_slice(b).unwrap(),
        _ => Value::Null,
    }
}

impl System {
    async fn place(&self, req: Request) -> Response<Body> {
        order_placement::handle(&self.placement, req).await
    }

    async fn fulfillment(&self, req: Request) -> Response<Body> {
        fulfillment::handle(&self.fulfillment, req).await
    }

    async fn level(&self, sku: &str, loc: &str) -> StockLevel {
        let skus = self.catalog.get_skus(&[sku.to_string()]).await.unwrap();
        skus[sku].stock.get(loc).copied().unwrap_or_default()
    }

    async fn status(&self, id: &str) -> OrderStatus {
        self.store.get(id).await.unwrap().unwrap().status
    }
}

async fn ok(resp: Response<Body>) -> Value {
    assert_eq!(resp.status(), StatusCode::OK, "{:?}", resp.body());
    body_json(&resp)
}

// --- the flows -----------------------------------------------------------------------------------

async fn place_fulfill_cancel_with_retries(s: System) {
    let before = s.level("2002495", "cd-cajamar").await;

    // Placement, and VTEX's retry of it.
    let placed = ok(s.place(placement("959311095", "2002495", 2)).await).await;
    let id = placed[0]["orderId"].as_str().unwrap().to_string();
    assert!(id.starts_with("SLR-"));
    let again = ok(s.place(placement("959311095", "2002495", 2)).await).await;
    assert_eq!(again, placed);
    assert_eq!(
        s.level("2002495", "cd-cajamar").await.reserved,
        before.reserved + 2
    );
    assert_eq!(s.status(&id).await, OrderStatus::Reserved);

    // Fulfill twice: one authorization, one receipt.
    let fulfilled = ok(s.fulfillment(event(FULFILL, &id, |_| {})).await).await;
    assert_eq!(fulfilled["orderId"], id.as_str());
    assert_eq!(fulfilled["marketplaceOrderId"], "959311095");
    s.clock.advance(Duration::minutes(1));
    let refulfilled = ok(s.fulfillment(event(FULFILL, &id, |_| {})).await).await;
    assert_eq!(refulfilled, fulfilled);
    assert_eq!(s.status(&id).await, OrderStatus::Authorized);
    assert_eq!(
        s.level("2002495", "cd-cajamar").await.reserved,
        before.reserved + 2
    );

    // Cancel twice: one confirmation, the stock back once.
    let canceled = ok(s.fulfillment(event(CANCEL, &id, |_| {})).await).await;
    assert_eq!(canceled["orderId"], id.as_str());
    let recanceled = ok(s.fulfillment(event(CANCEL, &id, |_| {})).await).await;
    assert_eq!(recanceled, canceled);
    assert_eq!(s.status(&id).await, OrderStatus::Canceled);
    assert_eq!(s.level("2002495", "cd-cajamar").await, before);

    // A placement retry after all that still answers the same order and reserves nothing.
    let late = ok(s.place(placement("959311095", "2002495", 2)).await).await;
    assert_eq!(late[0]["orderId"], id.as_str());
    assert_eq!(s.level("2002495", "cd-cajamar").await, before);
    // And a late fulfill is refused.
    assert_eq!(
        s.fulfillment(event(FULFILL, &id, |_| {})).await.status(),
        StatusCode::CONFLICT
    );

    // The ERP heard of the authorization and the cancellation, each once (replays de-duplicated).
    s.relay.drain().await.unwrap();
    let kinds: Vec<_> = s.erp.drain().await.into_iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [OrderEventKind::Authorized, OrderEventKind::Canceled]
    );

    // The operator view tells the story.
    let view = ok(s.fulfillment(event(ADMIN, &id, |_| {})).await).await;
    assert_eq!(view["status"], "CANCELED");
    let steps: Vec<&str> = view["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps.first(), Some(&"placement"));
    assert!(steps.contains(&"fulfill") && steps.contains(&"cancel"));
}

async fn concurrent_placements_at_limited_stock(s: System) {
    // SKU 34562 has exactly one unit, at cd-cajamar.
    let s = Arc::new(s);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let resp = s.place(placement(&format!("race-{i}"), "34562", 1)).await;
                (resp.status(), body_json(&resp))
            })
        })
        .collect();
    let mut placed = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            StatusCode::OK => placed += 1,
            StatusCode::CONFLICT => assert_eq!(body["error"]["code"], "ORD003"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(placed, 1);
    let level = s.level("34562", "cd-cajamar").await;
    assert_eq!((level.on_hand, level.reserved), (1, 1));

    // Concurrent retries of one order: one order id, one reservation.
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { ok(s.place(placement("retry-1", "2001002", 3)).await).await })
        })
        .collect();
    let mut ids = HashSet::new();
    for t in tasks {
        ids.insert(t.await.unwrap()[0]["orderId"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(s.level("2001002", "cd-cajamar").await.reserved, 3);
}

async fn expiry_returns_the_stock(s: System) {
    let before = s.level("2002495", "cd-cajamar").await;
    let short = event(PLACEMENT, "", |b| {
        b[0]["marketplaceOrderId"] = json!("exp-1");
        b[0]["items"][0]["quantity"] = json!(3);
        b[0]["shippingData"]["logisticsInfo"][0]["lockTTL"] = json!("1d");
    });
    let id = ok(s.place(short).await).await[0]["orderId"]
        .as_str()
        .unwrap()
        .to_string();
    let kept = ok(s.place(placement("exp-2", "2002495", 1)).await).await[0]["orderId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        s.level("2002495", "cd-cajamar").await.reserved,
        before.reserved + 4
    );

    let scheduled: EventBridgeEvent = serde_json::from_str(SCHEDULED).unwrap();
    s.clock.advance(Duration::hours(23));
    let report = reservation_sweeper::handle(&s.sweeper, scheduled.clone())
        .await
        .unwrap();
    assert!(report.expired.is_empty());

    s.clock.advance(Duration::hours(1));
    let report = reservation_sweeper::handle(&s.sweeper, scheduled.clone())
        .await
        .unwrap();
    assert_eq!(report.expired, vec![id.clone()]);
    assert_eq!(s.status(&id).await, OrderStatus::Expired);
    assert_eq!(s.status(&kept).await, OrderStatus::Reserved);
    assert_eq!(
        s.level("2002495", "cd-cajamar").await.reserved,
        before.reserved + 1
    );
    let again = reservation_sweeper::handle(&s.sweeper, scheduled)
        .await
        .unwrap();
    assert!(again.expired.is_empty());

    // Too late to fulfill; a cancel gets the expiry's confirmation and frees nothing twice.
    let late = s
        .fulfillment(event(FULFILL, &id, |b| {
            b["marketplaceOrderId"] = json!("exp-1")
        }))
        .await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    let canceled = ok(s
        .fulfillment(event(CANCEL, &id, |b| {
            b["marketplaceOrderId"] = json!("exp-1")
        }))
        .await)
    .await;
    assert_eq!(canceled["orderId"], id.as_str());
    assert_eq!(
        s.level("2002495", "cd-cajamar").await.reserved,
        before.reserved + 1
    );

    s.relay.drain().await.unwrap();
    let events = s.erp.drain().await;
    let expired: Vec<_> = events
        .iter()
        .filter(|e| e.kind == OrderEventKind::Expired)
        .collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].order_id, id);
    assert_eq!(expired[0].lines[0].quantity, 3);
}

async fn invoiced_orders_refuse_cancellation(s: System) {
    let id = ok(s.place(placement("inv-1", "2002495", 1)).await).await[0]["orderId"]
        .as_str()
        .unwrap()
        .to_string();
    ok(s.fulfillment(event(FULFILL, &id, |b| {
        b["marketplaceOrderId"] = json!("inv-1")
    }))
    .await)
    .await;
    // The invoicing side's transition, done by hand here.
    let mut order = s.store.get(&id).await.unwrap().unwrap();
    order.status = OrderStatus::Invoiced;
    assert!(matches!(
        s.store.save(&order, StockEffect::None).await.unwrap(),
        SaveOutcome::Saved(_)
    ));
    let resp = s
        .fulfillment(event(CANCEL, &id, |b| {
            b["marketplaceOrderId"] = json!("inv-1")
        }))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(matches!(resp.body(), Body::Empty));
    assert_eq!(s.status(&id).await, OrderStatus::Invoiced);
}

// --- embedded store ------------------------------------------------------------------------------

#[tokio::test]
async fn embedded_place_fulfill_cancel_with_retries() {
    place_fulfill_cancel_with_retries(embedded().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_concurrent_placements_never_oversell() {
    concurrent_placements_at_limited_stock(embedded().await).await;
}

#[tokio::test]
async fn embedded_expiry_returns_the_stock() {
    expiry_returns_the_stock(embedded().await).await;
}

#[tokio::test]
async fn embedded_invoiced_orders_refuse_cancellation() {
    invoiced_orders_refuse_cancellation(embedded().await).await;
}

// --- DynamoDB + SQS (moto) -----------------------------------------------------------------------

#[tokio::test]
async fn dynamo_place_fulfill_cancel_with_retries() {
    if let Some(s) = in_moto().await {
        place_fulfill_cancel_with_retries(s).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_concurrent_placements_never_oversell() {
    if let Some(s) = in_moto().await {
        concurrent_placements_at_limited_stock(s).await;
    }
}

#[tokio::test]
async fn dynamo_expiry_returns_the_stock() {
    if let Some(s) = in_moto().await {
        expiry_returns_the_stock(s).await;
    }
}

#[tokio::test]
async fn dynamo_invoiced_orders_refuse_cancellation() {
    if let Some(s) = in_moto().await {
        invoiced_orders_refuse_cancellation(s).await;
    }
}
