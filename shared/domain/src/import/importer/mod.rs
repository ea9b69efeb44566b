//! The importer: external orders from the import queue into the seller's own VTEX account
//! (shared/docs/protocol.md §Import) — place the fulfillment order, authorize dispatch, start
//! handling after the grace period, then the invoices and tracking the seller sends.
//!
//! Per message: parse ([`crate::import`]) → load or create the import's record → do the next
//! step(s) the record calls for, writing the step *before* each VTEX call and the outcome *after*
//! it → log every step in the order log under [`ImportKey::log_id`]. The outcome of a message is a
//! [`Disposition`]: done; retry (429 / 5xx / timeout / store trouble) after the back-off (VTEX's
//! `Retry-After` when given); or refusal (bad input, a VTEX 4xx), logged with the reason and parked
//! in the DLQ. A re-driven message resumes where the import stopped.
//!
//! Waiting for the grace period (30 minutes by default) is a message to ourselves: an
//! `importResume` sent with the queue's delay (SQS: at most 15 minutes, so a longer wait takes
//! several hops). Only the latest wake-up counts ([`crate::import::Wake`]); older ones are dropped.
//! The importer never sleeps.

use crate::clock::Clock;
use crate::import::{
    self, ImportCommand, ImportCreate, ImportKey, ImportMessage, ImportQueue, ImportRecord,
    ImportSave, ImportStatus, ImportStep, ImportStore, ImportTiming, NextStep, steps,
};
use crate::invoicing::{
    Decision, Invoice, InvoiceRecord, InvoiceSend, SendState, TrackingInfo, TrackingRecord,
};
use crate::order::Outcome;
use crate::outbound::{
    CallError, CallOutcome, Handling, OwnAccount, VtexOrderSummary, is_canceled,
    past_dispatch_authorization, past_start_handling,
};
use crate::ports::{OrderStore, StoreError};
use crate::worker::{Answer, Attempt, Backoff, Disposition, Journal, Retries};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

mod sending;

/// Steps a single delivery may take before it hands over to a fresh message (a guard: the step
/// machine has at most six).
const MAX_STEPS_PER_DELIVERY: usize = 12;

/// What the importer needs to know besides its ports.
#[derive(Debug, Clone, PartialEq)]
pub struct ImporterConfig {
    /// The seller's own VTEX account name.
    pub account: String,
    /// The `marketplaceServicesEndpoint` sent with every order.
    pub mse_url: String,
    /// For messages without `affiliateId`.
    pub default_affiliate: Option<String>,
    /// For orders without `salesChannel`.
    pub default_sales_channel: String,
    pub timing: ImportTiming,
    pub backoff: Backoff,
}

/// The import service, built once by the composition root (cheap to clone).
#[derive(Clone)]
pub struct Importer {
    pub imports: Arc<dyn ImportStore>,
    /// Only `append_log` is used: the import's log lives in the order log.
    pub log: Arc<dyn OrderStore>,
    /// The seller's OWN account.
    pub vtex: Arc<dyn OwnAccount>,
    /// The import queue, for the importer's own messages.
    pub scheduler: Arc<dyn ImportQueue>,
    pub clock: Arc<dyn Clock>,
    pub config: ImporterConfig,
}

