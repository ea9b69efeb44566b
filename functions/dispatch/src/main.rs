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

fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The secret named by `VTEX_CREDENTIALS_SECRET_ARN` (JSON `{appKey, appToken}`), else the two
/// plain variables (local runs only: the template never sets them).
async fn credentials(sdk: &aws_config::SdkConfig) -> Result<AppCredentials, Error> {
    if let Some(arn) = optional("VTEX_CREDENTIALS_SECRET_ARN") {
        let text = aws_adapters::secrets::secret_string(sdk, &arn)
            .await
            .map_err(|e| format!("VTEX credentials: {e}"))?;
        return Ok(AppCredentials::from_secret_json(&text)?);
    }
    match (optional("VTEX_APP_KEY"), optional("VTEX_APP_TOKEN")) {
        (Some(k), Some(t)) => Ok(AppCredentials::new(k, t)),
        _ => Err(
            "set VTEX_CREDENTIALS_SECRET_ARN (or VTEX_APP_KEY and VTEX_APP_TOKEN locally)".into(),
        ),
    }
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
        credentials(&sdk).await?,
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
