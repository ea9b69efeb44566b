//! The import Lambda: external orders from the import queue into the seller's own VTEX account.
//! The workflow is [`domain::import::importer::Importer`]; this crate is its configuration and SQS
//! glue: each record becomes a [`Disposition`] and then a queue action
//! ([`lambda_kit::sqs::settle`]): deleted when done; back after the back-off (reported in
//! `batchItemFailures`, and after `maxReceiveCount` receives SQS parks it in the DLQ); or copied to
//! the DLQ with the reason when refused.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use domain::clock::Clock;
use domain::erp::DispatchQueue;
use domain::import::importer::{Importer, ImporterConfig};
use domain::import::{self, ImportQueue, ImportStore, ImportTiming};
use domain::outbound::OwnAccount;
use domain::ports::OrderStore;
use lambda_kit::config::{ConfigError, Vars};
use lambda_kit::sqs;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use vtex::client::PRODUCTION_BASE_URL;

pub use lambda_kit::sqs::{Backoff, Delivery, Disposition, sqs_event, sqs_message};

/// Configuration, read once from the environment by the composition root.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `IMPORT_VTEX_ACCOUNT`: the seller's own VTEX account name (required).
    pub account: String,
    /// `IMPORT_VTEX_BASE_URL`: default the production host of the account; point it at the stand-in
    /// for local runs.
    pub vtex_base_url: String,
    /// `IMPORT_VTEX_TIMEOUT_MS` (default 10000).
    pub vtex_timeout: Duration,
    /// The `marketplaceServicesEndpoint` sent with every order: `IMPORT_MSE_URL`, or (in the
    /// deployed stack) `IMPORT_MSE_BASE_URL` + `/` + the inbound path secret (see `main.rs`).
    pub mse_url: String,
    /// `IMPORT_AFFILIATE_ID`: for messages without `affiliateId`.
    pub default_affiliate: Option<String>,
    /// `IMPORT_SALES_CHANNEL` (default `1`): for orders without `salesChannel`.
    pub default_sales_channel: String,
    /// `IMPORT_GRACE_SECONDS` (1800), `IMPORT_NOT_READY_RETRY_SECONDS` (300),
    /// `IMPORT_GIVE_UP_SECONDS` (86400).
    pub timing: ImportTiming,
    /// `IMPORT_BACKOFF_BASE_SECS` (5) and `IMPORT_BACKOFF_MAX_SECS` (900).
    pub backoff: Backoff,
}

/// The variables ([`lambda_kit::config`]).
#[derive(Deserialize)]
struct Env {
    import_vtex_account: Option<String>,
    import_vtex_base_url: Option<String>,
    import_vtex_timeout_ms: Option<u64>,
    import_mse_url: Option<String>,
    import_affiliate_id: Option<String>,
    import_sales_channel: Option<String>,
    import_grace_seconds: Option<u64>,
    import_not_ready_retry_seconds: Option<u64>,
    import_give_up_seconds: Option<u64>,
    import_backoff_base_secs: Option<u64>,
    import_backoff_max_secs: Option<u64>,
}

/// The tables and queues (all required) and where the mse comes from; the composition root's.
#[derive(Debug, Deserialize)]
pub struct Resources {
    pub imports_table: String,
    pub orders_table: String,
    pub catalog_table: String,
    pub import_queue_url: String,
    pub import_dlq_url: String,
    /// `IMPORT_MSE_BASE_URL`: needed when `IMPORT_MSE_URL` is unset.
    pub import_mse_base_url: Option<String>,
}

impl Config {
    /// The mse may still be empty here: `main.rs` builds it from the inbound secret when
    /// `IMPORT_MSE_URL` is unset; [`Config::check`] refuses it empty.
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let e: Env = vars.load()?;
        if let Some(a) = &e.import_affiliate_id {
            import::check_affiliate_id(a)
                .map_err(|e| ConfigError(format!("IMPORT_AFFILIATE_ID: {e}")))?;
        }
        let secs = |v: Option<u64>, default| Duration::from_secs(v.unwrap_or(default));
        Ok(Config {
            account: e.import_vtex_account.unwrap_or_default(),
            vtex_base_url: e
                .import_vtex_base_url
                .unwrap_or_else(|| PRODUCTION_BASE_URL.into()),
            vtex_timeout: Duration::from_millis(e.import_vtex_timeout_ms.unwrap_or(10_000)),
            mse_url: e.import_mse_url.unwrap_or_default(),
            default_affiliate: e.import_affiliate_id,
            default_sales_channel: e.import_sales_channel.unwrap_or_else(|| "1".into()),
            timing: ImportTiming {
                grace: secs(e.import_grace_seconds, 1800),
                not_ready_retry: secs(e.import_not_ready_retry_seconds, 300),
                give_up_after: secs(e.import_give_up_seconds, 86_400),
            },
            backoff: Backoff {
                base: secs(e.import_backoff_base_secs, 5),
                max: secs(e.import_backoff_max_secs, 900),
            },
        })
    }

    /// Refuses a configuration that cannot work: no account, or an mse that is not a URL.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.account.is_empty()
            || !self
                .account
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(ConfigError(
                "IMPORT_VTEX_ACCOUNT must name the seller's VTEX account".into(),
            ));
        }
        match url::Url::parse(&self.mse_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
            _ => Err(ConfigError(
                "the marketplaceServicesEndpoint (IMPORT_MSE_URL, or IMPORT_MSE_BASE_URL + the inbound path secret) must be an http(s) URL".into(),
            )),
        }
    }

    /// `{base}/{secret}`: the mse of the deployed stack, `…{BasePath}/{secret}`, to which VTEX
    /// appends `/pub/orders/{orderId}/invoice`.
    pub fn mse_from_base(base: &str, path_secret: &str) -> String {
        format!("{}/{}", base.trim_end_matches('/'), path_secret)
    }
}

