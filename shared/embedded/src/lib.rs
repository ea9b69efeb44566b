//! Embedded, persistent adapter of every domain port (SQLite, one file, WAL), plus a local queue
//! with SQS-FIFO-like semantics that the local runner uses in place of SQS (its event-source
//! mapping is the runner's: `local::event_source`).
//!
//! Same semantics as the DynamoDB adapters (both pass the contract tests in `connector-tests`):
//! SQLite transactions give the atomicity DynamoDB transactions give there. Every call runs on
//! the blocking thread pool against one connection behind a mutex, so writes are serialized
//! within the process; `BEGIN IMMEDIATE` and a busy timeout serialize them across processes
//! sharing the file.
//!
//! Catalog reads (the simulation's path) are answered from an in-memory read model while nothing
//! has written to the file since it was read (`catalog::ReadModel`).
//!
//! Every `data` column holds the record's stored shape from `storage_format`, the same versioned
//! JSON the DynamoDB adapters write (`schemaVersion` first; rows without it read as version 1).

mod catalog;
pub mod catalog_sync;
pub mod dispatch_queue;
pub mod imports;
pub mod invoices;
pub mod listing;
pub mod marketplaces;
mod order_log;
mod orders;
pub mod outbox;
mod queue;
mod reconcile;

pub use queue::{LocalMessage, LocalQueue};

use domain::clock::{Clock, SystemClock};
use domain::ports::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Queue that [`domain::ports::OrderEvents`] publishes to.
pub const ORDER_EVENTS_QUEUE: &str = "order-events";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS skus (
    id   TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stock (
    sku_id   TEXT NOT NULL,
    location TEXT NOT NULL,
    on_hand  INTEGER NOT NULL,
    reserved INTEGER NOT NULL,
    PRIMARY KEY (sku_id, location)
);
CREATE TABLE IF NOT EXISTS stock_marks (
    sku_id     TEXT NOT NULL,
    location   TEXT NOT NULL,
    as_of      TEXT,
    shipped_at TEXT,
    PRIMARY KEY (sku_id, location)
);
CREATE TABLE IF NOT EXISTS catalog_sync (
    sku_id  TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    data    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key  TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    order_id             TEXT PRIMARY KEY,
    an                   TEXT NOT NULL,
    marketplace_order_id TEXT NOT NULL,
    status               TEXT NOT NULL,
    expires_at           TEXT NOT NULL,
    version              INTEGER NOT NULL,
    data                 TEXT NOT NULL,
    UNIQUE (an, marketplace_order_id)
);
CREATE INDEX IF NOT EXISTS orders_reserved_by_expiry
    ON orders (expires_at, order_id) WHERE status = 'RESERVED';
CREATE TABLE IF NOT EXISTS order_log (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL,
    data     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS order_log_by_order ON order_log (order_id, seq);
CREATE TABLE IF NOT EXISTS outbox (
    event_id   TEXT PRIMARY KEY,
    order_id   TEXT NOT NULL,
    written_at TEXT NOT NULL,
    event      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_by_age ON outbox (written_at, event_id);
CREATE TABLE IF NOT EXISTS queue_messages (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    queue          TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    body           TEXT NOT NULL,
    group_id       TEXT,
    sent_at_ms     INTEGER NOT NULL,
    visible_at_ms  INTEGER NOT NULL,
    receipt_handle TEXT UNIQUE,
    receive_count  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS queue_messages_by_queue ON queue_messages (queue, seq);
CREATE TABLE IF NOT EXISTS queue_dedup (
    queue         TEXT NOT NULL,
    dedup_id      TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    PRIMARY KEY (queue, dedup_id)
);
";

/// The embedded store. `Clone` is cheap and shares the connection.
#[derive(Clone)]
pub struct EmbeddedStore {
    conn: Arc<Mutex<Connection>>,
    clock: Arc<dyn Clock>,
    /// The catalog as last read, answered without the blocking pool while the file is unchanged.
    catalog: Arc<catalog::ReadModel>,
    /// How the read model tells the file changed without taking `conn`.
    versions: Arc<catalog::Versions>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore").finish_non_exhaustive()
    }
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store file at `path`, in WAL mode.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let conn = Connection::open(path).map_err(sql_error)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(sql_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Unavailable(format!(
                "store file refused WAL mode (got {mode})"
            )));
        }
        // WAL + NORMAL is durable across process crashes; only a power loss may drop the last commits.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql_error)?;
        let mut store = Self::init(conn)?;
        store.versions = Arc::new(catalog::Versions::open_file(path)?);
        Ok(store)
    }

    /// A store that lives as long as the value (tests, throw-away runs).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory().map_err(sql_error)?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(sql_error)?;
        conn.execute_batch(SCHEMA).map_err(sql_error)?;
        Ok(EmbeddedStore {
            conn: Arc::new(Mutex::new(conn)),
            clock: Arc::new(SystemClock),
            catalog: Arc::default(),
            versions: Arc::default(),
        })
    }

    /// Uses `clock` for queue timing (visibility, de-duplication window), so tests can move time.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The local queue `name` (created on first send). See [`LocalQueue`].
    pub fn queue(&self, name: impl Into<String>) -> LocalQueue {
        LocalQueue::new(self.clone(), name.into())
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn with_conn<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        let versions = self.versions.clone();
        tokio::task::spawn_blocking(move || {
            // A panic mid-call rolled its transaction back while unwinding: the connection is fine.
            let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            let changes_before = conn.total_changes();
            let done = f(&mut conn);
            // Before the connection is released and the caller hears of its write.
            versions.published(&conn, changes_before);
            done
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
    }
}

pub(crate) fn sql_error(err: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("SQLite: {err}"))
}

/// A record's `data` column: its stored shape, versioned (`storage_format`, the same JSON the
/// DynamoDB adapter writes), never the domain type's own serde form.
pub(crate) fn encode<T: storage_format::Stored>(record: &T) -> Result<String, StoreError> {
    storage_format::encode(record).map_err(|e| StoreError::Corrupt(e.0))
}

/// The record a `data` column holds, of whichever shape version wrote it.
pub(crate) fn decode<T: storage_format::Stored>(data: &str) -> Result<T, StoreError> {
    storage_format::decode(data).map_err(|e| StoreError::Corrupt(e.0))
}

pub(crate) fn to_json<T: serde::Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Corrupt(format!("{what} cannot be serialized: {e}")))
}
