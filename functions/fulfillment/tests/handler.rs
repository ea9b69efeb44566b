//! Handler tests: the sample fulfill / cancel / admin events through `handle`, against the
//! in-memory store loaded with the sample catalog and holding the sample placement
//! (GIVEN / WHEN / THEN).

use chrono::{DateTime, TimeZone, Utc};
use domain::catalog::CatalogFile;
use domain::clock::ManualClock;
use domain::lifecycle::{AuthorizedCancelPolicy, IdGen, PlacementDecision};
use domain::memory::MemoryStore;
use domain::order::OrderStatus;
use domain::ports::{CatalogReader, OrderEventKind, OrderStore, SaveOutcome, StockEffect};
use fulfillment::{Config, Deps, handle};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const PLACEMENT: &str = include_str!("../../../events/order-placement.array.json");
const FULFILL: &str = include_str!("../../../events/fulfillment.fulfill.json");
const CANCEL: &str = include_str!("../../../events/fulfillment.cancel.json");
const CANCEL_BY_MKP: &str =
    include_str!("../../../events/fulfillment.cancel-by-marketplace-id.json");
const ADMIN: &str = include_str!("../../../events/fulfillment.admin-order.json");

/// The id the sample events use.
const ORDER_ID: &str = "SLR-7Q2M9K4D1X8B5N3R6T0V";

fn sample() -> CatalogFile {
    serde_json::from_str(include_str!("../../../shared/sample/catalog.json")).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
}

#[derive(Default)]
struct Ids(AtomicUsize);

impl IdGen for Ids {
    fn order_id(&self) -> String {
        ORDER_ID.to_string()
    }
    fn receipt(&self) -> String {
        format!(
            "00000000-0000-4000-8000-{:012}",
            self.0.fetch_add(1, Ordering::SeqCst) + 1
        )
    }
}

struct World {
    deps: Deps,
    store: MemoryStore,
    clock: Arc<ManualClock>,
}

/// GIVEN the sample placement reserved (as `ORDER_ID`).
async fn world_with(config: Config) -> World {
    let store = MemoryStore::with_catalog(&sample());
    let clock = Arc::new(ManualClock::new(t0()));
    let deps = Deps::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        clock.clone(),
        config,
    )
    .with_ids(Arc::new(Ids::default()));
    let ev: Value = serde_json::from_str(PLACEMENT).unwrap();
    let body: Value = serde_json::from_str(ev["body"].as_str().unwrap()).unwrap();
    let req = vtex::orders::placement_request(&body[0], "orders[0]", "marketplacedemo", Some("1"))
        .unwrap();
    let placed = deps.lifecycle().place(req).await.unwrap();
    assert!(matches!(placed, PlacementDecision::Placed { .. }));
    clock.advance(chrono::Duration::minutes(5));
    World { deps, store, clock }
}

async fn world() -> World {
    world_with(Config::default()).await
}

fn request(event: &str) -> Request {
    lambda_http::request::from_str(event).unwrap()
}

/// The sample event with its path id replaced and/or its body changed.
fn edited(event: &str, id: Option<&str>, edit: impl FnOnce(&mut Value)) -> Request {
    let mut ev: Value = serde_json::from_str(event).unwrap();
    if let Some(id) = id {
        let path = ev["rawPath"].as_str().unwrap().replace(ORDER_ID, id);
        ev["rawPath"] = json!(path);
        ev["requestContext"]["http"]["path"] = json!(path);
    }
    if let Some(text) = ev["body"].as_str() {
        let mut body: Value = serde_json::from_str(text).unwrap();
        edit(&mut body);
        ev["body"] = Value::String(body.to_string());
    }
    lambda_http::request::from_str(&ev.to_string()).unwrap()
}

fn body_json(resp: &Response<Body>) -> Value {
    match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        Body::Binary(b) => serde_json::from_slice(b).unwrap(),
        _ => Value::Null,
    }
}

