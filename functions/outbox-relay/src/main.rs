//! Composition root of the outbox relay (the outbox table's stream and an EventBridge schedule):
//! configuration, the outbox table (`OUTBOX_TABLE`), the ERP queue (`ORDER_EVENTS_QUEUE_URL`), then
//! the runtime loop.

use aws_adapters::outbox::DynamoOutbox;
use aws_adapters::sqs::SqsOrderEvents;
use domain::clock::SystemClock;
use domain::outbox::OutboxRelay;
use lambda_kit::config::{ConfigError, Vars};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use outbox_relay::{Config, Deps, handle};
use serde_json::Value;
use std::sync::Arc;

fn required(vars: &Vars, key: &str) -> Result<String, ConfigError> {
    vars.get(key)
        .map(str::to_string)
        .ok_or_else(|| ConfigError(format!("{key} is not set")))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::telemetry::init();
    let vars = Vars::env();
    let config = Config::from_vars(&vars)?;
    let table = required(&vars, "OUTBOX_TABLE")?;
    let queue_url = required(&vars, "ORDER_EVENTS_QUEUE_URL")?;
    let sdk = aws_adapters::sdk_config().await;
    let relay = OutboxRelay::new(
        Arc::new(DynamoOutbox::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            table,
        )),
        Arc::new(SqsOrderEvents::new(
            aws_sdk_sqs::Client::new(&sdk),
            queue_url,
        )),
        Arc::new(SystemClock),
    );
    let deps = Arc::new(Deps { relay, config });
    run(service_fn(move |event: LambdaEvent<Value>| {
        let deps = Arc::clone(&deps);
        async move {
            handle(&deps, event.payload)
                .await
                .map_err(|e| Error::from(e.to_string()))
        }
    }))
    .await
}
