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
//! When an entry is answered: only at the [`FileVersion`] it was read at, and that version moves
//! - with every call that changed rows through any store of this process on the file (SQLite's
//!   count of rows its connection changed, compared before and after the call, which any catalog
//!   write moves; a rolled-back write moves it too, which only costs a re-read), counted before
//!   the call releases the connection, so a caller that has seen its write complete reads it
//!   back;
//! - with every commit by another process (`PRAGMA data_version` on a read-only probe
//!   connection, e.g. `catalog-load --embedded` while the runner runs), probed at most once per
//!   [`FOREIGN_WRITE_WINDOW`]: another process's write is read back within that window.
//!
//! Neither needs the store's connection, so concurrent simulations read the model in parallel
//! instead of queueing behind it, or behind a write, on the blocking pool; and a simulation costs
//! no SQLite call (a probe takes two `fcntl` lock calls on the WAL index, a fifth of a small
//! cart's kernel time when made per request). A read of the file takes its version first, so
//! what it remembers is never older than the version it is filed under.

use crate::sql_error;
use domain::catalog::{Sku, SkuId};
use domain::ports::StoreError;
use domain::shipping::ShippingRules;
use domain::simulation::SkuLookup;
use rusqlite::{Connection, OpenFlags};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::{Duration, Instant};

/// More SKUs than this and the model starts over (bounds what unknown ids can make it hold).
const MAX_SKUS: usize = 20_000;

/// How long a write by another process may go unseen by the read model. DynamoDB's own reads
/// (the simulation's `BatchGetItem` in Lambda) are eventually consistent over longer than this.
pub(crate) const FOREIGN_WRITE_WINDOW: Duration = Duration::from_millis(1);

/// The state of the file as this store sees it: equal versions, equal contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileVersion {
    /// Calls that changed rows, by every store of this process on the file.
    writes: u64,
    /// The probe's `data_version`: moves when another connection commits (0 in memory, where no
    /// other connection exists).
    data_version: i64,
}

/// What [`FileVersion`] is read from.
#[derive(Default)]
pub(crate) struct Versions {
    /// Shared by every store of this process on the same file ([`Versions::open_file`]).
    writes: Arc<AtomicU64>,
    /// None for a store in memory.
    probe: OnceLock<Probe>,
}

/// A read-only connection to the file and its last answer. One, because each connection counts
/// `data_version` its own way.
struct Probe {
    conn: Mutex<Connection>,
    data_version: AtomicI64,
    /// When it was last asked, in nanoseconds since `origin`.
    asked_at: AtomicU64,
    /// Set by this process's own writes, which move `data_version` too: the next version is
    /// asked at once, so what is read after a write is filed under the version that follows it,
    /// not under a stale one that the next probe would discard (one more read of the file,
    /// perhaps behind a long call holding the connection).
    stale: AtomicBool,
    origin: Instant,
    /// [`FOREIGN_WRITE_WINDOW`] (tests widen it).
    window: Duration,
}

/// The write counters of the files this process has open, by canonical path.
fn writes_of(path: &Path) -> Arc<AtomicU64> {
    static FILES: OnceLock<Mutex<HashMap<PathBuf, Weak<AtomicU64>>>> = OnceLock::new();
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut files = FILES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    files.retain(|_, w| w.strong_count() > 0);
    if let Some(writes) = files.get(&path).and_then(Weak::upgrade) {
        return writes;
    }
    let writes = Arc::new(AtomicU64::new(0));
    files.insert(path, Arc::downgrade(&writes));
    writes
}

impl Versions {
    /// The versions of the file at `path` (already in WAL mode): its write counter shared with
    /// the process's other stores on it, and a probe for the other processes' writes.
    pub(crate) fn open_file(path: &Path) -> Result<Self, StoreError> {
        Self::open_file_with_window(path, FOREIGN_WRITE_WINDOW)
    }

