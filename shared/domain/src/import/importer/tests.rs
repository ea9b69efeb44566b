//! The importer on in-memory stores and a fake own VTEX account (GIVEN an ERP order, WHEN it
//! arrives and VTEX answers so, THEN the import's step, its log and the calls follow): what the
//! HTTP stand-in tests of the order-import function assert, without HTTP.

use super::*;
use crate::clock::SystemClock;
use crate::import::{
    ImportKey, ImportOrder, ImportStatus, ImportStep, MemoryImportQueue, MemoryImports,
};
use crate::invoicing::{Invoice, TrackingInfo, TrackingStatus};
use crate::memory::MemoryStore;
use crate::order::Outcome;
use crate::outbound::{
    CallOutcome, CallResult, Handling, MarketplaceOms, Receipt, VtexOrderSummary,
};
use async_trait::async_trait;
use std::sync::Mutex;
use std::time::Duration;

const ORDER_EVENT: &str = include_str!("../../../../../events/order-import.order.json");

/// The ERP's order message of the sample event.
fn order_body() -> String {
    let v: serde_json::Value = serde_json::from_str(ORDER_EVENT).unwrap();
    v["Records"][0]["body"].as_str().unwrap().to_string()
}

/// Records every call; each call name has a script of answers (then success).
#[derive(Default)]
struct FakeAccount {
    calls: Mutex<Vec<String>>,
    place: Mutex<Vec<CallOutcome<String>>>,
    start: Mutex<Vec<CallOutcome<Handling>>>,
}

fn next<T>(script: &Mutex<Vec<CallOutcome<T>>>, ok: T) -> CallResult<T> {
    let mut s = script.lock().unwrap();
    Ok(if s.is_empty() {
        CallOutcome::Success(ok)
    } else {
        s.remove(0)
    })
}

impl FakeAccount {
    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn count(&self, prefix: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.starts_with(prefix))
            .count()
    }
}

#[async_trait]
impl MarketplaceOms for FakeAccount {
    async fn invoice(&self, an: &str, order: &str, invoice: &Invoice) -> CallResult<Receipt> {
        self.record(format!("invoice {an}/{order}/{}", invoice.invoice_number));
        Ok(CallOutcome::Success(Receipt(Some("r-1".into()))))
    }

    async fn tracking(
        &self,
        an: &str,
        order: &str,
        number: &str,
        _: &TrackingInfo,
    ) -> CallResult<Receipt> {
        self.record(format!("tracking {an}/{order}/{number}"));
        Ok(CallOutcome::Success(Receipt(Some("r-2".into()))))
    }

    async fn tracking_events(
        &self,
        an: &str,
        order: &str,
        number: &str,
        _: &TrackingStatus,
    ) -> CallResult<Receipt> {
        self.record(format!("events {an}/{order}/{number}"));
        Ok(CallOutcome::Success(Receipt(None)))
    }

    async fn cancel(&self, an: &str, order: &str, _reason: &str) -> CallResult<Receipt> {
        self.record(format!("cancel {an}/{order}"));
        Ok(CallOutcome::Success(Receipt(None)))
    }

    async fn order_status(&self, an: &str, order: &str) -> CallResult<Option<String>> {
        self.record(format!("order {an}/{order}"));
        Ok(CallOutcome::Success(None))
    }
}

#[async_trait]
impl OwnAccount for FakeAccount {
    async fn place_order(
        &self,
        account: &str,
        affiliate_id: &str,
        sales_channel: &str,
        order: &ImportOrder,
        mse: &str,
    ) -> CallResult<String> {
        self.record(format!(
            "place {account}/{affiliate_id}/{sales_channel}/{}/{mse}",
            order.marketplace_order_id
        ));
        next(
            &self.place,
            format!("{affiliate_id}-{}", order.marketplace_order_id),
        )
    }

