//! Composition root of the dispatch Lambda: configuration, VTEX credentials (Secrets Manager, or
//! `VTEX_APP_KEY`/`VTEX_APP_TOKEN` for local use), the DynamoDB stores, the SQS queue port, then
//! the runtime loop over SQS batches. Credentials are never logged.

use aws_adapters::dispatch_queue::SqsDispatchQueue;
use aws_adapters::dynamo::DynamoOrders;
use aws_adapters::invoices::DynamoInvoices;
use aws_lambda_events::sqs::SqsEvent;
use dispatch::{Config, Deps, Resources, handle};
use domain::clock::SystemClock;
use lambda_kit::config::Vars;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use std::sync::Arc;
use vtex::client::{AppCredentials, VtexClient};

/// The secret named by `VTEX_CREDENTIALS_SECRET_ARN`, else the two plain variables (local runs).
async fn credentials() -> Result<AppCredentials, String> {
    aws_adapters::secrets::vtex_credentials(
        lambda_kit::config::credential_source(
            &lambda_kit::config::Vars::env(),
            "VTEX_CREDENTIALS_SECRET_ARN",
        ),
        AppCredentials::from_secret_json,
        AppCredentials::new,
    )
    .await
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::telemetry::init();
    let vars = Vars::env();
    let config = Config::from_vars(&vars)?;
    let r: Resources = vars.load()?;
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
            r.orders_table,
            r.catalog_table,
        )),
        invoices: Arc::new(DynamoInvoices::new(dynamo, r.invoices_table)),
        vtex: Arc::new(vtex),
        queue: Arc::new(SqsDispatchQueue::new(
            aws_sdk_sqs::Client::new(&sdk),
            r.dispatch_queue_url,
            r.dispatch_dlq_url,
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
