//! Composition root of the catalog-sync Lambda: configuration, the marketplace registry (each
//! change is notified to every marketplace that wants catalog changes and sells the SKU, each with
//! its own seller id and credentials from Secrets Manager, cached: `vtex::accounts::
//! MarketplaceCatalogs`), the DynamoDB catalog and its sync state, the SQS queue ports (DLQ +
//! visibility, follow-ups), then the runtime loop over SQS batches. Credentials are never logged.

use aws_adapters::catalog_queue::SqsFollowUps;
use aws_adapters::dispatch_queue::SqsDispatchQueue;
use aws_adapters::dynamo::{DynamoCatalog, DynamoSyncStates};
use aws_lambda_events::sqs::SqsEvent;
use catalog_sync::{Config, Deps, Notifier, Resources, handle};
use domain::clock::SystemClock;
use lambda_kit::config::{Marketplaces, PLAIN_CREDENTIALS_SECRET, Vars};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use std::sync::Arc;
use vtex::accounts::MarketplaceCatalogs;
use vtex::catalog::CatalogClient;
use vtex::client::AppCredentials;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::telemetry::init();
    let vars = Vars::env();
    let config = Config::from_vars(&vars)?;
    let Resources {
        catalog_table,
        catalog_queue_url: queue_url,
        catalog_dlq_url: dlq_url,
    } = vars.load()?;
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
    // Only its connection pool and timeout are used: each marketplace's client has its own key.
    let pool = CatalogClient::new(
        &config.endpoints(),
        AppCredentials::new("", ""),
        config.vtex_timeout,
    )?;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let catalog = Arc::new(DynamoCatalog::new(dynamo.clone(), catalog_table.clone()));
    let deps = Arc::new(Deps {
        catalog: catalog.clone(),
        writer: catalog.clone(),
        sync: Arc::new(DynamoSyncStates::new(dynamo, catalog_table)),
        queue: Arc::new(SqsDispatchQueue::new(sqs.clone(), &queue_url, dlq_url)),
        followups: Arc::new(SqsFollowUps::new(sqs, queue_url)),
        notifier: Notifier {
            vtex: Arc::new(MarketplaceCatalogs::new(
                registry,
                secrets,
                catalog.clone(),
                pool,
                config.vtex_base_url.clone(),
                Some(config.suggestions_base_url.clone()),
                config.suggestion_settings(),
                config
                    .coalescing
                    .window
                    .to_std()
                    .unwrap_or(std::time::Duration::from_secs(60)),
            )),
            catalog,
        },
        clock: Arc::new(SystemClock),
        coalescing: config.coalescing,
        backoff: config.backoff,
    });
    run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Error>(handle(&deps, event.payload).await) }
    }))
    .await
}
