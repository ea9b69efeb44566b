//! The storage contracts on the in-memory adapters.

use connector_tests::contract::Subject;
use domain::memory::MemoryStore;

async fn subject() -> Option<Subject> {
    Some(Subject::single(MemoryStore::new()))
}

connector_tests::contract_tests!(subject());
connector_tests::invoice_store_contract_tests!(async {
    Some((domain::invoice_store::MemoryInvoices::new(), ()))
});
connector_tests::sync_state_contract_tests!(async {
    Some((domain::catalog_notify::MemorySyncStates::new(), ()))
});
connector_tests::import_store_contract_tests!(async {
    Some((domain::import::MemoryImports::new(), ()))
});

#[tokio::test]
async fn memory_store_keeps_published_events_in_order() {
    use domain::ports::{OrderEvent, OrderEventKind, OrderEvents};
    let store = MemoryStore::new();
    let event = |kind, id: &str| OrderEvent {
        kind,
        version: 1,
        event_id: id.into(),
        order_id: "o-1".into(),
        marketplace_order_id: "m-1".into(),
        an: "mkp".into(),
        at: connector_tests::contract::base_time(),
        lines: vec![],
        reason: None,
    };
    store
        .publish(&event(OrderEventKind::Authorized, "e1"))
        .await
        .unwrap();
    store
        .clone()
        .publish(&event(OrderEventKind::Canceled, "e2"))
        .await
        .unwrap();
    let ids: Vec<String> = store.events().into_iter().map(|e| e.event_id).collect();
    assert_eq!(ids, vec!["e1", "e2"]);
}

#[tokio::test]
async fn with_catalog_serves_the_file() {
    use connector_tests::contract::{W1, rules, sku};
    use domain::catalog::CatalogFile;
    use domain::ports::CatalogReader;
    let file = CatalogFile {
        version: 1,
        shipping_rules: rules("x@example.com"),
        skus: vec![sku("a", &[(W1, 3)])],
    };
    let store = MemoryStore::with_catalog(&file);
    assert_eq!(
        store.shipping_rules().await.unwrap(),
        Some(file.shipping_rules.clone())
    );
    assert_eq!(
        store.get_skus(&["a".into()]).await.unwrap()["a"],
        file.skus[0]
    );
}
