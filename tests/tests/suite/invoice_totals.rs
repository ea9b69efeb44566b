//! Store-enforced invoice totals (issue 12, item 3): two invoice messages for one order, each in its
//! own FIFO group, delivered at the same time to two concurrent invocations of the real dispatch
//! handler. Both read the order's records before either writes: only the store's totals counter can
//! stop the second. VTEX must hear exactly one invoice and bill exactly the order's value; the other
//! message is parked by the rules on its next delivery. On the embedded store (local queue) and on
//! moto (SQS FIFO + DynamoDB), each against the VTEX stand-in.

use crate::dispatch_support::{Line, bench, invoice, invoice_msg, placement_body};
use async_trait::async_trait;
use aws_lambda_events::sqs::SqsBatchResponse;
use dispatch::{Backoff, Deps, handle, sqs_event, sqs_message};
use domain::clock::SystemClock;
use domain::erp::OrderRef;
use domain::invoice_store::{CreateOutcome, InvoiceStore, InvoicedSums, RecordSave, Tally};
use domain::invoicing::InvoiceRecord;
use domain::invoicing::InvoiceType::Output;
use domain::money::Cents;
use domain::order::{Order, OrderStatus};
use domain::ports::{
    CatalogWriter, OrderStore, PlaceOutcome, SaveOutcome, StockEffect, StoreError,
};
use embedded_store::EmbeddedStore;
use embedded_store::invoices::SqliteInvoices;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Barrier;
use vtex::client::VtexClient;
use vtex_standin::ServerHandle;

/// Holds the first two `list_by_order` answers until both were read, so the two deliveries decide
/// from the same records, as two Lambdas do when their reads come before either write. Later reads
/// pass at once; a lone reader waits at most a few seconds.
pub struct Rendezvous {
    inner: Arc<dyn InvoiceStore>,
    reads: AtomicUsize,
    barrier: Barrier,
}

impl Rendezvous {
    pub fn new(inner: Arc<dyn InvoiceStore>) -> Self {
        Rendezvous {
            inner,
            reads: AtomicUsize::new(0),
            barrier: Barrier::new(2),
        }
    }
}

#[async_trait]
impl InvoiceStore for Rendezvous {
    async fn create_once(
        &self,
        record: &InvoiceRecord,
        limit: Cents,
    ) -> Result<CreateOutcome, StoreError> {
        self.inner.create_once(record, limit).await
    }

    async fn get(&self, order_id: &str, number: &str) -> Result<Option<InvoiceRecord>, StoreError> {
        self.inner.get(order_id, number).await
    }

    async fn list_by_order(&self, order_id: &str) -> Result<Vec<InvoiceRecord>, StoreError> {
        let records = self.inner.list_by_order(order_id).await?;
        if self.reads.fetch_add(1, Ordering::SeqCst) < 2 {
            let _ = tokio::time::timeout(Duration::from_secs(5), self.barrier.wait()).await;
        }
        Ok(records)
    }

    async fn save(&self, record: &InvoiceRecord, tally: Tally) -> Result<RecordSave, StoreError> {
        self.inner.save(record, tally).await
    }

    async fn invoiced(&self, order_id: &str) -> Result<InvoicedSums, StoreError> {
        self.inner.invoiced(order_id).await
    }
}

