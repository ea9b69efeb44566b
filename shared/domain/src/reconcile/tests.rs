//! The reconciler on in-memory stores, a fake OMS and a hand-moved clock (GIVEN what we hold and
//! what VTEX holds, WHEN a run reads them, THEN the drifts, the log, the heals and the cursor).

use super::*;

use crate::clock::ManualClock;
use crate::invoice_store::{CreateOutcome, MemoryInvoices};
use crate::invoicing::{Invoice, InvoiceItem, TrackingInfo, TrackingRecord};
use crate::memory::MemoryStore;
use crate::ports::{CatalogReader, CatalogWriter, PlaceOutcome, StockEffect};
use chrono::TimeZone;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// OMS holding `orders` by marketplace order id; `script` answers the next reads first.
#[derive(Default)]
struct FakeOms {
    orders: Mutex<HashMap<String, OmsOrderView>>,
    script: Mutex<VecDeque<OmsRead>>,
    reads: Mutex<Vec<(String, DateTime<Utc>)>>,
    clock: Option<Arc<ManualClock>>,
}

impl FakeOms {
    fn reads(&self) -> Vec<String> {
        self.reads
            .lock()
            .unwrap()
            .iter()
            .map(|(id, _)| id.clone())
            .collect()
    }
}

#[async_trait]
impl OmsOrders for FakeOms {
    async fn get_order(&self, an: &str, id: &str) -> Result<OmsRead, CallError> {
        assert_eq!(an, "luxstore");
        let at = self.clock.as_ref().map(|c| c.now()).unwrap_or_default();
        self.reads.lock().unwrap().push((id.to_string(), at));
        if let Some(r) = self.script.lock().unwrap().pop_front() {
            return Ok(r);
        }
        Ok(match self.orders.lock().unwrap().get(id) {
            Some(v) => OmsRead::Found(v.clone()),
            None => OmsRead::NotFound,
        })
    }
}

struct World {
    store: MemoryStore,
    invoices: Arc<MemoryInvoices>,
    oms: Arc<FakeOms>,
    clock: Arc<ManualClock>,
    progress: MemoryProgress,
    reconciler: Reconciler,
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
}

fn world() -> World {
    let store = MemoryStore::new();
    let invoices = Arc::new(MemoryInvoices::new());
    let clock = Arc::new(ManualClock::new(t0()));
    let oms = Arc::new(FakeOms {
        clock: Some(clock.clone()),
        ..FakeOms::default()
    });
    let progress = MemoryProgress::default();
    let reconciler = Reconciler {
        listing: Arc::new(store.clone()),
        orders: Arc::new(store.clone()),
        invoices: invoices.clone(),
        oms: oms.clone(),
        progress: Arc::new(progress.clone()),
        clock: clock.clone(),
        pause: Arc::new(ClockPause(clock.clone())),
        settings: ReconcileSettings {
            min_age: chrono::Duration::hours(1),
            lookback: None,
            pace: Duration::from_secs(1),
            max_pace: Duration::from_secs(8),
        },
    };
    World {
        store,
        invoices,
        oms,
        clock,
        progress,
        reconciler,
    }
}

/// Marketplace order `mkp` on `luxstore`: SKU 2002495 at 9990 + 1090 freight = 11080, authorized,
/// created `hours_ago` before t0.
fn order(id: &str, mkp: &str, hours_ago: i64) -> Order {
    let at = t0() - chrono::Duration::hours(hours_ago);
    // From JSON: the fields a test does not care about keep their defaults.
    serde_json::from_value(serde_json::json!({
        "orderId": id,
        "an": "luxstore",
        "sc": "1",
        "marketplaceOrderId": mkp,
        "marketplacePaymentValue": 11080,
        "status": "RESERVED",
        "lines": [{"index": 0, "skuId": "2002495", "quantity": 1, "unitPrice": 9990,
                   "freight": 1090, "locationId": "wh1"}],
        "createdAt": at,
        "expiresAt": at + chrono::Duration::days(8),
    }))
    .unwrap()
}

fn invoice(number: &str, value: i64) -> Invoice {
    Invoice {
        kind: InvoiceType::Output,
        invoice_number: number.into(),
        invoice_value: Cents(value),
        issuance_date: "2026-11-30T10:15:00-03:00".into(),
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
    }
}

