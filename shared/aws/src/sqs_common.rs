//! What the SQS adapters share: error mapping, message attributes, and publishing typed events
//! to a queue the ERP reads.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::MessageAttributeValue;
use domain::ports::StoreError;

/// SQS caps `DelaySeconds` at 15 minutes.
pub(crate) const MAX_DELAY_SECS: u64 = 15 * 60;

/// A failed SQS call `op`, with the SDK's whole error chain.
pub(crate) fn sqs_error(op: &str, e: impl std::error::Error + 'static) -> StoreError {
    StoreError::Unavailable(format!("SQS {op}: {}", DisplayErrorContext(&e)))
}

/// A `String` message attribute.
pub(crate) fn text_attribute(value: &str) -> Result<MessageAttributeValue, StoreError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| StoreError::Unavailable(format!("SQS request could not be built: {e}")))
}

/// A queue of typed JSON events: each message carries its kind in a `type` message attribute. On
/// a FIFO queue (URL ending in `.fifo`) each also gets a message group, so one entity's events
/// arrive in order, and a de-duplication id, so a retried publish is dropped by SQS.
#[derive(Debug, Clone)]
pub(crate) struct EventQueue {
    client: Client,
    queue_url: String,
    fifo: bool,
}

impl EventQueue {
    pub(crate) fn new(client: Client, queue_url: String) -> Self {
        EventQueue {
            fifo: queue_url.ends_with(".fifo"),
            client,
            queue_url,
        }
    }

    pub(crate) fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// Sends `body` of kind `kind`; `group_id` and `dedup_id` apply on a FIFO queue only. `op`
    /// names the call in errors.
    pub(crate) async fn send(
        &self,
        op: &str,
        body: String,
        kind: &str,
        group_id: &str,
        dedup_id: &str,
    ) -> Result<(), StoreError> {
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_attributes("type", text_attribute(kind)?);
        if self.fifo {
            send = send
                .message_group_id(group_id)
                .message_deduplication_id(dedup_id);
        }
        send.send().await.map_err(|e| sqs_error(op, e))?;
        Ok(())
    }
}