    async fn authorize_dispatch(
        &self,
        account: &str,
        _affiliate_id: &str,
        _sales_channel: &str,
        vtex_order_id: &str,
        _mkp: &str,
    ) -> CallResult<()> {
        self.record(format!("authorize {account}/{vtex_order_id}"));
        Ok(CallOutcome::Success(()))
    }

    async fn start_handling(&self, account: &str, vtex_order_id: &str) -> CallResult<Handling> {
        self.record(format!("start-handling {account}/{vtex_order_id}"));
        next(&self.start, Handling::Started)
    }

    async fn get_order(
        &self,
        account: &str,
        vtex_order_id: &str,
    ) -> CallResult<Option<VtexOrderSummary>> {
        self.record(format!("get {account}/{vtex_order_id}"));
        Ok(CallOutcome::Success(None))
    }
}

struct World {
    imports: MemoryImports,
    log: MemoryStore,
    scheduled: MemoryImportQueue,
    vtex: Arc<FakeAccount>,
    importer: Importer,
}

fn world(vtex: FakeAccount, grace: Duration) -> World {
    let imports = MemoryImports::new();
    let log = MemoryStore::new();
    let scheduled = MemoryImportQueue::new();
    let vtex = Arc::new(vtex);
    let importer = Importer {
        imports: Arc::new(imports.clone()),
        log: Arc::new(log.clone()),
        vtex: vtex.clone(),
        scheduler: Arc::new(scheduled.clone()),
        clock: Arc::new(SystemClock),
        config: ImporterConfig {
            account: "myshop".into(),
            mse_url: "http://127.0.0.1:9/vtex/mse-secret".into(),
            default_affiliate: None,
            default_sales_channel: "1".into(),
            timing: ImportTiming {
                grace,
                not_ready_retry: Duration::from_secs(60),
                give_up_after: Duration::from_secs(3600),
            },
            backoff: Backoff {
                base: Duration::ZERO,
                max: Duration::from_secs(1),
            },
        },
    };
    World {
        imports,
        log,
        scheduled,
        vtex,
        importer,
    }
}

fn key() -> ImportKey {
    ImportKey::new("EXT", "2630580124")
}

impl World {
    async fn process(&self, body: &str) -> Disposition {
        self.importer
            .process(
                Attempt {
                    message_id: "m-1",
                    receive_count: 1,
                },
                body.as_bytes(),
            )
            .await
    }

    async fn record(&self) -> ImportRecord {
        self.imports.get(&key()).await.unwrap().unwrap()
    }

    async fn steps(&self) -> Vec<(String, Outcome, String)> {
        self.log
            .read_log(&key().log_id())
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.step, e.outcome, e.detail))
            .collect()
    }
}

#[tokio::test]
async fn an_acknowledged_order_is_placed_authorized_handled_and_invoiced_once() {
    let w = world(FakeAccount::default(), Duration::ZERO);
    assert_eq!(w.process(&order_body()).await, Disposition::Done);
    assert_eq!(
        w.vtex.calls()[0],
        "place myshop/EXT/1/2630580124/http://127.0.0.1:9/vtex/mse-secret"
    );
    assert_eq!(w.vtex.count("place"), 1);
    assert_eq!(w.vtex.count("authorize myshop/EXT-2630580124"), 1);
    assert_eq!(w.vtex.count("start-handling myshop/EXT-2630580124"), 1);
    assert_eq!(w.record().await.step, ImportStep::Handling);
    // The invoice that came with the order went back to the queue as its own message.
    let scheduled = w.scheduled.take_scheduled();
    assert_eq!(scheduled.len(), 1);
    assert!(scheduled[0].0.contains("\"importInvoice\""));
    assert_eq!(w.process(&scheduled[0].0).await, Disposition::Done);
    assert_eq!(w.record().await.status(), ImportStatus::Invoiced);
    assert_eq!(w.vtex.count("invoice myshop/EXT-2630580124/"), 1);
    // The same order again (SQS delivers at least once) sends nothing.
    let before = w.vtex.calls().len();
    assert_eq!(w.process(&order_body()).await, Disposition::Done);
    assert_eq!(w.vtex.calls().len(), before);
    let steps: Vec<String> = w.steps().await.into_iter().map(|s| s.0).collect();
    for s in [
        "import.received",
        "import.place",
        "import.authorizeDispatch",
        "import.startHandling",
        "import.invoice",
    ] {
        assert!(steps.iter().any(|x| x == s), "{s} missing from {steps:?}");
    }
}

