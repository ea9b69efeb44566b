//! Handler tests: the sample scheduled event through `handle`, against the in-memory stores, a
//! fake OMS and a hand-moved clock (GIVEN / WHEN / THEN).

use async_trait::async_trait;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::clock::{Clock, ManualClock};
use domain::invoice_store::{InvoiceStore, MemoryInvoices};
use domain::memory::MemoryStore;
use domain::money::Cents;
use domain::order::{Order, OrderStatus, Outcome};
use domain::outbound::CallError;
use domain::ports::{OrderStore, PlaceOutcome, SaveOutcome, StockEffect};
use domain::reconcile::{
    ClockPause, MemoryProgress, OmsOrderView, OmsOrders, OmsRead, Stop, steps,
};
use reconciler::{Config, Deps, handle};
use std::sync::{Arc, Mutex};

const SCHEDULED: &str = include_str!("../../../events/reconciler.scheduled.json");

fn event() -> EventBridgeEvent {
    serde_json::from_str(SCHEDULED).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 13, 0, 0).unwrap()
}

/// OMS answering every read with `answer`, counting the reads.
struct FixedOms {
    answer: OmsRead,
    reads: Mutex<usize>,
}

#[async_trait]
impl OmsOrders for FixedOms {
    async fn get_order(&self, _: &str, _: &str) -> Result<OmsRead, CallError> {
        *self.reads.lock().unwrap() += 1;
        Ok(self.answer.clone())
    }
}

fn order_at(id: &str, mkp: &str, at: DateTime<Utc>, location: &str) -> Order {
    // From JSON: the fields a test does not care about keep their defaults.
    serde_json::from_value(serde_json::json!({
        "orderId": id,
        "an": "luxstore",
        "sc": "1",
        "marketplaceOrderId": mkp,
        "marketplacePaymentValue": 11080,
        "status": "RESERVED",
        "lines": [{"index": 0, "skuId": "2002495", "quantity": 1, "unitPrice": 9990,
                   "freight": 1090, "locationId": location}],
        "createdAt": at,
        "expiresAt": at + chrono::Duration::days(8),
    }))
    .unwrap()
}

async fn authorized(store: &MemoryStore, id: &str, mkp: &str) {
    let at = t0() - Duration::hours(3);
    let order = order_at(id, mkp, at, "cd-cajamar");
    let PlaceOutcome::Created(mut o) = store.create_reserved(&order).await.unwrap() else {
        panic!("not placed")
    };
    o.status = OrderStatus::Authorized;
    assert!(matches!(
        store.save(&o, StockEffect::None).await.unwrap(),
        SaveOutcome::Saved(_)
    ));
}

fn deps(store: &MemoryStore, oms: Arc<FixedOms>, clock: Arc<ManualClock>) -> Deps {
    let invoices: Arc<dyn InvoiceStore> = Arc::new(MemoryInvoices::new());
    Deps {
        listing: Arc::new(store.clone()),
        orders: Arc::new(store.clone()),
        invoices,
        oms,
        progress: Arc::new(MemoryProgress::default()),
        clock: clock.clone(),
        pause: Arc::new(ClockPause(clock)),
        config: Config::default(),
    }
}

fn sample_catalog() -> MemoryStore {
    MemoryStore::with_catalog(
        &serde_json::from_str(include_str!("../../../shared/sample/catalog.json")).unwrap(),
    )
}

#[tokio::test]
async fn a_scheduled_run_reports_an_order_canceled_at_vtex_and_leaves_it_held() {
    let store = sample_catalog();
    authorized(&store, "SLR-1", "959311095").await;
    let clock = Arc::new(ManualClock::new(t0()));
    let oms = Arc::new(FixedOms {
        answer: OmsRead::Found(OmsOrderView {
            status: "canceled".into(),
            value: Some(Cents(11080)),
            packages: vec![],
        }),
        reads: Mutex::new(0),
    });
    let d = deps(&store, oms.clone(), clock.clone());
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = lines.clone();
    lambda_kit::metrics::set_output(move |l| sink.lock().unwrap().push(l.to_string()));
    let report = handle(&d, event(), clock.now() + Duration::minutes(5))
        .await
        .unwrap();
    lambda_kit::metrics::reset_output();
    assert_eq!((report.checked, report.drifted, report.unhealed), (1, 1, 1));
    // Counted: one EMF line of the run, the drift alarm's metric at 1.
    let emf: Vec<serde_json::Value> = lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["Function"] == "reconciler")
        .collect();
    assert!(
        emf.iter().any(|v| v["ReconcileUnhealed"] == 1.0
            && v["ReconcileDrifted"] == 1.0
            && v["ReconcileChecked"] == 1.0
            && v["ReconcileHealed"] == 0.0),
        "{emf:?}"
    );
    assert_eq!(report.stop, Stop::Finished);
    let order = store.get("SLR-1").await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Authorized, "not healed");
    let log = store.read_log("SLR-1").await.unwrap();
    let alert = log.iter().find(|e| e.step == steps::DRIFT).unwrap();
    assert_eq!(alert.outcome, Outcome::Alert);
}

#[tokio::test]
async fn no_read_starts_inside_the_margin_before_the_invocation_ends() {
    let store = sample_catalog();
    authorized(&store, "SLR-1", "959311095").await;
    let clock = Arc::new(ManualClock::new(t0()));
    let oms = Arc::new(FixedOms {
        answer: OmsRead::NotFound,
        reads: Mutex::new(0),
    });
    let d = deps(&store, oms.clone(), clock.clone());
    // 15 s left, the default margin is 20 s.
    let report = handle(&d, event(), clock.now() + Duration::seconds(15))
        .await
        .unwrap();
    assert_eq!(report.stop, Stop::OutOfTime);
    assert_eq!(*oms.reads.lock().unwrap(), 0);
}

#[test]
fn the_sample_event_is_an_eventbridge_schedule() {
    let e = event();
    assert_eq!(e.detail_type, "Scheduled Event");
    assert_eq!(e.source, "aws.events");
}
