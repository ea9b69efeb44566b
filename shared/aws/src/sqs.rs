//! SQS adapter of `OrderEvents`: the queue the seller's ERP reads.

use crate::sqs_common::EventQueue;
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use domain::ports::{OrderEvent, OrderEventKind, OrderEvents, StoreError};

/// Publishes each event as a JSON message body with a `type` message attribute. On a FIFO queue
/// (URL ending in `.fifo`) the order id is the `MessageGroupId`, so one order's events arrive in
/// order, and the event id is the `MessageDeduplicationId`, so a retried publish is dropped by SQS.
#[derive(Debug, Clone)]
pub struct SqsOrderEvents {
    queue: EventQueue,
}

impl SqsOrderEvents {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        SqsOrderEvents {
            queue: EventQueue::new(client, queue_url.into()),
        }
    }

    pub fn queue_url(&self) -> &str {
        self.queue.queue_url()
    }
}

fn kind_name(kind: OrderEventKind) -> &'static str {
    match kind {
        OrderEventKind::Authorized => "order.authorized",
        OrderEventKind::Canceled => "order.canceled",
        OrderEventKind::Expired => "order.expired",
    }
}

#[async_trait]
impl OrderEvents for SqsOrderEvents {
    async fn publish(&self, event: &OrderEvent) -> Result<(), StoreError> {
        let body = serde_json::to_string(event)
            .map_err(|e| StoreError::Corrupt(format!("order event cannot be serialized: {e}")))?;
        self.queue
            .send(
                "SendMessage",
                body,
                kind_name(event.kind),
                &event.order_id,
                &event.event_id,
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_attribute_matches_the_serialized_type() {
        for kind in [
            OrderEventKind::Authorized,
            OrderEventKind::Canceled,
            OrderEventKind::Expired,
        ] {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind_name(kind).into())
            );
        }
    }
}
