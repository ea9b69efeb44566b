//! The drain benchmark of issue 15 against moto, beside the local one
//! (`local::event_source::tests::drain_benchmark`): per order an invoice, its tracking and 8
//! carrier events (one FIFO group), drained from moto's SQS FIFO queue by the real dispatch
//! handler over moto's DynamoDB, the stand-in as VTEX, one event-source-mapping poller. Prints
//! messages per second and checks on the stand-in that each OMS call was made exactly once. Not a
//! gate (timings are never asserted):
//!
//! ```sh
//! DRAIN_ORDERS=1000 tests/run.sh -p connector-tests --test suite dispatch_drain -- --ignored --nocapture
//! ```

use crate::dispatch_support::{bench, event, invoice, invoice_msg, status_msg, tracking_msg};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use domain::erp::OrderRef;
use domain::invoicing::InvoiceType;
use std::collections::HashMap;
use std::time::Instant;

const EVENTS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run it with --ignored --nocapture (needs moto)"]
async fn dispatch_drain_against_moto() {
    let Some(b) = bench(5).await else {
        eprintln!("moto is not configured: skipped");
        return;
    };
    let orders: usize = std::env::var("DRAIN_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    for n in 0..orders {
        let (id, mkp) = (format!("SLR-D{n:05}"), format!("{}-01", 700_000 + n));
        b.authorized_order(&id, &mkp, &[("2002495", 1, 9990, 1090)])
            .await;
        let r = OrderRef::by_order_id(id.clone());
        let number = format!("NFe-{n}");
        let mut bodies = vec![
            invoice_msg(
                &r,
                invoice(InvoiceType::Output, &number, 11080, &[("2002495", 1, 9990)]),
            ),
            tracking_msg(&r, &number, &format!("SR{n}BR")),
        ];
        for e in 0..EVENTS {
            let events = (0..=e)
                .map(|k| {
                    event(
                        &format!("Etapa {k}"),
                        &format!("2024-02-09T{:02}:00:00-03:00", 8 + k),
                    )
                })
                .collect();
            bodies.push(status_msg(&r, &number, e + 1 == EVENTS, events));
        }
        // The ERP's 10 messages of one order in one SendMessageBatch, in order.
        let entries = bodies
            .iter()
            .enumerate()
            .map(|(k, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(format!("m{k}"))
                    .message_body(body)
                    .message_group_id(&id)
                    .message_deduplication_id(format!("{id}-{k}"))
                    .build()
                    .unwrap()
            })
            .collect();
        b.sqs
            .send_message_batch()
            .queue_url(&b.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .unwrap();
    }
    let total = orders * (2 + EVENTS);
    let started = Instant::now();
    b.pump(1).await;
    let took = started.elapsed();
    let mut calls: HashMap<(String, String), usize> = HashMap::new();
    for r in b.standin.state().requests() {
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
        "moto: drained {total} dispatch messages of {orders} orders in {:.2} s: {:.0} messages/s; \
         OMS calls: {posts} invoice POSTs, {patches} tracking PATCHes, {puts} carrier-event PUTs",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
    );
    assert_eq!((posts, patches, puts), (orders, orders, orders * EVENTS));
    assert!(
        calls
            .iter()
            .all(|((m, _), n)| *n == if m == "PUT" { EVENTS } else { 1 }),
        "a call was repeated"
    );
    assert_eq!(b.dlq_depth().await, 0);
}
