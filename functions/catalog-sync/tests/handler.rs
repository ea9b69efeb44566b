//! The handler fed the sample events in `events/catalog-sync.*.json` and hand-made batches, with
//! in-memory stores, a recording queue port, a manual clock and the VTEX stand-in (GIVEN the
//! sample catalog, WHEN the ERP's catalog messages arrive, THEN the store changes at once and VTEX
//! hears what it must, once, coalesced).

use async_trait::async_trait;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use catalog_sync::{Backoff, Deps, Notifier, handle, sqs_event, sqs_message};
use chrono::{TimeZone, Utc};
use domain::catalog::{CatalogFile, Sku};
use domain::catalog_notify::{
    Coalescing, FollowUpQueue, MemoryFollowUps, MemorySyncStates, NotifyDue, NotifyKind,
};
use domain::clock::{Clock, ManualClock};
use domain::erp::{DispatchQueue, QueuedMessage};
use domain::memory::MemoryStore;
use domain::money::Cents;
use domain::ports::{CatalogReader, StoreError};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vtex::catalog::{CatalogClient, CatalogEndpoints, SuggestionSettings};
use vtex::ports::Notificator;
use vtex_standin::{FaultPlan, RecordedRequest, ServerHandle};

const SELLER: &str = "seller1";
const AN: &str = "luxstore";

#[derive(Debug, Clone, PartialEq)]
struct Parked {
    message_id: String,
    body: String,
    code: String,
    reason: String,
}

#[derive(Default)]
struct RecordingQueue {
    dead: Mutex<Vec<Parked>>,
    delayed: Mutex<Vec<(String, Duration)>>,
}

#[async_trait]
impl DispatchQueue for RecordingQueue {
    async fn dead_letter(
        &self,
        m: &QueuedMessage<'_>,
        code: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.dead.lock().unwrap().push(Parked {
            message_id: m.message_id.into(),
            body: m.body.into(),
            code: code.into(),
            reason: reason.into(),
        });
        Ok(())
    }

    async fn retry_later(&self, handle: &str, delay: Duration) -> Result<(), StoreError> {
        self.delayed.lock().unwrap().push((handle.into(), delay));
        Ok(())
    }
}

struct World {
    store: MemoryStore,
    followups: MemoryFollowUps,
    queue: Arc<RecordingQueue>,
    clock: Arc<ManualClock>,
    deps: Deps,
    standin: ServerHandle,
    addr: String,
    seq: Mutex<u64>,
}

fn sample() -> CatalogFile {
    serde_json::from_str(include_str!("../../../shared/sample/catalog.json")).unwrap()
}

/// The sample catalog in memory; the marketplace knows every sample SKU.
async fn world_with(file: &CatalogFile) -> World {
    let (addr, standin) = vtex_standin::serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    {
        let mut c = standin.state().catalog.lock().unwrap();
        c.seller_id = Some(SELLER.into());
        c.know(file.skus.iter().map(|s| s.id.clone()));
    }
    let store = MemoryStore::with_catalog(file);
    let followups = MemoryFollowUps::new();
    let queue = Arc::new(RecordingQueue::default());
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap(),
    ));
    let vtex = CatalogClient::new(
        &CatalogEndpoints {
            base_url: format!("http://{addr}"),
            suggestions_base_url: format!("http://{addr}/{{an}}"),
            account: AN.into(),
            seller_id: SELLER.into(),
        },
        standin.credentials(),
        Duration::from_secs(5),
    )
    .unwrap();
    let deps = Deps {
        catalog: Arc::new(store.clone()),
        writer: Arc::new(store.clone()),
        sync: Arc::new(MemorySyncStates::new()),
        queue: queue.clone(),
        followups: Arc::new(followups.clone()),
        notifier: Notifier {
            vtex: Arc::new(Notificator {
                client: vtex,
                suggestion: SuggestionSettings {
                    seller_id: SELLER.into(),
                    account: AN.into(),
                    currency: "BRL".into(),
                    currency_symbol: "R$".into(),
                },
            }),
            catalog: Arc::new(store.clone()),
        },
        clock: clock.clone(),
        coalescing: Coalescing::default(),
        backoff: Backoff {
            base: Duration::from_secs(2),
            max: Duration::from_secs(60),
        },
    };
    World {
        store,
        followups,
        queue,
        clock,
        deps,
        standin,
        addr: addr.to_string(),
        seq: Mutex::new(0),
    }
}

