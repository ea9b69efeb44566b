//! A marketplace cancel that arrives while a sale invoice is in flight (recorded *Pending*, its POST
//! not yet answered by a slowed stand-in) is not confirmed (CONTRACT.md §5.4): the answer is the
//! refuse path (empty 200, the request recorded), the stock stays held, and once OMS acknowledges
//! the invoice the order is INVOICED, never CANCELED.

use dispatch::{Backoff, Deps, handle};
use domain::clock::{Clock, SystemClock};
use domain::erp::{ErpCommand, ErpMessage, OrderRef};
use domain::invoice_store::InvoiceStore;
use domain::invoicing::{Invoice, InvoiceItem, InvoiceType, SendState};
use domain::money::Cents;
use domain::order::OrderStatus;
use domain::ports::OrderStore;
use domain::store_support::load_catalog;
use embedded_store::EmbeddedStore;
use embedded_store::invoices::SqliteInvoices;
use lambda_http::{Body, Request};
use local::event_source::poll_once;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use vtex::client::VtexClient;

const PLACEMENT: &str = include_str!("../../../events/order-placement.array.json");
const FULFILL: &str = include_str!("../../../events/fulfillment.fulfill.json");
const CANCEL: &str = include_str!("../../../events/fulfillment.cancel.json");
const EVENT_ORDER_ID: &str = "SLR-7Q2M9K4D1X8B5N3R6T0V";

fn request(sample: &str, id: &str) -> Request {
    let mut ev: Value = serde_json::from_str(sample).unwrap();
    let path = ev["rawPath"].as_str().unwrap().replace(EVENT_ORDER_ID, id);
    ev["rawPath"] = json!(path);
    ev["requestContext"]["http"]["path"] = json!(path);
    lambda_http::request::from_str(&ev.to_string()).unwrap()
}

fn text(body: &Body) -> String {
    match body {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marketplace_cancel_while_the_invoice_is_in_flight_is_refused_and_the_order_invoiced() {
    let (addr, standin) = vtex_standin::serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let store = EmbeddedStore::open_in_memory().unwrap();
    let catalog: domain::catalog::CatalogFile =
        serde_json::from_str(include_str!("../../../shared/sample/catalog.json")).unwrap();
    load_catalog(&store, &catalog).await.unwrap();
    let shared = Arc::new(store.clone());
    let invoices = Arc::new(SqliteInvoices::new(&store).unwrap());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    let ev: Value = serde_json::from_str(PLACEMENT).unwrap();
    let body: Value = serde_json::from_str(ev["body"].as_str().unwrap()).unwrap();
    standin.state().place(&body).unwrap();
    let placement = order_placement::Deps::new(
        shared.clone(),
        shared.clone(),
        shared.clone(),
        clock.clone(),
        order_placement::Config::default(),
    );
    let placed = order_placement::handle(&placement, request(PLACEMENT, "")).await;
    let placed: Value = serde_json::from_str(&text(placed.body())).unwrap();
    let id = placed[0]["orderId"].as_str().unwrap().to_string();
    let fulfillment = fulfillment::Deps::new(
        shared.clone(),
        shared.clone(),
        shared.clone(),
        clock.clone(),
        fulfillment::Config::default(),
    )
    .with_invoices(invoices.clone());
    let fulfilled = fulfillment::handle(&fulfillment, request(FULFILL, &id)).await;
    assert_eq!(fulfilled.status(), 200);

    // OMS is slow: the invoice stays in flight long enough for the marketplace to cancel.
    standin.state().set_faults(vtex_standin::FaultPlan {
        delay_ms: Some(1500),
        ..Default::default()
    });
    let queue = store.queue("dispatch").with_max_receives(3);
    let deps = Deps {
        orders: shared.clone(),
        invoices: invoices.clone(),
        vtex: Arc::new(VtexClient::new(format!("http://{addr}"), standin.credentials()).unwrap()),
        queue: Arc::new(queue.clone()),
        clock,
        default_an: None,
        backoff: Backoff {
            base: Duration::ZERO,
            max: Duration::ZERO,
        },
    };
    let invoice = Invoice {
        kind: InvoiceType::Output,
        invoice_number: "NFe-00001".into(),
        invoice_value: Cents(11_080),
        issuance_date: "2026-11-22T10:15:00-03:00".into(),
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
    };
    let msg = ErpMessage::new(OrderRef::by_order_id(&id), ErpCommand::Invoice { invoice });
    queue.send(&msg.to_json(), Some(&id), None).await.unwrap();
    let dispatching = {
        let queue = queue.clone();
        tokio::spawn(async move {
            poll_once(&queue, 10, Duration::from_secs(30), |e| handle(&deps, e))
                .await
                .unwrap();
        })
    };
    // Wait for the dispatcher's Pending record: from here the POST is on its way.
    let mut pending = false;
    for _ in 0..200 {
        let records = invoices.list_by_order(&id).await.unwrap();
        if records.iter().any(|r| r.state == SendState::Pending) {
            pending = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(pending, "the dispatcher never recorded the invoice");

    let canceled = fulfillment::handle(&fulfillment, request(CANCEL, &id)).await;
    assert_eq!(canceled.status(), 200);
    assert_eq!(
        text(canceled.body()),
        "",
        "refused: an empty body, no confirmation"
    );
    let order = shared.get(&id).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Authorized);
    assert!(order.canceled.is_none());
    assert!(order.pending_cancellation.is_some());

    dispatching.await.unwrap();
    let order = shared.get(&id).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Invoiced);
    assert!(!standin.state().oms.lock().unwrap().orders["959311095"].canceled);
}
