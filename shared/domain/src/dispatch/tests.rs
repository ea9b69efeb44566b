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
}

impl FakeOms {
    fn answering(answers: Vec<CallOutcome<Receipt>>) -> Self {
        FakeOms {
            answers: Mutex::new(answers),
            calls: Mutex::default(),
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
