//! Composition root of the fulfillment Lambda (fulfill, marketplace cancel, operator view):
//! configuration, the DynamoDB catalog and order store, the invoice records (`INVOICES_TABLE`),
//! the outbox table its saves write ERP events to (`OUTBOX_TABLE`), then the runtime loop. The
//! handler lives in the library so the local runner and the tests share it.

use aws_adapters::invoices::DynamoInvoices;
use aws_adapters::{OrderPorts, secrets};
use fulfillment::{Config, handle};
use lambda_http::{Error, Request, run, service_fn};
use lambda_kit::auth::RequestAuth;
use lambda_kit::config::{OrderTables, Vars};
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
    let mut ports = OrderPorts::new(
        &sdk,
        t.catalog_table,
        t.orders_table,
        t.order_events_queue_url,
    );
    // The ERP events this function's saves owe go to the outbox in the same transaction; the
    // outbox relay delivers them.
    let outbox = vars
        .get("OUTBOX_TABLE")
        .ok_or_else(|| lambda_kit::config::ConfigError("OUTBOX_TABLE is not set".into()))?;
    ports.orders = Arc::new(ports.orders.as_ref().clone().with_outbox(outbox));
    let mut deps = ports.deps(config);
    // The dispatcher's invoice records (read only): a marketplace cancel is not confirmed while a
    // sale invoice is in flight. Without INVOICES_TABLE the cancel decides on the order alone.
    if let Some(table) = vars.get("INVOICES_TABLE") {
        deps = deps.with_invoices(Arc::new(DynamoInvoices::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            table,
        )));
    }
    let deps = Arc::new(deps);
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
