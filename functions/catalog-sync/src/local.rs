//! The catalog sync over the embedded store's [`LocalQueue`], for the local runner. Plays the
//! event-source mapping ([`embedded_store::event_source`]): receive → [`handle`] → delete what did
//! not fail.
//!
//! `deps.queue` and `deps.followups` must be this same `LocalQueue` (it implements both
//! [`domain::erp::DispatchQueue`] and [`domain::catalog_notify::FollowUpQueue`]), so back-offs,
//! follow-ups and dead letters land where this loop reads.

use crate::{Config, Deps, Notifier, handle};
use domain::clock::Clock;
use domain::ports::StoreError;
use embedded_store::{EmbeddedStore, LocalQueue};
use std::sync::Arc;
use std::time::Duration;
use vtex::catalog::CatalogClient;
use vtex::client::{AppCredentials, ClientError};
use vtex::ports::Notificator;

pub use embedded_store::event_source::BatchReport;

/// Name of the local catalog queue (its DLQ is `catalog-sync-dlq`).
pub const QUEUE: &str = "catalog-sync";

/// The worker's ports over the embedded store and `queue` (normally
/// `store.queue(QUEUE).with_max_receives(10)`), calling VTEX (or the stand-in) as `config` says.
pub fn deps(
    store: &EmbeddedStore,
    queue: &LocalQueue,
    config: &Config,
    creds: AppCredentials,
    clock: Arc<dyn Clock>,
) -> Result<Deps, ClientError> {
    let vtex = CatalogClient::new(&config.endpoints(), creds, config.vtex_timeout)?;
    let shared = Arc::new(store.clone());
    Ok(Deps {
        catalog: shared.clone(),
        writer: shared.clone(),
        sync: shared.clone(),
        queue: Arc::new(queue.clone()),
        followups: Arc::new(queue.clone()),
        notifier: Notifier {
            vtex: Arc::new(Notificator {
                client: vtex,
                suggestion: config.suggestion_settings(),
            }),
            catalog: shared,
        },
        clock,
        coalescing: config.coalescing,
        backoff: config.backoff,
    })
}

/// Receives up to `max` messages (hidden for `visibility`) and processes them.
pub async fn poll_once(
    deps: &Deps,
    queue: &LocalQueue,
    max: usize,
    visibility: Duration,
) -> Result<BatchReport, StoreError> {
    embedded_store::event_source::poll_once(queue, max, visibility, |event| handle(deps, event))
        .await
}
