//! Every crash point of a catalog change, on fakes: the k-th port call of the first delivery fails,
//! either before its effect or after it (the write landed, the caller never heard), and the message
//! is delivered again as SQS would, follow-ups included. Whatever k, the store ends with the value,
//! VTEX hears of it, and nothing is left owed. VTEX hears it twice only when the crash came after
//! VTEX accepted the notification and before that was recorded: a notification is a "look again"
//! signal VTEX keeps idempotently, so that second call is allowed, never a missing one.

use super::*;
use crate::catalog::{CatalogFile, LocationId, PriceEntry, Sku};
use crate::catalog_notify::{MemoryFollowUps, MemorySyncStates, SyncState, Versioned};
use crate::clock::ManualClock;
use crate::erp::QueuedMessage;
use crate::memory::MemoryStore;
use crate::outbound::CatalogOutcome;
use crate::shipping::ShippingRules;
use async_trait::async_trait;
use chrono::TimeZone;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts port calls and fails the one at `fail_at`.
struct Faults {
    step: AtomicUsize,
    fail_at: usize,
    after_effect: bool,
}

enum Hit {
    Pass,
    FailBefore,
    FailAfter,
}

impl Faults {
    fn hit(&self) -> Hit {
        let n = self.step.fetch_add(1, Ordering::SeqCst) + 1;
        match (n == self.fail_at, self.after_effect) {
            (false, _) => Hit::Pass,
            (true, false) => Hit::FailBefore,
            (true, true) => Hit::FailAfter,
        }
    }

    fn disarm(&self) {
        self.step.store(usize::MAX / 2, Ordering::SeqCst);
    }
}

fn crash() -> StoreError {
    StoreError::Unavailable("injected crash".into())
}

struct FaultySync {
    inner: MemorySyncStates,
    f: Arc<Faults>,
}

#[async_trait]
impl SyncStateStore for FaultySync {
    async fn get_sync_state(&self, sku_id: &str) -> Result<Versioned, StoreError> {
        match self.f.hit() {
            Hit::Pass => self.inner.get_sync_state(sku_id).await,
            _ => Err(crash()),
        }
    }

    async fn put_sync_state(
        &self,
        sku_id: &str,
        state: &SyncState,
        expected: u64,
    ) -> Result<bool, StoreError> {
        match self.f.hit() {
            Hit::Pass => self.inner.put_sync_state(sku_id, state, expected).await,
            Hit::FailBefore => Err(crash()),
            Hit::FailAfter => {
                self.inner.put_sync_state(sku_id, state, expected).await?;
                Err(crash())
            }
        }
    }
}

struct FaultyWriter {
    inner: MemoryStore,
    f: Arc<Faults>,
}

#[async_trait]
impl CatalogWriter for FaultyWriter {
    async fn upsert_sku(&self, sku: &Sku) -> Result<(), StoreError> {
        match self.f.hit() {
            Hit::Pass => self.inner.upsert_sku(sku).await,
            Hit::FailBefore => Err(crash()),
            Hit::FailAfter => {
                self.inner.upsert_sku(sku).await?;
                Err(crash())
            }
        }
    }

    async fn set_on_hand(
        &self,
        sku_id: &str,
        location: &str,
        on_hand: i64,
    ) -> Result<bool, StoreError> {
        match self.f.hit() {
            Hit::Pass => self.inner.set_on_hand(sku_id, location, on_hand).await,
            Hit::FailBefore => Err(crash()),
            Hit::FailAfter => {
                self.inner.set_on_hand(sku_id, location, on_hand).await?;
                Err(crash())
            }
        }
    }

    async fn put_shipping_rules(&self, rules: &ShippingRules) -> Result<(), StoreError> {
        self.inner.put_shipping_rules(rules).await
    }

    async fn stock_location(
        &self,
        sku_id: &str,
        location: &str,
    ) -> Result<Option<crate::ports::LocationStock>, StoreError> {
        match self.f.hit() {
            Hit::Pass => self.inner.stock_location(sku_id, location).await,
            _ => Err(crash()),
        }
    }

