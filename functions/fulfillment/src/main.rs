//! Composition root of the fulfillment Lambda (fulfill, marketplace cancel, operator view):
//! configuration, the DynamoDB catalog and order store, the SQS queue of ERP events, then the
//! runtime loop. The handler lives in the library so the local runner and the tests share it.

use aws_adapters::dynamo::{DynamoCatalog, DynamoOrders};
use aws_adapters::sqs::SqsOrderEvents;
use domain::clock::SystemClock;
use fulfillment::{Config, Deps, handle};
use lambda_http::{Error, Request, run, service_fn};
use std::convert::Infallible;
use std::sync::Arc;

fn required(name: &str) -> Result<String, Error> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("{name} is not set").into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::telemetry::init();
    let mut config = Config::from_env()?;
    let catalog_table = required("CATALOG_TABLE")?;
    let orders_table = required("ORDERS_TABLE")?;
    let queue_url = required("ORDER_EVENTS_QUEUE_URL")?;
    let sdk = aws_adapters::sdk_config().await;
    config.auth = aws_adapters::secrets::inbound_auth(&sdk).await?;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let deps = Arc::new(Deps::new(
        Arc::new(DynamoOrders::new(
            dynamo.clone(),
            orders_table,
            catalog_table.clone(),
        )),
        Arc::new(DynamoCatalog::new(dynamo, catalog_table)),
        Arc::new(SqsOrderEvents::new(
            aws_sdk_sqs::Client::new(&sdk),
            queue_url,
        )),
        Arc::new(SystemClock),
        config,
    ));
    run(service_fn(move |req: Request| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Infallible>(handle(&deps, req).await) }
    }))
    .await
}