fn package(number: &str, value: i64, tracking: Option<&str>) -> OmsPackage {
    OmsPackage {
        invoice_number: number.into(),
        invoice_value: Cents(value),
        kind: Some(InvoiceType::Output),
        tracking_number: tracking.map(str::to_string),
    }
}

fn view(status: &str, value: i64, packages: Vec<OmsPackage>) -> OmsOrderView {
    OmsOrderView {
        status: status.into(),
        value: Some(Cents(value)),
        packages,
    }
}

impl World {
    /// Places and authorizes `o` (stock held at wh1).
    async fn authorized(&self, o: Order) -> Order {
        if self.store.get_sku("2002495").await.unwrap().is_none() {
            let sku = serde_json::from_value(serde_json::json!({
                "id": "2002495", "name": "Capa slimfit", "prices": [],
                "stock": { "wh1": { "onHand": 10, "reserved": 0 } }
            }))
            .unwrap();
            self.store.upsert_sku(&sku).await.unwrap();
        }
        let PlaceOutcome::Created(mut placed) = self.store.create_reserved(&o).await.unwrap()
        else {
            panic!("placement failed")
        };
        placed.status = OrderStatus::Authorized;
        match self.store.save(&placed, StockEffect::None).await.unwrap() {
            SaveOutcome::Saved(s) => s,
            SaveOutcome::Conflict => panic!("conflict"),
        }
    }

    async fn record(&self, order_id: &str, inv: Invoice, sent: bool) {
        let mut r = InvoiceRecord::pending(order_id, &inv, t0());
        if sent {
            r.mark_sent("r-1", t0());
        }
        let CreateOutcome::Created(_) = self
            .invoices
            .create_once(&r, Cents(i64::MAX))
            .await
            .unwrap()
        else {
            panic!("exists")
        };
    }

    fn vtex(&self, mkp: &str, v: OmsOrderView) {
        self.oms.orders.lock().unwrap().insert(mkp.into(), v);
    }

    async fn run(&self, budget_secs: i64) -> ReconcileReport {
        let deadline = self.clock.now() + chrono::Duration::seconds(budget_secs);
        self.reconciler.run(deadline).await.unwrap()
    }

    async fn log(&self, id: &str, step: &str) -> Vec<LogEntry> {
        self.store
            .read_log(id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.step == step)
            .collect()
    }

    async fn reserved(&self) -> (i64, i64) {
        let sku = self.store.get_sku("2002495").await.unwrap().unwrap();
        let s = &sku.stock["wh1"];
        (s.on_hand, s.reserved)
    }
}

fn codes(d: &[Drift]) -> Vec<&'static str> {
    d.iter().map(Drift::code).collect()
}

