//! The import worker: external orders from the import queue into the seller's own VTEX account
//! (CONTRACT.md §7) — place the fulfillment order, authorize dispatch, start handling after the
//! grace period, then the invoices and tracking the seller sends.
//!
//! Per message: parse ([`domain::import`]) → load or create the import's record → do the next
//! step(s) the record calls for, writing the step *before* each VTEX call and the outcome *after*
//! it → log every step in the order log under [`ImportKey::log_id`]. The outcome of a message:
//! - done: deleted (the event-source mapping does it);
//! - retry (429 / 5xx / timeout / store trouble): its visibility is set to the back-off (VTEX's
//!   `Retry-After` when given) and it is reported in `batchItemFailures`; after `maxReceiveCount`
//!   receives SQS parks it in the DLQ;
//! - refusal (bad input, a VTEX 4xx): logged with the reason, copied to the DLQ with it, and
//!   deleted. A re-driven message resumes where the import stopped.
//!
//! Waiting for the grace period (30 minutes by default) is a message to ourselves: an
//! `importResume` sent with the queue's delay (SQS: at most 15 minutes, so a longer wait takes
//! several hops). Only the latest wake-up counts ([`domain::import::Wake`]); older ones are dropped.
//! A Lambda never sleeps.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use domain::clock::Clock;
use domain::erp::DispatchQueue;
use domain::import::{
    self, ImportCommand, ImportCreate, ImportKey, ImportMessage, ImportQueue, ImportRecord,
    ImportSave, ImportStatus, ImportStep, ImportStore, ImportTiming, NextStep, steps,
};
use domain::invoicing::{
    Decision, Invoice, InvoiceRecord, InvoiceSend, SendState, TrackingInfo, TrackingRecord,
};
use domain::order::{LogEntry, Outcome};
use domain::ports::{OrderStore, StoreError};
use lambda_kit::config::Settings;
use lambda_kit::sqs;
use std::sync::Arc;
use std::time::Duration;
use vtex::client::{CallOutcome, ClientError, PRODUCTION_BASE_URL, VtexClient};
use vtex::fulfillment::{
    FulfillmentOrderRequest, Handling, ImportCall, VtexOrderSummary, is_canceled,
    past_dispatch_authorization, past_start_handling,
};
use vtex::oms::{InvoiceRequest, OmsReceipt, TrackingPatch};

#[cfg(feature = "local")]
pub mod local;

pub use lambda_kit::sqs::{Backoff, Delivery, Disposition, sqs_event, sqs_message};

/// Steps a single delivery may take before it hands over to a fresh message (a guard: the step
/// machine has at most six).
const MAX_STEPS_PER_DELIVERY: usize = 12;

