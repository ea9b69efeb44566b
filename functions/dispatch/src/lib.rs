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
use lambda_kit::config::Settings;
use lambda_kit::sqs;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use vtex::client::PRODUCTION_BASE_URL;

pub use domain::dispatch::steps;
pub use lambda_kit::sqs::{Backoff, Delivery, Disposition, sqs_event, sqs_message};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dispatch configuration: {0}")]
pub struct ConfigError(pub String);

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

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Settings::new(get);
        let value = |k: &str| env.value(k);
        let number = |k: &str, default: u64| env.number(k, default).map_err(ConfigError);
        let d = Config::default();
        Ok(Config {
            vtex_base_url: value("VTEX_BASE_URL").unwrap_or(d.vtex_base_url),
            default_an: value("DEFAULT_AN"),
            vtex_timeout: Duration::from_millis(number("VTEX_TIMEOUT_MS", 10_000)?),
            backoff: Backoff {
                base: Duration::from_secs(number("DISPATCH_BACKOFF_BASE_SECS", 5)?),
                max: Duration::from_secs(number("DISPATCH_BACKOFF_MAX_SECS", 900)?),
            },
        })
    }
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

/// The Lambda handler: processes the batch and reports what must come back.
pub async fn handle(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    let dispatcher = deps.dispatcher();
    let mut response = SqsBatchResponse::default();
    // Groups with a failed message in this batch, and when that message comes back.
    let mut blocked: HashMap<String, Duration> = HashMap::new();
    for record in &event.records {
        let Some(delivery) = Delivery::of(record) else {
            tracing::error!("SQS record without messageId or receiptHandle: skipped");
            continue;
        };
        if let Some(delay) = delivery.group_id.and_then(|g| blocked.get(g)) {
            // Back with its predecessor, not after the queue's full visibility timeout.
            if let Err(e) = deps
                .queue
                .retry_later(delivery.receipt_handle, *delay)
                .await
            {
                tracing::warn!(message_id = delivery.message_id, error = %e, "could not set the back-off");
            }
            response.add_failure(delivery.message_id);
            continue;
        }
        let done = dispatcher
            .process(delivery.attempt(), delivery.body.as_bytes())
            .await;
        if done.invoice_sent {
            lambda_kit::metrics::emit_for(
                "dispatch",
                &[("InvoicesSent", 1.0, lambda_kit::metrics::Unit::Count)],
            );
        }
        let settled = sqs::settle(
            "dispatch",
            deps.queue.as_ref(),
            &deps.backoff,
            &delivery,
            done.disposition,
        )
        .await;
        if let Some(delay) = settled {
            response.add_failure(delivery.message_id);
            if let Some(g) = delivery.group_id {
                blocked.insert(g.to_string(), delay);
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_reads_the_environment_and_refuses_garbage() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let c = Config::from_lookup(env(&[])).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.vtex_base_url, PRODUCTION_BASE_URL);
        let c = Config::from_lookup(env(&[
            ("VTEX_BASE_URL", "http://127.0.0.1:8899"),
            ("DEFAULT_AN", "luxstore"),
            ("DISPATCH_BACKOFF_BASE_SECS", "1"),
        ]))
        .unwrap();
        assert_eq!(c.vtex_base_url, "http://127.0.0.1:8899");
        assert_eq!(c.default_an.as_deref(), Some("luxstore"));
        assert_eq!(c.backoff.base, Duration::from_secs(1));
        assert!(Config::from_lookup(env(&[("VTEX_TIMEOUT_MS", "soon")])).is_err());
    }
}