#[test]
fn each_kind_of_difference_is_a_drift_and_agreement_is_none() {
    let mut o = order("SLR-1", "m-1", 2);
    o.status = OrderStatus::Invoiced;
    let rec = |n: &str, v: i64, state: SendState| {
        let mut r = InvoiceRecord::pending("SLR-1", &invoice(n, v), t0());
        r.state = state;
        r
    };
    let sent = rec("NF-1", 11080, SendState::Sent);
    // Agreement: nothing.
    assert_eq!(
        compare(
            &o,
            std::slice::from_ref(&sent),
            &view("invoiced", 11080, vec![package("NF-1", 11080, None)])
        ),
        vec![]
    );
    // Value.
    assert_eq!(
        codes(&compare(
            &o,
            std::slice::from_ref(&sent),
            &view("invoiced", 12000, vec![package("NF-1", 11080, None)])
        )),
        ["VALUE"]
    );
    // Sent here, absent there: the invoice, the sum and the status.
    assert_eq!(
        codes(&compare(
            &o,
            std::slice::from_ref(&sent),
            &view("handling", 11080, vec![])
        )),
        ["STATUS", "INVOICE_MISSING_AT_VTEX", "INVOICE_SUM"]
    );
    // Same number, another value.
    assert_eq!(
        codes(&compare(
            &o,
            std::slice::from_ref(&sent),
            &view("invoiced", 11080, vec![package("NF-1", 10000, None)])
        )),
        ["INVOICE_DIFFERS", "INVOICE_SUM"]
    );
    // Tracking differs.
    let mut tracked = sent.clone();
    tracked.tracking = Some(TrackingRecord {
        info: TrackingInfo {
            tracking_number: "SR1".into(),
            tracking_url: None,
            courier: None,
            dispatched_date: None,
        },
        state: SendState::Sent,
    });
    let d = compare(
        &o,
        &[tracked.clone()],
        &view("invoiced", 11080, vec![package("NF-1", 11080, Some("SR2"))]),
    );
    assert_eq!(
        d,
        vec![Drift::Tracking {
            number: "NF-1".into(),
            vtex: Some("SR2".into()),
            ours: Some("SR1".into())
        }]
    );
    // Tracking pending here, held there: healable.
    tracked.tracking.as_mut().unwrap().state = SendState::Pending;
    let d = compare(
        &o,
        &[tracked],
        &view("invoiced", 11080, vec![package("NF-1", 11080, Some("SR1"))]),
    );
    assert_eq!(codes(&d), ["TRACKING_PENDING_HERE"]);
    assert!(d[0].heal().is_some());
    // Pending here, held there: healable, and neither the status nor the sum differ once healed.
    let mut authorized = o.clone();
    authorized.status = OrderStatus::Authorized;
    let d = compare(
        &authorized,
        &[rec("NF-1", 11080, SendState::Pending)],
        &view("invoiced", 11080, vec![package("NF-1", 11080, None)]),
    );
    assert_eq!(codes(&d), ["INVOICE_PENDING_HERE"]);
    assert_eq!(
        d[0].heal(),
        Some(Heal::MarkInvoiceSent {
            number: "NF-1".into()
        })
    );
    // Unknown here; canceled there.
    let d = compare(
        &authorized,
        &[],
        &view("canceled", 11080, vec![package("NF-9", 500, None)]),
    );
    assert_eq!(
        codes(&d),
        ["CANCELED_AT_VTEX", "INVOICE_UNKNOWN_HERE", "INVOICE_SUM"]
    );
    assert!(d.iter().all(|x| x.heal().is_none()), "{d:?}");
    // An authorized order in handling at VTEX agrees; an unknown OMS status says nothing.
    assert_eq!(
        compare(&authorized, &[], &view("handling", 11080, vec![])),
        vec![]
    );
    assert_eq!(
        compare(&authorized, &[], &view("some-new-status", 11080, vec![])),
        vec![]
    );
}

#[tokio::test]
async fn an_invoice_vtex_holds_that_we_recorded_pending_is_marked_sent_once_and_the_order_follows()
{
    let w = world();
    let o = w.authorized(order("SLR-1", "m-1", 2)).await;
    w.record(&o.order_id, invoice("NF-1", 11080), false).await;
    w.vtex(
        "m-1",
        view("invoiced", 11080, vec![package("NF-1", 11080, None)]),
    );

    let r = w.run(60).await;
    assert_eq!((r.checked, r.drifted, r.healed, r.unhealed), (1, 1, 1, 0));
    assert_eq!(r.drifts.get("INVOICE_PENDING_HERE"), Some(&1));
    let rec = w.invoices.get("SLR-1", "NF-1").await.unwrap().unwrap();
    assert_eq!(rec.state, SendState::Sent);
    let stored = w.store.get("SLR-1").await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Invoiced);
    assert_eq!(w.reserved().await, (9, 0), "the unit shipped");
    let drift = w.log("SLR-1", steps::DRIFT).await;
    assert_eq!(drift.len(), 2, "{drift:?}");
    assert_eq!(drift[0].outcome, Outcome::Alert);
    assert!(drift[0].detail.contains("NF-1"), "{}", drift[0].detail);
    assert_eq!(drift[1].outcome, Outcome::Success, "settled after the heal");
    assert_eq!(w.log("SLR-1", steps::HEAL).await.len(), 1);

    // A second run: VTEX and we agree; nothing healed, nothing logged.
    let before = w.store.read_log("SLR-1").await.unwrap().len();
    w.clock.advance(chrono::Duration::hours(1));
    let r = w.run(60).await;
    assert_eq!((r.checked, r.drifted, r.healed), (1, 0, 0));
    assert_eq!(w.store.read_log("SLR-1").await.unwrap().len(), before);
    assert_eq!(w.reserved().await, (9, 0), "shipped once");
}

