//! [`SyncStateStore`] over the catalog table: one item `SYNC#{sku}` per SKU holding its
//! notification state as JSON and a `version` for optimistic writes (layout in [`crate::dynamo`]).
//!
//! [`SyncStateListing`] is a paged Scan of the catalog table filtered on `begins_with(pk, "SYNC#")`:
//! it reads the SKU items too, so one page of the operator's list costs up to a pass over the
//! catalog table (1,000 items evaluated per request). That is acceptable for an operator page
//! opened by hand; the console function alone is granted `dynamodb:Scan`. Should the catalog
//! grow past that, a sparse GSI on the sync items is the next step.

use super::expr::Expr;
use super::{Item, decode, encode, get_consistent, get_n, get_s, n, put_if, s, sdk_error};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use domain::catalog_notify::{
    SyncBatch, SyncRow, SyncState, SyncStateListing, SyncStateStore, Versioned,
};
use domain::ports::StoreError;
use std::collections::HashMap;

const SYNC_PREFIX: &str = "SYNC#";

pub(crate) fn sync_pk(sku_id: &str) -> String {
    format!("{SYNC_PREFIX}{sku_id}")
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

/// Items evaluated per Scan request of the listing.
const SCAN_PAGE: i32 = 1000;

#[async_trait]
impl SyncStateListing for DynamoSyncStates {
    async fn list_sync_states(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<SyncBatch, StoreError> {
        let mut rows: Vec<SyncRow> = Vec::new();
        let mut start: Option<Item> =
            after.map(|a| HashMap::from([("pk".to_string(), s(sync_pk(a)))]));
        while rows.len() < limit {
            let mut e = Expr::default();
            let filter = format!("begins_with({}, {})", e.name("pk"), e.value(s(SYNC_PREFIX)));
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(filter)
                .set_expression_attribute_names(e.names())
                .set_expression_attribute_values(e.values())
                .set_exclusive_start_key(start.take())
                .limit(SCAN_PAGE)
                .consistent_read(true)
                .send()
                .await
                .map_err(|err| sdk_error("Scan", err))?;
            for item in out.items() {
                if rows.len() == limit {
                    // Resume after the last row taken: its key is a valid ExclusiveStartKey.
                    let next = rows.last().map(|r| r.sku_id.clone());
                    return Ok(SyncBatch { rows, next });
                }
                let pk = get_s(item, "pk")?;
                let Some(sku_id) = pk.strip_prefix(SYNC_PREFIX) else {
                    continue;
                };
                rows.push(SyncRow {
                    sku_id: sku_id.to_string(),
                    state: versioned_from_item(item)?.state,
                });
            }
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(SyncBatch { rows, next: None }),
            }
        }
        let next = rows.last().map(|r| r.sku_id.clone());
        Ok(SyncBatch { rows, next })
    }
}
