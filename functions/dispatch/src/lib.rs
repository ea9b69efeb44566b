//! The dispatch Lambda: ERP messages from the dispatch queue (SQS FIFO, one group per order) to
//! VTEX's OMS. The workflow is [`domain::dispatch::Dispatcher`]; this crate is its SQS glue:
//! each record becomes a [`Disposition`] and then a queue action ([`lambda_kit::sqs::settle`]):
//! - done: the event-source mapping deletes it;
//! - retry: its visibility is set to the back-off and it is reported in `batchItemFailures`;
//!   after `maxReceiveCount` receives SQS moves it to the DLQ;
//! - refused: copied to the DLQ with the reason and reported done so the original is deleted.
//!   `dispatch-redrive` moves parked messages back.
//!
//! Within one batch, once a message of a group fails, the group's later messages are reported
//! failed without being processed, so an order's messages keep their order (FIFO contract).

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use domain::clock::Clock;
use domain::dispatch::Dispatcher;
use domain::erp::DispatchQueue;
use domain::invoice_store::InvoiceStore;
use domain::outbound::MarketplaceOms;
use domain::ports::OrderStore;
use lambda_kit::config::{ConfigError, Vars};
use lambda_kit::sqs;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use vtex::client::PRODUCTION_BASE_URL;

pub use domain::dispatch::steps;
pub use lambda_kit::sqs::{Backoff, Delivery, Disposition, sqs_event, sqs_message};

/// Configuration, read once from the environment by the composition root.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `VTEX_BASE_URL`: the OMS base; `{an}` is replaced per order. Default: the production
    /// account host. Point it at the stand-in for local runs.
    pub vtex_base_url: String,
    /// `DEFAULT_AN`: the account for orders placed without `an`, and for ERP messages naming an
    /// order by `marketplaceOrderId` without `an`.
    pub default_an: Option<String>,
    /// `VTEX_TIMEOUT_MS` (default 10000).
    pub vtex_timeout: Duration,
    /// `DISPATCH_BACKOFF_BASE_SECS` (default 5) and `DISPATCH_BACKOFF_MAX_SECS` (default 900).
    pub backoff: Backoff,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            vtex_base_url: PRODUCTION_BASE_URL.to_string(),
            default_an: None,
            vtex_timeout: vtex::client::DEFAULT_TIMEOUT,
            backoff: Backoff::default(),
        }
    }
}

/// The variables ([`lambda_kit::config`]); the tables and queues are the composition root's.
#[derive(Deserialize)]
struct Env {
    vtex_base_url: Option<String>,
    default_an: Option<String>,
    vtex_timeout_ms: Option<u64>,
    dispatch_backoff_base_secs: Option<u64>,
    dispatch_backoff_max_secs: Option<u64>,
}

impl Config {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let e: Env = vars.load()?;
        Ok(Config {
            vtex_base_url: e
                .vtex_base_url
                .unwrap_or_else(|| PRODUCTION_BASE_URL.into()),
            default_an: e.default_an,
            vtex_timeout: Duration::from_millis(e.vtex_timeout_ms.unwrap_or(10_000)),
            backoff: Backoff {
                base: Duration::from_secs(e.dispatch_backoff_base_secs.unwrap_or(5)),
                max: Duration::from_secs(e.dispatch_backoff_max_secs.unwrap_or(900)),
            },
        })
    }
}

/// The queues and tables (`ORDERS_TABLE`, `CATALOG_TABLE`, `INVOICES_TABLE`, `DISPATCH_QUEUE_URL`,
/// `DISPATCH_DLQ_URL`), all required; the composition root's.
#[derive(Debug, Deserialize)]
pub struct Resources {
    pub orders_table: String,
    pub catalog_table: String,
    pub invoices_table: String,
    pub dispatch_queue_url: String,
    pub dispatch_dlq_url: String,
}

/// The ports the dispatcher uses, built once by the composition root (or a test, or the runner).
#[derive(Clone)]
pub struct Deps {
    pub orders: Arc<dyn OrderStore>,
    pub invoices: Arc<dyn InvoiceStore>,
    pub vtex: Arc<dyn MarketplaceOms>,
    pub queue: Arc<dyn DispatchQueue>,
    pub clock: Arc<dyn Clock>,
    pub default_an: Option<String>,
    pub backoff: Backoff,
}

