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
    let done: Vec<String> = messages
        .iter()
        .filter(|m| !failed.contains(m.message_id.as_str()))
        .map(|m| m.receipt_handle.clone())
        .collect();
    // One transaction for the batch, as the mapping's DeleteMessageBatch.
    queue.delete_batch(&done).await?;
    Ok(BatchReport {
        received: messages.len(),
        deleted: done.len(),
        retried: messages.len() - done.len(),
    })
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

impl std::ops::AddAssign for BatchReport {
    fn add_assign(&mut self, other: BatchReport) {
        self.received += other.received;
        self.deleted += other.deleted;
        self.retried += other.retried;
    }
}

/// Polls as an SQS event-source mapping does: after a full batch (`max` messages) it receives
/// again at once, and stops at the first batch that is not full (the caller waits for its next
/// poll), or that deleted nothing (a batch that only failed would otherwise spin on messages
/// its worker made visible again at once). Returns what all the batches did together.
pub async fn poll_while_full<F, Fut>(
    queue: &LocalQueue,
    max: usize,
    visibility: Duration,
    handler: F,
) -> Result<BatchReport, StoreError>
where
    F: Fn(SqsEvent) -> Fut,
    Fut: Future<Output = SqsBatchResponse>,
{
    let mut total = BatchReport::default();
    loop {
        let report = poll_once(queue, max, visibility, &handler).await?;
        total += report;
        if report.received < max.max(1) || report.deleted == 0 {
            return Ok(total);
        }
    }
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
    async fn a_full_batch_is_followed_at_once_by_the_next_in_group_order() {
        let store = EmbeddedStore::open_in_memory().unwrap();
        let queue = store.queue("work");
        for i in 0..25 {
            queue.send(&i.to_string(), Some("sku"), None).await.unwrap();
        }
        let seen = std::sync::Mutex::new(Vec::<Vec<u32>>::new());
        let report = poll_while_full(&queue, 10, Duration::from_secs(60), |event: SqsEvent| {
            let bodies = event
                .records
                .iter()
                .filter_map(Delivery::of)
                .map(|d| d.body.parse().unwrap())
                .collect();
            seen.lock().unwrap().push(bodies);
            async { SqsBatchResponse::default() }
        })
        .await
        .unwrap();
        let batches = seen.into_inner().unwrap();
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            [10, 10, 5]
        );
        assert_eq!(batches.concat(), (0..25).collect::<Vec<u32>>());
        assert_eq!((report.received, report.deleted), (25, 25));
        assert!(queue.is_empty().await.unwrap());
    }

    #[tokio::test]
    async fn a_full_batch_that_only_failed_ends_the_poll() {
        let store = EmbeddedStore::open_in_memory().unwrap();
        let queue = store.queue("work");
        for i in 0..10 {
            queue.send(&i.to_string(), None, None).await.unwrap();
        }
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let report = poll_while_full(&queue, 10, Duration::ZERO, |event: SqsEvent| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut response = SqsBatchResponse::default();
            let deliveries: Vec<Delivery<'_>> =
                event.records.iter().filter_map(Delivery::of).collect();
            response.set_failures(deliveries.iter().map(|d| d.message_id));
            async { response }
        })
        .await
        .unwrap();
        assert_eq!(calls.into_inner(), 1);
        assert_eq!((report.received, report.retried), (10, 10));
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
