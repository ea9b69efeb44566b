//! The console's AWS adapters against moto (started by `tests/run.sh`): the order list over the
//! orders table's `gsi2` as the order store writes it, and the parked messages of an SQS FIFO DLQ
//! as the dispatcher parks them.

use aws_adapters::dispatch_queue::SqsDispatchQueue;
use aws_adapters::dynamo::listing::{DynamoListing, ParkedQueue, SqsParked};
use aws_adapters::dynamo::{DynamoCatalog, DynamoOrders};
use chrono::Duration;
use connector_tests::aws_env::{dynamo_tables, fifo_queue_with_dlq, moto};
use connector_tests::contract::{W1, base_time, order, sku};
use connector_tests::sqs_play::drain_dlq;
use domain::erp::{DispatchQueue, QueuedMessage};
use domain::listing::{OrderFilter, OrderListing, ParkedMessages, Redrive};
use domain::order::OrderStatus;
use domain::ports::{CatalogWriter, OrderStore, PlaceOutcome, SaveOutcome, StockEffect};

fn ids(page: &domain::listing::OrderPage) -> Vec<&str> {
    page.orders.iter().map(|o| o.order_id.as_str()).collect()
}

#[tokio::test]
async fn dynamo_lists_orders_newest_first_by_status_and_dates_and_pages_through_gsi2() {
    let Some(config) = moto().await else { return };
    let (client, catalog, orders_table) = dynamo_tables(&config).await;
    DynamoCatalog::new(client.clone(), &catalog)
        .upsert_sku(&sku("a", &[(W1, 100)]))
        .await
        .unwrap();
    let orders = DynamoOrders::new(client.clone(), &orders_table, &catalog);
    for i in 0..5 {
        let mut o = order(
            &format!("SLR-{i}"),
            &format!("m-{i}"),
            &[("a", W1, 1)],
            base_time(),
        );
        o.created_at = base_time() + Duration::minutes(i);
        let PlaceOutcome::Created(mut o) = orders.create_reserved(&o).await.unwrap() else {
            panic!("not placed");
        };
        if i % 2 == 0 {
            o.status = OrderStatus::Authorized;
            // A save rewrites the item: its index keys must come along.
            assert!(matches!(
                orders.save(&o, StockEffect::None).await.unwrap(),
                SaveOutcome::Saved(_)
            ));
        }
    }
    let listing = DynamoListing::new(client, &orders_table);
    let all = OrderFilter::default();
    let first = listing.list_orders(&all, None, 2).await.unwrap();
    assert_eq!(ids(&first), ["SLR-4", "SLR-3"]);
    let second = listing
        .list_orders(&all, first.next.as_ref(), 2)
        .await
        .unwrap();
    assert_eq!(ids(&second), ["SLR-2", "SLR-1"]);
    let last = listing
        .list_orders(&all, second.next.as_ref(), 2)
        .await
        .unwrap();
    assert_eq!(ids(&last), ["SLR-0"]);
    assert_eq!(last.next, None);

    let authorized = OrderFilter {
        status: Some(OrderStatus::Authorized),
        created_from: Some(base_time() + Duration::minutes(1)),
        created_to: Some(base_time() + Duration::minutes(4)),
        ..Default::default()
    };
    let got = listing.list_orders(&authorized, None, 10).await.unwrap();
    assert_eq!(ids(&got), ["SLR-2"]);
    let other_account = OrderFilter {
        an: Some("another".into()),
        ..Default::default()
    };
    assert!(
        listing
            .list_orders(&other_account, None, 10)
            .await
            .unwrap()
            .orders
            .is_empty()
    );
}