#[tokio::test]
async fn tracking_vtex_holds_that_we_recorded_pending_is_marked_sent_and_the_order_ships() {
    let w = world();
    let o = w.authorized(order("SLR-1", "m-1", 2)).await;
    w.record(&o.order_id, invoice("NF-1", 11080), true).await;
    let mut rec = w.invoices.get("SLR-1", "NF-1").await.unwrap().unwrap();
    rec.tracking = Some(TrackingRecord {
        info: TrackingInfo {
            tracking_number: "SR1".into(),
            tracking_url: None,
            courier: None,
            dispatched_date: None,
        },
        state: SendState::Pending,
    });
    assert!(matches!(
        w.invoices.save(&rec, Tally::Keep).await.unwrap(),
        RecordSave::Saved(_)
    ));
    // Invoiced here (the invoice was acknowledged before), the PATCH's answer lost.
    let mut stored = w.store.get("SLR-1").await.unwrap().unwrap();
    stored.status = OrderStatus::Invoiced;
    let SaveOutcome::Saved(_) = w.store.save(&stored, StockEffect::Ship).await.unwrap() else {
        panic!()
    };
    w.vtex(
        "m-1",
        view("invoiced", 11080, vec![package("NF-1", 11080, Some("SR1"))]),
    );
    let r = w.run(60).await;
    assert_eq!((r.drifted, r.healed, r.unhealed), (1, 1, 0), "{r:?}");
    assert_eq!(r.drifts.get("TRACKING_PENDING_HERE"), Some(&1));
    let rec = w.invoices.get("SLR-1", "NF-1").await.unwrap().unwrap();
    assert_eq!(rec.tracking.unwrap().state, SendState::Sent);
    assert_eq!(
        w.store.get("SLR-1").await.unwrap().unwrap().status,
        OrderStatus::Shipped
    );
    let r = w.run(60).await;
    assert_eq!((r.drifted, r.healed), (0, 0));
}

#[tokio::test]
async fn a_cancel_at_vtex_is_reported_once_and_the_stock_stays_held() {
    let w = world();
    let o = w.authorized(order("SLR-1", "m-1", 2)).await;
    w.vtex("m-1", view("canceled", 11080, vec![]));
    let r = w.run(60).await;
    assert_eq!((r.drifted, r.healed, r.unhealed), (1, 0, 1));
    assert_eq!(
        w.store.get(&o.order_id).await.unwrap().unwrap().status,
        OrderStatus::Authorized
    );
    assert_eq!(w.reserved().await, (10, 1));
    let alerts = w.log("SLR-1", steps::DRIFT).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].outcome, Outcome::Alert);
    assert!(
        alerts[0].detail.contains("VTEX canceled, ours AUTHORIZED"),
        "{}",
        alerts[0].detail
    );

    // Still differing: counted again, not logged again.
    let r = w.run(60).await;
    assert_eq!(r.unhealed, 1);
    assert_eq!(w.log("SLR-1", steps::DRIFT).await.len(), 1);

    // VTEX agrees again (say it was a request we declined): the step settles.
    w.vtex("m-1", view("handling", 11080, vec![]));
    let r = w.run(60).await;
    assert_eq!(r.drifted, 0);
    let log = w.log("SLR-1", steps::DRIFT).await;
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].outcome, Outcome::Success);
}

#[tokio::test]
async fn young_and_closed_orders_are_not_read() {
    let w = world();
    w.authorized(order("SLR-1", "m-1", 0)).await; // created at t0: younger than an hour
    let mut closed = order("SLR-2", "m-2", 5);
    closed.status = OrderStatus::Reserved;
    w.store.create_reserved(&closed).await.unwrap();
    let r = w.run(60).await;
    assert_eq!(r.checked, 0);
    assert!(w.oms.reads().is_empty());
    assert_eq!(r.stop, Stop::Finished);
}

#[tokio::test]
async fn a_run_stops_at_its_deadline_and_the_next_resumes_after_the_last_order_read() {
    let w = world();
    for i in 0..5 {
        // SLR-0 is the newest.
        w.authorized(order(&format!("SLR-{i}"), &format!("m-{i}"), 2 + i))
            .await;
        w.vtex(&format!("m-{i}"), view("handling", 11080, vec![]));
    }
    // Reads at +0, +1, +2 s; the fourth would start at +3 s, past the 2.5 s budget.
    let deadline = w.clock.now() + chrono::Duration::milliseconds(2500);
    let r = w.reconciler.run(deadline).await.unwrap();
    assert_eq!((r.checked, r.stop), (3, Stop::OutOfTime));
    assert_eq!(w.oms.reads(), ["m-0", "m-1", "m-2"]);
    let saved = w.progress.load_cursor().await.unwrap().unwrap();
    assert_eq!(saved.order_id, "SLR-2");

    let r = w.run(60).await;
    assert_eq!((r.checked, r.stop), (2, Stop::Finished));
    assert_eq!(w.oms.reads(), ["m-0", "m-1", "m-2", "m-3", "m-4"]);
    assert_eq!(
        w.progress.load_cursor().await.unwrap(),
        None,
        "a full pass clears it"
    );

    // The first run's reads were a pace apart.
    let times: Vec<DateTime<Utc>> = w.oms.reads.lock().unwrap()[..3]
        .iter()
        .map(|(_, t)| *t)
        .collect();
    assert!(
        times
            .windows(2)
            .all(|p| p[1] - p[0] >= chrono::Duration::seconds(1)),
        "{times:?}"
    );
}

