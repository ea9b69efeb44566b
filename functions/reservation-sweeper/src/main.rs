//! Composition root of the reservation sweeper (run by an EventBridge schedule): configuration,
//! the DynamoDB order store, the SQS queue of ERP events, then the runtime loop.

use aws_adapters::dynamo::{DynamoCatalog, DynamoOrders};
use aws_adapters::sqs::SqsOrderEvents;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use domain::clock::SystemClock;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use reservation_sweeper::{Config, Deps, handle};
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
    let config = Config::from_env()?;
    let catalog_table = required("CATALOG_TABLE")?;
    let orders_table = required("ORDERS_TABLE")?;
    let queue_url = required("ORDER_EVENTS_QUEUE_URL")?;
    let sdk = aws_adapters::sdk_config().await;
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
    run(service_fn(move |event: LambdaEvent<EventBridgeEvent>| {
        let deps = Arc::clone(&deps);
        async move {
            handle(&deps, event.payload)
                .await
                .map_err(|e| Error::from(e.to_string()))
        }
    }))
    .await
}
