//! Composition root of the order-import Lambda: configuration, the seller's OWN VTEX account
//! credentials (Secrets Manager `IMPORT_VTEX_CREDENTIALS_SECRET_ARN`, or `VTEX_APP_KEY` /
//! `VTEX_APP_TOKEN` for local use), the marketplace-services endpoint (`IMPORT_MSE_URL`, or
//! `IMPORT_MSE_BASE_URL` + the inbound path secret), the imports table, the order log, the import
//! queue, then the runtime loop over SQS batches. Secrets are never logged.

use aws_adapters::dispatch_queue::SqsDispatchQueue;
use aws_adapters::dynamo::DynamoOrders;
use aws_adapters::imports::{DynamoImports, SqsImportQueue};
use aws_lambda_events::sqs::SqsEvent;
use domain::clock::SystemClock;
use lambda_kit::config::{Inbound, Vars};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use order_import::{Config, Deps, Resources, handle};
use std::sync::Arc;
use vtex::client::{AppCredentials, VtexClient};

/// The seller's own account key: the secret named by `IMPORT_VTEX_CREDENTIALS_SECRET_ARN`, else
/// the two plain variables (local runs).
async fn credentials() -> Result<AppCredentials, String> {
    aws_adapters::secrets::vtex_credentials(
        lambda_kit::config::credential_source(
            &lambda_kit::config::Vars::env(),
            "IMPORT_VTEX_CREDENTIALS_SECRET_ARN",
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
    let mut config = Config::from_vars(&vars)?;
    let r: Resources = vars.load()?;
    let sdk = aws_adapters::sdk_config().await;
    if config.mse_url.is_empty() {
        let base = r
            .import_mse_base_url
            .ok_or("IMPORT_MSE_BASE_URL is not set")?;
        let inbound = Inbound::from_vars(&vars)?;
        let arn = inbound.secret_arn.as_deref();
        let auth = aws_adapters::secrets::inbound_auth(&sdk, arn, inbound.auth).await?;
        let secret = auth.path_secret.ok_or(
            "the inbound auth secret has no pathSecret: VTEX could not reach the mse (set IMPORT_MSE_URL)",
        )?;
        config.mse_url = Config::mse_from_base(&base, secret.expose());
    }
    config.check()?;
    let vtex = VtexClient::with_timeout(
        config.vtex_base_url.clone(),
        credentials().await?,
        config.vtex_timeout,
    )?
    .with_default_account(Some(config.account.clone()));
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let deps = Arc::new(Deps {
        imports: Arc::new(DynamoImports::new(dynamo.clone(), r.imports_table)),
        log: Arc::new(DynamoOrders::new(dynamo, r.orders_table, r.catalog_table)),
        vtex: Arc::new(vtex),
        queue: Arc::new(SqsDispatchQueue::new(
            sqs.clone(),
            &r.import_queue_url,
            r.import_dlq_url,
        )),
        scheduler: Arc::new(SqsImportQueue::new(sqs, r.import_queue_url)),
        clock: Arc::new(SystemClock),
        config,
    });
    run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Error>(handle(&deps, event.payload).await) }
    }))
    .await
}
