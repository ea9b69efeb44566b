//! The SQS event-source mapping over the embedded store's [`LocalQueue`], for the local runner:
//! receive → the worker's handler → delete what the batch response does not list as failed.
//!
//! The worker's queue ports must be this same `LocalQueue`, so back-offs, self-scheduled messages
//! and dead letters land where this loop reads.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use domain::ports::StoreError;
use embedded_store::{LocalMessage, LocalQueue};
use lambda_kit::sqs::{sqs_event, sqs_message};
use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub received: usize,
    /// Done (handled, or parked in the DLQ by the worker): deleted.
    pub deleted: usize,
    /// Reported failed by the worker: coming back later.
    pub retried: usize,
}

/// Hands `messages` (received from `queue`) to `handler` as one SQS event and deletes the ones
/// that are done.
pub async fn process_batch<F, Fut>(
    queue: &LocalQueue,
    messages: Vec<LocalMessage>,
    handler: F,
) -> Result<BatchReport, StoreError>
where
    F: FnOnce(SqsEvent) -> Fut,
    Fut: Future<Output = SqsBatchResponse>,
{
    let records = messages
        .iter()
        .map(|m| {
            sqs_message(
                &m.message_id,
                &m.receipt_handle,
                &m.body,
                m.group_id.as_deref(),
                m.receive_count,
            )
        })
        .collect();
    let response = handler(sqs_event(records)).await;
    let failed: HashSet<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    let done: Vec<String> = messages
        .iter()
        .filter(|m| !failed.contains(m.message_id.as_str()))
        .map(|m| m.receipt_handle.clone())
        .collect();
    // One transaction for the batch, as the mapping's DeleteMessageBatch.
    queue.delete_batch(&done).await?;
    Ok(BatchReport {
        received: messages.len(),
        deleted: done.len(),
        retried: messages.len() - done.len(),
    })
}

/// Receives up to `max` messages (hidden for `visibility`) and processes them; the handler is
/// not called when there is nothing to receive.
pub async fn poll_once<F, Fut>(
    queue: &LocalQueue,
    max: usize,
    visibility: Duration,
    handler: F,
) -> Result<BatchReport, StoreError>
where
    F: FnOnce(SqsEvent) -> Fut,
    Fut: Future<Output = SqsBatchResponse>,
{
    let messages = queue.receive(max, visibility).await?;
    if messages.is_empty() {
        return Ok(BatchReport::default());
    }
    process_batch(queue, messages, handler).await
}

impl std::ops::AddAssign for BatchReport {
    fn add_assign(&mut self, other: BatchReport) {
        self.received += other.received;
        self.deleted += other.deleted;
        self.retried += other.retried;
    }
}

