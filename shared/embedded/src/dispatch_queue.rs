//! [`DispatchQueue`] for the [`LocalQueue`] the local runner uses in place of SQS.

use crate::LocalQueue;
use async_trait::async_trait;
use domain::erp::{DispatchQueue, QueuedMessage};
use domain::ports::StoreError;
use std::time::Duration;

#[async_trait]
impl DispatchQueue for LocalQueue {
    /// Sends the body unchanged to [`LocalQueue::dlq`] (re-drivable with [`LocalQueue::redrive`]).
    /// The reason is kept beside it for the console ([`crate::listing`]).
    async fn dead_letter(
        &self,
        message: &QueuedMessage<'_>,
        code: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        tracing::warn!(
            message_id = message.message_id,
            code,
            reason,
            "parked in the DLQ"
        );
        let parked = self
            .dlq()
            .send(message.body, message.group_id, None)
            .await?;
        // The console shows why (the local queue has no message attributes).
        crate::listing::note_parked(self.store(), &parked, code, reason).await
    }

    async fn retry_later(&self, receipt_handle: &str, delay: Duration) -> Result<(), StoreError> {
        // A stale handle means the message was already redelivered or deleted: nothing to delay.
        self.change_visibility(receipt_handle, delay).await?;
        Ok(())
    }
}