    pub(crate) fn open_file_with_window(path: &Path, window: Duration) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql_error)?;
        let probe = Probe {
            conn: Mutex::new(conn),
            data_version: AtomicI64::new(0),
            asked_at: AtomicU64::new(0),
            stale: AtomicBool::new(false),
            origin: Instant::now(),
            window,
        };
        probe.ask()?;
        Ok(Versions {
            writes: writes_of(path),
            probe: OnceLock::from(probe),
        })
    }

    /// Called with the store's connection before it is released after a call, with the
    /// connection's change count from before the call.
    pub(crate) fn published(&self, conn: &Connection, changes_before: u64) {
        if conn.total_changes() != changes_before {
            if let Some(probe) = self.probe.get() {
                probe.stale.store(true, Ordering::Release);
            }
            self.writes.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// The version of the file now.
    pub(crate) fn now(&self) -> Result<FileVersion, StoreError> {
        let writes = self.writes.load(Ordering::Acquire);
        let data_version = match self.probe.get() {
            None => 0,
            Some(probe) => probe.data_version()?,
        };
        Ok(FileVersion {
            writes,
            data_version,
        })
    }
}

impl Probe {
    fn data_version(&self) -> Result<i64, StoreError> {
        let since = self.origin.elapsed().as_nanos() as u64;
        let asked_at = self.asked_at.load(Ordering::Acquire);
        if !self.stale.load(Ordering::Acquire)
            && since.saturating_sub(asked_at) < self.window.as_nanos() as u64
        {
            return Ok(self.data_version.load(Ordering::Acquire));
        }
        self.ask()
    }

    fn ask(&self) -> Result<i64, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        // Cleared before asking: a write published meanwhile marks it again.
        self.stale.store(false, Ordering::Release);
        let asked_at = self.origin.elapsed().as_nanos() as u64;
        let version = conn
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
            .map_err(sql_error)?;
        self.data_version.store(version, Ordering::Release);
        self.asked_at.store(asked_at, Ordering::Release);
        Ok(version)
    }
}

#[derive(Default)]
pub(crate) struct ReadModel {
    state: RwLock<State>,
}

/// The SKUs read at one version, `None` for an id with no SKU. Immutable once handed out: a
/// simulation holds one `Arc` of it rather than one per SKU (whose counts both cores would bounce
/// between them on every request), and reads from it without a lock.
#[derive(Debug, Default, Clone)]
pub(crate) struct SkuSnapshot(HashMap<SkuId, Option<Arc<Sku>>, foldhash::fast::RandomState>);

impl SkuLookup for SkuSnapshot {
    fn sku(&self, id: &str) -> Option<&Sku> {
        self.0.get(id)?.as_deref()
    }
}

#[derive(Default)]
struct State {
    version: Option<FileVersion>,
    skus: Arc<SkuSnapshot>,
    /// Outer `None`: not read at this version; inner: no rules stored.
    rules: Option<Option<ShippingRules>>,
}

impl State {
    /// Forgets everything read at another version.
    fn at(&mut self, version: FileVersion) {
        if self.version != Some(version) {
            self.version = Some(version);
            self.skus = Arc::default();
            self.rules = None;
        }
    }
}

impl ReadModel {
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The SKUs among `ids` as the file holds them at `version`; `None` unless every id was
    /// read at that version.
    pub(crate) fn skus(&self, version: FileVersion, ids: &[SkuId]) -> Option<Arc<SkuSnapshot>> {
        let state = self.read();
        if state.version != Some(version) {
            return None;
        }
        ids.iter()
            .all(|id| state.skus.0.contains_key(id.as_str()))
            .then(|| state.skus.clone())
    }

