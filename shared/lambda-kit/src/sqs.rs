//! Glue every SQS worker shares (dispatch, catalog sync, order import): reading a record of the
//! event-source mapping, the back-off of retried messages, and acting on the queue once a
//! message's fate is decided. The batch response is `aws_lambda_events`' own
//! (`SqsBatchResponse::add_failure`).

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use domain::erp::{DispatchQueue, QueuedMessage};
use std::collections::HashMap;
use std::time::Duration;

pub use domain::worker::{Backoff, Disposition};

/// One delivery of one message.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub message_id: &'a str,
    pub receipt_handle: &'a str,
    pub body: &'a str,
    pub group_id: Option<&'a str>,
    /// SQS `ApproximateReceiveCount`, this delivery included.
    pub receive_count: u32,
}

impl<'a> Delivery<'a> {
    /// The delivery a record of the event-source mapping carries; `None` without a message id or
    /// receipt handle (nothing could be done with it).
    pub fn of(record: &'a SqsMessage) -> Option<Self> {
        Some(Delivery {
            message_id: record.message_id.as_deref()?,
            receipt_handle: record.receipt_handle.as_deref()?,
            body: record.body.as_deref().unwrap_or(""),
            group_id: record.attributes.get("MessageGroupId").map(String::as_str),
            receive_count: record
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1),
        })
    }

    /// The delivery as a workflow sees it.
    pub fn attempt(&self) -> domain::worker::Attempt<'a> {
        domain::worker::Attempt {
            message_id: self.message_id,
            receive_count: self.receive_count,
        }
    }

    /// The message as the queue port knows it.
    pub fn queued(&self) -> QueuedMessage<'a> {
        QueuedMessage {
            message_id: self.message_id,
            receipt_handle: self.receipt_handle,
            body: self.body,
            group_id: self.group_id,
        }
    }
}

/// An SQS record as the event-source mapping would hand it over (for the local runner and tests
/// that play the mapping).
pub fn sqs_message(
    message_id: &str,
    receipt_handle: &str,
    body: &str,
    group_id: Option<&str>,
    receive_count: u32,
) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(message_id.to_string());
    m.receipt_handle = Some(receipt_handle.to_string());
    m.body = Some(body.to_string());
    m.attributes
        .insert("ApproximateReceiveCount".into(), receive_count.to_string());
    if let Some(g) = group_id {
        m.attributes.insert("MessageGroupId".into(), g.to_string());
    }
    m.event_source = Some("aws:sqs".into());
    m
}

/// An SQS event holding `records`.
pub fn sqs_event(records: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = records;
    e
}

/// Acts on `queue` for one decided delivery: `None` when the message may be deleted,
/// `Some(delay)` when it comes back after `delay`. A dead letter the DLQ refuses comes back after
/// the `backoff`.
///
/// Emits `DlqArrivals` / `Retries` (EMF, dimension `Function` = `function`) for the alarms and
/// dashboards.
pub async fn settle(
    function: &str,
    queue: &dyn DispatchQueue,
    backoff: &Backoff,
    d: &Delivery<'_>,
    disposition: Disposition,
) -> Option<Duration> {
    let retry = |after: Duration| async move {
        if let Err(e) = queue.retry_later(d.receipt_handle, after).await {
            // The message still comes back after the queue's visibility timeout.
            tracing::warn!(message_id = d.message_id, error = %e, "could not set the back-off");
        }
        Some(after)
    };
    match disposition {
        Disposition::Done => None,
        Disposition::Retry { after } => {
            crate::metrics::emit_for(function, &[("Retries", 1.0, crate::metrics::Unit::Count)]);
            retry(after).await
        }
        Disposition::DeadLetter { code, reason } => {
            // The reason goes to CloudWatch and into the DLQ message's `reason` attribute: whatever
            // produced it (a parser quoting what it read, VTEX quoting a document), no value it
            // quotes and no long number survives (`domain::wire_error::without_values`).
            let reason = domain::wire_error::without_values(&reason);
            tracing::warn!(
                message_id = d.message_id,
                code,
                reason,
                "message parked in the DLQ"
            );
            match queue.dead_letter(&d.queued(), &code, &reason).await {
                Ok(()) => {
                    crate::metrics::emit_for(
                        function,
                        &[("DlqArrivals", 1.0, crate::metrics::Unit::Count)],
                    );
                    None
                }
                Err(e) => {
                    tracing::error!(message_id = d.message_id, error = %e, "DLQ send failed; retrying");
                    retry(backoff.delay(d.receive_count, None)).await
                }
            }
        }
    }
}

/// The batch's deliveries, in order; a record without a message id or receipt handle is logged and
/// skipped (nothing could be done with it).
pub fn deliveries(event: &SqsEvent) -> Vec<Delivery<'_>> {
    event
        .records
        .iter()
        .filter_map(|r| {
            let d = Delivery::of(r);
            if d.is_none() {
                tracing::error!("SQS record without messageId or receiptHandle: skipped");
            }
            d
        })
        .collect()
}

