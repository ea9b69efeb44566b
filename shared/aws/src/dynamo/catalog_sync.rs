//! [`SyncStateStore`] over the catalog table: one item `SYNC#{sku}` per SKU holding its
//! notification state as JSON and a `version` for optimistic writes (layout in [`crate::dynamo`]).

use super::expr::Expr;
use super::{Item, decode, encode, get_consistent, get_n, get_s, n, put_if, s};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use domain::catalog_notify::{SyncState, SyncStateStore, Versioned};
use domain::ports::StoreError;
use std::collections::HashMap;

pub(crate) fn sync_pk(sku_id: &str) -> String {
    format!("SYNC#{sku_id}")
}

/// The catalog sync's notification bookkeeping, beside the SKUs in the catalog table.
#[derive(Debug, Clone)]
pub struct DynamoSyncStates {
    client: Client,
    table: String,
}

impl DynamoSyncStates {
    /// `table` is the catalog table.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoSyncStates {
            client,
            table: table.into(),
        }
    }
}

fn versioned_from_item(item: &Item) -> Result<Versioned, StoreError> {
    let state: SyncState = decode(get_s(item, "data")?)?;
    let version = u64::try_from(get_n(item, "version")?)
        .map_err(|_| StoreError::Corrupt("SKU sync state has a negative version".into()))?;
    Ok(Versioned { state, version })
}

#[async_trait]
impl SyncStateStore for DynamoSyncStates {
    async fn get_sync_state(&self, sku_id: &str) -> Result<Versioned, StoreError> {
        let key = HashMap::from([("pk".to_string(), s(sync_pk(sku_id)))]);
        get_consistent(&self.client, &self.table, key)
            .await?
            .map(|item| versioned_from_item(&item))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    async fn put_sync_state(
        &self,
        sku_id: &str,
        state: &SyncState,
        expected: u64,
    ) -> Result<bool, StoreError> {
        let version = i64::try_from(expected + 1)
            .map_err(|_| StoreError::Limit("sync state version overflow".into()))?;
        let mut e = Expr::default();
        let condition = if expected == 0 {
            format!("attribute_not_exists({})", e.name("pk"))
        } else {
            let expected = i64::try_from(expected)
                .map_err(|_| StoreError::Limit("sync state version overflow".into()))?;
            format!("{} = {}", e.name("version"), e.value(n(expected)))
        };
        let item = HashMap::from([
            ("pk".to_string(), s(sync_pk(sku_id))),
            ("data".to_string(), s(encode(state)?)),
            ("version".to_string(), n(version)),
        ]);
        put_if(
            &self.client,
            &self.table,
            item,
            condition,
            e.names(),
            e.values(),
        )
        .await
    }
}
