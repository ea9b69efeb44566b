//! Composition root of the order-placement Lambda: configuration, the DynamoDB catalog and order
//! store, the SQS queue of ERP events, then the runtime loop. The handler lives in the library so
//! the local runner and the tests share it.

use aws_adapters::{OrderPorts, secrets};
use lambda_http::{Error, Request, run, service_fn};
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
    run(service_fn(move |req: Request| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Infallible>(handle(&deps, req).await) }
    }))
    .await
}
