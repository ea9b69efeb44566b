//! The catalog synchronizer on in-memory stores and a fake catalog notifier (GIVEN the sample
//! catalog, WHEN the ERP's catalog messages arrive and VTEX answers so, THEN the store changes at
//! once and VTEX hears what it must, once): what the HTTP stand-in tests of the catalog-sync
//! function assert, without HTTP.

use super::*;
use crate::catalog::{CatalogFile, Sku};
use crate::catalog_notify::{MemoryFollowUps, MemorySyncStates};
use crate::clock::ManualClock;
use crate::erp::QueuedMessage;
use crate::memory::MemoryStore;
use crate::money::Cents;
use crate::outbound::CatalogOutcome;
use crate::ports::StoreError;
use async_trait::async_trait;
use chrono::TimeZone;
use serde_json::{Value, json};

/// Answers each call with the next scripted outcome (then 202 Accepted, or 404 for a catalog
/// notification of a SKU in `unknown`), and records the calls.
#[derive(Default)]
struct FakeCatalog {
    answers: Mutex<Vec<CatalogOutcome>>,
    unknown: Vec<String>,
    calls: Mutex<Vec<String>>,
}

impl FakeCatalog {
    fn answering(answers: Vec<CatalogOutcome>) -> Self {
        FakeCatalog {
            answers: Mutex::new(answers),
            ..FakeCatalog::default()
        }
    }