impl Deps {
    pub fn dispatcher(&self) -> Dispatcher {
        Dispatcher {
            orders: self.orders.clone(),
            invoices: self.invoices.clone(),
            oms: self.vtex.clone(),
            clock: self.clock.clone(),
            default_an: self.default_an.clone(),
            backoff: self.backoff,
        }
    }
}

/// The Lambda handler: processes the batch (FIFO: a group's order kept) and reports what must
/// come back.
pub async fn handle(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    let dispatcher = &deps.dispatcher();
    let (queue, backoff) = (deps.queue.as_ref(), &deps.backoff);
    sqs::process_batch("dispatch", queue, backoff, &event, true, |d| async move {
        let done = dispatcher.process(d.attempt(), d.body.as_bytes()).await;
        if done.invoice_sent {
            lambda_kit::metrics::emit_for(
                "dispatch",
                &[("InvoicesSent", 1.0, lambda_kit::metrics::Unit::Count)],
            );
        }
        done.disposition
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    /// (variables, the setting read or the variable the error names)
    #[test]
    fn config_blank_is_unset_defaults_apply_and_bad_values_name_the_variable() {
        type Row = (
            &'static [(&'static str, &'static str)],
            Result<(u64, u64, u64), &'static str>,
        );
        let table: &[Row] = &[
            (&[], Ok((10_000, 5, 900))),
            (
                &[("VTEX_TIMEOUT_MS", " "), ("DISPATCH_BACKOFF_BASE_SECS", "")],
                Ok((10_000, 5, 900)),
            ),
            (
                &[
                    ("VTEX_TIMEOUT_MS", "250"),
                    ("DISPATCH_BACKOFF_MAX_SECS", "60"),
                ],
                Ok((250, 5, 60)),
            ),
            (&[("VTEX_TIMEOUT_MS", "soon")], Err("VTEX_TIMEOUT_MS")),
            (
                &[("DISPATCH_BACKOFF_BASE_SECS", "-1")],
                Err("DISPATCH_BACKOFF_BASE_SECS"),
            ),
        ];
        for (pairs, want) in table {
            match (
                Config::from_vars(&Vars::from_pairs(pairs.iter().copied())),
                want,
            ) {
                (Ok(c), Ok(v)) => assert_eq!(
                    (
                        c.vtex_timeout.as_millis() as u64,
                        c.backoff.base.as_secs(),
                        c.backoff.max.as_secs()
                    ),
                    *v,
                    "{pairs:?}"
                ),
                (Err(e), Err(var)) => assert!(e.0.contains(var), "{pairs:?}: {e}"),
                (got, _) => panic!("{pairs:?}: {got:?}"),
            }
        }
        let c = Config::from_vars(&Vars::from_pairs([
            ("VTEX_BASE_URL", " "),
            ("DEFAULT_AN", ""),
        ]));
        assert_eq!(c.unwrap(), Config::default(), "blank is unset");
        let r = [
            ("ORDERS_TABLE", "o"),
            ("CATALOG_TABLE", "c"),
            ("INVOICES_TABLE", "i"),
        ];
        let e = Vars::from_pairs(r).load::<Resources>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "configuration: DISPATCH_QUEUE_URL is not set"
        );
    }

    #[test]
    fn config_reads_the_environment_and_refuses_garbage() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            Vars::from_pairs(pairs.iter().copied())
        };
        let c = Config::from_vars(&env(&[])).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.vtex_base_url, PRODUCTION_BASE_URL);
        let c = Config::from_vars(&env(&[
            ("VTEX_BASE_URL", "http://127.0.0.1:8899"),
            ("DEFAULT_AN", "luxstore"),
            ("DISPATCH_BACKOFF_BASE_SECS", "1"),
        ]))
        .unwrap();
        assert_eq!(c.vtex_base_url, "http://127.0.0.1:8899");
        assert_eq!(c.default_an.as_deref(), Some("luxstore"));
        assert_eq!(c.backoff.base, Duration::from_secs(1));
        assert!(Config::from_vars(&env(&[("VTEX_TIMEOUT_MS", "soon")])).is_err());
    }
}
