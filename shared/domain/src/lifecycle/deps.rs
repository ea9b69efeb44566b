//! The ports of the order functions (placement, fulfillment, the sweeper), with each function's
//! own settings: one shape, so each function only names its settings.

use super::*;

/// Settings that carry the life cycle's own.
pub trait LifecycleSettings {
    fn lifecycle(&self) -> &LifecycleConfig;
}

/// The ports an order function uses and its settings `C`, built once by the composition root
/// (or the local runner, or a test).
#[derive(Clone)]
pub struct LifecycleDeps<C> {
    pub store: Arc<dyn OrderStore>,
    pub catalog: Arc<dyn CatalogReader>,
    pub events: Arc<dyn OrderEvents>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
    pub config: C,
    /// The invoice records, for functions that take marketplace cancels (see
    /// [`Lifecycle::invoices`]); `None` elsewhere.
    pub invoices: Option<Arc<dyn InvoiceStore>>,
}

impl<C> LifecycleDeps<C> {
    /// With random ids.
    pub fn new(
        store: Arc<dyn OrderStore>,
        catalog: Arc<dyn CatalogReader>,
        events: Arc<dyn OrderEvents>,
        clock: Arc<dyn Clock>,
        config: C,
    ) -> Self {
        LifecycleDeps {
            store,
            catalog,
            events,
            clock,
            ids: Arc::new(RandomIds),
            config,
            invoices: None,
        }
    }

    /// Lets the life cycle read the dispatcher's invoice records (fulfillment: a marketplace cancel
    /// is not confirmed while a sale invoice is in flight).
    pub fn with_invoices(mut self, invoices: Arc<dyn InvoiceStore>) -> Self {
        self.invoices = Some(invoices);
        self
    }

    /// Replaces the id source (tests: predictable order ids and receipts).
    pub fn with_ids(mut self, ids: Arc<dyn IdGen>) -> Self {
        self.ids = ids;
        self
    }
}

impl<C: LifecycleSettings> LifecycleDeps<C> {
    pub fn lifecycle(&self) -> Lifecycle {
        Lifecycle {
            store: self.store.clone(),
            catalog: self.catalog.clone(),
            events: self.events.clone(),
            clock: self.clock.clone(),
            ids: self.ids.clone(),
            config: self.config.lifecycle().clone(),
            invoices: self.invoices.clone(),
        }
    }
}
