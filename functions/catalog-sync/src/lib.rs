//! The catalog-sync Lambda: the ERP's catalog messages from the catalog queue (SQS FIFO, one
//! message group per SKU) to the catalog store and to VTEX. The workflow is
//! [`domain::catalog_sync::CatalogSync`]; this crate is its configuration and SQS glue: each
//! message's outcome becomes a queue action ([`lambda_kit::sqs::settle`]), and a message left
//! unprocessed behind a failed one of its group is reported failed as it is.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use domain::catalog_notify::{Coalescing, FollowUpQueue, SyncStateStore};
use domain::catalog_sync::{CatalogSync, Received};
use domain::clock::Clock;
use domain::erp::DispatchQueue;
use domain::ports::{CatalogReader, CatalogWriter};
use lambda_kit::config::Settings;
use lambda_kit::sqs;
use std::sync::Arc;
use std::time::Duration;
use vtex::catalog::{CatalogEndpoints, PRODUCTION_SUGGESTIONS_BASE_URL, SuggestionSettings};

pub mod credentials;

pub use domain::catalog_sync::{Applied, Notifier, Sent};
pub use lambda_kit::sqs::{Backoff, Delivery, sqs_event, sqs_message};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("catalog-sync configuration: {0}")]
pub struct ConfigError(pub String);

/// Configuration, read once from the environment by the composition root.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `VTEX_SELLER_ID`: our seller id in the marketplace (required).
    pub seller_id: String,
    /// `VTEX_ACCOUNT`, else `DEFAULT_AN`: the marketplace account (required).
    pub account: String,
    /// `VTEX_BASE_URL` (default `https://{an}.vtexcommercestable.com.br`).
    pub vtex_base_url: String,
    /// `VTEX_SUGGESTIONS_BASE_URL` (default `https://api.vtex.com/{an}`).
    pub suggestions_base_url: String,
    /// `VTEX_TIMEOUT_MS` (default 10000).
    pub vtex_timeout: Duration,
    /// `CATALOG_NOTIFY_WINDOW_SECS` (default 60) and `CATALOG_FOLLOWUP_GRACE_SECS` (default 900).
    pub coalescing: Coalescing,
    /// `CATALOG_BACKOFF_BASE_SECS` (default 5) and `CATALOG_BACKOFF_MAX_SECS` (default 900).
    pub backoff: Backoff,
    /// `SUGGESTION_CURRENCY` (default `BRL`) and `SUGGESTION_CURRENCY_SYMBOL` (default `R$`).
    pub currency: String,
    pub currency_symbol: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Settings::new(get);
        let value = |k: &str| env.value(k);
        let number = |k: &str, default: u64| env.number(k, default).map_err(ConfigError);
        let seconds = |k: &str, default: u64| -> Result<chrono::Duration, ConfigError> {
            let n = number(k, default)?;
            i64::try_from(n)
                .ok()
                .and_then(chrono::Duration::try_seconds)
                .ok_or_else(|| ConfigError(format!("{k} is too large")))
        };
        let seller_id = value("VTEX_SELLER_ID").ok_or_else(|| {
            ConfigError("VTEX_SELLER_ID (our seller id in the marketplace) is not set".into())
        })?;
        let account = value("VTEX_ACCOUNT")
            .or_else(|| value("DEFAULT_AN"))
            .ok_or_else(|| {
                ConfigError(
                    "VTEX_ACCOUNT (or DEFAULT_AN), the marketplace account, is not set".into(),
                )
            })?;
        let currency = value("SUGGESTION_CURRENCY").unwrap_or_else(|| "BRL".into());
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ConfigError(format!(
                "SUGGESTION_CURRENCY must be an ISO-4217 code like BRL, got {currency:?}"
            )));
        }
        Ok(Config {
            seller_id,
            account,
            vtex_base_url: value("VTEX_BASE_URL")
                .unwrap_or_else(|| vtex::catalog::PRODUCTION_BASE_URL.into()),
            suggestions_base_url: value("VTEX_SUGGESTIONS_BASE_URL")
                .unwrap_or_else(|| PRODUCTION_SUGGESTIONS_BASE_URL.into()),
            vtex_timeout: Duration::from_millis(number("VTEX_TIMEOUT_MS", 10_000)?),
            coalescing: Coalescing {
                window: seconds("CATALOG_NOTIFY_WINDOW_SECS", 60)?,
                followup_grace: seconds("CATALOG_FOLLOWUP_GRACE_SECS", 900)?,
            },
            backoff: Backoff {
                base: Duration::from_secs(number("CATALOG_BACKOFF_BASE_SECS", 5)?),
                max: Duration::from_secs(number("CATALOG_BACKOFF_MAX_SECS", 900)?),
            },
            currency,
            currency_symbol: value("SUGGESTION_CURRENCY_SYMBOL").unwrap_or_else(|| "R$".into()),
        })
    }

    pub fn endpoints(&self) -> CatalogEndpoints {
        CatalogEndpoints {
            base_url: self.vtex_base_url.clone(),
            suggestions_base_url: self.suggestions_base_url.clone(),
            account: self.account.clone(),
            seller_id: self.seller_id.clone(),
        }
    }

    pub fn suggestion_settings(&self) -> SuggestionSettings {
        SuggestionSettings {
            seller_id: self.seller_id.clone(),
            account: self.account.clone(),
            currency: self.currency.clone(),
            currency_symbol: self.currency_symbol.clone(),
        }
    }
}

