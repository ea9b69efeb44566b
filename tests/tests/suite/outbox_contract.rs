//! The outbox contract (`domain::outbox::contract`) on every adapter: the memory store, the
//! embedded SQLite store (a fresh file per test) and DynamoDB in moto (fresh catalog, orders and
//! outbox tables per test, as `template.yaml` declares them).

use aws_adapters::dynamo::{DynamoCatalog, DynamoOrders};
use aws_adapters::outbox::DynamoOutbox;
use connector_tests::aws_env;
use connector_tests::contract::TempPath;
use domain::memory::MemoryStore;
use domain::outbox::contract::OutboxSubject;
use embedded_store::EmbeddedStore;
use std::sync::Arc;

mod memory {
    use super::*;
    connector_tests::port_contract_tests!(outbox; async {
        let store = MemoryStore::new();
        Some((
            OutboxSubject {
                orders: Arc::new(store.clone()),
                catalog: Arc::new(store.clone()),
                outbox: Arc::new(store),
            },
            (),
        ))
    };
        save_emitting_writes_the_event_with_the_order,
        a_refused_save_writes_no_event,
        pending_is_oldest_first_and_delivery_deletes_once,
        emit_is_idempotent_and_deletes_are_conditional,
    );
}

mod embedded {
    use super::*;
    connector_tests::port_contract_tests!(outbox; async {
        let path = TempPath::new("outbox");
        let store = EmbeddedStore::open(&path.0).expect("open store file");
        Some((
            OutboxSubject {
                orders: Arc::new(store.clone()),
                catalog: Arc::new(store.clone()),
                outbox: Arc::new(store),
            },
            path,
        ))
    };
        save_emitting_writes_the_event_with_the_order,
        a_refused_save_writes_no_event,
        pending_is_oldest_first_and_delivery_deletes_once,
        emit_is_idempotent_and_deletes_are_conditional,
    );
}

/// Fresh tables in moto: the orders adapter writing to the outbox table, the relay's side over it.
pub async fn dynamo_subject() -> Option<(OutboxSubject, ())> {
    let config = aws_env::moto().await?;
    let (client, catalog, orders) = aws_env::dynamo_tables(&config).await;
    let outbox = aws_env::unique_name("outbox");
    aws_adapters::schema::create_outbox_table(&client, &outbox)
        .await
        .expect("create the outbox table in moto");
    Some((
        OutboxSubject {
            orders: Arc::new(
                DynamoOrders::new(client.clone(), orders, catalog.clone()).with_outbox(&outbox),
            ),
            catalog: Arc::new(DynamoCatalog::new(client.clone(), catalog)),
            outbox: Arc::new(DynamoOutbox::new(client, outbox)),
        },
        (),
    ))
}

mod dynamo {
    use super::*;
    connector_tests::port_contract_tests!(outbox; dynamo_subject();
        save_emitting_writes_the_event_with_the_order,
        a_refused_save_writes_no_event,
        pending_is_oldest_first_and_delivery_deletes_once,
        emit_is_idempotent_and_deletes_are_conditional,
    );
}

/// Without an outbox table, a save that owes events is refused (never silently dropped); one
/// that owes none goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_orders_without_an_outbox_table_refuse_to_drop_events() {
    use domain::ports::{OrderEventKind, OrderStore};
    let Some(config) = aws_env::moto().await else {
        return;
    };
    let (client, catalog, orders) = aws_env::dynamo_tables(&config).await;
    let store = DynamoOrders::new(client, orders, catalog);
    let event = domain::ports::OrderEvent {
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
    let e = store.emit(&[event]).await.unwrap_err();
    assert!(e.to_string().contains("OUTBOX_TABLE"), "{e}");
    store.emit(&[]).await.unwrap();
}
