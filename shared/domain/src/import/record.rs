//! Progress of one import: the record and its step machine.

use super::*;

/// Where an import stands in VTEX's workflow. The `…ing` states are written *before* their call:
/// finding one means a call may have landed, so the next attempt checks VTEX first or relies on
/// the call being safe to repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ImportStep {
    /// Recorded; nothing sent yet.
    Received,
    /// Placement sent, answer not recorded (a timeout, a crash, a 5xx).
    Placing,
    /// VTEX returned the order id.
    Placed,
    Authorizing,
    /// Dispatch authorized: waiting for the grace period before start-handling.
    Authorized,
    StartingHandling,
    /// Start-handling answered 204 (or the order was found past it). The workflow part is done.
    Handling,
}

impl ImportStep {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStep::Received => "received",
            ImportStep::Placing => "placing",
            ImportStep::Placed => "placed",
            ImportStep::Authorizing => "authorizing",
            ImportStep::Authorized => "authorized",
            ImportStep::StartingHandling => "startingHandling",
            ImportStep::Handling => "handling",
        }
    }

    /// Whether VTEX has given us the order id (invoices may go from here on).
    pub fn is_placed(self) -> bool {
        !matches!(self, ImportStep::Received | ImportStep::Placing)
    }
}

impl fmt::Display for ImportStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an operator sees: the step, or `invoiced` once handling started and the sale invoices VTEX
/// acknowledged add up to the order value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ImportStatus {
    Received,
    Placing,
    Placed,
    Authorizing,
    Authorized,
    StartingHandling,
    Handling,
    Invoiced,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Invoiced => "invoiced",
            ImportStatus::Received => "received",
            ImportStatus::Placing => "placing",
            ImportStatus::Placed => "placed",
            ImportStatus::Authorizing => "authorizing",
            ImportStatus::Authorized => "authorized",
            ImportStatus::StartingHandling => "startingHandling",
            ImportStatus::Handling => "handling",
        }
    }
}

/// The one scheduled wake-up an import waits for. A resume message carrying another id is stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wake {
    pub id: String,
    pub at: DateTime<Utc>,
    /// Recorded before its message is enqueued (intent), set once the queue took it: a wake-up not
    /// known to be enqueued may be lost, so the message that scheduled it may carry the import on.
    pub enqueued: bool,
}

/// Timing of the import workflow (configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportTiming {
    /// Wait after authorize-dispatch before the first start-handling (VTEX's default: 30 min).
    pub grace: Duration,
    /// Wait after a `409` ("not ready for handling yet") before trying again.
    pub not_ready_retry: Duration,
    /// How long past the grace period start-handling may keep answering 409 before the import is
    /// parked for an operator.
    pub give_up_after: Duration,
}

impl Default for ImportTiming {
    fn default() -> Self {
        ImportTiming {
            grace: Duration::from_secs(30 * 60),
            not_ready_retry: Duration::from_secs(5 * 60),
            give_up_after: Duration::from_secs(24 * 60 * 60),
        }
    }
}

pub(super) fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The persisted progress of one import, keyed by [`ImportKey`]. Holds customer data (the order,
/// for a re-placement): never logged whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportRecord {
    pub key: ImportKey,
    pub sales_channel: String,
    pub order: ImportOrder,
    pub step: ImportStep,
    /// The id VTEX returned at placement (or that a lookup found), used in every later call.
    #[serde(default)]
    pub vtex_order_id: Option<String>,
    #[serde(default)]
    pub placed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub authorized_at: Option<DateTime<Utc>>,
    /// Not before this instant does start-handling go out.
    #[serde(default)]
    pub handling_due_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub handling_at: Option<DateTime<Utc>>,
    /// Start-handling calls answered 409 so far.
    #[serde(default)]
    pub not_ready_answers: u32,
    #[serde(default)]
    pub wake: Option<Wake>,
    /// Invoices that came with the order message, handed to the queue once the order is placed.
    #[serde(default)]
    pub queued_invoices: Vec<Invoice>,
    /// Bookkeeping of the invoices sent on the imported order (`order_id` = VTEX's order id).
    #[serde(default)]
    pub invoices: Vec<InvoiceRecord>,
    /// The last refusal, for operators (cleared by the next success).
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub message_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency counter; the store bumps it on each save.
    #[serde(default)]
    pub version: u64,
}

/// What to do next for an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    /// Hand the invoices that came with the order to the queue as `importInvoice` messages.
    QueueInvoices,
    /// `POST /api/fulfillment/pvt/orders`; with `look_first`, a previous attempt may have landed:
    /// GET the documented order id first and adopt the order if VTEX has it.
    Place { look_first: bool },
    /// `POST …/fulfill` (authorize dispatch).
    Authorize,
    /// `POST /api/oms/pvt/orders/{orderId}/start-handling`.
    StartHandling,
    /// Nothing before this instant: schedule a wake-up.
    WaitUntil(DateTime<Utc>),
    /// The workflow is done (invoices and tracking come as their own messages).
    Done,
}

