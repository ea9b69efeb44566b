//! DynamoDB and SQS adapters of the domain ports.
//!
//! - [`dynamo::DynamoCatalog`]: `CatalogReader` + `CatalogWriter` over the catalog table.
//! - [`dynamo::DynamoOrders`]: `OrderStore` over the orders table (and the catalog table's stock,
//!   written in the same transactions).
//! - [`sqs::SqsOrderEvents`]: `OrderEvents` over an SQS (FIFO) queue.
//! - [`outbox::DynamoOutbox`]: the outbox table the order saves write their ERP events to.
//! - [`dynamo::DynamoSyncStates`]: the catalog sync's notification state (`SYNC#` items).
//! - [`catalog_queue::SqsFollowUps`]: schedules the catalog sync's `notify.due` follow-ups.
//! - [`imports`]: the import flow's store (imports table) and queues.
//! - [`marketplaces::DynamoRegistry`]: the marketplace registry (marketplaces table).
//! - [`schema`]: creates the tables exactly as `template.yaml` declares them, for tests and tools.

pub mod catalog_queue;
pub mod dispatch_queue;
pub mod dynamo;
pub mod imports;
pub mod invoices;
pub mod marketplaces;
pub mod outbox;
pub mod schema;
pub mod secrets;
pub mod sqs;
mod sqs_common;

/// The SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL` /
/// `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_SQS`), so the same binary talks to AWS or to a
/// local stand-in without an `if local` branch.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// The ports the order functions (placement, fulfillment, sweeper) share, over the tables and
/// queue the template names in `CATALOG_TABLE`, `ORDERS_TABLE` and `ORDER_EVENTS_QUEUE_URL`
/// (read by `lambda_kit::config::OrderTables`).
pub struct OrderPorts {
    pub orders: std::sync::Arc<dynamo::DynamoOrders>,
    pub catalog: std::sync::Arc<dynamo::DynamoCatalog>,
    pub events: std::sync::Arc<sqs::SqsOrderEvents>,
}

impl OrderPorts {
    pub fn new(
        sdk: &aws_config::SdkConfig,
        catalog_table: String,
        orders_table: String,
        queue_url: String,
    ) -> Self {
        let dynamo = aws_sdk_dynamodb::Client::new(sdk);
        OrderPorts {
            orders: std::sync::Arc::new(dynamo::DynamoOrders::new(
                dynamo.clone(),
                orders_table,
                catalog_table.clone(),
            )),
            catalog: std::sync::Arc::new(dynamo::DynamoCatalog::new(dynamo, catalog_table)),
            events: std::sync::Arc::new(sqs::SqsOrderEvents::new(
                aws_sdk_sqs::Client::new(sdk),
                queue_url,
            )),
        }
    }

    /// An order function's ports over these, with the system clock, random ids and its `config`.
    pub fn deps<C>(self, config: C) -> domain::lifecycle::LifecycleDeps<C> {
        domain::lifecycle::LifecycleDeps::new(
            self.orders,
            self.catalog,
            self.events,
            std::sync::Arc::new(domain::clock::SystemClock),
            config,
        )
    }
}
