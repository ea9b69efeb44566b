//! SQS adapter of `OrderEvents`: the queue the seller's ERP reads.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::MessageAttributeValue;
use domain::ports::{OrderEvent, OrderEventKind, OrderEvents, StoreError};

/// Publishes each event as a JSON message body with a `type` message attribute. On a FIFO queue
/// (URL ending in `.fifo`) the order id is the `MessageGroupId`, so one order's events arrive in
/// order, and the event id is the `MessageDeduplicationId`, so a retried publish is dropped by SQS.
#[derive(Debug, Clone)]
pub struct SqsOrderEvents {
    client: Client,
    queue_url: String,
    fifo: bool,
}

impl SqsOrderEvents {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        let queue_url = queue_url.into();
        SqsOrderEvents {
            fifo: queue_url.ends_with(".fifo"),
            client,
            queue_url,
        }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
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
        let kind = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(kind_name(event.kind))
            .build()
            .map_err(|e| StoreError::Unavailable(format!("SQS request could not be built: {e}")))?;
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_attributes("type", kind);
        if self.fifo {
            send = send
                .message_group_id(&event.order_id)
                .message_deduplication_id(&event.event_id);
        }
        send.send().await.map_err(|e| {
            StoreError::Unavailable(format!("SQS SendMessage: {}", DisplayErrorContext(&e)))
        })?;
        Ok(())
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