impl Importer {
    /// Decides and carries out one message. Never sleeps: waiting is the queue's job.
    pub async fn process(&self, attempt: Attempt<'_>, body: &[u8]) -> Disposition {
        let label = format!("message {}", attempt.message_id);
        let default_affiliate = self.config.default_affiliate.as_deref();
        let worker = |key: ImportKey, label: String| Worker {
            i: self,
            receive_count: attempt.receive_count,
            log_id: key.log_id(),
            key,
            label,
        };
        let msg = match import::parse(body, default_affiliate) {
            Ok(m) => m,
            Err(e) => {
                if let Some(key) = import::key_hint(body, default_affiliate) {
                    worker(key, label)
                        .log(
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
        let w = worker(msg.key.clone(), label);
        let result = match msg.command {
            ImportCommand::Order {
                sales_channel,
                order,
                invoices,
            } => {
                let sc = sales_channel.unwrap_or_else(|| self.config.default_sales_channel.clone());
                let rec = ImportRecord::new(
                    msg.key.clone(),
                    sc,
                    *order,
                    invoices,
                    msg.message_id.clone(),
                    self.clock.now(),
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
            tracing::warn!(message_id = attempt.message_id, error = %e, "store trouble; retrying later");
            Disposition::Retry {
                after: self.config.backoff.delay(attempt.receive_count, None),
            }
        })
    }
}

type Step = Result<Disposition, StoreError>;

/// What one delivery does for one import.
struct Worker<'a> {
    i: &'a Importer,
    receive_count: u32,
    key: ImportKey,
    log_id: String,
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
        self.i.clock.now()
    }

    fn config(&self) -> &ImporterConfig {
        &self.i.config
    }

    fn journal(&self) -> Journal<'_> {
        Journal {
            log: self.i.log.as_ref(),
            log_id: &self.log_id,
            label: &self.label,
            clock: self.i.clock.as_ref(),
            backoff: self.i.config.backoff,
            receive_count: self.receive_count,
        }
    }

    async fn log(&self, step: &str, outcome: Outcome, detail: String) {
        self.journal().log(step, outcome, detail).await;
    }

    fn retry(&self, retry_after: Option<Duration>) -> Disposition {
        self.journal().retry(retry_after)
    }

    async fn later(
        &self,
        step: &str,
        what: &str,
        retry_after: Option<Duration>,
        reason: &str,
    ) -> Disposition {
        self.journal().later(step, what, retry_after, reason).await
    }

    async fn refused(&self, step: &str, what: &str, status: u16, body: &str) -> Disposition {
        self.journal().refused(step, what, status, body).await
    }

    async fn config_error(&self, step: &str, e: CallError) -> Step {
        Ok(self.journal().config_error(step, e).await)
    }

    /// Saves `rec`; `false` when another delivery wrote first (the caller retries the message).
    async fn save(&self, rec: &mut ImportRecord) -> Result<bool, StoreError> {
        match self.i.imports.save(rec).await? {
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
        let mut tries = Retries::new("import keeps changing under this delivery");
        loop {
            tries.take().map_err(|_| {
                StoreError::Unavailable(format!(
                    "import {} keeps changing under this delivery",
                    self.key
                ))
            })?;
            change(rec);
            if self.save(rec).await? {
                return Ok(());
            }
            *rec = self
                .i
                .imports
                .get(&self.key)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("import {} vanished", self.key)))?;
        }
    }

    /// Another delivery is working on the same import: come back shortly.
    async fn busy(&self) -> Step {
        tracing::info!(import = %self.key, "import changed under this delivery; retrying later");
        Ok(self.retry(None))
    }

    // ------------------------------------------------------------------ importOrder

    async fn order(&self, fresh: ImportRecord) -> Step {
        let mut rec = match self.i.imports.create_once(&fresh).await? {
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
        let Some(mut rec) = self.i.imports.get(&self.key).await? else {
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
            self.i.scheduler.schedule(&m, Duration::ZERO).await?;
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
        let call = match self.i.vtex.get_order(&self.config().account, &id).await {
            Ok(c) => c,
            Err(e) => return self.config_error(steps::PLACE, e).await.map(Err),
        };
        Ok(match call {
            CallOutcome::Success(found) => Ok(found.filter(|o| {
                o.marketplace_order_id
                    .as_deref()
                    .is_none_or(|m| m == self.key.marketplace_order_id)
            })),
            CallOutcome::Retryable {
                retry_after,
                reason,
            } => Err(self.later(steps::PLACE, &what, retry_after, &reason).await),
            CallOutcome::Rejected { status, body } => {
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
        let what = format!(
            "placing the order (affiliate {}, sales channel {})",
            self.key.affiliate_id, rec.sales_channel
        );
        let call = match self
            .i
            .vtex
            .place_order(
                &c.account,
                &self.key.affiliate_id,
                &rec.sales_channel,
                &rec.order,
                &c.mse_url,
            )
            .await
        {
            Ok(call) => call,
            Err(e) => return self.config_error(steps::PLACE, e).await.map(Flow::Stop),
        };
        match call {
            CallOutcome::Success(id) => {
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
            CallOutcome::Retryable {
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
            CallOutcome::Rejected { status, body } => {
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
            match self.i.vtex.get_order(&self.config().account, &id).await {
                Ok(CallOutcome::Success(Some(o))) => o.status,
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
            .i
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
            CallOutcome::Success(()) => {
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
            CallOutcome::Retryable {
                retry_after,
                reason,
            } => Ok(Flow::Stop(
                self.later(steps::AUTHORIZE, &what, retry_after, &reason)
                    .await,
            )),
            CallOutcome::Rejected { status, body } => {
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
            match self.i.vtex.get_order(&c.account, &id).await {
                Ok(CallOutcome::Success(Some(o))) => {
                    let s = o.status.unwrap_or_default();
                    if past_start_handling(&s) {
                        return self.already_handling(rec, &id, &s).await;
                    }
                    if is_canceled(&s) {
                        return self.canceled(rec, &id, &s).await;
                    }
                }
                Ok(CallOutcome::Retryable {
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
        let call = match self.i.vtex.start_handling(&c.account, &id).await {
            Ok(call) => call,
            Err(e) => {
                return self
                    .config_error(steps::START_HANDLING, e)
                    .await
                    .map(Flow::Stop);
            }
        };
        match call {
            CallOutcome::Success(Handling::Started) => {
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
            CallOutcome::Success(Handling::NotReady(body)) => {
                self.not_ready(rec, &id, &body, timing).await
            }
            CallOutcome::Retryable {
                retry_after,
                reason,
            } => Ok(Flow::Stop(
                self.later(steps::START_HANDLING, &what, retry_after, &reason)
                    .await,
            )),
            CallOutcome::Rejected { status, body } => {
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
        // Intent, act, mark done: the wake-up is recorded before it is sent (so a resume delivered
        // before our save still counts), then marked enqueued. A wake-up whose send failed is sent
        // again under the same id by whichever message carries the import on.
        let wake_id = match rec.unsent_wake() {
            Some(w) => w.id.clone(),
            None => uuid::Uuid::new_v4().simple().to_string(),
        };
        if !self
            .save_with(rec, |r| r.set_wake(&wake_id, due, now))
            .await?
        {
            return Ok(Flow::Stop(self.busy().await?));
        }
        let delay = (due - now).to_std().unwrap_or(Duration::ZERO);
        self.i
            .scheduler
            .schedule(&ImportMessage::resume(&self.key, &wake_id), delay)
            .await?;
        if !self
            .save_with(rec, |r| r.wake_enqueued(&wake_id, now))
            .await?
        {
            return Ok(Flow::Stop(self.busy().await?));
        }
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
}

#[cfg(test)]
mod tests;
