//! The invoices and tracking of an imported order: the OMS calls on our own account, through the
//! shared send step ([`crate::worker::Journal::answer`]).

use super::*;

impl Worker<'_> {
    // ------------------------------------------------------------------ invoices (§Invoices)

    async fn placed_record(
        &self,
        step: &str,
    ) -> Result<Result<ImportRecord, Disposition>, StoreError> {
        match self.i.imports.get(&self.key).await? {
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

    pub(super) async fn invoice(&self, invoice: &Invoice) -> Step {
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
        let call = self
            .i
            .vtex
            .invoice(&self.config().account, &id, invoice)
            .await;
        match self.journal().answer(step, &what, call).await {
            Answer::Acknowledged(r) => {
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
                self.journal().acknowledged(step, &what, &r, invoiced).await;
                Ok(Disposition::Done)
            }
            Answer::Refused { status, body } => {
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
            Answer::Stop(d) => Ok(d),
        }
    }

    // ------------------------------------------------------------------ tracking (§Tracking)

    pub(super) async fn tracking(&self, number: &str, info: &TrackingInfo) -> Step {
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
        let call = self
            .i
            .vtex
            .tracking(&self.config().account, &id, number, &body)
            .await;
        let set_tracking = |t: Option<TrackingRecord>| {
            move |r: &mut ImportRecord| {
                if let Some(inv) = r.invoice_mut(number) {
                    inv.tracking = t.clone();
                }
            }
        };
        match self.journal().answer(step, &what, call).await {
            Answer::Acknowledged(r) => {
                let sent = TrackingRecord {
                    info: body.clone(),
                    state: SendState::Sent,
                };
                self.record(&mut rec, set_tracking(Some(sent))).await?;
                self.journal().acknowledged(step, &what, &r, "").await;
                Ok(Disposition::Done)
            }
            Answer::Refused { status, body } => {
                // VTEX still holds whatever tracking it had before.
                self.record(&mut rec, set_tracking(previous.clone()))
                    .await?;
                Ok(self.refused(step, &what, status, &body).await)
            }
            Answer::Stop(d) => Ok(d),
        }
    }
}