fn is_empty(resp: &Response<Body>) -> bool {
    match resp.body() {
        Body::Empty => true,
        Body::Text(t) => t.is_empty(),
        Body::Binary(b) => b.is_empty(),
        _ => false,
    }
}

impl World {
    /// What the ERP has received once the outbox relay ran (as the outbox stream runs it between
    /// VTEX's calls).
    async fn delivered(&self) -> Vec<domain::ports::OrderEvent> {
        let relay = self.deps.lifecycle().relay(Arc::new(self.store.clone()));
        assert!(relay.drain().await.unwrap().failed.is_empty());
        self.store.events()
    }

    async fn reserved(&self) -> i64 {
        let skus = self.store.get_skus(&["2002495".to_string()]).await.unwrap();
        skus["2002495"].stock["cd-cajamar"].reserved
    }

    async fn status(&self) -> OrderStatus {
        self.store.get(ORDER_ID).await.unwrap().unwrap().status
    }

    async fn force_status(&self, status: OrderStatus) {
        let mut o = self.store.get(ORDER_ID).await.unwrap().unwrap();
        o.status = status;
        assert!(matches!(
            self.store.save(&o, StockEffect::None).await.unwrap(),
            SaveOutcome::Saved(_)
        ));
    }
}

// --- fulfill -------------------------------------------------------------------------------------

#[tokio::test]
async fn fulfill_authorizes_and_answers_with_a_receipt() {
    let w = world().await;
    let resp = handle(&w.deps, request(FULFILL)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = body_json(&resp);
    assert_eq!(body["marketplaceOrderId"], "959311095");
    assert_eq!(body["orderId"], ORDER_ID);
    assert_eq!(body["receipt"], "00000000-0000-4000-8000-000000000001");
    let date = body["date"].as_str().unwrap();
    assert_eq!(date, "2026-11-30T12:05:00.000+00:00");
    assert_eq!(w.status().await, OrderStatus::Authorized);
    assert_eq!(
        w.reserved().await,
        1,
        "the reservation becomes the order's hold"
    );
    let events = w.delivered().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, OrderEventKind::Authorized);
    let stored = w.store.get(ORDER_ID).await.unwrap().unwrap();
    assert_eq!(stored.marketplace_order_group.as_deref(), Some("959311095"));
}

#[tokio::test]
async fn repeated_fulfill_returns_the_same_receipt() {
    let w = world().await;
    let first = body_json(&handle(&w.deps, request(FULFILL)).await);
    w.delivered().await;
    w.clock.advance(chrono::Duration::minutes(3));
    let again = handle(&w.deps, request(FULFILL)).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(body_json(&again), first);
    let events = w.delivered().await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].event_id, events[1].event_id);
}

#[tokio::test]
async fn fulfill_of_an_unknown_order_is_404() {
    let w = world().await;
    let resp = handle(&w.deps, edited(FULFILL, Some("SLR-NOPE"), |_| {})).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(body_json(&resp)["error"]["code"], "ORD005");
}

