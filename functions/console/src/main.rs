//! Composition root of the console Lambda: configuration, the DynamoDB order listing, order store
//! and invoices, the SQS dead-letter queues, then the runtime loop. The handler lives in the
//! library so the tests feed it the sample events.

use console::{Config, handle};
use lambda_http::{Error, Request, run, service_fn};
use lambda_kit::config::Vars;
use std::convert::Infallible;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::telemetry::init();
    let config = Config::from_vars(&Vars::env())?;
    let sdk = aws_adapters::sdk_config().await;
    let router = console_ui::router(Arc::new(config.console(
        aws_sdk_dynamodb::Client::new(&sdk),
        aws_sdk_sqs::Client::new(&sdk),
    )));
    let base: Arc<str> = config.console_base_path.clone().into();
    run(service_fn(move |req: Request| {
        let (router, base) = (router.clone(), Arc::clone(&base));
        async move { Ok::<_, Infallible>(handle(&router, &base, req).await) }
    }))
    .await
}
