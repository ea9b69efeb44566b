//! Composition root of the catalog-sync Lambda: configuration, VTEX credentials (Secrets
//! Manager, or `VTEX_APP_KEY`/`VTEX_APP_TOKEN` for local use), the DynamoDB catalog and its sync
//! state, the SQS queue ports (DLQ + visibility, follow-ups), then the runtime loop over SQS
//! batches. Credentials are never logged.

use aws_adapters::catalog_queue::SqsFollowUps;
use aws_adapters::dispatch_queue::SqsDispatchQueue;
use aws_adapters::dynamo::{DynamoCatalog, DynamoSyncStates};
use aws_lambda_events::sqs::SqsEvent;
use catalog_sync::{Config, Deps, Notifier, Resources, credentials, handle};
use domain::clock::SystemClock;
use lambda_kit::config::Vars;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use std::sync::Arc;
use vtex::catalog::CatalogClient;
use vtex::ports::Notificator;

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
    let vtex = CatalogClient::new(
        &config.endpoints(),
        credentials::from_env().await?,
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
            vtex: Arc::new(Notificator {
                client: vtex,
                suggestion: config.suggestion_settings(),
            }),
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
