//! Test bench of the import flow against moto (DynamoDB imports + orders tables, a standard SQS
//! import queue with a DLQ redrive policy, the ERP's order-events queue), the VTEX stand-in, and
//! the mse function served over real HTTP so the stand-in can call it the way OMS would. The bench
//! plays the Lambda event-source mapping: ReceiveMessage → SqsEvent → `order_import::handle` →
//! DeleteMessage of what `batchItemFailures` does not list.
#![allow(dead_code)]

use aws_adapters::dispatch_queue::SqsDispatchQueue;
use aws_adapters::dynamo::DynamoOrders;
use aws_adapters::imports::{DynamoImports, SqsImportEvents, SqsImportQueue, create_imports_table};
use aws_sdk_sqs::types::QueueAttributeName;
use connector_tests::{aws_env, sqs_play};
use domain::clock::SystemClock;
use domain::import::{ImportKey, ImportRecord, ImportStore, ImportTiming};
use domain::order::LogEntry;
use domain::ports::OrderStore;
use lambda_kit::auth::{InboundAuth, Secret};
use order_import::{Backoff, Deps, handle};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vtex::client::VtexClient;
use vtex_standin::{RecordedRequest, ServerHandle};

pub const AFFILIATE: &str = "EXT";
pub const MSE_SECRET: &str = "mse-s3cr3t-7Hq2";
/// The seller's own account (the stand-in answers for any).
pub const ACCOUNT: &str = "myshop";

/// The `importOrder` message of `events/order-import.order.json` (with its invoice).
pub fn order_message() -> Value {
    let event: Value =
        serde_json::from_str(include_str!("../../../../events/order-import.order.json")).unwrap();
    serde_json::from_str(event["Records"][0]["body"].as_str().unwrap()).unwrap()
}

/// The same message for marketplace order `mkp` (a fresh import per test).
pub fn order_message_for(mkp: &str) -> Value {
    let mut m = order_message();
    m["order"]["marketplaceOrderId"] = Value::String(mkp.into());
    m
}

pub fn invoice_message_for(mkp: &str) -> Value {
    let event: Value =
        serde_json::from_str(include_str!("../../../../events/order-import.invoice.json")).unwrap();
    let mut m: Value = serde_json::from_str(event["Records"][0]["body"].as_str().unwrap()).unwrap();
    m["marketplaceOrderId"] = Value::String(mkp.into());
    m
}

pub fn tracking_message_for(mkp: &str, invoice_number: &str) -> Value {
    let event: Value = serde_json::from_str(include_str!(
        "../../../../events/order-import.tracking.json"
    ))
    .unwrap();
    let mut m: Value = serde_json::from_str(event["Records"][0]["body"].as_str().unwrap()).unwrap();
    m["marketplaceOrderId"] = Value::String(mkp.into());
    m["invoiceNumber"] = Value::String(invoice_number.into());
    m
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub max_receives: u32,
    /// The connector's grace period (`IMPORT_GRACE_SECONDS`).
    pub grace: Duration,
    pub not_ready_retry: Duration,
    /// The stand-in's grace period (VTEX's side).
    pub standin_grace: Duration,
    /// The ERP's order-events queue is FIFO (as the template's) or standard.
    pub fifo_events: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_receives: 5,
            grace: Duration::ZERO,
            not_ready_retry: Duration::from_secs(1),
            standin_grace: Duration::ZERO,
            fifo_events: true,
        }
    }
}

pub struct Bench {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub dlq_url: String,
    pub events_url: String,
    pub imports: Arc<DynamoImports>,
    pub orders: Arc<DynamoOrders>,
    pub deps: Deps,
    pub mse: Arc<mse::Deps>,
    pub mse_addr: SocketAddr,
    pub standin: ServerHandle,
    mse_server: tokio::task::JoinHandle<()>,
}

impl Drop for Bench {
    fn drop(&mut self) {
        self.mse_server.abort();
    }
}

async fn queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attrs: &[(QueueAttributeName, String)],
) -> String {
    let mut create = sqs.create_queue().queue_name(name);
    for (k, v) in attrs {
        create = create.attributes(k.clone(), v);
    }
    create.send().await.unwrap().queue_url.unwrap()
}