#[tokio::test]
async fn sqs_parked_messages_show_their_reason_and_redrive_one_then_all() {
    let Some(config) = moto().await else { return };
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (queue_url, dlq_url) = fifo_queue_with_dlq(&sqs, "console", 1, 5).await;
    let dispatch = SqsDispatchQueue::new(sqs.clone(), &queue_url, &dlq_url);
    for (i, code) in ["NOT_AUTHORIZED", "UNKNOWN_ORDER"].iter().enumerate() {
        let body = format!(r#"{{"type":"invoice","orderId":"SLR-{i}"}}"#);
        let (id, handle) = (format!("src-{i}"), format!("handle-{i}"));
        dispatch
            .dead_letter(
                &QueuedMessage {
                    message_id: &id,
                    receipt_handle: &handle,
                    body: &body,
                    group_id: Some(&format!("SLR-{i}")),
                },
                code,
                "not yet fulfilled",
            )
            .await
            .unwrap();
    }
    let parked = SqsParked::new(
        sqs.clone(),
        vec![ParkedQueue {
            name: "dispatch".into(),
            queue_url: queue_url.clone(),
            dlq_url: dlq_url.clone(),
        }],
    );
    let list = parked.list("dispatch", 10).await.unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    let codes: Vec<_> = list.iter().map(|m| m.reason_code.as_deref()).collect();
    assert!(codes.contains(&Some("NOT_AUTHORIZED")) && codes.contains(&Some("UNKNOWN_ORDER")));
    assert!(
        list.iter()
            .all(|m| m.reason.as_deref() == Some("not yet fulfilled"))
    );
    assert!(
        list.iter()
            .all(|m| m.parked_at.is_some() && m.group_id.is_some())
    );
    // Listing leaves them visible: a second listing right away sees both again.
    assert_eq!(parked.list("dispatch", 10).await.unwrap().len(), 2);

    let one = list
        .iter()
        .find(|m| m.reason_code.as_deref() == Some("NOT_AUTHORIZED"))
        .unwrap();
    let moved = parked
        .redrive("dispatch", &Redrive::Some(vec![one.id.clone()]))
        .await
        .unwrap();
    assert_eq!(moved, 1);
    let left = parked.list("dispatch", 10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].reason_code.as_deref(), Some("UNKNOWN_ORDER"));
    let back = drain_dlq(&sqs, &queue_url).await;
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].body(), Some(one.body.as_str()));

    assert_eq!(parked.redrive("dispatch", &Redrive::All).await.unwrap(), 1);
    assert!(parked.list("dispatch", 10).await.unwrap().is_empty());
    assert!(parked.list("nope", 10).await.is_err());
}

/// The catalog page's SKU list over DynamoDB: a Scan of the catalog table that skips the SKU
/// items beside the `SYNC#` ones and pages through them, each SKU once, the pending ones filtered.
#[tokio::test]
async fn dynamo_lists_sync_states_among_the_sku_items_page_by_page() {
    use aws_adapters::dynamo::DynamoSyncStates;
    use domain::catalog_notify::{SyncFilter, SyncState, SyncStateStore, sync_page};
    let Some(config) = moto().await else { return };
    let (client, catalog, _orders) = dynamo_tables(&config).await;
    let writer = DynamoCatalog::new(client.clone(), &catalog);
    let sync = DynamoSyncStates::new(client, &catalog);
    for i in 0..23 {
        writer
            .upsert_sku(&sku(&format!("s{i:02}"), &[(W1, 5)]))
            .await
            .unwrap();
        let mut s = SyncState::default();
        s.price.changes = 1;
        s.price.notified = u64::from(i % 2 == 1);
        assert!(
            sync.put_sync_state(&format!("s{i:02}"), &s, 0)
                .await
                .unwrap()
        );
    }
    let now = base_time();
    for (filter, expected) in [(SyncFilter::All, 23), (SyncFilter::Pending, 12)] {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..30 {
            let page = sync_page(&sync, filter, after.as_deref(), 5, now)
                .await
                .unwrap();
            assert!(page.rows.len() <= 5);
            seen.extend(page.rows.into_iter().map(|r| r.sku_id));
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            seen.len(),
            "{filter:?}: a SKU listed twice: {seen:?}"
        );
        assert_eq!(seen.len(), expected, "{filter:?}: {seen:?}");
        if filter == SyncFilter::Pending {
            assert!(
                unique
                    .iter()
                    .all(|id| id[1..].parse::<u32>().unwrap() % 2 == 0)
            );
        }
    }
}
