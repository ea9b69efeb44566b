//! The `console-backfill` binary against moto (started by `tests/run.sh`): orders written before
//! the console existed (no `gsi2` keys) become visible to the console's order list; a dry run
//! writes nothing; a second run has nothing to do; log and mapping items stay out of the index.

use aws_adapters::dynamo::listing::{DynamoListing, index_keys};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::listing::{OrderFilter, OrderListing};
use domain::order::Order;
use serde_json::json;
use std::collections::HashMap;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

async fn moto() -> Option<Client> {
    if std::env::var("AWS_ENDPOINT_URL")
        .unwrap_or_default()
        .is_empty()
    {
        assert_ne!(
            std::env::var("CONNECTOR_TEST_REQUIRE_AWS").as_deref(),
            Ok("1"),
            "CONNECTOR_TEST_REQUIRE_AWS=1 but AWS_ENDPOINT_URL is unset; run tests/run.sh"
        );
        eprintln!("skipped: no AWS_ENDPOINT_URL");
        return None;
    }
    Some(Client::new(&aws_adapters::sdk_config().await))
}

fn order(id: &str, minute: u32) -> Order {
    serde_json::from_value(json!({
        "orderId": id,
        "an": "mkp",
        "sc": "1",
        "marketplaceOrderId": format!("m-{id}"),
        "marketplaceServicesEndpoint": "https://mkp.example.com/api/",
        "marketplacePaymentValue": 2490,
        "status": "RESERVED",
        "lines": [{
            "index": 0, "skuId": "a", "quantity": 1, "unitPrice": 1990, "freight": 500,
            "selectedSla": "normal", "locationId": "w1", "lockTtl": "8d", "shippingEstimate": "3bd"
        }],
        "address": { "receiverName": "Maria", "postalCode": "01310-100", "country": "BRA", "street": "Av. Paulista" },
        "customer": { "email": "maria@example.com", "firstName": "Maria", "document": "12345678909" },
        "createdAt": format!("2030-03-04T12:{minute:02}:00Z"),
        "expiresAt": "2030-03-12T12:00:00Z",
        "version": 0
    }))
    .expect("order fixture")
}

/// An order item as the order store writes it, with or without the `gsi2` keys.
async fn put_order(client: &Client, table: &str, o: &Order, indexed: bool) {
    let mut item = HashMap::from([
        ("pk".to_string(), s(&format!("ORDER#{}", o.order_id))),
        ("sk".to_string(), s("ORDER")),
        ("data".to_string(), s(&storage_format::encode(o).unwrap())),
        ("version".to_string(), AttributeValue::N("3".into())),
        ("status".to_string(), s("RESERVED")),
    ]);
    if indexed {
        item.extend(index_keys(o));
    }
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

async fn put_other(client: &Client, table: &str, pk: &str, sk: &str) {
    client
        .put_item()
        .table_name(table)
        .item("pk", s(pk))
        .item("sk", s(sk))
        .item("data", s("{}"))
        .send()
        .await
        .unwrap();
}

async fn listed(client: &Client, table: &str) -> Vec<String> {
    let page = DynamoListing::new(client.clone(), table)
        .list_orders(&OrderFilter::default(), None, 100)
        .await
        .unwrap();
    page.orders.into_iter().map(|o| o.order_id).collect()
}

fn backfill(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_console-backfill"))
        .args(args)
        .output()
        .expect("run console-backfill");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn item(client: &Client, table: &str, pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    client
        .get_item()
        .table_name(table)
        .key("pk", s(pk))
        .key("sk", s(sk))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("item")
}

#[tokio::test(flavor = "multi_thread")]
async fn backfill_indexes_old_orders_once_and_leaves_the_rest_alone() {
    let Some(client) = moto().await else { return };
    let prefix = format!(
        "backfill-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let (_catalog, table) = aws_adapters::schema::create_tables(&client, &prefix)
        .await
        .unwrap();
    // Five orders from before the console, one written since, and their log and mapping items.
    for i in 0..5 {
        let o = order(&format!("OLD-{i}"), i);
        put_order(&client, &table, &o, false).await;
        put_other(&client, &table, &format!("ORDER#OLD-{i}"), "LOG#2030#1").await;
        put_other(&client, &table, &format!("MKP#mkp#m-OLD-{i}"), "MAP").await;
    }
    let new = order("NEW-1", 30);
    put_order(&client, &table, &new, true).await;
    assert_eq!(listed(&client, &table).await, ["NEW-1"]);

    let (ok, out) = backfill(&["--table", &table, "--dry-run", "--page-size", "3"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("5 order(s) without gsi2 keys; would write 5"),
        "{out}"
    );
    assert_eq!(
        listed(&client, &table).await,
        ["NEW-1"],
        "the dry run wrote"
    );

    let (ok, out) = backfill(&["--table", &table, "--page-size", "3"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("5 order(s) without gsi2 keys; wrote 5"),
        "{out}"
    );
    assert_eq!(
        listed(&client, &table).await,
        ["NEW-1", "OLD-4", "OLD-3", "OLD-2", "OLD-1", "OLD-0"],
        "newest first, as the console lists them"
    );
    // The keys the order store itself writes; the order's data and version untouched.
    let old = item(&client, &table, "ORDER#OLD-2", "ORDER").await;
    for (k, v) in index_keys(&order("OLD-2", 2)) {
        assert_eq!(old.get(&k), Some(&v), "{k}");
    }
    assert_eq!(old.get("version"), Some(&AttributeValue::N("3".into())));
    for (pk, sk) in [("ORDER#OLD-2", "LOG#2030#1"), ("MKP#mkp#m-OLD-2", "MAP")] {
        assert!(
            !item(&client, &table, pk, sk).await.contains_key("gsi2pk"),
            "{pk} {sk} got index keys"
        );
    }

    let (ok, out) = backfill(&["--table", &table]);
    assert!(ok, "{out}");
    assert!(
        out.contains("0 order(s) without gsi2 keys; wrote 0"),
        "{out}"
    );

    let (ok, out) = backfill(&["--page-size", "0", "--table", &table]);
    assert!(!ok, "a page size of 0 is refused: {out}");
}
