//! The dispatcher on in-memory stores and a fake OMS (GIVEN an authorized order, WHEN the ERP's
//! message arrives and OMS answers so, THEN the bookkeeping, the order and its log follow).

use super::*;
use crate::clock::SystemClock;
use crate::invoice_store::MemoryInvoices;
use crate::memory::MemoryStore;
use crate::money::Cents;
use crate::order::{OrderLine, OrderStatus};
use crate::outbound::{CallOutcome, CallResult, Receipt};
use crate::ports::{CatalogWriter, PlaceOutcome, StockEffect};
use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use std::sync::Mutex;
use std::time::Duration;

/// Answers every call with the next scripted outcome (then `Success`), and records the calls.
#[derive(Default)]
struct FakeOms {
    answers: Mutex<Vec<CallOutcome<Receipt>>>,
    calls: Mutex<Vec<String>>,
    /// What `GET …/orders/{id}` reads as the order's status (`None`: no such order).
    oms_status: Mutex<Option<String>>,
    /// `GET …/orders/{id}` answers 503.
    oms_read_fails: Mutex<bool>,
}

impl FakeOms {
    fn answering(answers: Vec<CallOutcome<Receipt>>) -> Self {
        FakeOms {
            answers: Mutex::new(answers),
            calls: Mutex::default(),
            oms_status: Mutex::default(),
            oms_read_fails: Mutex::default(),
        }
    }

    fn answer(&self, call: String) -> CallResult<Receipt> {
        self.calls.lock().unwrap().push(call);
        let mut a = self.answers.lock().unwrap();
        Ok(if a.is_empty() {
            CallOutcome::Success(Receipt(Some("r-1".into())))
        } else {
            a.remove(0)
        })
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl MarketplaceOms for FakeOms {
    async fn invoice(&self, an: &str, mkp: &str, invoice: &Invoice) -> CallResult<Receipt> {
        self.answer(format!("invoice {an}/{mkp}/{}", invoice.invoice_number))
    }

    async fn tracking(
        &self,
        an: &str,
        mkp: &str,
        number: &str,
        t: &TrackingInfo,
    ) -> CallResult<Receipt> {
        self.answer(format!(
            "tracking {an}/{mkp}/{number}/{}",
            t.tracking_number
        ))
    }

    async fn tracking_events(
        &self,
        an: &str,
        mkp: &str,
        number: &str,
        _: &TrackingStatus,
    ) -> CallResult<Receipt> {
        self.answer(format!("events {an}/{mkp}/{number}"))
    }

    async fn cancel(&self, an: &str, mkp: &str, reason: &str) -> CallResult<Receipt> {
        self.answer(format!("cancel {an}/{mkp}/{reason}"))
    }

    async fn order_status(&self, an: &str, mkp: &str) -> CallResult<Option<String>> {
        self.calls.lock().unwrap().push(format!("order {an}/{mkp}"));
        if *self.oms_read_fails.lock().unwrap() {
            return Ok(CallOutcome::Retryable {
                retry_after: None,
                reason: "VTEX answered 503".into(),
            });
        }
        Ok(CallOutcome::Success(
            self.oms_status.lock().unwrap().clone(),
        ))
    }
}

struct World {
    store: MemoryStore,
    invoices: Arc<MemoryInvoices>,
    oms: Arc<FakeOms>,
    dispatcher: Dispatcher,
}

/// Our order 123543123 = marketplace order 959311095 on `luxstore`: SKU 2002495 at 9990 + 1090
/// freight = 11080, authorized by /fulfill.
async fn world(oms: FakeOms) -> World {
    let store = MemoryStore::new();
    let sku = serde_json::from_value(serde_json::json!({
        "id": "2002495", "name": "Capa slimfit", "prices": [],
        "stock": { "wh1": { "onHand": 10, "reserved": 0 } }
    }))
    .unwrap();
    store.upsert_sku(&sku).await.unwrap();
    let at = Utc.with_ymd_and_hms(2014, 10, 6, 18, 52, 0).unwrap();
    let order = Order {
        order_id: "123543123".into(),
        an: "luxstore".into(),
        sc: Some("1".into()),
        marketplace_order_id: "959311095".into(),
        marketplace_order_group: None,
        marketplace_services_endpoint: None,
        marketplace_payment_value: Cents(11080),
        status: OrderStatus::Reserved,
        lines: vec![OrderLine {
            index: 0,
            sku_id: "2002495".into(),
            quantity: 1,
            unit_price: Cents(9990),
            freight: Cents(1090),
            selected_sla: None,
            location_id: "wh1".into(),
            lock_ttl: None,
            shipping_estimate: None,
            delivery_window: None,
        }],
        address: None,
        customer: None,
        created_at: at,
        expires_at: at + chrono::Duration::days(8),
        authorized: None,
        canceled: None,
        pending_cancellation: None,
        seller_cancel: None,
        value: None,
        version: 0,
    };
    let PlaceOutcome::Created(mut placed) = store.create_reserved(&order).await.unwrap() else {
        panic!("placement failed")
    };
    placed.status = OrderStatus::Authorized;
    assert!(matches!(
        store.save(&placed, StockEffect::None).await.unwrap(),
        SaveOutcome::Saved(_)
    ));
    let invoices = Arc::new(MemoryInvoices::new());
    let oms = Arc::new(oms);
    let dispatcher = Dispatcher {
        orders: Arc::new(store.clone()),
        invoices: invoices.clone(),
        oms: oms.clone(),
        clock: Arc::new(SystemClock),
        default_an: None,
        backoff: Backoff {
            base: Duration::from_secs(4),
            max: Duration::from_secs(60),
        },
    };
    World {
        store,
        invoices,
        oms,
        dispatcher,
    }
}

const INVOICE: &str = r#"{"type": "invoice", "version": 1, "messageId": "erp-0001",
  "marketplaceOrderId": "959311095", "an": "luxstore",
  "invoice": {"type": "Output", "issuanceDate": "2014-10-07T10:15:00-03:00",
    "invoiceNumber": "NFe-00001", "invoiceValue": 11080,
    "items": [{"id": "2002495", "price": 9990, "quantity": 1}]}}"#;

fn attempt(receive_count: u32) -> Attempt<'static> {
    Attempt {
        message_id: "m-1",
        receive_count,
    }
}