    async fn apply_stock_snapshot(
        &self,
        snapshot: &crate::ports::StockSnapshot,
    ) -> Result<crate::ports::SnapshotOutcome, StoreError> {
        match self.f.hit() {
            Hit::Pass => self.inner.apply_stock_snapshot(snapshot).await,
            Hit::FailBefore => Err(crash()),
            Hit::FailAfter => {
                self.inner.apply_stock_snapshot(snapshot).await?;
                Err(crash())
            }
        }
    }

    async fn set_prices(&self, sku_id: &str, prices: &[PriceEntry]) -> Result<bool, StoreError> {
        match self.f.hit() {
            Hit::Pass => self.inner.set_prices(sku_id, prices).await,
            Hit::FailBefore => Err(crash()),
            Hit::FailAfter => {
                self.inner.set_prices(sku_id, prices).await?;
                Err(crash())
            }
        }
    }
}

/// VTEX that times out at the fault (before or after it took the call) and records what it took.
struct FaultyVtex {
    f: Arc<Faults>,
    took: Mutex<Vec<String>>,
    /// The port call at which VTEX first took a notification.
    took_at: Mutex<Option<usize>>,
}

#[async_trait]
impl CatalogNotifier for FaultyVtex {
    async fn notify(&self, kind: NotifyKind, sku_id: &str) -> Result<CatalogOutcome, CallError> {
        let timeout = CatalogOutcome::Retryable {
            retry_after: None,
            reason: "injected timeout".into(),
        };
        let call = format!("{} {sku_id}", kind.as_str());
        match self.f.hit() {
            Hit::Pass => {
                self.took.lock().unwrap().push(call);
                let step = self.f.step.load(Ordering::SeqCst);
                self.took_at.lock().unwrap().get_or_insert(step);
                Ok(CatalogOutcome::Accepted { status: 202 })
            }
            Hit::FailBefore => Ok(timeout),
            Hit::FailAfter => {
                self.took.lock().unwrap().push(call);
                Ok(timeout)
            }
        }
    }

    async fn suggest(&self, sku: &Sku) -> Result<Result<CatalogOutcome, String>, CallError> {
        panic!("no suggestion expected for {}", sku.id)
    }
}

#[derive(Default)]
struct NoDlq;

#[async_trait]
impl DispatchQueue for NoDlq {
    async fn dead_letter(
        &self,
        m: &QueuedMessage<'_>,
        code: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        panic!("nothing may be parked: {} {code} {reason}", m.body)
    }

    async fn retry_later(&self, _handle: &str, _delay: Duration) -> Result<(), StoreError> {
        Ok(())
    }
}

struct Run {
    store: MemoryStore,
    states: MemorySyncStates,
    followups: MemoryFollowUps,
    vtex: Arc<FaultyVtex>,
    clock: Arc<ManualClock>,
    faults: Arc<Faults>,
    sync: CatalogSync,
}

fn run(fail_at: usize, after_effect: bool) -> Run {
    let file: CatalogFile =
        serde_json::from_str(include_str!("../../../sample/catalog.json")).unwrap();
    let store = MemoryStore::with_catalog(&file);
    let states = MemorySyncStates::new();
    let followups = MemoryFollowUps::new();
    let faults = Arc::new(Faults {
        step: AtomicUsize::new(0),
        fail_at,
        after_effect,
    });
    let vtex = Arc::new(FaultyVtex {
        f: faults.clone(),
        took: Mutex::new(Vec::new()),
        took_at: Mutex::new(None),
    });
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap(),
    ));
    let sync = CatalogSync {
        catalog: Arc::new(store.clone()),
        writer: Arc::new(FaultyWriter {
            inner: store.clone(),
            f: faults.clone(),
        }),
        sync: Arc::new(FaultySync {
            inner: states.clone(),
            f: faults.clone(),
        }),
        queue: Arc::new(NoDlq),
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
    Run {
        store,
        states,
        followups,
        vtex,
        clock,
        faults,
        sync,
    }
}

impl Run {
    async fn deliver(&self, body: &str, receive_count: u32) -> Option<Disposition> {
        let received = [Received {
            attempt: Attempt {
                message_id: "m-1",
                receive_count,
            },
            group_id: Some("sku"),
            body: body.as_bytes(),
        }];
        self.sync.process_batch(&received).await.remove(0)
    }

