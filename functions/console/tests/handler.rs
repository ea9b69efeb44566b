//! The console function fed its sample events (`events/console.*.json`, as `sam local invoke`
//! would), over the embedded store: each answers the page its route promises, and the function
//! refuses what reaches it without IAM authorization or from another site.

use connector_tests::contract::{W1, order, sku};
use console::handle;
use domain::clock::SystemClock;
use domain::listing::OrderBoard;
use domain::order::OrderStatus;
use domain::ports::{CatalogWriter, OrderStore, PlaceOutcome, SaveOutcome, StockEffect};
use embedded_store::EmbeddedStore;
use embedded_store::listing::LocalParked;
use lambda_http::Body;
use std::sync::Arc;

const BASE: &str = "/vtex/console";

async fn router() -> (axum::Router, EmbeddedStore) {
    let store = EmbeddedStore::open_in_memory().unwrap();
    store.upsert_sku(&sku("a", &[(W1, 10)])).await.unwrap();
    // The sample event filters on the README walkthrough's account.
    let mut placed = order("SLR-INV1", "959311095", &[("a", W1, 1)], chrono::Utc::now());
    placed.an = "marketplacedemo".into();
    let PlaceOutcome::Created(mut o) = store.create_reserved(&placed).await.unwrap() else {
        panic!("not placed");
    };
    o.status = OrderStatus::Invoiced;
    assert!(matches!(
        store.save(&o, StockEffect::Ship).await.unwrap(),
        SaveOutcome::Saved(_)
    ));
    let mut other = order("SLR-RES1", "959311096", &[("a", W1, 1)], chrono::Utc::now());
    other.an = "marketplacedemo".into();
    store.create_reserved(&other).await.unwrap();
    let shared = Arc::new(store.clone());
    let console = console_ui::Console {
        catalog: Arc::new(store.clone()),
        sync: Arc::new(store.clone()),
        board: OrderBoard {
            listing: shared.clone(),
            orders: shared,
            parked: Arc::new(LocalParked::new(&store, &["dispatch"])),
            clock: Arc::new(SystemClock),
        },
        invoices: Arc::new(embedded_store::invoices::SqliteInvoices::new(&store).unwrap()),
        base: BASE.into(),
    };
    (console_ui::router(Arc::new(console)), store)
}

fn event(text: &str) -> lambda_http::Request {
    lambda_http::request::from_str(text).expect("sample event")
}

fn body(resp: &lambda_http::Response<Body>) -> String {
    match resp.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).to_string(),
        _ => String::new(),
    }
}

#[tokio::test]
async fn the_orders_event_lists_the_invoiced_orders_of_its_account_with_links_under_the_stage() {
    let (router, _) = router().await;
    let req = event(include_str!("../../../events/console.orders.json"));
    let resp = handle(&router, BASE, req).await;
    assert_eq!(resp.status(), 200);
    let html = body(&resp);
    assert!(html.contains("SLR-INV1"), "{html}");
    assert!(!html.contains("SLR-RES1"), "status filter ignored: {html}");
    assert!(
        html.contains("href=\"/vtex/console/orders/SLR-INV1\""),
        "{html}"
    );
    assert!(html.contains("/vtex/console/assets/console.css"));
    assert_eq!(
        resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .split(';')
            .next(),
        Some("default-src 'none'")
    );
}

#[tokio::test]
async fn the_home_event_redirects_to_the_orders_under_the_stage() {
    let (router, _) = router().await;
    let req = event(include_str!("../../../events/console.home.json"));
    let resp = handle(&router, BASE, req).await;
    assert_eq!(resp.status(), 308);
    assert_eq!(resp.headers()["location"], "/vtex/console/orders");
}

#[tokio::test]
async fn the_redrive_event_without_confirm_asks_first_and_moves_nothing() {
    let (router, store) = router().await;
    store
        .queue("dispatch-dlq")
        .send(
            r#"{"type":"invoice","orderId":"SLR-RES1"}"#,
            Some("g"),
            None,
        )
        .await
        .unwrap();
    let req = event(include_str!("../../../events/console.redrive.json"));
    let resp = handle(&router, BASE, req).await;
    assert_eq!(resp.status(), 200);
    let html = body(&resp);
    assert!(
        html.contains("Re-drive 1 message(s) to dispatch?"),
        "{html}"
    );
    assert!(html.contains("name=\"confirm\" value=\"yes\""), "{html}");
    assert_eq!(store.queue("dispatch-dlq").len().await.unwrap(), 1);
    assert_eq!(store.queue("dispatch").len().await.unwrap(), 0);
}

#[tokio::test]
async fn a_request_without_an_iam_identity_or_from_another_site_is_refused() {
    let (router, store) = router().await;
    let mut v: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/console.orders.json")).unwrap();
    v["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    let resp = handle(&router, BASE, event(&v.to_string())).await;
    assert_eq!(resp.status(), 403);

    store
        .queue("dispatch-dlq")
        .send("{}", Some("g"), None)
        .await
        .unwrap();
    let mut v: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/console.redrive.json")).unwrap();
    v["headers"]["sec-fetch-site"] = "cross-site".into();
    v["body"] = "all=yes&confirm=yes".into();
    let resp = handle(&router, BASE, event(&v.to_string())).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(
        store.queue("dispatch-dlq").len().await.unwrap(),
        1,
        "moved anyway"
    );
}

#[tokio::test]
async fn the_base_path_must_be_the_console_under_at_most_a_stage() {
    use lambda_kit::config::Vars;
    let vars = |base: &str| {
        Vars::from_pairs([
            ("ORDERS_TABLE", "o"),
            ("CATALOG_TABLE", "c"),
            ("INVOICES_TABLE", "i"),
            ("DISPATCH_QUEUE_URL", "q"),
            ("DISPATCH_DLQ_URL", "d"),
            ("CONSOLE_BASE_PATH", base),
        ])
    };
    let ok = console::Config::from_vars(&vars("/vtex/console/")).unwrap();
    assert_eq!(ok.console_base_path, "/vtex/console");
    assert_eq!(ok.parked_queues().len(), 1);
    assert_eq!(
        console::Config::from_vars(&vars(""))
            .unwrap()
            .console_base_path,
        "/console"
    );
    for bad in ["console", "/vtex", "/vtex//console"] {
        assert!(console::Config::from_vars(&vars(bad)).is_err(), "{bad}");
    }
}