impl World {
    async fn order(&self) -> Order {
        self.store.get("123543123").await.unwrap().unwrap()
    }

    async fn record(&self) -> InvoiceRecord {
        self.invoices
            .get("123543123", "NFe-00001")
            .await
            .unwrap()
            .unwrap()
    }

    async fn log(&self) -> Vec<String> {
        self.store
            .read_log("123543123")
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{:?} {}: {}", e.outcome, e.step, e.detail))
            .collect()
    }
}

#[tokio::test]
async fn an_acknowledged_full_invoice_is_recorded_sent_and_invoices_the_order() {
    let w = world(FakeOms::default()).await;
    let done = w.dispatcher.process(attempt(1), INVOICE.as_bytes()).await;
    assert_eq!(
        done,
        Dispatched {
            disposition: Disposition::Done,
            invoice_sent: true
        }
    );
    assert_eq!(w.oms.calls(), ["invoice luxstore/959311095/NFe-00001"]);
    assert_eq!(w.record().await.state, SendState::Sent);
    assert_eq!(w.order().await.status, OrderStatus::Invoiced);
    let log = w.log().await;
    assert!(
        log.iter().any(|l| l.starts_with("Success dispatch.invoice")
            && l.contains("acknowledged, receipt r-1")),
        "{log:#?}"
    );
    assert!(log.iter().any(|l| l.starts_with("Success dispatch.status")));
}

#[tokio::test]
async fn a_throttled_invoice_stays_pending_and_comes_back_after_retry_after() {
    let w = world(FakeOms::answering(vec![CallOutcome::Retryable {
        retry_after: Some(Duration::from_secs(7)),
        reason: "VTEX answered 429".into(),
    }]))
    .await;
    let done = w.dispatcher.process(attempt(2), INVOICE.as_bytes()).await;
    assert_eq!(
        done.disposition,
        Disposition::Retry {
            after: Duration::from_secs(7)
        }
    );
    assert!(!done.invoice_sent);
    assert_eq!(w.record().await.state, SendState::Pending);
    assert_eq!(w.order().await.status, OrderStatus::Authorized);
    let log = w.log().await;
    assert!(
        log.iter().any(|l| l.starts_with("Pending dispatch.invoice")
            && l.contains("VTEX answered 429 (attempt 2); retry in 7s")),
        "{log:#?}"
    );
    // The next delivery sends it again and finishes the job.
    let again = w.dispatcher.process(attempt(3), INVOICE.as_bytes()).await;
    assert_eq!(again.disposition, Disposition::Done);
    assert_eq!(w.oms.calls().len(), 2);
    assert_eq!(w.order().await.status, OrderStatus::Invoiced);
}