/// Serves `mse::handle` on a free local port, as API Gateway would.
pub async fn serve_mse(deps: Arc<mse::Deps>) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let deps = deps.clone();
        async move {
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, 1 << 20)
                .await
                .unwrap_or_default();
            let body = if bytes.is_empty() {
                lambda_http::Body::Empty
            } else {
                lambda_http::Body::Text(String::from_utf8_lossy(&bytes).into_owned())
            };
            let resp =
                mse::handle(&deps, lambda_http::http::Request::from_parts(parts, body)).await;
            resp.map(|b| match b {
                lambda_http::Body::Text(t) => axum::body::Body::from(t),
                lambda_http::Body::Binary(v) => axum::body::Body::from(v),
                _ => axum::body::Body::empty(),
            })
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

/// A fresh bench (own tables, queues, stand-in and mse server), or `None` when moto is not
/// configured.
pub async fn bench(opts: Options) -> Option<Bench> {
    let config = aws_env::moto().await?;
    let (dynamo, catalog_table, orders_table) = aws_env::dynamo_tables(&config).await;
    let imports_table = aws_env::unique_name("imports");
    create_imports_table(&dynamo, &imports_table)
        .await
        .expect("create imports table");
    let sqs = aws_sdk_sqs::Client::new(&config);
    let dlq_url = queue(&sqs, &aws_env::unique_name("import-dlq"), &[]).await;
    let dlq_arn = aws_env::queue_arn(&sqs, &dlq_url).await;
    let queue_url = queue(
        &sqs,
        &aws_env::unique_name("import"),
        &[
            (QueueAttributeName::VisibilityTimeout, "1".into()),
            (
                QueueAttributeName::RedrivePolicy,
                aws_env::redrive_policy(&dlq_arn, opts.max_receives),
            ),
        ],
    )
    .await;
    let events_url = if opts.fifo_events {
        aws_env::fifo_queue(&sqs, "order-events").await
    } else {
        queue(&sqs, &aws_env::unique_name("order-events"), &[]).await
    };
    let (addr, standin) = vtex_standin::serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    {
        let mut f = standin.state().fulfillment.lock().unwrap();
        f.grace = opts.standin_grace;
        f.known_skus = Some(["1".to_string()].into_iter().collect());
    }
    let imports = Arc::new(DynamoImports::new(dynamo.clone(), imports_table));
    let orders = Arc::new(DynamoOrders::new(dynamo, orders_table, catalog_table));
    let mse = Arc::new(mse::Deps {
        imports: imports.clone(),
        notifications: imports.clone(),
        events: Arc::new(SqsImportEvents::new(sqs.clone(), &events_url)),
        log: orders.clone(),
        clock: Arc::new(SystemClock),
        config: mse::Config {
            auth: InboundAuth {
                path_secret: Secret::new(MSE_SECRET),
                app_key: None,
                app_token: None,
            },
            ..mse::Config::default()
        },
    });
    let (mse_addr, mse_server) = serve_mse(mse.clone()).await;
    let deps = Deps {
        imports: imports.clone(),
        log: orders.clone(),
        vtex: Arc::new(
            VtexClient::with_timeout(
                format!("http://{addr}"),
                standin.credentials(),
                Duration::from_secs(5),
            )
            .unwrap(),
        ),
        queue: Arc::new(SqsDispatchQueue::new(sqs.clone(), &queue_url, &dlq_url)),
        scheduler: Arc::new(SqsImportQueue::new(sqs.clone(), &queue_url)),
        clock: Arc::new(SystemClock),
        config: order_import::Config {
            account: ACCOUNT.into(),
            vtex_base_url: format!("http://{addr}"),
            vtex_timeout: Duration::from_secs(5),
            mse_url: order_import::Config::mse_from_base(
                &format!("http://{mse_addr}/vtex"),
                MSE_SECRET,
            ),
            default_affiliate: Some(AFFILIATE.into()),
            default_sales_channel: "1".into(),
            timing: ImportTiming {
                grace: opts.grace,
                not_ready_retry: opts.not_ready_retry,
                give_up_after: Duration::from_secs(300),
            },
            // Short back-offs: the tests must not wait minutes; Retry-After still wins.
            backoff: Backoff {
                base: Duration::ZERO,
                max: Duration::from_secs(1),
            },
        },
    };
    Some(Bench {
        sqs,
        queue_url,
        dlq_url,
        events_url,
        imports,
        orders,
        deps,
        mse,
        mse_addr,
        standin,
        mse_server,
    })
}

