//! [`domain::reconcile::ReconcileProgress`] on the embedded store: where the last reconciliation
//! run stopped, one row of `settings` (key `reconcile.cursor`, `data` = [`Cursor::encode`], the
//! same text the DynamoDB adapter stores).

use crate::{EmbeddedStore, sql_error};
use async_trait::async_trait;
use domain::listing::Cursor;
use domain::ports::StoreError;
use domain::reconcile::ReconcileProgress;
use rusqlite::{OptionalExtension, params};

const KEY: &str = "reconcile.cursor";

#[async_trait]
impl ReconcileProgress for EmbeddedStore {
    async fn load_cursor(&self) -> Result<Option<Cursor>, StoreError> {
        let text: Option<String> = self
            .with_conn(|conn| {
                conn.query_row(
                    "SELECT data FROM settings WHERE key = ?1",
                    params![KEY],
                    |row| row.get(0),
                )
                .optional()
                .map_err(sql_error)
            })
            .await?;
        match text {
            None => Ok(None),
            Some(t) => Cursor::decode(&t)
                .map(Some)
                .ok_or_else(|| StoreError::Corrupt("reconciliation cursor is unreadable".into())),
        }
    }

    async fn save_cursor(&self, cursor: Option<&Cursor>) -> Result<(), StoreError> {
        let text = cursor.map(Cursor::encode);
        self.with_conn(move |conn| {
            match text {
                Some(t) => conn.execute(
                    "INSERT INTO settings (key, data) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET data = excluded.data",
                    params![KEY, t],
                ),
                None => conn.execute("DELETE FROM settings WHERE key = ?1", params![KEY]),
            }
            .map_err(sql_error)?;
            Ok(())
        })
        .await
    }
}