/// Attempts of a bookkeeping write that keeps conflicting before the message is retried later.
const MAX_WRITE_ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("order-import configuration: {0}")]
pub struct ConfigError(pub String);

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

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Everything from `get` (a map in tests). The mse may still be empty here: `main.rs` builds
    /// it from the inbound secret when `IMPORT_MSE_URL` is unset; [`Config::check`] refuses it empty.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Settings::new(get);
        let value = |k: &str| env.value(k);
        let number = |k: &str, default: u64| env.number(k, default).map_err(ConfigError);
        let default_affiliate = value("IMPORT_AFFILIATE_ID");
        if let Some(a) = &default_affiliate {
            import::check_affiliate_id(a)
                .map_err(|e| ConfigError(format!("IMPORT_AFFILIATE_ID: {e}")))?;
        }
        Ok(Config {
            account: value("IMPORT_VTEX_ACCOUNT").unwrap_or_default(),
            vtex_base_url: value("IMPORT_VTEX_BASE_URL")
                .unwrap_or_else(|| PRODUCTION_BASE_URL.to_string()),
            vtex_timeout: Duration::from_millis(number("IMPORT_VTEX_TIMEOUT_MS", 10_000)?),
            mse_url: value("IMPORT_MSE_URL").unwrap_or_default(),
            default_affiliate,
            default_sales_channel: value("IMPORT_SALES_CHANNEL").unwrap_or_else(|| "1".into()),
            timing: ImportTiming {
                grace: Duration::from_secs(number("IMPORT_GRACE_SECONDS", 1800)?),
                not_ready_retry: Duration::from_secs(number(
                    "IMPORT_NOT_READY_RETRY_SECONDS",
                    300,
                )?),
                give_up_after: Duration::from_secs(number("IMPORT_GIVE_UP_SECONDS", 86_400)?),
            },
            backoff: Backoff {
                base: Duration::from_secs(number("IMPORT_BACKOFF_BASE_SECS", 5)?),
                max: Duration::from_secs(number("IMPORT_BACKOFF_MAX_SECS", 900)?),
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
    pub vtex: VtexClient,
    /// The import queue's DLQ and back-off.
    pub queue: Arc<dyn DispatchQueue>,
    /// The import queue, for the worker's own messages.
    pub scheduler: Arc<dyn ImportQueue>,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
}

/// The Lambda handler: processes the batch (a standard queue: no ordering between messages) and
/// reports what must come back.
pub async fn handle(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    let mut failures = Vec::new();
    for record in &event.records {
        let Some(delivery) = Delivery::of(record) else {
            tracing::error!("SQS record without messageId or receiptHandle: skipped");
            continue;
        };
        if settle(deps, &delivery).await.is_some() {
            failures.push(delivery.message_id);
        }
    }
    sqs::batch_response(failures)
}

/// Processes one delivery and acts on the queue: `None` when the message may be deleted,
/// `Some(delay)` when it comes back after `delay`.
pub async fn settle(deps: &Deps, d: &Delivery<'_>) -> Option<Duration> {
    let disposition = process(deps, d).await;
    sqs::settle(
        "order-import",
        deps.queue.as_ref(),
        &deps.config.backoff,
        d,
        disposition,
    )
    .await
}

/// Decides and carries out one message. Never sleeps: waiting is the queue's job.
pub async fn process(deps: &Deps, d: &Delivery<'_>) -> Disposition {
    let label = format!("message {}", d.message_id);
    let default_affiliate = deps.config.default_affiliate.as_deref();
    let msg = match import::parse(d.body.as_bytes(), default_affiliate) {
        Ok(m) => m,
        Err(e) => {
            if let Some(key) = import::key_hint(d.body.as_bytes(), default_affiliate) {
                let w = Worker {
                    deps,
                    delivery: d,
                    key,
                    label,
                };
                w.log(
                    steps::RECEIVED,
                    Outcome::Alert,
                    format!("refused, nothing sent: {e}"),
                )
                .await;
            }
            return Disposition::dead(e.code(), e.to_string());
        }
    };
    let label = match &msg.message_id {
        Some(id) => format!("{label} (sender {id})"),
        None => label,
    };
    let w = Worker {
        deps,
        delivery: d,
        key: msg.key.clone(),
        label,
    };
    let result = match msg.command {
        ImportCommand::Order {
            sales_channel,
            order,
            invoices,
        } => {
            let sc = sales_channel.unwrap_or_else(|| deps.config.default_sales_channel.clone());
            let rec = ImportRecord::new(
                msg.key.clone(),
                sc,
                *order,
                invoices,
                msg.message_id.clone(),
                deps.clock.now(),
            );
            w.order(rec).await
        }
        ImportCommand::Invoice { invoice } => w.invoice(&invoice).await,
        ImportCommand::Tracking {
            invoice_number,
            tracking,
        } => w.tracking(&invoice_number, &tracking).await,
        ImportCommand::Resume { wake_id } => w.resume(&wake_id).await,
    };
    result.unwrap_or_else(|e| {
        tracing::warn!(message_id = d.message_id, error = %e, "store trouble; retrying later");
        Disposition::Retry {
            after: deps.config.backoff.delay(d.receive_count, None),
        }
    })
}

type Step = Result<Disposition, StoreError>;

/// What one delivery does for one import.
struct Worker<'a> {
    deps: &'a Deps,
    delivery: &'a Delivery<'a>,
    key: ImportKey,
    label: String,
}

/// Where the step machine stands after one step.
enum Flow {
    /// Go on with the next step.
    Next,
    /// Stop: this is the message's outcome.
    Stop(Disposition),
}

impl Worker<'_> {
    fn now(&self) -> DateTime<Utc> {
        self.deps.clock.now()
    }

    fn config(&self) -> &Config {
        &self.deps.config
    }

    async fn log(&self, step: &str, outcome: Outcome, detail: String) {
        let entry = LogEntry::new(
            self.now(),
            step,
            outcome,
            format!("{}: {detail}", self.label),
        );
        if let Err(e) = self.deps.log.append_log(&self.key.log_id(), &entry).await {
            // The log is best effort; the bookkeeping that matters is already written.
            tracing::warn!(import = %self.key, error = %e, "import log append failed");
        }
    }

    fn retry(&self, retry_after: Option<Duration>) -> Disposition {
        Disposition::Retry {
            after: self
                .config()
                .backoff
                .delay(self.delivery.receive_count, retry_after),
        }
    }

    fn secs(d: &Disposition) -> u64 {
        match d {
            Disposition::Retry { after } => after.as_secs(),
            _ => 0,
        }
    }

    /// A retryable VTEX answer: logged *Pending*, the message comes back later.
    async fn later(
        &self,
        step: &str,
        what: &str,
        retry_after: Option<Duration>,
        reason: &str,
    ) -> Disposition {
        let next = self.retry(retry_after);
        self.log(
            step,
            Outcome::Pending,
            format!(
                "{what}: {reason} (attempt {}); retry in {}s",
                self.delivery.receive_count,
                Self::secs(&next)
            ),
        )
        .await;
        next
    }

    /// A refusal: logged *Error* with VTEX's reason, parked in the DLQ.
    async fn refused(&self, step: &str, what: &str, status: u16, body: &str) -> Disposition {
        let reason = format!("{what}: VTEX refused it with {status}: {body}");
        self.log(step, Outcome::Error, reason.clone()).await;
        Disposition::dead(format!("VTEX_{status}"), reason)
    }

    async fn config_error(&self, step: &str, e: ClientError) -> Step {
        self.log(step, Outcome::Error, e.to_string()).await;
        Ok(Disposition::dead("VTEX_CONFIG", e.to_string()))
    }

    /// Saves `rec`; `false` when another delivery wrote first (the caller retries the message).
    async fn save(&self, rec: &mut ImportRecord) -> Result<bool, StoreError> {
        match self.deps.imports.save(rec).await? {
            ImportSave::Saved(r) => {
                *rec = r;
                Ok(true)
            }
            ImportSave::Conflict => Ok(false),
        }
    }

    /// Applies `change` and saves, re-reading and re-applying on conflicts: for bookkeeping of a
    /// call that already happened, which must not be lost.
    async fn record(
        &self,
        rec: &mut ImportRecord,
        change: impl Fn(&mut ImportRecord),
    ) -> Result<(), StoreError> {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            change(rec);
            if self.save(rec).await? {
                return Ok(());
            }
            *rec = self
                .deps
                .imports
                .get(&self.key)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("import {} vanished", self.key)))?;
        }
        Err(StoreError::Unavailable(format!(
            "import {} keeps changing under this delivery",
            self.key
        )))
    }

    /// Another delivery is working on the same import: come back shortly.
    async fn busy(&self) -> Step {
        tracing::info!(import = %self.key, "import changed under this delivery; retrying later");
        Ok(self.retry(None))
    }

    // ------------------------------------------------------------------ importOrder

    async fn order(&self, fresh: ImportRecord) -> Step {
        let mut rec = match self.deps.imports.create_once(&fresh).await? {
            ImportCreate::Created(r) => {
                self.log(
                    steps::RECEIVED,
                    Outcome::Success,
                    format!(
                        "import recorded: {} item(s), order value {} cents, sales channel {}, {} invoice(s) to send after placement",
                        r.order.items.len(),
                        r.order.total(),
                        r.sales_channel,
                        r.queued_invoices.len()
                    ),
                )
                .await;
                r
            }
            ImportCreate::Existing(r) => {
                if r.order != fresh.order {
                    self.log(
                        steps::RECEIVED,
                        Outcome::Alert,
                        "refused: a different order was already imported under this affiliateId and marketplaceOrderId (imports are create-once)".into(),
                    )
                    .await;
                    return Ok(Disposition::dead(
                        "IMPORT_CONFLICT",
                        format!("import {} exists with different order data", self.key),
                    ));
                }
                let mut r = r;
                let new: Vec<Invoice> = fresh
                    .queued_invoices
                    .iter()
                    .filter(|i| {
                        !r.queued_invoices
                            .iter()
                            .any(|q| q.invoice_number == i.invoice_number)
                            && !r.invoices.iter().any(|x| x.number() == i.invoice_number)
                    })
                    .cloned()
                    .collect();
                if !new.is_empty() {
                    r.queued_invoices.extend(new);
                    if !self.save(&mut r).await? {
                        return self.busy().await;
                    }
                }
                r
            }
        };
        self.drive(&mut rec).await
    }

    // ------------------------------------------------------------------ importResume

    async fn resume(&self, wake_id: &str) -> Step {
        let Some(mut rec) = self.deps.imports.get(&self.key).await? else {
            return Ok(Disposition::dead(
                "UNKNOWN_IMPORT",
                format!("no import {} to resume", self.key),
            ));
        };
        if !rec.is_current_wake(wake_id) {
            tracing::debug!(import = %self.key, wake_id, "stale wake-up dropped");
            return Ok(Disposition::Done);
        }
        self.drive(&mut rec).await
    }

    // ------------------------------------------------------------------ the workflow

    /// Carries the import through every step that can happen now.
    async fn drive(&self, rec: &mut ImportRecord) -> Step {
        for _ in 0..MAX_STEPS_PER_DELIVERY {
            let flow = match rec.next_step(self.now()) {
                NextStep::Done => return Ok(Disposition::Done),
                NextStep::QueueInvoices => self.queue_invoices(rec).await?,
                NextStep::Place { look_first } => self.place(rec, look_first).await?,
                NextStep::Authorize => self.authorize(rec).await?,
                NextStep::StartHandling => self.start_handling(rec).await?,
                NextStep::WaitUntil(due) => self.wait_until(rec, due).await?,
            };
            if let Flow::Stop(d) = flow {
                return Ok(d);
            }
        }
        // Unreachable by construction; a fresh delivery picks up where this one stopped.
        Ok(self.retry(None))
    }

    fn vtex_id(rec: &ImportRecord) -> Result<String, StoreError> {
        rec.vtex_order_id
            .clone()
            .ok_or_else(|| StoreError::Corrupt("placed import without a VTEX order id".into()))
    }

    async fn queue_invoices(&self, rec: &mut ImportRecord) -> Result<Flow, StoreError> {
        let invoices = rec.queued_invoices.clone();
        for invoice in &invoices {
            let m = ImportMessage::new(
                self.key.clone(),
                ImportCommand::Invoice {
                    invoice: invoice.clone(),
                },
            );
            // A crash before the save below queues them again: harmless, invoices are idempotent.
            self.deps.scheduler.schedule(&m, Duration::ZERO).await?;
        }
        if !self.save_with(rec, |r| r.queued_invoices.clear()).await? {
            return Ok(Flow::Stop(self.busy().await?));
        }
        let numbers: Vec<&str> = invoices.iter().map(|i| i.invoice_number.as_str()).collect();
        self.log(
            steps::INVOICE,
            Outcome::Pending,
            format!(
                "invoice(s) {} queued now that the order is placed",
                numbers.join(", ")
            ),
        )
        .await;
        Ok(Flow::Next)
    }

    async fn save_with(
        &self,
        rec: &mut ImportRecord,
        change: impl FnOnce(&mut ImportRecord),
    ) -> Result<bool, StoreError> {
        change(rec);
        self.save(rec).await
    }

    /// Looks the order up by its documented id; `Some` when VTEX has it (an earlier call landed).
    async fn look_up(&self) -> Result<Result<Option<VtexOrderSummary>, Disposition>, StoreError> {
        let id = self.key.documented_vtex_order_id();
        let what = format!("looking up order {id}");
        let call = match self.deps.vtex.get_order(&self.config().account, &id).await {
            Ok(c) => c,
            Err(e) => return self.config_error(steps::PLACE, e).await.map(Err),
        };
        Ok(match call {
            ImportCall::Accepted(found) => Ok(found.filter(|o| {
                o.marketplace_order_id
                    .as_deref()
                    .is_none_or(|m| m == self.key.marketplace_order_id)
            })),
            ImportCall::Retryable {
                retry_after,
                reason,
            } => Err(self.later(steps::PLACE, &what, retry_after, &reason).await),
            ImportCall::Rejected { status, body } => {
                Err(self.refused(steps::PLACE, &what, status, &body).await)
            }
        })
    }

    async fn adopt(
        &self,
        rec: &mut ImportRecord,
        found: VtexOrderSummary,
    ) -> Result<Flow, StoreError> {
        let id = found
            .order_id
            .clone()
            .unwrap_or_else(|| self.key.documented_vtex_order_id());
        let now = self.now();
        self.record(rec, |r| r.placed(&id, now)).await?;
        self.log(
            steps::PLACE,
            Outcome::Success,
            format!(
                "VTEX already holds order {id} (status {}): an earlier placement landed; adopted, not placed again",
                found.status.as_deref().unwrap_or("unknown")
            ),
        )
        .await;
        Ok(Flow::Next)
    }

    async fn place(&self, rec: &mut ImportRecord, look_first: bool) -> Result<Flow, StoreError> {
        if look_first {
            match self.look_up().await? {
                Ok(Some(found)) => return self.adopt(rec, found).await,
                Ok(None) => {}
                Err(d) => return Ok(Flow::Stop(d)),
            }
        }
        let now = self.now();
        if !self.save_with(rec, |r| r.begin_placing(now)).await? {
            return Ok(Flow::Stop(self.busy().await?));
        }
        let c = self.config();
        let body = FulfillmentOrderRequest::new(&rec.order, &c.mse_url);
        let what = format!(
            "placing the order (affiliate {}, sales channel {})",
            self.key.affiliate_id, rec.sales_channel
        );
        let call = match self
            .deps
            .vtex
            .place_fulfillment_order(
                &c.account,
                &self.key.affiliate_id,
                &rec.sales_channel,
                &body,
            )
            .await
        {
            Ok(call) => call,
            Err(e) => return self.config_error(steps::PLACE, e).await.map(Flow::Stop),
        };
        match call {
            ImportCall::Accepted(id) => {
                let now = self.now();
                self.record(rec, |r| r.placed(&id, now)).await?;
                self.log(
                    steps::PLACE,
                    Outcome::Success,
                    format!("placed in VTEX as order {id}"),
                )
                .await;
                Ok(Flow::Next)
            }
            ImportCall::Retryable {
                retry_after,
                reason,
            } => Ok(Flow::Stop(
                self.later(
                    steps::PLACE,
                    &format!("{what} (VTEX is asked for the order before placing again)"),
                    retry_after,
                    &reason,
                )
                .await,
            )),
            ImportCall::Rejected { status, body } => {
                // A placement that raced another delivery's is refused as a duplicate: adopt it.
                if let Ok(Some(found)) = self.look_up().await? {
                    return self.adopt(rec, found).await;
                }
                let reason = format!("VTEX refused the placement with {status}: {body}");
                let now = self.now();
                self.record(rec, |r| r.placement_refused(&reason, now))
                    .await?;
                Ok(Flow::Stop(
                    self.refused(steps::PLACE, &what, status, &body).await,
                ))
            }
        }
    }

    /// VTEX's status of the imported order, when it answers.
    async fn vtex_status(&self, rec: &ImportRecord) -> Result<Option<String>, StoreError> {
        let id = Self::vtex_id(rec)?;
        Ok(
            match self.deps.vtex.get_order(&self.config().account, &id).await {
                Ok(ImportCall::Accepted(Some(o))) => o.status,
                _ => None,
            },
        )
    }

    async fn authorize(&self, rec: &mut ImportRecord) -> Result<Flow, StoreError> {
        let id = Self::vtex_id(rec)?;
        let now = self.now();
        if rec.step == ImportStep::Placed
            && !self.save_with(rec, |r| r.begin_authorizing(now)).await?
        {
            return Ok(Flow::Stop(self.busy().await?));
        }
        let what = format!("authorizing dispatch of {id}");
        let c = self.config();
        let call = match self
            .deps
            .vtex
            .authorize_dispatch(
                &c.account,
                &self.key.affiliate_id,
                &rec.sales_channel,
                &id,
                &self.key.marketplace_order_id,
            )
            .await
        {
            Ok(call) => call,
            Err(e) => return self.config_error(steps::AUTHORIZE, e).await.map(Flow::Stop),
        };
        let timing = c.timing;
        match call {
            ImportCall::Accepted(()) => {
                let now = self.now();
                self.record(rec, |r| r.authorized(now, &timing)).await?;
                self.log(
                    steps::AUTHORIZE,
                    Outcome::Success,
                    format!(
                        "dispatch of {id} authorized; start-handling due after the {}s grace period",
                        timing.grace.as_secs()
                    ),
                )
                .await;
                Ok(Flow::Next)
            }
            ImportCall::Retryable {
                retry_after,
                reason,
            } => Ok(Flow::Stop(
                self.later(steps::AUTHORIZE, &what, retry_after, &reason)
                    .await,
            )),
            ImportCall::Rejected { status, body } => {
                // A repeat of an authorization that landed is refused: ask VTEX where the order is.
                if let Some(s) = self.vtex_status(rec).await?
                    && past_dispatch_authorization(&s)
                {
                    let now = self.now();
                    self.record(rec, |r| r.authorized(now, &timing)).await?;
                    self.log(
                        steps::AUTHORIZE,
                        Outcome::Success,
                        format!("VTEX reports {id} as {s}: dispatch was already authorized"),
                    )
                    .await;
                    return Ok(Flow::Next);
                }
                let now = self.now();
                let reason = format!("authorize dispatch refused with {status}: {body}");
                self.record(rec, |r| r.refused(&reason, now)).await?;
                Ok(Flow::Stop(
                    self.refused(steps::AUTHORIZE, &what, status, &body).await,
                ))
            }
        }
    }

    async fn start_handling(&self, rec: &mut ImportRecord) -> Result<Flow, StoreError> {
        let id = Self::vtex_id(rec)?;
        let what = format!("start-handling of {id}");
        let c = self.config();
        let timing = c.timing;
        // An earlier call may have landed (its answer lost, or a 409 that hid it): a repeat would
        // only answer 409, so VTEX is asked where the order is first.
        if rec.step == ImportStep::StartingHandling || rec.not_ready_answers > 0 {
            match self.deps.vtex.get_order(&c.account, &id).await {
                Ok(ImportCall::Accepted(Some(o))) => {
                    let s = o.status.unwrap_or_default();
                    if past_start_handling(&s) {
                        return self.already_handling(rec, &id, &s).await;
                    }
                    if is_canceled(&s) {
                        return self.canceled(rec, &id, &s).await;
                    }
                }
                Ok(ImportCall::Retryable {
                    retry_after,
                    reason,
                }) => {
                    let what = format!("looking up {id} before start-handling");
                    return Ok(Flow::Stop(
                        self.later(steps::START_HANDLING, &what, retry_after, &reason)
                            .await,
                    ));
                }
                // Not found or refused: the lookup only spares a call; make it.
                Ok(_) => {}
                Err(e) => {
                    return self
                        .config_error(steps::START_HANDLING, e)
                        .await
                        .map(Flow::Stop);
                }
            }
        }
        let now = self.now();
        if rec.step == ImportStep::Authorized
            && !self.save_with(rec, |r| r.begin_start_handling(now)).await?
        {
            return Ok(Flow::Stop(self.busy().await?));
        }
        let call = match self.deps.vtex.start_handling(&c.account, &id).await {
            Ok(call) => call,
            Err(e) => {
                return self
                    .config_error(steps::START_HANDLING, e)
                    .await
                    .map(Flow::Stop);
            }
        };
        match call {
            ImportCall::Accepted(Handling::Started) => {
                let now = self.now();
                self.record(rec, |r| r.handling_started(now)).await?;
                self.log(
                    steps::START_HANDLING,
                    Outcome::Success,
                    format!("{id} is in handling"),
                )
                .await;
                Ok(Flow::Next)
            }
            ImportCall::Accepted(Handling::NotReady(body)) => {
                self.not_ready(rec, &id, &body, timing).await
            }
            ImportCall::Retryable {
                retry_after,
                reason,
            } => Ok(Flow::Stop(
                self.later(steps::START_HANDLING, &what, retry_after, &reason)
                    .await,
            )),
            ImportCall::Rejected { status, body } => {
                let now = self.now();
                let reason = format!("start-handling refused with {status}: {body}");
                self.record(rec, |r| r.refused(&reason, now)).await?;
                Ok(Flow::Stop(
                    self.refused(steps::START_HANDLING, &what, status, &body)
                        .await,
                ))
            }
        }
    }

    /// Start-handling answered 409. A repeat of a call that landed answers it too, so VTEX is
    /// asked where the order is before waiting again.
    async fn not_ready(
        &self,
        rec: &mut ImportRecord,
        id: &str,
        body: &str,
        timing: ImportTiming,
    ) -> Result<Flow, StoreError> {
        let status = self.vtex_status(rec).await?;
        if let Some(s) = status.as_deref() {
            if past_start_handling(s) {
                return self.already_handling(rec, id, s).await;
            }
            if is_canceled(s) {
                return self.canceled(rec, id, s).await;
            }
        }
        let now = self.now();
        if rec.handling_overdue(now, &timing) {
            let reason = format!(
                "start-handling of {id} still answers 409 ({body}) {}s after the grace period; parked for an operator",
                timing.give_up_after.as_secs()
            );
            self.record(rec, |r| r.refused(&reason, now)).await?;
            self.log(steps::START_HANDLING, Outcome::Alert, reason.clone())
                .await;
            return Ok(Flow::Stop(Disposition::dead(
                "NOT_READY_FOR_HANDLING",
                reason,
            )));
        }
        self.record(rec, |r| r.not_ready(now, &timing)).await?;
        self.log(
            steps::START_HANDLING,
            Outcome::Pending,
            format!(
                "{id} is not ready for handling yet (status {}, answer {}); trying again in {}s",
                status.as_deref().unwrap_or("unknown"),
                body.chars().take(200).collect::<String>(),
                timing.not_ready_retry.as_secs()
            ),
        )
        .await;
        Ok(Flow::Next)
    }

    async fn already_handling(
        &self,
        rec: &mut ImportRecord,
        id: &str,
        status: &str,
    ) -> Result<Flow, StoreError> {
        let now = self.now();
        self.record(rec, |r| r.handling_started(now)).await?;
        self.log(
            steps::START_HANDLING,
            Outcome::Success,
            format!("VTEX reports {id} as {status}: past start-handling, nothing left to start"),
        )
        .await;
        Ok(Flow::Next)
    }

    async fn canceled(
        &self,
        rec: &mut ImportRecord,
        id: &str,
        status: &str,
    ) -> Result<Flow, StoreError> {
        let now = self.now();
        let reason = format!("order {id} is {status} in VTEX: the workflow cannot go on");
        self.record(rec, |r| r.refused(&reason, now)).await?;
        self.log(steps::START_HANDLING, Outcome::Alert, reason.clone())
            .await;
        Ok(Flow::Stop(Disposition::dead("ORDER_CANCELED", reason)))
    }

    /// Schedules the one wake-up this import waits for; older wake-ups become stale.
    async fn wait_until(
        &self,
        rec: &mut ImportRecord,
        due: DateTime<Utc>,
    ) -> Result<Flow, StoreError> {
        let now = self.now();
        let same_target = rec.wake.as_ref().is_some_and(|w| w.at == due);
        let wake_id = uuid::Uuid::new_v4().simple().to_string();
        if !self
            .save_with(rec, |r| r.set_wake(&wake_id, due, now))
            .await?
        {
            return Ok(Flow::Stop(self.busy().await?));
        }
        let delay = (due - now).to_std().unwrap_or(Duration::ZERO);
        self.deps
            .scheduler
            .schedule(&ImportMessage::resume(&self.key, &wake_id), delay)
            .await?;
        if same_target {
            tracing::debug!(import = %self.key, %due, "wake-up re-scheduled for the same time");
        } else {
            self.log(
                steps::WAIT,
                Outcome::Pending,
                format!(
                    "start-handling due at {}; wake-up scheduled through the queue ({}s)",
                    due.to_rfc3339(),
                    delay.as_secs()
                ),
            )
            .await;
        }
        Ok(Flow::Stop(Disposition::Done))
    }

    // ------------------------------------------------------------------ invoices (§6.4)

    async fn placed_record(
        &self,
        step: &str,
    ) -> Result<Result<ImportRecord, Disposition>, StoreError> {
        match self.deps.imports.get(&self.key).await? {
            Some(r) => Ok(Ok(r)),
            None => {
                self.log(
                    step,
                    Outcome::Pending,
                    format!(
                        "no import {} recorded yet (its order message may be behind); retrying",
                        self.key
                    ),
                )
                .await;
                Ok(Err(self.retry(None)))
            }
        }
    }

    async fn not_sent<T>(&self, step: &str, decision: Decision<T>) -> Step {
        match decision {
            Decision::Send(_) => Ok(Disposition::Done),
            Decision::Nothing(why) => {
                self.log(
                    step,
                    Outcome::Success,
                    format!("duplicate, nothing sent: {why}"),
                )
                .await;
                Ok(Disposition::Done)
            }
            Decision::Wait(why) => {
                self.log(step, Outcome::Pending, why).await;
                Ok(self.retry(None))
            }
            Decision::Reject(r) => {
                self.log(step, Outcome::Alert, format!("refused, not sent: {r}"))
                    .await;
                Ok(Disposition::dead(r.code(), r.to_string()))
            }
        }
    }

    async fn invoice(&self, invoice: &Invoice) -> Step {
        let step = steps::INVOICE;
        let mut rec = match self.placed_record(step).await? {
            Ok(r) => r,
            Err(d) => return Ok(d),
        };
        let number = invoice.invoice_number.clone();
        let decision = rec.decide_invoice(invoice);
        let Decision::Send(send) = decision else {
            return self.not_sent(step, decision).await;
        };
        let id = Self::vtex_id(&rec)?;
        let now = self.now();
        let pending = match send {
            InvoiceSend::New => InvoiceRecord::pending(&id, invoice, now),
            InvoiceSend::Again(r) => {
                let mut r = *r;
                r.state = SendState::Pending;
                r
            }
        };
        if !self
            .save_with(&mut rec, |r| r.put_invoice(pending, now))
            .await?
        {
            return self.busy().await;
        }
        let what = format!(
            "{} invoice {number} ({} cents) on {id}",
            invoice.kind.as_str(),
            invoice.invoice_value
        );
        let outcome = match self
            .deps
            .vtex
            .send_invoice(&self.config().account, &id, &InvoiceRequest::from(invoice))
            .await
        {
            Ok(o) => o,
            Err(e) => return self.config_error(step, e).await,
        };
        match outcome {
            CallOutcome::Success(receipt) => {
                let r = receipt_text(&receipt);
                let now = self.now();
                self.record(&mut rec, |x| {
                    if let Some(inv) = x.invoice_mut(&number)
                        && inv.state != SendState::Sent
                    {
                        inv.mark_sent(&r, now);
                    }
                })
                .await?;
                let invoiced = if rec.status() == ImportStatus::Invoiced {
                    "; the import is now invoiced"
                } else {
                    ""
                };
                self.log(
                    step,
                    Outcome::Success,
                    format!("{what} acknowledged, receipt {r}{invoiced}"),
                )
                .await;
                Ok(Disposition::Done)
            }
            CallOutcome::Retryable {
                retry_after,
                reason,
            } => Ok(self.later(step, &what, retry_after, &reason).await),
            CallOutcome::Rejected { status, body } => {
                let now = self.now();
                self.record(&mut rec, |x| {
                    if let Some(inv) = x.invoice_mut(&number)
                        && inv.state == SendState::Pending
                    {
                        inv.mark_rejected(now);
                    }
                })
                .await?;
                Ok(self.refused(step, &what, status, &body).await)
            }
        }
    }

    // ------------------------------------------------------------------ tracking (§6.5)

    async fn tracking(&self, number: &str, info: &TrackingInfo) -> Step {
        let step = steps::TRACKING;
        let mut rec = match self.placed_record(step).await? {
            Ok(r) => r,
            Err(d) => return Ok(d),
        };
        let decision = rec.decide_tracking(number, info);
        let Decision::Send(body) = decision else {
            return self.not_sent(step, decision).await;
        };
        let id = Self::vtex_id(&rec)?;
        let previous = rec
            .invoices
            .iter()
            .find(|r| r.number() == number)
            .and_then(|r| r.tracking.clone());
        let pending = TrackingRecord {
            info: body.clone(),
            state: SendState::Pending,
        };
        let now = self.now();
        let changed = self
            .save_with(&mut rec, |r| {
                if let Some(inv) = r.invoice_mut(number) {
                    inv.tracking = Some(pending);
                    inv.updated_at = now;
                }
            })
            .await?;
        if !changed {
            return self.busy().await;
        }
        let what = format!(
            "tracking {} on invoice {number} of {id}",
            body.tracking_number
        );
        let outcome = match self
            .deps
            .vtex
            .patch_tracking(
                &self.config().account,
                &id,
                number,
                &TrackingPatch::from(&body),
            )
            .await
        {
            Ok(o) => o,
            Err(e) => return self.config_error(step, e).await,
        };
        let set_tracking = |t: Option<TrackingRecord>| {
            move |r: &mut ImportRecord| {
                if let Some(inv) = r.invoice_mut(number) {
                    inv.tracking = t.clone();
                }
            }
        };
        match outcome {
            CallOutcome::Success(receipt) => {
                let sent = TrackingRecord {
                    info: body.clone(),
                    state: SendState::Sent,
                };
                self.record(&mut rec, set_tracking(Some(sent))).await?;
                self.log(
                    step,
                    Outcome::Success,
                    format!("{what} acknowledged, receipt {}", receipt_text(&receipt)),
                )
                .await;
                Ok(Disposition::Done)
            }
            CallOutcome::Retryable {
                retry_after,
                reason,
            } => Ok(self.later(step, &what, retry_after, &reason).await),
            CallOutcome::Rejected { status, body } => {
                // VTEX still holds whatever tracking it had before.
                self.record(&mut rec, set_tracking(previous.clone()))
                    .await?;
                Ok(self.refused(step, &what, status, &body).await)
            }
        }
    }
}

fn receipt_text(r: &OmsReceipt) -> String {
    r.receipt.clone().unwrap_or_else(|| "(none)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn config_defaults_follow_vtex_and_check_refuses_what_cannot_work() {
        let c = Config::from_lookup(env(&[])).unwrap();
        assert_eq!(c.timing, ImportTiming::default());
        assert_eq!(c.default_sales_channel, "1");
        assert!(c.check().is_err(), "no account, no mse");
        let c = Config::from_lookup(env(&[
            ("IMPORT_VTEX_ACCOUNT", "myshop"),
            ("IMPORT_MSE_URL", "https://api.example.com/vtex/s3cr3t"),
            ("IMPORT_AFFILIATE_ID", "EXT"),
            ("IMPORT_GRACE_SECONDS", "0"),
        ]))
        .unwrap();
        assert!(c.check().is_ok());
        assert_eq!(c.timing.grace, Duration::ZERO);
        assert_eq!(c.default_affiliate.as_deref(), Some("EXT"));
        assert!(Config::from_lookup(env(&[("IMPORT_AFFILIATE_ID", "EXTERNAL")])).is_err());
        assert!(Config::from_lookup(env(&[("IMPORT_GRACE_SECONDS", "half")])).is_err());
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