    /// Delivers `body` until it is done (the fault fires once), then every follow-up it left,
    /// each when due, as the queue would.
    async fn until_settled(&self, body: &str) {
        let mut receives = 0;
        loop {
            receives += 1;
            assert!(receives < 6, "the message never settled");
            if self.deliver(body, receives).await == Some(Disposition::Done) {
                break;
            }
            self.faults.disarm();
            self.clock.advance(chrono::Duration::seconds(120));
        }
        self.faults.disarm();
        for _ in 0..6 {
            let due = self.followups.take();
            if due.is_empty() {
                return;
            }
            for f in due {
                self.clock.advance(chrono::Duration::seconds(600));
                let mut n = 0;
                loop {
                    n += 1;
                    assert!(n < 6, "a follow-up never settled");
                    if self.deliver(&f.to_json(), n).await == Some(Disposition::Done) {
                        break;
                    }
                    self.clock.advance(chrono::Duration::seconds(600));
                }
            }
        }
        panic!("follow-ups kept coming");
    }

    fn took(&self) -> Vec<String> {
        self.vtex.took.lock().unwrap().clone()
    }
}

/// The port calls a change makes with no fault (every k up to it is a crash point), and the one
/// that sends the notification.
async fn steps_of(body: &str) -> (usize, usize) {
    let r = run(usize::MAX, false);
    assert_eq!(r.deliver(body, 1).await, Some(Disposition::Done));
    let send = r
        .vtex
        .took_at
        .lock()
        .unwrap()
        .expect("a notification was sent");
    (r.faults.step.load(Ordering::SeqCst), send)
}

async fn every_crash_point_ends_complete(body: &str, kind: &str, check: impl Fn(&Sku) -> bool) {
    let (steps, send) = steps_of(body).await;
    assert!(steps >= 5, "intent, write, decide, send, mark: {steps}");
    let mut scenarios = 0;
    for fail_at in 1..=steps {
        for after_effect in [false, true] {
            scenarios += 1;
            let r = run(fail_at, after_effect);
            r.until_settled(body).await;
            let what = format!("crash at call {fail_at} (after its effect: {after_effect})");
            let sku = r.store.get_sku("2002495").await.unwrap().unwrap();
            assert!(check(&sku), "{what}: the store does not hold the change");
            let took = r.took();
            let sent = took
                .iter()
                .filter(|c| **c == format!("{kind} 2002495"))
                .count();
            assert!(sent >= 1, "{what}: VTEX never heard of it: {took:?}");
            assert!(sent <= 2, "{what}: VTEX heard of it {sent} times");
            let state = r.states.get_sync_state("2002495").await.unwrap().state;
            assert!(
                !state.inventory.pending() && !state.price.pending(),
                "{what}: a notification is still owed: {state:?}"
            );
            if sent == 2 {
                assert!(
                    fail_at > send || (fail_at == send && after_effect),
                    "{what}: a second notification without VTEX having taken the first"
                );
            }
        }
    }
    assert_eq!(scenarios, 2 * steps);
}

#[tokio::test]
async fn a_stock_change_survives_a_crash_at_every_step() {
    let body = json!({"type": "stock.changed", "version": 1, "skuId": "2002495",
                      "location": "cd-cajamar", "onHand": 11})
    .to_string();
    let location: LocationId = "cd-cajamar".into();
    every_crash_point_ends_complete(&body, "inventory", |s| s.stock[&location].on_hand == 11).await;
}

#[tokio::test]
async fn an_ordered_stock_count_survives_a_crash_at_every_step() {
    // Redelivered after a crash that came after its write, the count meets its own mark: the
    // same as-of is the same count, so it applies again rather than being ignored as stale.
    let body = json!({"type": "stock.changed", "version": 1, "skuId": "2002495",
                      "location": "cd-cajamar", "onHand": 11, "asOf": "2026-03-02T08:55:00-03:00"})
    .to_string();
    let location: LocationId = "cd-cajamar".into();
    every_crash_point_ends_complete(&body, "inventory", |s| s.stock[&location].on_hand == 11).await;
}

#[tokio::test]
async fn a_price_change_survives_a_crash_at_every_step() {
    let body = json!({"type": "price.changed", "version": 1, "skuId": "2002495",
                      "prices": [{"price": 7777, "listPrice": 9990}]})
    .to_string();
    every_crash_point_ends_complete(&body, "price", |s| {
        s.price_for(None, None).is_some_and(|p| p.price.0 == 7777)
    })
    .await;
}
