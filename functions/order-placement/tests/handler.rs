//! Handler tests: the sample events through `handle`, against the in-memory store loaded with the
//! sample catalog (GIVEN / WHEN / THEN).

use chrono::{TimeZone, Utc};
use domain::catalog::CatalogFile;
use domain::clock::ManualClock;
use domain::lifecycle::IdGen;
use domain::memory::MemoryStore;
use domain::order::OrderStatus;
use domain::ports::{CatalogReader, OrderStore};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use lambda_kit::config::Vars;
use order_placement::{Config, Deps, handle};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const ARRAY: &str = include_str!("../../../events/order-placement.array.json");
const OBJECT: &str = include_str!("../../../events/order-placement.object.json");
const OUT_OF_STOCK: &str = include_str!("../../../events/order-placement.out-of-stock.json");
const MALFORMED: &str = include_str!("../../../events/order-placement.malformed.json");

/// The id the sample fulfillment events use.
const FIRST_ID: &str = "SLR-7Q2M9K4D1X8B5N3R6T0V";

fn sample() -> CatalogFile {
    serde_json::from_str(include_str!("../../../shared/sample/catalog.json")).unwrap()
}

/// `FIRST_ID`, then `SLR-T0002`, `SLR-T0003`, …
#[derive(Default)]
struct Ids(AtomicUsize);

impl IdGen for Ids {
    fn order_id(&self) -> String {
        match self.0.fetch_add(1, Ordering::SeqCst) {
            0 => FIRST_ID.to_string(),
            n => format!("SLR-T{:04}", n + 1),
        }
    }
    fn receipt(&self) -> String {
        format!("rcpt-{}", self.0.load(Ordering::SeqCst))
    }
}

fn setup() -> (Deps, MemoryStore) {
    let store = MemoryStore::with_catalog(&sample());
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap());
    let deps = Deps::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(clock),
        Config::default(),
    )
    .with_ids(Arc::new(Ids::default()));
    (deps, store)
}

fn request(event: &str) -> Request {
    lambda_http::request::from_str(event).unwrap()
}

/// The sample event with its JSON body changed by `edit`.
fn edited(event: &str, edit: impl FnOnce(&mut Value)) -> Request {
    let mut ev: Value = serde_json::from_str(event).unwrap();
    let mut body: Value = serde_json::from_str(ev["body"].as_str().unwrap()).unwrap();
    edit(&mut body);
    ev["body"] = Value::String(body.to_string());
    lambda_http::request::from_str(&ev.to_string()).unwrap()
}

fn body_json(resp: &Response<Body>) -> Value {
    match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        Body::Binary(b) => serde_json::from_slice(b).unwrap(),
        _ => Value::Null,
    }
}

fn sent_body(event: &str) -> Value {
    let ev: Value = serde_json::from_str(event).unwrap();
    serde_json::from_str(ev["body"].as_str().unwrap()).unwrap()
}

async fn reserved(store: &MemoryStore, sku: &str, loc: &str) -> i64 {
    let skus = store.get_skus(&[sku.to_string()]).await.unwrap();
    skus[sku].stock[loc].reserved
}

#[tokio::test]
async fn array_placement_echoes_each_order_with_our_id_and_follow_up_email() {
    let (deps, store) = setup();
    let resp = handle(&deps, request(ARRAY)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body = body_json(&resp);
    let sent = sent_body(ARRAY);
    let echoed = body.as_array().expect("array in, array out");
    assert_eq!(echoed.len(), 1);
    let o = &echoed[0];
    assert_eq!(o["orderId"], FIRST_ID);
    assert_eq!(o["followUpEmail"], "pedidos@lojaexemplo.com.br");
    assert_eq!(o["marketplaceOrderId"], sent[0]["marketplaceOrderId"]);
    // Echoed as sent, the keys VTEX sent as null included (issue 11).
    let li = &o["shippingData"]["logisticsInfo"][0];
    for key in [
        "itemIndex",
        "selectedSla",
        "lockTTL",
        "shippingEstimate",
        "price",
        "deliveryWindow",
    ] {
        assert_eq!(
            li[key], sent[0]["shippingData"]["logisticsInfo"][0][key],
            "{key}"
        );
    }
    assert!(li.as_object().unwrap().contains_key("deliveryWindow"));
    assert_eq!(li["deliveryWindow"], Value::Null);
    assert_eq!(
        o["shippingData"]["address"]["street"],
        sent[0]["shippingData"]["address"]["street"]
    );
    assert_eq!(
        o["clientProfileData"]["email"],
        sent[0]["clientProfileData"]["email"]
    );
    assert_eq!(o["marketingData"], sent[0]["marketingData"]);
    assert_eq!(o["items"][0]["seller"], "1");
    assert_eq!(o["items"][0]["measurementUnit"], "un");

    // The reservation: selectedSla "Normal" ships from cd-cajamar; `an` and `sc` from the query.
    assert_eq!(reserved(&store, "2002495", "cd-cajamar").await, 1);
    let order = store.get(FIRST_ID).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Reserved);
    assert_eq!(order.an, "marketplacedemo");
    assert_eq!(order.sc.as_deref(), Some("1"));
    assert_eq!(order.lines[0].freight.value(), 1090);
    assert_eq!(order.marketplace_payment_value.value(), 11080);
    assert_eq!(
        order.marketplace_services_endpoint.as_deref(),
        Some("https://marketplaceservicesendpoint/")
    );
    assert_eq!(
        order.expires_at - order.created_at,
        chrono::Duration::days(8)
    );
    let by_mkp = store
        .get_by_marketplace_id("marketplacedemo", "959311095")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_mkp.order_id, FIRST_ID);
}