async fn world() -> World {
    world_with(&sample()).await
}

fn event(name: &str) -> SqsEvent {
    let text = match name {
        "sku-upsert" => include_str!("../../../events/catalog-sync.sku-upsert.json"),
        "price-changed" => include_str!("../../../events/catalog-sync.price-changed.json"),
        "stock-changed" => include_str!("../../../events/catalog-sync.stock-changed.json"),
        "stock-changed-out-of-order" => {
            include_str!("../../../events/catalog-sync.stock-changed-out-of-order.json")
        }
        "batch-partial-failure" => {
            include_str!("../../../events/catalog-sync.batch-partial-failure.json")
        }
        other => panic!("no sample event {other}"),
    };
    serde_json::from_str(text).unwrap()
}

fn failed_ids(r: &SqsBatchResponse) -> Vec<String> {
    r.batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

impl World {
    /// A batch of ERP messages, each in its SKU's message group.
    async fn send(&self, bodies: &[Value]) -> SqsBatchResponse {
        let records = bodies
            .iter()
            .map(|b| {
                let mut seq = self.seq.lock().unwrap();
                *seq += 1;
                let group = b["skuId"]
                    .as_str()
                    .or(b["sku"]["id"].as_str())
                    .unwrap_or("none")
                    .to_string();
                sqs_message(
                    &format!("m{seq}"),
                    &format!("h{seq}"),
                    &b.to_string(),
                    Some(&group),
                    1,
                )
            })
            .collect();
        handle(&self.deps, sqs_event(records)).await
    }

    /// Delivers the scheduled follow-ups (all of them, due or not) as one batch; those that
    /// come back are scheduled again.
    async fn deliver_followups(&self) -> SqsBatchResponse {
        let due = self.followups.take();
        let records = due
            .iter()
            .enumerate()
            .map(|(i, f)| {
                sqs_message(
                    &format!("f{i}"),
                    &format!("fh{i}"),
                    &f.to_json(),
                    Some(&f.group_id()),
                    1,
                )
            })
            .collect();
        let r = handle(&self.deps, sqs_event(records)).await;
        let failed = failed_ids(&r);
        for (i, f) in due.into_iter().enumerate() {
            if failed.contains(&format!("f{i}")) {
                self.followups.schedule(&f, Duration::ZERO).await.unwrap();
            }
        }
        r
    }

    async fn sku(&self, id: &str) -> Sku {
        self.store.get_sku(id).await.unwrap().expect("SKU stored")
    }

    fn vtex_calls(&self) -> Vec<RecordedRequest> {
        self.standin.state().requests()
    }

    fn notified(&self, kind: &str, sku: &str) -> usize {
        self.standin
            .state()
            .catalog
            .lock()
            .unwrap()
            .count(kind, sku)
    }

    fn advance(&self, secs: i64) {
        self.clock.advance(chrono::Duration::seconds(secs));
    }
}

fn stock(sku: &str, location: &str, on_hand: i64) -> Value {
    json!({"type": "stock.changed", "version": 1, "skuId": sku, "location": location, "onHand": on_hand})
}

#[tokio::test]
async fn sample_price_event_updates_the_store_then_notifies_the_price_once() {
    let w = world().await;
    let r = handle(&w.deps, event("price-changed")).await;
    assert!(r.batch_item_failures.is_empty());
    let sku = w.sku("2002495").await;
    assert_eq!(sku.price_for(None, None).unwrap().price, Cents(8990));
    assert_eq!(
        sku.price_for(Some("parceiromkp"), None).unwrap().price,
        Cents(8490)
    );
    assert_eq!(sku.stock["cd-cajamar"].on_hand, 25, "stock untouched");
    let calls = w.vtex_calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].method, "POST");
    assert_eq!(
        calls[0].path,
        "/api/notificator/seller1/changenotification/2002495/price"
    );
    assert_eq!((calls[0].status, calls[0].body.clone()), (202, Value::Null));
    assert!(calls[0].authorized);
}