    fn next(&self, call: String, default: CatalogOutcome) -> CatalogOutcome {
        self.calls.lock().unwrap().push(call);
        let mut a = self.answers.lock().unwrap();
        if a.is_empty() { default } else { a.remove(0) }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl CatalogNotifier for FakeCatalog {
    async fn notify(&self, kind: NotifyKind, sku_id: &str) -> Result<CatalogOutcome, CallError> {
        let default = if kind == NotifyKind::Catalog && self.unknown.iter().any(|u| u == sku_id) {
            CatalogOutcome::NotFound {
                body: String::new(),
            }
        } else {
            CatalogOutcome::Accepted { status: 202 }
        };
        Ok(self.next(format!("{} {sku_id}", kind.as_str()), default))
    }

    async fn suggest(&self, sku: &Sku) -> Result<Result<CatalogOutcome, String>, CallError> {
        Ok(Ok(self.next(
            format!("suggest {}", sku.id),
            CatalogOutcome::Accepted { status: 200 },
        )))
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Parked {
    body: String,
    code: String,
}

#[derive(Default)]
struct RecordingQueue {
    dead: Mutex<Vec<Parked>>,
}

#[async_trait]
impl DispatchQueue for RecordingQueue {
    async fn dead_letter(
        &self,
        m: &QueuedMessage<'_>,
        code: &str,
        _reason: &str,
    ) -> Result<(), StoreError> {
        self.dead.lock().unwrap().push(Parked {
            body: m.body.into(),
            code: code.into(),
        });
        Ok(())
    }

    async fn retry_later(&self, _handle: &str, _delay: Duration) -> Result<(), StoreError> {
        Ok(())
    }
}

struct World {
    store: MemoryStore,
    followups: MemoryFollowUps,
    queue: Arc<RecordingQueue>,
    clock: Arc<ManualClock>,
    vtex: Arc<FakeCatalog>,
    sync: CatalogSync,
}

fn sample() -> CatalogFile {
    serde_json::from_str(include_str!("../../../sample/catalog.json")).unwrap()
}

fn world_with(file: &CatalogFile, vtex: FakeCatalog) -> World {
    let store = MemoryStore::with_catalog(file);
    let followups = MemoryFollowUps::new();
    let queue = Arc::new(RecordingQueue::default());
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap(),
    ));
    let vtex = Arc::new(vtex);
    let sync = CatalogSync {
        catalog: Arc::new(store.clone()),
        writer: Arc::new(store.clone()),
        sync: Arc::new(MemorySyncStates::new()),
        queue: queue.clone(),
        followups: Arc::new(followups.clone()),
        notifier: Notifier {
            vtex: vtex.clone(),
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
        vtex,
        sync,
    }
}

impl World {
    async fn send(&self, bodies: &[Value]) -> Vec<Option<Disposition>> {
        let texts: Vec<(String, String, String)> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let group = b["skuId"]
                    .as_str()
                    .or(b["sku"]["id"].as_str())
                    .unwrap_or("none")
                    .to_string();
                (format!("m{i}"), group, b.to_string())
            })
            .collect();
        let received: Vec<Received<'_>> = texts
            .iter()
            .map(|(id, group, body)| Received {
                attempt: Attempt {
                    message_id: id,
                    receive_count: 1,
                },
                group_id: Some(group),
                body: body.as_bytes(),
            })
            .collect();
        self.sync.process_batch(&received).await
    }

    async fn sku(&self, id: &str) -> Sku {
        self.store.get_sku(id).await.unwrap().unwrap()
    }
}

fn stock(sku: &str, location: &str, on_hand: i64) -> Value {
    json!({"type": "stock.changed", "version": 1, "skuId": sku, "location": location, "onHand": on_hand})
}

fn all_done(r: &[Option<Disposition>]) -> bool {
    r.iter().all(|d| *d == Some(Disposition::Done))
}

#[tokio::test]
async fn a_price_change_updates_the_store_then_notifies_the_price_once() {
    let w = world_with(&sample(), FakeCatalog::default());
    let r = w
        .send(&[
            json!({"type": "price.changed", "version": 1, "skuId": "2002495",
            "prices": [{"price": 8990, "listPrice": 9990},
                       {"an": "parceiromkp", "price": 8490, "listPrice": 9990}]}),
        ])
        .await;
    assert!(all_done(&r), "{r:?}");
    let sku = w.sku("2002495").await;
    assert_eq!(sku.price_for(None, None).unwrap().price, Cents(8990));
    assert_eq!(
        sku.price_for(Some("parceiromkp"), None).unwrap().price,
        Cents(8490)
    );
    assert_eq!(sku.stock["cd-cajamar"].on_hand, 25, "stock untouched");
    assert_eq!(w.vtex.calls(), ["price 2002495"]);
}

#[tokio::test]
async fn throttling_defers_notifications_without_holding_up_the_store() {
    let w = world_with(
        &sample(),
        FakeCatalog::answering(vec![CatalogOutcome::Retryable {
            retry_after: Some(Duration::from_secs(7)),
            reason: "429".into(),
        }]),
    );
    let r = w
        .send(&[
            stock("2002495", "cd-cajamar", 11),
            stock("34562", "cd-cajamar", 12),
        ])
        .await;
    assert!(all_done(&r), "the writes are done: {r:?}");
    assert_eq!(w.sku("2002495").await.stock["cd-cajamar"].on_hand, 11);
    assert_eq!(w.sku("34562").await.stock["cd-cajamar"].on_hand, 12);
    // One call was throttled; the second SKU did not even try inside Retry-After.
    assert_eq!(w.vtex.calls(), ["inventory 2002495"]);
    let due: Vec<(String, i64)> = w
        .followups
        .scheduled()
        .iter()
        .map(|f| (f.sku_id.clone(), (f.due - w.clock.now()).num_seconds()))
        .collect();
    assert_eq!(due, vec![("2002495".into(), 7), ("34562".into(), 7)]);
    assert!(w.queue.dead.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_notification_refused_for_good_is_parked_as_a_follow_up() {
    let w = world_with(
        &sample(),
        FakeCatalog::answering(vec![CatalogOutcome::Rejected {
            status: 403,
            body: String::new(),
        }]),
    );
    let r = w.send(&[stock("2002495", "cd-cajamar", 11)]).await;
    assert!(all_done(&r), "{r:?}");
    assert_eq!(w.sku("2002495").await.stock["cd-cajamar"].on_hand, 11);
    let dead = w.queue.dead.lock().unwrap().clone();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].code, "VTEX_403");
    let parked: Value = serde_json::from_str(&dead[0].body).unwrap();
    assert_eq!(parked["type"], "notify.due");
    assert_eq!(parked["kind"], "inventory");
}

#[tokio::test]
async fn a_sku_the_marketplace_does_not_know_gets_one_suggestion() {
    let mut file = sample();
    let mut new = file.skus[0].clone();
    new.id = "new-1".into();
    file.skus.push(new.clone());
    let w = world_with(
        &file,
        FakeCatalog {
            unknown: vec!["new-1".into()],
            ..FakeCatalog::default()
        },
    );
    let mut body = serde_json::to_value(&new).unwrap();
    body["name"] = json!("Capa slimfit nova");
    let r = w
        .send(&[json!({"type": "sku.upsert", "version": 1, "sku": body})])
        .await;
    assert!(all_done(&r), "{r:?}");
    let calls = w.vtex.calls();
    assert_eq!(
        calls.iter().filter(|c| c.starts_with("suggest")).count(),
        1,
        "{calls:?}"
    );
    assert!(calls.contains(&"catalog new-1".to_string()), "{calls:?}");
    assert!(w.queue.dead.lock().unwrap().is_empty());
}

#[tokio::test]
async fn unchanged_values_write_and_notify_nothing() {
    let w = world_with(&sample(), FakeCatalog::default());
    let on_hand = w.sku("2002495").await.stock["cd-cajamar"].on_hand;
    let r = w.send(&[stock("2002495", "cd-cajamar", on_hand)]).await;
    assert!(all_done(&r), "{r:?}");
    assert!(w.vtex.calls().is_empty());
}

fn count_at(on_hand: i64, as_of: &str) -> Value {
    json!({"type": "stock.changed", "version": 1, "skuId": "2002495", "location": "cd-cajamar",
           "onHand": on_hand, "asOf": as_of})
}

#[tokio::test]
async fn an_older_count_in_the_same_batch_is_ignored_and_counted_stale() {
    let w = world_with(&sample(), FakeCatalog::default());
    let bodies = [
        count_at(8, "2026-03-02T11:50:00Z"),
        count_at(20, "2026-03-02T11:40:00Z"),
        stock("2002495", "cd-cajamar", 9),
    ];
    let texts: Vec<String> = bodies.iter().map(Value::to_string).collect();
    let received: Vec<Received<'_>> = texts
        .iter()
        .map(|body| Received {
            attempt: Attempt {
                message_id: "m",
                receive_count: 1,
            },
            group_id: Some("2002495"),
            body: body.as_bytes(),
        })
        .collect();
    let (r, counts) = w.sync.process_batch_counted(&received).await;
    assert!(all_done(&r), "{r:?}");
    assert_eq!(
        counts,
        SnapshotCounts {
            stale: 1,
            unordered: 1
        }
    );
    // The unordered count applies as it always did.
    assert_eq!(w.sku("2002495").await.stock["cd-cajamar"].on_hand, 9);
}

#[tokio::test]
async fn a_count_equal_to_the_stock_still_moves_the_mark_so_an_older_one_is_refused_next() {
    let w = world_with(&sample(), FakeCatalog::default());
    let on_hand = w.sku("2002495").await.stock["cd-cajamar"].on_hand;
    assert!(all_done(
        &w.send(&[count_at(on_hand, "2026-03-02T11:50:00Z")]).await
    ));
    assert!(all_done(
        &w.send(&[count_at(on_hand + 30, "2026-03-02T11:45:00Z")])
            .await
    ));
    assert_eq!(w.sku("2002495").await.stock["cd-cajamar"].on_hand, on_hand);
    assert!(w.vtex.calls().is_empty(), "{:?}", w.vtex.calls());
}

#[tokio::test]
async fn a_count_from_the_future_is_parked_not_applied() {
    let w = world_with(&sample(), FakeCatalog::default());
    let before = w.sku("2002495").await.stock["cd-cajamar"].on_hand;
    // Five minutes of skew are tolerated; the clock reads 12:00.
    assert!(all_done(
        &w.send(&[count_at(before + 1, "2026-03-02T12:04:00Z")])
            .await
    ));
    let r = w
        .send(&[count_at(before + 2, "2026-03-02T12:06:00Z")])
        .await;
    assert!(
        matches!(&r[0], Some(Disposition::DeadLetter { code, .. }) if code == "AS_OF_IN_FUTURE"),
        "{r:?}"
    );
    assert_eq!(
        w.sku("2002495").await.stock["cd-cajamar"].on_hand,
        before + 1
    );
}