impl Bench {
    pub async fn send(&self, body: &Value) {
        self.sqs
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body.to_string())
            .send()
            .await
            .unwrap();
    }

    /// One event-source-mapping poll. Returns how many messages were received.
    pub async fn poll(&self) -> usize {
        sqs_play::poll_once(&self.sqs, &self.queue_url, Some(30), |event| {
            handle(&self.deps, event)
        })
        .await
    }

    /// Polls until the import queue is empty (delayed and in-flight messages included).
    pub async fn pump(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if self.poll().await == 0 {
                if sqs_play::depth(&self.sqs, &self.queue_url).await == 0 {
                    return;
                }
                if Instant::now() >= deadline {
                    let last: Vec<String> = self
                        .standin
                        .state()
                        .requests()
                        .iter()
                        .rev()
                        .take(12)
                        .map(|r| {
                            format!(
                                "{} {} -> {} (faulted {})",
                                r.method, r.path, r.status, r.faulted
                            )
                        })
                        .collect();
                    panic!("import queue never drained; last VTEX calls (newest first): {last:#?}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Reads and deletes everything in the DLQ: `(body, reasonCode, reason)`.
    pub async fn drain_dlq(&self) -> Vec<(String, Option<String>, Option<String>)> {
        sqs_play::drain_dlq(&self.sqs, &self.dlq_url)
            .await
            .iter()
            .map(|m| {
                (
                    m.body().unwrap_or_default().to_string(),
                    sqs_play::message_attribute(m, "reasonCode"),
                    sqs_play::message_attribute(m, "reason"),
                )
            })
            .collect()
    }

    /// Reads and deletes every message waiting on the ERP's order-events queue.
    pub async fn erp_messages(&self) -> Vec<Value> {
        let mut all = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.events_url)
                .max_number_of_messages(10)
                .visibility_timeout(60)
                .send()
                .await
                .unwrap();
            if out.messages().is_empty() {
                return all;
            }
            for m in out.messages() {
                all.push(serde_json::from_str(m.body().unwrap_or_default()).unwrap());
                // Deleted, as the ERP would: a FIFO group holds back what follows an unread message.
                self.sqs
                    .delete_message()
                    .queue_url(&self.events_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    pub async fn record(&self, mkp: &str) -> ImportRecord {
        self.imports
            .get(&ImportKey::new(AFFILIATE, mkp))
            .await
            .unwrap()
            .unwrap()
    }

    pub async fn log(&self, mkp: &str) -> Vec<LogEntry> {
        self.orders
            .read_log(&ImportKey::new(AFFILIATE, mkp).log_id())
            .await
            .unwrap()
    }

    /// Requests the stand-in received for `method` on a path ending with `path_end`.
    pub fn calls(&self, method: &str, path_end: &str) -> Vec<RecordedRequest> {
        self.standin
            .state()
            .requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.ends_with(path_end))
            .collect()
    }

    /// Placements VTEX acted on for `mkp`.
    pub fn placements(&self, mkp: &str) -> usize {
        self.calls("POST", "/api/fulfillment/pvt/orders")
            .iter()
            .filter(|r| r.accepted() && r.body[0]["marketplaceOrderId"] == mkp)
            .count()
    }

    /// The stand-in's (VTEX's) view of the imported order.
    pub fn vtex_status(&self, order_id: &str) -> Option<String> {
        let state = self.standin.state();
        let f = state.fulfillment.lock().unwrap();
        let order = f.orders.get(order_id)?.clone();
        drop(f);
        let oms = state.oms.lock().unwrap();
        let invoiced = oms
            .orders
            .get(order_id)
            .is_some_and(|o| o.status() == "invoiced");
        Some(if invoiced {
            "invoiced".into()
        } else if order.handling {
            "handling".into()
        } else {
            "not handling".into()
        })
    }
}