#[tokio::test]
async fn sample_stock_event_keeps_reservations_and_never_sells_below_zero() {
    let mut file = sample();
    let sku = file.skus.iter_mut().find(|s| s.id == "2002495").unwrap();
    sku.stock.get_mut("cd-cajamar").unwrap().reserved = 5;
    let w = world_with(&file).await;
    let r = handle(&w.deps, event("stock-changed")).await;
    assert!(r.batch_item_failures.is_empty());
    let level = w.sku("2002495").await.stock["cd-cajamar"];
    assert_eq!((level.on_hand, level.reserved, level.sellable()), (3, 5, 0));
    assert_eq!(w.notified("inventory", "2002495"), 1);
    assert_eq!(w.notified("price", "2002495"), 0);
}

#[tokio::test]
async fn sample_counts_out_of_order_keep_the_newer_and_count_the_older_as_stale() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    lambda_kit::metrics::set_output(move |l| sink.lock().unwrap().push(l.to_string()));
    let w = world().await;
    // The newer count (08:50 -03:00, 4 units) came first; the older one (08:40, 9 units) second.
    let r = handle(&w.deps, event("stock-changed-out-of-order")).await;
    assert!(r.batch_item_failures.is_empty(), "{r:?}");
    assert_eq!(w.sku("2002495").await.stock["cd-cajamar"].on_hand, 4);
    assert_eq!(w.notified("inventory", "2002495"), 1);
    // Redelivered (or re-driven), the same older count is ignored again.
    let r = handle(&w.deps, event("stock-changed-out-of-order")).await;
    assert!(r.batch_item_failures.is_empty(), "{r:?}");
    assert_eq!(w.sku("2002495").await.stock["cd-cajamar"].on_hand, 4);
    let stale: Vec<f64> = lines
        .lock()
        .unwrap()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v[catalog_sync::STALE_METRIC].as_f64())
        .collect();
    lambda_kit::metrics::reset_output();
    assert!(stale.contains(&1.0), "one stale count per batch: {stale:?}");
}

#[tokio::test]
async fn sample_batch_reports_only_the_follow_up_that_is_not_due_yet() {
    // GIVEN the sample batch: a stock change, a price change and a follow-up due in 2099.
    let w = world().await;
    let batch = event("batch-partial-failure");
    assert_eq!(batch.records.len(), 3);
    let r = handle(&w.deps, batch).await;
    // THEN only the follow-up comes back (it waits for its due time through visibility)...
    assert_eq!(
        failed_ids(&r),
        vec!["7a2c9e10-4b1d-4f6e-8c3a-000000000103".to_string()]
    );
    assert_eq!(w.queue.delayed.lock().unwrap().len(), 1);
    // ...and both ERP changes are applied and notified; nothing is parked.
    assert_eq!(w.sku("2002495").await.stock["cd-cajamar"].on_hand, 3);
    assert_eq!(
        w.sku("34562").await.price_for(None, None).unwrap().price,
        Cents(8990)
    );
    assert_eq!(w.notified("inventory", "2002495"), 1);
    assert_eq!(w.notified("price", "34562"), 1);
    assert_eq!(w.notified("inventory", "2002129"), 0);
    assert!(w.queue.dead.lock().unwrap().is_empty());
}