/// Polls as an SQS event-source mapping does: after a full batch (`max` messages) it receives
/// again at once, and stops at the first batch that is not full (the caller waits for its next
/// poll), or that deleted nothing (a batch that only failed would otherwise spin on messages
/// its worker made visible again at once). Returns what all the batches did together.
pub async fn poll_while_full<F, Fut>(
    queue: &LocalQueue,
    max: usize,
    visibility: Duration,
    handler: F,
) -> Result<BatchReport, StoreError>
where
    F: Fn(SqsEvent) -> Fut,
    Fut: Future<Output = SqsBatchResponse>,
{
    let mut total = BatchReport::default();
    loop {
        let report = poll_once(queue, max, visibility, &handler).await?;
        total += report;
        if report.received < max.max(1) || report.deleted == 0 {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_store::EmbeddedStore;
    use lambda_kit::sqs::Delivery;
    use std::sync::Arc;

    #[tokio::test]
    async fn failed_messages_stay_and_the_rest_are_deleted() {
        let store = EmbeddedStore::open_in_memory().unwrap();
        let queue = store.queue("work");
        for (body, group) in [("keep", "g1"), ("done", "g2"), ("keep", "g3")] {
            queue.send(body, Some(group), None).await.unwrap();
        }
        let report = poll_once(&queue, 10, Duration::ZERO, |event: SqsEvent| async move {
            let deliveries: Vec<Delivery<'_>> =
                event.records.iter().filter_map(Delivery::of).collect();
            let groups: Vec<_> = deliveries.iter().map(|d| d.group_id).collect();
            assert_eq!(groups, [Some("g1"), Some("g2"), Some("g3")]);
            assert!(deliveries.iter().all(|d| d.receive_count == 1));
            let mut response = SqsBatchResponse::default();
            response.set_failures(
                deliveries
                    .iter()
                    .filter(|d| d.body == "keep")
                    .map(|d| d.message_id),
            );
            response
        })
        .await
        .unwrap();
        assert_eq!(
            report,
            BatchReport {
                received: 3,
                deleted: 1,
                retried: 2
            }
        );
        let left = queue.receive(10, Duration::from_secs(60)).await.unwrap();
        let bodies: Vec<&str> = left.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(bodies, ["keep", "keep"]);
    }

    #[tokio::test]
    async fn a_full_batch_is_followed_at_once_by_the_next_in_group_order() {
        let store = EmbeddedStore::open_in_memory().unwrap();
        let queue = store.queue("work");
        for i in 0..25 {
            queue.send(&i.to_string(), Some("sku"), None).await.unwrap();
        }
        let seen = std::sync::Mutex::new(Vec::<Vec<u32>>::new());
        let report = poll_while_full(&queue, 10, Duration::from_secs(60), |event: SqsEvent| {
            let bodies = event
                .records
                .iter()
                .filter_map(Delivery::of)
                .map(|d| d.body.parse().unwrap())
                .collect();
            seen.lock().unwrap().push(bodies);
            async { SqsBatchResponse::default() }
        })
        .await
        .unwrap();
        let batches = seen.into_inner().unwrap();
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            [10, 10, 5]
        );
        assert_eq!(batches.concat(), (0..25).collect::<Vec<u32>>());
        assert_eq!((report.received, report.deleted), (25, 25));
        assert!(queue.is_empty().await.unwrap());
    }

    #[tokio::test]
    async fn a_full_batch_that_only_failed_ends_the_poll() {
        let store = EmbeddedStore::open_in_memory().unwrap();
        let queue = store.queue("work");
        for i in 0..10 {
            queue.send(&i.to_string(), None, None).await.unwrap();
        }
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let report = poll_while_full(&queue, 10, Duration::ZERO, |event: SqsEvent| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut response = SqsBatchResponse::default();
            let deliveries: Vec<Delivery<'_>> =
                event.records.iter().filter_map(Delivery::of).collect();
            response.set_failures(deliveries.iter().map(|d| d.message_id));
            async { response }
        })
        .await
        .unwrap();
        assert_eq!(calls.into_inner(), 1);
        assert_eq!((report.received, report.retried), (10, 10));
    }

    #[tokio::test]
    async fn an_empty_queue_does_not_call_the_handler() {
        let store = EmbeddedStore::open_in_memory().unwrap();
        let queue = store.queue("empty");
        let report = poll_once(&queue, 10, Duration::ZERO, |_| async {
            panic!("handler called without messages")
        })
        .await
        .unwrap();
        assert_eq!(report, BatchReport::default());
    }

    /// The drain benchmark of issue 15: 10 000 dispatch messages for 1 000 orders (per order an
    /// invoice, its tracking and 8 carrier events, in one FIFO group) drained from a file-backed
    /// local queue by the real dispatch handler against the VTEX stand-in, polled as the local
    /// runner polls ([`poll_while_full`], then the 500 ms tick). Prints messages per second and
    /// checks on the stand-in that each OMS call was made exactly once. Not a gate (timings are
    /// never asserted):
    ///
    /// ```sh
    /// cargo test --release -p local --lib drain_benchmark -- --ignored --nocapture
    /// ```
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "benchmark: run it with --ignored --nocapture"]
    async fn drain_benchmark() {
        use chrono::Utc;
        use domain::erp::{ErpCommand, ErpMessage, OrderRef};
        use domain::invoicing::{
            Invoice, InvoiceItem, InvoiceType, TrackingEvent, TrackingInfo, TrackingStatus,
        };
        use domain::order::{Order, OrderStatus};
        use domain::ports::{CatalogWriter, OrderStore, PlaceOutcome, StockEffect};
        use std::collections::HashMap;
        use std::time::Instant;

        const ORDERS: usize = 1_000;
        const EVENTS: usize = 8;
        let (addr, standin) = vtex_standin::serve("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let path = std::env::temp_dir().join(format!("drain-{}.db", uuid_like()));
        let store = EmbeddedStore::open(&path).unwrap();
        let sku = serde_json::from_value(serde_json::json!({
            "id": "2002495", "name": "Capa", "prices": [],
            "stock": { "wh1": { "onHand": ORDERS, "reserved": 0 } }
        }))
        .unwrap();
        store.upsert_sku(&sku).await.unwrap();
        let queue = store.queue("dispatch").with_max_receives(5);
        let mut messages = Vec::with_capacity(ORDERS * (2 + EVENTS));
        let now = Utc::now();
        for n in 0..ORDERS {
            let (id, mkp) = (format!("SLR-B{n:05}"), format!("{}-01", 500_000 + n));
            // VTEX placed it: one unit at 9990 and 1090 freight.
            standin
                .state()
                .place(&serde_json::json!([{
                    "marketplaceOrderId": mkp, "marketplacePaymentValue": 11080,
                    "items": [{"id": "2002495", "quantity": 1, "price": 9990}],
                    "shippingData": {"logisticsInfo": [{"itemIndex": 0, "price": 1090}]}
                }]))
                .unwrap();
            let order: Order = serde_json::from_value(serde_json::json!({
                "orderId": id, "an": "luxstore", "marketplaceOrderId": mkp,
                "marketplacePaymentValue": 11080, "status": "RESERVED",
                "lines": [{"index": 0, "skuId": "2002495", "quantity": 1, "unitPrice": 9990,
                           "freight": 1090, "locationId": "wh1"}],
                "createdAt": now, "expiresAt": now + chrono::Duration::days(8)
            }))
            .unwrap();
            let PlaceOutcome::Created(mut o) = store.create_reserved(&order).await.unwrap() else {
                panic!("placement failed")
            };
            o.status = OrderStatus::Authorized;
            store.save(&o, StockEffect::None).await.unwrap();
            let r = OrderRef::by_order_id(id.clone());
            let number = format!("NFe-{n}");
            let invoice = Invoice {
                kind: InvoiceType::Output,
                invoice_number: number.clone(),
                invoice_value: domain::money::Cents(11080),
                issuance_date: "2026-11-22T10:15:00-03:00".into(),
                items: vec![InvoiceItem {
                    id: "2002495".into(),
                    quantity: 1,
                    price: domain::money::Cents(9990),
                    description: None,
                }],
                invoice_key: None,
                invoice_url: None,
                embedded_invoice: None,
                courier: None,
                tracking_number: None,
                tracking_url: None,
                dispatched_date: None,
            };
            messages.push((
                id.clone(),
                ErpMessage::new(r.clone(), ErpCommand::Invoice { invoice }),
            ));
            messages.push((
                id.clone(),
                ErpMessage::new(
                    r.clone(),
                    ErpCommand::Tracking {
                        invoice_number: number.clone(),
                        tracking: TrackingInfo {
                            tracking_number: format!("SR{n}BR"),
                            tracking_url: None,
                            courier: Some("Correios".into()),
                            dispatched_date: None,
                        },
                    },
                ),
            ));
            for e in 0..EVENTS {
                let events = (0..=e)
                    .map(|k| TrackingEvent {
                        city: "Rio de Janeiro".into(),
                        state: "RJ".into(),
                        description: format!("Etapa {k}"),
                        date: format!("2026-11-23T{:02}:00:00-03:00", 8 + k),
                    })
                    .collect();
                let status = TrackingStatus {
                    is_delivered: e + 1 == EVENTS,
                    delivered_date: (e + 1 == EVENTS).then(|| "2026-11-23 15:00".to_string()),
                    events,
                };
                messages.push((
                    id.clone(),
                    ErpMessage::new(
                        r.clone(),
                        ErpCommand::TrackingStatus {
                            invoice_number: number.clone(),
                            tracking_status: status,
                        },
                    ),
                ));
            }
        }
        // The ERP sends them order after order, as it would emit them.
        for (group, m) in &messages {
            queue.send(&m.to_json(), Some(group), None).await.unwrap();
        }
        let total = messages.len();
        let deps = dispatch::Deps {
            orders: Arc::new(store.clone()),
            invoices: Arc::new(embedded_store::invoices::SqliteInvoices::new(&store).unwrap()),
            vtex: Arc::new(
                vtex::client::VtexClient::new(format!("http://{addr}"), standin.credentials())
                    .unwrap(),
            ),
            queue: Arc::new(queue.clone()),
            clock: Arc::new(domain::clock::SystemClock),
            default_an: None,
            backoff: dispatch::Backoff {
                base: Duration::ZERO,
                max: Duration::ZERO,
            },
        };
        // As the runner's dispatch mapping: one poller (DRAIN_POLLERS runs more at once; two
        // measured no faster on two cores), receiving again at once after a full batch, else
        // waiting for its next 500 ms tick.
        let pollers: usize = std::env::var("DRAIN_POLLERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let started = Instant::now();
        let poller = || async {
            let mut report = BatchReport::default();
            let mut ticks = 0;
            while !queue.is_empty().await.unwrap() {
                report += poll_while_full(&queue, 10, Duration::from_secs(60), |e| {
                    dispatch::handle(&deps, e)
                })
                .await
                .unwrap();
                ticks += 1;
                assert!(ticks < 10_000, "not drained: {report:?}");
                if !queue.is_empty().await.unwrap() {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            (report, ticks)
        };
        let mut running: Vec<_> = (0..pollers.max(1)).map(|_| Box::pin(poller())).collect();
        let mut report = BatchReport::default();
        let mut ticks = 0;
        std::future::poll_fn(|cx| {
            running.retain_mut(|f| match f.as_mut().poll(cx) {
                std::task::Poll::Ready((r, t)) => {
                    report += r;
                    ticks += t;
                    false
                }
                std::task::Poll::Pending => true,
            });
            if running.is_empty() {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
        let took = started.elapsed();
        let mut calls: HashMap<(String, String), usize> = HashMap::new();
        for r in standin.state().requests() {
            assert!(
                r.accepted(),
                "refused: {} {} {}",
                r.method,
                r.path,
                r.status
            );
            *calls.entry((r.method, r.path)).or_default() += 1;
        }
        let [posts, patches, puts] = ["POST", "PATCH", "PUT"].map(|m| {
            calls
                .iter()
                .filter(|((method, _), _)| method == m)
                .map(|(_, n)| *n)
                .sum::<usize>()
        });
        println!(
            "drained {total} dispatch messages of {ORDERS} orders in {:.2} s: {:.0} messages/s \
             ({pollers} pollers, {} event-source polls, {} batches' worth received, {} retried); OMS calls: \
             {posts} invoice POSTs, {patches} tracking PATCHes, {puts} carrier-event PUTs",
            took.as_secs_f64(),
            total as f64 / took.as_secs_f64(),
            ticks,
            report.received,
            report.retried,
        );
        // Exactly once: one invoice and one tracking call per order, and EVENTS PUTs on the same
        // path per order (each event message is one PUT).
        assert_eq!((posts, patches, puts), (ORDERS, ORDERS, ORDERS * EVENTS));
        assert!(
            calls
                .iter()
                .all(|((m, _), n)| *n == if m == "PUT" { EVENTS } else { 1 }),
            "a call was repeated"
        );
        assert_eq!(report.retried, 0);
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    fn uuid_like() -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{}-{nanos}", std::process::id())
    }
}
