//! SQS adapter of [`FollowUpQueue`]: the catalog sync's `notify.due` follow-ups go back on its own
//! queue. On a FIFO queue each follow-up gets its own message group (SKU + kind) and a
//! de-duplication id, so scheduling the same follow-up twice enqueues it once; FIFO queues have
//! no per-message delay, so the follow-up arrives at once and waits (visibility) until due. On a
//! standard queue it is sent with `DelaySeconds` (at most 15 minutes).

use crate::sqs_common::{MAX_DELAY_SECS, sqs_error};
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use domain::catalog_notify::{FollowUpQueue, NotifyDue};
use domain::ports::StoreError;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SqsFollowUps {
    client: Client,
    queue_url: String,
    fifo: bool,
}

impl SqsFollowUps {
    /// `queue_url` is the catalog queue the function consumes.
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        let queue_url = queue_url.into();
        SqsFollowUps {
            fifo: queue_url.ends_with(".fifo"),
            client,
            queue_url,
        }
    }
}

#[async_trait]
impl FollowUpQueue for SqsFollowUps {
    async fn schedule(&self, followup: &NotifyDue, delay: Duration) -> Result<(), StoreError> {
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(followup.to_json());
        if self.fifo {
            send = send
                .message_group_id(followup.group_id())
                .message_deduplication_id(followup.dedup_id());
        } else {
            let secs = delay.as_secs().min(MAX_DELAY_SECS);
            send = send.delay_seconds(i32::try_from(secs).unwrap_or(0));
        }
        send.send()
            .await
            .map_err(|e| sqs_error("SendMessage (follow-up)", e))?;
        Ok(())
    }
}
