//! The operator's tools, beside the Lambdas rather than inside them: `catalog-load` (a whole
//! catalog file into the store, telling VTEX what changed: [`bulk`]), `order-import-file`
//! (external orders from a file, to the import queue or imported in this process) and
//! `dispatch-redrive` (the dispatch DLQ back to its queue); `marketplaces` (the marketplace
//! registry: [`marketplaces`]).

pub mod bulk;
pub mod marketplaces;
