//! The dispatcher: ERP messages of the dispatch queue to the marketplace's OMS — invoices,
//! tracking, carrier events, seller cancellations (shared/docs/protocol.md §Invoices and tracking).
//!
//! Per message: parse ([`crate::erp`]) → resolve the order → decide ([`crate::invoicing`]) →
//! record *Pending* → call VTEX → record *Sent* (or undo *Pending* on a refusal) → bring the order
//! status in line → log ([`Journal::send`]).
//!
//! The decision is taken from records read before the write, so two messages for one order in two
//! FIFO groups can both decide to send: the store settles it. A new invoice record is created only
//! while the order's invoiced sum of its kind stays within [`invoicing::invoice_limit`] (the order's
//! value; for returns, what was invoiced), in the same atomic write as the sum; the loser is not
//! sent and decides again on its next delivery. A refusal by VTEX takes the record's value off the
//! sum in the write that records it refused.
//!
//! A seller cancellation is written on the order ([`Order::seller_cancel`]) before VTEX is called
//! and cleared by the save that cancels it (stock released). A delivery that finds it and meets a
//! refusal reads the order at OMS: canceled there, the cancel is completed here, not parked.
//!
//! The outcome is a [`Disposition`]:
//! - done: the message may be deleted;
//! - retry (429 / 5xx / timeout / store trouble): back after the back-off (VTEX's `Retry-After`
//!   when given);
//! - rule break or VTEX 4xx: logged (Alert / Error) and parked in the DLQ with the reason.

use crate::clock::Clock;
use crate::erp::{self, ErpCommand, OrderRef};
use crate::invoice_store::{CreateOutcome, InvoiceStore, RecordSave, Tally};
use crate::invoicing::{
    self, Decision, Invoice, InvoiceRecord, InvoiceSend, SendState, TrackingInfo, TrackingRecord,
    TrackingStatus,
};
use crate::money::Cents;
use crate::order::{Order, OrderStatus, Outcome, PendingSellerCancel};
use crate::outbound::{CallOutcome, MarketplaceOms};
use crate::ports::{OrderStore, SaveOutcome, StockEffect, StoreError};
use crate::worker::{Answer, Attempt, Backoff, Disposition, Journal, Retries};
use std::sync::Arc;

#[cfg(test)]
mod tests;

/// Order-log step names written by the dispatcher.
pub mod steps {
    pub const INVOICE: &str = "dispatch.invoice";
    pub const TRACKING: &str = "dispatch.tracking";
    pub const TRACKING_STATUS: &str = "dispatch.trackingStatus";
    pub const CANCEL: &str = "dispatch.cancel";
    pub const STATUS: &str = "dispatch.status";
}

/// The dispatch service, built once by the composition root (cheap to clone).
#[derive(Clone)]
pub struct Dispatcher {
    pub orders: Arc<dyn OrderStore>,
    pub invoices: Arc<dyn InvoiceStore>,
    pub oms: Arc<dyn MarketplaceOms>,
    pub clock: Arc<dyn Clock>,
    /// The account for messages naming an order by `marketplaceOrderId` without `an`.
    pub default_an: Option<String>,
    pub backoff: Backoff,
}

/// What one message came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatched {
    pub disposition: Disposition,
    /// VTEX acknowledged an invoice (for the `InvoicesSent` metric).
    pub invoice_sent: bool,
}

impl Dispatcher {
    /// Decides and carries out one message. Never sleeps: waiting is the queue's job.
    pub async fn process(&self, attempt: Attempt<'_>, body: &[u8]) -> Dispatched {
        let mut invoice_sent = false;
        let disposition = self.run(attempt, body, &mut invoice_sent).await;
        Dispatched {
            disposition,
            invoice_sent,
        }
    }

