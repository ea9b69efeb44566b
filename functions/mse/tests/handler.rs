//! Handler tests: the sample notification `events/mse.invoice.json` through `handle`, with
//! in-memory stores and a recording ERP queue (GIVEN an imported order placed in VTEX, WHEN VTEX
//! notifies its invoice, THEN the ERP hears of it once and VTEX always gets the same receipt).

use async_trait::async_trait;
use domain::clock::SystemClock;
use domain::import::contract::sample;
use domain::import::{
    ImportCreate, ImportEvents, ImportSave, ImportStore, InvoiceNotified, MemoryImportQueue,
    MemoryImports,
};
use domain::memory::MemoryStore;
use domain::ports::{OrderStore, StoreError};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use lambda_kit::auth::{InboundAuth, Secret};
use mse::{Config, Deps, handle};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const EVENT: &str = include_str!("../../../events/mse.invoice.json");
/// The secret segment of every sample HTTP event (and of `events/env-vars.json`).
const SECRET: &str = "s3cr3t-7Hq2";
const ORDER_ID: &str = "EXT-2630580124";

/// The ERP queue; `down` makes it fail.
#[derive(Clone, Default)]
struct Erp {
    inner: MemoryImportQueue,
    down: Arc<AtomicBool>,
}

#[async_trait]
impl ImportEvents for Erp {
    async fn publish_invoice_notified(&self, e: &InvoiceNotified) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("queue down".into()));
        }
        self.inner.publish_invoice_notified(e).await
    }
}

struct World {
    deps: Deps,
    erp: Erp,
    log: MemoryStore,
    imports: MemoryImports,
}

/// GIVEN the §Example story import placed in VTEX as `EXT-2630580124`.
async fn world() -> World {
    let imports = MemoryImports::new();
    let mut rec = sample("x");
    rec.key = domain::import::ImportKey::new("EXT", "2630580124");
    let ImportCreate::Created(mut rec) = imports.create_once(&rec).await.unwrap() else {
        panic!()
    };
    rec.placed(ORDER_ID, rec.created_at);
    let ImportSave::Saved(_) = imports.save(&rec).await.unwrap() else {
        panic!()
    };
    let erp = Erp::default();
    let log = MemoryStore::new();
    let deps = Deps {
        imports: Arc::new(imports.clone()),
        notifications: Arc::new(imports.clone()),
        events: Arc::new(erp.clone()),
        log: Arc::new(log.clone()),
        clock: Arc::new(SystemClock),
        config: Config {
            auth: InboundAuth {
                path_secret: Secret::new(SECRET),
                app_key: None,
                app_token: None,
            },
            ..Config::default()
        },
    };
    World {
        deps,
        erp,
        log,
        imports,
    }
}

fn request(mutate: impl FnOnce(&mut Value)) -> Request {
    let mut v: Value = serde_json::from_str(EVENT).unwrap();
    mutate(&mut v);
    lambda_http::request::from_str(&v.to_string()).unwrap()
}

fn sample_request() -> Request {
    request(|_| {})
}

fn body_of(resp: &Response<Body>) -> Value {
    match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        Body::Binary(b) => serde_json::from_slice(b).unwrap(),
        _ => Value::Null,
    }
}

fn with_body(v: &mut Value, body: Value) {
    v["body"] = Value::String(body.to_string());
}

#[tokio::test]
async fn a_notification_is_forwarded_once_and_answered_with_the_same_receipt() {
    let w = world().await;
    let first = handle(&w.deps, sample_request()).await;
    assert_eq!(first.status(), StatusCode::OK);
    let a = body_of(&first);
    assert_eq!(a["orderId"], ORDER_ID);
    assert!(a["receipt"].as_str().unwrap().len() >= 16);
    assert!(a["date"].as_str().unwrap().contains('T'));
    let again = handle(&w.deps, sample_request()).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(body_of(&again), a, "same receipt and date on a repeat");
    let events = w.erp.inner.published();
    assert_eq!(events.len(), 1, "a repeat is not forwarded again");
    let e = &events[0];
    assert_eq!(e.kind, "import.invoiceNotified");
    assert_eq!(e.affiliate_id.as_deref(), Some("EXT"));
    assert_eq!(e.marketplace_order_id.as_deref(), Some("2630580124"));
    assert_eq!(e.invoice_number, "NFe-2630580124");
    assert_eq!(e.invoice["invoiceValue"], 1100);
    let log = w.log.read_log("import:EXT:2630580124").await.unwrap();
    assert_eq!(log.len(), 2);
    assert!(log[0].detail.contains("forwarded to the ERP"));
    assert!(log[1].detail.contains("not forwarded again"));
    assert_eq!(w.imports.notifications().len(), 1);
}

