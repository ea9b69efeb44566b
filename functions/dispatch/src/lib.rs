//! The dispatch worker: ERP messages from the dispatch queue (SQS FIFO, one group per order) to
//! VTEX's OMS — invoices, tracking, carrier events, seller cancellations (CONTRACT.md §6.4–§6.7).
//!
//! Per message: parse ([`domain::erp`]) → resolve the order → decide ([`domain::invoicing`]) →
//! record *Pending* → call VTEX → record *Sent* → bring the order status in line → log. The
//! outcome of each message is one of:
//! - done: the event-source mapping deletes it;
//! - retry (429 / 5xx / timeout / store trouble): its visibility is set to the back-off (VTEX's
//!   `Retry-After` when given) and it is reported in `batchItemFailures`; after `maxReceiveCount`
//!   receives SQS moves it to the DLQ;
//! - rule break or VTEX 4xx: logged (Alert / Error), copied to the DLQ with the reason, and
//!   reported done so the original is deleted. `dispatch-redrive` moves parked messages back.
//!
//! Within one batch, once a message of a group fails, the group's later messages are reported
//! failed without being processed, so an order's messages keep their order (FIFO contract).

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use domain::clock::Clock;
use domain::erp::{self, DispatchQueue, ErpCommand, ErpMessage, OrderRef};
use domain::invoice_store::{CreateOutcome, InvoiceStore, RecordSave};
use domain::invoicing::{
    self, Decision, Invoice, InvoiceRecord, InvoiceSend, SendState, TrackingInfo, TrackingRecord,
    TrackingStatus,
};
use domain::order::{LogEntry, Order, OrderStatus, Outcome};
use domain::ports::{OrderStore, SaveOutcome, StoreError};
use lambda_kit::config::Settings;
use lambda_kit::sqs;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use vtex::client::{CallOutcome, ClientError, PRODUCTION_BASE_URL, VtexClient};
use vtex::oms::{CancelRequest, InvoiceRequest, OmsReceipt, TrackingPatch, TrackingStatusRequest};

#[cfg(feature = "local")]
pub mod local;

pub use lambda_kit::sqs::{Backoff, Delivery, Disposition, sqs_event, sqs_message};

/// Order-log step names written by the dispatcher.
pub mod steps {
    pub const INVOICE: &str = "dispatch.invoice";
    pub const TRACKING: &str = "dispatch.tracking";
    pub const TRACKING_STATUS: &str = "dispatch.trackingStatus";
    pub const CANCEL: &str = "dispatch.cancel";
    pub const STATUS: &str = "dispatch.status";
}

/// Attempts of a read-modify-write that keeps conflicting before the message is retried later.
const MAX_WRITE_ATTEMPTS: u32 = 5;

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
    pub vtex: VtexClient,
    pub queue: Arc<dyn DispatchQueue>,
    pub clock: Arc<dyn Clock>,
    pub default_an: Option<String>,
    pub backoff: Backoff,
}

/// The Lambda handler: processes the batch and reports what must come back.
pub async fn handle(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    let mut failures = Vec::new();
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
            failures.push(delivery.message_id);
            continue;
        }
        if let Some(delay) = settle(deps, &delivery).await {
            failures.push(delivery.message_id);
            if let Some(g) = delivery.group_id {
                blocked.insert(g.to_string(), delay);
            }
        }
    }
    sqs::batch_response(failures)
}

/// Processes one delivery and acts on the queue: `None` when the message may be deleted,
/// `Some(delay)` when it comes back after `delay`.
pub async fn settle(deps: &Deps, d: &Delivery<'_>) -> Option<Duration> {
    let disposition = process(deps, d).await;
    sqs::settle(
        "dispatch",
        deps.queue.as_ref(),
        &deps.backoff,
        d,
        disposition,
    )
    .await
}