const ORDER_ID: &str = "SLR-RACE1";
const MKP_ID: &str = "7700001-01";
/// One unit at 9990 plus 1090 freight: the order's value is 11080.
const LINES: &[Line<'static>] = &[("RACE1", 1, 9990, 1090)];
const VALUE: i64 = 11080;

/// Two full invoices of the order under different numbers (the ERP billed it twice).
fn two_full_invoices() -> [String; 2] {
    let o = OrderRef::by_order_id(ORDER_ID);
    ["NFe-A", "NFe-B"].map(|n| invoice_msg(&o, invoice(Output, n, VALUE, &[("RACE1", 1, 9990)])))
}

/// The order, placed (stock held) and authorized, built from the stored shape so new optional
/// fields need no edit here.
async fn authorized(orders: &dyn OrderStore, catalog: &dyn CatalogWriter) -> Order {
    let sku = serde_json::from_value(serde_json::json!({
        "id": "RACE1", "name": "Race", "prices": [],
        "stock": { "wh1": { "onHand": 10, "reserved": 0 } }
    }))
    .unwrap();
    catalog.upsert_sku(&sku).await.unwrap();
    let now = chrono::Utc::now();
    let order: Order = serde_json::from_value(serde_json::json!({
        "orderId": ORDER_ID, "an": "luxstore", "marketplaceOrderId": MKP_ID,
        "marketplacePaymentValue": VALUE, "status": "RESERVED",
        "lines": [{"index": 0, "skuId": "RACE1", "quantity": 1, "unitPrice": 9990,
                   "freight": 1090, "locationId": "wh1"}],
        "createdAt": now, "expiresAt": now + chrono::Duration::days(8)
    }))
    .unwrap();
    let PlaceOutcome::Created(mut placed) = orders.create_reserved(&order).await.unwrap() else {
        panic!("placement failed")
    };
    placed.status = OrderStatus::Authorized;
    let SaveOutcome::Saved(saved) = orders.save(&placed, StockEffect::None).await.unwrap() else {
        panic!("authorization conflicted")
    };
    saved
}

/// The invoice POSTs that reached the stand-in for the order: `(number, value, accepted)`.
fn invoice_posts(standin: &ServerHandle) -> Vec<(String, i64, bool)> {
    standin
        .state()
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == format!("/api/oms/pvt/orders/{MKP_ID}/invoice"))
        .map(|r| {
            (
                r.body["invoiceNumber"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                r.body["invoiceValue"].as_i64().unwrap_or_default(),
                r.accepted(),
            )
        })
        .collect()
}

/// VTEX heard one invoice, billed the order's value once, and the order is invoiced.
fn assert_billed_once(standin: &ServerHandle, status: OrderStatus, parked: usize) {
    let posts = invoice_posts(standin);
    let numbers: HashSet<&str> = posts.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(numbers.len(), 1, "both invoices reached VTEX: {posts:?}");
    let billed: i64 = posts.iter().filter(|p| p.2).map(|p| p.1).sum();
    assert_eq!(
        billed, VALUE,
        "VTEX billed {billed}, not the order's value once: {posts:?}"
    );
    assert_eq!(status, OrderStatus::Invoiced);
    assert_eq!(parked, 1, "the second invoice is parked by the rules");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_groups_racing_on_the_embedded_store_bill_the_order_once() {
    let (addr, standin) = vtex_standin::serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    standin
        .state()
        .place(&placement_body(MKP_ID, LINES))
        .unwrap();
    let store = EmbeddedStore::open_in_memory().unwrap();
    authorized(&store, &store).await;
    let queue = store.queue("dispatch").with_max_receives(5);
    let invoices: Arc<dyn InvoiceStore> = Arc::new(SqliteInvoices::new(&store).unwrap());
    let deps = Deps {
        orders: Arc::new(store.clone()),
        invoices: Arc::new(Rendezvous::new(invoices)),
        vtex: Arc::new(VtexClient::new(format!("http://{addr}"), standin.credentials()).unwrap()),
        queue: Arc::new(queue.clone()),
        clock: Arc::new(SystemClock),
        default_an: None,
        backoff: Backoff {
            base: Duration::ZERO,
            max: Duration::ZERO,
        },
    };
    for (group, body) in ["erp-a", "erp-b"].iter().zip(two_full_invoices()) {
        queue.send(&body, Some(group), None).await.unwrap();
    }
    // Two invocations at once, one message each (one per group), as the mapping scales out.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !queue.is_empty().await.unwrap() {
        assert!(
            Instant::now() < deadline,
            "the dispatch queue never drained"
        );
        let poll = || {
            local::event_source::poll_once(&queue, 1, Duration::from_secs(30), |e| handle(&deps, e))
        };
        let (a, b) = tokio::join!(poll(), poll());
        a.unwrap();
        b.unwrap();
    }
    let status = store.get(ORDER_ID).await.unwrap().unwrap().status;
    assert_billed_once(&standin, status, queue.dlq().len().await.unwrap());
}

/// One receive of at most one message and its handling, as one Lambda invocation of the mapping.
async fn invoke_once(sqs: &aws_sdk_sqs::Client, url: &str, deps: &Deps) -> usize {
    use aws_sdk_sqs::types::MessageSystemAttributeName as A;
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(1)
        .visibility_timeout(30)
        .message_system_attribute_names(A::All)
        .send()
        .await
        .unwrap();
    let Some(m) = out.messages().first() else {
        return 0;
    };
    let attr = |k: A| m.attributes().and_then(|a| a.get(&k)).cloned();
    let record = sqs_message(
        m.message_id().unwrap(),
        m.receipt_handle().unwrap(),
        m.body().unwrap_or_default(),
        attr(A::MessageGroupId).as_deref(),
        attr(A::ApproximateReceiveCount)
            .and_then(|c| c.parse().ok())
            .unwrap_or(1),
    );
    let response: SqsBatchResponse = handle(deps, sqs_event(vec![record])).await;
    if response.batch_item_failures.is_empty() {
        sqs.delete_message()
            .queue_url(url)
            .receipt_handle(m.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
    }
    1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_groups_racing_on_dynamodb_and_sqs_bill_the_order_once() {
    let Some(b) = bench(5).await else { return };
    b.authorized_order(ORDER_ID, MKP_ID, LINES).await;
    let mut deps = b.deps.clone();
    deps.invoices = Arc::new(Rendezvous::new(b.invoices.clone()));
    for (group, body) in ["erp-a", "erp-b"].iter().zip(two_full_invoices()) {
        b.send(group, &body).await;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while connector_tests::sqs_play::depth(&b.sqs, &b.queue_url).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the dispatch queue never drained"
        );
        let (x, y) = tokio::join!(
            invoke_once(&b.sqs, &b.queue_url, &deps),
            invoke_once(&b.sqs, &b.queue_url, &deps)
        );
        if x + y == 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let parked = b.drain_dlq().await.len();
    assert_billed_once(&b.standin, b.status(ORDER_ID).await, parked);
}

/// An order whose invoice records were written before the totals item existed: the first write
/// derives the sums from its records, so the old ones count toward the limit, and the totals item
/// written then holds them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_dynamodb_an_order_invoiced_before_the_totals_item_gets_it_derived_from_its_records() {
    use domain::invoice_store::contract::worth;
    let Some(config) = connector_tests::aws_env::moto().await else {
        return;
    };
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let table = connector_tests::aws_env::unique_name("invoices");
    aws_adapters::invoices::create_invoices_table(&dynamo, &table)
        .await
        .unwrap();
    let store = aws_adapters::invoices::DynamoInvoices::new(dynamo.clone(), &table);
    // As the previous version wrote it: the record's item alone.
    let old = worth("SO-OLD", "NFe-1", Output, 8000);
    let mut item = std::collections::HashMap::from([
        (
            "orderId".to_string(),
            aws_sdk_dynamodb::types::AttributeValue::S("SO-OLD".into()),
        ),
        (
            "invoiceNumber".to_string(),
            aws_sdk_dynamodb::types::AttributeValue::S("NFe-1".into()),
        ),
        (
            "version".to_string(),
            aws_sdk_dynamodb::types::AttributeValue::N("0".into()),
        ),
    ]);
    item.insert(
        "data".into(),
        // The record as serde wrote it then: no schemaVersion.
        aws_sdk_dynamodb::types::AttributeValue::S(serde_json::to_string(&old).unwrap()),
    );
    dynamo
        .put_item()
        .table_name(&table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    assert_eq!(store.invoiced("SO-OLD").await.unwrap().output, Cents(8000));
    let too_much = worth("SO-OLD", "NFe-2", Output, 3081);
    assert_eq!(
        store.create_once(&too_much, Cents(VALUE)).await.unwrap(),
        CreateOutcome::OverLimit {
            invoiced: Cents(8000),
            limit: Cents(VALUE)
        }
    );
    let fits = worth("SO-OLD", "NFe-2", Output, 3080);
    assert!(matches!(
        store.create_once(&fits, Cents(VALUE)).await.unwrap(),
        CreateOutcome::Created(_)
    ));
    let totals = dynamo
        .get_item()
        .table_name(&table)
        .key(
            "orderId",
            aws_sdk_dynamodb::types::AttributeValue::S("SO-OLD".into()),
        )
        .key(
            "invoiceNumber",
            aws_sdk_dynamodb::types::AttributeValue::S(aws_adapters::invoices::TOTALS_SK.into()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the totals item was written with the first new record");
    assert_eq!(
        totals["output"],
        aws_sdk_dynamodb::types::AttributeValue::N(VALUE.to_string())
    );
    // A refusal of an old record before any totals item: the item written holds what is left.
    let old2 = worth("SO-OLD2", "NFe-1", Output, 8000);
    let mut item2 = legacy_item("SO-OLD2", "NFe-1");
    item2.insert(
        "data".into(),
        aws_sdk_dynamodb::types::AttributeValue::S(serde_json::to_string(&old2).unwrap()),
    );
    dynamo
        .put_item()
        .table_name(&table)
        .set_item(Some(item2))
        .send()
        .await
        .unwrap();
    let mut refused = old2.clone();
    refused.mark_rejected(old2.created_at);
    assert!(matches!(
        store
            .save(&refused, Tally::of(&old2, &refused, Cents(VALUE)))
            .await
            .unwrap(),
        RecordSave::Saved(_)
    ));
    assert_eq!(
        store.invoiced("SO-OLD2").await.unwrap(),
        InvoicedSums::default()
    );
    // The totals item is not a record.
    let listed = store.list_by_order("SO-OLD").await.unwrap();
    assert_eq!(
        listed.iter().map(|r| r.number()).collect::<Vec<_>>(),
        ["NFe-1", "NFe-2"]
    );
}

/// The key and version of a record's item as the previous version wrote it.
fn legacy_item(
    order_id: &str,
    number: &str,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    std::collections::HashMap::from([
        ("orderId".to_string(), A::S(order_id.into())),
        ("invoiceNumber".to_string(), A::S(number.into())),
        ("version".to_string(), A::N("0".into())),
    ])
}
