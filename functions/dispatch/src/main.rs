//! Composition root of the dispatch Lambda: configuration, the marketplace registry (every call
//! goes out with the credentials of the order's own account, read from Secrets Manager and cached;
//! an unregistered or disabled account is parked with the reason), the DynamoDB stores, the SQS
//! queue port, then the runtime loop over SQS batches. Credentials are never logged.

use aws_adapters::dispatch_queue::SqsDispatchQueue;
use aws_adapters::dynamo::DynamoOrders;
use aws_adapters::invoices::DynamoInvoices;
use aws_lambda_events::sqs::SqsEvent;
use dispatch::{Config, Deps, Resources, handle};
use domain::clock::SystemClock;
use lambda_kit::config::{Marketplaces, PLAIN_CREDENTIALS_SECRET, Vars};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use std::sync::Arc;
use vtex::accounts::AccountClients;
use vtex::client::VtexClient;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::telemetry::init();
    let vars = Vars::env();
    let config = Config::from_vars(&vars)?;
    let r: Resources = vars.load()?;
    let sdk = aws_adapters::sdk_config().await;
    let marketplaces = Marketplaces::from_vars(&vars)?.require_credentials()?;
    let registry = aws_adapters::marketplaces::cached_registry(
        &sdk,
        marketplaces.table.clone(),
        marketplaces.builtin.clone(),
        marketplaces.cache_ttl,
    );
    let secrets = aws_adapters::marketplaces::marketplace_secrets(
        &sdk,
        marketplaces.cache_ttl,
        marketplaces
            .plain_credentials
            .map(|v| (PLAIN_CREDENTIALS_SECRET, v)),
    );
    let vtex = AccountClients::new(
        registry,
        secrets,
        VtexClient::without_credentials(config.vtex_base_url.clone(), config.vtex_timeout)?
            .with_default_account(config.default_an.clone()),
    );
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