    async fn run(&self, attempt: Attempt<'_>, body: &[u8], invoice_sent: &mut bool) -> Disposition {
        let msg = match erp::parse(body) {
            Ok(m) => m,
            Err(e) => return Disposition::dead(e.code(), e.to_string()),
        };
        let store_trouble = |e: StoreError| {
            tracing::warn!(message_id = attempt.message_id, error = %e, "store trouble; retrying later");
            Disposition::Retry {
                after: self.backoff.delay(attempt.receive_count, None),
            }
        };
        let order = match self.resolve_order(&msg.order).await {
            Ok(Ok(o)) => o,
            Ok(Err(reason)) => return Disposition::dead("UNKNOWN_ORDER", reason),
            Err(e) => return store_trouble(e),
        };
        let label = match &msg.message_id {
            Some(id) => format!("message {} (ERP {id})", attempt.message_id),
            None => format!("message {}", attempt.message_id),
        };
        let order_id = order.order_id.clone();
        let ctx = Ctx {
            d: self,
            journal: Journal {
                log: self.orders.as_ref(),
                log_id: &order_id,
                label: &label,
                clock: self.clock.as_ref(),
                backoff: self.backoff,
                receive_count: attempt.receive_count,
            },
        };
        let result = match &msg.command {
            ErpCommand::Invoice { invoice } => ctx.invoice(order, invoice, invoice_sent).await,
            ErpCommand::Tracking {
                invoice_number,
                tracking,
            } => ctx.tracking(order, invoice_number, tracking).await,
            ErpCommand::TrackingStatus {
                invoice_number,
                tracking_status,
            } => ctx.status(order, invoice_number, tracking_status).await,
            ErpCommand::Cancel { cancel } => {
                let request_id = msg
                    .message_id
                    .clone()
                    .unwrap_or_else(|| format!("erp:{}", attempt.message_id));
                ctx.cancel(order, &cancel.reason, request_id).await
            }
        };
        result.unwrap_or_else(store_trouble)
    }

    /// The order the message names, or why none matches.
    async fn resolve_order(&self, r: &OrderRef) -> Result<Result<Order, String>, StoreError> {
        if let Some(id) = &r.order_id {
            return Ok(match self.orders.get(id).await? {
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
                if let Some(an) = &self.default_an {
                    accounts.push(an);
                }
                accounts.push("");
            }
        }
        for an in accounts {
            if let Some(o) = self.orders.get_by_marketplace_id(an, mkp).await? {
                return Ok(Ok(o));
            }
        }
        Ok(Err(format!(
            "no order for marketplace order {mkp} (account {})",
            r.an.as_deref().unwrap_or("default")
        )))
    }
}

struct Ctx<'a> {
    d: &'a Dispatcher,
    journal: Journal<'a>,
}

type Step = Result<Disposition, StoreError>;

