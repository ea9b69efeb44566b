//! The catalog as last read from the file (SKUs with their stock, negative answers included, and
//! the shipping rules), answered without SQLite's blocking-pool round trip while the file is
//! unchanged. A simulation through the local runner used to hand every request to the blocking
//! pool and queue it behind the store's one connection; now it reads two counters on the calling
//! thread and hands out what it read last time (shared: [`CatalogReader::get_skus_shared`]
//! copies nothing, [`CatalogReader::get_skus`] clones).
//!
//! [`CatalogReader::get_skus_shared`]: domain::ports::CatalogReader::get_skus_shared
//! [`CatalogReader::get_skus`]: domain::ports::CatalogReader::get_skus
//!
//! Never stale: an entry is only answered at the [`FileVersion`] it was read at, and that version
//! changes with every write to the file, by this store (SQLite's count of rows this connection
//! changed, which any catalog write moves; a rolled-back write moves it too, which only costs a
//! re-read) or by any other connection or process (`PRAGMA data_version`, e.g. `catalog-load
//! --embedded` while the runner runs). A write still in progress on this store holds the
//! connection, so the version cannot be read then and the read takes the ordinary path, which
//! waits for it.

use crate::sql_error;
use domain::catalog::{Sku, SkuId};
use domain::ports::StoreError;
use domain::shipping::ShippingRules;
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// More SKUs than this and the model starts over (bounds what unknown ids can make it hold).
const MAX_SKUS: usize = 20_000;

/// The state of the file as this connection sees it: equal versions, equal contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileVersion {
    /// Moves when another connection commits (SQLite: never for this connection's own commits).
    data_version: i64,
    /// Rows this connection inserted, updated or deleted since it was opened.
    own_changes: u64,
}

/// The version of the file `conn` sees now; inside a transaction, the version its reads see.
pub(crate) fn file_version(conn: &Connection) -> Result<FileVersion, StoreError> {
    let data_version = conn
        .prepare_cached("PRAGMA data_version")
        .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
        .map_err(sql_error)?;
    Ok(FileVersion {
        data_version,
        own_changes: conn.total_changes(),
    })
}

#[derive(Default)]
pub(crate) struct ReadModel {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    version: Option<FileVersion>,
    /// `None`: no such SKU.
    skus: HashMap<SkuId, Option<Arc<Sku>>>,
    /// Outer `None`: not read at this version; inner: no rules stored.
    rules: Option<Option<ShippingRules>>,
}

impl State {
    /// Forgets everything read at another version.
    fn at(&mut self, version: FileVersion) {
        if self.version != Some(version) {
            self.version = Some(version);
            self.skus.clear();
            self.rules = None;
        }
    }
}

impl ReadModel {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The SKUs among `ids` as the file holds them at `version`; `None` unless every id was
    /// read at that version.
    pub(crate) fn skus(
        &self,
        version: FileVersion,
        ids: &[SkuId],
    ) -> Option<HashMap<SkuId, Arc<Sku>>> {
        let state = self.lock();
        if state.version != Some(version) {
            return None;
        }
        let mut found = HashMap::with_capacity(ids.len());
        for id in ids {
            if let Some(sku) = state.skus.get(id)? {
                found.insert(id.clone(), sku.clone());
            }
        }
        Some(found)
    }

    /// Records what a read at `version` of `ids` found (an id missing from `found` has no SKU).
    pub(crate) fn remember_skus(
        &self,
        version: FileVersion,
        ids: &[SkuId],
        found: &HashMap<SkuId, Arc<Sku>>,
    ) {
        let mut state = self.lock();
        state.at(version);
        if state.skus.len() + ids.len() > MAX_SKUS {
            state.skus.clear();
        }
        for id in ids.iter().take(MAX_SKUS) {
            state.skus.insert(id.clone(), found.get(id).cloned());
        }
    }

    /// The shipping rules at `version`, when read at that version.
    pub(crate) fn rules(&self, version: FileVersion) -> Option<Option<ShippingRules>> {
        let state = self.lock();
        if state.version != Some(version) {
            return None;
        }
        state.rules.clone()
    }

    pub(crate) fn remember_rules(&self, version: FileVersion, rules: &Option<ShippingRules>) {
        let mut state = self.lock();
        state.at(version);
        state.rules = Some(rules.clone());
    }
}

#[cfg(test)]
mod tests {
    use crate::EmbeddedStore;
    use domain::catalog::Sku;
    use domain::ports::{CatalogReader, CatalogWriter};
    use domain::shipping::ShippingRules;

    fn sku(id: &str, on_hand: i64) -> Sku {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": format!("SKU {id}"), "prices": [],
            "stock": {"wh1": {"onHand": on_hand, "reserved": 0}}
        }))
        .unwrap()
    }

    fn on_hand(store_sku: Option<&Sku>) -> Option<i64> {
        store_sku.map(|s| s.stock["wh1"].on_hand)
    }

    async fn read(store: &EmbeddedStore, id: &str) -> Option<i64> {
        let found = store.get_skus(&[id.to_string()]).await.unwrap();
        on_hand(found.get(id))
    }

    struct File(std::path::PathBuf);
    impl Drop for File {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
            }
        }
    }

    #[tokio::test]
    async fn every_write_through_the_store_is_read_back() {
        let store = EmbeddedStore::open_in_memory().unwrap();
        assert_eq!(read(&store, "a").await, None);
        store.upsert_sku(&sku("a", 5)).await.unwrap();
        assert_eq!(read(&store, "a").await, Some(5));
        assert_eq!(read(&store, "a").await, Some(5));
        store.set_on_hand("a", "wh1", 7).await.unwrap();
        assert_eq!(read(&store, "a").await, Some(7));
        // A write outside the catalog ports (a reservation's shape): the same connection's
        // change count moves, so the model is not answered.
        store
            .with_conn(|conn| {
                conn.execute("UPDATE stock SET on_hand = 3 WHERE sku_id = 'a'", [])
                    .map_err(crate::sql_error)
            })
            .await
            .unwrap();
        assert_eq!(read(&store, "a").await, Some(3));

        assert_eq!(store.shipping_rules().await.unwrap(), None);
        let rules: ShippingRules = serde_json::from_value(serde_json::json!({
            "shipsTo": ["BRA"], "warehouses": [], "carriers": []
        }))
        .unwrap();
        store.put_shipping_rules(&rules).await.unwrap();
        assert_eq!(store.shipping_rules().await.unwrap(), Some(rules.clone()));
        assert_eq!(store.shipping_rules().await.unwrap(), Some(rules));
    }

    #[tokio::test]
    async fn a_write_by_another_connection_to_the_file_is_read_back() {
        let file =
            File(std::env::temp_dir().join(format!("read-model-{}.sqlite", uuid::Uuid::new_v4())));
        let runner = EmbeddedStore::open(&file.0).unwrap();
        let loader = EmbeddedStore::open(&file.0).unwrap();
        assert_eq!(read(&runner, "a").await, None);
        loader.upsert_sku(&sku("a", 5)).await.unwrap();
        assert_eq!(read(&runner, "a").await, Some(5));
        assert_eq!(read(&runner, "a").await, Some(5));
        loader.set_on_hand("a", "wh1", 9).await.unwrap();
        assert_eq!(read(&runner, "a").await, Some(9));
    }
}