#[tokio::test]
async fn a_throttled_placement_is_retried_later_and_placed_once() {
    let vtex = FakeAccount::default();
    vtex.place.lock().unwrap().push(CallOutcome::Retryable {
        retry_after: Some(Duration::from_secs(30)),
        reason: "429".into(),
    });
    let w = world(vtex, Duration::ZERO);
    let d = w.process(&order_body()).await;
    assert!(matches!(d, Disposition::Retry { .. }), "{d:?}");
    assert_eq!(
        w.vtex.count("authorize"),
        0,
        "nothing after a placement not made"
    );
    // The first call may have landed: the import stays at Placing until VTEX is asked.
    assert_eq!(w.record().await.step, ImportStep::Placing);
    // Delivered again: looked up first (VTEX has no such order), placed, then on.
    assert_eq!(w.process(&order_body()).await, Disposition::Done);
    assert_eq!(w.vtex.count("get myshop/EXT-2630580124"), 1);
    assert_eq!(w.vtex.count("place"), 2);
    assert_eq!(w.record().await.step, ImportStep::Handling);
    assert_eq!(w.vtex.count("authorize"), 1);
}

#[tokio::test]
async fn a_refused_placement_is_parked_with_vtexs_reason_and_logged() {
    let vtex = FakeAccount::default();
    vtex.place.lock().unwrap().push(CallOutcome::Rejected {
        status: 400,
        body: "Item 1 not found".into(),
    });
    let w = world(vtex, Duration::ZERO);
    let Disposition::DeadLetter { code, reason } = w.process(&order_body()).await else {
        panic!("parked, not retried")
    };
    assert_eq!(code, "VTEX_400");
    assert!(reason.contains("Item 1 not found"), "{reason}");
    let (_, outcome, detail) = w.steps().await.pop().unwrap();
    assert_eq!(outcome, Outcome::Error);
    assert!(detail.contains("Item 1 not found"), "{detail}");
    assert_eq!(w.record().await.step, ImportStep::Received);
    // Once the catalog is fixed, the re-driven message places it.
    assert_eq!(w.process(&order_body()).await, Disposition::Done);
    assert_eq!(w.record().await.step, ImportStep::Handling);
}

#[tokio::test]
async fn start_handling_not_ready_reschedules_until_vtex_is_ready() {
    let vtex = FakeAccount::default();
    vtex.start
        .lock()
        .unwrap()
        .push(CallOutcome::Success(Handling::NotReady("not ready".into())));
    let w = world(vtex, Duration::ZERO);
    assert_eq!(w.process(&order_body()).await, Disposition::Done);
    let rec = w.record().await;
    assert_eq!(rec.step, ImportStep::Authorized);
    assert_eq!(rec.not_ready_answers, 1);
    let resume: Vec<(String, Duration)> = w
        .scheduled
        .take_scheduled()
        .into_iter()
        .filter(|(b, _)| b.contains("importResume"))
        .collect();
    assert_eq!(resume.len(), 1);
    assert!(resume[0].1 > Duration::from_secs(55), "{:?}", resume[0].1);
    // VTEX becomes ready; the wake-up arrives (delay skipped here) and handling starts.
    let mut rec = w.record().await;
    rec.handling_due_at = Some(chrono::Utc::now());
    let crate::import::ImportSave::Saved(_) = w.imports.save(&rec).await.unwrap() else {
        panic!()
    };
    assert_eq!(w.process(&resume[0].0).await, Disposition::Done);
    assert_eq!(w.record().await.step, ImportStep::Handling);
    assert_eq!(w.vtex.count("start-handling"), 2);
}

