//! Issue 11's promotion, end to end over the embedded store: VTEX places an order whose item carries
//! a marketplace discount (`priceTags` value -1000, `marketplacePaymentValue` 1000 lower), the
//! placement and fulfillment handlers take it, the stand-in holds it as VTEX placed it (its value
//! computed from the same body, by the stand-in alone), and the ERP invoices what VTEX holds: the
//! discounted unit price with `invoiceValue` = `marketplacePaymentValue`. The invoice reaches OMS and
//! the order becomes INVOICED.

use dispatch::{Backoff, Deps, handle};
use domain::clock::{Clock, SystemClock};
use domain::erp::{ErpCommand, ErpMessage, OrderRef};
use domain::invoicing::{Invoice, InvoiceItem, InvoiceType};
use domain::money::Cents;
use domain::order::OrderStatus;
use domain::ports::OrderStore;
use domain::store_support::load_catalog;
use embedded_store::EmbeddedStore;
use embedded_store::invoices::SqliteInvoices;
use lambda_http::{Body, Request, Response};
use local::event_source::poll_once;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use vtex::client::VtexClient;

const PLACEMENT: &str = include_str!("../../../events/order-placement.array.json");
const FULFILL: &str = include_str!("../../../events/fulfillment.fulfill.json");
const ADMIN: &str = include_str!("../../../events/fulfillment.admin-order.json");
const EVENT_ORDER_ID: &str = "SLR-7Q2M9K4D1X8B5N3R6T0V";

fn request(sample: &str, id: &str, body: Option<&Value>) -> Request {
    let mut ev: Value = serde_json::from_str(sample).unwrap();
    let path = ev["rawPath"].as_str().unwrap().replace(EVENT_ORDER_ID, id);
    ev["rawPath"] = json!(path);
    ev["requestContext"]["http"]["path"] = json!(path);
    if let Some(b) = body {
        ev["body"] = Value::String(b.to_string());
    }
    lambda_http::request::from_str(&ev.to_string()).unwrap()
}

fn json_of(resp: &Response<Body>) -> Value {
    assert_eq!(resp.status(), 200, "{:?}", resp.body());
    match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        Body::Binary(b) => serde_json::from_slice(b).unwrap(),
        _ => Value::Null,
    }
}

/// The sample placement with the promotion: 9990 less 10.00 off, 1090 freight; VTEX pays 10080.
fn promotion_placement() -> Value {
    let ev: Value = serde_json::from_str(PLACEMENT).unwrap();
    let mut body: Value = serde_json::from_str(ev["body"].as_str().unwrap()).unwrap();
    body[0]["marketplacePaymentValue"] = json!(10_080);
    body[0]["items"][0]["priceTags"] = json!([{
        "name": "DISCOUNT@MARKETPLACE", "value": -1000, "isPercentual": false,
        "identifier": "026be20b-9839-486e-9e6e-8987a93eb92a", "rawValue": -10.0
    }]);
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promotion_is_invoiced_for_what_vtex_holds_and_the_order_becomes_invoiced() {
    let (addr, standin) = vtex_standin::serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let store = EmbeddedStore::open_in_memory().unwrap();
    let catalog: domain::catalog::CatalogFile =
        serde_json::from_str(include_str!("../../../shared/sample/catalog.json")).unwrap();
    load_catalog(&store, &catalog).await.unwrap();
    let shared = Arc::new(store.clone());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    // VTEX places the order with the seller, and holds it.
    let body = promotion_placement();
    let held = standin.state().place(&body).unwrap();
    assert_eq!(held[0].value, 10_080);
    let placement = order_placement::Deps::new(
        shared.clone(),
        shared.clone(),
        shared.clone(),
        clock.clone(),
        order_placement::Config::default(),
    );
    let placed =
        json_of(&order_placement::handle(&placement, request(PLACEMENT, "", Some(&body))).await);
    let id = placed[0]["orderId"].as_str().unwrap().to_string();
    // The placement response echoes the tags as VTEX sent them.
    assert_eq!(placed[0]["items"][0]["priceTags"][0]["value"], -1000);

    let fulfillment = fulfillment::Deps::new(
        shared.clone(),
        shared.clone(),
        shared.clone(),
        clock.clone(),
        fulfillment::Config::default(),
    );
    json_of(&fulfillment::handle(&fulfillment, request(FULFILL, &id, None)).await);

    // The operator sees the value and how it was reached.
    let view = json_of(&fulfillment::handle(&fulfillment, request(ADMIN, &id, None)).await);
    assert_eq!(view["totals"]["total"], 10_080);
    assert_eq!(view["totals"]["priceTags"], -1000);
    assert_eq!(view["totals"]["valueSource"], "computed");
    assert_eq!(view["lines"][0]["discountedUnitPrice"], 8990);

    // The ERP invoices what VTEX holds.
    let queue = store.queue("dispatch").with_max_receives(3);
    let deps = Deps {
        orders: shared.clone(),
        invoices: Arc::new(SqliteInvoices::new(&store).unwrap()),
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
        invoice_number: "NFe-PROMO-1".into(),
        invoice_value: Cents(10_080),
        issuance_date: "2026-11-22T10:15:00-03:00".into(),
        items: vec![InvoiceItem {
            id: "2002495".into(),
            quantity: 1,
            price: Cents(8990),
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
    for _ in 0..10 {
        poll_once(&queue, 10, Duration::from_secs(30), |e| handle(&deps, e))
            .await
            .unwrap();
        if queue.is_empty().await.unwrap() {
            break;
        }
    }
    assert_eq!(
        queue.dlq().len().await.unwrap(),
        0,
        "the invoice was parked"
    );
    let posted: Vec<_> = standin
        .state()
        .requests()
        .into_iter()
        .filter(|r| r.accepted() && r.path.ends_with("/invoice"))
        .collect();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].path, "/api/oms/pvt/orders/959311095/invoice");
    assert_eq!(
        posted[0].body["invoiceValue"],
        body[0]["marketplacePaymentValue"]
    );
    assert_eq!(posted[0].body["items"][0]["price"], 8990);
    assert_eq!(
        standin.state().oms.lock().unwrap().orders["959311095"].status(),
        "invoiced"
    );
    assert_eq!(
        shared.get(&id).await.unwrap().unwrap().status,
        OrderStatus::Invoiced
    );
}
