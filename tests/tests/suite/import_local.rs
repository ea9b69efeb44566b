//! The import worker and the mse over the embedded store and its `LocalQueue` (what the local
//! runner runs): `local::event_source::poll_once` plays the event-source mapping, the grace period
//! is a delayed local message, and VTEX's invoice notification reaches the local order-events
//! queue once.

use crate::import_support;
use domain::clock::SystemClock;
use domain::import::{ImportKey, ImportStatus, ImportStore, ImportTiming};
use embedded_store::imports::SqliteImports;
use embedded_store::{EmbeddedStore, ORDER_EVENTS_QUEUE};
use lambda_kit::auth::{InboundAuth, Secret};
use local::IMPORT_QUEUE;
use local::event_source::poll_once;
use order_import::{Config, Deps, handle};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vtex::client::VtexClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_queue_carries_an_import_to_invoiced_and_the_erp_hears_once() {
    let (addr, standin) = vtex_standin::serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    standin.state().fulfillment.lock().unwrap().grace = Duration::ZERO;
    let store = EmbeddedStore::open_in_memory().unwrap();
    let imports = Arc::new(SqliteImports::new(&store).unwrap());
    let queue = store.queue(IMPORT_QUEUE).with_max_receives(5);
    let events = store.queue(ORDER_EVENTS_QUEUE);
    let mse = Arc::new(mse::Deps {
        imports: imports.clone(),
        notifications: imports.clone(),
        events: Arc::new(events.clone()),
        log: Arc::new(store.clone()),
        clock: Arc::new(SystemClock),
        config: mse::Config {
            auth: InboundAuth {
                path_secret: Secret::new("local-secret"),
                app_key: None,
                app_token: None,
            },
            ..mse::Config::default()
        },
    });
    let (mse_addr, _server) = import_support::serve_mse(mse).await;
    let deps = Deps {
        imports: imports.clone(),
        log: Arc::new(store.clone()),
        vtex: Arc::new(VtexClient::new(format!("http://{addr}"), standin.credentials()).unwrap()),
        queue: Arc::new(queue.clone()),
        scheduler: Arc::new(queue.clone()),
        clock: Arc::new(SystemClock),
        config: Config {
            account: "myshop".into(),
            vtex_base_url: format!("http://{addr}"),
            vtex_timeout: Duration::from_secs(5),
            mse_url: Config::mse_from_base(&format!("http://{mse_addr}/"), "local-secret"),
            default_affiliate: None,
            default_sales_channel: "1".into(),
            timing: ImportTiming {
                grace: Duration::from_secs(1),
                not_ready_retry: Duration::from_secs(1),
                give_up_after: Duration::from_secs(60),
            },
            backoff: order_import::Backoff {
                base: Duration::ZERO,
                max: Duration::ZERO,
            },
        },
    };
    let mkp = "2630580124-local";
    queue
        .send(
            &import_support::order_message_for(mkp).to_string(),
            None,
            None,
        )
        .await
        .unwrap();
    // The order's invoice once more as its own message: nothing changes at VTEX.
    queue
        .send(
            &import_support::invoice_message_for(mkp).to_string(),
            None,
            None,
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !queue.is_empty().await.unwrap() {
        assert!(
            Instant::now() < deadline,
            "local import queue never drained"
        );
        poll_once(&queue, 10, Duration::from_secs(30), |e| handle(&deps, e))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rec = imports
        .get(&ImportKey::new("EXT", mkp))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.status(), ImportStatus::Invoiced);
    assert!(
        rec.handling_at.unwrap() - rec.authorized_at.unwrap()
            >= chrono::Duration::milliseconds(900)
    );
    assert_eq!(queue.dlq().len().await.unwrap(), 0);
    let placements = standin
        .state()
        .requests()
        .iter()
        .filter(|r| r.accepted() && r.path == "/api/fulfillment/pvt/orders")
        .count();
    assert_eq!(placements, 1);
    let erp = events.receive(10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(erp.len(), 1);
    let e: serde_json::Value = serde_json::from_str(&erp[0].body).unwrap();
    assert_eq!(e["type"], "import.invoiceNotified");
    assert_eq!(e["marketplaceOrderId"], mkp);
    assert_eq!(events.len().await.unwrap(), 1);
}
