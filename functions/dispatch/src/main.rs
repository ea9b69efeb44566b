//! Composition root of the dispatch Lambda: configuration, VTEX credentials (Secrets Manager, or
//! `VTEX_APP_KEY`/`VTEX_APP_TOKEN` for local use), the DynamoDB stores, the SQS queue port, then
//! the runtime loop over SQS batches. Credentials are never logged.

use aws_adapters::dispatch_queue::SqsDispatchQueue;
use aws_adapters::dynamo::DynamoOrders;
use aws_adapters::invoices::DynamoInvoices;
use aws_lambda_events::sqs::SqsEvent;
use dispatch::{Config, Deps, handle};
use domain::clock::SystemClock;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use std::sync::Arc;
use vtex::client::{AppCredentials, VtexClient};

/// The secret named by `VTEX_CREDENTIALS_SECRET_ARN`, else the two plain variables (local runs).
async fn credentials() -> Result<AppCredentials, String> {
    aws_adapters::secrets::vtex_credentials(
        "VTEX_CREDENTIALS_SECRET_ARN",
        AppCredentials::from_secret_json,
        AppCredentials::new,
    )
    .await
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::telemetry::init();
    let config = Config::from_env()?;
    let orders_table = aws_adapters::required_env("ORDERS_TABLE")?;
    let catalog_table = aws_adapters::required_env("CATALOG_TABLE")?;
    let invoices_table = aws_adapters::required_env("INVOICES_TABLE")?;
    let queue_url = aws_adapters::required_env("DISPATCH_QUEUE_URL")?;
    let dlq_url = aws_adapters::required_env("DISPATCH_DLQ_URL")?;
    let sdk = aws_adapters::sdk_config().await;
    let vtex = VtexClient::with_timeout(
        config.vtex_base_url.clone(),
        credentials().await?,
        config.vtex_timeout,
    )?
    .with_default_account(config.default_an.clone());
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let deps = Arc::new(Deps {
        orders: Arc::new(DynamoOrders::new(
            dynamo.clone(),
            orders_table,
            catalog_table,
        )),
        invoices: Arc::new(DynamoInvoices::new(dynamo, invoices_table)),
        vtex: Arc::new(vtex),
        queue: Arc::new(SqsDispatchQueue::new(
            aws_sdk_sqs::Client::new(&sdk),
            queue_url,
            dlq_url,
        )),
        clock: Arc::new(SystemClock),
        default_an: config.default_an.clone(),
        backoff: config.backoff,
    });
    run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Error>(handle(&deps, event.payload).await) }
    }))
    .await
}
