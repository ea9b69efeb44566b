//! In-process cost of one simulation through [`simulation::handle`]: parse → one batched SKU
//! read → cached rules → quote → serialize, over the in-memory store (the handler alone) and the
//! embedded SQLite store (what the local runner adds), both holding the sample catalog. The
//! network, the HTTP server and DynamoDB are not in it (tests/bench/simulation_vs_hyper.sh
//! measures the whole local runner over HTTP).
//!
//! ```sh
//! cargo bench -p simulation --bench simulation                  # criterion, release profile
//! SIMULATION_PROFILE_RUNS=2000 [SIMULATION_PROFILE_STORE=embedded] valgrind --tool=callgrind \
//!   target/release/deps/simulation-<hash>                      # a plain loop, for a profiler
//! ```

use chrono::{TimeZone, Utc};
use criterion::{Criterion, Throughput};
use domain::catalog::CatalogFile;
use domain::clock::ManualClock;
use domain::memory::MemoryStore;
use domain::ports::CatalogReader;
use embedded_store::EmbeddedStore;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request};
use serde_json::json;
use simulation::{Config, Deps, handle};
use std::hint::black_box;
use std::sync::Arc;

/// The carts of the HTTP benchmark (tests/bench/simulation_vs_hyper.sh), checkout to Rio de
/// Janeiro: the README's two items, and the sample catalog's first 50 SKUs, one unit each.
fn carts(file: &CatalogFile) -> [(usize, String); 2] {
    let to_rio = |items: Vec<serde_json::Value>| {
        json!({"items": items, "postalCode": "22051-030", "country": "BRA"}).to_string()
    };
    let two = vec![
        json!({"id": "2000037", "quantity": 1, "seller": "1"}),
        json!({"id": "34562", "quantity": 2, "seller": "1"}),
    ];
    let fifty = file
        .skus
        .iter()
        .take(50)
        .map(|s| json!({"id": s.id, "quantity": 1, "seller": "1"}))
        .collect();
    [(2, to_rio(two)), (50, to_rio(fifty))]
}

fn request(body: &str) -> Request {
    let mut req = Request::new(Body::from(body.to_string()));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = "/pvt/orderForms/simulation?sc=1".parse().unwrap();
    req
}

/// The handler over the in-memory store (the handler's own cost) or over the embedded SQLite
/// store the local runner uses (its SKU reads included).
async fn deps(file: &CatalogFile, embedded: bool) -> Deps {
    let catalog: Arc<dyn CatalogReader> = if embedded {
        let store = EmbeddedStore::open_in_memory().unwrap();
        domain::store_support::load_catalog(&store, file)
            .await
            .unwrap();
        Arc::new(store)
    } else {
        Arc::new(MemoryStore::with_catalog(file))
    };
    // Wednesday noon UTC: the scheduled carrier has windows to offer.
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 18, 12, 0, 0).unwrap());
    Deps::new(catalog, Arc::new(clock), Config::default())
}

fn main() {
    let file: CatalogFile =
        serde_json::from_str(include_str!("../../../shared/sample/catalog.json")).unwrap();
    // Multi-threaded as the runner and Lambda are: the embedded store reads on the blocking pool.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let stores = [
        ("memory", runtime.block_on(deps(&file, false))),
        ("embedded", runtime.block_on(deps(&file, true))),
    ];
    let once = |deps: &Deps, body: &str| {
        let resp = runtime.block_on(handle(deps, request(body)));
        assert_eq!(resp.status(), StatusCode::OK);
        resp
    };
    let carts = carts(&file);
    if let Some(runs) = std::env::var("SIMULATION_PROFILE_RUNS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        // What a profiler sees: the 50-item checkout only, after one warm-up call.
        let store = std::env::var("SIMULATION_PROFILE_STORE").unwrap_or_default();
        let deps = &stores[usize::from(store == "embedded")].1;
        let body = &carts[1].1;
        once(deps, body);
        for _ in 0..runs {
            black_box(once(deps, body));
        }
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    for (store, deps) in &stores {
        let mut group = c.benchmark_group(format!("checkout, {store} store"));
        for (n, body) in &carts {
            group.throughput(Throughput::Elements(*n as u64));
            group.bench_function(format!("{n} items"), |b| {
                b.iter(|| black_box(once(deps, body)))
            });
        }
        group.finish();
    }
    c.final_summary();
}
