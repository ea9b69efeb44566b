//! The dispatcher: ERP messages of the dispatch queue to the marketplace's OMS — invoices,
//! tracking, carrier events, seller cancellations (shared/docs/protocol.md §Invoices and tracking).
//!
//! Per message: parse ([`crate::erp`]) → resolve the order → decide ([`crate::invoicing`]) →
//! record *Pending* → call VTEX → record *Sent* (or undo *Pending* on a refusal) → bring the order
//! status in line → log ([`Journal::send`]). The outcome is a [`Disposition`]:
//! - done: the message may be deleted;
//! - retry (429 / 5xx / timeout / store trouble): back after the back-off (VTEX's `Retry-After`
//!   when given);
//! - rule break or VTEX 4xx: logged (Alert / Error) and parked in the DLQ with the reason.

use crate::clock::Clock;
use crate::erp::{self, ErpCommand, OrderRef};
use crate::invoice_store::{CreateOutcome, InvoiceStore, RecordSave};
use crate::invoicing::{
    self, Decision, Invoice, InvoiceRecord, InvoiceSend, SendState, TrackingInfo, TrackingRecord,
    TrackingStatus,
};
use crate::order::{Order, OrderStatus, Outcome};
use crate::outbound::MarketplaceOms;
use crate::ports::{OrderStore, SaveOutcome, StoreError};
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
                match self.d.invoices.create_once(&fresh).await? {
                    CreateOutcome::Created(r) => r,
                    // Another delivery got there first: decide again on the next delivery.
                    CreateOutcome::Existing(_) => return Ok(self.retry()),
                }
            }
            Decision::Send(InvoiceSend::Again(rec)) => {
                let mut rec = *rec;
                if rec.state == SendState::Rejected {
                    rec.state = SendState::Pending;
                    match self.d.invoices.save(&rec).await? {
                        RecordSave::Saved(r) => rec = r,
                        RecordSave::Conflict => return Ok(self.retry()),
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

    async fn cancel(&self, order: Order, reason: &str, request_id: String) -> Step {
        let step = steps::CANCEL;
        let records = self.d.invoices.list_by_order(&order.order_id).await?;
        match invoicing::decide_cancel(&order, &records, reason) {
            Decision::Send(()) => {}
            other => return self.not_sent(&order, step, other).await,
        }
        let what = format!("seller cancellation of {}", order.marketplace_order_id);
        let call = self
            .d
            .oms
            .cancel(order.account(), &order.marketplace_order_id, reason.trim())
            .await;
        let receipt = match self.journal.answer(step, &what, call).await {
            Answer::Acknowledged(r) => r,
            // Nothing was recorded before the call, so a refusal has nothing to undo.
            Answer::Refused { status, body } => {
                return Ok(self.journal.refused(step, &what, status, &body).await);
            }
            Answer::Stop(d) => return Ok(d),
        };
        let request_id = Some(request_id);
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
                &receipt,
                reason.trim(),
                request_id.clone(),
                self.now(),
            );
            match self.d.orders.save(&canceled, effect).await? {
                SaveOutcome::Saved(_) => {
                    break format!("{what} acknowledged, receipt {receipt}; order CANCELED");
                }
                SaveOutcome::Conflict => current = self.reread(&current.order_id).await?,
            }
        };
        self.log(step, Outcome::Success, detail).await;
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

    /// Applies `change` to the record and saves it; on a conflict, re-reads and applies it again.
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
            match self.d.invoices.save(&next).await? {
                RecordSave::Saved(saved) => {
                    *rec = saved;
                    return Ok(());
                }
                RecordSave::Conflict => {
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