impl ImportRecord {
    pub fn new(
        key: ImportKey,
        sales_channel: String,
        order: ImportOrder,
        invoices: Vec<Invoice>,
        message_id: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        ImportRecord {
            key,
            sales_channel,
            order,
            step: ImportStep::Received,
            vtex_order_id: None,
            placed_at: None,
            authorized_at: None,
            handling_due_at: None,
            handling_at: None,
            not_ready_answers: 0,
            wake: None,
            queued_invoices: invoices,
            invoices: Vec::new(),
            last_error: None,
            message_id,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    /// The next thing to do, from what was recorded.
    pub fn next_step(&self, now: DateTime<Utc>) -> NextStep {
        if self.step.is_placed() && !self.queued_invoices.is_empty() {
            return NextStep::QueueInvoices;
        }
        match self.step {
            ImportStep::Received => NextStep::Place { look_first: false },
            ImportStep::Placing => NextStep::Place { look_first: true },
            ImportStep::Placed | ImportStep::Authorizing => NextStep::Authorize,
            ImportStep::Authorized => match self.handling_due_at {
                Some(due) if due > now => NextStep::WaitUntil(due),
                _ => NextStep::StartHandling,
            },
            ImportStep::StartingHandling => NextStep::StartHandling,
            ImportStep::Handling => NextStep::Done,
        }
    }

    pub fn status(&self) -> ImportStatus {
        match self.step {
            ImportStep::Received => ImportStatus::Received,
            ImportStep::Placing => ImportStatus::Placing,
            ImportStep::Placed => ImportStatus::Placed,
            ImportStep::Authorizing => ImportStatus::Authorizing,
            ImportStep::Authorized => ImportStatus::Authorized,
            ImportStep::StartingHandling => ImportStatus::StartingHandling,
            ImportStep::Handling if self.fully_invoiced() => ImportStatus::Invoiced,
            ImportStep::Handling => ImportStatus::Handling,
        }
    }

    /// Sale invoices VTEX acknowledged add up to the order value.
    pub fn fully_invoiced(&self) -> bool {
        self.order_view()
            .is_some_and(|o| InvoiceTotals::of(&o, &self.invoices).fully_invoiced())
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.updated_at = now;
    }

    /// Written before the placement call.
    pub fn begin_placing(&mut self, now: DateTime<Utc>) {
        self.step = ImportStep::Placing;
        self.touch(now);
    }

    /// VTEX answered the placement with `order_id` (or a lookup found it).
    pub fn placed(&mut self, order_id: &str, now: DateTime<Utc>) {
        self.step = ImportStep::Placed;
        self.vtex_order_id = Some(order_id.to_string());
        self.placed_at = Some(now);
        self.last_error = None;
        self.touch(now);
    }

    /// VTEX refused the placement (4xx): nothing landed, a re-driven message places again.
    pub fn placement_refused(&mut self, reason: &str, now: DateTime<Utc>) {
        self.step = ImportStep::Received;
        self.last_error = Some(reason.to_string());
        self.touch(now);
    }

    pub fn begin_authorizing(&mut self, now: DateTime<Utc>) {
        self.step = ImportStep::Authorizing;
        self.touch(now);
    }

    /// Dispatch authorized at `now`: start-handling is due after the grace period.
    pub fn authorized(&mut self, now: DateTime<Utc>, timing: &ImportTiming) {
        self.step = ImportStep::Authorized;
        self.authorized_at = Some(now);
        self.handling_due_at = Some(now + chrono_duration(timing.grace));
        self.last_error = None;
        self.touch(now);
    }

    /// A refusal of authorize or start-handling, kept for operators; the step is unchanged.
    pub fn refused(&mut self, reason: &str, now: DateTime<Utc>) {
        self.last_error = Some(reason.to_string());
        self.touch(now);
    }

    pub fn begin_start_handling(&mut self, now: DateTime<Utc>) {
        self.step = ImportStep::StartingHandling;
        self.touch(now);
    }

    pub fn handling_started(&mut self, now: DateTime<Utc>) {
        self.step = ImportStep::Handling;
        self.handling_at = Some(now);
        self.wake = None;
        self.last_error = None;
        self.touch(now);
    }

    /// Start-handling answered 409 (not ready-for-handling yet): try again later.
    pub fn not_ready(&mut self, now: DateTime<Utc>, timing: &ImportTiming) {
        self.step = ImportStep::Authorized;
        self.not_ready_answers = self.not_ready_answers.saturating_add(1);
        self.handling_due_at = Some(now + chrono_duration(timing.not_ready_retry));
        self.touch(now);
    }

    /// Start-handling kept answering 409 for longer than `give_up_after` past the grace period.
    pub fn handling_overdue(&self, now: DateTime<Utc>, timing: &ImportTiming) -> bool {
        match self.authorized_at {
            Some(at) => {
                now > at + chrono_duration(timing.grace) + chrono_duration(timing.give_up_after)
            }
            None => false,
        }
    }

    /// Records the wake-up about to be scheduled (replacing any earlier one, which becomes stale),
    /// as not yet enqueued.
    pub fn set_wake(&mut self, id: &str, at: DateTime<Utc>, now: DateTime<Utc>) {
        self.wake = Some(Wake {
            id: id.to_string(),
            at,
            enqueued: false,
        });
        self.touch(now);
    }

    /// Marks the wake-up `id` as taken by the queue (nothing if another replaced it meanwhile).
    pub fn wake_enqueued(&mut self, id: &str, now: DateTime<Utc>) {
        if let Some(w) = self.wake.as_mut().filter(|w| w.id == id && !w.enqueued) {
            w.enqueued = true;
            self.touch(now);
        }
    }

    /// The recorded wake-up whose message may never have reached the queue.
    pub fn unsent_wake(&self) -> Option<&Wake> {
        self.wake.as_ref().filter(|w| !w.enqueued)
    }

    /// Whether a resume message with `wake_id` is the one this import waits for, or may carry it
    /// on: when the recorded wake-up is not known to be enqueued (its send failed after it was
    /// recorded), the message that scheduled it is the only one left to move the import.
    pub fn is_current_wake(&self, wake_id: &str) -> bool {
        self.wake
            .as_ref()
            .is_some_and(|w| w.id == wake_id || !w.enqueued)
    }

    /// The order as the invoice rules see it (an authorized order: §Decisions C24 lets imports
    /// invoice any time after placement). `None` before placement.
    pub fn order_view(&self) -> Option<Order> {
        let order_id = self.vtex_order_id.clone()?;
        let o = &self.order;
        let freight: HashMap<usize, Cents> = o
            .shipping_data
            .logistics_info
            .iter()
            .map(|l| (l.item_index, l.price))
            .collect();
        Some(Order {
            order_id,
            an: String::new(),
            sc: Some(self.sales_channel.clone()),
            marketplace_order_id: self.key.marketplace_order_id.clone(),
            marketplace_order_group: o.marketplace_order_group.clone(),
            marketplace_services_endpoint: None,
            marketplace_payment_value: o.marketplace_payment_value,
            status: OrderStatus::Authorized,
            lines: o
                .items
                .iter()
                .enumerate()
                .map(|(i, item)| OrderLine {
                    index: i,
                    sku_id: item.id.clone(),
                    quantity: item.quantity,
                    unit_price: item.price,
                    freight: freight.get(&i).copied().unwrap_or(Cents::ZERO),
                    selected_sla: None,
                    location_id: String::new(),
                    lock_ttl: None,
                    shipping_estimate: None,
                    delivery_window: None,
                })
                .collect(),
            address: None,
            customer: None,
            created_at: self.created_at,
            expires_at: self.created_at,
            authorized: None,
            canceled: None,
            pending_cancellation: None,
            seller_cancel: None,
            // Derived from the lines and marketplacePaymentValue ([`Order::order_value`]).
            value: None,
            version: 0,
        })
    }

    /// What to do with an invoice for this import: [`invoicing::decide_invoice`] against the
    /// imported order, or `Wait` until VTEX has placed it.
    pub fn decide_invoice(&self, invoice: &Invoice) -> Decision<InvoiceSend> {
        match self.order_view() {
            Some(order) => invoicing::decide_invoice(&order, &self.invoices, invoice),
            None => Decision::Wait(format!("order {} is not placed in VTEX yet", self.key)),
        }
    }

    /// What to do with tracking for one of this import's invoices ([`invoicing::decide_tracking`]).
    /// The import queue does not keep order, so tracking may overtake its invoice: an invoice not
    /// (yet) known waits, and SQS parks the message if it never comes.
    pub fn decide_tracking(
        &self,
        invoice_number: &str,
        info: &TrackingInfo,
    ) -> Decision<TrackingInfo> {
        let Some(order) = self.order_view() else {
            return Decision::Wait(format!("order {} is not placed in VTEX yet", self.key));
        };
        match invoicing::decide_tracking(&order, &self.invoices, invoice_number, info) {
            Decision::Reject(invoicing::RuleBreak::UnknownInvoice { number }) => {
                Decision::Wait(format!(
                    "invoice {number} is not acknowledged by VTEX yet (it may still be on its way)"
                ))
            }
            other => other,
        }
    }

    pub fn invoice_mut(&mut self, number: &str) -> Option<&mut InvoiceRecord> {
        self.invoices.iter_mut().find(|r| r.number() == number)
    }

    /// Adds or replaces the bookkeeping of one invoice.
    pub fn put_invoice(&mut self, record: InvoiceRecord, now: DateTime<Utc>) {
        match self.invoice_mut(record.number()) {
            Some(r) => *r = record,
            None => self.invoices.push(record),
        }
        self.touch(now);
    }
}
