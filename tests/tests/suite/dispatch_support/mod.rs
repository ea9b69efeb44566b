//! Test bench of the dispatcher against moto (DynamoDB + SQS FIFO with a DLQ redrive policy) and
//! the VTEX stand-in. The bench plays the Lambda event-source mapping: ReceiveMessage → SqsEvent →
//! `dispatch::handle` → DeleteMessage of what `batchItemFailures` does not list.
#![allow(dead_code)]

use aws_adapters::dispatch_queue::SqsDispatchQueue;
use aws_adapters::dynamo::{DynamoCatalog, DynamoOrders};
use aws_adapters::invoices::{DynamoInvoices, create_invoices_table};
use chrono::Utc;
use connector_tests::{aws_env, sqs_play};
use dispatch::{Backoff, Deps, handle};
use domain::catalog::Sku;
use domain::clock::SystemClock;
use domain::erp::{ErpCommand, ErpMessage, OrderRef};
use domain::invoicing::{
    Invoice, InvoiceItem, InvoiceType, TrackingEvent, TrackingInfo, TrackingStatus,
};
use domain::money::Cents;
use domain::order::{Order, OrderLine, OrderStatus};
use domain::ports::{
    CatalogReader, CatalogWriter, OrderStore, PlaceOutcome, SaveOutcome, StockEffect,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vtex::client::VtexClient;
use vtex_standin::{RecordedRequest, ServerHandle};

pub const LOCATION: &str = "wh1";
pub const INITIAL_STOCK: i64 = 10_000;

pub struct Bench {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub dlq_url: String,
    pub orders: Arc<DynamoOrders>,
    pub catalog: Arc<DynamoCatalog>,
    pub invoices: Arc<DynamoInvoices>,
    pub deps: Deps,
    pub standin: ServerHandle,
    pub an: String,
}

/// A fresh bench (own tables, queues and stand-in), or `None` when moto is not configured.
pub async fn bench(max_receives: u32) -> Option<Bench> {
    let config = aws_env::moto().await?;
    let (dynamo, catalog_table, orders_table) = aws_env::dynamo_tables(&config).await;
    let invoices_table = aws_env::unique_name("invoices");
    create_invoices_table(&dynamo, &invoices_table)
        .await
        .expect("create invoices table");
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (queue_url, dlq_url) =
        aws_env::fifo_queue_with_dlq(&sqs, "dispatch", 1, max_receives).await;
    let (addr, standin) = vtex_standin::serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let orders = Arc::new(DynamoOrders::new(
        dynamo.clone(),
        orders_table,
        catalog_table.clone(),
    ));
    let catalog = Arc::new(DynamoCatalog::new(dynamo.clone(), catalog_table));
    let invoices = Arc::new(DynamoInvoices::new(dynamo, invoices_table));
    let deps = Deps {
        orders: orders.clone(),
        invoices: invoices.clone(),
        vtex: Arc::new(
            VtexClient::with_timeout(
                format!("http://{addr}"),
                standin.credentials(),
                Duration::from_secs(5),
            )
            .unwrap(),
        ),
        queue: Arc::new(SqsDispatchQueue::new(sqs.clone(), &queue_url, &dlq_url)),
        clock: Arc::new(SystemClock),
        default_an: Some("luxstore".into()),
        // Short back-offs: the tests must not wait minutes; Retry-After still wins.
        backoff: Backoff {
            base: Duration::ZERO,
            max: Duration::from_secs(1),
        },
    };
    Some(Bench {
        sqs,
        queue_url,
        dlq_url,
        orders,
        catalog,
        invoices,
        deps,
        standin,
        an: "luxstore".into(),
    })
}

/// `(sku, quantity, unit price, freight)` of one order line.
pub type Line<'a> = (&'a str, i64, i64, i64);