/// The ports the worker uses, built once by the composition root (or a test, or the runner).
#[derive(Clone)]
pub struct Deps {
    pub catalog: Arc<dyn CatalogReader>,
    pub writer: Arc<dyn CatalogWriter>,
    pub sync: Arc<dyn SyncStateStore>,
    /// DLQ and visibility of the catalog queue.
    pub queue: Arc<dyn DispatchQueue>,
    /// Where follow-ups go: the catalog queue itself.
    pub followups: Arc<dyn FollowUpQueue>,
    pub notifier: Notifier,
    pub clock: Arc<dyn Clock>,
    pub coalescing: Coalescing,
    pub backoff: Backoff,
}

impl Deps {
    pub fn synchronizer(&self) -> CatalogSync {
        CatalogSync {
            catalog: self.catalog.clone(),
            writer: self.writer.clone(),
            sync: self.sync.clone(),
            queue: self.queue.clone(),
            followups: self.followups.clone(),
            notifier: self.notifier.clone(),
            clock: self.clock.clone(),
            coalescing: self.coalescing,
            backoff: self.backoff,
        }
    }
}

/// The Lambda handler: processes the batch and reports what must come back.
pub async fn handle(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    let deliveries: Vec<Delivery<'_>> = event
        .records
        .iter()
        .filter_map(|r| {
            let d = Delivery::of(r);
            if d.is_none() {
                tracing::error!("SQS record without messageId or receiptHandle: skipped");
            }
            d
        })
        .collect();
    let batch: Vec<Received<'_>> = deliveries
        .iter()
        .map(|d| Received {
            attempt: d.attempt(),
            group_id: d.group_id,
            body: d.body.as_bytes(),
        })
        .collect();
    let outcomes = deps.synchronizer().process_batch(&batch).await;
    let mut response = SqsBatchResponse::default();
    for (d, outcome) in deliveries.iter().zip(outcomes) {
        let comes_back = match outcome {
            // Left behind a failed message of its group: it comes back as it is.
            None => true,
            Some(disposition) => sqs::settle(
                "catalog-sync",
                deps.queue.as_ref(),
                &deps.backoff,
                d,
                disposition,
            )
            .await
            .is_some(),
        };
        if comes_back {
            response.add_failure(d.message_id);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let m: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn config_needs_the_seller_and_account_and_reads_defaults() {
        assert!(Config::from_lookup(lookup(&[])).is_err());
        assert!(Config::from_lookup(lookup(&[("VTEX_SELLER_ID", "s1")])).is_err());
        let c = Config::from_lookup(lookup(&[
            ("VTEX_SELLER_ID", "s1"),
            ("DEFAULT_AN", "luxstore"),
        ]))
        .unwrap();
        assert_eq!(c.account, "luxstore");
        assert_eq!(c.coalescing, Coalescing::default());
        assert_eq!(c.suggestions_base_url, "https://api.vtex.com/{an}");
        assert_eq!(c.currency, "BRL");
        let c = Config::from_lookup(lookup(&[
            ("VTEX_SELLER_ID", "s1"),
            ("VTEX_ACCOUNT", "mkp"),
            ("DEFAULT_AN", "other"),
            ("CATALOG_NOTIFY_WINDOW_SECS", "5"),
        ]))
        .unwrap();
        assert_eq!(c.account, "mkp");
        assert_eq!(c.coalescing.window, chrono::Duration::seconds(5));
        assert!(
            Config::from_lookup(lookup(&[
                ("VTEX_SELLER_ID", "s1"),
                ("VTEX_ACCOUNT", "mkp"),
                ("SUGGESTION_CURRENCY", "real"),
            ]))
            .is_err()
        );
    }
}
