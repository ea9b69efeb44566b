//! Handler tests: the sample events and hand-built requests through `handle`, against the in-memory
//! store loaded with the sample catalog (GIVEN / WHEN / THEN).

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use domain::catalog::{CatalogFile, Sku, SkuId};
use domain::clock::ManualClock;
use domain::memory::MemoryStore;
use domain::ports::{CatalogReader, StoreError};
use domain::shipping::ShippingRules;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use simulation::{Config, Deps, handle};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const CHECKOUT: &str = include_str!("../../../events/simulation.post-checkout.json");
const INDEXATION: &str = include_str!("../../../events/simulation.post-indexation.json");
const GET_CONTEXT: &str = include_str!("../../../events/simulation.get-purchase-context.json");
const MALFORMED: &str = include_str!("../../../events/simulation.post-malformed.json");

fn sample() -> CatalogFile {
    serde_json::from_str(include_str!("../../../shared/sample/catalog.json")).unwrap()
}

fn wednesday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 18, 12, 0, 0).unwrap()
}

/// The sample catalog behind a reader that counts calls and can be told to fail or stall.
struct Probe {
    inner: MemoryStore,
    sku_calls: AtomicUsize,
    rules_calls: AtomicUsize,
    last_ids: std::sync::Mutex<Vec<SkuId>>,
    fail_skus: AtomicBool,
    fail_rules: AtomicBool,
    stall_skus: AtomicBool,
}

impl Probe {
    fn new(file: &CatalogFile) -> Arc<Self> {
        Arc::new(Probe {
            inner: MemoryStore::with_catalog(file),
            sku_calls: AtomicUsize::new(0),
            rules_calls: AtomicUsize::new(0),
            last_ids: Default::default(),
            fail_skus: AtomicBool::new(false),
            fail_rules: AtomicBool::new(false),
            stall_skus: AtomicBool::new(false),
        })
    }
}

#[async_trait]
impl CatalogReader for Probe {
    async fn get_skus(&self, ids: &[SkuId]) -> Result<HashMap<SkuId, Sku>, StoreError> {
        self.sku_calls.fetch_add(1, Ordering::SeqCst);
        *self.last_ids.lock().unwrap() = ids.to_vec();
        if self.stall_skus.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        if self.fail_skus.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("throttled".into()));
        }
        self.inner.get_skus(ids).await
    }

    async fn shipping_rules(&self) -> Result<Option<ShippingRules>, StoreError> {
        self.rules_calls.fetch_add(1, Ordering::SeqCst);
        if self.fail_rules.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("throttled".into()));
        }
        self.inner.shipping_rules().await
    }
}

struct World {
    deps: Deps,
    probe: Arc<Probe>,
    clock: Arc<ManualClock>,
}

fn world_with(config: Config) -> World {
    let probe = Probe::new(&sample());
    let clock = Arc::new(ManualClock::new(wednesday()));
    let deps = Deps::new(probe.clone(), clock.clone(), config);
    World { deps, probe, clock }
}

fn world() -> World {
    world_with(Config {
        cache_max_age_secs: 120,
        ..Config::default()
    })
}

fn event(text: &str) -> Request {
    lambda_http::request::from_str(text).expect("event parses")
}

fn post(uri: &str, body: &str) -> Request {
    let mut req = Request::new(Body::from(body.to_string()));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = uri.parse().unwrap();
    req
}

fn get(uri: &str) -> Request {
    let mut req = Request::new(Body::Empty);
    *req.uri_mut() = uri.parse().unwrap();
    req
}

fn json_of(resp: &Response<Body>) -> Value {
    let bytes: &[u8] = match resp.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    };
    serde_json::from_slice(bytes).expect("JSON body")
}

