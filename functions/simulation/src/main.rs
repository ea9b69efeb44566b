//! Composition root of the simulation Lambda: configuration, the DynamoDB catalog, the marketplace
//! registry, then the runtime loop. Everything else lives in the library so the local runner and
//! the tests share it.

use aws_adapters::dynamo::DynamoCatalog;
use domain::clock::SystemClock;
use lambda_http::{Error, Request, run, service_fn};
use simulation::{Config, Deps, handle};
use std::convert::Infallible;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::telemetry::init();
    let vars = lambda_kit::config::Vars::env();
    let mut config = Config::from_vars(&vars)?;
    if config.table_name.is_empty() {
        return Err("CATALOG_TABLE is not set".into());
    }
    let sdk = aws_adapters::sdk_config().await;
    let catalog = DynamoCatalog::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        config.table_name.clone(),
    );
    // Checked by `handle` (inside the request's correlation span), before any store read.
    let arn = config.auth_secret_arn.clone();
    config.auth = aws_adapters::secrets::inbound_auth(&sdk, arn.as_deref(), config.auth).await?;
    let marketplaces = lambda_kit::config::Marketplaces::from_vars(&vars)?;
    let registry = aws_adapters::marketplaces::cached_registry(
        &sdk,
        marketplaces.table,
        marketplaces.builtin,
        marketplaces.cache_ttl,
    );
    // Read while the runtime starts rather than before it (a DynamoDB round trip was most of the
    // cold init): the first simulation waits for this read instead of making its own. A failure
    // is not fatal: the first request reads again (and answers 503 if that fails too).
    let prefetch = registry.clone();
    tokio::spawn(async move {
        if let Err(e) = prefetch.entries().await {
            tracing::warn!(error = %e, "marketplace registry not read at start");
        }
    });
    let deps = Arc::new(
        Deps::new(Arc::new(catalog), Arc::new(SystemClock), config).with_marketplaces(registry),
    );
    run(service_fn(move |req: Request| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Infallible>(handle(&deps, req).await) }
    }))
    .await
}