#[tokio::test]
async fn fulfill_with_another_marketplace_order_id_is_409() {
    let w = world().await;
    let resp = handle(
        &w.deps,
        edited(FULFILL, None, |b| b["marketplaceOrderId"] = json!("111")),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(body_json(&resp)["error"]["code"], "ORD006");
    assert_eq!(w.status().await, OrderStatus::Reserved);
}

#[tokio::test]
async fn fulfill_of_a_canceled_order_is_409() {
    let w = world().await;
    assert_eq!(
        handle(&w.deps, request(CANCEL)).await.status(),
        StatusCode::OK
    );
    let resp = handle(&w.deps, request(FULFILL)).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(body_json(&resp)["error"]["code"], "ORD007");
}

#[tokio::test]
async fn fulfill_without_marketplace_order_id_is_400() {
    let w = world().await;
    let resp = handle(
        &w.deps,
        edited(FULFILL, None, |b| {
            *b = json!({"marketplaceOrderGroup": "1"})
        }),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(&resp)["error"]["code"], "ORD008");
}

// --- cancel --------------------------------------------------------------------------------------

#[tokio::test]
async fn cancel_confirms_releases_and_repeats_the_same_answer() {
    let w = world().await;
    let resp = handle(&w.deps, request(CANCEL)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = body_json(&resp);
    assert_eq!(body["marketplaceOrderId"], "959311095");
    assert_eq!(body["orderId"], ORDER_ID);
    assert!(body["receipt"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(vtex::orders::parse_date(body["date"].as_str().unwrap()).is_some());
    assert_eq!(w.status().await, OrderStatus::Canceled);
    assert_eq!(w.reserved().await, 0);
    w.delivered().await;

    w.clock.advance(chrono::Duration::minutes(1));
    let again = handle(&w.deps, request(CANCEL)).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(body_json(&again), body);
    assert_eq!(w.reserved().await, 0);
    let kinds: Vec<_> = w.delivered().await.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [OrderEventKind::Canceled, OrderEventKind::Canceled]);
}

#[tokio::test]
async fn cancel_of_an_authorized_order_confirms_and_releases() {
    let w = world().await;
    handle(&w.deps, request(FULFILL)).await;
    let resp = handle(&w.deps, request(CANCEL)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body_json(&resp)["orderId"], ORDER_ID);
    assert_eq!(w.status().await, OrderStatus::Canceled);
    assert_eq!(w.reserved().await, 0);
}

#[tokio::test]
async fn cancel_by_marketplace_order_id_finds_our_order() {
    let w = world().await;
    let resp = handle(&w.deps, request(CANCEL_BY_MKP)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body_json(&resp)["orderId"], ORDER_ID);
    assert_eq!(w.status().await, OrderStatus::Canceled);
}

#[tokio::test]
async fn cancel_of_an_invoiced_order_is_refused_with_an_empty_body() {
    let w = world().await;
    handle(&w.deps, request(FULFILL)).await;
    w.force_status(OrderStatus::Invoiced).await;
    for _ in 0..2 {
        let resp = handle(&w.deps, request(CANCEL)).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(is_empty(&resp));
    }
    let stored = w.store.get(ORDER_ID).await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Invoiced);
    assert_eq!(
        stored.pending_cancellation.as_deref(),
        Some("85835ab408514b52aa139e4236ce0c33")
    );
    assert_eq!(w.reserved().await, 1);
}

#[tokio::test]
async fn cancel_under_the_evaluate_policy_answers_an_empty_body() {
    let w = world_with(Config {
        lifecycle: domain::lifecycle::LifecycleConfig {
            authorized_cancel: AuthorizedCancelPolicy::Evaluate,
            ..Default::default()
        },
        ..Config::default()
    })
    .await;
    handle(&w.deps, request(FULFILL)).await;
    let resp = handle(&w.deps, request(CANCEL)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(is_empty(&resp));
    assert_eq!(w.status().await, OrderStatus::Authorized);
}

#[tokio::test]
async fn cancel_of_an_unknown_order_is_404_and_an_empty_body_is_accepted() {
    let w = world().await;
    let resp = handle(
        &w.deps,
        edited(CANCEL, Some("SLR-NOPE"), |b| {
            b["marketplaceOrderId"] = json!("000")
        }),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let mut ev: Value = serde_json::from_str(CANCEL).unwrap();
    ev.as_object_mut().unwrap().remove("body");
    let resp = handle(
        &w.deps,
        lambda_http::request::from_str(&ev.to_string()).unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(w.status().await, OrderStatus::Canceled);
}

// --- admin ---------------------------------------------------------------------------------------

#[tokio::test]
async fn admin_view_shows_state_and_log_without_customer_data() {
    let w = world().await;
    handle(&w.deps, request(FULFILL)).await;
    let resp = handle(&w.deps, request(ADMIN)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = body_json(&resp);
    assert_eq!(body["orderId"], ORDER_ID);
    assert_eq!(body["status"], "AUTHORIZED");
    assert_eq!(body["marketplaceOrderId"], "959311095");
    assert_eq!(body["an"], "marketplacedemo");
    assert_eq!(body["totals"]["items"], 9990);
    assert_eq!(body["totals"]["freight"], 1090);
    assert_eq!(body["totals"]["total"], 11080);
    assert_eq!(body["lines"][0]["locationId"], "cd-cajamar");
    assert_eq!(body["lines"][0]["lockTtl"], "8d");
    assert!(body["authorized"]["receipt"].is_string());
    let steps: Vec<&str> = body["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["placement", "fulfill"]);
    let text = body.to_string();
    for leaked in [
        "Jonas",
        "Oliveira",
        "32172239852",
        "3244239851",
        "399271258",
        "13476103",
        "DAMÁZIO",
        "Americana",
        "address",
        "clientProfileData",
    ] {
        assert!(!text.contains(leaked), "{leaked} leaked: {text}");
    }
}

/// The admin event with extra query parameters (`an` and `sc` kept).
fn admin_with_query(extra: &[(&str, &str)]) -> Request {
    let mut ev: Value = serde_json::from_str(ADMIN).unwrap();
    let mut raw = ev["rawQueryString"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for (k, v) in extra {
        if !raw.is_empty() {
            raw.push('&');
        }
        raw.push_str(&format!("{k}={v}"));
        ev["queryStringParameters"][*k] = json!(v);
    }
    ev["rawQueryString"] = json!(raw);
    lambda_http::request::from_str(&ev.to_string()).unwrap()
}

#[tokio::test]
async fn admin_view_pages_back_through_the_log_and_refuses_a_bad_page() {
    let w = world().await;
    handle(&w.deps, request(FULFILL)).await;
    let newest = body_json(&handle(&w.deps, admin_with_query(&[("logLimit", "1")])).await);
    assert_eq!(newest["log"].as_array().unwrap().len(), 1);
    assert_eq!(newest["log"][0]["step"], "fulfill");
    assert_eq!(
        (newest["logTotal"].clone(), newest["logOmitted"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(newest["logNextBefore"], 1);
    let older = body_json(
        &handle(
            &w.deps,
            admin_with_query(&[("logLimit", "1"), ("logBefore", "1")]),
        )
        .await,
    );
    assert_eq!(older["log"][0]["step"], "placement");
    assert_eq!(older["logNextBefore"], Value::Null);

    let resp = handle(&w.deps, admin_with_query(&[("logLimit", "0")])).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = body_json(&resp);
    assert_eq!(body["error"]["code"], "ORD008");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("logLimit")
    );
}

#[tokio::test]
async fn admin_view_of_an_unknown_order_is_404_and_only_get_is_allowed() {
    let w = world().await;
    let mut ev: Value = serde_json::from_str(ADMIN).unwrap();
    ev["rawPath"] = json!("/vtex/admin/orders/SLR-NOPE");
    ev["requestContext"]["http"]["path"] = json!("/vtex/admin/orders/SLR-NOPE");
    let resp = handle(
        &w.deps,
        lambda_http::request::from_str(&ev.to_string()).unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let mut ev: Value = serde_json::from_str(ADMIN).unwrap();
    ev["requestContext"]["http"]["method"] = json!("POST");
    let resp = handle(
        &w.deps,
        lambda_http::request::from_str(&ev.to_string()).unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let w = world().await;
    let mut ev: Value = serde_json::from_str(FULFILL).unwrap();
    ev["rawPath"] = json!("/vtex/pvt/orders/x/explode");
    ev["requestContext"]["http"]["path"] = json!("/vtex/pvt/orders/x/explode");
    let resp = handle(
        &w.deps,
        lambda_http::request::from_str(&ev.to_string()).unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}
