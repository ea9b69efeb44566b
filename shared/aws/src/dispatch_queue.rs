//! SQS adapter of [`DispatchQueue`] (the ERP → VTEX dispatch queue, FIFO, with its DLQ), and the
//! re-drive loop that moves parked messages back after an outage or a fix.

use crate::sqs_common::{sqs_error, text_attribute};
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use domain::erp::{DispatchQueue, QueuedMessage};
use domain::ports::StoreError;
use std::hash::{Hash, Hasher};
use std::time::Duration;

/// SQS caps a visibility timeout at 12 hours.
const MAX_VISIBILITY_SECS: u64 = 12 * 60 * 60;
/// Message attribute values are kept short: they are for the operator's eye.
const MAX_REASON_CHARS: usize = 1000;
/// Group for messages that arrived without one (a standard queue feeding a FIFO DLQ).
const FALLBACK_GROUP: &str = "dispatch";

#[derive(Debug, Clone)]
pub struct SqsDispatchQueue {
    client: Client,
    queue_url: String,
    dlq_url: String,
}

impl SqsDispatchQueue {
    pub fn new(client: Client, queue_url: impl Into<String>, dlq_url: impl Into<String>) -> Self {
        SqsDispatchQueue {
            client,
            queue_url: queue_url.into(),
            dlq_url: dlq_url.into(),
        }
    }
}

/// A de-duplication id unique per delivery: a crash between the DLQ send and the delete sends
/// again on the next delivery (harmless: a re-driven duplicate is a no-op), while a retried send
/// within one delivery is dropped by SQS. ≤ 128 characters.
fn dedup_id(message: &QueuedMessage<'_>) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    message.receipt_handle.hash(&mut h);
    let id: String = message.message_id.chars().take(100).collect();
    format!("{id}-{:016x}", h.finish())
}

#[async_trait]
impl DispatchQueue for SqsDispatchQueue {
    async fn dead_letter(
        &self,
        message: &QueuedMessage<'_>,
        code: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let reason: String = reason.chars().take(MAX_REASON_CHARS).collect();
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.dlq_url)
            .message_body(message.body)
            .message_attributes("reason", text_attribute(&reason)?)
            .message_attributes("reasonCode", text_attribute(code)?)
            .message_attributes("sourceMessageId", text_attribute(message.message_id)?);
        if self.dlq_url.ends_with(".fifo") {
            send = send
                .message_group_id(message.group_id.unwrap_or(FALLBACK_GROUP))
                .message_deduplication_id(dedup_id(message));
        }
        send.send()
            .await
            .map_err(|e| sqs_error("SendMessage (DLQ)", e))?;
        Ok(())
    }

    async fn retry_later(&self, receipt_handle: &str, delay: Duration) -> Result<(), StoreError> {
        let secs = delay.as_secs().min(MAX_VISIBILITY_SECS);
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(i32::try_from(secs).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| sqs_error("ChangeMessageVisibility", e))?;
        Ok(())
    }
}

/// Moves up to `max` messages (all when `None`) from `dlq_url` back to `queue_url`, keeping each
/// body and message group, oldest first as SQS hands them out. Receive → Send → Delete, so a crash
/// mid-way at worst sends a message twice (a no-op for the dispatcher). Returns how many moved.
///
/// SQS's own `StartMessageMoveTask` does the same in production consoles; this loop works
/// everywhere, moto included.
pub async fn redrive(
    client: &Client,
    dlq_url: &str,
    queue_url: &str,
    max: Option<usize>,
) -> Result<usize, StoreError> {
    let fifo = queue_url.ends_with(".fifo");
    let mut moved = 0usize;
    loop {
        let want = max.map_or(10, |m| m.saturating_sub(moved).min(10));
        if want == 0 {
            break;
        }
        let out = client
            .receive_message()
            .queue_url(dlq_url)
            .max_number_of_messages(i32::try_from(want).unwrap_or(10))
            .wait_time_seconds(0)
            .visibility_timeout(60)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .send()
            .await
            .map_err(|e| sqs_error("ReceiveMessage (DLQ)", e))?;
        let messages = out.messages();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            let (Some(id), Some(handle)) = (m.message_id(), m.receipt_handle()) else {
                continue;
            };
            let mut send = client
                .send_message()
                .queue_url(queue_url)
                .message_body(m.body().unwrap_or_default());
            if fifo {
                let group = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                    .map(String::as_str)
                    .unwrap_or(FALLBACK_GROUP);
                // The DLQ message id is new for every parking, so it de-duplicates one move only.
                send = send
                    .message_group_id(group)
                    .message_deduplication_id(format!("redrive-{id}"));
            }
            send.send()
                .await
                .map_err(|e| sqs_error("SendMessage (redrive)", e))?;
            client
                .delete_message()
                .queue_url(dlq_url)
                .receipt_handle(handle)
                .send()
                .await
                .map_err(|e| sqs_error("DeleteMessage (DLQ)", e))?;
            moved += 1;
        }
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_ids_fit_sqs_and_differ_per_delivery() {
        let long = "x".repeat(300);
        let a = QueuedMessage {
            message_id: "m1",
            receipt_handle: &long,
            body: "{}",
            group_id: None,
        };
        let b = QueuedMessage {
            receipt_handle: "other",
            ..a
        };
        assert!(dedup_id(&a).len() <= 128);
        assert_ne!(dedup_id(&a), dedup_id(&b));
        assert_eq!(dedup_id(&a), dedup_id(&a));
    }
}
