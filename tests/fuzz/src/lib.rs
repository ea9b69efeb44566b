//! What every fuzz target shares: a fresh in-memory world per input (so a run is deterministic and
//! a crash reproduces from its artifact alone), the real handlers on a current-thread runtime, and
//! the property every inbound route keeps: any input gets an answer, never a panic and never a
//! 5xx, and a refusal is VTEX's error envelope.

use chrono::TimeZone;
use domain::catalog::CatalogFile;
use domain::clock::{Clock, ManualClock};
use domain::lifecycle::IdGen;
use domain::memory::MemoryStore;
use lambda_http::http::{self, HeaderName, HeaderValue, Method};
use lambda_http::{Body, Request, Response};
use lambda_kit::auth::{InboundAuth, Secret};
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub const PATH_SECRET: &str = "s3cr3t-path";
pub const APP_KEY: &str = "vtexappkey-fuzz";
pub const APP_TOKEN: &str = "TOKEN-fuzz";

const CATALOG: &str = include_str!("../../../shared/sample/catalog.json");
const PLACEMENT_EVENT: &str = include_str!("../../../events/order-placement.array.json");

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
    static SAMPLE: CatalogFile = serde_json::from_str(CATALOG).expect("the sample catalog");
}

/// Runs a handler to completion.
pub fn run<F: Future>(f: F) -> F::Output {
    RUNTIME.with(|rt| rt.block_on(f))
}

/// Order ids and receipts from a counter: the same input makes the same ids.
#[derive(Default)]
struct SeqIds(AtomicU64);

impl IdGen for SeqIds {
    fn order_id(&self) -> String {
        format!("SLR-FUZZ{:012}", self.0.fetch_add(1, Ordering::Relaxed))
    }
    fn receipt(&self) -> String {
        format!("receipt-{}", self.0.fetch_add(1, Ordering::Relaxed))
    }
}

/// The three HTTP functions over one in-memory store holding the sample catalog.
pub struct World {
    pub store: MemoryStore,
    pub simulation: simulation::Deps,
    pub placement: order_placement::Deps,
    pub fulfillment: fulfillment::Deps,
}

pub fn auth() -> InboundAuth {
    InboundAuth {
        path_secret: Secret::new(PATH_SECRET),
        app_key: Secret::new(APP_KEY),
        app_token: Secret::new(APP_TOKEN),
    }
}

/// A fresh world; `auth` configures inbound credentials on every function (open otherwise).
pub fn world(auth: InboundAuth) -> World {
    let store = SAMPLE.with(MemoryStore::with_catalog);
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 18, 12, 0, 0)
            .single()
            .expect("a valid date"),
    ));
    let shared = Arc::new(store.clone());
    let ids: Arc<dyn IdGen> = Arc::new(SeqIds::default());
    World {
        simulation: simulation::Deps::new(
            shared.clone(),
            clock.clone(),
            simulation::Config {
                auth: auth.clone(),
                ..simulation::Config::default()
            },
        ),
        placement: order_placement::Deps::new(
            shared.clone(),
            shared.clone(),
            shared.clone(),
            clock.clone(),
            order_placement::Config {
                auth: auth.clone(),
                ..order_placement::Config::default()
            },
        )
        .with_ids(ids.clone()),
        fulfillment: fulfillment::Deps::new(
            shared.clone(),
            shared.clone(),
            shared,
            clock,
            fulfillment::Config {
                auth,
                ..fulfillment::Config::default()
            },
        )
        .with_ids(ids),
        store,
    }
}

/// The body of `events/order-placement.array.json` (one order, marketplace id `959311095`).
pub fn sample_placement_body() -> String {
    let event: Value = serde_json::from_str(PLACEMENT_EVENT).expect("the placement event");
    event["body"].as_str().expect("a text body").to_string()
}

pub const SAMPLE_MARKETPLACE_ORDER_ID: &str = "959311095";

/// Places the sample order; returns our order id.
pub fn place_sample(w: &World) -> String {
    let req = request(
        Method::POST,
        "/pvt/orders?an=acct&sc=1",
        &[],
        sample_placement_body().as_bytes(),
    )
    .expect("a valid request");
    let resp = run(order_placement::handle(&w.placement, req));
    assert_eq!(resp.status(), 200, "the sample placement must succeed");
    let v: Value = serde_json::from_slice(body_bytes(&resp)).expect("a JSON answer");
    v[0]["orderId"].as_str().expect("an order id").to_string()
}

/// A request as API Gateway hands it over: text body when UTF-8, binary otherwise. `None` when
/// the URI or a header cannot exist in HTTP (API Gateway would not deliver it).
pub fn request(
    method: Method,
    uri: &str,
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Option<Request> {
    let mut b = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(value).ok()?;
        b = b.header(name, value);
    }
    let body = match std::str::from_utf8(body) {
        _ if body.is_empty() => Body::Empty,
        Ok(text) => Body::Text(text.to_string()),
        Err(_) => Body::Binary(body.to_vec()),
    };
    b.body(body).ok()
}

pub fn body_bytes(resp: &Response<Body>) -> &[u8] {
    match resp.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// The property of every inbound route: no 5xx, and every answer with a body is JSON; a 4xx is
/// VTEX's envelope with a code.
pub fn assert_answered(resp: &Response<Body>, input: &[u8]) {
    let status = resp.status();
    let body = body_bytes(resp);
    assert!(
        !status.is_server_error(),
        "{status} for input {:?}: {}",
        String::from_utf8_lossy(input),
        String::from_utf8_lossy(body)
    );
    if body.is_empty() {
        return;
    }
    let v: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "{status} with a non-JSON body ({e}): {}",
            String::from_utf8_lossy(body)
        )
    });
    if status.is_client_error() {
        assert!(
            v["error"]["code"].is_string() && v["error"]["message"].is_string(),
            "{status} without VTEX's error envelope: {v}"
        );
    }
}

/// Percent-encodes every byte but the unreserved ones: any input becomes a valid URI part.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `data` split at the first `n - 1` newlines (missing parts are empty).
pub fn split_lines(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut parts: Vec<&[u8]> = data.splitn(n, |&b| b == b'\n').collect();
    parts.resize(n, &[]);
    parts
}