#[tokio::test]
async fn new_sku_unknown_to_the_marketplace_gets_exactly_one_well_formed_suggestion() {
    let w = world().await;
    let r = handle(&w.deps, event("sku-upsert")).await;
    assert!(r.batch_item_failures.is_empty(), "{r:?}");
    let stored = w.sku("2003001").await;
    assert_eq!(stored.total_sellable(), 52);

    let calls = w.vtex_calls();
    let paths: Vec<(&str, &str, u16)> = calls
        .iter()
        .map(|c| (c.method.as_str(), c.path.as_str(), c.status))
        .collect();
    assert_eq!(
        paths,
        vec![
            (
                "POST",
                "/api/catalog_system/pvt/skuseller/changenotification/seller1/2003001",
                404
            ),
            ("PUT", "/luxstore/suggestions/seller1/2003001", 200),
        ]
    );
    let body = &calls[1].body;
    assert_eq!(
        body,
        &json!({
            "ProductId": "P2003001",
            "ProductName": "Luminária de Mesa LED Articulada",
            "NameComplete": "Luminária de Mesa LED Articulada Preta",
            "ProductDescription": "Luminária de mesa com haste articulada, LED 8 W e três temperaturas de cor.",
            "BrandName": "Lumina",
            "SkuName": "Luminária de Mesa LED Articulada Preta",
            "SellerId": "seller1",
            "Height": 45, "Width": 18, "Length": 18,
            "Weight": 1300,
            "Updated": null,
            "RefId": "LUM-LED-ART-PT",
            "EAN": "7891234560012",
            "SellerStockKeepingUnitId": 2003001,
            "CategoryFullPath": "Casa/Iluminação",
            "Images": [
                {"imageName": "principal", "imageUrl": "https://images.lojaexemplo.com.br/produtos/P2003001/1.jpg"},
                {"imageName": "lateral", "imageUrl": "https://images.lojaexemplo.com.br/produtos/P2003001/2.jpg"}
            ],
            "ProductSpecifications": [{"fieldName": "Material", "fieldValues": ["Alumínio", "ABS"]}],
            "SkuSpecifications": [
                {"fieldName": "Cor", "fieldValues": ["Preto"]},
                {"fieldName": "Voltagem", "fieldValues": ["Bivolt"]}
            ],
            "MeasurementUnit": "un",
            "UnitMultiplier": 1,
            "AvailableQuantity": 52,
            "Pricing": {"Currency": "BRL", "SalePrice": 15990, "CurrencySymbol": "R$"}
        })
    );
    assert_eq!(
        w.standin.state().catalog.lock().unwrap().suggestions.len(),
        1
    );

    // The same data again changes nothing: no second suggestion.
    let r = handle(&w.deps, event("sku-upsert")).await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(w.vtex_calls().len(), 2);
}

#[tokio::test]
async fn a_sku_the_marketplace_knows_gets_the_change_notification_only() {
    let w = world().await;
    w.standin.state().catalog.lock().unwrap().know(["2003001"]);
    handle(&w.deps, event("sku-upsert")).await;
    let calls = w.vtex_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, 204);
    assert_eq!(w.notified("catalog", "2003001"), 1);
    assert!(
        w.standin
            .state()
            .catalog
            .lock()
            .unwrap()
            .suggestions
            .is_empty()
    );
}

