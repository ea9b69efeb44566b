//! Every crash point of an invoice and of a seller cancellation (issue 12, item 7), on the embedded
//! store and on moto, against the VTEX stand-in: the k-th port call of the message's handling fails,
//! either before its effect or after it (a store write landed, or VTEX took the call, and the
//! dispatcher never heard), and the handler is run again as SQS redelivers, until the message is
//! done or parked. Whatever k, the end state is complete — the order invoiced (stock shipped) or
//! canceled (stock released, no pending marker), nothing parked — and nothing was billed or
//! canceled twice. VTEX may hear the same call twice only when the crash came after it took the
//! first: an invoice re-POSTed under its number changes nothing at OMS (C15), and a repeated cancel
//! is answered with a receipt by the stand-in, or refused by a VTEX that refuses repeats (the
//! `refusing` scenario), which the dispatcher then settles by reading the order at OMS.
//!
//! The figures (scenarios × crash points, lost, duplicated) are printed per flow and backend.

use crate::dispatch_support::{Line, cancel_msg, invoice, invoice_msg, placement_body};
use async_trait::async_trait;
use aws_adapters::dynamo::{DynamoCatalog, DynamoOrders};
use aws_adapters::invoices::{DynamoInvoices, create_invoices_table};
use connector_tests::aws_env;
use dispatch::{Backoff, Deps, handle, sqs_event, sqs_message};
use domain::clock::SystemClock;
use domain::erp::{DispatchQueue, OrderRef, QueuedMessage};
use domain::invoice_store::{CreateOutcome, InvoiceStore, InvoicedSums, RecordSave, Tally};
use domain::invoicing::InvoiceType::Output;
use domain::invoicing::{Invoice, InvoiceRecord, SendState, TrackingInfo, TrackingStatus};
use domain::money::Cents;
use domain::order::{LogEntry, Order, OrderStatus};
use domain::outbound::{CallOutcome, CallResult, MarketplaceOms, Receipt};
use domain::ports::{
    CatalogReader, CatalogWriter, OrderEvent, OrderStore, PlaceOutcome, SaveOutcome, StockEffect,
    StoreError,
};
use embedded_store::EmbeddedStore;
use embedded_store::invoices::SqliteInvoices;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vtex::client::VtexClient;
use vtex_standin::ServerHandle;

// ------------------------------------------------------------------------------ fault injection

/// Counts port calls and fails the one at `fail_at`, before or after its effect.
struct Faults {
    step: AtomicUsize,
    fail_at: usize,
    after_effect: bool,
    /// The steps that were VTEX calls.
    vtex_at: Mutex<Vec<usize>>,
}

#[derive(PartialEq)]
enum Hit {
    Pass,
    FailBefore,
    FailAfter,
}

impl Faults {
    fn new(fail_at: usize, after_effect: bool) -> Arc<Self> {
        Arc::new(Faults {
            step: AtomicUsize::new(0),
            fail_at,
            after_effect,
            vtex_at: Mutex::default(),
        })
    }

    /// A VTEX call: counted as a step, and remembered as one.
    fn hit_vtex(&self) -> Hit {
        let hit = self.hit();
        self.vtex_at.lock().unwrap().push(self.calls());
        hit
    }

    /// The first step that was a VTEX call.
    fn first_vtex_call(&self) -> usize {
        self.vtex_at
            .lock()
            .unwrap()
            .first()
            .copied()
            .unwrap_or(usize::MAX)
    }

    fn hit(&self) -> Hit {
        let n = self.step.fetch_add(1, Ordering::SeqCst) + 1;
        match (n == self.fail_at, self.after_effect) {
            (false, _) => Hit::Pass,
            (true, false) => Hit::FailBefore,
            (true, true) => Hit::FailAfter,
        }
    }

    fn calls(&self) -> usize {
        self.step.load(Ordering::SeqCst)
    }
}

fn crash() -> StoreError {
    StoreError::Unavailable("injected crash".into())
}

/// A read: fails (no effect to lose) or passes.
macro_rules! read {
    ($f:expr, $call:expr) => {
        match $f.hit() {
            Hit::Pass => $call.await,
            _ => Err(crash()),
        }
    };
}

/// A write: fails before it, or lands and then fails.
macro_rules! write {
    ($f:expr, $call:expr) => {
        match $f.hit() {
            Hit::Pass => $call.await,
            Hit::FailBefore => Err(crash()),
            Hit::FailAfter => {
                $call.await?;
                Err(crash())
            }
        }
    };
}