/// The placement VTEX sends for `lines` (`(sku, quantity, unit price, freight)`), no promotions.
pub fn placement_body(mkp_id: &str, lines: &[Line<'_>]) -> serde_json::Value {
    let items: Vec<_> = lines
        .iter()
        .map(|(sku, q, p, _)| serde_json::json!({"id": sku, "quantity": q, "price": p, "priceTags": []}))
        .collect();
    let logistics: Vec<_> = lines
        .iter()
        .enumerate()
        .map(|(i, (.., f))| serde_json::json!({"itemIndex": i, "price": f}))
        .collect();
    let value: i64 = lines.iter().map(|(_, q, p, f)| q * p + f).sum();
    serde_json::json!([{
        "marketplaceOrderId": mkp_id, "marketplacePaymentValue": value,
        "items": items, "shippingData": {"logisticsInfo": logistics}
    }])
}

impl Bench {
    /// Places (stock held) and authorizes an order, as `/pvt/orders` then `/fulfill` would, and
    /// registers with the stand-in the placement VTEX sent for it.
    pub async fn authorized_order(
        &self,
        order_id: &str,
        mkp_id: &str,
        lines: &[Line<'_>],
    ) -> Order {
        for (sku, ..) in lines {
            let existing = self.catalog.get_skus(&[sku.to_string()]).await.unwrap();
            if existing.is_empty() {
                let s: Sku = serde_json::from_value(serde_json::json!({
                    "id": sku, "name": format!("SKU {sku}"), "prices": [],
                    "stock": { LOCATION: { "onHand": INITIAL_STOCK, "reserved": 0 } }
                }))
                .unwrap();
                self.catalog.upsert_sku(&s).await.unwrap();
            }
        }
        let now = Utc::now();
        let order = Order {
            order_id: order_id.into(),
            an: self.an.clone(),
            sc: Some("1".into()),
            marketplace_order_id: mkp_id.into(),
            marketplace_order_group: None,
            marketplace_services_endpoint: None,
            marketplace_payment_value: lines.iter().map(|l| Cents(l.1 * l.2 + l.3)).sum(),
            status: OrderStatus::Reserved,
            lines: lines
                .iter()
                .enumerate()
                .map(|(i, (sku, q, p, f))| OrderLine {
                    index: i,
                    sku_id: sku.to_string(),
                    quantity: *q,
                    unit_price: Cents(*p),
                    freight: Cents(*f),
                    selected_sla: None,
                    location_id: LOCATION.into(),
                    lock_ttl: None,
                    shipping_estimate: None,
                    delivery_window: None,
                })
                .collect(),
            address: None,
            customer: None,
            created_at: now,
            expires_at: now + chrono::Duration::days(8),
            authorized: None,
            canceled: None,
            pending_cancellation: None,
            seller_cancel: None,
            value: None,
            version: 0,
        };
        let PlaceOutcome::Created(placed) = self.orders.create_reserved(&order).await.unwrap()
        else {
            panic!("placement of {order_id} failed")
        };
        let mut authorized = placed;
        authorized.status = OrderStatus::Authorized;
        let SaveOutcome::Saved(saved) = self
            .orders
            .save(&authorized, StockEffect::None)
            .await
            .unwrap()
        else {
            panic!("authorization of {order_id} conflicted")
        };
        self.standin
            .state()
            .place(&placement_body(mkp_id, lines))
            .unwrap();
        saved
    }

    /// Sends an ERP message to the dispatch queue (group = `group`, a fresh de-duplication id,
    /// so a deliberate duplicate is delivered twice).
    pub async fn send(&self, group: &str, body: &str) {
        self.sqs
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_group_id(group)
            .message_deduplication_id(uuid::Uuid::new_v4().simple().to_string())
            .send()
            .await
            .unwrap();
    }

    /// One event-source-mapping poll: receive a batch, handle it, delete what succeeded.
    /// Returns how many messages were received.
    pub async fn poll(&self) -> usize {
        sqs_play::poll_once(&self.sqs, &self.queue_url, Some(30), |event| {
            handle(&self.deps, event)
        })
        .await
    }

    /// Polls with `workers` concurrent pollers until the dispatch queue is empty.
    pub async fn pump(&self, workers: usize) {
        let deadline = Instant::now() + Duration::from_secs(300);
        let worker = || async {
            loop {
                if self.poll().await == 0 {
                    if sqs_play::depth(&self.sqs, &self.queue_url).await == 0 {
                        return;
                    }
                    assert!(Instant::now() < deadline, "dispatch queue never drained");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        let all: Vec<_> = (0..workers.max(1)).map(|_| worker()).collect();
        futures_join_all(all).await;
    }

    /// Reads and deletes everything in the DLQ: `(body, reasonCode attribute)`.
    pub async fn drain_dlq(&self) -> Vec<(String, Option<String>)> {
        sqs_play::drain_dlq(&self.sqs, &self.dlq_url)
            .await
            .iter()
            .map(|m| {
                (
                    m.body().unwrap_or_default().to_string(),
                    sqs_play::message_attribute(m, "reasonCode"),
                )
            })
            .collect()
    }

    pub async fn dlq_depth(&self) -> usize {
        sqs_play::depth(&self.sqs, &self.dlq_url).await
    }

    pub async fn status(&self, order_id: &str) -> OrderStatus {
        self.orders.get(order_id).await.unwrap().unwrap().status
    }

    /// Requests the stand-in accepted (2xx, not faulted).
    pub fn accepted(&self) -> Vec<RecordedRequest> {
        self.standin
            .state()
            .requests()
            .into_iter()
            .filter(|r| r.accepted())
            .collect()
    }

    pub async fn stock(&self, sku: &str) -> (i64, i64) {
        let skus = self.catalog.get_skus(&[sku.to_string()]).await.unwrap();
        let s = skus[sku].stock[LOCATION];
        (s.on_hand, s.reserved)
    }
}

/// Runs futures concurrently on this task (no extra dependency).
async fn futures_join_all<F: std::future::Future<Output = ()>>(futs: Vec<F>) {
    let mut futs: Vec<std::pin::Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    std::future::poll_fn(move |cx| {
        futs.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if futs.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

// ---------------------------------------------------------------- ERP messages

pub fn invoice(kind: InvoiceType, number: &str, value: i64, items: &[(&str, i64, i64)]) -> Invoice {
    Invoice {
        kind,
        invoice_number: number.into(),
        invoice_value: Cents(value),
        issuance_date: "2024-02-07T15:22:56-03:00".into(),
        items: items
            .iter()
            .map(|(id, q, p)| InvoiceItem {
                id: id.to_string(),
                quantity: *q,
                price: Cents(*p),
                description: None,
            })
            .collect(),
        invoice_key: None,
        invoice_url: Some(format!("https://seller.example.com/invoices/{number}.pdf")),
        embedded_invoice: None,
        courier: None,
        tracking_number: None,
        tracking_url: None,
        dispatched_date: None,
    }
}

pub fn invoice_msg(order: &OrderRef, inv: Invoice) -> String {
    ErpMessage::new(order.clone(), ErpCommand::Invoice { invoice: inv }).to_json()
}

pub fn tracking_msg(order: &OrderRef, number: &str, tracking_number: &str) -> String {
    ErpMessage::new(
        order.clone(),
        ErpCommand::Tracking {
            invoice_number: number.into(),
            tracking: TrackingInfo {
                tracking_number: tracking_number.into(),
                tracking_url: Some(format!("https://track.example.com/{tracking_number}")),
                courier: Some("Correios".into()),
                dispatched_date: Some("2024-02-08T10:00:00-03:00".into()),
            },
        },
    )
    .to_json()
}

pub fn event(description: &str, date: &str) -> TrackingEvent {
    TrackingEvent {
        city: "Curitiba".into(),
        state: "PR".into(),
        description: description.into(),
        date: date.into(),
    }
}

pub fn status_msg(
    order: &OrderRef,
    number: &str,
    delivered: bool,
    events: Vec<TrackingEvent>,
) -> String {
    ErpMessage::new(
        order.clone(),
        ErpCommand::TrackingStatus {
            invoice_number: number.into(),
            tracking_status: TrackingStatus {
                is_delivered: delivered,
                delivered_date: delivered.then(|| "2024-02-10 14:30".into()),
                events,
            },
        },
    )
    .to_json()
}

pub fn cancel_msg(order: &OrderRef, reason: &str) -> String {
    ErpMessage::new(
        order.clone(),
        ErpCommand::Cancel {
            cancel: domain::erp::CancelRequest {
                reason: reason.into(),
            },
        },
    )
    .to_json()
}