#[tokio::test]
async fn an_upsert_notifies_each_kind_that_changed() {
    let w = world().await;
    let mut sku = serde_json::to_value(w.sku("34562").await).unwrap();
    sku["prices"][0]["price"] = json!(790);
    sku["stock"]["cd-cajamar"]["onHand"] = json!(9);
    sku["product"]["description"] = json!("Cabo HDMI 2.1 com suporte a 8K.");
    let r = w
        .send(&[json!({"type": "sku.upsert", "version": 1, "sku": sku})])
        .await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(
        (
            w.notified("catalog", "34562"),
            w.notified("price", "34562"),
            w.notified("inventory", "34562")
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn bad_messages_are_parked_with_a_reason_and_nothing_is_written() {
    let w = world().await;
    let before = w.sku("2002495").await;
    let mut upsert: Value =
        serde_json::from_str(event("sku-upsert").records[0].body.as_deref().unwrap()).unwrap();
    upsert["sku"]["product"]["images"][1]["url"] = json!("http://images.lojaexemplo.com.br/2.jpg");
    let mut no_brand = upsert.clone();
    no_brand["sku"]["product"]["images"][1]["url"] =
        json!("https://images.lojaexemplo.com.br/2.jpg");
    no_brand["sku"]["product"]["brand"] = json!(" ");
    let cases = [
        (
            json!({"type": "price.changed", "version": 1, "skuId": "2002495",
                   "prices": [{"price": 89.90, "listPrice": 99.90}]}),
            "DECIMAL_AMOUNT",
        ),
        (
            json!({"type": "price.changed", "version": 1, "skuId": "2002495",
                   "prices": [{"price": 9990, "listPrice": 8990}]}),
            "LIST_PRICE_BELOW_PRICE",
        ),
        (stock("2002495", "cd-cajamar", -4), "NEGATIVE_STOCK"),
        (
            json!({"type": "stock.changed", "version": 1, "location": "cd-cajamar", "onHand": 4}),
            "MISSING_ID",
        ),
        (upsert, "IMAGE_URL_NOT_HTTPS"),
        (no_brand, "MISSING_FIELD"),
        (stock("9999999", "cd-cajamar", 4), "UNKNOWN_SKU"),
        (
            json!({"type": "stock.changed", "version": 3}),
            "UNSUPPORTED_VERSION",
        ),
        (json!("not an object"), "MISSING_TYPE"),
    ];
    let bodies: Vec<Value> = cases.iter().map(|(b, _)| b.clone()).collect();
    let r = w.send(&bodies).await;
    assert!(
        r.batch_item_failures.is_empty(),
        "parked messages are deleted"
    );
    let dead = w.queue.dead.lock().unwrap().clone();
    let codes: Vec<&str> = dead.iter().map(|p| p.code.as_str()).collect();
    let expected: Vec<&str> = cases.iter().map(|(_, c)| *c).collect();
    assert_eq!(codes, expected, "{dead:#?}");
    assert_eq!(dead[0].body, bodies[0].to_string(), "parked unchanged");
    assert!(
        dead[0].reason.contains("prices[0].price"),
        "{}",
        dead[0].reason
    );
    assert!(
        dead[4].reason.contains("images[1].url"),
        "{}",
        dead[4].reason
    );
    assert_eq!(w.sku("2002495").await, before);
    assert!(
        w.store.get_sku("2003001").await.unwrap().is_none(),
        "no half-written SKU"
    );
    assert!(w.vtex_calls().is_empty());
}

#[tokio::test]
async fn a_burst_of_a_thousand_stock_changes_in_a_minute_sends_a_handful_of_notifications() {
    let w = world().await;
    // One change every 60 ms for a minute, in batches of 10 (the FIFO event-source mapping's
    // largest batch); follow-ups are delivered whenever a batch runs.
    for batch in 0..100 {
        let bodies: Vec<Value> = (0..10)
            .map(|i| stock("2002495", "cd-cajamar", 2000 - (batch * 10 + i)))
            .collect();
        let r = w.send(&bodies).await;
        assert!(r.batch_item_failures.is_empty());
        w.deliver_followups().await;
        w.clock.advance(chrono::Duration::milliseconds(600));
    }
    assert_eq!(w.sku("2002495").await.stock["cd-cajamar"].on_hand, 1001);
    // After the burst, the last follow-up comes due.
    w.advance(60);
    let r = w.deliver_followups().await;
    assert!(r.batch_item_failures.is_empty());
    assert!(w.followups.scheduled().is_empty(), "no follow-up left");
    let sent = w.notified("inventory", "2002495");
    assert!(
        (2..=3).contains(&sent),
        "{sent} notifications for 1000 changes"
    );
    // One counted change per batch: the batch itself coalesces.
    let state = w.deps.sync.get_sync_state("2002495").await.unwrap();
    assert_eq!(state.state.inventory.changes, 100);
    assert!(
        !state.state.inventory.pending(),
        "the last change is covered"
    );
}

#[tokio::test]
async fn throttling_defers_notifications_without_holding_up_the_store() {
    let w = world().await;
    w.standin.state().set_faults(FaultPlan {
        next: vec![429],
        retry_after: Some(7),
        ..FaultPlan::default()
    });
    let r = w
        .send(&[
            stock("2002495", "cd-cajamar", 11),
            stock("34562", "cd-cajamar", 12),
        ])
        .await;
    assert!(r.batch_item_failures.is_empty(), "the writes are done");
    assert_eq!(w.sku("2002495").await.stock["cd-cajamar"].on_hand, 11);
    assert_eq!(w.sku("34562").await.stock["cd-cajamar"].on_hand, 12);
    // One call was throttled; the second SKU did not even try inside Retry-After.
    let calls = w.vtex_calls();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].faulted);
    let due: Vec<(String, i64)> = w
        .followups
        .scheduled()
        .iter()
        .map(|f| (f.sku_id.clone(), (f.due - w.clock.now()).num_seconds()))
        .collect();
    assert_eq!(due, vec![("2002495".into(), 7), ("34562".into(), 7)]);

    // Delivered at once (FIFO has no delay): they wait for their due time through visibility.
    let r = w.deliver_followups().await;
    assert_eq!(failed_ids(&r).len(), 2);
    let delays: Vec<u64> = w
        .queue
        .delayed
        .lock()
        .unwrap()
        .iter()
        .map(|(_, d)| d.as_secs())
        .collect();
    assert_eq!(delays, vec![7, 7]);

    // Due, but throttled again: back after Retry-After.
    w.advance(7);
    w.standin.state().set_faults(FaultPlan {
        next: vec![429],
        retry_after: Some(3),
        ..FaultPlan::default()
    });
    let r = w.deliver_followups().await;
    assert_eq!(failed_ids(&r).len(), 2);
    let delays: Vec<u64> = w.queue.delayed.lock().unwrap()[2..]
        .iter()
        .map(|(_, d)| d.as_secs())
        .collect();
    assert_eq!(delays, vec![3, 3]);

    w.advance(3);
    let r = w.deliver_followups().await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(w.notified("inventory", "2002495"), 1);
    assert_eq!(w.notified("inventory", "34562"), 1);
    assert!(w.queue.dead.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_notification_refused_for_good_is_parked_and_redrivable_without_old_data() {
    let w = world().await;
    w.standin.state().set_faults(FaultPlan {
        next: vec![403],
        ..FaultPlan::default()
    });
    let r = w.send(&[stock("2002495", "cd-cajamar", 11)]).await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(w.sku("2002495").await.stock["cd-cajamar"].on_hand, 11);
    let dead = w.queue.dead.lock().unwrap().clone();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].code, "VTEX_403");
    let parked: Value = serde_json::from_str(&dead[0].body).unwrap();
    assert_eq!(parked["type"], "notify.due");
    assert_eq!(parked["kind"], "inventory");

    // A newer value arrives meanwhile; re-driving the parked message replays no stock.
    w.standin.state().set_faults(FaultPlan::default());
    w.advance(120);
    w.send(&[stock("2002495", "cd-cajamar", 9)]).await;
    assert_eq!(w.notified("inventory", "2002495"), 1);
    let r = w.send(&[parked]).await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(w.sku("2002495").await.stock["cd-cajamar"].on_hand, 9);
    assert_eq!(
        w.notified("inventory", "2002495"),
        1,
        "nothing was pending any more"
    );
}

#[tokio::test]
async fn unchanged_values_write_and_notify_nothing() {
    let w = world().await;
    let r = w.send(&[stock("2002495", "cd-cajamar", 25)]).await;
    assert!(r.batch_item_failures.is_empty());
    let prices = serde_json::to_value(&w.sku("2002495").await.prices).unwrap();
    w.send(&[json!({"type": "price.changed", "version": 1, "skuId": "2002495", "prices": prices})])
        .await;
    assert!(w.vtex_calls().is_empty());
}

#[tokio::test]
async fn changes_to_one_sku_in_one_batch_are_coalesced_into_one_call() {
    let w = world().await;
    let r = w
        .send(&[
            stock("2002495", "cd-cajamar", 20),
            stock("2002495", "retira-paulista", 2),
            stock("2002495", "cd-cajamar", 19),
        ])
        .await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(w.vtex_calls().len(), 1);
    assert!(w.followups.scheduled().is_empty());
    let sku = w.sku("2002495").await;
    assert_eq!(
        (
            sku.stock["cd-cajamar"].on_hand,
            sku.stock["retira-paulista"].on_hand
        ),
        (19, 2)
    );
}

#[tokio::test]
async fn follow_up_with_nothing_pending_ends_without_a_call() {
    let w = world().await;
    let f = NotifyDue {
        sku_id: "2002495".into(),
        kind: NotifyKind::Price,
        due: w.clock.now(),
    };
    let r = w.send(&[serde_json::from_str(&f.to_json()).unwrap()]).await;
    assert!(r.batch_item_failures.is_empty());
    assert!(w.vtex_calls().is_empty());
}

#[tokio::test]
async fn the_local_queue_runs_the_same_flow() {
    let file = sample();
    let w = world_with(&file).await;
    let store = embedded_store::EmbeddedStore::open_in_memory()
        .unwrap()
        .with_clock(w.clock.clone());
    domain::store_support::load_catalog(&store, &file)
        .await
        .unwrap();
    let queue = store.queue(local::CATALOG_QUEUE).with_max_receives(10);
    let addr = w.addr.clone();
    let config = catalog_sync::Config::from_vars(&lambda_kit::config::Vars::from_pairs([
        ("VTEX_SELLER_ID", SELLER.to_string()),
        ("VTEX_ACCOUNT", AN.to_string()),
        ("VTEX_BASE_URL", format!("http://{addr}")),
        ("VTEX_SUGGESTIONS_BASE_URL", format!("http://{addr}/{{an}}")),
    ]))
    .unwrap();
    let deps = local::catalog_sync_deps(
        &store,
        &queue,
        &config,
        w.standin.credentials(),
        w.clock.clone(),
    )
    .unwrap();
    // One change at a time: a receive hands over every queued message of the group (up to 10,
    // as SQS FIFO does), so changes queued together are applied and notified in one batch.
    let send = |on_hand: i64| {
        let body = stock("2002495", "cd-cajamar", on_hand).to_string();
        let queue = queue.clone();
        async move { queue.send(&body, Some("2002495"), None).await.unwrap() }
    };
    let visibility = Duration::from_secs(30);
    let poll = || {
        local::event_source::poll_once(&queue, 10, visibility, |e| catalog_sync::handle(&deps, e))
    };
    // The first change is sent at once...
    send(7).await;
    let r = poll().await.unwrap();
    assert_eq!((r.received, r.deleted), (1, 1));
    assert_eq!(w.notified("inventory", "2002495"), 1);
    // ...the second schedules a follow-up in a group of its own...
    send(6).await;
    let r = poll().await.unwrap();
    assert_eq!((r.received, r.deleted), (1, 1));
    // ...which arrives beside the third change, and waits for the end of the window.
    send(5).await;
    let r = poll().await.unwrap();
    assert_eq!((r.received, r.deleted, r.retried), (2, 1, 1));
    assert_eq!(
        store.get_sku("2002495").await.unwrap().unwrap().stock["cd-cajamar"].on_hand,
        5
    );
    assert_eq!(poll().await.unwrap().received, 0);
    assert_eq!(w.notified("inventory", "2002495"), 1);
    w.advance(60);
    let r = poll().await.unwrap();
    assert_eq!((r.received, r.deleted), (1, 1));
    assert_eq!(w.notified("inventory", "2002495"), 2);
    assert!(queue.is_empty().await.unwrap());
    assert!(queue.dlq().is_empty().await.unwrap());
}