struct FaultyInvoices {
    inner: Arc<dyn InvoiceStore>,
    f: Arc<Faults>,
}

#[async_trait]
impl InvoiceStore for FaultyInvoices {
    async fn create_once(
        &self,
        record: &InvoiceRecord,
        limit: Cents,
    ) -> Result<CreateOutcome, StoreError> {
        write!(self.f, self.inner.create_once(record, limit))
    }
    async fn get(&self, order_id: &str, number: &str) -> Result<Option<InvoiceRecord>, StoreError> {
        read!(self.f, self.inner.get(order_id, number))
    }
    async fn list_by_order(&self, order_id: &str) -> Result<Vec<InvoiceRecord>, StoreError> {
        read!(self.f, self.inner.list_by_order(order_id))
    }
    async fn save(&self, record: &InvoiceRecord, tally: Tally) -> Result<RecordSave, StoreError> {
        write!(self.f, self.inner.save(record, tally))
    }
    async fn invoiced(&self, order_id: &str) -> Result<InvoicedSums, StoreError> {
        read!(self.f, self.inner.invoiced(order_id))
    }
}

/// The order store; the log is not a crash point (a lost log line loses no work).
struct FaultyOrders {
    inner: Arc<dyn OrderStore>,
    f: Arc<Faults>,
}

