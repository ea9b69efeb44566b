//! Composition root of the mse Lambda: inbound authentication (Secrets Manager), the imports table
//! (import lookup + notification bookkeeping), the order log, the ERP's order-events queue, then
//! the runtime loop. The handler lives in the library so the local runner and the tests share it.

use aws_adapters::dynamo::DynamoOrders;
use aws_adapters::imports::{DynamoImports, SqsImportEvents};
use domain::clock::SystemClock;
use lambda_http::{Error, Request, run, service_fn};
use lambda_kit::config::Vars;
use mse::{Config, Deps, Resources, handle};
use std::convert::Infallible;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::telemetry::init();
    let vars = Vars::env();
    let mut config = Config::from_vars(&vars)?;
    let r: Resources = vars.load()?;
    let sdk = aws_adapters::sdk_config().await;
    let arn = config.auth_secret_arn.clone();
    config.auth = aws_adapters::secrets::inbound_auth(&sdk, arn.as_deref(), config.auth).await?;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let imports = Arc::new(DynamoImports::new(dynamo.clone(), r.imports_table));
    let deps = Arc::new(Deps {
        imports: imports.clone(),
        notifications: imports,
        events: Arc::new(SqsImportEvents::new(
            aws_sdk_sqs::Client::new(&sdk),
            r.order_events_queue_url,
        )),
        log: Arc::new(DynamoOrders::new(dynamo, r.orders_table, r.catalog_table)),
        clock: Arc::new(SystemClock),
        config,
    });
    run(service_fn(move |req: Request| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Infallible>(handle(&deps, req).await) }
    }))
    .await
}
