//! The catalog-sync Lambda: the ERP's catalog messages from the catalog queue (SQS FIFO, one
//! message group per SKU) to the catalog store and to VTEX. The workflow is
//! [`domain::catalog_sync::CatalogSync`]; this crate is its configuration and SQS glue: each
//! message's outcome becomes a queue action ([`lambda_kit::sqs::settle`]), and a message left
//! unprocessed behind a failed one of its group is reported failed as it is.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use domain::catalog_notify::Coalescing;
use domain::catalog_sync::{CatalogSync, Received, SnapshotCounts};
use lambda_kit::config::{ConfigError, Vars};
use lambda_kit::metrics::{self, Unit};
use lambda_kit::sqs;
use serde::Deserialize;
use std::time::Duration;
use vtex::catalog::{CatalogEndpoints, PRODUCTION_SUGGESTIONS_BASE_URL, SuggestionSettings};

pub mod credentials;

pub use domain::catalog_sync::{Applied, Notifier, Sent};
pub use lambda_kit::sqs::{Backoff, Delivery, sqs_event, sqs_message};

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

/// The variables ([`lambda_kit::config`]).
#[derive(Deserialize)]
struct Env {
    vtex_seller_id: Option<String>,
    vtex_account: Option<String>,
    default_an: Option<String>,
    vtex_base_url: Option<String>,
    vtex_suggestions_base_url: Option<String>,
    vtex_timeout_ms: Option<u64>,
    catalog_notify_window_secs: Option<u64>,
    catalog_followup_grace_secs: Option<u64>,
    catalog_backoff_base_secs: Option<u64>,
    catalog_backoff_max_secs: Option<u64>,
    suggestion_currency: Option<String>,
    suggestion_currency_symbol: Option<String>,
}

/// The table and queues (all required); the composition root's.
#[derive(Debug, Deserialize)]
pub struct Resources {
    pub catalog_table: String,
    pub catalog_queue_url: String,
    pub catalog_dlq_url: String,
}

