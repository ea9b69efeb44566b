//! No secret and no customer data in the logs or the metrics, and the correlation ids on every
//! line: a whole order (simulation → placement → retry → fulfill → cancel → admin view), refused
//! placements carrying customer data, and requests with wrong credentials, through the real
//! handlers over the embedded SQLite store, with inbound auth configured. Everything the
//! production log format (`lambda_kit::telemetry::json_subscriber`, at TRACE: stricter than
//! production's INFO) and the EMF output print is captured and searched.

use domain::catalog::CatalogFile;
use domain::clock::{Clock, ManualClock};
use domain::store_support::load_catalog;
use embedded_store::EmbeddedStore;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use lambda_kit::auth::{InboundAuth, Secret};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex};

const PATH_SECRET: &str = "pathS3cret-k29fQx";
const APP_KEY: &str = "vtexappkey-known-7d1e";
const APP_TOKEN: &str = "KNOWN-APPTOKEN-4b8e0c5a";
/// Presented by the failing attempts.
const WRONG_SECRET: &str = "guessed-Secret-0aa1";
const WRONG_KEY: &str = "vtexappkey-intruder-99";
const WRONG_TOKEN: &str = "INTRUDER-TOKEN-31f7";

const PLACEMENT_EVENT: &str = include_str!("../../events/order-placement.array.json");

/// Customer fields of a placement whose values must never be printed (`number`, `state`,
/// `country` are too short to search for without false positives, and not personal on their own).
const CUSTOMER_FIELDS: [&str; 13] = [
    "email",
    "firstName",
    "lastName",
    "document",
    "phone",
    "corporateName",
    "corporateDocument",
    "receiverName",
    "postalCode",
    "city",
    "street",
    "neighborhood",
    "reference",
];