#[tokio::test]
async fn a_refused_invoice_is_recorded_rejected_and_parked_with_vtex_reason() {
    let w = world(FakeOms::answering(vec![CallOutcome::Rejected {
        status: 400,
        body: "invalid invoice".into(),
    }]))
    .await;
    let done = w.dispatcher.process(attempt(1), INVOICE.as_bytes()).await;
    let Disposition::DeadLetter { code, reason } = done.disposition else {
        panic!("not parked: {done:?}")
    };
    assert_eq!(code, "VTEX_400");
    assert!(reason.contains("VTEX refused it with 400: invalid invoice"));
    assert_eq!(w.record().await.state, SendState::Rejected);
    assert_eq!(w.order().await.status, OrderStatus::Authorized);
}

#[tokio::test]
async fn an_unknown_order_is_parked_without_calling_vtex() {
    let w = world(FakeOms::default()).await;
    let body = INVOICE.replace("959311095", "000");
    let done = w.dispatcher.process(attempt(1), body.as_bytes()).await;
    assert!(matches!(
        done.disposition,
        Disposition::DeadLetter { ref code, .. } if code == "UNKNOWN_ORDER"
    ));
    assert!(w.oms.calls().is_empty());
}

#[tokio::test]
async fn an_order_placed_without_an_calls_the_account_its_services_endpoint_names() {
    let w = world(FakeOms::default()).await;
    let mut o = w.order().await;
    o.an = String::new();
    o.marketplace_services_endpoint =
        Some("https://luxstore.vtexcommercestable.com.br/api/oms?an=luxstore&sc=1".into());
    assert!(matches!(
        w.store.save(&o, StockEffect::None).await.unwrap(),
        SaveOutcome::Saved(_)
    ));
    let by_our_id = INVOICE.replace(
        r#""marketplaceOrderId": "959311095", "an": "luxstore","#,
        r#""orderId": "123543123","#,
    );
    w.dispatcher.process(attempt(1), by_our_id.as_bytes()).await;
    assert_eq!(w.oms.calls(), ["invoice luxstore/959311095/NFe-00001"]);
}

#[test]
fn the_account_is_read_from_the_endpoint_only_when_it_is_a_plain_name() {
    let mut o = Order {
        an: String::new(),
        ..serde_json::from_value(serde_json::json!({
            "orderId": "SLR-1", "an": "", "marketplaceOrderId": "m", "marketplacePaymentValue": 0,
            "status": "AUTHORIZED", "lines": [], "createdAt": "2026-01-02T03:04:05Z",
            "expiresAt": "2026-01-02T03:04:05Z"
        }))
        .unwrap()
    };
    for (endpoint, account) in [
        (None, ""),
        (Some("https://mkp.example/api/oms"), ""),
        (Some("https://mkp.example/api/oms?sc=1&an=shop-2"), "shop-2"),
        (Some("https://mkp.example/api/oms?an=a%2Fb"), ""),
        (Some("https://mkp.example/?an=shop#frag"), "shop"),
    ] {
        o.marketplace_services_endpoint = endpoint.map(str::to_string);
        assert_eq!(o.account(), account, "{endpoint:?}");
    }
    o.an = "placed".into();
    assert_eq!(o.account(), "placed");
}

const CANCEL: &str = r#"{"type": "cancel", "version": 1, "messageId": "erp-c1",
  "marketplaceOrderId": "959311095", "an": "luxstore", "cancel": {"reason": "Out of stock"}}"#;

/// Orders whose save fails once the k-th time it is called (the order store dies mid-message).
struct SaveFailsAt {
    inner: MemoryStore,
    at: usize,
    saves: std::sync::atomic::AtomicUsize,
}

impl World {
    /// The dispatcher over an order store whose `at`-th save fails.
    fn failing_save(&self, at: usize) -> Dispatcher {
        let mut d = self.dispatcher.clone();
        d.orders = Arc::new(SaveFailsAt {
            inner: self.store.clone(),
            at,
            saves: Default::default(),
        });
        d
    }

    async fn stock(&self) -> (i64, i64) {
        use crate::ports::CatalogReader;
        let s = self.store.get_sku("2002495").await.unwrap().unwrap().stock["wh1"];
        (s.on_hand, s.reserved)
    }
}

