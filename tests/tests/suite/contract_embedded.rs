//! The storage contracts on the embedded SQLite adapters, a fresh file per test.

use connector_tests::contract::{Subject, TempPath};
use embedded_store::EmbeddedStore;

async fn subject() -> Option<Subject> {
    let path = TempPath::new("contract");
    let store = EmbeddedStore::open(&path.0).expect("open store file");
    Some(Subject::single(store).with_guard(path))
}

connector_tests::contract_tests!(subject());

/// A fresh store file per test; the adapter shares its connection.
fn fresh_file(prefix: &str) -> (EmbeddedStore, TempPath) {
    let path = TempPath::new(prefix);
    let store = EmbeddedStore::open(&path.0).expect("open store file");
    (store, path)
}

connector_tests::invoice_store_contract_tests!(async {
    let (store, path) = fresh_file("invoices");
    let invoices = embedded_store::invoices::SqliteInvoices::new(&store).expect("invoices table");
    Some((invoices, path))
});
connector_tests::sync_state_contract_tests!(async { Some(fresh_file("sync")) });
connector_tests::import_store_contract_tests!(async {
    let (store, path) = fresh_file("imports");
    let imports = embedded_store::imports::SqliteImports::new(&store).expect("imports table");
    Some((imports, path))
});

#[tokio::test]
async fn order_events_go_to_the_local_queue_grouped_and_deduplicated() {
    use domain::ports::{OrderEvent, OrderEventKind, OrderEvents};
    let path = TempPath::new("events");
    let store = EmbeddedStore::open(&path.0).unwrap();
    let event = OrderEvent {
        kind: OrderEventKind::Authorized,
        version: 1,
        event_id: "o-1:order.authorized".into(),
        order_id: "o-1".into(),
        marketplace_order_id: "m-1".into(),
        an: "mkp".into(),
        at: connector_tests::contract::base_time(),
        lines: vec![],
        reason: None,
    };
    store.publish(&event).await.unwrap();
    store.publish(&event).await.unwrap();
    let queue = store.queue(embedded_store::ORDER_EVENTS_QUEUE);
    assert_eq!(
        queue.len().await.unwrap(),
        1,
        "a republished event is de-duplicated"
    );
    let got = queue
        .receive(10, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(got[0].group_id.as_deref(), Some("o-1"));
    let body: OrderEvent = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body, event);
}

#[tokio::test]
async fn data_survives_reopening_the_file() {
    use connector_tests::contract::{W1, base_time, order, sku};
    use domain::ports::{CatalogReader, CatalogWriter, OrderStore};
    let path = TempPath::new("reopen");
    let o = order("o-1", "m-1", &[("a", W1, 2)], base_time());
    {
        let store = EmbeddedStore::open(&path.0).unwrap();
        store.upsert_sku(&sku("a", &[(W1, 5)])).await.unwrap();
        store.create_reserved(&o).await.unwrap();
    }
    let store = EmbeddedStore::open(&path.0).unwrap();
    assert_eq!(store.get("o-1").await.unwrap(), Some(o));
    let skus = store.get_skus(&["a".into()]).await.unwrap();
    assert_eq!(skus["a"].stock[W1].reserved, 2);
}