#[tokio::test]
async fn object_placement_is_answered_with_an_object() {
    let (deps, store) = setup();
    let resp = handle(&deps, request(OBJECT)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = body_json(&resp);
    assert!(body.is_object());
    assert_eq!(body["orderId"], FIRST_ID);
    assert_eq!(body["marketplaceOrderId"], "1138342255777-01");
    // "Expressa" ships from cd-cajamar too; lockTTL 1d.
    assert_eq!(reserved(&store, "2001001", "cd-cajamar").await, 2);
    let order = store.get(FIRST_ID).await.unwrap().unwrap();
    assert_eq!(
        order.expires_at - order.created_at,
        chrono::Duration::days(1)
    );
}

#[tokio::test]
async fn placement_retry_returns_same_order_id() {
    let (deps, store) = setup();
    let first = body_json(&handle(&deps, request(ARRAY)).await);
    let again = handle(&deps, request(ARRAY)).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(body_json(&again), first);
    assert_eq!(reserved(&store, "2002495", "cd-cajamar").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_reserve_once() {
    let (deps, store) = setup();
    let deps = Arc::new(deps);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let deps = deps.clone();
            tokio::spawn(async move { body_json(&handle(&deps, request(ARRAY)).await) })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        ids.insert(t.await.unwrap()[0]["orderId"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(reserved(&store, "2002495", "cd-cajamar").await, 1);
}

#[tokio::test]
async fn out_of_stock_is_a_409_in_the_envelope_and_reserves_nothing() {
    let (deps, store) = setup();
    let resp = handle(&deps, request(OUT_OF_STOCK)).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let body = body_json(&resp);
    assert_eq!(body["error"]["code"], "ORD003");
    assert!(body["error"]["exception"].is_null());
    assert_eq!(reserved(&store, "34562", "cd-cajamar").await, 0);
    assert!(
        store
            .get_by_marketplace_id("marketplacedemo", "959311096")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn money_in_the_wrong_unit_is_a_400() {
    let (deps, store) = setup();
    let resp = handle(&deps, request(MALFORMED)).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = body_json(&resp);
    assert_eq!(body["error"]["code"], "ORD001");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("orders[0].items[0].price")
    );
    assert_eq!(reserved(&store, "2002495", "cd-cajamar").await, 0);
}

type Edit = Box<dyn FnOnce(&mut Value)>;

#[tokio::test]
async fn malformed_bodies_are_400s() {
    let (deps, _) = setup();
    let cases: Vec<Edit> = vec![
        Box::new(|b| *b = json!("not an order")),
        Box::new(|b| *b = json!([])),
        Box::new(|b| b[0]["items"][0]["quantity"] = json!(0)),
        Box::new(|b| b[0]["shippingData"]["logisticsInfo"][0]["lockTTL"] = json!("8 days")),
        Box::new(|b| {
            b[0].as_object_mut().unwrap().remove("marketplaceOrderId");
        }),
    ];
    for edit in cases {
        let resp = handle(&deps, edited(ARRAY, edit)).await;
        assert_eq!(
            resp.status(),
            StatusCode::BAD_REQUEST,
            "{:?}",
            body_json(&resp)
        );
    }
    let mut ev: Value = serde_json::from_str(ARRAY).unwrap();
    ev["body"] = Value::String("[{".into());
    let resp = handle(
        &deps,
        lambda_http::request::from_str(&ev.to_string()).unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_sku_is_a_400_and_outdated_shipping_a_409() {
    let (deps, _) = setup();
    let resp = handle(
        &deps,
        edited(ARRAY, |b| b[0]["items"][0]["id"] = json!("no-such-sku")),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(&resp)["error"]["code"], "ORD002");
    let resp = handle(
        &deps,
        edited(ARRAY, |b| {
            b[0]["shippingData"]["updateStatus"] = json!("outdated")
        }),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(body_json(&resp)["error"]["code"], "ORD004");
}

#[tokio::test]
async fn a_malformed_second_order_reserves_nothing_for_the_first() {
    let (deps, store) = setup();
    let resp = handle(
        &deps,
        edited(ARRAY, |b| {
            let mut second = b[0].clone();
            second["marketplaceOrderId"] = json!("959311099");
            second["items"][0]["price"] = json!(1.5);
            b.as_array_mut().unwrap().push(second);
        }),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(reserved(&store, "2002495", "cd-cajamar").await, 0);
}

#[tokio::test]
async fn other_routes_and_methods_are_refused() {
    let (deps, _) = setup();
    let mut ev: Value = serde_json::from_str(ARRAY).unwrap();
    ev["rawPath"] = json!("/vtex/pvt/elsewhere");
    ev["requestContext"]["http"]["path"] = json!("/vtex/pvt/elsewhere");
    let resp = handle(
        &deps,
        lambda_http::request::from_str(&ev.to_string()).unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let mut ev: Value = serde_json::from_str(ARRAY).unwrap();
    ev["requestContext"]["http"]["method"] = json!("GET");
    let resp = handle(
        &deps,
        lambda_http::request::from_str(&ev.to_string()).unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn configured_credentials_are_required() {
    let (mut deps, store) = setup();
    deps.config.auth = lambda_kit::auth::InboundAuth {
        path_secret: lambda_kit::auth::Secret::new("s3cr3t"),
        app_key: None,
        app_token: None,
    };
    let resp = handle(&deps, request(ARRAY)).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(reserved(&store, "2002495", "cd-cajamar").await, 0);
    let mut ev: Value = serde_json::from_str(ARRAY).unwrap();
    ev["rawPath"] = json!("/vtex/s3cr3t/pvt/orders");
    ev["requestContext"]["http"]["path"] = json!("/vtex/s3cr3t/pvt/orders");
    let resp = handle(
        &deps,
        lambda_http::request::from_str(&ev.to_string()).unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[test]
fn config_reads_the_environment() {
    let c = Config::from_vars(&Vars::from_pairs([
        ("DEFAULT_LOCK_TTL", "2d"),
        ("DEFAULT_AN", "mkp"),
    ]))
    .unwrap();
    assert_eq!(c.lifecycle.default_lock_ttl.to_string(), "2d");
    assert_eq!(c.default_an.as_deref(), Some("mkp"));
    assert_eq!(c.max_body_bytes, Config::DEFAULT_MAX_BODY_BYTES);
    assert!(Config::from_vars(&Vars::from_pairs([("PLACEMENT_MAX_BODY_BYTES", "x")])).is_err());
}

/// Two lines of one SKU whose units add past i64::MAX (the sums wrapped in release and let an
/// order of 100 000 units through afterwards): a 400 in VTEX's envelope, nothing held.
#[tokio::test]
async fn units_past_the_limits_are_a_400_and_hold_nothing() {
    let (deps, store) = setup();
    let before = reserved(&store, "2001001", "cd-cajamar").await;
    let overflow = edited(OBJECT, |b| {
        let item = b["items"][0].clone();
        b["items"] = json!([item.clone(), item]);
        b["items"][0]["quantity"] = json!(i64::MAX);
        b["items"][1]["quantity"] = json!(2);
        let li = b["shippingData"]["logisticsInfo"][0].clone();
        let mut second = li.clone();
        second["itemIndex"] = json!(1);
        b["shippingData"]["logisticsInfo"] = json!([li, second]);
    });
    let resp = handle(&deps, overflow).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = body_json(&resp);
    assert_eq!(body["error"]["code"], "ORD001", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("quantity"),
        "{body}"
    );
    let big = edited(OBJECT, |b| b["items"][0]["quantity"] = json!(100_000));
    let resp = handle(&deps, big).await;
    assert_eq!(
        resp.status(),
        StatusCode::BAD_REQUEST,
        "{}",
        body_json(&resp)
    );
    assert_eq!(reserved(&store, "2001001", "cd-cajamar").await, before);
    assert!(
        store
            .get_by_marketplace_id(
                "marketplacedemo",
                sent_body(OBJECT)["marketplaceOrderId"].as_str().unwrap()
            )
            .await
            .unwrap()
            .is_none()
    );
}
