//! What the local runner (and the operator's tools) play around the workers in place of AWS: the
//! SQS event-source mapping over the embedded store's queues ([`event_source`]), the local queue
//! names, and the catalog sync's ports over the embedded store.

pub mod event_source;
pub mod outbox;

use domain::clock::Clock;
use embedded_store::{EmbeddedStore, LocalQueue};
use std::sync::Arc;
use vtex::catalog::CatalogClient;
use vtex::client::{AppCredentials, ClientError};
use vtex::ports::Notificator;

/// The local queue the runner (and `order-import-file --run`) uses in place of the template's
/// `ImportQueue`.
pub const IMPORT_QUEUE: &str = "imports";

/// Name of the local catalog queue (its DLQ is `catalog-sync-dlq`).
pub const CATALOG_QUEUE: &str = "catalog-sync";

/// The catalog sync's ports over the embedded store and `queue` (normally
/// `store.queue(CATALOG_QUEUE).with_max_receives(10)`), calling VTEX (or the stand-in) as `config`
/// says. `queue` is both the DLQ and the follow-up queue, so back-offs, follow-ups and dead
/// letters land where [`event_source::poll_once`] reads.
pub fn catalog_sync_deps(
    store: &EmbeddedStore,
    queue: &LocalQueue,
    config: &catalog_sync::Config,
    creds: AppCredentials,
    clock: Arc<dyn Clock>,
) -> Result<catalog_sync::Deps, ClientError> {
    let client = CatalogClient::new(&config.endpoints(), creds, config.vtex_timeout)?;
    let shared = Arc::new(store.clone());
    Ok(catalog_sync::Deps {
        catalog: shared.clone(),
        writer: shared.clone(),
        sync: shared.clone(),
        queue: Arc::new(queue.clone()),
        followups: Arc::new(queue.clone()),
        notifier: catalog_sync::Notifier {
            vtex: Arc::new(Notificator {
                client,
                suggestion: config.suggestion_settings(),
            }),
            catalog: shared,
        },
        clock,
        coalescing: config.coalescing,
        backoff: config.backoff,
    })
}
