//! Playing what AWS does around an SQS worker, against moto: the Lambda event-source mapping
//! (ReceiveMessage → SqsEvent → the handler → DeleteMessage of what `batchItemFailures` does not
//! list), and reading queues the way a test checks them.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use lambda_kit::sqs::{sqs_event, sqs_message};
use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, Instant};

/// One event-source-mapping poll of `queue_url`: receive up to 10 messages (hidden for
/// `visibility` seconds, else for the queue's visibility timeout), hand them to `handler` as one
/// SQS event, delete what the response does not list as failed. Returns how many were received;
/// the handler is not called when there were none.
pub async fn poll_once<F, Fut>(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    visibility: Option<i32>,
    handler: F,
) -> usize
where
    F: FnOnce(SqsEvent) -> Fut,
    Fut: Future<Output = SqsBatchResponse>,
{
    let out = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(0)
        .set_visibility_timeout(visibility)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let messages = out.messages();
    if messages.is_empty() {
        return 0;
    }
    let records = messages
        .iter()
        .map(|m| {
            let attr =
                |k: MessageSystemAttributeName| m.attributes().and_then(|a| a.get(&k)).cloned();
            sqs_message(
                m.message_id().unwrap(),
                m.receipt_handle().unwrap(),
                m.body().unwrap_or_default(),
                attr(MessageSystemAttributeName::MessageGroupId).as_deref(),
                attr(MessageSystemAttributeName::ApproximateReceiveCount)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1),
            )
        })
        .collect();
    let failed: HashSet<String> = handler(sqs_event(records))
        .await
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    for m in messages {
        if !failed.contains(m.message_id().unwrap()) {
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    messages.len()
}

/// Messages in the queue: visible, in flight and delayed.
pub async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> usize {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = out.attributes().cloned().unwrap_or_default();
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        QueueAttributeName::ApproximateNumberOfMessagesDelayed,
    ]
    .iter()
    .map(|k| {
        attrs
            .get(k)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
    })
    .sum()
}

/// Reads and deletes everything in the DLQ (message attributes included); panics when it does
/// not empty within 30 s.
pub async fn drain_dlq(sqs: &aws_sdk_sqs::Client, dlq_url: &str) -> Vec<Message> {
    let mut all = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while depth(sqs, dlq_url).await > 0 {
        assert!(Instant::now() < deadline, "DLQ never drained");
        let out = sqs
            .receive_message()
            .queue_url(dlq_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            all.push(m.clone());
            sqs.delete_message()
                .queue_url(dlq_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    all
}

/// The string message attribute `name` (a DLQ message's `reasonCode`, `reason`, …).
pub fn message_attribute(m: &Message, name: &str) -> Option<String> {
    m.message_attributes()
        .and_then(|a| a.get(name))
        .and_then(|v| v.string_value())
        .map(str::to_string)
}