#[async_trait]
impl OrderStore for FaultyOrders {
    async fn create_reserved(&self, order: &Order) -> Result<PlaceOutcome, StoreError> {
        write!(self.f, self.inner.create_reserved(order))
    }
    async fn get(&self, order_id: &str) -> Result<Option<Order>, StoreError> {
        read!(self.f, self.inner.get(order_id))
    }
    async fn get_by_marketplace_id(&self, an: &str, id: &str) -> Result<Option<Order>, StoreError> {
        read!(self.f, self.inner.get_by_marketplace_id(an, id))
    }
    async fn save(&self, order: &Order, effect: StockEffect) -> Result<SaveOutcome, StoreError> {
        write!(self.f, self.inner.save(order, effect))
    }
    async fn save_emitting(
        &self,
        order: &Order,
        effect: StockEffect,
        events: &[OrderEvent],
    ) -> Result<SaveOutcome, StoreError> {
        write!(self.f, self.inner.save_emitting(order, effect, events))
    }
    async fn emit(&self, events: &[OrderEvent]) -> Result<(), StoreError> {
        write!(self.f, self.inner.emit(events))
    }
    async fn expired_reservations(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, StoreError> {
        read!(self.f, self.inner.expired_reservations(now, limit))
    }
    async fn append_log(&self, order_id: &str, entry: &LogEntry) -> Result<(), StoreError> {
        self.inner.append_log(order_id, entry).await
    }
    async fn read_log(&self, order_id: &str) -> Result<Vec<LogEntry>, StoreError> {
        self.inner.read_log(order_id).await
    }
}

/// VTEX through the stand-in: a call that fails before reaching it times out; one that fails
/// after it took the call loses the answer. With `refuse_repeats`, a cancel of an order the
/// stand-in already canceled is refused with 409, as a VTEX that does not repeat receipts would.
struct FaultyOms {
    inner: Arc<dyn MarketplaceOms>,
    f: Arc<Faults>,
    refuse_repeats: bool,
    canceled: AtomicBool,
}

fn lost<T>() -> CallResult<T> {
    Ok(CallOutcome::Retryable {
        retry_after: None,
        reason: "injected: no answer from VTEX".into(),
    })
}

macro_rules! call {
    ($f:expr, $call:expr) => {
        match $f.hit_vtex() {
            Hit::Pass => $call.await,
            Hit::FailBefore => lost(),
            Hit::FailAfter => {
                let _ = $call.await;
                lost()
            }
        }
    };
}

#[async_trait]
impl MarketplaceOms for FaultyOms {
    async fn invoice(&self, an: &str, mkp: &str, invoice: &Invoice) -> CallResult<Receipt> {
        call!(self.f, self.inner.invoice(an, mkp, invoice))
    }
    async fn tracking(
        &self,
        an: &str,
        mkp: &str,
        number: &str,
        t: &TrackingInfo,
    ) -> CallResult<Receipt> {
        call!(self.f, self.inner.tracking(an, mkp, number, t))
    }
    async fn tracking_events(
        &self,
        an: &str,
        mkp: &str,
        number: &str,
        s: &TrackingStatus,
    ) -> CallResult<Receipt> {
        call!(self.f, self.inner.tracking_events(an, mkp, number, s))
    }
    async fn cancel(&self, an: &str, mkp: &str, reason: &str) -> CallResult<Receipt> {
        if self.refuse_repeats && self.canceled.load(Ordering::SeqCst) {
            self.f.hit_vtex();
            return Ok(CallOutcome::Rejected {
                status: 409,
                body: r#"{"error":{"code":"OMS011","message":"Order is canceled"}}"#.into(),
            });
        }
        let inner = async {
            let answer = self.inner.cancel(an, mkp, reason).await;
            if matches!(answer, Ok(CallOutcome::Success(_))) {
                self.canceled.store(true, Ordering::SeqCst);
            }
            answer
        };
        call!(self.f, inner)
    }
    async fn order_status(&self, an: &str, mkp: &str) -> CallResult<Option<String>> {
        call!(self.f, self.inner.order_status(an, mkp))
    }
}

/// The dispatch queue's own actions: what was parked, and by which code.
#[derive(Default)]
struct Parked(Mutex<Vec<String>>);

#[async_trait]
impl DispatchQueue for Parked {
    async fn dead_letter(
        &self,
        _message: &QueuedMessage<'_>,
        code: &str,
        _reason: &str,
    ) -> Result<(), StoreError> {
        self.0.lock().unwrap().push(code.to_string());
        Ok(())
    }
    async fn retry_later(&self, _receipt: &str, _delay: Duration) -> Result<(), StoreError> {
        Ok(())
    }
}

// ------------------------------------------------------------------------------------ backends

struct Backend {
    name: &'static str,
    orders: Arc<dyn OrderStore>,
    catalog_w: Arc<dyn CatalogWriter>,
    catalog_r: Arc<dyn CatalogReader>,
    invoices: Arc<dyn InvoiceStore>,
    _guard: Option<EmbeddedStore>,
}

fn embedded() -> Backend {
    let store = EmbeddedStore::open_in_memory().unwrap();
    Backend {
        name: "embedded",
        orders: Arc::new(store.clone()),
        catalog_w: Arc::new(store.clone()),
        catalog_r: Arc::new(store.clone()),
        invoices: Arc::new(SqliteInvoices::new(&store).unwrap()),
        _guard: Some(store),
    }
}

async fn moto() -> Option<Backend> {
    let config = aws_env::moto().await?;
    let (dynamo, catalog_table, orders_table) = aws_env::dynamo_tables(&config).await;
    let invoices_table = aws_env::unique_name("invoices");
    create_invoices_table(&dynamo, &invoices_table)
        .await
        .expect("create invoices table");
    let catalog = Arc::new(DynamoCatalog::new(dynamo.clone(), catalog_table.clone()));
    Some(Backend {
        name: "moto",
        orders: Arc::new(DynamoOrders::new(
            dynamo.clone(),
            orders_table,
            catalog_table,
        )),
        catalog_w: catalog.clone(),
        catalog_r: catalog,
        invoices: Arc::new(DynamoInvoices::new(dynamo, invoices_table)),
        _guard: None,
    })
}

// ------------------------------------------------------------------------------------- the runs

const STOCK: i64 = 10;
/// One unit at 9990 plus 1090 freight: 11080.
const VALUE: i64 = 11080;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Flow {
    Invoice,
    Cancel,
    /// A cancel against a VTEX that refuses a repeated cancel (409).
    CancelRefusing,
}

struct Run<'a> {
    b: &'a Backend,
    standin: &'a ServerHandle,
    vtex: Arc<dyn MarketplaceOms>,
    flow: Flow,
    n: usize,
}