    /// Records what a read at `version` of `ids` found (an id missing from `found` has no SKU).
    pub(crate) fn remember_skus(
        &self,
        version: FileVersion,
        ids: &[SkuId],
        found: &HashMap<SkuId, Arc<Sku>>,
    ) {
        let mut state = self.write();
        state.at(version);
        // Copied only while a simulation still holds the previous snapshot.
        let skus = Arc::make_mut(&mut state.skus);
        if skus.0.len() + ids.len() > MAX_SKUS {
            skus.0.clear();
        }
        for id in ids.iter().take(MAX_SKUS) {
            skus.0.insert(id.clone(), found.get(id).cloned());
        }
    }

    /// The shipping rules at `version`, when read at that version.
    pub(crate) fn rules(&self, version: FileVersion) -> Option<Option<ShippingRules>> {
        let state = self.read();
        if state.version != Some(version) {
            return None;
        }
        state.rules.clone()
    }

    pub(crate) fn remember_rules(&self, version: FileVersion, rules: &Option<ShippingRules>) {
        let mut state = self.write();
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

    /// Another process's write (here a bare SQLite connection, which no store of this process
    /// counts) is read back once the probe's window has passed.
    #[tokio::test]
    async fn a_write_by_another_process_is_read_back_within_the_window() {
        let file =
            File(std::env::temp_dir().join(format!("read-model-{}.sqlite", uuid::Uuid::new_v4())));
        let runner = EmbeddedStore::open(&file.0).unwrap();
        runner.upsert_sku(&sku("a", 5)).await.unwrap();
        assert_eq!(read(&runner, "a").await, Some(5));
        let other = rusqlite::Connection::open(&file.0).unwrap();
        other
            .execute("UPDATE stock SET on_hand = 9 WHERE sku_id = 'a'", [])
            .unwrap();
        tokio::time::sleep(super::FOREIGN_WRITE_WINDOW * 3).await;
        assert_eq!(read(&runner, "a").await, Some(9));
    }

    /// The model answers a cart only if it read every one of its ids at this version: an id it
    /// never read is read from the file, not answered as unknown.
    #[tokio::test]
    async fn an_id_not_read_yet_is_read_from_the_file() {
        let store = EmbeddedStore::open_in_memory().unwrap();
        store.upsert_sku(&sku("a", 5)).await.unwrap();
        store.upsert_sku(&sku("b", 6)).await.unwrap();
        assert_eq!(read(&store, "a").await, Some(5));
        assert_eq!(read(&store, "b").await, Some(6));
        let both = store
            .get_skus(&["a".to_string(), "c".to_string(), "b".to_string()])
            .await
            .unwrap();
        assert_eq!(
            (on_hand(both.get("a")), on_hand(both.get("b"))),
            (Some(5), Some(6))
        );
        assert!(!both.contains_key("c"));
    }

    /// The store's connection held by a long call (a write, a queue scan) no longer makes
    /// simulations queue behind it: the model answers what the file held before that call.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_while_the_connection_is_held_is_answered_without_waiting_for_it() {
        let file =
            File(std::env::temp_dir().join(format!("read-model-{}.sqlite", uuid::Uuid::new_v4())));
        // A window wide enough that the read below falls inside the one the store opened with.
        let window = std::time::Duration::from_millis(200);
        let mut store = EmbeddedStore::open(&file.0).unwrap();
        store.versions =
            std::sync::Arc::new(super::Versions::open_file_with_window(&file.0, window).unwrap());
        store.upsert_sku(&sku("a", 5)).await.unwrap();
        assert_eq!(read(&store, "a").await, Some(5));
        // Past the probe's window: the version the read above was filed under must still be
        // the file's (the write just before it moved the probe's count too).
        tokio::time::sleep(window * 2).await;
        let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .with_conn(move |_conn| {
                        held_tx.send(()).unwrap();
                        release_rx.recv().unwrap();
                        Ok(())
                    })
                    .await
            })
        };
        held_rx.recv().unwrap();
        let answered = tokio::time::timeout(std::time::Duration::from_secs(20), read(&store, "a"))
            .await
            .expect("the read waited for the held connection");
        release_tx.send(()).unwrap();
        holder.await.unwrap().unwrap();
        assert_eq!(answered, Some(5));
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