#[tokio::test]
async fn the_same_invoice_with_tracking_is_a_new_notification() {
    let w = world().await;
    handle(&w.deps, sample_request()).await;
    let tracked = handle(
        &w.deps,
        request(|v| {
            let mut b: Value = serde_json::from_str(v["body"].as_str().unwrap()).unwrap();
            b["trackingNumber"] = json!("SR000987654321BR");
            b["courier"] = json!("Correios");
            with_body(v, b);
        }),
    )
    .await;
    assert_eq!(tracked.status(), StatusCode::OK);
    let events = w.erp.inner.published();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].invoice["trackingNumber"], "SR000987654321BR");
    assert_ne!(events[0].event_id, events[1].event_id);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_nothing_is_forwarded() {
    let w = world().await;
    let resp = handle(
        &w.deps,
        request(|v| {
            let p = v["rawPath"].as_str().unwrap().replace(SECRET, "guess");
            v["rawPath"] = json!(p);
            v["requestContext"]["http"]["path"] = json!(p);
        }),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body_of(&resp)["error"]["code"], "AUTH001");
    assert!(w.erp.inner.published().is_empty());
}

#[tokio::test]
async fn a_decimal_invoice_value_is_accepted_and_forwarded_as_vtex_sent_it() {
    let w = world().await;
    let resp = handle(
        &w.deps,
        request(|v| {
            let mut b: Value = serde_json::from_str(v["body"].as_str().unwrap()).unwrap();
            b["invoiceValue"] = json!(11.0);
            with_body(v, b);
        }),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let events = w.erp.inner.published();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].invoice["invoiceValue"], json!(11.0));
    assert!(events[0].invoice["invoiceValue"].is_f64());
}

#[tokio::test]
async fn malformed_bodies_get_a_400_envelope() {
    let w = world().await;
    for body in [
        json!("just text"),
        json!({"invoiceValue": 1100}),
        json!({"invoiceNumber": "N1", "invoiceValue": {"cents": 11}}),
        json!({"invoiceNumber": "N1", "items": {"id": "1"}}),
    ] {
        let resp = handle(&w.deps, request(|v| with_body(v, body.clone()))).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        let e = body_of(&resp);
        assert_eq!(e["error"]["code"], "MSE001");
        assert_eq!(e["error"]["exception"], Value::Null);
    }
    let resp = handle(&w.deps, request(|v| v["body"] = json!("{nope"))).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(w.erp.inner.published().is_empty());
}

#[tokio::test]
async fn an_order_we_did_not_import_is_still_accepted_and_forwarded() {
    let w = world().await;
    let resp = handle(
        &w.deps,
        request(|v| {
            let p = v["rawPath"].as_str().unwrap().replace(ORDER_ID, "OTH-1");
            v["rawPath"] = json!(p);
            v["requestContext"]["http"]["path"] = json!(p);
        }),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body_of(&resp)["orderId"], "OTH-1");
    let events = w.erp.inner.published();
    assert_eq!(events[0].affiliate_id, None);
    assert_eq!(w.log.read_log("mse:OTH-1").await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_queue_outage_is_a_503_and_the_repeat_forwards_with_the_same_receipt() {
    let w = world().await;
    w.erp.down.store(true, Ordering::SeqCst);
    let failed = handle(&w.deps, sample_request()).await;
    assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(w.erp.inner.published().is_empty());
    w.erp.down.store(false, Ordering::SeqCst);
    let ok = handle(&w.deps, sample_request()).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let ok2 = handle(&w.deps, sample_request()).await;
    assert_eq!(body_of(&ok), body_of(&ok2));
    assert_eq!(w.erp.inner.published().len(), 1);
}

#[tokio::test]
async fn only_post_on_the_mse_route_is_served() {
    let w = world().await;
    let get = handle(
        &w.deps,
        request(|v| v["requestContext"]["http"]["method"] = json!("GET")),
    )
    .await;
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    let other = handle(
        &w.deps,
        request(|v| {
            v["rawPath"] = json!(format!("/vtex/{SECRET}/pvt/orders"));
            v["requestContext"]["http"]["path"] = json!(format!("/vtex/{SECRET}/pvt/orders"));
        }),
    )
    .await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}
