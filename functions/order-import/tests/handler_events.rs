//! The handler fed the sample events in `events/order-import.*.json`, with in-memory stores, a
//! recording queue port and the VTEX stand-in (GIVEN a seller's account with SKU 1, WHEN the
//! import messages arrive, THEN VTEX sees each workflow call once and the import moves on).

use async_trait::async_trait;
use aws_lambda_events::sqs::SqsEvent;
use domain::clock::SystemClock;
use domain::erp::{DispatchQueue, QueuedMessage};
use domain::import::{
    ImportKey, ImportStatus, ImportStep, ImportStore, ImportTiming, MemoryImportQueue,
    MemoryImports,
};
use domain::memory::MemoryStore;
use domain::order::Outcome;
use domain::ports::{OrderStore, StoreError};
use order_import::{Backoff, Config, Deps, handle, sqs_event, sqs_message};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vtex::client::VtexClient;
use vtex_standin::{FaultPlan, RecordedRequest, ServerHandle};

const ORDER: &str = include_str!("../../../events/order-import.order.json");
const INVOICE: &str = include_str!("../../../events/order-import.invoice.json");
const TRACKING: &str = include_str!("../../../events/order-import.tracking.json");
const FILE: &str = include_str!("../../../events/order-import.file.json");
const BATCH: &str = include_str!("../../../events/order-import.batch-partial-failure.json");

#[derive(Default)]
struct RecordingQueue {
    dead: Mutex<Vec<(String, String, String)>>,
    delayed: Mutex<Vec<Duration>>,
}

#[async_trait]
impl DispatchQueue for RecordingQueue {
    async fn dead_letter(
        &self,
        m: &QueuedMessage<'_>,
        code: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.dead.lock().unwrap().push((
            m.message_id.to_string(),
            code.to_string(),
            reason.to_string(),
        ));
        Ok(())
    }

    async fn retry_later(&self, _handle: &str, delay: Duration) -> Result<(), StoreError> {
        self.delayed.lock().unwrap().push(delay);
        Ok(())
    }
}

struct World {
    imports: MemoryImports,
    log: MemoryStore,
    queue: Arc<RecordingQueue>,
    scheduled: MemoryImportQueue,
    deps: Deps,
    standin: ServerHandle,
}

fn key() -> ImportKey {
    ImportKey::new("EXT", "2630580124")
}