impl Config {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let e: Env = vars.load()?;
        let seconds = |k: &str, v: Option<u64>, default| {
            i64::try_from(v.unwrap_or(default))
                .ok()
                .and_then(chrono::Duration::try_seconds)
                .ok_or_else(|| ConfigError(format!("{k} is too large")))
        };
        let seller_id = e.vtex_seller_id.ok_or_else(|| {
            ConfigError("VTEX_SELLER_ID (our seller id in the marketplace) is not set".into())
        })?;
        let account = e.vtex_account.or(e.default_an).ok_or_else(|| {
            ConfigError("VTEX_ACCOUNT (or DEFAULT_AN), the marketplace account, is not set".into())
        })?;
        let currency = e.suggestion_currency.unwrap_or_else(|| "BRL".into());
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ConfigError(format!(
                "SUGGESTION_CURRENCY must be an ISO-4217 code like BRL, got {currency:?}"
            )));
        }
        let secs = |v: Option<u64>, default| Duration::from_secs(v.unwrap_or(default));
        Ok(Config {
            seller_id,
            account,
            vtex_base_url: e
                .vtex_base_url
                .unwrap_or_else(|| vtex::catalog::PRODUCTION_BASE_URL.into()),
            suggestions_base_url: e
                .vtex_suggestions_base_url
                .unwrap_or_else(|| PRODUCTION_SUGGESTIONS_BASE_URL.into()),
            vtex_timeout: Duration::from_millis(e.vtex_timeout_ms.unwrap_or(10_000)),
            coalescing: Coalescing {
                window: seconds(
                    "CATALOG_NOTIFY_WINDOW_SECS",
                    e.catalog_notify_window_secs,
                    60,
                )?,
                followup_grace: seconds(
                    "CATALOG_FOLLOWUP_GRACE_SECS",
                    e.catalog_followup_grace_secs,
                    900,
                )?,
            },
            backoff: Backoff {
                base: secs(e.catalog_backoff_base_secs, 5),
                max: secs(e.catalog_backoff_max_secs, 900),
            },
            currency,
            currency_symbol: e.suggestion_currency_symbol.unwrap_or_else(|| "R$".into()),
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

/// The worker's ports and settings are the domain's catalog synchronizer itself, built once by the
/// composition root (or a test, or the local runner).
pub type Deps = CatalogSync;

/// The Lambda handler: processes the batch and reports what must come back.
pub async fn handle(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    let deliveries = sqs::deliveries(&event);
    let batch: Vec<Received<'_>> = deliveries
        .iter()
        .map(|d| Received {
            attempt: d.attempt(),
            group_id: d.group_id,
            body: d.body.as_bytes(),
        })
        .collect();
    let (outcomes, counts) = deps.process_batch_counted(&batch).await;
    emit_snapshot_metrics(counts);
    let (queue, backoff) = (deps.queue.as_ref(), &deps.backoff);
    sqs::settle_all("catalog-sync", queue, backoff, &deliveries, outcomes).await
}

/// One EMF line per batch: the stock counts ignored as older than the stock, and those applied
/// unordered (no `asOf`), zeros included so the sums and alarms see the quiet batches.
fn emit_snapshot_metrics(counts: SnapshotCounts) {
    metrics::emit_for(
        "catalog-sync",
        &[
            (STALE_METRIC, f64::from(counts.stale), Unit::Count),
            (UNORDERED_METRIC, f64::from(counts.unordered), Unit::Count),
        ],
    );
}

/// Stock counts ignored as older than the last applied count or a shipment since (issue 12).
pub const STALE_METRIC: &str = "StockCountsStale";
/// Stock counts without `asOf`, applied in arrival order.
pub const UNORDERED_METRIC: &str = "StockCountsUnordered";

#[cfg(test)]
mod tests {
    use super::*;
    /// (variables, the setting read or the variable the error names)
    #[test]
    fn config_blank_is_unset_defaults_apply_and_required_missing_names_the_variable() {
        type Row = (
            &'static [(&'static str, &'static str)],
            Result<(&'static str, i64, &'static str), &'static str>,
        );
        let table: &[Row] = &[
            (
                &[("VTEX_SELLER_ID", "s1"), ("DEFAULT_AN", "mkp")],
                Ok(("mkp", 60, "BRL")),
            ),
            (
                &[
                    ("VTEX_SELLER_ID", "s1"),
                    ("VTEX_ACCOUNT", " "),
                    ("DEFAULT_AN", "mkp"),
                    ("SUGGESTION_CURRENCY", ""),
                ],
                Ok(("mkp", 60, "BRL")),
            ),
            (
                &[
                    ("VTEX_SELLER_ID", "s1"),
                    ("VTEX_ACCOUNT", "a"),
                    ("CATALOG_NOTIFY_WINDOW_SECS", "5"),
                ],
                Ok(("a", 5, "BRL")),
            ),
            (
                &[("VTEX_SELLER_ID", " "), ("VTEX_ACCOUNT", "a")],
                Err("VTEX_SELLER_ID"),
            ),
            (
                &[("VTEX_SELLER_ID", "s1"), ("DEFAULT_AN", "")],
                Err("VTEX_ACCOUNT"),
            ),
            (
                &[
                    ("VTEX_SELLER_ID", "s1"),
                    ("VTEX_ACCOUNT", "a"),
                    ("VTEX_TIMEOUT_MS", "x"),
                ],
                Err("VTEX_TIMEOUT_MS"),
            ),
            (
                &[
                    ("VTEX_SELLER_ID", "s1"),
                    ("VTEX_ACCOUNT", "a"),
                    ("CATALOG_FOLLOWUP_GRACE_SECS", "18446744073709551615"),
                ],
                Err("CATALOG_FOLLOWUP_GRACE_SECS"),
            ),
        ];
        for (pairs, want) in table {
            match (
                Config::from_vars(&Vars::from_pairs(pairs.iter().copied())),
                want,
            ) {
                (Ok(c), Ok(v)) => assert_eq!(
                    (
                        c.account.as_str(),
                        c.coalescing.window.num_seconds(),
                        c.currency.as_str()
                    ),
                    *v,
                    "{pairs:?}"
                ),
                (Err(e), Err(var)) => assert!(e.0.contains(var), "{pairs:?}: {e}"),
                (got, _) => panic!("{pairs:?}: {got:?}"),
            }
        }
        let r = [
            ("CATALOG_TABLE", "c"),
            ("CATALOG_QUEUE_URL", "q"),
            ("CATALOG_DLQ_URL", " "),
        ];
        let e = Vars::from_pairs(r).load::<Resources>().unwrap_err();
        assert_eq!(e.to_string(), "configuration: CATALOG_DLQ_URL is not set");
    }

    fn lookup(pairs: &[(&str, &str)]) -> Vars {
        Vars::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn config_needs_the_seller_and_account_and_reads_defaults() {
        assert!(Config::from_vars(&lookup(&[])).is_err());
        assert!(Config::from_vars(&lookup(&[("VTEX_SELLER_ID", "s1")])).is_err());
        let c = Config::from_vars(&lookup(&[
            ("VTEX_SELLER_ID", "s1"),
            ("DEFAULT_AN", "luxstore"),
        ]))
        .unwrap();
        assert_eq!(c.account, "luxstore");
        assert_eq!(c.coalescing, Coalescing::default());
        assert_eq!(c.suggestions_base_url, "https://api.vtex.com/{an}");
        assert_eq!(c.currency, "BRL");
        let c = Config::from_vars(&lookup(&[
            ("VTEX_SELLER_ID", "s1"),
            ("VTEX_ACCOUNT", "mkp"),
            ("DEFAULT_AN", "other"),
            ("CATALOG_NOTIFY_WINDOW_SECS", "5"),
        ]))
        .unwrap();
        assert_eq!(c.account, "mkp");
        assert_eq!(c.coalescing.window, chrono::Duration::seconds(5));
        assert!(
            Config::from_vars(&lookup(&[
                ("VTEX_SELLER_ID", "s1"),
                ("VTEX_ACCOUNT", "mkp"),
                ("SUGGESTION_CURRENCY", "real"),
            ]))
            .is_err()
        );
    }
}