#[tokio::test]
async fn the_grace_period_is_a_scheduled_wake_up_not_a_wait() {
    let w = world(FakeAccount::default(), Duration::from_secs(1800));
    assert_eq!(w.process(&order_body()).await, Disposition::Done);
    assert_eq!(w.record().await.step, ImportStep::Authorized);
    assert_eq!(w.vtex.count("start-handling"), 0);
    let scheduled = w.scheduled.take_scheduled();
    let resume: Vec<&(String, Duration)> = scheduled
        .iter()
        .filter(|(b, _)| b.contains("\"importResume\""))
        .collect();
    assert_eq!(resume.len(), 1);
    assert!(resume[0].1 > Duration::from_secs(1790) && resume[0].1 <= Duration::from_secs(1800));
    // Delivered early (SQS caps delays at 15 minutes): it schedules the next hop, nothing else.
    assert_eq!(w.process(&resume[0].0).await, Disposition::Done);
    assert_eq!(w.vtex.count("start-handling"), 0);
    assert_eq!(w.scheduled.take_scheduled().len(), 1);
    // The first wake-up is now stale: delivering it again does nothing.
    w.process(&resume[0].0).await;
    assert!(w.scheduled.take_scheduled().is_empty());
}

/// Fails the next `schedule` when armed, as a queue that is briefly unreachable.
struct FlakyQueue {
    inner: MemoryImportQueue,
    fail_next: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl ImportQueue for FlakyQueue {
    async fn schedule(&self, message: &ImportMessage, delay: Duration) -> Result<(), StoreError> {
        if self
            .fail_next
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(StoreError::Unavailable(
                "injected: queue unreachable".into(),
            ));
        }
        self.inner.schedule(message, delay).await
    }
}

/// The wake-up is recorded, then its send fails: the message that scheduled it comes back (SQS
/// redelivers what was not deleted) and must carry the import on, sending the recorded wake-up
/// again under its id. (It used to find its own wake-up stale and drop it: the import stalled.)
#[tokio::test]
async fn a_wake_up_whose_send_failed_is_sent_again_by_the_message_that_scheduled_it() {
    let mut w = world(FakeAccount::default(), Duration::from_secs(1800));
    let flaky = Arc::new(FlakyQueue {
        inner: w.scheduled.clone(),
        fail_next: false.into(),
    });
    w.importer.scheduler = flaky.clone();
    assert_eq!(w.process(&order_body()).await, Disposition::Done);
    let hop1: Vec<String> = w
        .scheduled
        .take_scheduled()
        .into_iter()
        .map(|(b, _)| b)
        .filter(|b| b.contains("\"importResume\""))
        .collect();
    assert_eq!(hop1.len(), 1);

    flaky
        .fail_next
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert_ne!(
        w.process(&hop1[0]).await,
        Disposition::Done,
        "the send failed"
    );
    assert!(w.scheduled.take_scheduled().is_empty());
    let recorded = w
        .record()
        .await
        .wake
        .expect("the wake-up was recorded first");
    assert!(!recorded.enqueued);

    assert_eq!(w.process(&hop1[0]).await, Disposition::Done, "redelivered");
    let hop2 = w.scheduled.take_scheduled();
    assert_eq!(hop2.len(), 1, "the recorded wake-up is sent");
    assert!(hop2[0].0.contains(&recorded.id), "under its recorded id");
    let wake = w.record().await.wake.unwrap();
    assert_eq!(wake.id, recorded.id);
    assert!(wake.enqueued);
    // The chain goes on from there, and the first hop is stale now.
    assert_eq!(w.process(&hop2[0].0).await, Disposition::Done);
    assert_eq!(w.scheduled.take_scheduled().len(), 1);
    w.process(&hop1[0]).await;
    assert!(w.scheduled.take_scheduled().is_empty());
}
