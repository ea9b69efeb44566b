//! Listing the per-SKU notification bookkeeping for the operator (the console's catalog page):
//! which SKUs owe VTEX a notification, what is scheduled, when each was last synced.
//!
//! The port ([`SyncStateListing`]) only pages through every stored state in SKU order; what an
//! operator filters on (pending, follow-up overdue) lives in the JSON of the state, which no store
//! indexes, so [`sync_page`] filters here, once for every adapter, and bounds the work of one
//! page by [`MAX_EXAMINED`] (the page then ends early with a cursor, as the order board does).

use super::{KindState, NotifyKind, SyncState, SyncStateStore};
use crate::catalog::SkuId;
use crate::ports::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// One SKU's stored state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRow {
    pub sku_id: SkuId,
    pub state: SyncState,
}

impl SyncRow {
    /// The last time VTEX accepted a notification of this SKU, any kind.
    pub fn last_sync(&self) -> Option<DateTime<Utc>> {
        NotifyKind::ALL
            .iter()
            .filter_map(|k| self.state.kind(*k).last_sent_at)
            .max()
    }

    /// The kinds with changes no accepted notification covers yet.
    pub fn pending_kinds(&self) -> Vec<NotifyKind> {
        NotifyKind::ALL
            .into_iter()
            .filter(|k| self.state.kind(*k).pending())
            .collect()
    }

    /// A kind whose follow-up is past due at `now` (it has not run: a queue backlog or a lost
    /// follow-up).
    pub fn followup_overdue(&self, now: DateTime<Utc>) -> bool {
        NotifyKind::ALL.iter().any(|k| {
            let s: &KindState = self.state.kind(*k);
            s.pending() && s.followup_due.is_some_and(|due| due < now)
        })
    }
}

/// A batch of [`SyncRow`]s from an adapter, and where the next one starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncBatch {
    pub rows: Vec<SyncRow>,
    /// The SKU id to pass as `after` for the next batch; `None`: no more.
    pub next: Option<SkuId>,
}

/// Port: every stored sync state, paged. Adapters: `MemorySyncStates` (feature `test-support`),
/// `embedded_store` (table `catalog_sync`), `aws_adapters::dynamo::DynamoSyncStates` (a Scan of the
/// `SYNC#` items). All pass `contract::listing_*` (`connector_tests::sync_state_contract_tests!`).
#[async_trait]
pub trait SyncStateListing: Send + Sync {
    /// Up to `limit` states of SKUs after `after` (`None`: from the first), each SKU once across
    /// the batches of one walk. Memory and SQLite go in SKU id order; DynamoDB in its own (hash)
    /// order, stable for a given table. A batch may hold fewer than `limit` rows while `next` is
    /// set; `next` is `None` only when nothing follows.
    async fn list_sync_states(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<SyncBatch, StoreError>;
}

/// Both sync-state ports on one value, as the console holds them.
pub trait SyncStates: SyncStateStore + SyncStateListing {}
impl<T: SyncStateStore + SyncStateListing + ?Sized> SyncStates for T {}

/// Which SKUs the operator's list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncFilter {
    /// Every SKU the catalog sync has bookkeeping for.
    #[default]
    All,
    /// A notification is owed for at least one kind.
    Pending,
    /// A notification is owed and its follow-up is past due.
    Overdue,
}

impl SyncFilter {
    pub fn parse(s: &str) -> Option<SyncFilter> {
        match s {
            "all" => Some(SyncFilter::All),
            "pending" => Some(SyncFilter::Pending),
            "overdue" => Some(SyncFilter::Overdue),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SyncFilter::All => "all",
            SyncFilter::Pending => "pending",
            SyncFilter::Overdue => "overdue",
        }
    }

    pub fn matches(self, row: &SyncRow, now: DateTime<Utc>) -> bool {
        match self {
            SyncFilter::All => true,
            SyncFilter::Pending => !row.pending_kinds().is_empty(),
            SyncFilter::Overdue => row.followup_overdue(now),
        }
    }
}

/// States examined at most for one page of [`sync_page`].
pub const MAX_EXAMINED: usize = 2000;

/// One page of the operator's list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncListPage {
    pub rows: Vec<SyncRow>,
    /// Pass as `after` for the next page; `None`: this was the last.
    pub next: Option<SkuId>,
}

/// Up to `page_size` rows matching `filter` after `after`, examining at most [`MAX_EXAMINED`]
/// states (then fewer rows and a cursor to go on from).
pub async fn sync_page(
    listing: &dyn SyncStateListing,
    filter: SyncFilter,
    after: Option<&str>,
    page_size: usize,
    now: DateTime<Utc>,
) -> Result<SyncListPage, StoreError> {
    let page_size = page_size.max(1);
    let mut rows = Vec::new();
    let mut cursor: Option<SkuId> = after.map(str::to_string);
    let mut examined = 0;
    loop {
        let want = (page_size - rows.len()).max(if filter == SyncFilter::All { 1 } else { 100 });
        let batch = listing
            .list_sync_states(cursor.as_deref(), want.min(MAX_EXAMINED - examined))
            .await?;
        let count = batch.rows.len();
        let mut consumed = 0;
        for row in batch.rows {
            if rows.len() == page_size {
                break;
            }
            consumed += 1;
            examined += 1;
            cursor = Some(row.sku_id.clone());
            if filter.matches(&row, now) {
                rows.push(row);
            }
        }
        // A batch cut short resumes after its last examined row; a whole one where it says.
        if consumed == count {
            match batch.next {
                Some(n) => cursor = Some(n),
                None => return Ok(SyncListPage { rows, next: None }),
            }
        }
        if rows.len() == page_size || examined >= MAX_EXAMINED {
            return Ok(SyncListPage { rows, next: cursor });
        }
    }
}
