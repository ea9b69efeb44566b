//! Composition root of the reconciler (run by an EventBridge schedule): configuration, the
//! marketplace registry (each order is read at its own account with that account's credentials,
//! from Secrets Manager and cached; an unregistered or disabled account's orders are not read),
//! the DynamoDB listing, stores and cursor, then the runtime loop. Each invocation reads until its
//! own deadline less `RECONCILE_MARGIN_SECS`. Credentials are never logged.

use aws_adapters::dynamo::DynamoOrders;
use aws_adapters::dynamo::listing::DynamoListing;
use aws_adapters::dynamo::reconcile::DynamoReconcileProgress;
use aws_adapters::invoices::DynamoInvoices;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use domain::clock::SystemClock;
use lambda_kit::config::{Marketplaces, PLAIN_CREDENTIALS_SECRET, Vars};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use reconciler::{Config, Deps, Resources, Sleep, handle, invocation_deadline};
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
    let marketplaces = Marketplaces::from_vars(&vars)?;
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
        listing: Arc::new(DynamoListing::new(dynamo.clone(), r.orders_table.clone())),
        orders: Arc::new(DynamoOrders::new(
            dynamo.clone(),
            r.orders_table.clone(),
            r.catalog_table,
        )),
        invoices: Arc::new(DynamoInvoices::new(dynamo.clone(), r.invoices_table)),
        oms: Arc::new(vtex),
        progress: Arc::new(DynamoReconcileProgress::new(dynamo, r.orders_table)),
        clock: Arc::new(SystemClock),
        pause: Arc::new(Sleep),
        config,
    });
    run(service_fn(move |event: LambdaEvent<EventBridgeEvent>| {
        let deps = Arc::clone(&deps);
        async move {
            let ends_at = invocation_deadline(event.context.deadline);
            handle(&deps, event.payload, ends_at)
                .await
                .map_err(|e| Error::from(e.to_string()))
        }
    }))
    .await
}