impl Run<'_> {
    fn order_id(&self) -> String {
        format!("SLR-CP-{}-{:?}-{}", self.b.name, self.flow, self.n)
    }
    fn mkp(&self) -> String {
        format!("88{:02}{:04}-01", self.flow as u8, self.n)
    }
    fn sku(&self) -> String {
        format!("CP-{:?}-{}", self.flow, self.n)
    }

    /// Places (stock held) and authorizes this run's order, and tells the stand-in of it.
    async fn setup(&self) {
        let sku = serde_json::from_value(serde_json::json!({
            "id": self.sku(), "name": "Crash point", "prices": [],
            "stock": { "wh1": { "onHand": STOCK, "reserved": 0 } }
        }))
        .unwrap();
        self.b.catalog_w.upsert_sku(&sku).await.unwrap();
        let now = chrono::Utc::now();
        let order: Order = serde_json::from_value(serde_json::json!({
            "orderId": self.order_id(), "an": "luxstore", "marketplaceOrderId": self.mkp(),
            "marketplacePaymentValue": VALUE, "status": "RESERVED",
            "lines": [{"index": 0, "skuId": self.sku(), "quantity": 1, "unitPrice": 9990,
                       "freight": 1090, "locationId": "wh1"}],
            "createdAt": now, "expiresAt": now + chrono::Duration::days(8)
        }))
        .unwrap();
        let PlaceOutcome::Created(mut o) = self.b.orders.create_reserved(&order).await.unwrap()
        else {
            panic!("placement failed")
        };
        o.status = OrderStatus::Authorized;
        assert!(matches!(
            self.b.orders.save(&o, StockEffect::None).await.unwrap(),
            SaveOutcome::Saved(_)
        ));
        let lines: &[Line<'_>] = &[(&self.sku(), 1, 9990, 1090)];
        self.standin
            .state()
            .place(&placement_body(&self.mkp(), lines))
            .unwrap();
    }

    fn body(&self) -> String {
        let o = OrderRef::by_order_id(self.order_id());
        match self.flow {
            Flow::Invoice => invoice_msg(
                &o,
                invoice(Output, "NFe-1", VALUE, &[(&self.sku(), 1, 9990)]),
            ),
            Flow::Cancel | Flow::CancelRefusing => cancel_msg(&o, "Out of stock"),
        }
    }

    /// Delivers the message until it is done or parked (as SQS redelivers after a failure);
    /// returns the parked codes, the port calls made and the step of the first VTEX call.
    async fn deliver(&self, f: Arc<Faults>) -> (Vec<String>, usize, usize) {
        let parked = Arc::new(Parked::default());
        let deps = Deps {
            orders: Arc::new(FaultyOrders {
                inner: self.b.orders.clone(),
                f: f.clone(),
            }),
            invoices: Arc::new(FaultyInvoices {
                inner: self.b.invoices.clone(),
                f: f.clone(),
            }),
            vtex: Arc::new(FaultyOms {
                inner: self.vtex.clone(),
                f: f.clone(),
                refuse_repeats: self.flow == Flow::CancelRefusing,
                canceled: AtomicBool::new(false),
            }),
            queue: parked.clone(),
            clock: Arc::new(SystemClock),
            default_an: None,
            backoff: Backoff {
                base: Duration::ZERO,
                max: Duration::ZERO,
            },
        };
        let body = self.body();
        let id = format!("m-{}", self.order_id());
        for receive_count in 1..=20 {
            let record = sqs_message(&id, &id, &body, Some(&self.order_id()), receive_count);
            let response = handle(&deps, sqs_event(vec![record])).await;
            if response.batch_item_failures.is_empty() {
                let codes = parked.0.lock().unwrap().clone();
                return (codes, f.calls(), f.first_vtex_call());
            }
        }
        panic!("{}: never settled in 20 deliveries", self.order_id());
    }

    /// The VTEX calls the stand-in took for this order: `(method, path suffix, body)`.
    fn accepted(&self, suffix: &str) -> Vec<serde_json::Value> {
        let path = format!("/api/oms/pvt/orders/{}{suffix}", self.mkp());
        self.standin
            .state()
            .requests()
            .into_iter()
            .filter(|r| r.accepted() && r.method == "POST" && r.path == path)
            .map(|r| r.body)
            .collect()
    }

    async fn stock(&self) -> (i64, i64) {
        let s = self.b.catalog_r.get_skus(&[self.sku()]).await.unwrap()[&self.sku()].stock["wh1"];
        (s.on_hand, s.reserved)
    }
}

#[derive(Default, Debug)]
struct Tally7 {
    scenarios: usize,
    lost: Vec<String>,
    duplicated: Vec<String>,
}

