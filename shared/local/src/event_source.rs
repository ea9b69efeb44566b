//! The SQS event-source mapping over the embedded store's [`LocalQueue`], for the local runner:
//! receive → the worker's handler → delete what the batch response does not list as failed.
//!
//! The worker's queue ports must be this same `LocalQueue`, so back-offs, self-scheduled messages
//! and dead letters land where this loop reads.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use domain::ports::StoreError;
use embedded_store::{LocalMessage, LocalQueue};
use lambda_kit::sqs::{sqs_event, sqs_message};
use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub received: usize,
    /// Done (handled, or parked in the DLQ by the worker): deleted.
    pub deleted: usize,
    /// Reported failed by the worker: coming back later.
    pub retried: usize,
}

/// Hands `messages` (received from `queue`) to `handler` as one SQS event and deletes the ones
/// that are done.
pub async fn process_batch<F, Fut>(
    queue: &LocalQueue,
    messages: Vec<LocalMessage>,
    handler: F,
) -> Result<BatchReport, StoreError>
where
    F: FnOnce(SqsEvent) -> Fut,
    Fut: Future<Output = SqsBatchResponse>,
{
    let records = messages
        .iter()
        .map(|m| {
            sqs_message(
                &m.message_id,
                &m.receipt_handle,
                &m.body,
                m.group_id.as_deref(),
                m.receive_count,
            )
        })
        .collect();
    let response = handler(sqs_event(records)).await;
    let failed: HashSet<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    let mut report = BatchReport {
        received: messages.len(),
        ..BatchReport::default()
    };
    for m in &messages {
        if failed.contains(m.message_id.as_str()) {
            report.retried += 1;
        } else {
            queue.delete(&m.receipt_handle).await?;
            report.deleted += 1;
        }
    }
    Ok(report)
}

/// Receives up to `max` messages (hidden for `visibility`) and processes them; the handler is
/// not called when there is nothing to receive.
pub async fn poll_once<F, Fut>(
    queue: &LocalQueue,
    max: usize,
    visibility: Duration,
    handler: F,
) -> Result<BatchReport, StoreError>
where
    F: FnOnce(SqsEvent) -> Fut,
    Fut: Future<Output = SqsBatchResponse>,
{
    let messages = queue.receive(max, visibility).await?;
    if messages.is_empty() {
        return Ok(BatchReport::default());
    }
    process_batch(queue, messages, handler).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_store::EmbeddedStore;
    use lambda_kit::sqs::Delivery;

    #[tokio::test]
    async fn failed_messages_stay_and_the_rest_are_deleted() {
        let store = EmbeddedStore::open_in_memory().unwrap();
        let queue = store.queue("work");
        for (body, group) in [("keep", "g1"), ("done", "g2"), ("keep", "g3")] {
            queue.send(body, Some(group), None).await.unwrap();
        }
        let report = poll_once(&queue, 10, Duration::ZERO, |event: SqsEvent| async move {
            let deliveries: Vec<Delivery<'_>> =
                event.records.iter().filter_map(Delivery::of).collect();
            let groups: Vec<_> = deliveries.iter().map(|d| d.group_id).collect();
            assert_eq!(groups, [Some("g1"), Some("g2"), Some("g3")]);
            assert!(deliveries.iter().all(|d| d.receive_count == 1));
            let mut response = SqsBatchResponse::default();
            response.set_failures(
                deliveries
                    .iter()
                    .filter(|d| d.body == "keep")
                    .map(|d| d.message_id),
            );
            response
        })
        .await
        .unwrap();
        assert_eq!(
            report,
            BatchReport {
                received: 3,
                deleted: 1,
                retried: 2
            }
        );
        let left = queue.receive(10, Duration::from_secs(60)).await.unwrap();
        let bodies: Vec<&str> = left.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(bodies, ["keep", "keep"]);
    }

    #[tokio::test]
    async fn an_empty_queue_does_not_call_the_handler() {
        let store = EmbeddedStore::open_in_memory().unwrap();
        let queue = store.queue("empty");
        let report = poll_once(&queue, 10, Duration::ZERO, |_| async {
            panic!("handler called without messages")
        })
        .await
        .unwrap();
        assert_eq!(report, BatchReport::default());
    }
}
