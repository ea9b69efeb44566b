//! Composition root of the reservation sweeper (run by an EventBridge schedule): configuration,
//! the DynamoDB order store with the outbox table its expiries write `order.expired` to
//! (`OUTBOX_TABLE`), then the runtime loop.

use aws_adapters::OrderPorts;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_kit::config::{OrderTables, Vars};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use reservation_sweeper::{Config, handle};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::telemetry::init();
    let vars = Vars::env();
    let config = Config::from_vars(&vars)?;
    let t: OrderTables = vars.load()?;
    let sdk = aws_adapters::sdk_config().await;
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
    let deps = Arc::new(ports.deps(config));
    run(service_fn(move |event: LambdaEvent<EventBridgeEvent>| {
        let deps = Arc::clone(&deps);
        async move {
            handle(&deps, event.payload)
                .await
                .map_err(|e| Error::from(e.to_string()))
        }
    }))
    .await
}
