//! Composition root of the fulfillment Lambda (fulfill, marketplace cancel, operator view):
//! configuration, the DynamoDB catalog and order store, the SQS queue of ERP events, then the
//! runtime loop. The handler lives in the library so the local runner and the tests share it.

use domain::clock::SystemClock;
use fulfillment::{Config, Deps, handle};
use lambda_http::{Error, Request, run, service_fn};
use std::convert::Infallible;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::telemetry::init();
    let mut config = Config::from_env()?;
    let sdk = aws_adapters::sdk_config().await;
    config.auth = aws_adapters::secrets::inbound_auth(&sdk).await?;
    let ports = aws_adapters::OrderPorts::from_env(&sdk)?;
    let deps = Arc::new(Deps::new(
        ports.orders,
        ports.catalog,
        ports.events,
        Arc::new(SystemClock),
        config,
    ));
    run(service_fn(move |req: Request| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Infallible>(handle(&deps, req).await) }
    }))
    .await
}