/// The response to a batch decided as a whole: each delivery with its outcome is [`settle`]d, and
/// one without (`None`: left behind a failed message of its group) comes back as it is.
pub async fn settle_all(
    function: &str,
    queue: &dyn DispatchQueue,
    backoff: &Backoff,
    deliveries: &[Delivery<'_>],
    outcomes: Vec<Option<Disposition>>,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for (d, outcome) in deliveries.iter().zip(outcomes) {
        let comes_back = match outcome {
            None => true,
            Some(disposition) => settle(function, queue, backoff, d, disposition)
                .await
                .is_some(),
        };
        if comes_back {
            response.add_failure(d.message_id);
        }
    }
    response
}

/// A worker's batch, one record after the other: `process` decides each delivery, [`settle`] acts
/// on it, and the response reports what must come back. A record without a message id or receipt
/// handle is logged and skipped.
///
/// With `keep_group_order` (a FIFO queue), once a message of a group fails, the group's later
/// messages in the batch are reported failed without being processed, so the group keeps its
/// order; they come back with their predecessor (its delay), not after the queue's full
/// visibility timeout.
pub async fn process_batch<'a, F, Fut>(
    function: &str,
    queue: &dyn DispatchQueue,
    backoff: &Backoff,
    event: &'a SqsEvent,
    keep_group_order: bool,
    mut process: F,
) -> SqsBatchResponse
where
    F: FnMut(Delivery<'a>) -> Fut,
    Fut: Future<Output = Disposition>,
{
    let mut response = SqsBatchResponse::default();
    // Groups with a failed message in this batch, and when that message comes back.
    let mut blocked: HashMap<String, Duration> = HashMap::new();
    for record in &event.records {
        let Some(delivery) = Delivery::of(record) else {
            tracing::error!("SQS record without messageId or receiptHandle: skipped");
            continue;
        };
        if let Some(delay) = delivery.group_id.and_then(|g| blocked.get(g)) {
            if let Err(e) = queue.retry_later(delivery.receipt_handle, *delay).await {
                tracing::warn!(message_id = delivery.message_id, error = %e, "could not set the back-off");
            }
            response.add_failure(delivery.message_id);
            continue;
        }
        let disposition = process(delivery).await;
        if let Some(delay) = settle(function, queue, backoff, &delivery, disposition).await {
            response.add_failure(delivery.message_id);
            if let Some(g) = delivery.group_id.filter(|_| keep_group_order) {
                blocked.insert(g.to_string(), delay);
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_the_mapping_read_back_as_deliveries() {
        let m = sqs_message("m1", "h1", "{}", Some("g1"), 3);
        let d = Delivery::of(&m).unwrap();
        assert_eq!(
            (
                d.message_id,
                d.receipt_handle,
                d.body,
                d.group_id,
                d.receive_count
            ),
            ("m1", "h1", "{}", Some("g1"), 3)
        );
        let mut bare = SqsMessage::default();
        bare.message_id = Some("m2".into());
        bare.receipt_handle = Some("h2".into());
        let d = Delivery::of(&bare).unwrap();
        assert_eq!((d.body, d.group_id, d.receive_count), ("", None, 1));
        bare.receipt_handle = None;
        assert!(Delivery::of(&bare).is_none());
    }

    struct Parking(std::sync::Mutex<Vec<(String, String)>>);

    #[async_trait::async_trait]
    impl DispatchQueue for Parking {
        async fn dead_letter(
            &self,
            _message: &QueuedMessage<'_>,
            code: &str,
            reason: &str,
        ) -> Result<(), domain::ports::StoreError> {
            self.0.lock().unwrap().push((code.into(), reason.into()));
            Ok(())
        }
        async fn retry_later(
            &self,
            _receipt_handle: &str,
            _delay: Duration,
        ) -> Result<(), domain::ports::StoreError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_parked_message_s_reason_quotes_no_value_in_the_dlq_or_the_logs() {
        let queue = Parking(Default::default());
        let m = sqs_message("m1", "h1", "{}", None, 1);
        let d = Delivery::of(&m).unwrap();
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let sink = buf.clone();
        let subscriber = crate::telemetry::json_subscriber("trace", move || Sink(sink.clone()));
        let _guard = tracing::subscriber::set_default(subscriber);
        let reason = "importOrder message is invalid: order.clientProfileData.document: invalid \
                      type: integer `14310315771`, expected a string; phone 41998718616";
        let out = settle(
            "order_import",
            &queue,
            &domain::worker::Backoff {
                base: Duration::from_secs(1),
                max: Duration::from_secs(1),
            },
            &d,
            domain::worker::Disposition::dead("INVALID_MESSAGE", reason),
        )
        .await;
        assert_eq!(out, None);
        let parked = queue.0.lock().unwrap().clone();
        assert_eq!(parked.len(), 1);
        let logs = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        for text in [&parked[0].1, &logs] {
            assert!(
                !text.contains("14310315771") && !text.contains("41998718616"),
                "{text}"
            );
            assert!(text.contains("order.clientProfileData.document"), "{text}");
        }
    }

    #[derive(Clone)]
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