/// Runs the flow once without faults (its port calls are the crash points), then once per crash
/// point and side, each on a fresh order; checks each end state.
async fn every_crash_point(b: &Backend, flow: Flow) -> Tally7 {
    let (addr, standin) = vtex_standin::serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let vtex: Arc<dyn MarketplaceOms> =
        Arc::new(VtexClient::new(format!("http://{addr}"), standin.credentials()).unwrap());
    let mut n = 0;
    let mut run = |fail_at: usize, after: bool| {
        n += 1;
        let r = Run {
            b,
            standin: &standin,
            vtex: vtex.clone(),
            flow,
            n,
        };
        (r, Faults::new(fail_at, after))
    };
    let (clean, f) = run(usize::MAX, false);
    clean.setup().await;
    let (parked, steps, send) = clean.deliver(f).await;
    assert!(
        parked.is_empty(),
        "{flow:?} without faults parked: {parked:?}"
    );
    assert!(
        steps >= 4,
        "{flow:?}: read, record, call, save: {steps} port calls"
    );

    let mut t = Tally7::default();
    for fail_at in 1..=steps {
        for after in [false, true] {
            let (r, f) = run(fail_at, after);
            r.setup().await;
            let (parked, ..) = r.deliver(f).await;
            t.scenarios += 1;
            // VTEX may hear the call again only if it took it before the crash.
            let may_repeat = fail_at > send || (fail_at == send && after);
            let what = format!(
                "{} {flow:?}: crash at call {fail_at} of {steps} (after its effect: {after})",
                b.name
            );
            let order = b.orders.get(&r.order_id()).await.unwrap().unwrap();
            match flow {
                Flow::Invoice => {
                    let posts = r.accepted("/invoice");
                    let numbers: std::collections::BTreeSet<&str> = posts
                        .iter()
                        .filter_map(|p| p["invoiceNumber"].as_str())
                        .collect();
                    let records = b.invoices.list_by_order(&r.order_id()).await.unwrap();
                    let sums = b.invoices.invoiced(&r.order_id()).await.unwrap();
                    let complete = parked.is_empty()
                        && order.status == OrderStatus::Invoiced
                        && numbers.len() == 1
                        && records.len() == 1
                        && records[0].state == SendState::Sent
                        && r.stock().await == (STOCK - 1, 0);
                    if !complete {
                        t.lost.push(format!(
                            "{what}: {:?}, parked {parked:?}, records {records:?}",
                            order.status
                        ));
                    }
                    if numbers.len() > 1 || records.len() > 1 || sums.output != Cents(VALUE) {
                        t.duplicated
                            .push(format!("{what}: billed {numbers:?}, sums {sums:?}"));
                    }
                    // A second POST of the same number only when VTEX took the first.
                    if posts.len() > 2 || (posts.len() == 2 && !may_repeat) {
                        t.duplicated
                            .push(format!("{what}: POSTed {} times", posts.len()));
                    }
                }
                Flow::Cancel | Flow::CancelRefusing => {
                    let cancels = r.accepted("/cancel");
                    let complete = parked.is_empty()
                        && order.status == OrderStatus::Canceled
                        && order.seller_cancel.is_none()
                        && !cancels.is_empty()
                        && r.stock().await == (STOCK, 0);
                    if !complete {
                        t.lost.push(format!(
                            "{what}: {:?}, marker {:?}, parked {parked:?}, {} cancels",
                            order.status,
                            order.seller_cancel,
                            cancels.len()
                        ));
                    }
                    if cancels.len() > 2 || (cancels.len() == 2 && !may_repeat) {
                        t.duplicated
                            .push(format!("{what}: VTEX took {} cancels", cancels.len()));
                    }
                }
            }
        }
    }
    eprintln!(
        "{} {flow:?}: {} scenarios ({steps} crash points × before/after), lost: {}, duplicated: {}",
        b.name,
        t.scenarios,
        t.lost.len(),
        t.duplicated.len()
    );
    t
}

async fn all_flows(b: Backend) {
    for flow in [Flow::Invoice, Flow::Cancel, Flow::CancelRefusing] {
        let t = every_crash_point(&b, flow).await;
        assert!(t.scenarios >= 8, "{t:?}");
        assert!(t.lost.is_empty(), "lost: {:#?}", t.lost);
        assert!(t.duplicated.is_empty(), "duplicated: {:#?}", t.duplicated);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_crash_point_of_an_invoice_and_a_seller_cancel_ends_complete_on_the_embedded_store() {
    all_flows(embedded()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_crash_point_of_an_invoice_and_a_seller_cancel_ends_complete_on_dynamodb() {
    let Some(b) = moto().await else { return };
    all_flows(b).await;
}
