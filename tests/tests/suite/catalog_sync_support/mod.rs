//! Test bench of the catalog sync against moto (DynamoDB catalog table + SQS FIFO catalog queue
//! with a DLQ redrive policy) and the VTEX stand-in. The bench plays the Lambda event-source
//! mapping: ReceiveMessage → SqsEvent → `catalog_sync::handle` → DeleteMessage of what
//! `batchItemFailures` does not list.
#![allow(dead_code)]

use aws_adapters::catalog_queue::SqsFollowUps;
use aws_adapters::dispatch_queue::SqsDispatchQueue;
use aws_adapters::dynamo::{DynamoCatalog, DynamoSyncStates};
use catalog_sync::{Backoff, Deps, Notifier, handle};
use connector_tests::{aws_env, sqs_play};
use domain::catalog::CatalogFile;
use domain::catalog_notify::Coalescing;
use domain::clock::SystemClock;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vtex::catalog::{CatalogClient, CatalogEndpoints, SuggestionSettings};
use vtex::ports::Notificator;
use vtex_standin::ServerHandle;

pub const SELLER: &str = "seller1";
pub const AN: &str = "luxstore";

pub struct Bench {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub dlq_url: String,
    pub catalog: Arc<DynamoCatalog>,
    pub sync: Arc<DynamoSyncStates>,
    pub deps: Deps,
    pub standin: ServerHandle,
    pub standin_url: String,
}

pub fn sample() -> CatalogFile {
    serde_json::from_str(include_str!("../../../../shared/sample/catalog.json")).unwrap()
}

/// The body of a sample event (`events/catalog-sync.<name>.json`).
pub fn sample_body(name: &str) -> Value {
    let text = match name {
        "sku-upsert" => include_str!("../../../../events/catalog-sync.sku-upsert.json"),
        "price-changed" => include_str!("../../../../events/catalog-sync.price-changed.json"),
        "stock-changed" => include_str!("../../../../events/catalog-sync.stock-changed.json"),
        other => panic!("no sample event {other}"),
    };
    let event: Value = serde_json::from_str(text).unwrap();
    serde_json::from_str(event["Records"][0]["body"].as_str().unwrap()).unwrap()
}

/// A fresh bench (own tables, queues and stand-in) holding the sample catalog, which the
/// marketplace knows; `None` when moto is not configured.
pub async fn bench(window: chrono::Duration) -> Option<Bench> {
    let config = aws_env::moto().await?;
    let (dynamo, catalog_table, _orders) = aws_env::dynamo_tables(&config).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (queue_url, dlq_url) = aws_env::fifo_queue_with_dlq(&sqs, "catalog", 2, 10).await;
    let (addr, standin) = vtex_standin::serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let file = sample();
    {
        let mut c = standin.state().catalog.lock().unwrap();
        c.seller_id = Some(SELLER.into());
        c.know(file.skus.iter().map(|s| s.id.clone()));
    }
    let catalog = Arc::new(DynamoCatalog::new(dynamo.clone(), catalog_table.clone()));
    domain::store_support::load_catalog(catalog.as_ref(), &file)
        .await
        .unwrap();
    let sync = Arc::new(DynamoSyncStates::new(dynamo, catalog_table));
    let standin_url = format!("http://{addr}");
    let vtex = CatalogClient::new(
        &CatalogEndpoints {
            base_url: standin_url.clone(),
            suggestions_base_url: format!("{standin_url}/{{an}}"),
            account: AN.into(),
            seller_id: SELLER.into(),
        },
        standin.credentials(),
        Duration::from_secs(5),
    )
    .unwrap();
    let deps = Deps {
        catalog: catalog.clone(),
        writer: catalog.clone(),
        sync: sync.clone(),
        queue: Arc::new(SqsDispatchQueue::new(sqs.clone(), &queue_url, &dlq_url)),
        followups: Arc::new(SqsFollowUps::new(sqs.clone(), &queue_url)),
        notifier: Notifier {
            vtex: Arc::new(Notificator {
                client: vtex,
                suggestion: SuggestionSettings {
                    seller_id: SELLER.into(),
                    account: AN.into(),
                    currency: "BRL".into(),
                    currency_symbol: "R$".into(),
                },
            }),
            catalog: catalog.clone(),
        },
        clock: Arc::new(SystemClock),
        coalescing: Coalescing {
            window,
            followup_grace: chrono::Duration::seconds(60),
        },
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
        catalog,
        sync,
        deps,
        standin,
        standin_url,
    })
}

impl Bench {
    /// Sends an ERP message as the ERP does: message group = the SKU id, a fresh dedup id.
    pub async fn send(&self, body: &Value) {
        let group = body["skuId"]
            .as_str()
            .or(body["sku"]["id"].as_str())
            .unwrap_or("none")
            .to_string();
        self.sqs
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body.to_string())
            .message_group_id(group)
            .message_deduplication_id(uuid::Uuid::new_v4().simple().to_string())
            .send()
            .await
            .unwrap();
    }

    /// Many messages for one group, ten per request.
    pub async fn send_many(&self, group: &str, bodies: &[Value]) {
        for chunk in bodies.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(format!("e{i}"))
                        .message_body(b.to_string())
                        .message_group_id(group)
                        .message_deduplication_id(uuid::Uuid::new_v4().simple().to_string())
                        .build()
                        .unwrap()
                })
                .collect();
            let out = self
                .sqs
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .unwrap();
            assert!(out.failed().is_empty(), "{:?}", out.failed());
        }
    }

    /// One receive → handle → delete round, as the event-source mapping does (messages hidden for
    /// the queue's visibility timeout). Returns how many messages were received.
    pub async fn pump_once(&self) -> usize {
        sqs_play::poll_once(&self.sqs, &self.queue_url, None, |event| {
            handle(&self.deps, event)
        })
        .await
    }

    /// Pumps until the queue is empty (follow-ups and back-offs included), or panics after
    /// `limit`.
    pub async fn drain(&self, limit: Duration) {
        let started = Instant::now();
        loop {
            if self.pump_once().await == 0 {
                if sqs_play::depth(&self.sqs, &self.queue_url).await == 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert!(
                started.elapsed() < limit,
                "queue not drained within {limit:?}"
            );
        }
    }

    /// Every message parked in the DLQ: (body, reasonCode, reason). A peek: they stay there,
    /// visible again at once.
    pub async fn parked(&self) -> Vec<(String, String, String)> {
        let mut all = Vec::new();
        let mut handles = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.dlq_url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .visibility_timeout(30)
                .send()
                .await
                .unwrap();
            if out.messages().is_empty() {
                break;
            }
            for m in out.messages() {
                handles.extend(m.receipt_handle().map(str::to_string));
                let attr = |n: &str| sqs_play::message_attribute(m, n).unwrap_or_default();
                all.push((
                    m.body().unwrap_or_default().to_string(),
                    attr("reasonCode"),
                    attr("reason"),
                ));
            }
        }
        for h in handles {
            self.sqs
                .change_message_visibility()
                .queue_url(&self.dlq_url)
                .receipt_handle(h)
                .visibility_timeout(0)
                .send()
                .await
                .unwrap();
        }
        all
    }

    pub fn notified(&self, kind: &str, sku: &str) -> usize {
        self.standin
            .state()
            .catalog
            .lock()
            .unwrap()
            .count(kind, sku)
    }
}