#[tokio::test]
async fn a_429_waits_its_retry_after_and_slows_down_and_a_second_one_stops_the_run() {
    let w = world();
    for i in 0..3 {
        w.authorized(order(&format!("SLR-{i}"), &format!("m-{i}"), 2 + i))
            .await;
        w.vtex(&format!("m-{i}"), view("handling", 11080, vec![]));
    }
    w.oms.script.lock().unwrap().extend([
        OmsRead::Throttled {
            retry_after: Some(Duration::from_secs(5)),
        },
        OmsRead::Found(view("handling", 11080, vec![])),
    ]);
    let start = w.clock.now();
    let r = w.run(600).await;
    assert_eq!((r.checked, r.throttled, r.stop), (3, 1, Stop::Finished));
    let times: Vec<DateTime<Utc>> = w
        .oms
        .reads
        .lock()
        .unwrap()
        .iter()
        .map(|(_, t)| *t)
        .collect();
    assert_eq!(
        w.oms.reads(),
        ["m-0", "m-0", "m-1", "m-2"],
        "the throttled read is tried again"
    );
    assert_eq!(
        times[1] - start,
        chrono::Duration::seconds(5),
        "Retry-After waited"
    );
    assert_eq!(
        times[2] - times[1],
        chrono::Duration::seconds(2),
        "the pace doubled"
    );

    // Two in a row: the run stops before the order and resumes with it.
    let w = world();
    for i in 0..2 {
        w.authorized(order(&format!("SLR-{i}"), &format!("m-{i}"), 2 + i))
            .await;
        w.vtex(&format!("m-{i}"), view("handling", 11080, vec![]));
    }
    w.oms.script.lock().unwrap().extend([
        OmsRead::Found(view("handling", 11080, vec![])),
        OmsRead::Throttled { retry_after: None },
        OmsRead::Throttled { retry_after: None },
    ]);
    let r = w.run(600).await;
    assert_eq!((r.checked, r.throttled, r.stop), (1, 2, Stop::Throttled));
    assert_eq!(
        w.progress.load_cursor().await.unwrap().unwrap().order_id,
        "SLR-0"
    );
    let r = w.run(600).await;
    assert_eq!((r.checked, r.stop), (1, Stop::Finished));
    assert_eq!(w.oms.reads().last().map(String::as_str), Some("m-1"));
}

#[tokio::test]
async fn a_429_whose_wait_would_pass_the_deadline_stops_the_run_at_once() {
    let w = world();
    w.authorized(order("SLR-0", "m-0", 2)).await;
    w.oms.script.lock().unwrap().push_back(OmsRead::Throttled {
        retry_after: Some(Duration::from_secs(120)),
    });
    let r = w.run(60).await;
    assert_eq!((r.checked, r.stop), (0, Stop::Throttled));
    assert_eq!(w.clock.now(), t0(), "no wait past the deadline");
}

#[tokio::test]
async fn vtex_failing_three_times_in_a_row_stops_the_run() {
    let w = world();
    for i in 0..5 {
        w.authorized(order(&format!("SLR-{i}"), &format!("m-{i}"), 2 + i))
            .await;
    }
    for _ in 0..3 {
        w.oms
            .script
            .lock()
            .unwrap()
            .push_back(OmsRead::Unavailable {
                reason: "VTEX answered 503".into(),
            });
    }
    let r = w.run(600).await;
    assert_eq!((r.checked, r.errors, r.stop), (0, 3, Stop::VtexUnavailable));
    assert_eq!(w.oms.reads().len(), 3);
}