fn header<'a>(resp: &'a Response<Body>, name: &str) -> &'a str {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn sla_ids(info: &Value) -> Vec<String> {
    info["slas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

fn assert_refused(resp: &Response<Body>, status: StatusCode, code: &str) {
    assert_eq!(resp.status(), status, "{}", json_of(resp));
    let body = json_of(resp);
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(body["error"]["exception"], Value::Null);
    assert_eq!(header(resp, "cache-control"), "no-store");
}

// Events ----------------------------------------------------------------------------------------

#[tokio::test]
async fn checkout_event_quotes_every_delivery_option_for_rio() {
    let w = world();
    let resp = handle(&w.deps, event(CHECKOUT)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, "cache-control"), "no-store");
    assert!(header(&resp, "content-type").starts_with("application/json"));
    let body = json_of(&resp);
    assert_eq!(body["country"], "BRA");
    assert_eq!(body["postalCode"], "22051030");
    assert_eq!(body["allowMultipleDeliveries"], true);
    assert_eq!(body["items"][0]["price"], 67203);
    assert_eq!(body["items"][1]["quantity"], 1, "asked 2, 1 in stock");
    let first = &body["logisticsInfo"][0];
    assert_eq!(
        sla_ids(first),
        ["Normal", "Expressa", "Agendada", "retira-copacabana"]
    );
    assert_eq!(first["slas"][0]["price"], 1000);
    assert_eq!(first["slas"][0]["pickupStoreInfo"], Value::Null);
    assert_eq!(
        first["slas"][2]["availableDeliveryWindows"][0],
        json!({"startDateUtc": "2026-11-19T11:00:00+00:00", "endDateUtc": "2026-11-19T16:00:00+00:00", "price": 0})
    );
    assert_eq!(
        first["slas"][3]["pickupStoreInfo"]["friendlyName"],
        "Loja Copacabana"
    );
    assert_eq!(
        first["deliveryChannels"],
        json!([{"id": "delivery", "stockBalance": 179}, {"id": "pickup-in-point", "stockBalance": 20}])
    );
    assert_eq!(body["logisticsInfo"][1]["itemIndex"], 1);
    assert_eq!(body["logisticsInfo"][1]["slas"][0]["price"], 200);
    assert_eq!(w.probe.sku_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn indexation_event_has_price_and_stock_without_slas() {
    let w = world();
    let resp = handle(&w.deps, event(INDEXATION)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = json_of(&resp);
    assert_eq!(body["country"], Value::Null);
    assert_eq!(body["postalCode"], Value::Null);
    assert_eq!(body["items"][0]["price"], 7390);
    assert_eq!(body["items"][0]["listPrice"], 7490);
    assert_eq!(
        body["logisticsInfo"][0],
        json!({"itemIndex": 0, "quantity": 1, "stockBalance": 99, "shipsTo": ["BRA"], "slas": [],
               "deliveryChannels": [{"id": "delivery", "stockBalance": 99}]})
    );
}

#[tokio::test]
async fn get_with_purchase_context_answers_like_post_and_is_cacheable() {
    let w = world();
    let got = handle(&w.deps, event(GET_CONTEXT)).await;
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(header(&got, "cache-control"), "public, max-age=120");
    assert!(header(&got, "vary").contains("Accept-Encoding"));
    let context = include_str!("../../../events/simulation.get-purchase-context.json");
    let context: Value = serde_json::from_str(context).unwrap();
    let body = context["queryStringParameters"]["purchaseContext"]
        .as_str()
        .unwrap();
    let posted = handle(
        &w.deps,
        post(
            "/vtex/pvt/orderForms/simulation?sc=1&an=marketplacedemo",
            body,
        ),
    )
    .await;
    assert_eq!(posted.status(), StatusCode::OK);
    assert_eq!(header(&posted, "cache-control"), "no-store");
    assert_eq!(json_of(&got), json_of(&posted));
    assert_eq!(json_of(&got)["items"][0]["id"], "2002129");
    assert!(!sla_ids(&json_of(&got)["logisticsInfo"][0]).is_empty());
}

#[tokio::test]
async fn malformed_event_is_a_400_with_the_vtex_envelope() {
    let w = world();
    let resp = handle(&w.deps, event(MALFORMED)).await;
    assert_refused(&resp, StatusCode::BAD_REQUEST, "REQ002");
    assert_eq!(w.probe.sku_calls.load(Ordering::SeqCst), 0);
}

// Bad input -------------------------------------------------------------------------------------

#[tokio::test]
async fn bad_input_is_refused_with_4xx_never_5xx() {
    let w = world_with(Config {
        max_items: 3,
        max_body_bytes: 2048,
        ..Config::default()
    });
    let path = "/pvt/orderForms/simulation";
    let item = |id: &str, q: Value| json!({"id": id, "quantity": q, "seller": "1"});
    let cases: Vec<(Request, StatusCode, &str)> = vec![
        (post(path, ""), StatusCode::BAD_REQUEST, "REQ001"),
        (post(path, "not json"), StatusCode::BAD_REQUEST, "REQ002"),
        (post(path, "[]"), StatusCode::BAD_REQUEST, "REQ002"),
        (post(path, r#"{"postalCode": "22051030"}"#), StatusCode::BAD_REQUEST, "SIM001"),
        (post(path, &json!({"items": [item("1", json!(-1))]}).to_string()), StatusCode::BAD_REQUEST, "SIM001"),
        (post(path, &json!({"items": [item("1", json!(1.5))]}).to_string()), StatusCode::BAD_REQUEST, "SIM001"),
        (post(path, &json!({"items": [item("", json!(1))]}).to_string()), StatusCode::BAD_REQUEST, "SIM001"),
        (
            post(path, &json!({"items": [item("1", json!(1)), item("2", json!(1)), item("3", json!(1)), item("4", json!(1))]}).to_string()),
            StatusCode::BAD_REQUEST,
            "SIM001",
        ),
        (post(path, &format!(r#"{{"items": [], "pad": "{}"}}"#, "x".repeat(4096))), StatusCode::PAYLOAD_TOO_LARGE, "REQ413"),
        (get(path), StatusCode::BAD_REQUEST, "SIM002"),
        (get(&format!("{path}?purchaseContext=%7Bnope")), StatusCode::BAD_REQUEST, "SIM002"),
        (get(&format!("{path}?purchaseContext=%7B%22items%22%3A%5B%7B%22id%22%3A%221%22%7D%5D%7D")), StatusCode::BAD_REQUEST, "SIM001"),
        (post("/pvt/orderForms/elsewhere", "{}"), StatusCode::NOT_FOUND, "HTTP404"),
    ];
    for (req, status, code) in cases {
        let resp = handle(&w.deps, req).await;
        assert_refused(&resp, status, code);
    }
    assert_eq!(
        w.probe.sku_calls.load(Ordering::SeqCst),
        0,
        "refused before any read"
    );
}

#[tokio::test]
async fn wrong_method_is_a_405_naming_the_allowed_ones() {
    let w = world();
    let mut req = post("/pvt/orderForms/simulation", "{}");
    *req.method_mut() = Method::PUT;
    let resp = handle(&w.deps, req).await;
    assert_refused(&resp, StatusCode::METHOD_NOT_ALLOWED, "HTTP405");
    assert_eq!(header(&resp, "allow"), "GET, POST");
}

#[tokio::test]
async fn unknown_fields_and_capitalized_seller_are_accepted() {
    let w = world();
    let body = json!({
        "items": [{"id": "2002495", "quantity": 1, "Seller": "1", "parentItemIndex": null}],
        "isCheckedIn": false, "orderFormId": "abc", "shippingData": {"logisticsInfo": []}
    });
    let resp = handle(
        &w.deps,
        post("/pvt/orderForms/simulation", &body.to_string()),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = json_of(&resp);
    assert_eq!(body["items"][0]["seller"], "1");
    assert_eq!(body["items"][0]["price"], 9990);
}

// Scope -----------------------------------------------------------------------------------------

#[tokio::test]
async fn query_sc_wins_over_body_sc_which_wins_over_configuration() {
    let w = world_with(Config {
        default_sc: Some("2".into()),
        ..Config::default()
    });
    // 2001001 costs 229900 on sc 1 and 206910 on sc 2.
    let body = |sc: Option<&str>| {
        let mut b = json!({"items": [{"id": "2001001", "quantity": 1, "seller": "1"}]});
        if let Some(sc) = sc {
            b["sc"] = json!(sc);
        }
        b.to_string()
    };
    let price = |resp: Response<Body>| json_of(&resp)["items"][0]["price"].clone();
    let path = "/pvt/orderForms/simulation";
    assert_eq!(
        price(handle(&w.deps, post(&format!("{path}?sc=1"), &body(Some("2")))).await),
        229900
    );
    assert_eq!(
        price(handle(&w.deps, post(path, &body(Some("1")))).await),
        229900
    );
    assert_eq!(
        price(handle(&w.deps, post(path, &body(None))).await),
        206910
    );
    assert_eq!(
        price(handle(&w.deps, post(&format!("{path}?sc="), &body(None))).await),
        206910
    );
}

#[tokio::test]
async fn without_sc_anywhere_the_default_sales_channel_applies() {
    // Economica (cd-cajamar, every BRA postal code) is restricted to sales channel 2.
    let body = json!({
        "items": [{"id": "2001001", "quantity": 1, "seller": "1"}],
        "postalCode": "22051-030", "country": "BRA"
    })
    .to_string();
    let path = "/pvt/orderForms/simulation";
    let quote = |w: World, uri: String| {
        let body = body.clone();
        async move {
            let resp = handle(&w.deps, post(&uri, &body)).await;
            assert_eq!(resp.status(), StatusCode::OK);
            let b = json_of(&resp);
            (
                b["items"][0]["price"].clone(),
                sla_ids(&b["logisticsInfo"][0]),
            )
        }
    };
    let (price, slas) = quote(world(), path.to_string()).await;
    assert_eq!(price, 229900, "sc 1's price");
    assert!(!slas.iter().any(|s| s == "Economica"), "{slas:?}");
    assert!(slas.iter().any(|s| s == "Normal"), "{slas:?}");
    let (price, slas) = quote(world(), format!("{path}?sc=2")).await;
    assert_eq!(price, 206910);
    assert!(slas.iter().any(|s| s == "Economica"), "{slas:?}");
    assert_eq!(Config::default().default_sc.as_deref(), Some("1"));
}

#[tokio::test]
async fn an_selects_the_partner_price_list() {
    let w = world();
    let body = json!({"items": [{"id": "2009002", "quantity": 1, "seller": "1"}, {"id": "2000037", "quantity": 1, "seller": "1"}]}).to_string();
    let plain = json_of(&handle(&w.deps, post("/pvt/orderForms/simulation", &body)).await);
    assert_eq!(
        plain["items"][0]["quantity"], 0,
        "no price without the partner an"
    );
    let partner = json_of(
        &handle(
            &w.deps,
            post("/pvt/orderForms/simulation?an=parceiromkp", &body),
        )
        .await,
    );
    assert_eq!(partner["items"][0]["quantity"], 1);
    assert_eq!(partner["items"][0]["price"], 15990);
    assert_eq!(partner["items"][1]["price"], 66203);
}

// Store behaviour -------------------------------------------------------------------------------

#[tokio::test]
async fn skus_are_read_in_one_call_with_distinct_ids() {
    let w = world();
    let body = json!({"items": [
        {"id": "2000037", "quantity": 1, "seller": "1"},
        {"id": "34562", "quantity": 1, "seller": "1"},
        {"id": "2000037", "quantity": 3, "seller": "1"}
    ]});
    let resp = handle(
        &w.deps,
        post("/pvt/orderForms/simulation", &body.to_string()),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(w.probe.sku_calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        *w.probe.last_ids.lock().unwrap(),
        vec!["2000037".to_string(), "34562".to_string()]
    );
    assert_eq!(json_of(&resp)["items"][2]["quantity"], 3);
}

#[tokio::test]
async fn shipping_rules_are_cached_until_the_refresh_period_ends() {
    let w = world_with(Config {
        rules_refresh_secs: 300,
        ..Config::default()
    });
    for _ in 0..3 {
        assert_eq!(
            handle(&w.deps, event(CHECKOUT)).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(w.probe.rules_calls.load(Ordering::SeqCst), 1);
    w.clock.advance(chrono::Duration::seconds(301));
    handle(&w.deps, event(CHECKOUT)).await;
    assert_eq!(w.probe.rules_calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failed_rules_refresh_keeps_serving_the_previous_rules() {
    let w = world_with(Config {
        rules_refresh_secs: 10,
        ..Config::default()
    });
    handle(&w.deps, event(CHECKOUT)).await;
    w.probe.fail_rules.store(true, Ordering::SeqCst);
    w.clock.advance(chrono::Duration::seconds(11));
    let resp = handle(&w.deps, event(CHECKOUT)).await;
    assert_eq!(w.probe.rules_calls.load(Ordering::SeqCst), 2);
    assert_eq!(resp.status(), StatusCode::OK);
    let body = json_of(&resp);
    assert_eq!(sla_ids(&body["logisticsInfo"][0]).len(), 4);
}

fn assert_all_unavailable(resp: &Response<Body>, items: usize) {
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(resp, "cache-control"), "no-store");
    let body = json_of(resp);
    assert_eq!(body["items"].as_array().unwrap().len(), items);
    for (i, info) in body["logisticsInfo"].as_array().unwrap().iter().enumerate() {
        assert_eq!(info["itemIndex"], i);
        assert_eq!(info["quantity"], 0);
        assert_eq!(info["stockBalance"], 0);
        assert_eq!(info["slas"], json!([]));
        assert_eq!(body["items"][i]["quantity"], 0);
    }
}

#[tokio::test]
async fn a_failing_store_answers_every_item_unavailable_not_5xx() {
    let w = world();
    w.probe.fail_skus.store(true, Ordering::SeqCst);
    assert_all_unavailable(&handle(&w.deps, event(CHECKOUT)).await, 2);
    // Degraded GET answers are not cacheable.
    assert_all_unavailable(&handle(&w.deps, event(GET_CONTEXT)).await, 1);
}

#[tokio::test]
async fn a_slow_store_is_cut_off_at_the_budget() {
    let w = world_with(Config {
        store_budget: Duration::from_millis(150),
        ..Config::default()
    });
    w.probe.stall_skus.store(true, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let resp = handle(&w.deps, event(CHECKOUT)).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_all_unavailable(&resp, 2);
}

#[tokio::test]
async fn without_rules_every_item_is_unavailable() {
    let mut file = sample();
    file.shipping_rules = ShippingRules::empty();
    let probe = Probe::new(&file);
    let deps = Deps::new(
        probe,
        Arc::new(ManualClock::new(wednesday())),
        Config::default(),
    );
    assert_all_unavailable(&handle(&deps, event(CHECKOUT)).await, 2);
}

#[tokio::test]
async fn an_empty_cart_gets_an_empty_answer_without_reading_skus() {
    let w = world();
    let resp = handle(
        &w.deps,
        post("/pvt/orderForms/simulation", r#"{"items": []}"#),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = json_of(&resp);
    assert_eq!(body["items"], json!([]));
    assert_eq!(body["logisticsInfo"], json!([]));
    assert_eq!(w.probe.sku_calls.load(Ordering::SeqCst), 0);
}

// Configuration ---------------------------------------------------------------------------------

#[test]
fn config_reads_the_environment_names_and_refuses_nonsense() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        lambda_kit::config::Vars::from_pairs(pairs.iter().copied())
    };
    let c = Config::from_vars(&env(&[
        ("CATALOG_TABLE", "catalog"),
        ("SIMULATION_CACHE_MAX_AGE", "300"),
        ("SIMULATION_RULES_REFRESH_SECS", "30"),
        ("SIMULATION_MAX_ITEMS", "200"),
        ("SIMULATION_STORE_BUDGET_MS", "1200"),
        ("DEFAULT_SC", "1"),
        ("DEFAULT_AN", " "),
    ]))
    .unwrap();
    assert_eq!(c.table_name, "catalog");
    assert_eq!(c.cache_max_age_secs, 300);
    assert_eq!(c.rules_refresh_secs, 30);
    assert_eq!(c.max_items, 200);
    assert_eq!(c.store_budget, Duration::from_millis(1200));
    assert_eq!(c.default_sc.as_deref(), Some("1"));
    assert_eq!(c.default_an, None, "blank means unset");
    assert_eq!(Config::from_vars(&env(&[])).unwrap(), Config::default());
    assert!(Config::from_vars(&env(&[("SIMULATION_CACHE_MAX_AGE", "-1")])).is_err());
    assert!(Config::from_vars(&env(&[("SIMULATION_STORE_BUDGET_MS", "2400")])).is_err());
    assert!(Config::from_vars(&env(&[("SIMULATION_MAX_ITEMS", "0")])).is_err());
}