/// A stand-in whose account knows SKU 1; grace periods as given (stand-in, connector).
async fn world(standin_grace: Duration, grace: Duration) -> World {
    let (addr, standin) = vtex_standin::serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    {
        let mut f = standin.state().fulfillment.lock().unwrap();
        f.grace = standin_grace;
        f.known_skus = Some(["1".to_string()].into_iter().collect());
    }
    let imports = MemoryImports::new();
    let log = MemoryStore::new();
    let queue = Arc::new(RecordingQueue::default());
    let scheduled = MemoryImportQueue::new();
    let deps = Deps {
        imports: Arc::new(imports.clone()),
        log: Arc::new(log.clone()),
        vtex: Arc::new(
            VtexClient::new(format!("http://{addr}"), standin.credentials())
                .unwrap()
                .with_default_account(Some("myshop".into())),
        ),
        queue: queue.clone(),
        scheduler: Arc::new(scheduled.clone()),
        clock: Arc::new(SystemClock),
        config: Config {
            account: "myshop".into(),
            vtex_base_url: format!("http://{addr}"),
            vtex_timeout: Duration::from_secs(5),
            // Nobody listens there: the stand-in records the failed notification, nothing more.
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
        queue,
        scheduled,
        deps,
        standin,
    }
}

fn event(json: &str) -> SqsEvent {
    serde_json::from_str(json).unwrap()
}

/// An SQS event carrying `body` (what the worker scheduled for itself).
fn event_of(body: &str) -> SqsEvent {
    sqs_event(vec![sqs_message(
        &uuid::Uuid::new_v4().to_string(),
        "handle",
        body,
        None,
        1,
    )])
}

impl World {
    fn accepted(&self, method: &str, path_end: &str) -> Vec<RecordedRequest> {
        self.standin
            .state()
            .requests()
            .into_iter()
            .filter(|r| r.accepted() && r.method == method && r.path.ends_with(path_end))
            .collect()
    }

    fn calls(&self, method: &str, path_end: &str) -> Vec<RecordedRequest> {
        self.standin
            .state()
            .requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.ends_with(path_end))
            .collect()
    }

    async fn step(&self) -> ImportStep {
        self.imports.get(&key()).await.unwrap().unwrap().step
    }

    /// Runs every message the worker scheduled for itself (delays ignored), until none is left.
    async fn run_scheduled(&self) {
        for _ in 0..10 {
            let batch = self.scheduled.take_scheduled();
            if batch.is_empty() {
                return;
            }
            for (body, _) in batch {
                let r = handle(&self.deps, event_of(&body)).await;
                assert!(r.batch_item_failures.is_empty(), "{body}");
            }
        }
        panic!("the worker keeps scheduling messages");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_event_runs_the_whole_workflow_and_queues_its_invoice() {
    let w = world(Duration::ZERO, Duration::ZERO).await;
    let r = handle(&w.deps, event(ORDER)).await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(w.accepted("POST", "/api/fulfillment/pvt/orders").len(), 1);
    let placement = &w.accepted("POST", "/api/fulfillment/pvt/orders")[0];
    assert_eq!(placement.query.as_deref(), Some("affiliateId=EXT&sc=1"));
    assert!(placement.body.is_array(), "C2: an array of one order");
    assert_eq!(
        placement.body[0]["marketplaceServicesEndpoint"],
        "http://127.0.0.1:9/vtex/mse-secret"
    );
    assert_eq!(
        w.accepted("POST", "/api/fulfillment/pvt/orders/EXT-2630580124/fulfill")
            .len(),
        1
    );
    assert_eq!(
        w.accepted("POST", "/api/oms/pvt/orders/EXT-2630580124/start-handling")
            .len(),
        1
    );
    assert_eq!(w.step().await, ImportStep::Handling);
    // The invoice that came with the order went back to the queue as its own message.
    let scheduled = w.scheduled.take_scheduled();
    assert_eq!(scheduled.len(), 1);
    assert!(scheduled[0].0.contains("\"importInvoice\""));
    for (body, _) in scheduled {
        assert!(
            handle(&w.deps, event_of(&body))
                .await
                .batch_item_failures
                .is_empty()
        );
    }
    let rec = w.imports.get(&key()).await.unwrap().unwrap();
    assert_eq!(rec.status(), ImportStatus::Invoiced);
    assert_eq!(
        w.accepted("POST", "/api/oms/pvt/orders/EXT-2630580124/invoice")
            .len(),
        1
    );
    // The same order again (SQS delivers at least once) sends nothing.
    let before = w.standin.state().requests().len();
    assert!(
        handle(&w.deps, event(ORDER))
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(w.standin.state().requests().len(), before);
    let steps: Vec<String> = w
        .log
        .read_log(&key().log_id())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.step)
        .collect();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grace_period_is_a_scheduled_wake_up_not_a_wait() {
    let w = world(Duration::ZERO, Duration::from_secs(1800)).await;
    assert!(
        handle(&w.deps, event(ORDER))
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(w.step().await, ImportStep::Authorized);
    assert!(w.calls("POST", "/start-handling").is_empty());
    let scheduled = w.scheduled.take_scheduled();
    let resume: Vec<&(String, Duration)> = scheduled
        .iter()
        .filter(|(b, _)| b.contains("\"importResume\""))
        .collect();
    assert_eq!(resume.len(), 1);
    assert!(resume[0].1 > Duration::from_secs(1790) && resume[0].1 <= Duration::from_secs(1800));
    // Delivered early (SQS caps delays at 15 minutes): it schedules the next hop, nothing else.
    let r = handle(&w.deps, event_of(&resume[0].0)).await;
    assert!(r.batch_item_failures.is_empty());
    assert!(w.calls("POST", "/start-handling").is_empty());
    let next = w.scheduled.take_scheduled();
    assert_eq!(next.len(), 1);
    // The first wake-up is now stale: delivering it again does nothing.
    handle(&w.deps, event_of(&resume[0].0)).await;
    assert!(w.scheduled.take_scheduled().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_handling_409_reschedules_until_vtex_is_ready() {
    let w = world(Duration::from_secs(3600), Duration::ZERO).await;
    assert!(
        handle(&w.deps, event(ORDER))
            .await
            .batch_item_failures
            .is_empty()
    );
    let calls = w.calls("POST", "/start-handling");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, 409);
    let rec = w.imports.get(&key()).await.unwrap().unwrap();
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
    w.standin.state().fulfillment.lock().unwrap().grace = Duration::ZERO;
    let mut rec = w.imports.get(&key()).await.unwrap().unwrap();
    rec.handling_due_at = Some(chrono::Utc::now());
    let domain::import::ImportSave::Saved(_) = w.imports.save(&rec).await.unwrap() else {
        panic!()
    };
    assert!(
        handle(&w.deps, event_of(&resume[0].0))
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(w.step().await, ImportStep::Handling);
    let statuses: Vec<u16> = w
        .calls("POST", "/start-handling")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![409, 204]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_sku_ends_in_the_log_and_the_dlq_with_vtexs_reason() {
    let w = world(Duration::ZERO, Duration::ZERO).await;
    w.standin.state().fulfillment.lock().unwrap().known_skus =
        Some(["2".to_string()].into_iter().collect());
    let r = handle(&w.deps, event(ORDER)).await;
    assert!(r.batch_item_failures.is_empty(), "parked, not retried");
    let dead = w.queue.dead.lock().unwrap().clone();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].1, "VTEX_400");
    assert!(dead[0].2.contains("Item 1 not found"), "{}", dead[0].2);
    let log = w.log.read_log(&key().log_id()).await.unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.outcome, Outcome::Error);
    assert!(last.detail.contains("Item 1 not found"), "{}", last.detail);
    assert_eq!(w.step().await, ImportStep::Received);
    // Once the catalog is fixed, the re-driven message places it.
    w.standin.state().fulfillment.lock().unwrap().known_skus = None;
    assert!(
        handle(&w.deps, event(ORDER))
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(w.step().await, ImportStep::Handling);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_parked_before_anything_reaches_vtex() {
    let w = world(Duration::ZERO, Duration::ZERO).await;
    let mut v: serde_json::Value = serde_json::from_str(ORDER).unwrap();
    let mut body: serde_json::Value =
        serde_json::from_str(v["Records"][0]["body"].as_str().unwrap()).unwrap();
    body["order"]["items"][0]["price"] = serde_json::json!(9.0);
    body["order"]["shippingData"]["address"]
        .as_object_mut()
        .unwrap()
        .remove("postalCode");
    v["Records"][0]["body"] = serde_json::Value::String(body.to_string());
    let r = handle(&w.deps, serde_json::from_value(v).unwrap()).await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(w.queue.dead.lock().unwrap()[0].1, "NOT_CENTS");
    assert!(w.standin.state().requests().is_empty());
    let log = w.log.read_log(&key().log_id()).await.unwrap();
    assert_eq!(log[0].outcome, Outcome::Alert);
    assert!(log[0].detail.contains("order.items[0].price"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_batch_reports_only_the_invoice_that_waits_for_its_order() {
    // GIVEN the sample batch: the invoice of an order not imported yet, and an order in decimals.
    let w = world(Duration::ZERO, Duration::ZERO).await;
    let r = handle(&w.deps, event(BATCH)).await;
    let failed: Vec<String> = r
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    // THEN the invoice comes back later; the broken order is parked (and deleted), not retried.
    assert_eq!(
        failed,
        vec!["3b0e2a4c-1b2e-4c7a-9e61-000000000101".to_string()]
    );
    let dead = w.queue.dead.lock().unwrap().clone();
    let parked: Vec<(&str, &str)> = dead
        .iter()
        .map(|(id, code, _)| (id.as_str(), code.as_str()))
        .collect();
    assert_eq!(
        parked,
        vec![("3b0e2a4c-1b2e-4c7a-9e61-000000000102", "NOT_CENTS")]
    );
    assert!(
        w.standin.state().requests().is_empty(),
        "nothing reached VTEX"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_is_retried_through_the_queue_and_resumes_at_that_step() {
    let w = world(Duration::ZERO, Duration::ZERO).await;
    // Call 2 (authorize dispatch) fails.
    w.standin.state().set_faults(FaultPlan {
        fail_every: Some(2),
        status: Some(503),
        ..Default::default()
    });
    let r = handle(&w.deps, event(ORDER)).await;
    assert_eq!(r.batch_item_failures.len(), 1, "comes back later");
    assert_eq!(w.queue.delayed.lock().unwrap().len(), 1);
    assert_eq!(w.step().await, ImportStep::Authorizing);
    w.standin.state().set_faults(FaultPlan::default());
    assert!(
        handle(&w.deps, event(ORDER))
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(w.step().await, ImportStep::Handling);
    assert_eq!(w.accepted("POST", "/api/fulfillment/pvt/orders").len(), 1);
    w.run_scheduled().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoice_and_tracking_events_reach_oms_once() {
    let w = world(Duration::ZERO, Duration::ZERO).await;
    // The invoice event before its order: it waits.
    let r = handle(&w.deps, event(INVOICE)).await;
    assert_eq!(r.batch_item_failures.len(), 1);
    // Tracking before its invoice: waits too.
    assert!(
        handle(&w.deps, event(ORDER))
            .await
            .batch_item_failures
            .is_empty()
    );
    let r = handle(&w.deps, event(TRACKING)).await;
    assert_eq!(r.batch_item_failures.len(), 1);
    w.run_scheduled().await;
    assert!(
        handle(&w.deps, event(INVOICE))
            .await
            .batch_item_failures
            .is_empty()
    );
    assert!(
        handle(&w.deps, event(TRACKING))
            .await
            .batch_item_failures
            .is_empty()
    );
    assert!(
        handle(&w.deps, event(TRACKING))
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(
        w.accepted("POST", "/api/oms/pvt/orders/EXT-2630580124/invoice")
            .len(),
        1,
        "the duplicate invoice event sends nothing"
    );
    let patches = w.accepted(
        "PATCH",
        "/api/oms/pvt/orders/EXT-2630580124/invoice/NFe-2630580124",
    );
    assert_eq!(patches.len(), 1);
    assert_eq!(patches[0].body["trackingNumber"], "SR000987654321BR");
    assert!(w.queue.dead.lock().unwrap().is_empty());
    // OMS notified the (unreachable) mse of the invoice and of its tracking.
    let calls = w
        .standin
        .state()
        .fulfillment
        .lock()
        .unwrap()
        .mse_calls
        .clone();
    let kinds: Vec<&str> = calls.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, vec!["invoice", "tracking"]);
}

#[test]
fn the_file_sample_holds_valid_import_messages() {
    let v: serde_json::Value = serde_json::from_str(FILE).unwrap();
    for m in v.as_array().unwrap() {
        domain::import::parse(m.to_string().as_bytes(), None).unwrap();
    }
}