#[tokio::test]
async fn an_order_vtex_does_not_know_is_reported() {
    let w = world();
    w.authorized(order("SLR-0", "m-0", 2)).await;
    let r = w.run(60).await;
    assert_eq!(r.drifts.get("MISSING_AT_VTEX"), Some(&1));
    let log = w.log("SLR-0", steps::DRIFT).await;
    assert_eq!(log[0].outcome, Outcome::Alert);
    assert!(log[0].detail.contains("VTEX has no such order"));
}

/// An OMS whose every read cannot be built (the account is not registered).
struct Unregistered;

#[async_trait]
impl OmsOrders for Unregistered {
    async fn get_order(&self, _: &str, _: &str) -> Result<OmsRead, CallError> {
        Err(CallError::Config(
            "marketplace account luxstore is not registered".into(),
        ))
    }
}

#[tokio::test]
async fn orders_of_an_account_that_is_not_usable_are_skipped_not_counted_as_errors() {
    let mut w = world();
    for i in 0..4 {
        w.authorized(order(&format!("SLR-{i}"), &format!("m-{i}"), 2 + i))
            .await;
    }
    w.reconciler.oms = Arc::new(Unregistered);
    let r = w.run(60).await;
    assert_eq!(
        (r.checked, r.skipped, r.errors, r.stop),
        (0, 4, 0, Stop::Finished)
    );
    assert!(w.log("SLR-0", steps::DRIFT).await.is_empty());
}

#[tokio::test]
async fn the_alert_names_ids_amounts_and_statuses_never_the_customer() {
    let w = world();
    let mut o = order("SLR-1", "m-1", 2);
    o.customer = serde_json::from_value(serde_json::json!({
        "email": "ana.souza@example.com", "firstName": "Ana", "lastName": "Souza",
        "document": "14310315771", "phone": "+5541998718616"
    }))
    .unwrap();
    o.address = serde_json::from_value(serde_json::json!({
        "receiverName": "Ana Souza", "street": "Rua das Flores", "postalCode": "22051-030"
    }))
    .unwrap();
    w.authorized(o).await;
    w.vtex(
        "m-1",
        view("canceled", 12000, vec![package("NF-9", 500, Some("SR9"))]),
    );
    w.run(60).await;
    let log = w.store.read_log("SLR-1").await.unwrap();
    let text = serde_json::to_string(&log).unwrap();
    assert!(text.contains("NF-9") && text.contains("12000"), "{text}");
    for secret in [
        "ana",
        "Ana",
        "Souza",
        "14310315771",
        "998718616",
        "Flores",
        "22051",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

/// The memory listing, failing for every page after the first.
struct FailsAfterFirstPage(MemoryStore);

#[async_trait]
impl OrderListing for FailsAfterFirstPage {
    async fn list_orders(
        &self,
        filter: &OrderFilter,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<crate::listing::OrderPage, StoreError> {
        match after {
            None => self.0.list_orders(filter, None, limit).await,
            Some(_) => Err(StoreError::Unavailable("index unavailable".into())),
        }
    }
}

#[tokio::test]
async fn a_store_failure_mid_run_keeps_the_progress_made_before_it() {
    let mut w = world();
    let sku = serde_json::from_value(serde_json::json!({
        "id": "2002495", "name": "Capa slimfit", "prices": [],
        "stock": { "wh1": { "onHand": 1000, "reserved": 0 } }
    }))
    .unwrap();
    w.store.upsert_sku(&sku).await.unwrap();
    for i in 0..(MAX_PAGE + 5) {
        let mut o = order(&format!("SLR-{i:03}"), &format!("m-{i}"), 2);
        o.created_at -= chrono::Duration::seconds(i as i64);
        w.authorized(o).await;
        w.vtex(&format!("m-{i}"), view("handling", 11080, vec![]));
    }
    w.reconciler.listing = Arc::new(FailsAfterFirstPage(w.store.clone()));
    let deadline = w.clock.now() + chrono::Duration::hours(1);
    assert!(w.reconciler.run(deadline).await.is_err());
    let saved = w
        .progress
        .load_cursor()
        .await
        .unwrap()
        .expect("the first page's progress");
    assert_eq!(saved.order_id, format!("SLR-{:03}", MAX_PAGE - 1));
}

#[tokio::test]
async fn progress_contract_on_memory() {
    contract::cursor_round_trips_and_clears(&MemoryProgress::default())
        .await
        .unwrap();
}
