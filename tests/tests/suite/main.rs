//! The cross-crate suite in one test binary: linking the AWS SDK and every function once instead of
//! once per file (each file used to be its own binary). Select a part with a filter, e.g.
//! `tests/run.sh -p connector-tests --test suite dispatch_`.
//!
//! `logs_no_pii` keeps a binary of its own: it installs a process-wide tracing subscriber, which
//! would capture every other test's logs here. The real-bootstrap tests are in `bootstraps`.

mod catalog_sync_support;
mod dispatch_support;
mod import_support;

mod cancel_in_flight;
mod catalog_sync_flows;
mod contract_dynamo;
mod contract_embedded;
mod contract_memory;
mod contract_sqs;
mod dispatch_crash_points;
mod dispatch_drain;
mod dispatch_faults;
mod dispatch_flows;
mod dispatch_local;
mod events_are_tested;
mod import_faults;
mod import_flow;
mod import_handling;
mod import_local;
mod import_mse;
mod invoice_totals;
mod marketplaces_catalog;
mod marketplaces_cli;
mod marketplaces_contract;
mod marketplaces_flows;
mod marketplaces_local;
mod marketplaces_simulation;
mod order_log_cap;
mod orders_events;
mod orders_flow;
mod orders_schema;
mod outbound_hygiene;
mod outbox_contract;
mod outbox_faults;
mod outbox_local;
mod parse_errors;
mod promotion_flow;
mod reconcile;
mod simulation_bench;
mod simulation_schema;
mod stock_snapshots;
