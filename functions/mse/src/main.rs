//! Composition root of the mse Lambda: inbound authentication (Secrets Manager), the imports table
//! (import lookup + notification bookkeeping), the order log, the ERP's order-events queue, then
//! the runtime loop. The handler lives in the library so the local runner and the tests share it.

use aws_adapters::dynamo::DynamoOrders;
use aws_adapters::imports::{DynamoImports, SqsImportEvents};
use domain::clock::SystemClock;
use lambda_http::{Error, Request, run, service_fn};
use mse::{Config, Deps, handle};
use std::convert::Infallible;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::telemetry::init();
    let mut config = Config::from_env()?;
    let imports_table = aws_adapters::required_env("IMPORTS_TABLE")?;
    let orders_table = aws_adapters::required_env("ORDERS_TABLE")?;
    let catalog_table = aws_adapters::required_env("CATALOG_TABLE")?;
    let events_url = aws_adapters::required_env("ORDER_EVENTS_QUEUE_URL")?;
    let sdk = aws_adapters::sdk_config().await;
    config.auth = aws_adapters::secrets::inbound_auth(&sdk).await?;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let imports = Arc::new(DynamoImports::new(dynamo.clone(), imports_table));
    let deps = Arc::new(Deps {
        imports: imports.clone(),
        notifications: imports,
        events: Arc::new(SqsImportEvents::new(
            aws_sdk_sqs::Client::new(&sdk),
            events_url,
        )),
        log: Arc::new(DynamoOrders::new(dynamo, orders_table, catalog_table)),
        clock: Arc::new(SystemClock),
        config,
    });
    run(service_fn(move |req: Request| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Infallible>(handle(&deps, req).await) }
    }))
    .await
}
