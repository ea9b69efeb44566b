//! [`domain::reconcile::ReconcileProgress`] on DynamoDB: where the last reconciliation run
//! stopped, one item of the orders table.
//!
//! | item   | `pk`        | `sk`     | other attributes |
//! |--------|-------------|----------|------------------|
//! | cursor | `RECONCILE` | `CURSOR` | `cursor` (S): [`Cursor::encode`] (`{createdAt}#{orderId}`, the `gsi2` sort key of the last order read) |
//!
//! Access patterns: `load_cursor` → consistent GetItem; `save_cursor` → PutItem (a position,
//! `None` → DeleteItem). One reconciler runs at a time (the schedule's function has a reserved
//! concurrency of one), so the last write wins without a condition. The item carries no
//! `gsi1`/`gsi2` keys and its `sk` is not `ORDER`: no listing, sweep or backfill sees it.

use super::{get_consistent, get_s, pk_sk, s, sdk_error};
use async_trait::async_trait;
use domain::listing::Cursor;
use domain::ports::StoreError;
use domain::reconcile::ReconcileProgress;

const PK: &str = "RECONCILE";
const SK: &str = "CURSOR";

/// The reconciliation cursor in the orders table.
#[derive(Debug, Clone)]
pub struct DynamoReconcileProgress {
    client: aws_sdk_dynamodb::Client,
    orders_table: String,
}

impl DynamoReconcileProgress {
    pub fn new(client: aws_sdk_dynamodb::Client, orders_table: impl Into<String>) -> Self {
        DynamoReconcileProgress {
            client,
            orders_table: orders_table.into(),
        }
    }
}

#[async_trait]
impl ReconcileProgress for DynamoReconcileProgress {
    async fn load_cursor(&self) -> Result<Option<Cursor>, StoreError> {
        let Some(item) =
            get_consistent(&self.client, &self.orders_table, pk_sk(PK.into(), SK)).await?
        else {
            return Ok(None);
        };
        let text = get_s(&item, "cursor")?;
        Cursor::decode(text)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt("reconciliation cursor is unreadable".into()))
    }

    async fn save_cursor(&self, cursor: Option<&Cursor>) -> Result<(), StoreError> {
        match cursor {
            Some(c) => {
                let mut item = pk_sk(PK.into(), SK);
                item.insert("cursor".into(), s(c.encode()));
                self.client
                    .put_item()
                    .table_name(&self.orders_table)
                    .set_item(Some(item))
                    .send()
                    .await
                    .map_err(|e| sdk_error("PutItem", e))?;
            }
            None => {
                self.client
                    .delete_item()
                    .table_name(&self.orders_table)
                    .set_key(Some(pk_sk(PK.into(), SK)))
                    .send()
                    .await
                    .map_err(|e| sdk_error("DeleteItem", e))?;
            }
        }
        Ok(())
    }
}