/// The ports the worker uses, built once by the composition root (or a test, or the runner).
#[derive(Clone)]
pub struct Deps {
    pub imports: Arc<dyn ImportStore>,
    /// Only `append_log` is used: the import's log lives in the order log.
    pub log: Arc<dyn OrderStore>,
    /// Holds the seller's OWN account credentials.
    pub vtex: Arc<dyn OwnAccount>,
    /// The import queue's DLQ and back-off.
    pub queue: Arc<dyn DispatchQueue>,
    /// The import queue, for the worker's own messages.
    pub scheduler: Arc<dyn ImportQueue>,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
}

impl Deps {
    pub fn importer(&self) -> Importer {
        let c = &self.config;
        Importer {
            imports: self.imports.clone(),
            log: self.log.clone(),
            vtex: self.vtex.clone(),
            scheduler: self.scheduler.clone(),
            clock: self.clock.clone(),
            config: ImporterConfig {
                account: c.account.clone(),
                mse_url: c.mse_url.clone(),
                default_affiliate: c.default_affiliate.clone(),
                default_sales_channel: c.default_sales_channel.clone(),
                timing: c.timing,
                backoff: c.backoff,
            },
        }
    }
}

/// The Lambda handler: processes the batch (a standard queue: no ordering between messages) and
/// reports what must come back.
pub async fn handle(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    let importer = &deps.importer();
    let (queue, backoff) = (deps.queue.as_ref(), &deps.config.backoff);
    sqs::process_batch("order-import", queue, backoff, &event, false, |d| {
        importer.process(d.attempt(), d.body.as_bytes())
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
            (&[], Ok((1800, 300, 86_400))),
            (
                &[
                    ("IMPORT_GRACE_SECONDS", " "),
                    ("IMPORT_GIVE_UP_SECONDS", ""),
                ],
                Ok((1800, 300, 86_400)),
            ),
            (
                &[
                    ("IMPORT_GRACE_SECONDS", "0"),
                    ("IMPORT_NOT_READY_RETRY_SECONDS", "9"),
                ],
                Ok((0, 9, 86_400)),
            ),
            (
                &[("IMPORT_GRACE_SECONDS", "half")],
                Err("IMPORT_GRACE_SECONDS"),
            ),
            (
                &[("IMPORT_VTEX_TIMEOUT_MS", "1.5")],
                Err("IMPORT_VTEX_TIMEOUT_MS"),
            ),
            (
                &[("IMPORT_AFFILIATE_ID", "EXTERNAL")],
                Err("IMPORT_AFFILIATE_ID"),
            ),
        ];
        for (pairs, want) in table {
            match (
                Config::from_vars(&Vars::from_pairs(pairs.iter().copied())),
                want,
            ) {
                (Ok(c), Ok(v)) => assert_eq!(
                    (
                        c.timing.grace.as_secs(),
                        c.timing.not_ready_retry.as_secs(),
                        c.timing.give_up_after.as_secs()
                    ),
                    *v,
                    "{pairs:?}"
                ),
                (Err(e), Err(var)) => assert!(e.0.contains(var), "{pairs:?}: {e}"),
                (got, _) => panic!("{pairs:?}: {got:?}"),
            }
        }
        let blank = [
            ("IMPORT_AFFILIATE_ID", " "),
            ("IMPORT_SALES_CHANNEL", ""),
            ("IMPORT_MSE_URL", " "),
        ];
        let c = Config::from_vars(&Vars::from_pairs(blank)).unwrap();
        assert_eq!(
            (c.default_affiliate, c.default_sales_channel, c.mse_url),
            (None, "1".into(), "".into())
        );
        let r = [
            ("IMPORTS_TABLE", "i"),
            ("ORDERS_TABLE", "o"),
            ("CATALOG_TABLE", "c"),
            ("IMPORT_QUEUE_URL", "q"),
        ];
        let e = Vars::from_pairs(r).load::<Resources>().unwrap_err();
        assert_eq!(e.to_string(), "configuration: IMPORT_DLQ_URL is not set");
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> Vars {
        Vars::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn config_defaults_follow_vtex_and_check_refuses_what_cannot_work() {
        let c = Config::from_vars(&env(&[])).unwrap();
        assert_eq!(c.timing, ImportTiming::default());
        assert_eq!(c.default_sales_channel, "1");
        assert!(c.check().is_err(), "no account, no mse");
        let c = Config::from_vars(&env(&[
            ("IMPORT_VTEX_ACCOUNT", "myshop"),
            ("IMPORT_MSE_URL", "https://api.example.com/vtex/s3cr3t"),
            ("IMPORT_AFFILIATE_ID", "EXT"),
            ("IMPORT_GRACE_SECONDS", "0"),
        ]))
        .unwrap();
        assert!(c.check().is_ok());
        assert_eq!(c.timing.grace, Duration::ZERO);
        assert_eq!(c.default_affiliate.as_deref(), Some("EXT"));
        assert!(Config::from_vars(&env(&[("IMPORT_AFFILIATE_ID", "EXTERNAL")])).is_err());
        assert!(Config::from_vars(&env(&[("IMPORT_GRACE_SECONDS", "half")])).is_err());
        let mut bad = c.clone();
        bad.mse_url = "ftp://x".into();
        assert!(bad.check().is_err());
    }

    #[test]
    fn mse_is_the_base_path_plus_the_secret_segment() {
        assert_eq!(
            Config::mse_from_base(
                "https://abc.execute-api.us-east-1.amazonaws.com/vtex/",
                "s3cr3t"
            ),
            "https://abc.execute-api.us-east-1.amazonaws.com/vtex/s3cr3t"
        );
    }
}
