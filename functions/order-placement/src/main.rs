//! Composition root of the order-placement Lambda: configuration, the DynamoDB catalog and order
//! store, the SQS queue of ERP events, then the runtime loop. The handler lives in the library so
//! the local runner and the tests share it.

use aws_adapters::{OrderPorts, secrets};
use lambda_http::{Error, Request, run, service_fn};
use lambda_kit::auth::RequestAuth;
use lambda_kit::config::{OrderTables, Vars};
use order_placement::{Config, handle};
use std::convert::Infallible;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::telemetry::init();
    let vars = Vars::env();
    let mut config = Config::from_vars(&vars)?;
    let t: OrderTables = vars.load()?;
    let sdk = aws_adapters::sdk_config().await;
    let arn = config.auth_secret_arn.clone();
    config.auth = secrets::inbound_auth(&sdk, arn.as_deref(), config.auth).await?;
    let ports = OrderPorts::new(
        &sdk,
        t.catalog_table,
        t.orders_table,
        t.order_events_queue_url,
    );
    let deps = Arc::new(ports.deps(config));
    // A call for a marketplace account this stack does not serve is refused before it reserves
    // or changes anything (lambda_kit::marketplaces).
    let marketplaces = lambda_kit::config::Marketplaces::from_vars(&vars)?;
    let registry = aws_adapters::marketplaces::cached_registry(
        &sdk,
        marketplaces.table,
        marketplaces.builtin,
        marketplaces.cache_ttl,
    );
    let default_an = vars.get("DEFAULT_AN").map(str::to_string);
    run(service_fn(move |req: Request| {
        let (deps, registry, default_an) =
            (Arc::clone(&deps), Arc::clone(&registry), default_an.clone());
        async move {
            // Only an authenticated caller learns which accounts are served; the handler
            // answers the others 401.
            if deps.config.auth.check(&req).is_ok()
                && let Some(refusal) = lambda_kit::marketplaces::refuse_unregistered(
                    registry.as_ref(),
                    &default_an,
                    &req,
                )
                .await
            {
                return Ok::<_, Infallible>(refusal);
            }
            Ok::<_, Infallible>(handle(&deps, req).await)
        }
    }))
    .await
}
