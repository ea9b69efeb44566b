//! SQLite adapters of the marketplace registry ([`MarketplaceRegistry`]) and, for the local runner
//! only, of the secrets its entries name ([`SecretSource`]): one row per account, the entry's stored
//! shape as JSON; one row per secret name.
//!
//! The secrets table holds app keys in the clear, in the store file: it stands in for Secrets
//! Manager on a developer's machine (the local runner and the `marketplaces` CLI's `--store`), and
//! no deployed function reads it.

use crate::{EmbeddedStore, decode, encode, sql_error};
use async_trait::async_trait;
use domain::marketplaces::{AccountName, Marketplace, MarketplaceRegistry, SecretSource};
use domain::ports::StoreError;
use rusqlite::{OptionalExtension, params};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS marketplaces (
    account TEXT PRIMARY KEY,
    data    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS local_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// The registry in an [`EmbeddedStore`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SqliteRegistry {
    store: EmbeddedStore,
}

impl SqliteRegistry {
    /// Creates the `marketplaces` and `local_secrets` tables in `store` if missing.
    pub fn new(store: &EmbeddedStore) -> Result<Self, StoreError> {
        {
            let conn = store.conn.lock().unwrap_or_else(|e| e.into_inner());
            conn.execute_batch(SCHEMA).map_err(sql_error)?;
        }
        Ok(SqliteRegistry {
            store: store.clone(),
        })
    }

    /// Sets the secret `name` (a rotation replaces it).
    pub async fn put_secret(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let (n, v) = (name.to_string(), value.to_string());
        self.store
            .with_conn(move |conn| {
                conn.execute(
                    "INSERT INTO local_secrets (name, value) VALUES (?1, ?2)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    params![n, v],
                )
                .map_err(sql_error)?;
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl MarketplaceRegistry for SqliteRegistry {
    async fn get(&self, account: &AccountName) -> Result<Option<Marketplace>, StoreError> {
        let a = account.to_string();
        self.store
            .with_conn(move |conn| {
                conn.query_row(
                    "SELECT data FROM marketplaces WHERE account = ?1",
                    [&a],
                    |r| r.get::<_, String>(0),
                )
                .optional()
                .map_err(sql_error)?
                .map(|d| decode(&d))
                .transpose()
            })
            .await
    }

    async fn list(&self) -> Result<Vec<Marketplace>, StoreError> {
        self.store
            .with_conn(|conn| {
                let mut stmt = conn
                    .prepare_cached("SELECT data FROM marketplaces ORDER BY account")
                    .map_err(sql_error)?;
                let rows: Vec<String> = stmt
                    .query_map([], |r| r.get(0))
                    .map_err(sql_error)?
                    .collect::<Result<_, _>>()
                    .map_err(sql_error)?;
                rows.iter().map(|d| decode(d)).collect()
            })
            .await
    }

    async fn put(&self, marketplace: &Marketplace) -> Result<(), StoreError> {
        let a = marketplace.account.to_string();
        let data = encode(marketplace)?;
        self.store
            .with_conn(move |conn| {
                conn.execute(
                    "INSERT INTO marketplaces (account, data) VALUES (?1, ?2)
                     ON CONFLICT (account) DO UPDATE SET data = excluded.data",
                    params![a, data],
                )
                .map_err(sql_error)?;
                Ok(())
            })
            .await
    }

    async fn disable(&self, account: &AccountName) -> Result<bool, StoreError> {
        let a = account.to_string();
        self.store
            .with_conn(move |conn| {
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(sql_error)?;
                let data: Option<String> = tx
                    .query_row(
                        "SELECT data FROM marketplaces WHERE account = ?1",
                        [&a],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sql_error)?;
                let Some(data) = data else {
                    return Ok(false);
                };
                let mut m: Marketplace = decode(&data)?;
                m.enabled = false;
                tx.execute(
                    "UPDATE marketplaces SET data = ?2 WHERE account = ?1",
                    params![a, encode(&m)?],
                )
                .map_err(sql_error)?;
                tx.commit().map_err(sql_error)?;
                Ok(true)
            })
            .await
    }
}

#[async_trait]
impl SecretSource for SqliteRegistry {
    async fn secret(&self, name: &str) -> Result<secrecy::SecretString, String> {
        let n = name.to_string();
        let value: Option<String> = self
            .store
            .with_conn(move |conn| {
                conn.query_row(
                    "SELECT value FROM local_secrets WHERE name = ?1",
                    [&n],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_error)
            })
            .await
            .map_err(|e| e.to_string())?;
        value
            .map(secrecy::SecretString::from)
            .ok_or_else(|| "no such secret in the embedded store".to_string())
    }
}
