//! Latency of the simulation handler for a 100-item cart, in process, against the in-memory and the
//! embedded (SQLite) stores. Optional and not a gate: run it with
//!
//! ```sh
//! cargo test --release -p connector-tests --test suite simulation_bench -- --ignored --nocapture
//! ```
//!
//! It prints p50 / p99 / max of `handle` (parse → one batched SKU read → simulate → serialize). The
//! network round trip to DynamoDB is not in it; with the adapter's ≤ 100 keys per BatchGetItem a
//! 100-item cart is one round trip on top of these numbers.

use chrono::{TimeZone, Utc};
use domain::catalog::{CatalogFile, Sku};
use domain::clock::ManualClock;
use domain::memory::MemoryStore;
use domain::ports::{CatalogReader, CatalogWriter};
use embedded_store::EmbeddedStore;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request};
use serde_json::json;
use simulation::{Config, Deps, handle};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ITEMS: usize = 100;
const RUNS: usize = 300;

/// The sample catalog grown to at least `ITEMS` SKUs by copying SKUs under new ids.
fn big_catalog() -> CatalogFile {
    let mut file: CatalogFile =
        serde_json::from_str(include_str!("../../../shared/sample/catalog.json")).unwrap();
    let originals: Vec<Sku> = file.skus.clone();
    let mut n = 0;
    while file.skus.len() < ITEMS {
        let mut copy = originals[n % originals.len()].clone();
        copy.id = format!("bench-{n}");
        file.skus.push(copy);
        n += 1;
    }
    file
}

fn cart(file: &CatalogFile) -> String {
    let items: Vec<_> = file
        .skus
        .iter()
        .take(ITEMS)
        .map(|s| json!({"id": s.id, "quantity": 2, "seller": "1"}))
        .collect();
    json!({"items": items, "postalCode": "22051-030", "country": "BRA"}).to_string()
}

async fn measure(label: &str, catalog: Arc<dyn CatalogReader>, body: &str) {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 18, 12, 0, 0).unwrap());
    let deps = Deps::new(catalog, Arc::new(clock), Config::default());
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    for i in 0..RUNS + 10 {
        let mut req = Request::new(Body::from(body.to_string()));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = "/pvt/orderForms/simulation?sc=1".parse().unwrap();
        let started = Instant::now();
        let resp = handle(&deps, req).await;
        let took = started.elapsed();
        assert_eq!(resp.status(), StatusCode::OK);
        if i >= 10 {
            times.push(took); // the first runs warm caches and the rules cache
        }
    }
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{label:>9}: {ITEMS}-item checkout cart, {RUNS} runs: p50 {:?}  p99 {:?}  max {:?}",
        pct(0.50),
        pct(0.99),
        times[times.len() - 1]
    );
    assert!(
        pct(0.99) < Duration::from_millis(1500),
        "far outside the budget"
    );
}

#[tokio::test]
#[ignore = "benchmark; run with --ignored --nocapture (ideally --release)"]
async fn simulation_latency_for_a_100_item_cart() {
    let file = big_catalog();
    let body = cart(&file);
    measure("memory", Arc::new(MemoryStore::with_catalog(&file)), &body).await;

    let embedded = EmbeddedStore::open_in_memory().unwrap();
    for sku in &file.skus {
        embedded.upsert_sku(sku).await.unwrap();
    }
    embedded
        .put_shipping_rules(&file.shipping_rules)
        .await
        .unwrap();
    measure("embedded", Arc::new(embedded), &body).await;
}