/// What the handlers print: the JSON log lines and the EMF lines.
#[derive(Clone, Default)]
struct Captured {
    logs: Arc<Mutex<Vec<u8>>>,
    metrics: Arc<Mutex<Vec<String>>>,
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Installs the capture for the whole test binary (every thread: the store may log from a
    /// blocking thread). This file holds a single test, so nothing else writes here.
    fn install() -> Self {
        let c = Captured::default();
        let logs = c.logs.clone();
        let subscriber =
            lambda_kit::telemetry::json_subscriber("trace", move || LogWriter(logs.clone()));
        tracing::subscriber::set_global_default(subscriber).unwrap();
        let metrics = c.metrics.clone();
        lambda_kit::metrics::set_output(move |line| metrics.lock().unwrap().push(line.into()));
        c
    }

    fn log_lines(&self) -> Vec<Value> {
        String::from_utf8(self.logs.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    fn text(&self) -> String {
        let logs = String::from_utf8(self.logs.lock().unwrap().clone()).unwrap();
        format!("{logs}\n{}", self.metrics.lock().unwrap().join("\n"))
    }

    fn metric_sum(&self, name: &str) -> f64 {
        self.metrics
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter_map(|v| v[name].as_f64())
            .sum()
    }
}

/// The placement body of `../shared/protocol/examples` (the event carries the same body when the
/// folder is absent).
fn placement_body() -> Value {
    connector_tests::schema::example("order-placement.request.json").unwrap_or_else(|| {
        let event: Value = serde_json::from_str(PLACEMENT_EVENT).unwrap();
        serde_json::from_str(event["body"].as_str().unwrap()).unwrap()
    })
}

/// Every customer value of the body, with the field it came from.
fn customer_values(body: &Value) -> Vec<(String, String)> {
    let order = &body[0];
    let mut out = Vec::new();
    for part in [
        &order["clientProfileData"],
        &order["shippingData"]["address"],
    ] {
        for field in CUSTOMER_FIELDS {
            if let Some(v) = part[field].as_str().filter(|v| !v.trim().is_empty()) {
                out.push((field.to_string(), v.to_string()));
            }
        }
    }
    out
}

fn auth() -> InboundAuth {
    InboundAuth {
        path_secret: Secret::new(PATH_SECRET),
        app_key: Secret::new(APP_KEY),
        app_token: Secret::new(APP_TOKEN),
    }
}

struct System {
    simulation: simulation::Deps,
    placement: order_placement::Deps,
    fulfillment: fulfillment::Deps,
}

async fn system() -> System {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(chrono::Utc::now()));
    let store = EmbeddedStore::open_in_memory().unwrap();
    let catalog: CatalogFile =
        serde_json::from_str(include_str!("../../shared/sample/catalog.json")).unwrap();
    load_catalog(&store, &catalog).await.unwrap();
    let shared = Arc::new(store);
    System {
        simulation: simulation::Deps::new(
            shared.clone(),
            clock.clone(),
            simulation::Config {
                auth: auth(),
                ..simulation::Config::default()
            },
        ),
        placement: order_placement::Deps::new(
            shared.clone(),
            shared.clone(),
            shared.clone(),
            clock.clone(),
            order_placement::Config {
                auth: auth(),
                ..order_placement::Config::default()
            },
        ),
        fulfillment: fulfillment::Deps::new(
            shared.clone(),
            shared.clone(),
            shared,
            clock,
            fulfillment::Config {
                auth: auth(),
                ..fulfillment::Config::default()
            },
        ),
    }
}

fn request(
    method: Method,
    uri: &str,
    operation_id: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Request {
    let mut b = lambda_http::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("x-vtex-operation-id", operation_id)
        .header("traceparent", traceparent(operation_id));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let body = body.map_or(Body::Empty, |v| Body::from(v.to_string()));
    b.body(body).unwrap()
}

fn traceparent(operation_id: &str) -> String {
    format!("00-{:0>32}-00f067aa0ba902b7-01", operation_id.len())
}

fn json_of(resp: &Response<Body>) -> Value {
    match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        Body::Binary(b) => serde_json::from_slice(b).unwrap(),
        _ => Value::Null,
    }
}

/// Extra request headers: (name, value).
type Headers<'a> = Vec<(&'a str, &'a str)>;

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn app_key_headers() -> [(&'static str, &'static str); 2] {
    [
        ("X-VTEX-API-AppKey", APP_KEY),
        ("X-VTEX-API-AppToken", APP_TOKEN),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_data_and_secrets_never_reach_logs_or_metrics() {
    let captured = Captured::install();
    let sys = system().await;
    let body = placement_body();
    let order = &body[0];
    let marketplace_order_id = order["marketplaceOrderId"].as_str().unwrap().to_string();
    let address = &order["shippingData"]["address"];
    let mut expected_ops: Vec<&str> = Vec::new();

    // Simulation of the shopper's cart to the shopper's postal code, POST and GET.
    let cart = json!({
        "items": order["items"].as_array().unwrap().iter()
            .map(|i| json!({"id": i["id"], "quantity": i["quantity"], "seller": "1"}))
            .collect::<Vec<_>>(),
        "postalCode": address["postalCode"],
        "country": address["country"],
        "clientProfileData": order["clientProfileData"],
    });
    let resp = simulation::handle(
        &sys.simulation,
        request(
            Method::POST,
            &format!("/api/{PATH_SECRET}/pvt/orderForms/simulation?sc=1&an=acct"),
            "op-sim-post",
            &[],
            Some(&cart),
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK, "{:?}", json_of(&resp));
    expected_ops.push("op-sim-post");
    let context = percent_encode(&cart.to_string());
    let resp = simulation::handle(
        &sys.simulation,
        request(
            Method::GET,
            &format!("/pvt/orderForms/simulation?sc=1&an=acct&purchaseContext={context}"),
            "op-sim-get",
            &app_key_headers(),
            None,
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK, "{:?}", json_of(&resp));
    expected_ops.push("op-sim-get");

    // Placement (AppKey/AppToken), then VTEX's retry of the same body.
    let place = |op: &'static str| {
        request(
            Method::POST,
            "/vtex/pvt/orders?an=acct&sc=1",
            op,
            &app_key_headers(),
            Some(&body),
        )
    };
    let resp = order_placement::handle(&sys.placement, place("op-place")).await;
    assert_eq!(resp.status(), StatusCode::OK, "{:?}", json_of(&resp));
    let order_id = json_of(&resp)[0]["orderId"].as_str().unwrap().to_string();
    let resp = order_placement::handle(&sys.placement, place("op-place-retry")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json_of(&resp)[0]["orderId"], order_id.as_str());
    expected_ops.extend(["op-place", "op-place-retry"]);

    // Placements refused with customer data in the body: out of stock, then malformed.
    let mut greedy = body.clone();
    greedy[0]["marketplaceOrderId"] = json!("959311096");
    greedy[0]["items"][0]["quantity"] = json!(9_999); // within the limits, past the stock
    let resp = order_placement::handle(
        &sys.placement,
        request(
            Method::POST,
            &format!("/vtex/{PATH_SECRET}/pvt/orders?an=acct"),
            "op-place-greedy",
            &[],
            Some(&greedy),
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let mut malformed = body.clone();
    malformed[0]["marketplaceOrderId"] = json!("959311097");
    malformed[0]["shippingData"]["logisticsInfo"][0]["lockTTL"] = json!("eight days");
    let resp = order_placement::handle(
        &sys.placement,
        request(
            Method::POST,
            &format!("/vtex/{PATH_SECRET}/pvt/orders?an=acct"),
            "op-place-malformed",
            &[],
            Some(&malformed),
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    expected_ops.extend(["op-place-greedy", "op-place-malformed"]);

    // Fulfill (Authorization header), cancel (?secret=) with the shopper's own words, admin view.
    let authorization = format!(r#"VTEX key="{APP_KEY}" token="{APP_TOKEN}""#);
    let resp = fulfillment::handle(
        &sys.fulfillment,
        request(
            Method::POST,
            &format!("/vtex/pvt/orders/{order_id}/fulfill"),
            "op-fulfill",
            &[("Authorization", &authorization)],
            Some(&json!({"marketplaceOrderId": marketplace_order_id})),
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK, "{:?}", json_of(&resp));
    let shopper_reason = "Jonas: mudei de ideia, entregar na casa da Maria Aparecida";
    let resp = fulfillment::handle(
        &sys.fulfillment,
        request(
            Method::POST,
            &format!("/vtex/pvt/orders/{order_id}/cancel?an=acct&secret={PATH_SECRET}"),
            "op-cancel",
            &[],
            Some(&json!({
                "marketplaceOrderId": marketplace_order_id,
                "cancellationRequestId": "req-1",
                "reason": shopper_reason,
                "requestedByUser": true,
            })),
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK, "{:?}", json_of(&resp));
    let resp = fulfillment::handle(
        &sys.fulfillment,
        request(
            Method::GET,
            &format!("/vtex/{PATH_SECRET}/admin/orders/{order_id}?an=acct"),
            "op-admin",
            &[],
            None,
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK, "{:?}", json_of(&resp));
    expected_ops.extend(["op-fulfill", "op-cancel", "op-admin"]);

    // Wrong credentials, every method, on every function.
    let wrong_authorization = format!(r#"VTEX key="{WRONG_KEY}" token="{WRONG_TOKEN}""#);
    let half_wrong_authorization = format!(r#"VTEX key="{APP_KEY}" token="{WRONG_TOKEN}""#);
    let attempts: Vec<(&str, String, Headers)> = vec![
        (
            "op-bad-path",
            format!("/vtex/{WRONG_SECRET}/pvt/orders?an=acct"),
            vec![],
        ),
        (
            "op-bad-query",
            format!("/vtex/pvt/orders?an=acct&secret={WRONG_SECRET}"),
            vec![],
        ),
        (
            "op-bad-headers",
            "/vtex/pvt/orders?an=acct".into(),
            vec![
                ("X-VTEX-API-AppKey", WRONG_KEY),
                ("X-VTEX-API-AppToken", WRONG_TOKEN),
            ],
        ),
        (
            "op-bad-token",
            "/vtex/pvt/orders?an=acct".into(),
            vec![
                ("X-VTEX-API-AppKey", APP_KEY),
                ("X-VTEX-API-AppToken", WRONG_TOKEN),
            ],
        ),
        (
            "op-bad-authorization",
            "/vtex/pvt/orders?an=acct".into(),
            vec![("Authorization", &wrong_authorization)],
        ),
        (
            "op-half-authorization",
            "/vtex/pvt/orders?an=acct".into(),
            vec![("Authorization", &half_wrong_authorization)],
        ),
    ];
    for (op, uri, headers) in &attempts {
        let resp = order_placement::handle(
            &sys.placement,
            request(Method::POST, uri, op, headers, Some(&body)),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{op}");
        expected_ops.push(*op);
    }
    let resp = simulation::handle(
        &sys.simulation,
        request(
            Method::POST,
            &format!("/{WRONG_SECRET}/pvt/orderForms/simulation"),
            "op-bad-sim",
            &[
                ("X-VTEX-API-AppKey", APP_KEY),
                ("X-VTEX-API-AppToken", WRONG_TOKEN),
            ],
            Some(&cart),
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = fulfillment::handle(
        &sys.fulfillment,
        request(
            Method::POST,
            &format!("/vtex/pvt/orders/{order_id}/fulfill?secret={WRONG_SECRET}"),
            "op-bad-fulfill",
            &[("Authorization", &wrong_authorization)],
            Some(&json!({"marketplaceOrderId": marketplace_order_id})),
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    expected_ops.extend(["op-bad-sim", "op-bad-fulfill"]);

    // --- what was printed ------------------------------------------------------------------------
    let text = captured.text();
    let lower = text.to_lowercase();
    let mut forbidden: Vec<(String, String)> = customer_values(&body);
    assert!(
        forbidden.len() >= 10,
        "the example lost its customer data: {forbidden:?}"
    );
    forbidden.push(("cancel reason".into(), shopper_reason.into()));
    forbidden.push(("cancel reason (part)".into(), "Maria Aparecida".into()));
    for (what, secret) in [
        ("configured path secret", PATH_SECRET),
        ("configured AppKey", APP_KEY),
        ("configured AppToken", APP_TOKEN),
        ("presented secret", WRONG_SECRET),
        ("presented AppKey", WRONG_KEY),
        ("presented AppToken", WRONG_TOKEN),
    ] {
        forbidden.push((what.into(), secret.into()));
    }
    for (what, value) in &forbidden {
        // JSON may escape non-ASCII; search the raw and the escaped spelling, any case.
        let escaped = serde_json::to_string(value).unwrap();
        let escaped = escaped.trim_matches('"');
        let ascii_escaped: String = value
            .chars()
            .map(|c| {
                if c.is_ascii() {
                    c.to_string()
                } else {
                    format!("\\u{:04x}", c as u32)
                }
            })
            .collect();
        for needle in [value.as_str(), escaped, ascii_escaped.as_str()] {
            assert!(
                !lower.contains(&needle.to_lowercase()),
                "{what} ({needle:?}) was printed:\n{}",
                text.lines()
                    .filter(|l| l.to_lowercase().contains(&needle.to_lowercase()))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }

    // Correlation: every line carries the request's ids; order ids once known.
    let lines = captured.log_lines();
    assert!(lines.len() >= expected_ops.len(), "{lines:?}");
    for line in &lines {
        let span = &line["span"];
        assert!(
            span["operation_id"]
                .as_str()
                .is_some_and(|o| o.starts_with("op-")),
            "a line without the operation id: {line}"
        );
        let op = span["operation_id"].as_str().unwrap();
        assert_eq!(span["traceparent"], traceparent(op).as_str(), "{line}");
        assert!(span["function"].is_string(), "{line}");
    }
    for op in &expected_ops {
        assert!(
            lines.iter().any(|l| l["span"]["operation_id"] == *op),
            "no line for {op}"
        );
    }
    let with_ids = |op: &str| {
        lines.iter().any(|l| {
            l["span"]["operation_id"] == op
                && l["span"]["order_id"] == order_id.as_str()
                && l["span"]["marketplace_order_id"] == marketplace_order_id.as_str()
        })
    };
    for op in [
        "op-place",
        "op-place-retry",
        "op-fulfill",
        "op-cancel",
        "op-admin",
    ] {
        assert!(
            with_ids(op),
            "{op}: no line with order_id {order_id} and marketplace_order_id {marketplace_order_id}"
        );
    }
    assert!(lines.iter().any(|l| {
        l["span"]["operation_id"] == "op-place-greedy"
            && l["span"]["marketplace_order_id"] == "959311096"
    }));

    // The metrics of the flow, in EMF.
    assert_eq!(captured.metric_sum("OrdersPlaced"), 1.0);
    assert_eq!(captured.metric_sum("PlacementRetries"), 1.0);
    assert_eq!(captured.metric_sum("PlacementsRefused"), 1.0);
    assert_eq!(captured.metric_sum("OrdersFulfilled"), 1.0);
    assert_eq!(
        captured.metric_sum("OrdersCanceled") + captured.metric_sum("CancelsEvaluating"),
        1.0
    );
    assert_eq!(captured.metric_sum("AuthFailures"), 8.0);
    assert_eq!(captured.metric_sum("SimulationItems"), 2.0);
    assert!(captured.metric_sum("SimulationLatency") > 0.0);
    lambda_kit::metrics::reset_output();
}