impl Ctx<'_> {
    async fn log(&self, step: &str, outcome: Outcome, detail: String) {
        self.journal.log(step, outcome, detail).await;
    }

    fn retry(&self) -> Disposition {
        self.journal.retry(None)
    }

    // ------------------------------------------------------------------ invoice (§Invoices)

    async fn invoice(&self, order: Order, invoice: &Invoice, invoice_sent: &mut bool) -> Step {
        let step = steps::INVOICE;
        let records = self.d.invoices.list_by_order(&order.order_id).await?;
        let number = &invoice.invoice_number;
        let mut rec = match invoicing::decide_invoice(&order, &records, invoice) {
            Decision::Reject(r) => return Ok(self.reject(step, r).await),
            Decision::Nothing(why) => {
                self.log(
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
                self.log(step, Outcome::Pending, why).await;
                return Ok(self.retry());
            }
            Decision::Send(InvoiceSend::New) => {
                let fresh = InvoiceRecord::pending(&order.order_id, invoice, self.now());
                let limit = invoicing::invoice_limit(&order, &records, invoice.kind);
                match self.d.invoices.create_once(&fresh, limit).await? {
                    CreateOutcome::Created(r) => r,
                    // Another delivery got there first: decide again on the next delivery.
                    CreateOutcome::Existing(_) => return Ok(self.retry()),
                    CreateOutcome::OverLimit { invoiced, limit } => {
                        return Ok(self.over_limit(invoice, invoiced, limit).await);
                    }
                }
            }
            Decision::Send(InvoiceSend::Again(rec)) => {
                let mut rec = *rec;
                if rec.state == SendState::Rejected {
                    // Refused before, so not counted: it must fit in the order's sums again.
                    let before = rec.clone();
                    rec.state = SendState::Pending;
                    let limit = invoicing::invoice_limit(&order, &records, invoice.kind);
                    match self
                        .d
                        .invoices
                        .save(&rec, Tally::of(&before, &rec, limit))
                        .await?
                    {
                        RecordSave::Saved(r) => rec = r,
                        RecordSave::Conflict => return Ok(self.retry()),
                        RecordSave::OverLimit { invoiced, limit } => {
                            return Ok(self.over_limit(invoice, invoiced, limit).await);
                        }
                    }
                }
                rec
            }
        };
        let what = format!(
            "{} invoice {number} ({} cents)",
            invoice.kind.as_str(),
            invoice.invoice_value
        );
        let call = self
            .d
            .oms
            .invoice(order.account(), &order.marketplace_order_id, &rec.invoice)
            .await;
        match self.journal.answer(step, &what, call).await {
            Answer::Acknowledged(r) => {
                let now = self.now();
                self.update_record(&mut rec, |x| {
                    if x.state != SendState::Sent {
                        x.mark_sent(&r, now)
                    }
                })
                .await?;
                self.journal.acknowledged(step, &what, &r, "").await;
                *invoice_sent = true;
                self.sync_status(order).await?;
                Ok(Disposition::Done)
            }
            Answer::Refused { status, body } => {
                let now = self.now();
                self.update_record(&mut rec, |x| {
                    if x.state == SendState::Pending {
                        x.mark_rejected(now)
                    }
                })
                .await?;
                Ok(self.journal.refused(step, &what, status, &body).await)
            }
            Answer::Stop(d) => Ok(d),
        }
    }

    // ------------------------------------------------------------------ tracking (§Tracking)

    async fn tracking(&self, order: Order, number: &str, info: &TrackingInfo) -> Step {
        let step = steps::TRACKING;
        let records = self.d.invoices.list_by_order(&order.order_id).await?;
        let body = match invoicing::decide_tracking(&order, &records, number, info) {
            Decision::Send(b) => b,
            other => return self.not_sent(&order, step, other).await,
        };
        let Some(mut rec) = records.into_iter().find(|r| r.number() == number) else {
            return Ok(self.retry());
        };
        let previous = rec.tracking.clone();
        let pending = TrackingRecord {
            info: body.clone(),
            state: SendState::Pending,
        };
        self.update_record(&mut rec, |x| x.tracking = Some(pending.clone()))
            .await?;
        let what = format!("tracking {} on invoice {number}", body.tracking_number);
        let call = self
            .d
            .oms
            .tracking(order.account(), &order.marketplace_order_id, number, &body)
            .await;
        match self.journal.answer(step, &what, call).await {
            Answer::Acknowledged(r) => {
                let sent = TrackingRecord {
                    info: body,
                    state: SendState::Sent,
                };
                self.update_record(&mut rec, |x| x.tracking = Some(sent.clone()))
                    .await?;
                self.acknowledged(order, step, &what, &r).await
            }
            Answer::Refused { status, body } => {
                // VTEX still holds whatever tracking it had before.
                self.update_record(&mut rec, |x| x.tracking = previous.clone())
                    .await?;
                Ok(self.journal.refused(step, &what, status, &body).await)
            }
            Answer::Stop(d) => Ok(d),
        }
    }

    // ------------------------------------------------------------ carrier status (§Carrier events)

    async fn status(&self, order: Order, number: &str, status: &TrackingStatus) -> Step {
        let step = steps::TRACKING_STATUS;
        let records = self.d.invoices.list_by_order(&order.order_id).await?;
        let update = match invoicing::decide_status(&order, &records, number, status) {
            Decision::Send(u) => u,
            other => return self.not_sent(&order, step, other).await,
        };
        let Some(mut rec) = records.into_iter().find(|r| r.number() == number) else {
            return Ok(self.retry());
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
        let call = self
            .d
            .oms
            .tracking_events(
                order.account(),
                &order.marketplace_order_id,
                number,
                &update,
            )
            .await;
        match self.journal.answer(step, &what, call).await {
            Answer::Acknowledged(r) => {
                let now = self.now();
                self.update_record(&mut rec, |x| x.mark_status_sent(&update, now))
                    .await?;
                self.acknowledged(order, step, &what, &r).await
            }
            Answer::Refused { status, body } => {
                self.update_record(&mut rec, |x| x.status_pending = None)
                    .await?;
                Ok(self.journal.refused(step, &what, status, &body).await)
            }
            Answer::Stop(d) => Ok(d),
        }
    }

    /// Logs an acknowledged call and brings the order status in line with it.
    async fn acknowledged(&self, order: Order, step: &str, what: &str, receipt: &str) -> Step {
        self.journal.acknowledged(step, what, receipt, "").await;
        self.sync_status(order).await?;
        Ok(Disposition::Done)
    }

    // -------------------------------------------------------------- seller cancel (§Seller cancel)

    /// Record intent, act, mark done: the cancellation is written on the order (pending) before
    /// VTEX is called, and cleared when the order is saved `CANCELED` with its stock released. A
    /// delivery that finds it knows an earlier call may have landed: if VTEX now refuses the
    /// repeat and its order reads canceled, the cancel is completed here instead of parked.
    async fn cancel(&self, order: Order, reason: &str, request_id: String) -> Step {
        let step = steps::CANCEL;
        let redelivered = order.seller_cancel.is_some();
        let (order, pending) = match self.cancel_pending(order, reason, request_id).await? {
            Ok(marked) => marked,
            Err(done) => return Ok(done),
        };
        let what = format!("seller cancellation of {}", order.marketplace_order_id);
        let call = self
            .d
            .oms
            .cancel(
                order.account(),
                &order.marketplace_order_id,
                &pending.reason,
            )
            .await;
        let receipt = match self.journal.answer(step, &what, call).await {
            Answer::Acknowledged(r) => r,
            Answer::Refused { status, body } => {
                if redelivered {
                    match self.canceled_at_vtex(&order, &what).await {
                        Ok(true) => {
                            let note = format!(
                                "{what}: VTEX refused the repeat with {status}, and its order reads canceled: an earlier call landed"
                            );
                            self.log(step, Outcome::Success, note).await;
                            let receipt = "(canceled at VTEX by an earlier call)".to_string();
                            return self.save_canceled(order, &pending, &what, &receipt).await;
                        }
                        Ok(false) => {}
                        // Unknown yet whether it landed: keep the marker for the next delivery.
                        Err(retry) => return Ok(retry),
                    }
                }
                self.clear_cancel_pending(order).await?;
                return Ok(self.journal.refused(step, &what, status, &body).await);
            }
            // A call that could not even be built is parked: nothing is in flight.
            Answer::Stop(parked @ Disposition::DeadLetter { .. }) => {
                self.clear_cancel_pending(order).await?;
                return Ok(parked);
            }
            // No answer: the call may have landed; the marker stays for the next delivery.
            Answer::Stop(d) => return Ok(d),
        };
        self.save_canceled(order, &pending, &what, &receipt).await
    }

    /// Decides on the cancellation and records it pending on the order (kept as it is when an
    /// earlier delivery recorded it). `Err` carries the disposition when nothing is to be sent.
    async fn cancel_pending(
        &self,
        mut order: Order,
        reason: &str,
        request_id: String,
    ) -> Result<Result<(Order, PendingSellerCancel), Disposition>, StoreError> {
        let mut tries = Retries::new("order kept changing while recording the cancellation");
        loop {
            let records = self.d.invoices.list_by_order(&order.order_id).await?;
            match invoicing::decide_cancel(&order, &records, reason) {
                Decision::Send(()) => {}
                other => {
                    if order.status == OrderStatus::Canceled {
                        // Canceled meanwhile (the marketplace's cancel): no seller cancel pending.
                        self.clear_cancel_pending(order.clone()).await?;
                    }
                    return Ok(Err(self.not_sent(&order, steps::CANCEL, other).await?));
                }
            }
            if let Some(p) = order.seller_cancel.clone() {
                return Ok(Ok((order, p)));
            }
            tries.take()?;
            let marked =
                invoicing::seller_cancel_pending(&order, reason, request_id.clone(), self.now());
            match self.d.orders.save(&marked, StockEffect::None).await? {
                SaveOutcome::Saved(saved) => {
                    let p = saved.seller_cancel.clone().ok_or_else(|| {
                        StoreError::Corrupt("the saved order lost its pending cancellation".into())
                    })?;
                    return Ok(Ok((saved, p)));
                }
                SaveOutcome::Conflict => order = self.reread(&order.order_id).await?,
            }
        }
    }

    /// VTEX refused the cancellation and the order is not canceled there: nothing is pending.
    async fn clear_cancel_pending(&self, mut order: Order) -> Result<(), StoreError> {
        let mut tries = Retries::new("order kept changing while clearing the cancellation");
        while order.seller_cancel.is_some() {
            tries.take()?;
            let mut cleared = order.clone();
            cleared.seller_cancel = None;
            match self.d.orders.save(&cleared, StockEffect::None).await? {
                SaveOutcome::Saved(_) => return Ok(()),
                SaveOutcome::Conflict => order = self.reread(&order.order_id).await?,
            }
        }
        Ok(())
    }

    /// Whether OMS's order reads canceled; `Err` with the disposition when that cannot be told
    /// now (a retryable answer: back later). A read OMS refuses counts as not canceled.
    async fn canceled_at_vtex(&self, order: &Order, what: &str) -> Result<bool, Disposition> {
        let step = steps::CANCEL;
        let read = self
            .d
            .oms
            .order_status(order.account(), &order.marketplace_order_id)
            .await;
        let what = format!("{what}: reading the order at OMS");
        match read {
            Ok(CallOutcome::Success(status)) => {
                Ok(status.as_deref().is_some_and(invoicing::canceled_at_vtex))
            }
            Ok(CallOutcome::Retryable {
                retry_after,
                reason,
            }) => Err(self.journal.later(step, &what, retry_after, &reason).await),
            // OMS will not tell (e.g. the key lacks the OMS view permission): the cancel is parked
            // with VTEX's refusal, and reconciliation reports the order if VTEX did cancel it. A
            // marker kept for a read that never succeeds would hold the order's invoices forever.
            Ok(CallOutcome::Rejected { status, body }) => {
                self.log(
                    step,
                    Outcome::Error,
                    format!("{what}: VTEX refused it with {status}: {body}"),
                )
                .await;
                Ok(false)
            }
            Err(e) => {
                self.log(step, Outcome::Error, format!("{what}: {e}")).await;
                Ok(false)
            }
        }
    }

    /// Saves the order `CANCELED`, its held stock released and the pending marker cleared.
    async fn save_canceled(
        &self,
        order: Order,
        pending: &PendingSellerCancel,
        what: &str,
        receipt: &str,
    ) -> Step {
        let mut current = order;
        let mut tries = Retries::new("order kept changing while recording the cancellation");
        let detail = loop {
            if current.status == OrderStatus::Canceled {
                // Canceled meanwhile (by the marketplace, or an earlier delivery): nothing to save.
                break format!("{what} acknowledged, receipt {receipt}");
            }
            tries.take()?;
            let (canceled, effect) = invoicing::canceled_by_seller(
                &current,
                receipt,
                &pending.reason,
                Some(pending.request_id.clone()),
                self.now(),
            );
            match self.d.orders.save(&canceled, effect).await? {
                SaveOutcome::Saved(_) => {
                    break format!("{what} acknowledged, receipt {receipt}; order CANCELED");
                }
                SaveOutcome::Conflict => current = self.reread(&current.order_id).await?,
            }
        };
        self.log(steps::CANCEL, Outcome::Success, detail).await;
        Ok(Disposition::Done)
    }

    // ------------------------------------------------------------------ shared

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.d.clock.now()
    }

    async fn reread(&self, order_id: &str) -> Result<Order, StoreError> {
        self.d
            .orders
            .get(order_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("order vanished".into()))
    }

    /// Logs a rule break (Alert) and parks the message.
    async fn reject(&self, step: &str, r: invoicing::RuleBreak) -> Disposition {
        self.log(step, Outcome::Alert, format!("refused, not sent: {r}"))
            .await;
        Disposition::dead(r.code(), r.to_string())
    }

    /// The non-`Send` decisions, the same for every step.
    async fn not_sent<T>(&self, order: &Order, step: &str, d: Decision<T>) -> Step {
        match d {
            Decision::Reject(r) => Ok(self.reject(step, r).await),
            Decision::Nothing(why) => {
                self.log(step, Outcome::Success, format!("nothing sent: {why}"))
                    .await;
                self.sync_status(order.clone()).await?;
                Ok(Disposition::Done)
            }
            Decision::Wait(why) => {
                self.log(step, Outcome::Pending, format!("waiting: {why}"))
                    .await;
                Ok(self.retry())
            }
            Decision::Send(_) => Ok(Disposition::Done),
        }
    }

    /// The store refused the record: the order's invoices of its kind already add up to so much
    /// that this one would pass `limit` — a message in another group was recorded between our
    /// read and our write. Nothing was sent; the next delivery decides again from the records
    /// (a rule break, or a send if the other was refused meanwhile).
    async fn over_limit(&self, invoice: &Invoice, invoiced: Cents, limit: Cents) -> Disposition {
        self.log(
            steps::INVOICE,
            Outcome::Pending,
            format!(
                "{} invoice {} ({} cents) not sent: the order's {} invoices already add up to {invoiced} of {limit}; deciding again",
                invoice.kind.as_str(),
                invoice.invoice_number,
                invoice.invoice_value,
                invoice.kind.as_str()
            ),
        )
        .await;
        self.retry()
    }

    /// Applies `change` to the record and saves it; on a conflict, re-reads and applies it again.
    /// A change that refuses a live record takes its value off the order's sums in the same save;
    /// none may make a refused record live (that is a claim, bounded by the limit: see `invoice`).
    async fn update_record(
        &self,
        rec: &mut InvoiceRecord,
        change: impl Fn(&mut InvoiceRecord),
    ) -> Result<(), StoreError> {
        let mut tries = Retries::new("invoice record kept changing; retrying the message");
        loop {
            tries.take()?;
            let mut next = rec.clone();
            change(&mut next);
            next.updated_at = self.now();
            let tally = match Tally::of(rec, &next, Cents::ZERO) {
                Tally::Claim { .. } => {
                    return Err(StoreError::Corrupt(format!(
                        "a bookkeeping update would make refused invoice {} live again",
                        rec.number()
                    )));
                }
                t => t,
            };
            match self.d.invoices.save(&next, tally).await? {
                RecordSave::Saved(saved) => {
                    *rec = saved;
                    return Ok(());
                }
                RecordSave::Conflict | RecordSave::OverLimit { .. } => {
                    *rec = self
                        .d
                        .invoices
                        .get(&rec.order_id, rec.number())
                        .await?
                        .ok_or_else(|| StoreError::Corrupt("invoice record vanished".into()))?;
                }
            }
        }
    }

    /// Brings the order's status (and stock) in line with its acknowledged invoices.
    async fn sync_status(&self, mut order: Order) -> Result<(), StoreError> {
        let mut tries = Retries::new("order kept changing while updating its status");
        loop {
            tries.take()?;
            let records = self.d.invoices.list_by_order(&order.order_id).await?;
            let Some((updated, effect)) = invoicing::status_update(&order, &records) else {
                return Ok(());
            };
            match self.d.orders.save(&updated, effect).await? {
                SaveOutcome::Saved(saved) => {
                    self.log(
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
                SaveOutcome::Conflict => order = self.reread(&order.order_id).await?,
            }
        }
    }
}