#[async_trait]
impl OrderStore for SaveFailsAt {
    async fn create_reserved(&self, order: &Order) -> Result<PlaceOutcome, StoreError> {
        self.inner.create_reserved(order).await
    }
    async fn get(&self, order_id: &str) -> Result<Option<Order>, StoreError> {
        self.inner.get(order_id).await
    }
    async fn get_by_marketplace_id(&self, an: &str, id: &str) -> Result<Option<Order>, StoreError> {
        self.inner.get_by_marketplace_id(an, id).await
    }
    async fn save(&self, order: &Order, effect: StockEffect) -> Result<SaveOutcome, StoreError> {
        let n = self.saves.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        if n == self.at {
            return Err(StoreError::Unavailable(
                "injected: the store is down".into(),
            ));
        }
        self.inner.save(order, effect).await
    }
    async fn save_emitting(
        &self,
        order: &Order,
        effect: StockEffect,
        events: &[crate::ports::OrderEvent],
    ) -> Result<SaveOutcome, StoreError> {
        self.inner.save_emitting(order, effect, events).await
    }
    async fn emit(&self, events: &[crate::ports::OrderEvent]) -> Result<(), StoreError> {
        self.inner.emit(events).await
    }
    async fn expired_reservations(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, StoreError> {
        self.inner.expired_reservations(now, limit).await
    }
    async fn append_log(
        &self,
        order_id: &str,
        entry: &crate::order::LogEntry,
    ) -> Result<(), StoreError> {
        self.inner.append_log(order_id, entry).await
    }
    async fn read_log(&self, order_id: &str) -> Result<Vec<crate::order::LogEntry>, StoreError> {
        self.inner.read_log(order_id).await
    }
}

#[tokio::test]
async fn a_seller_cancel_is_recorded_pending_before_the_call_and_cleared_with_the_stock() {
    let w = world(FakeOms::default()).await;
    let done = w.dispatcher.process(attempt(1), CANCEL.as_bytes()).await;
    assert_eq!(done.disposition, Disposition::Done);
    assert_eq!(w.oms.calls(), ["cancel luxstore/959311095/Out of stock"]);
    let o = w.order().await;
    assert_eq!(o.status, OrderStatus::Canceled);
    assert_eq!(
        o.seller_cancel, None,
        "the marker is cleared with the cancel"
    );
    assert_eq!(o.canceled.unwrap().request_id.as_deref(), Some("erp-c1"));
    assert_eq!(w.stock().await, (10, 0), "the held unit is released");
}

#[tokio::test]
async fn a_cancel_whose_final_save_failed_is_completed_when_vtex_refuses_the_repeat_and_reads_canceled()
 {
    // VTEX takes the first call; the save after it fails; the repeat is refused (409).
    let w = world(FakeOms::answering(vec![
        CallOutcome::Success(Receipt(Some("r-c".into()))),
        CallOutcome::Rejected {
            status: 409,
            body: "order already canceled".into(),
        },
    ]))
    .await;
    let first = w
        .failing_save(2)
        .process(attempt(1), CANCEL.as_bytes())
        .await;
    assert!(
        matches!(first.disposition, Disposition::Retry { .. }),
        "{first:?}"
    );
    let o = w.order().await;
    assert_eq!(o.status, OrderStatus::Authorized);
    assert!(o.seller_cancel.is_some(), "the intent survived the crash");
    *w.oms.oms_status.lock().unwrap() = Some("canceled".into());

    let again = w.dispatcher.process(attempt(2), CANCEL.as_bytes()).await;
    assert_eq!(again.disposition, Disposition::Done, "{again:?}");
    assert_eq!(
        w.oms.calls(),
        [
            "cancel luxstore/959311095/Out of stock",
            "cancel luxstore/959311095/Out of stock",
            "order luxstore/959311095"
        ]
    );
    let o = w.order().await;
    assert_eq!((o.status, o.seller_cancel), (OrderStatus::Canceled, None));
    assert_eq!(w.stock().await, (10, 0));
}

#[tokio::test]
async fn a_refused_repeat_of_an_order_vtex_does_not_read_canceled_is_parked_and_the_marker_cleared()
{
    let w = world(FakeOms::answering(vec![
        CallOutcome::Retryable {
            retry_after: None,
            reason: "timeout".into(),
        },
        CallOutcome::Rejected {
            status: 400,
            body: "An invoiced order cannot be canceled".into(),
        },
    ]))
    .await;
    let first = w.dispatcher.process(attempt(1), CANCEL.as_bytes()).await;
    assert!(matches!(first.disposition, Disposition::Retry { .. }));
    *w.oms.oms_status.lock().unwrap() = Some("invoiced".into());
    let again = w.dispatcher.process(attempt(2), CANCEL.as_bytes()).await;
    assert!(
        matches!(again.disposition, Disposition::DeadLetter { ref code, .. } if code == "VTEX_400"),
        "{again:?}"
    );
    let o = w.order().await;
    assert_eq!((o.status, o.seller_cancel), (OrderStatus::Authorized, None));
    assert_eq!(w.stock().await, (10, 1), "still held: nothing was canceled");
}

#[tokio::test]
async fn an_invoice_waits_while_a_seller_cancel_is_in_flight() {
    let w = world(FakeOms::answering(vec![CallOutcome::Retryable {
        retry_after: None,
        reason: "timeout".into(),
    }]))
    .await;
    w.dispatcher.process(attempt(1), CANCEL.as_bytes()).await;
    let done = w.dispatcher.process(attempt(1), INVOICE.as_bytes()).await;
    assert!(
        matches!(done.disposition, Disposition::Retry { .. }),
        "{done:?}"
    );
    assert_eq!(w.oms.calls().len(), 1, "the invoice was not sent");
}

#[tokio::test]
async fn an_invoice_the_store_refuses_past_the_order_value_is_not_sent_and_decided_again() {
    let w = world(FakeOms::default()).await;
    // Another group's full invoice was recorded between this message's read and its write.
    let mut other = w.record_of("NFe-OTHER");
    other.invoice.invoice_number = "NFe-OTHER".into();
    assert!(matches!(
        w.invoices.create_once(&other, Cents(11080)).await.unwrap(),
        CreateOutcome::Created(_)
    ));
    let racing = RaceAfterRead {
        inner: w.invoices.clone(),
        hidden: "NFe-OTHER",
    };
    let mut d = w.dispatcher.clone();
    d.invoices = Arc::new(racing);
    let done = d.process(attempt(1), INVOICE.as_bytes()).await;
    assert!(
        matches!(done.disposition, Disposition::Retry { .. }),
        "{done:?}"
    );
    assert!(w.oms.calls().is_empty(), "nothing reached VTEX");
    assert!(
        w.invoices
            .get("123543123", "NFe-00001")
            .await
            .unwrap()
            .is_none(),
        "nothing was recorded"
    );
    let log = w.log().await;
    assert!(
        log.iter().any(|l| l.starts_with("Pending dispatch.invoice")
            && l.contains("already add up to 11080 of 11080")),
        "{log:#?}"
    );
    // The next delivery reads the other record and parks this one by the rules.
    let again = w.dispatcher.process(attempt(2), INVOICE.as_bytes()).await;
    assert!(
        matches!(again.disposition, Disposition::DeadLetter { .. }),
        "{again:?}"
    );
}

impl World {
    /// A pending record of the sample invoice under `number`.
    fn record_of(&self, number: &str) -> InvoiceRecord {
        let mut inv: Invoice = serde_json::from_value(
            serde_json::from_str::<serde_json::Value>(INVOICE).unwrap()["invoice"].clone(),
        )
        .unwrap();
        inv.invoice_number = number.into();
        InvoiceRecord::pending("123543123", &inv, Utc::now())
    }
}

/// Reads that do not yet see the record `hidden` (written by a racing delivery after this one
/// read); writes go to the real store, which does.
struct RaceAfterRead {
    inner: Arc<MemoryInvoices>,
    hidden: &'static str,
}

#[async_trait]
impl InvoiceStore for RaceAfterRead {
    async fn create_once(
        &self,
        record: &InvoiceRecord,
        limit: Cents,
    ) -> Result<CreateOutcome, StoreError> {
        self.inner.create_once(record, limit).await
    }
    async fn get(&self, order_id: &str, number: &str) -> Result<Option<InvoiceRecord>, StoreError> {
        self.inner.get(order_id, number).await
    }
    async fn list_by_order(&self, order_id: &str) -> Result<Vec<InvoiceRecord>, StoreError> {
        let mut all = self.inner.list_by_order(order_id).await?;
        all.retain(|r| r.number() != self.hidden);
        Ok(all)
    }
    async fn save(&self, record: &InvoiceRecord, tally: Tally) -> Result<RecordSave, StoreError> {
        self.inner.save(record, tally).await
    }
    async fn invoiced(
        &self,
        order_id: &str,
    ) -> Result<crate::invoice_store::InvoicedSums, StoreError> {
        self.inner.invoiced(order_id).await
    }
}

#[tokio::test]
async fn an_invoice_vtex_refused_no_longer_counts_so_a_corrected_one_is_sent() {
    let w = world(FakeOms::answering(vec![CallOutcome::Rejected {
        status: 400,
        body: "invalid invoice".into(),
    }]))
    .await;
    let first = w.dispatcher.process(attempt(1), INVOICE.as_bytes()).await;
    assert!(matches!(first.disposition, Disposition::DeadLetter { .. }));
    assert_eq!(
        w.invoices.invoiced("123543123").await.unwrap().output,
        Cents::ZERO,
        "the refusal moved the sum back"
    );
    let corrected = INVOICE.replace("NFe-00001", "NFe-00002");
    let again = w.dispatcher.process(attempt(1), corrected.as_bytes()).await;
    assert_eq!(again.disposition, Disposition::Done, "{again:?}");
    assert_eq!(w.order().await.status, OrderStatus::Invoiced);
    assert_eq!(
        w.invoices.invoiced("123543123").await.unwrap().output,
        Cents(11080)
    );
}

#[tokio::test]
async fn a_return_racing_another_full_return_is_not_sent_past_what_was_invoiced() {
    let w = world(FakeOms::default()).await;
    assert_eq!(
        w.dispatcher
            .process(attempt(1), INVOICE.as_bytes())
            .await
            .disposition,
        Disposition::Done
    );
    // A full return from another group, recorded after this message read the records.
    let mut other = w.record_of("RET-OTHER");
    other.invoice.kind = crate::invoicing::InvoiceType::Input;
    assert!(matches!(
        w.invoices.create_once(&other, Cents(11080)).await.unwrap(),
        CreateOutcome::Created(_)
    ));
    let mut d = w.dispatcher.clone();
    d.invoices = Arc::new(RaceAfterRead {
        inner: w.invoices.clone(),
        hidden: "RET-OTHER",
    });
    let ret = INVOICE
        .replace(r#""type": "Output""#, r#""type": "Input""#)
        .replace("NFe-00001", "RET-00001");
    let done = d.process(attempt(1), ret.as_bytes()).await;
    assert!(
        matches!(done.disposition, Disposition::Retry { .. }),
        "{done:?}"
    );
    assert_eq!(w.oms.calls().len(), 1, "only the sale invoice reached VTEX");
    assert_eq!(
        w.invoices.invoiced("123543123").await.unwrap().input,
        Cents(11080),
        "returns never pass what was invoiced"
    );
}

#[tokio::test]
async fn a_refused_repeat_whose_oms_read_fails_comes_back_with_the_marker_kept() {
    let w = world(FakeOms::answering(vec![
        CallOutcome::Success(Receipt(Some("r-c".into()))),
        CallOutcome::Rejected {
            status: 409,
            body: "order already canceled".into(),
        },
    ]))
    .await;
    w.failing_save(2)
        .process(attempt(1), CANCEL.as_bytes())
        .await;
    *w.oms.oms_read_fails.lock().unwrap() = true;
    let again = w.dispatcher.process(attempt(2), CANCEL.as_bytes()).await;
    assert!(
        matches!(again.disposition, Disposition::Retry { .. }),
        "{again:?}"
    );
    let o = w.order().await;
    assert_eq!(o.status, OrderStatus::Authorized);
    assert!(o.seller_cancel.is_some(), "still unknown whether it landed");
    // OMS answers again and reads canceled: the next delivery completes it.
    *w.oms.oms_read_fails.lock().unwrap() = false;
    *w.oms.oms_status.lock().unwrap() = Some("canceled".into());
    w.oms.answers.lock().unwrap().push(CallOutcome::Rejected {
        status: 409,
        body: "order already canceled".into(),
    });
    let last = w.dispatcher.process(attempt(3), CANCEL.as_bytes()).await;
    assert_eq!(last.disposition, Disposition::Done, "{last:?}");
    assert_eq!(w.order().await.status, OrderStatus::Canceled);
    assert_eq!(w.stock().await, (10, 0));
}