/// Decides and carries out one message. Never sleeps: waiting is the queue's job.
pub async fn process(deps: &Deps, d: &Delivery<'_>) -> Disposition {
    let msg = match erp::parse(d.body.as_bytes()) {
        Ok(m) => m,
        Err(e) => return Disposition::dead(e.code(), e.to_string()),
    };
    let order = match resolve_order(deps, &msg.order).await {
        Ok(Ok(o)) => o,
        Ok(Err(reason)) => return Disposition::dead("UNKNOWN_ORDER", reason),
        Err(e) => return store_trouble(deps, d, &e),
    };
    let ctx = Ctx {
        deps,
        delivery: d,
        label: match &msg.message_id {
            Some(id) => format!("message {} (ERP {id})", d.message_id),
            None => format!("message {}", d.message_id),
        },
    };
    let result = match &msg.command {
        ErpCommand::Invoice { invoice } => ctx.invoice(order, invoice).await,
        ErpCommand::Tracking {
            invoice_number,
            tracking,
        } => ctx.tracking(order, invoice_number, tracking).await,
        ErpCommand::TrackingStatus {
            invoice_number,
            tracking_status,
        } => ctx.status(order, invoice_number, tracking_status).await,
        ErpCommand::Cancel { cancel } => ctx.cancel(order, &cancel.reason, &msg).await,
    };
    result.unwrap_or_else(|e| store_trouble(deps, d, &e))
}

fn store_trouble(deps: &Deps, d: &Delivery<'_>, e: &StoreError) -> Disposition {
    tracing::warn!(message_id = d.message_id, error = %e, "store trouble; retrying later");
    Disposition::Retry {
        after: deps.backoff.delay(d.receive_count, None),
    }
}

/// The order the message names, or why none matches.
async fn resolve_order(deps: &Deps, r: &OrderRef) -> Result<Result<Order, String>, StoreError> {
    if let Some(id) = &r.order_id {
        return Ok(match deps.orders.get(id).await? {
            None => Err(format!("no order {id}")),
            Some(o) => match &r.marketplace_order_id {
                Some(m) if *m != o.marketplace_order_id => Err(format!(
                    "order {id} is marketplace order {}, not {m}",
                    o.marketplace_order_id
                )),
                _ => Ok(o),
            },
        });
    }
    let Some(mkp) = &r.marketplace_order_id else {
        return Ok(Err("message names no order".into()));
    };
    let mut accounts: Vec<&str> = Vec::new();
    match &r.an {
        Some(an) => accounts.push(an),
        None => {
            if let Some(an) = &deps.default_an {
                accounts.push(an);
            }
            accounts.push("");
        }
    }
    for an in accounts {
        if let Some(o) = deps.orders.get_by_marketplace_id(an, mkp).await? {
            return Ok(Ok(o));
        }
    }
    Ok(Err(format!(
        "no order for marketplace order {mkp} (account {})",
        r.an.as_deref().unwrap_or("default")
    )))
}

struct Ctx<'a> {
    deps: &'a Deps,
    delivery: &'a Delivery<'a>,
    label: String,
}

type Step = Result<Disposition, StoreError>;

