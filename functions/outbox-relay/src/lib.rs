//! Outbox relay: delivers the ERP order events the order saves wrote to the outbox table
//! ([`domain::outbox`]) to the ERP queue, each at least once with its stable event id, then
//! deletes its record.
//!
//! Two triggers, one function (it alone may send to the ERP queue and delete outbox records):
//! - the outbox table's DynamoDB stream (keys only): each INSERT / MODIFY names an event id; the
//!   record is re-read (consistently) and delivered if still there. A failure is reported as a
//!   batch item failure, so Lambda retries from that record; the records after it in the shard
//!   wait behind it, which keeps one order's events in the order they were written;
//! - an EventBridge schedule: the re-drive of every record older than `REDRIVE_MIN_AGE_SECS`
//!   (what the stream gave up on, or a stream that was off), oldest first. A run with failures
//!   fails, so the error metric and its alarm see it.
//!
//! Nothing here is Lambda-specific: the local runner drives the same relay on its own loop.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use domain::outbox::{Delivery, OutboxRelay, RelayReport};
use domain::ports::StoreError;
use lambda_kit::config::{ConfigError, Vars};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use tracing::Instrument;

/// Settings read once per cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `REDRIVE_MIN_AGE_SECS` (default 60): the scheduled re-drive leaves younger records to the
    /// stream, so the two rarely send one event twice.
    pub redrive_min_age: chrono::Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            redrive_min_age: chrono::Duration::seconds(60),
        }
    }
}

impl Config {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let secs: i64 = lambda_kit::config::parse_or(
            "REDRIVE_MIN_AGE_SECS",
            vars.get("REDRIVE_MIN_AGE_SECS"),
            60,
        )?;
        if !(0..=86_400).contains(&secs) {
            return Err(ConfigError(format!(
                "REDRIVE_MIN_AGE_SECS must be between 0 and 86400, got {secs}"
            )));
        }
        Ok(Config {
            redrive_min_age: chrono::Duration::seconds(secs),
        })
    }
}

/// The relay and its settings, built once by the composition root (or a test).
#[derive(Debug, Clone)]
pub struct Deps {
    pub relay: OutboxRelay,
    pub config: Config,
}

/// A DynamoDB stream batch, as much of it as the relay reads.
#[derive(Debug, Clone, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records")]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamRecord {
    /// `INSERT`, `MODIFY` or `REMOVE`.
    #[serde(rename = "eventName")]
    pub event_name: String,
    pub dynamodb: StreamData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamData {
    /// `{"pk": {"S": "<event id>"}}`.
    #[serde(rename = "Keys")]
    pub keys: HashMap<String, HashMap<String, Value>>,
    #[serde(rename = "SequenceNumber")]
    pub sequence_number: String,
}

impl StreamRecord {
    fn event_id(&self) -> Option<&str> {
        self.dynamodb.keys.get("pk")?.get("S")?.as_str()
    }
}

/// The partial batch answer of a stream invocation (`ReportBatchItemFailures`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Neither a stream batch nor a scheduled event.
    #[error("unrecognised event: {0}")]
    BadEvent(String),
    /// The outbox could not be listed; nothing was delivered. The next run retries.
    #[error("re-drive failed: {0}")]
    Store(#[from] StoreError),
    /// Some records could not be delivered; they stay in the outbox for the next run.
    #[error(
        "re-drive incomplete: {} record(s) failed, {} delivered",
        report.failed.len(),
        report.delivered
    )]
    Incomplete { report: RelayReport },
}

/// One invocation, whichever trigger sent it. The answer is the stream's partial batch response
/// or the re-drive's report.
pub async fn handle(deps: &Deps, event: Value) -> Result<Value, RelayError> {
    if event.get("Records").is_some() {
        let batch: StreamEvent =
            serde_json::from_value(event).map_err(|e| RelayError::BadEvent(e.to_string()))?;
        let answer = handle_stream(deps, &batch).await;
        return Ok(serde_json::to_value(answer).unwrap_or(Value::Null));
    }
    if event.get("detail-type").is_none() {
        return Err(RelayError::BadEvent(
            "neither a stream batch (Records) nor a scheduled event (detail-type)".into(),
        ));
    }
    let scheduled: EventBridgeEvent =
        serde_json::from_value(event).map_err(|e| RelayError::BadEvent(e.to_string()))?;
    let report = handle_schedule(deps, &scheduled).await?;
    Ok(serde_json::to_value(report).unwrap_or(Value::Null))
}

/// Delivers what each INSERT / MODIFY names, in shard order, stopping at the first failure.
pub async fn handle_stream(deps: &Deps, batch: &StreamEvent) -> StreamResponse {
    let span = tracing::info_span!("outbox_stream", records = batch.records.len());
    async {
        for record in &batch.records {
            // The relay's own deletes come back as REMOVE records: nothing is owed for them.
            if record.event_name == "REMOVE" {
                continue;
            }
            let Some(event_id) = record.event_id() else {
                tracing::error!(sequence = %record.dynamodb.sequence_number, "stream record without a pk; skipped");
                continue;
            };
            match deps.relay.deliver(event_id).await {
                Ok(Delivery::Delivered | Delivery::DeliveredElsewhere) => {}
                Ok(Delivery::NothingPending) => {
                    tracing::info!(event_id, "outbox: already delivered");
                }
                Err(e) => {
                    tracing::error!(event_id, error = %e, "outbox: delivery failed; the stream retries from here");
                    return StreamResponse {
                        batch_item_failures: vec![ItemFailure {
                            item_identifier: record.dynamodb.sequence_number.clone(),
                        }],
                    };
                }
            }
        }
        StreamResponse::default()
    }
    .instrument(span)
    .await
}

/// The scheduled re-drive. The event's content does not matter; "now" is the relay's clock.
pub async fn handle_schedule(
    deps: &Deps,
    event: &EventBridgeEvent,
) -> Result<RelayReport, RelayError> {
    let span = tracing::info_span!(
        "outbox_redrive",
        event_id = event.id.as_deref().unwrap_or("-"),
    );
    let report = deps
        .relay
        .redrive(deps.config.redrive_min_age)
        .instrument(span)
        .await?;
    if report.failed.is_empty() {
        Ok(report)
    } else {
        Err(RelayError::Incomplete { report })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_reads_and_refuses_out_of_range_ages() {
        let ok =
            |pairs: &[(&str, &str)]| Config::from_vars(&Vars::from_pairs(pairs.iter().copied()));
        assert_eq!(ok(&[]).unwrap(), Config::default());
        assert_eq!(
            ok(&[("REDRIVE_MIN_AGE_SECS", " 300 ")])
                .unwrap()
                .redrive_min_age,
            chrono::Duration::seconds(300)
        );
        for bad in ["-1", "86401", "soon"] {
            let e = ok(&[("REDRIVE_MIN_AGE_SECS", bad)]).unwrap_err();
            assert!(e.0.contains("REDRIVE_MIN_AGE_SECS"), "{bad}: {e}");
        }
    }
}