impl Ctx<'_> {
    fn now(&self) -> DateTime<Utc> {
        self.deps.clock.now()
    }

    async fn log(&self, order: &Order, step: &str, outcome: Outcome, detail: String) {
        let entry = LogEntry::new(
            self.now(),
            step,
            outcome,
            format!("{}: {detail}", self.label),
        );
        if let Err(e) = self.deps.orders.append_log(&order.order_id, &entry).await {
            // The log is best effort; the bookkeeping that matters is already written.
            tracing::warn!(order_id = %order.order_id, error = %e, "order log append failed");
        }
    }

    fn retry(&self, retry_after: Option<Duration>) -> Disposition {
        Disposition::Retry {
            after: self
                .deps
                .backoff
                .delay(self.delivery.receive_count, retry_after),
        }
    }

    /// Logs a rule break (Alert) and parks the message.
    async fn reject(&self, order: &Order, step: &str, r: invoicing::RuleBreak) -> Step {
        self.log(
            order,
            step,
            Outcome::Alert,
            format!("refused, not sent: {r}"),
        )
        .await;
        Ok(Disposition::dead(r.code(), r.to_string()))
    }

    async fn config_error(&self, order: &Order, step: &str, e: ClientError) -> Step {
        self.log(order, step, Outcome::Error, e.to_string()).await;
        Ok(Disposition::dead("VTEX_CONFIG", e.to_string()))
    }

    /// Handles the non-success outcomes of a VTEX call the same way for every step.
    async fn vtex_failed(
        &self,
        order: &Order,
        step: &str,
        what: &str,
        outcome: CallOutcome,
    ) -> Disposition {
        match outcome {
            CallOutcome::Success(_) => Disposition::Done,
            CallOutcome::Retryable {
                retry_after,
                reason,
            } => {
                let next = self.retry(retry_after);
                let secs = match &next {
                    Disposition::Retry { after } => after.as_secs(),
                    _ => 0,
                };
                self.log(
                    order,
                    step,
                    Outcome::Pending,
                    format!(
                        "{what}: {reason} (attempt {}); retry in {secs}s",
                        self.delivery.receive_count
                    ),
                )
                .await;
                next
            }
            CallOutcome::Rejected { status, body } => {
                let reason = format!("{what}: VTEX refused it with {status}: {body}");
                self.log(order, step, Outcome::Error, reason.clone()).await;
                Disposition::dead(format!("VTEX_{status}"), reason)
            }
        }
    }

    // ------------------------------------------------------------------ invoice (§6.4)

    async fn invoice(&self, order: Order, invoice: &Invoice) -> Step {
        let step = steps::INVOICE;
        let records = self.deps.invoices.list_by_order(&order.order_id).await?;
        let number = &invoice.invoice_number;
        let mut rec = match invoicing::decide_invoice(&order, &records, invoice) {
            Decision::Reject(r) => return self.reject(&order, step, r).await,
            Decision::Nothing(why) => {
                self.log(
                    &order,
                    step,
                    Outcome::Success,
                    format!("duplicate, nothing sent: {why}"),
                )
                .await;
                // A crash may have come between the bookkeeping and the order update.
                self.sync_status(order).await?;
                return Ok(Disposition::Done);
            }
            Decision::Wait(why) => {
                self.log(&order, step, Outcome::Pending, why).await;
                return Ok(self.retry(None));
            }
            Decision::Send(InvoiceSend::New) => {
                let fresh = InvoiceRecord::pending(&order.order_id, invoice, self.now());
                match self.deps.invoices.create_once(&fresh).await? {
                    CreateOutcome::Created(r) => r,
                    // Another delivery got there first: decide again on the next delivery.
                    CreateOutcome::Existing(_) => return Ok(self.retry(None)),
                }
            }
            Decision::Send(InvoiceSend::Again(rec)) => {
                let mut rec = *rec;
                if rec.state == SendState::Rejected {
                    rec.state = SendState::Pending;
                    match self.deps.invoices.save(&rec).await? {
                        RecordSave::Saved(r) => rec = r,
                        RecordSave::Conflict => return Ok(self.retry(None)),
                    }
                }
                rec
            }
        };
        let body = InvoiceRequest::from(&rec.invoice);
        let what = format!(
            "{} invoice {number} ({} cents)",
            invoice.kind.as_str(),
            invoice.invoice_value
        );
        let outcome = match self
            .deps
            .vtex
            .send_invoice(&order.an, &order.marketplace_order_id, &body)
            .await
        {
            Ok(o) => o,
            Err(e) => return self.config_error(&order, step, e).await,
        };
        match outcome {
            CallOutcome::Success(receipt) => {
                let r = receipt_text(&receipt);
                let now = self.now();
                self.update_record(&mut rec, |x| {
                    if x.state != SendState::Sent {
                        x.mark_sent(&r, now)
                    }
                })
                .await?;
                self.log(
                    &order,
                    step,
                    Outcome::Success,
                    format!("{what} acknowledged, receipt {r}"),
                )
                .await;
                lambda_kit::metrics::emit_for(
                    "dispatch",
                    &[("InvoicesSent", 1.0, lambda_kit::metrics::Unit::Count)],
                );
                self.sync_status(order).await?;
                Ok(Disposition::Done)
            }
            CallOutcome::Rejected { .. } => {
                let now = self.now();
                self.update_record(&mut rec, |x| {
                    if x.state == SendState::Pending {
                        x.mark_rejected(now)
                    }
                })
                .await?;
                Ok(self.vtex_failed(&order, step, &what, outcome).await)
            }
            other => Ok(self.vtex_failed(&order, step, &what, other).await),
        }
    }

    // ------------------------------------------------------------------ tracking (§6.5)

    async fn tracking(&self, order: Order, number: &str, info: &TrackingInfo) -> Step {
        let step = steps::TRACKING;
        let records = self.deps.invoices.list_by_order(&order.order_id).await?;
        let body = match invoicing::decide_tracking(&order, &records, number, info) {
            Decision::Send(b) => b,
            other => return self.not_sent(&order, step, other).await,
        };
        let Some(mut rec) = records.into_iter().find(|r| r.number() == number) else {
            return Ok(self.retry(None));
        };
        let previous = rec.tracking.clone();
        let pending = TrackingRecord {
            info: body.clone(),
            state: SendState::Pending,
        };
        self.update_record(&mut rec, |x| x.tracking = Some(pending.clone()))
            .await?;
        let what = format!("tracking {} on invoice {number}", body.tracking_number);
        let outcome = match self
            .deps
            .vtex
            .patch_tracking(
                &order.an,
                &order.marketplace_order_id,
                number,
                &TrackingPatch::from(&body),
            )
            .await
        {
            Ok(o) => o,
            Err(e) => return self.config_error(&order, step, e).await,
        };
        match outcome {
            CallOutcome::Success(receipt) => {
                let sent = TrackingRecord {
                    info: body,
                    state: SendState::Sent,
                };
                self.update_record(&mut rec, |x| x.tracking = Some(sent.clone()))
                    .await?;
                self.log(
                    &order,
                    step,
                    Outcome::Success,
                    format!("{what} acknowledged, receipt {}", receipt_text(&receipt)),
                )
                .await;
                self.sync_status(order).await?;
                Ok(Disposition::Done)
            }
            CallOutcome::Rejected { .. } => {
                // VTEX still holds whatever tracking it had before.
                self.update_record(&mut rec, |x| x.tracking = previous.clone())
                    .await?;
                Ok(self.vtex_failed(&order, step, &what, outcome).await)
            }
            other => Ok(self.vtex_failed(&order, step, &what, other).await),
        }
    }

    // ------------------------------------------------------------------ carrier status (§6.6)

    async fn status(&self, order: Order, number: &str, status: &TrackingStatus) -> Step {
        let step = steps::TRACKING_STATUS;
        let records = self.deps.invoices.list_by_order(&order.order_id).await?;
        let update = match invoicing::decide_status(&order, &records, number, status) {
            Decision::Send(u) => u,
            other => return self.not_sent(&order, step, other).await,
        };
        let Some(mut rec) = records.into_iter().find(|r| r.number() == number) else {
            return Ok(self.retry(None));
        };
        self.update_record(&mut rec, |x| x.status_pending = Some(update.clone()))
            .await?;
        let what = format!(
            "{} new carrier event(s){} on invoice {number}",
            update.events.len(),
            if update.is_delivered {
                ", delivered"
            } else {
                ""
            }
        );
        let outcome = match self
            .deps
            .vtex
            .put_tracking_status(
                &order.an,
                &order.marketplace_order_id,
                number,
                &TrackingStatusRequest::from(&update),
            )
            .await
        {
            Ok(o) => o,
            Err(e) => return self.config_error(&order, step, e).await,
        };
        match outcome {
            CallOutcome::Success(receipt) => {
                let now = self.now();
                self.update_record(&mut rec, |x| x.mark_status_sent(&update, now))
                    .await?;
                self.log(
                    &order,
                    step,
                    Outcome::Success,
                    format!("{what} acknowledged, receipt {}", receipt_text(&receipt)),
                )
                .await;
                self.sync_status(order).await?;
                Ok(Disposition::Done)
            }
            CallOutcome::Rejected { .. } => {
                self.update_record(&mut rec, |x| x.status_pending = None)
                    .await?;
                Ok(self.vtex_failed(&order, step, &what, outcome).await)
            }
            other => Ok(self.vtex_failed(&order, step, &what, other).await),
        }
    }

    // ------------------------------------------------------------------ seller cancel (§6.7)

    async fn cancel(&self, order: Order, reason: &str, msg: &ErpMessage) -> Step {
        let step = steps::CANCEL;
        let records = self.deps.invoices.list_by_order(&order.order_id).await?;
        match invoicing::decide_cancel(&order, &records, reason) {
            Decision::Send(()) => {}
            other => return self.not_sent(&order, step, other).await,
        }
        let what = format!("seller cancellation of {}", order.marketplace_order_id);
        let outcome = match self
            .deps
            .vtex
            .cancel_order(
                &order.an,
                &order.marketplace_order_id,
                &CancelRequest {
                    reason: reason.trim().to_string(),
                },
            )
            .await
        {
            Ok(o) => o,
            Err(e) => return self.config_error(&order, step, e).await,
        };
        let CallOutcome::Success(receipt) = outcome else {
            return Ok(self.vtex_failed(&order, step, &what, outcome).await);
        };
        let r = receipt_text(&receipt);
        let request_id = Some(
            msg.message_id
                .clone()
                .unwrap_or_else(|| format!("erp:{}", self.delivery.message_id)),
        );
        let mut current = order;
        for _ in 0..MAX_WRITE_ATTEMPTS {
            if current.status == OrderStatus::Canceled {
                break;
            }
            let (canceled, effect) = invoicing::canceled_by_seller(
                &current,
                &r,
                reason.trim(),
                request_id.clone(),
                self.now(),
            );
            match self.deps.orders.save(&canceled, effect).await? {
                SaveOutcome::Saved(saved) => {
                    self.log(
                        &saved,
                        step,
                        Outcome::Success,
                        format!("{what} acknowledged, receipt {r}; order CANCELED"),
                    )
                    .await;
                    return Ok(Disposition::Done);
                }
                SaveOutcome::Conflict => match self.deps.orders.get(&current.order_id).await? {
                    Some(o) => current = o,
                    None => return Err(StoreError::Corrupt("order vanished".into())),
                },
            }
        }
        if current.status == OrderStatus::Canceled {
            self.log(
                &current,
                step,
                Outcome::Success,
                format!("{what} acknowledged, receipt {r}"),
            )
            .await;
            return Ok(Disposition::Done);
        }
        Err(StoreError::Unavailable(
            "order kept changing while recording the cancellation".into(),
        ))
    }

    /// The non-`Send` decisions, the same for every step.
    async fn not_sent<T>(&self, order: &Order, step: &str, d: Decision<T>) -> Step {
        match d {
            Decision::Reject(r) => self.reject(order, step, r).await,
            Decision::Nothing(why) => {
                self.log(
                    order,
                    step,
                    Outcome::Success,
                    format!("nothing sent: {why}"),
                )
                .await;
                self.sync_status(order.clone()).await?;
                Ok(Disposition::Done)
            }
            Decision::Wait(why) => {
                self.log(order, step, Outcome::Pending, format!("waiting: {why}"))
                    .await;
                Ok(self.retry(None))
            }
            Decision::Send(_) => Ok(Disposition::Done),
        }
    }

    /// Applies `change` to the record and saves it; on a conflict, re-reads and applies it again.
    async fn update_record(
        &self,
        rec: &mut InvoiceRecord,
        change: impl Fn(&mut InvoiceRecord),
    ) -> Result<(), StoreError> {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let mut next = rec.clone();
            change(&mut next);
            next.updated_at = self.now();
            match self.deps.invoices.save(&next).await? {
                RecordSave::Saved(saved) => {
                    *rec = saved;
                    return Ok(());
                }
                RecordSave::Conflict => {
                    *rec = self
                        .deps
                        .invoices
                        .get(&rec.order_id, rec.number())
                        .await?
                        .ok_or_else(|| StoreError::Corrupt("invoice record vanished".into()))?;
                }
            }
        }
        Err(StoreError::Unavailable(
            "invoice record kept changing; retrying the message".into(),
        ))
    }

    /// Brings the order's status (and stock) in line with its acknowledged invoices.
    async fn sync_status(&self, mut order: Order) -> Result<(), StoreError> {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let records = self.deps.invoices.list_by_order(&order.order_id).await?;
            let Some((updated, effect)) = invoicing::status_update(&order, &records) else {
                return Ok(());
            };
            match self.deps.orders.save(&updated, effect).await? {
                SaveOutcome::Saved(saved) => {
                    self.log(
                        &saved,
                        steps::STATUS,
                        Outcome::Success,
                        format!(
                            "order {} → {} (stock: {effect:?})",
                            order.status, saved.status
                        ),
                    )
                    .await;
                    return Ok(());
                }
                SaveOutcome::Conflict => match self.deps.orders.get(&order.order_id).await? {
                    Some(o) => order = o,
                    None => return Err(StoreError::Corrupt("order vanished".into())),
                },
            }
        }
        Err(StoreError::Unavailable(
            "order kept changing while updating its status".into(),
        ))
    }
}

fn receipt_text(r: &OmsReceipt) -> String {
    r.receipt.clone().unwrap_or_else(|| "(none)".into())
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
